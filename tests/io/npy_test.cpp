#include "odyn/io/npy.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <sstream>

#include "../test_util.hpp"
#include "odyn/core/error.hpp"

using odyn::IoError;
using odyn::io::read_npy;
using odyn::io::read_npy_header;
using odyn::io::write_npy;
using odyn::test::scratch;
using odyn::test::write_file;

namespace {

// A .npy file assembled by hand: version 1.0 header `dict`, padded as numpy pads it, then `data`.
std::string npy_bytes(const std::string& dict, const std::string& data, int major = 1) {
  std::string header = dict;
  const std::size_t prefix = major == 1 ? 10 : 12;
  header.append((64 - (prefix + header.size() + 1) % 64) % 64, ' ');
  header.push_back('\n');
  std::string out = std::string("\x93NUMPY", 6) + char(major) + char(0);
  const std::size_t len = header.size();
  out += char(len & 0xff);
  out += char((len >> 8) & 0xff);
  if (major != 1) out += std::string(2, '\0');
  return out + header + data;
}

template <class T>
std::string raw(std::initializer_list<T> values, bool swap = false) {
  std::string s;
  for (T v : values) {
    std::string b(reinterpret_cast<const char*>(&v), sizeof v);
    if (swap) std::reverse(b.begin(), b.end());
    s += b;
  }
  return s;
}

std::string error_of(const std::string& bytes) {
  const std::string path = write_file(scratch("bad.npy"), bytes);
  return odyn::test::io_error_of([&] { read_npy(path); });
}

}  // namespace

TEST(Npy, RoundTripDoubleIsExact) {
  std::mt19937_64 rng(3);
  std::normal_distribution<double> normal;
  Eigen::MatrixXd m(5, 3);
  for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = normal(rng);
  m(0, 0) = std::numeric_limits<double>::quiet_NaN();
  const std::string path = scratch("d.npy");
  write_npy(path, m);
  const Eigen::MatrixXd back = read_npy(path);
  ASSERT_EQ(back.rows(), 5);
  ASSERT_EQ(back.cols(), 3);
  EXPECT_TRUE(std::isnan(back(0, 0)));
  EXPECT_EQ(back.bottomRows(4), m.bottomRows(4));
  EXPECT_EQ(back.topRightCorner(1, 2), m.topRightCorner(1, 2));
  const auto h = read_npy_header(path);
  EXPECT_EQ(h.item_size, 8);
  EXPECT_FALSE(h.fortran_order);
  EXPECT_EQ(h.shape, (std::vector<std::int64_t>{5, 3}));
  EXPECT_EQ(h.data_offset % 64, 0);  // numpy aligns the data to 64 bytes
}

TEST(Npy, RoundTripFloatIsExact) {
  Eigen::MatrixXf m(2, 3);
  m << 1.5f, -2.25f, 1e-30f, 3.4e38f, 0.1f, -0.0f;
  const std::string path = scratch("f.npy");
  write_npy(path, m);
  EXPECT_EQ(read_npy_header(path).item_size, 4);
  EXPECT_EQ(read_npy<float>(path), m);
  EXPECT_EQ(read_npy<double>(path), m.cast<double>());  // float -> double is exact
}

TEST(Npy, ReadsFortranOrderBigEndianVersion2AndLowerRanks) {
  // shape (2, 3) in Fortran order: columns (1, 4), (2, 5), (3, 6).
  const std::string f =
      npy_bytes("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }", raw<double>({1, 4, 2, 5, 3, 6}));
  Eigen::MatrixXd expected(2, 3);
  expected << 1, 2, 3, 4, 5, 6;
  EXPECT_EQ(read_npy(write_file(scratch("f.npy"), f)), expected);

  const std::string be = npy_bytes("{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }",
                                   raw<float>({1, 2, 3, 4, 5, 6}, /*swap=*/true), /*major=*/2);
  EXPECT_EQ(read_npy(write_file(scratch("be.npy"), be)), expected);

  const std::string vec =
      npy_bytes("{\"descr\": \"<f8\", \"fortran_order\": False, \"shape\": (3,)}", raw<double>({7, 8, 9}));
  EXPECT_EQ(read_npy(write_file(scratch("v.npy"), vec)), Eigen::Vector3d(7, 8, 9));

  const std::string scalar = npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (), }", raw<double>({2.5}));
  EXPECT_EQ(read_npy(write_file(scratch("s.npy"), scalar))(0, 0), 2.5);
}

