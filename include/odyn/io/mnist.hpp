// The MNIST handwritten digits in their original idx format (LeCun et al., 1998):
// train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace odyn::io {

// The contents of an idx file of unsigned bytes: its dimensions and its values in C order.
struct IdxArray {
  std::vector<std::int32_t> dims;
  std::vector<std::uint8_t> values;
};

// Reads an idx file whose element type is unsigned byte (0x08). Throws odyn::IoError on a wrong
// magic number, another element type, or a size that does not match the dimensions.
IdxArray read_idx_ubyte(const std::string& path);

struct MnistSet {
  std::int64_t count = 0;            // number of images
  int rows = 0, cols = 0;            // 28 x 28
  std::vector<std::uint8_t> pixels;  // count * rows * cols grey levels 0..255, image after image, row-major
  std::vector<std::uint8_t> labels;  // count digits 0..9

  // Pointer to the rows*cols pixels of image i.
  const std::uint8_t* image(std::int64_t i) const { return pixels.data() + i * rows * cols; }
};

enum class MnistSplit { train, test };

// Reads the training (60000 images) or test (10000 images) split from `dir`, checking that the
// image and label files agree and that every label is a digit.
MnistSet read_mnist(const std::string& dir, MnistSplit split);

// The directory the MNIST files are expected in: $ODYN_DATA_DIR/mnist if that variable is set,
// otherwise data/mnist relative to the working directory (where scripts/setup.sh puts them).
std::string default_mnist_dir();

}  // namespace odyn::io
