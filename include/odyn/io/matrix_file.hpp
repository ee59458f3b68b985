// Matrix files by extension: ".npy" is NumPy's binary format, anything else is text.
#pragma once

#include <Eigen/Core>
#include <string>

namespace odyn::io {

Eigen::MatrixXd read_matrix(const std::string& path);
void write_matrix(const std::string& path, const Eigen::MatrixXd& m);

}  // namespace odyn::io
