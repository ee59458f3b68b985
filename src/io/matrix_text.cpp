#include "odyn/io/matrix_text.hpp"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string_view>
#include <vector>

#include "odyn/core/error.hpp"
#include "odyn/io/atomic_file.hpp"

namespace odyn::io {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

// Parses one whole token as a double. Accepts a leading '+' (std::from_chars does not) and, like
// strtod and numpy.loadtxt, numbers too small for a double (1e-400 reads as 0); numbers too large
// for one (1e400) are an error.
bool parse_double(const char* first, const char* last, double& value) {
  if (first != last && *first == '+') {
    ++first;
    if (first != last && (*first == '-' || *first == '+')) return false;
  }
  const auto [ptr, ec] = std::from_chars(first, last, value);
  if (ptr != last) return false;
  if (ec == std::errc()) return true;
  if (ec != std::errc::result_out_of_range) return false;
  const double v = std::strtod(std::string(first, last).c_str(), nullptr);  // tells underflow from overflow
  if (std::isinf(v)) return false;
  value = v;
  return true;
}

}  // namespace

Eigen::MatrixXd parse_matrix_text(std::istream& in, const std::string& source) {
  std::vector<double> values;
  Eigen::Index cols = -1;
  long cols_line = 0;
  long line_no = 0;
  std::string text;
  char chunk[1 << 16];
  while (in.read(chunk, sizeof chunk) || in.gcount() > 0) text.append(chunk, static_cast<std::size_t>(in.gcount()));
  if (in.bad()) throw IoError(source + ": read error");
  // Lines end at "\n", "\r\n" or a lone "\r" (old Mac files).
  for (std::size_t start = 0; start < text.size();) {
    std::size_t stop = text.find_first_of("\r\n", start);
    if (stop == std::string::npos) stop = text.size();
    const std::string_view line(text.data() + start, stop - start);
    start = stop + (text.compare(stop, 2, "\r\n") == 0 ? 2 : 1);
    ++line_no;
    const std::size_t hash = line.find('#');
    const std::size_t end = hash == std::string_view::npos ? line.size() : hash;
    Eigen::Index count = 0;
    std::size_t i = 0;
    while (i < end) {
      while (i < end && is_space(line[i])) ++i;
      if (i == end) break;
      std::size_t j = i;
      while (j < end && !is_space(line[j])) ++j;
      double v;
      if (!parse_double(line.data() + i, line.data() + j, v)) {
        throw IoError(source + ":" + std::to_string(line_no) + ":" + std::to_string(i + 1) + ": '" +
                      std::string(line.substr(i, j - i)) + "' is not a number");
      }
      values.push_back(v);
      ++count;
      i = j;
    }
    if (count == 0) continue;
    if (cols < 0) {
      cols = count;
      cols_line = line_no;
    } else if (count != cols) {
      throw IoError(source + ":" + std::to_string(line_no) + ": ragged rows: expected " + std::to_string(cols) +
                    " values (as on line " + std::to_string(cols_line) + "), found " + std::to_string(count));
    }
  }
  if (cols <= 0) throw IoError(source + ": no numbers found");
  const Eigen::Index rows = static_cast<Eigen::Index>(values.size()) / cols;
  return Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(values.data(), rows,
                                                                                                  cols);
}

Eigen::MatrixXd read_matrix_text(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw IoError("cannot open '" + path + "'");
  return parse_matrix_text(in, path);
}

void write_matrix_text(const std::string& path, const Eigen::MatrixXd& m, const std::string& header) {
  if (m.size() == 0) {
    throw InvalidArgument("write_matrix_text: the text format cannot hold an empty " + std::to_string(m.rows()) + "x" +
                          std::to_string(m.cols()) + " matrix (use .npy)");
  }
  write_file_atomically(path, [&](std::ostream& out) {
    if (!header.empty()) {
      std::istringstream lines(header);
      std::string l;
      while (std::getline(lines, l)) out << "# " << l << '\n';
    }
    char buf[64];
    std::string row;
    for (Eigen::Index i = 0; i < m.rows(); ++i) {
      row.clear();
      for (Eigen::Index j = 0; j < m.cols(); ++j) {
        if (j) row += ' ';
        const double v = m(i, j);
        if (std::isnan(v)) {
          row += "nan";
        } else {
          auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, v);  // shortest round-trip form
          (void)ec;
          row.append(buf, ptr);
        }
      }
      row += '\n';
      out << row;
    }
  });
}

}  // namespace odyn::io
