#include "odyn/io/matrix_text.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <sstream>

#include "../test_util.hpp"
#include "odyn/core/error.hpp"
#include "odyn/io/matrix_file.hpp"

using odyn::IoError;
using odyn::io::parse_matrix_text;
using odyn::io::read_matrix_text;
using odyn::io::write_matrix_text;
using odyn::test::scratch;
using odyn::test::write_file;

namespace {
Eigen::MatrixXd parse(const std::string& s) {
  std::istringstream in(s);
  return parse_matrix_text(in, "mem");
}

std::string error_of(const std::string& s) {
  return odyn::test::io_error_of([&] { parse(s); });
}
}  // namespace

TEST(MatrixText, ParsesNumpySavetxtOutput) {
  // What numpy.savetxt(f, a, header="two rows") writes with its default fmt '%.18e'.
  const std::string text =
      "# two rows\n"
      "1.000000000000000000e+00 -2.500000000000000000e-01 3.000000000000000000e+00\n"
      "4.000000000000000000e+00 5.000000000000000000e+00 -6.000000000000000000e+00\n";
  Eigen::MatrixXd expected(2, 3);
  expected << 1, -0.25, 3, 4, 5, -6;
  EXPECT_EQ(parse(text), expected);
}

TEST(MatrixText, CommentsBlankLinesTabsAndCrLf) {
  const Eigen::MatrixXd m = parse("\n  # header\r\n1\t2 # trailing comment\r\n\n+3 4e0\r\n");
  Eigen::MatrixXd expected(2, 2);
  expected << 1, 2, 3, 4;
  EXPECT_EQ(m, expected);
}

TEST(MatrixText, OldMacLineEndsAndUnderflow) {
  Eigen::MatrixXd expected(2, 2);
  expected << 1, 2, 3, 4;
  EXPECT_EQ(parse("1 2\r3 4\r"), expected);
  const Eigen::MatrixXd tiny = parse("1e-400 -1e-400 4.9e-324\n");
  EXPECT_EQ(tiny(0, 0), 0.0);
  EXPECT_TRUE(std::signbit(tiny(0, 1)));
  EXPECT_EQ(tiny(0, 2), std::numeric_limits<double>::denorm_min());
}

TEST(MatrixText, EmptyMatricesAreRefusedOnWrite) {
  EXPECT_THROW(write_matrix_text(scratch("e.txt"), Eigen::MatrixXd(3, 0)), odyn::InvalidArgument);
}

TEST(MatrixText, SingleColumnAndNonFiniteTokens) {
  const Eigen::MatrixXd m = parse("nan\ninf\n-inf\n");
  ASSERT_EQ(m.rows(), 3);
  ASSERT_EQ(m.cols(), 1);
  EXPECT_TRUE(std::isnan(m(0, 0)));
  EXPECT_EQ(m(1, 0), std::numeric_limits<double>::infinity());
  EXPECT_EQ(m(2, 0), -std::numeric_limits<double>::infinity());
}

TEST(MatrixText, RaggedRowsNameTheLine) {
  EXPECT_EQ(error_of("1 2 3\n# c\n4 5\n"), "mem:3: ragged rows: expected 3 values (as on line 1), found 2");
}

TEST(MatrixText, NonNumbersNameLineAndColumn) {
  EXPECT_EQ(error_of("1 2\n3 abc\n"), "mem:2:3: 'abc' is not a number");
  EXPECT_EQ(error_of("1 2,\n"), "mem:1:3: '2,' is not a number");
  EXPECT_EQ(error_of("1e999\n"), "mem:1:1: '1e999' is not a number");  // out of range
  EXPECT_EQ(error_of("+-1\n"), "mem:1:1: '+-1' is not a number");
}

TEST(MatrixText, EmptyInputIsAnError) {
  EXPECT_EQ(error_of(""), "mem: no numbers found");
  EXPECT_EQ(error_of("# only a comment\n\n"), "mem: no numbers found");
}

TEST(MatrixText, MissingFileIsAnError) {
  EXPECT_THROW(read_matrix_text(scratch("does-not-exist.txt")), IoError);
}

TEST(MatrixText, RoundTripIsExact) {
  std::mt19937_64 rng(1);
  std::normal_distribution<double> normal;
  Eigen::MatrixXd m(7, 4);
  for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = std::ldexp(normal(rng), static_cast<int>(i) - 14);
  m(0, 0) = std::numeric_limits<double>::denorm_min();
  m(0, 1) = std::numeric_limits<double>::max();
  m(0, 2) = -0.0;
  m(0, 3) = std::numeric_limits<double>::infinity();
  m(1, 0) = std::numeric_limits<double>::quiet_NaN();
  const std::string path = scratch("m.txt");
  write_matrix_text(path, m, "seven by four\nsecond header line");
  const Eigen::MatrixXd back = read_matrix_text(path);
  ASSERT_EQ(back.rows(), 7);
  ASSERT_EQ(back.cols(), 4);
  for (Eigen::Index i = 0; i < m.size(); ++i) {
    if (std::isnan(m.data()[i])) {
      EXPECT_TRUE(std::isnan(back.data()[i]));
    } else {
      EXPECT_EQ(back.data()[i], m.data()[i]) << "entry " << i;
      EXPECT_EQ(std::signbit(back.data()[i]), std::signbit(m.data()[i]));
    }
  }
  EXPECT_EQ(odyn::test::read_file(path).rfind("# seven by four\n# second header line\n", 0), 0u);
}

TEST(MatrixText, NumpyReadsWhatOdynWritesAndViceVersa) {
  if (!odyn::test::python_has("numpy")) GTEST_SKIP() << "/usr/bin/python3 with numpy not available";
  Eigen::MatrixXd m(3, 2);
  m << 0.1, -1e-300, 1.0 / 3, 2e300, -7, 0.5;
  const std::string ours = scratch("ours.txt"), theirs = scratch("theirs.txt");
  write_matrix_text(ours, m);
  // numpy re-reads our file and writes it back with its default format.
  const auto r = odyn::test::run("/usr/bin/python3 -c \"import numpy as np; a = np.loadtxt('" + ours +
                                 "'); assert a.shape == (3, 2); np.savetxt('" + theirs + "', a, header='x')\"");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(read_matrix_text(theirs), m);
}

TEST(MatrixFile, DispatchesOnExtension) {
  Eigen::MatrixXd m(2, 2);
  m << 1, 2, 3, 4.5;
  odyn::io::write_matrix(scratch("a.npy"), m);
  odyn::io::write_matrix(scratch("a.txt"), m);
  EXPECT_EQ(odyn::test::read_file(scratch("a.npy")).substr(1, 5), "NUMPY");
  EXPECT_EQ(odyn::io::read_matrix(scratch("a.npy")), m);
  EXPECT_EQ(odyn::io::read_matrix(scratch("a.txt")), m);
}
