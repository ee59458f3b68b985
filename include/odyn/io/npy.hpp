// NumPy .npy files (format versions 1.0, 2.0 and 3.0) holding float32 or float64 arrays.
// https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <string>
#include <vector>

namespace odyn::io {

struct NpyHeader {
  int item_size = 8;           // 4 (float32) or 8 (float64)
  bool big_endian = false;     // byte order of the stored values
  bool fortran_order = false;  // column-major storage
  std::vector<std::int64_t> shape;
  std::int64_t data_offset = 0;  // bytes before the first value
};

// Reads and checks the header of a .npy file. Throws odyn::IoError on a wrong magic string, an
// unsupported version or dtype, a malformed header, or a file too short for its data.
NpyHeader read_npy_header(const std::string& path);

// Reads a float32 or float64 array of 0, 1 or 2 dimensions as a matrix, converting to Scalar
// (float or double). A 1-D array of length n becomes an n x 1 matrix; a scalar becomes 1 x 1.
// C and Fortran order, either byte order.
template <class Scalar = double>
Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic> read_npy(const std::string& path);

// Writes a 2-D little-endian C-order array ('<f8' for double, '<f4' for float), version 1.0,
// atomically.
void write_npy(const std::string& path, const Eigen::MatrixXd& m);
void write_npy(const std::string& path, const Eigen::MatrixXf& m);

}  // namespace odyn::io
