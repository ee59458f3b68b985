#include "odyn/io/mnist.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdlib>
#include <filesystem>

#include "../test_util.hpp"
#include "odyn/core/error.hpp"

using odyn::IoError;
using odyn::io::MnistSplit;
using odyn::test::scratch;
using odyn::test::write_file;

namespace {

std::string be32(std::uint32_t v) {
  return {char(v >> 24), char((v >> 16) & 0xff), char((v >> 8) & 0xff), char(v & 0xff)};
}


}  // namespace

TEST(Idx, ReadsDimensionsAndValues) {
  const std::string path = write_file(scratch("a.idx"), std::string("\0\0\x08\x02", 4) + be32(2) + be32(3) + "abcdef");
  const auto a = odyn::io::read_idx_ubyte(path);
  EXPECT_EQ(a.dims, (std::vector<std::int32_t>{2, 3}));
  EXPECT_EQ(std::string(a.values.begin(), a.values.end()), "abcdef");
}

TEST(Idx, RejectsMalformedFiles) {
  EXPECT_THROW(odyn::io::read_idx_ubyte(write_file(scratch("magic"), std::string("\1\0\x08\x01", 4) + be32(1) + "x")),
               IoError);
  EXPECT_THROW(odyn::io::read_idx_ubyte(write_file(scratch("type"), std::string("\0\0\x0d\x01", 4) + be32(1) + "xxxx")),
               IoError);
  EXPECT_THROW(odyn::io::read_idx_ubyte(write_file(scratch("short"), std::string("\0\0\x08\x01", 4) + be32(5) + "abc")),
               IoError);
  EXPECT_THROW(odyn::io::read_idx_ubyte(write_file(scratch("header"), std::string("\0\0\x08\x02", 4) + "\0\0")),
               IoError);
  EXPECT_THROW(odyn::io::read_idx_ubyte(scratch("missing")), IoError);
}

TEST(Idx, MnistRejectsMismatchedCountsAndBadLabels) {
  const std::string dir = scratch("mnist");
  std::filesystem::create_directories(dir);
  write_file(dir + "/t10k-images-idx3-ubyte", std::string("\0\0\x08\x03", 4) + be32(2) + be32(1) + be32(1) + "ab");
  write_file(dir + "/t10k-labels-idx1-ubyte", std::string("\0\0\x08\x01", 4) + be32(3) + std::string("\1\2\3", 3));
  EXPECT_THROW(odyn::io::read_mnist(dir, MnistSplit::test), IoError);
  write_file(dir + "/t10k-labels-idx1-ubyte", std::string("\0\0\x08\x01", 4) + be32(2) + std::string("\1\x0c", 2));
  EXPECT_THROW(odyn::io::read_mnist(dir, MnistSplit::test), IoError);
  write_file(dir + "/t10k-labels-idx1-ubyte", std::string("\0\0\x08\x01", 4) + be32(2) + std::string("\1\x09", 2));
  EXPECT_EQ(odyn::io::read_mnist(dir, MnistSplit::test).count, 2);
}

// Counts, shapes and label histograms of the real data set (LeCun et al., 1998).
TEST(Mnist, TrainingSplit) {
  ODYN_REQUIRE_MNIST_OR_SKIP();
  const auto s = odyn::io::read_mnist(odyn::io::default_mnist_dir(), MnistSplit::train);
  EXPECT_EQ(s.count, 60000);
  EXPECT_EQ(s.rows, 28);
  EXPECT_EQ(s.cols, 28);
  EXPECT_EQ(s.pixels.size(), 60000u * 784u);
  std::array<int, 10> hist{};
  for (auto l : s.labels) ++hist[l];
  EXPECT_EQ(hist, (std::array<int, 10>{5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949}));
  EXPECT_EQ(s.labels[0], 5);  // the first training digit is a 5
}

TEST(Mnist, TestSplit) {
  ODYN_REQUIRE_MNIST_OR_SKIP();
  const auto s = odyn::io::read_mnist(odyn::io::default_mnist_dir(), MnistSplit::test);
  EXPECT_EQ(s.count, 10000);
  EXPECT_EQ(s.rows, 28);
  EXPECT_EQ(s.cols, 28);
  std::array<int, 10> hist{};
  for (auto l : s.labels) ++hist[l];
  EXPECT_EQ(hist, (std::array<int, 10>{980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009}));
  EXPECT_EQ(s.labels[0], 7);  // the first test digit is a 7
}