TEST(Npy, RejectsMalformedFiles) {
  const std::string good_dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }";
  const std::string data = raw<double>({1, 2, 3, 4});
  std::string bad_magic = npy_bytes(good_dict, data);
  bad_magic[1] = 'X';
  EXPECT_NE(error_of(bad_magic).find("wrong magic string"), std::string::npos);
  EXPECT_NE(error_of("\x93NUM").find("truncated before the header"), std::string::npos);
  EXPECT_NE(error_of(npy_bytes(good_dict, data.substr(0, 20)))
                .find("truncated: the header announces 32 bytes of data, the file holds 20"),
            std::string::npos);
  EXPECT_NE(error_of(npy_bytes(good_dict, data + "xx")).find("2 unexpected bytes after the data"), std::string::npos);
  EXPECT_NE(error_of(npy_bytes("{'descr': '<i8', 'fortran_order': False, 'shape': (2, 2), }", data))
                .find("unsupported dtype '<i8'"),
            std::string::npos);
  EXPECT_NE(error_of(npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (1, 2, 2), }", data))
                .find("at most 2 dimensions"),
            std::string::npos);
  EXPECT_NE(error_of(npy_bytes("{'descr': '<f8', 'fortran_order': Maybe, 'shape': (2, 2), }", data))
                .find("fortran_order must be True or False"),
            std::string::npos);
  EXPECT_NE(error_of(npy_bytes("{'descr': '<f8', 'shape': (2, 2), }", data)).find("header lacks"), std::string::npos);
  EXPECT_NE(error_of(npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (2, x), }", data)).find("bad shape"),
            std::string::npos);
  EXPECT_NE(error_of(npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999, 99999999999), }", data))
                .find("too large"),
            std::string::npos);
  std::string big_version = npy_bytes(good_dict, data);
  big_version[6] = 9;
  EXPECT_NE(error_of(big_version).find("unsupported format version 9"), std::string::npos);
  EXPECT_THROW(read_npy(scratch("missing.npy")), IoError);
}

TEST(Npy, NumpyAgreesBothWays) {
  if (!odyn::test::python_has("numpy")) GTEST_SKIP() << "/usr/bin/python3 with numpy not available";
  Eigen::MatrixXd m(3, 4);
  for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = std::sin(1.0 + i) * std::pow(10.0, i % 5 - 2);
  const std::string ours = scratch("ours.npy"), theirs = scratch("theirs.npy"), fortran = scratch("fortran.npy");
  write_npy(ours, m);
  std::ostringstream entry;
  entry << std::hexfloat << m(1, 2);
  // numpy loads our file, checks one entry bit for bit, and writes it back in C order, Fortran
  // order and float32.
  const auto r =
      odyn::test::run("/usr/bin/python3 -c \"import numpy as np; a = np.load('" + ours +
                      "'); assert a.dtype == np.float64 and a.shape == (3, 4); assert a[1, 2] == float.fromhex('" +
                      entry.str() + "'); np.save('" + theirs + "', a); np.save('" + fortran +
                      "', np.asfortranarray(a)); np.save('" + scratch("f32.npy") + "', a.astype(np.float32))\"");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(read_npy(theirs), m);
  EXPECT_EQ(read_npy(fortran), m);
  EXPECT_EQ(read_npy<float>(scratch("f32.npy")), m.cast<float>());
}
