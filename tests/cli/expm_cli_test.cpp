// odyn expm, run as a separate process.
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "../test_util.hpp"
#include "odyn/io/matrix_text.hpp"
#include "odyn/io/npy.hpp"

using odyn::test::count_lines;
using odyn::test::run;
using odyn::test::scratch;
using odyn::test::write_file;
using odyn::test::cli;
using odyn::test::expect_usage_error;

namespace {

class ExpmCli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (cli.empty()) GTEST_SKIP() << "odyn built without its command-line tool";
  }
};

TEST_F(ExpmCli, WritesExpOfTATextAndNpy) {
  const std::string a = write_file(scratch("expm_a.txt"), "0 1\n-1 0\n");
  auto r = run(cli + " expm " + a + " --t 0.5");
  ASSERT_EQ(r.status, 0) << r.err;
  std::istringstream in(r.out);
  const Eigen::MatrixXd x = odyn::io::parse_matrix_text(in);
  ASSERT_EQ(x.rows(), 2);
  EXPECT_NEAR(x(0, 0), std::cos(0.5), 1e-15);
  EXPECT_NEAR(x(0, 1), std::sin(0.5), 1e-15);
  EXPECT_NEAR(x(1, 0), -std::sin(0.5), 1e-15);
  const std::string npy = scratch("expm_out.npy");
  r = run(cli + " expm " + a + " -o " + npy);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NEAR(odyn::io::read_npy(npy)(0, 1), std::sin(1.0), 1e-15);
}

TEST_F(ExpmCli, FrechetCondAndFiftyDigits) {
  const std::string a = write_file(scratch("expm_b.txt"), "1 0\n0 2\n");
  const std::string e = write_file(scratch("expm_e.txt"), "1 0\n0 1\n");
  // d/dh exp(A + hI) = exp(A) for commuting E = I
  auto r = run(cli + " expm " + a + " --frechet " + e + " --cond");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("condition number"), std::string::npos);
  std::istringstream in(r.out);
  const Eigen::MatrixXd l = odyn::io::parse_matrix_text(in);
  EXPECT_NEAR(l(0, 0), std::exp(1.0), 1e-14);
  EXPECT_NEAR(l(1, 1), std::exp(2.0), 1e-14);
  r = run(cli + " expm " + a + " --scalar mp50");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("2.7182818284590452353602874713526624977572470937"), std::string::npos) << r.out;
}

TEST_F(ExpmCli, BadInput) {
  const std::string rect = write_file(scratch("expm_rect.txt"), "1 2 3\n4 5 6\n");
  expect_usage_error("expm " + rect, "square");
  const std::string big = write_file(scratch("expm_big.txt"), "1000 0\n0 1\n");
  expect_usage_error("expm " + big, "overflows");
  const std::string a = write_file(scratch("expm_c.txt"), "1 0\n0 1\n");
  const std::string e = write_file(scratch("expm_e3.txt"), "1 0 0\n0 1 0\n0 0 1\n");
  expect_usage_error("expm " + a + " --frechet " + e, "shape");
  expect_usage_error("expm " + a + " --scalar quad", "quad");
  expect_usage_error("expm " + a + " --scalar mp50 -o " + scratch("x.npy"), "text only");
  expect_usage_error("expm " + scratch("missing.txt"), "missing.txt");
}

}  // namespace
