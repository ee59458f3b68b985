#include "odyn/linalg/slogdet.hpp"

#include <gtest/gtest.h>

#include <Eigen/SVD>
#include <random>

#include "odyn/linalg/test_matrices.hpp"

using Eigen::MatrixXd;
using odyn::linalg::logdet_spd;
using odyn::linalg::slogdet;

namespace {
MatrixXd gaussian(int n, std::mt19937_64& rng, double sd) {
  return odyn::linalg::gaussian_matrix(n, n, rng, sd);
}
}  // namespace

TEST(Slogdet, AgreesWithDeterminantOnSmallMatrices) {
  std::mt19937_64 rng(1);
  for (int n = 1; n <= 8; ++n) {
    const MatrixXd a = gaussian(n, rng, 1.0);
    const auto r = slogdet(a);
    const double det = a.determinant();
    EXPECT_EQ(r.sign, det > 0 ? 1.0 : -1.0) << "n = " << n;
    // Both sides come from the same LU factors: they agree to rounding in the final exp/log.
    EXPECT_NEAR(r.log_abs, std::log(std::abs(det)), 1e-13 * std::max(1.0, std::abs(r.log_abs)));
  }
}

// Where det overflows (n = 200, entries N(0, 100^2): |det| ~ 1e600), log|det| still agrees with an
// independent route, the sum of the logarithms of the singular values. Both are backward stable;
// the difference is bounded by n u kappa(A) in the log (kappa from the SVD).
TEST(Slogdet, BeyondDoubleRangeMatchesSingularValues) {
  std::mt19937_64 rng(2);
  const int n = 200;
  const MatrixXd a = gaussian(n, rng, 100.0);
  EXPECT_FALSE(std::isfinite(a.determinant()) && a.determinant() != 0);
  const auto r = slogdet(a);
  const Eigen::VectorXd s = Eigen::JacobiSVD<MatrixXd>(a).singularValues();
  const double kappa = s(0) / s(n - 1);
  EXPECT_NEAR(r.log_abs, s.array().log().sum(), n * std::numeric_limits<double>::epsilon() * kappa);
  EXPECT_GT(r.log_abs, 1000.0);
}

TEST(Slogdet, SingularPermutationAndComplex) {
  MatrixXd singular(2, 2);
  singular << 1, 2, 2, 4;
  const auto s = slogdet(singular);
  EXPECT_EQ(s.sign, 0.0);
  EXPECT_EQ(s.log_abs, -std::numeric_limits<double>::infinity());

  MatrixXd swap(2, 2);  // det = -6
  swap << 0, 2, 3, 0;
  EXPECT_EQ(slogdet(swap).sign, -1.0);
  EXPECT_DOUBLE_EQ(slogdet(swap).log_abs, std::log(6.0));

  Eigen::MatrixXcd z(2, 2);  // diag(i, 2i): det = -2
  z << std::complex<double>(0, 1), 0, 0, std::complex<double>(0, 2);
  const auto c = slogdet(z);
  EXPECT_NEAR(std::abs(c.sign - std::complex<double>(-1, 0)), 0.0, 1e-15);
  EXPECT_NEAR(c.log_abs, std::log(2.0), 1e-15);
}

TEST(Slogdet, SpdPathAgreesWithLu) {
  std::mt19937_64 rng(3);
  const MatrixXd g = gaussian(30, rng, 1.0);
  const MatrixXd spd = g * g.transpose() + 30 * MatrixXd::Identity(30, 30);
  const auto lu = slogdet(spd);
  EXPECT_EQ(lu.sign, 1.0);
  EXPECT_NEAR(logdet_spd(spd), lu.log_abs, 1e-12 * std::abs(lu.log_abs));
  // Closed form: Q diag(d) Q^T has log det = sum log d.
  const MatrixXd q = odyn::linalg::random_orthogonal(5, rng);
  const Eigen::VectorXd d = (Eigen::VectorXd(5) << 1e-3, 0.5, 1.0, 4.0, 1e3).finished();
  EXPECT_NEAR(logdet_spd(MatrixXd(q * d.asDiagonal() * q.transpose())), d.array().log().sum(), 1e-11);
}

TEST(Slogdet, RejectsBadInput) {
  EXPECT_THROW(slogdet(MatrixXd(0, 0)), odyn::InvalidArgument);
  EXPECT_THROW(slogdet(MatrixXd::Ones(2, 3)), odyn::InvalidArgument);
  MatrixXd nan = MatrixXd::Identity(2, 2);
  nan(1, 1) = std::nan("");
  EXPECT_THROW(slogdet(nan), odyn::InvalidArgument);
  MatrixXd indefinite(2, 2);
  indefinite << 1, 2, 2, 1;
  EXPECT_THROW(logdet_spd(indefinite), odyn::InvalidArgument);
}
