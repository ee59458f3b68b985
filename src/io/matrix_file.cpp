#include "odyn/io/matrix_file.hpp"

#include "odyn/io/matrix_text.hpp"
#include "odyn/io/npy.hpp"

namespace odyn::io {
namespace {
bool is_npy(const std::string& path) {
  return path.size() >= 4 && path.compare(path.size() - 4, 4, ".npy") == 0;
}
}  // namespace

Eigen::MatrixXd read_matrix(const std::string& path) {
  return is_npy(path) ? read_npy<double>(path) : read_matrix_text(path);
}

void write_matrix(const std::string& path, const Eigen::MatrixXd& m) {
  if (is_npy(path))
    write_npy(path, m);
  else
    write_matrix_text(path, m);
}

}  // namespace odyn::io
