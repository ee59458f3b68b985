#include "odyn/linalg/sqrtm.hpp"

#include <gtest/gtest.h>

#include <Eigen/Eigenvalues>
#include <Eigen/SVD>
#include <random>

#include "odyn/core/error.hpp"
#include "odyn/linalg/test_matrices.hpp"

using Eigen::MatrixXd;
using odyn::linalg::sqrtm_spd;
using odyn::linalg::trace_sqrt_product;

namespace {

// Sample covariance of `samples` Gaussian points in d dimensions with a random mixing matrix:
// rank min(samples - 1, d), as in FID with fewer images than feature dimensions.
MatrixXd sample_covariance(int d, int samples, std::mt19937_64& rng) {
  const MatrixXd mix = odyn::linalg::gaussian_matrix(d, d, rng);
  const MatrixXd x = odyn::linalg::gaussian_matrix(samples, d, rng) * mix;
  const MatrixXd centred = x.rowwise() - x.colwise().mean();
  return centred.transpose() * centred / (samples - 1);
}

double rel(double x, double ref) {
  return std::abs(x - ref) / std::abs(ref);
}

}  // namespace

TEST(SqrtmSpd, SquaresBackAndIsSymmetric) {
  std::mt19937_64 rng(1);
  const MatrixXd s = sample_covariance(30, 200, rng);  // full rank
  const MatrixXd r = sqrtm_spd(s);
  EXPECT_LE((r * r - s).norm() / s.norm(), 1e-13);
  EXPECT_EQ(r, r.transpose());
  EXPECT_GE(Eigen::SelfAdjointEigenSolver<MatrixXd>(r).eigenvalues().minCoeff(), -1e-12);
  const Eigen::Vector3d d(4.0, 9.0, 0.25);
  EXPECT_LE((sqrtm_spd(MatrixXd(d.asDiagonal())) - MatrixXd(d.cwiseSqrt().asDiagonal())).cwiseAbs().maxCoeff(), 1e-15);
}

TEST(SqrtmSpd, RankDeficientCovariance) {
  std::mt19937_64 rng(2);
  const MatrixXd s = sample_covariance(40, 10, rng);  // rank 9
  const MatrixXd r = sqrtm_spd(s);
  EXPECT_TRUE(r.allFinite());
  EXPECT_LE((r * r - s).norm() / s.norm(), 1e-12);
}

// For commuting (here diagonal) S1, S2 the answer is sum_i sqrt(a_i b_i).
TEST(TraceSqrtProduct, CommutingClosedForm) {
  const Eigen::Vector4d a(1.0, 2.0, 0.5, 9.0), b(4.0, 0.5, 2.0, 1e-4);
  const double expected = (a.array() * b.array()).sqrt().sum();
  EXPECT_LE(rel(trace_sqrt_product(MatrixXd(a.asDiagonal()), MatrixXd(b.asDiagonal())), expected), 1e-14);
}

// Identities: t(S, S) = tr S; t(c S1, S2) = sqrt(c) t(S1, S2); t(S1, S2) = t(S2, S1); and, by an
// independent route, t(S1, S2) = ||S1^1/2 S2^1/2||_* (sum of singular values).
TEST(TraceSqrtProduct, IdentitiesAndNuclearNormRoute) {
  std::mt19937_64 rng(3);
  const MatrixXd s1 = sample_covariance(25, 100, rng), s2 = sample_covariance(25, 100, rng);
  const double t = trace_sqrt_product(s1, s2);
  EXPECT_LE(rel(trace_sqrt_product(s1, s1), s1.trace()), 1e-13);
  EXPECT_LE(rel(trace_sqrt_product(4.0 * s1, s2), 2.0 * t), 1e-13);
  EXPECT_LE(rel(trace_sqrt_product(s2, s1), t), 1e-12);
  const double nuclear = Eigen::JacobiSVD<MatrixXd>(sqrtm_spd(s1) * sqrtm_spd(s2)).singularValues().sum();
  EXPECT_LE(rel(t, nuclear), 1e-12);
}

// FID-like covariances with fewer samples than dimensions (rank 19 of 64): the result is finite,
// agrees with the nuclear-norm route, and the Gaussian W2^2 = tr S1 + tr S2 - 2 t is >= 0 and
// vanishes for S1 = S2.
TEST(TraceSqrtProduct, RankDeficientCovariancesStayFinite) {
  std::mt19937_64 rng(4);
  const MatrixXd s1 = sample_covariance(64, 20, rng), s2 = sample_covariance(64, 20, rng);
  const double t = trace_sqrt_product(s1, s2);
  ASSERT_TRUE(std::isfinite(t));
  const double nuclear = Eigen::JacobiSVD<MatrixXd>(sqrtm_spd(s1) * sqrtm_spd(s2)).singularValues().sum();
  EXPECT_LE(rel(t, nuclear), 1e-12);
  EXPECT_GE(s1.trace() + s2.trace() - 2 * t, 0.0);
  EXPECT_NEAR(2 * s1.trace() - 2 * trace_sqrt_product(s1, s1), 0.0, 1e-12 * s1.trace());
}

TEST(Sqrtm, RejectsBadInput) {
  MatrixXd neg = MatrixXd::Identity(3, 3);
  neg(2, 2) = -1;
  EXPECT_THROW(sqrtm_spd(neg), odyn::InvalidArgument);
  MatrixXd asym = MatrixXd::Identity(2, 2);
  asym(0, 1) = 0.5;
  EXPECT_THROW(sqrtm_spd(asym), odyn::InvalidArgument);
  EXPECT_THROW(sqrtm_spd(MatrixXd::Ones(2, 3)), odyn::InvalidArgument);
  EXPECT_THROW(sqrtm_spd(MatrixXd(0, 0)), odyn::InvalidArgument);
  MatrixXd nan = MatrixXd::Identity(2, 2);
  nan(0, 0) = std::nan("");
  EXPECT_THROW(sqrtm_spd(nan), odyn::InvalidArgument);
  EXPECT_THROW(trace_sqrt_product(MatrixXd::Identity(2, 2), MatrixXd::Identity(3, 3)), odyn::InvalidArgument);
  EXPECT_THROW(trace_sqrt_product(MatrixXd::Identity(3, 3), neg), odyn::InvalidArgument);
}
