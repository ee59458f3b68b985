// Dense matrices and point clouds as whitespace-separated text: the format numpy.savetxt writes
// and numpy.loadtxt reads. One row per line, numbers separated by spaces or tabs; '#' starts a
// comment that runs to the end of the line; blank lines are ignored. A point cloud of n points in
// d dimensions is an n x d matrix.
#pragma once

#include <Eigen/Core>
#include <istream>
#include <string>

namespace odyn::io {

// Parses a matrix from `in`; `source` names the input in error messages. Throws odyn::IoError on
// ragged rows, tokens that are not numbers, or input without any number.
Eigen::MatrixXd parse_matrix_text(std::istream& in, const std::string& source = "<input>");

// Reads a matrix from a text file (see parse_matrix_text).
Eigen::MatrixXd read_matrix_text(const std::string& path);

// Writes `m` as text with the shortest decimal form of each entry that reads back to the same
// double, so that read_matrix_text(write_matrix_text(m)) == m exactly (NaN and infinities
// included, written as nan, inf, -inf). A non-empty `header` is written first, each of its lines
// prefixed by "# ". The file is replaced atomically. Throws odyn::InvalidArgument for an empty
// matrix, which the text format cannot represent.
void write_matrix_text(const std::string& path, const Eigen::MatrixXd& m, const std::string& header = "");

}  // namespace odyn::io
