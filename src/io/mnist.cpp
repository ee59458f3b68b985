#include "odyn/io/mnist.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>

#include "odyn/core/error.hpp"

namespace odyn::io {

IdxArray read_idx_ubyte(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError("cannot open '" + path + "'");
  unsigned char magic[4];
  if (!in.read(reinterpret_cast<char*>(magic), 4)) throw IoError("'" + path + "': truncated idx header");
  if (magic[0] != 0 || magic[1] != 0) throw IoError("'" + path + "': wrong idx magic number");
  if (magic[2] != 0x08) throw IoError("'" + path + "': idx element type is not unsigned byte");
  const int ndims = magic[3];
  if (ndims < 1) throw IoError("'" + path + "': idx file without dimensions");
  IdxArray a;
  std::int64_t count = 1;
  for (int d = 0; d < ndims; ++d) {
    unsigned char b[4];
    if (!in.read(reinterpret_cast<char*>(b), 4)) throw IoError("'" + path + "': truncated idx header");
    const std::int32_t dim = static_cast<std::int32_t>((std::uint32_t(b[0]) << 24) | (std::uint32_t(b[1]) << 16) |
                                                       (std::uint32_t(b[2]) << 8) | std::uint32_t(b[3]));
    if (dim < 0 || count > (std::int64_t(1) << 40) / std::max<std::int64_t>(dim, 1)) {
      throw IoError("'" + path + "': implausible idx dimension " + std::to_string(dim));
    }
    a.dims.push_back(dim);
    count *= dim;
  }
  const std::int64_t offset = 4 + 4 * ndims;
  in.seekg(0, std::ios::end);
  const std::int64_t have = static_cast<std::int64_t>(in.tellg()) - offset;
  if (have != count) {
    throw IoError("'" + path + "': idx dimensions announce " + std::to_string(count) +
                  " bytes of data, the file holds " + std::to_string(have));
  }
  in.seekg(offset);
  a.values.resize(static_cast<std::size_t>(count));
  if (!in.read(reinterpret_cast<char*>(a.values.data()), count)) throw IoError("'" + path + "': read error");
  return a;
}

MnistSet read_mnist(const std::string& dir, MnistSplit split) {
  const std::string prefix = dir + "/" + (split == MnistSplit::train ? "train" : "t10k");
  IdxArray images = read_idx_ubyte(prefix + "-images-idx3-ubyte");
  IdxArray labels = read_idx_ubyte(prefix + "-labels-idx1-ubyte");
  if (images.dims.size() != 3) throw IoError("'" + prefix + "-images-idx3-ubyte': expected 3 dimensions");
  if (labels.dims.size() != 1) throw IoError("'" + prefix + "-labels-idx1-ubyte': expected 1 dimension");
  if (images.dims[0] != labels.dims[0]) {
    throw IoError("MNIST in '" + dir + "': " + std::to_string(images.dims[0]) + " images but " +
                  std::to_string(labels.dims[0]) + " labels");
  }
  for (std::uint8_t l : labels.values) {
    if (l > 9) throw IoError("'" + prefix + "-labels-idx1-ubyte': label " + std::to_string(l) + " is not a digit");
  }
  MnistSet s;
  s.count = images.dims[0];
  s.rows = images.dims[1];
  s.cols = images.dims[2];
  s.pixels = std::move(images.values);
  s.labels = std::move(labels.values);
  return s;
}

std::string default_mnist_dir() {
  if (const char* env = std::getenv("ODYN_DATA_DIR"); env && *env) return std::string(env) + "/mnist";
  return "data/mnist";
}

}  // namespace odyn::io
