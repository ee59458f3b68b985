#include "odyn/transport/gaussian.hpp"

#include <gtest/gtest.h>

#include <Eigen/LU>
#include <cmath>
#include <limits>

#include "odyn/core/error.hpp"
#include "odyn/linalg/sqrtm.hpp"
#include "transport_test_util.hpp"

namespace {

using odyn::InvalidArgument;
using odyn::test::normal_cloud;
using odyn::test::random_rotation;
using odyn::transport::bures_wasserstein;
using odyn::transport::frechet_distance;
using odyn::transport::gaussian_kl;
using odyn::transport::Matrix;
using odyn::transport::sample_moments;
using odyn::transport::Vector;

constexpr double kEps = std::numeric_limits<double>::epsilon();
using MatrixL = Eigen::Matrix<long double, Eigen::Dynamic, Eigen::Dynamic>;
using VectorL = Eigen::Matrix<long double, Eigen::Dynamic, 1>;

// A random SPD matrix A A^T / d + shift I, exactly symmetric.
Matrix random_spd(Eigen::Index d, std::uint64_t seed, double shift = 0.1) {
  const Matrix a = normal_cloud(d, d, seed);
  Matrix s = a * a.transpose() / static_cast<double>(d) + shift * Matrix::Identity(d, d);
  return (s + s.transpose()) / 2;
}

Matrix symmetric(const Matrix& s) {
  return (s + s.transpose()) / 2;
}

// W2^2 is formed as |dm|^2 + tr S1 + tr S2 - 2 tr(...): cancellation leaves an absolute error of a
// few d eps (tr S1 + tr S2) (the eigenvalue solvers are backward stable to d eps |S|).
double w2_squared_tolerance(const Matrix& s1, const Matrix& s2) {
  return 64 * static_cast<double>(s1.rows()) * kEps * (s1.trace() + s2.trace() + 1.0);
}

TEST(BuresWasserstein, CommutingCovariancesReduceToRootDifference) {
  const int d = 4;
  const Matrix q = random_rotation(d, 1);
  Vector l1(d), l2(d);
  l1 << 0.5, 2.0, 3.0, 0.1;
  l2 << 1.5, 0.2, 3.0, 4.0;
  const Matrix s1 = symmetric(q * l1.asDiagonal() * q.transpose());
  const Matrix s2 = symmetric(q * l2.asDiagonal() * q.transpose());
  const Vector m1 = normal_cloud(d, 1, 2).col(0), m2 = normal_cloud(d, 1, 3).col(0);
  // ||S1^1/2 - S2^1/2||_F^2 = sum (sqrt l1 - sqrt l2)^2 for simultaneously diagonalisable S1, S2.
  const double expected = (m1 - m2).squaredNorm() + (l1.cwiseSqrt() - l2.cwiseSqrt()).squaredNorm();
  const double w = bures_wasserstein(m1, s1, m2, s2);
  EXPECT_NEAR(w * w, expected, w2_squared_tolerance(s1, s2));
}

TEST(BuresWasserstein, OneDimensionIsMeanAndStdDifference) {
  for (auto [m1, sd1, m2, sd2] : {std::array<double, 4>{0.0, 1.0, 3.0, 2.0}, std::array<double, 4>{-1.5, 0.3, 2.0, 5.0},
                                  std::array<double, 4>{1.0, 0.0, 1.0, 2.0}}) {
    const Vector a = Vector::Constant(1, m1), b = Vector::Constant(1, m2);
    const Matrix s1 = Matrix::Constant(1, 1, sd1 * sd1), s2 = Matrix::Constant(1, 1, sd2 * sd2);
    const double expected = std::hypot(m1 - m2, sd1 - sd2);
    EXPECT_NEAR(bures_wasserstein(a, s1, b, s2), expected, 1e-7 * (expected + 1))  // sqrt of an error ~eps
        << m1 << " " << sd1 << " " << m2 << " " << sd2;
    const double w = bures_wasserstein(a, s1, b, s2);
    EXPECT_NEAR(w * w, expected * expected, w2_squared_tolerance(s1, s2));
  }
}

TEST(BuresWasserstein, TwoByTwoClosedForm) {
  // For 2 x 2 PSD M, tr M^1/2 = sqrt(tr M + 2 sqrt(det M)); M = S1^1/2 S2 S1^1/2 has tr M = tr(S1 S2)
  // and det M = det S1 det S2.
  const Matrix s1 = random_spd(2, 4), s2 = random_spd(2, 5);
  const Vector m1 = normal_cloud(2, 1, 6).col(0), m2 = normal_cloud(2, 1, 7).col(0);
  const double cross = std::sqrt((s1 * s2).trace() + 2 * std::sqrt(s1.determinant() * s2.determinant()));
  const double expected = (m1 - m2).squaredNorm() + s1.trace() + s2.trace() - 2 * cross;
  const double w = bures_wasserstein(m1, s1, m2, s2);
  EXPECT_NEAR(w * w, expected, w2_squared_tolerance(s1, s2));
}

TEST(BuresWasserstein, SymmetricAndZeroForEqualGaussians) {
  const int d = 6;
  const Matrix s1 = random_spd(d, 8), s2 = random_spd(d, 9);
  const Vector m1 = normal_cloud(d, 1, 10).col(0), m2 = normal_cloud(d, 1, 11).col(0);
  const double ab = bures_wasserstein(m1, s1, m2, s2), ba = bures_wasserstein(m2, s2, m1, s1);
  EXPECT_NEAR(ab * ab, ba * ba, w2_squared_tolerance(s1, s2));
  const double same = bures_wasserstein(m1, s1, m1, s1);
  EXPECT_LE(same * same, w2_squared_tolerance(s1, s1));
  // A shift of the mean alone: W2 = |dm| up to the same rounding.
  const double shifted = bures_wasserstein(m1, s1, m2, s1);
  EXPECT_NEAR(shifted * shifted, (m1 - m2).squaredNorm(), w2_squared_tolerance(s1, s1));
}

TEST(BuresWasserstein, RankDeficientCovariances) {
  // Commuting singular covariances diag(1, 0) and diag(0, 4): (1 - 0)^2 + (0 - 2)^2 = 5.
  Matrix s1 = Matrix::Zero(2, 2), s2 = Matrix::Zero(2, 2);
  s1(0, 0) = 1.0;
  s2(1, 1) = 4.0;
  const Vector zero = Vector::Zero(2);
  EXPECT_NEAR(std::pow(bures_wasserstein(zero, s1, zero, s2), 2), 5.0, w2_squared_tolerance(s1, s2));
  // Rank one u u^T and v v^T: (S1^1/2 S2 S1^1/2) = (u.v)^2 u u^T / |u|^2, so the cross term is
  // |u.v| and W2^2 = |u|^2 + |v|^2 - 2 |u.v|.
  Vector u(3), v(3);
  u << 1.0, 2.0, -0.5;
  v << 0.3, -1.0, 2.0;
  const Matrix su = u * u.transpose(), sv = v * v.transpose();
  const Vector z3 = Vector::Zero(3);
  const double expected = u.squaredNorm() + v.squaredNorm() - 2 * std::abs(u.dot(v));
  EXPECT_NEAR(std::pow(bures_wasserstein(z3, su, z3, sv), 2), expected, w2_squared_tolerance(su, sv));
  // Point masses (zero covariance): the distance between the means.
  const Vector m1 = normal_cloud(3, 1, 12).col(0), m2 = normal_cloud(3, 1, 13).col(0);
  EXPECT_NEAR(bures_wasserstein(m1, Matrix::Zero(3, 3), m2, Matrix::Zero(3, 3)), (m1 - m2).norm(),
              4 * kEps * (m1 - m2).norm());
}

TEST(BuresWasserstein, RejectsBadInput) {
  const Vector m = Vector::Zero(2);
  const Matrix s = Matrix::Identity(2, 2);
  EXPECT_NO_THROW(bures_wasserstein(m, s, m, s));
  EXPECT_THROW(bures_wasserstein(Vector(), Matrix(), Vector(), Matrix()), InvalidArgument);
  EXPECT_THROW(bures_wasserstein(Vector::Zero(3), s, m, s), InvalidArgument);               // means differ
  EXPECT_THROW(bures_wasserstein(m, Matrix::Identity(3, 3), m, s), InvalidArgument);        // cov vs mean
  EXPECT_THROW(bures_wasserstein(m, s, m, Matrix::Identity(2, 3)), InvalidArgument);        // not square
  Matrix nonsym = s;
  nonsym(0, 1) = 0.5;
  EXPECT_THROW(bures_wasserstein(m, nonsym, m, s), InvalidArgument);
  Matrix indefinite = s;
  indefinite(1, 1) = -1.0;
  EXPECT_THROW(bures_wasserstein(m, s, m, indefinite), InvalidArgument);
  Matrix nan = s;
  nan(1, 1) = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THROW(bures_wasserstein(m, nan, m, s), InvalidArgument);
  Vector mnan = m;
  mnan(0) = std::numeric_limits<double>::infinity();
  EXPECT_THROW(bures_wasserstein(m, s, mnan, s), InvalidArgument);
  try {
    bures_wasserstein(m, s, m, indefinite);
    FAIL() << "no exception";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("bures_wasserstein"), std::string::npos) << e.what();
  }
}

TEST(SampleMoments, MatchLongDoubleTwoPass) {
  Matrix x = normal_cloud(500, 3, 14);
  x.col(1) = x.col(1) * 3.0 + x.col(0);
  x.array() += 100.0;  // an offset that a one-pass formula would suffer from
  const auto m = sample_moments(x);
  const MatrixL xl = x.cast<long double>();
  const VectorL mean = xl.colwise().mean().transpose();
  const MatrixL c = xl.rowwise() - mean.transpose();
  const MatrixL cov = c.transpose() * c / 499.0L;
  // Means of 500 numbers near 100 and centred products: relative error ~ n eps at worst.
  EXPECT_LT((m.mean.cast<long double>() - mean).cwiseAbs().maxCoeff(), 1e-12L);
  EXPECT_LT((m.covariance.cast<long double>() - cov).cwiseAbs().maxCoeff(), 1e-12L);
  EXPECT_EQ(m.covariance, m.covariance.transpose());
  EXPECT_THROW(sample_moments(Matrix::Zero(1, 3)), InvalidArgument);
}

TEST(FrechetDistance, IsSquaredBuresOfSampleMoments) {
  const int d = 5;
  const Matrix x = normal_cloud(400, d, 15);
  const Matrix y = (normal_cloud(300, d, 16) * random_spd(d, 17)).array() + 0.7;
  const auto a = sample_moments(x), b = sample_moments(y);
  const double fid = frechet_distance(x, y);
  const double w = bures_wasserstein(a.mean, a.covariance, b.mean, b.covariance);
  EXPECT_NEAR(fid, w * w, w2_squared_tolerance(a.covariance, b.covariance));
  // The FID formula written directly: tr of the principal square root of the product S1 S2 (Schur
  // method; S1 S2 has positive eigenvalues for SPD S1, S2).
  const double direct = (a.mean - b.mean).squaredNorm() + a.covariance.trace() + b.covariance.trace() -
                        2 * odyn::linalg::sqrtm(a.covariance * b.covariance).trace();
  EXPECT_NEAR(fid, direct, w2_squared_tolerance(a.covariance, b.covariance));
}

TEST(FrechetDistance, TranslatedSampleIsSquaredShift) {
  const Matrix x = normal_cloud(200, 3, 18);
  Eigen::RowVector3d c(0.5, -1.0, 2.0);
  const Matrix y = x.rowwise() + c;
  const auto a = sample_moments(x);
  // Equal covariances up to rounding: the value is |c|^2 = 5.25 (FID squared, not W2).
  EXPECT_NEAR(frechet_distance(x, y), c.squaredNorm(), w2_squared_tolerance(a.covariance, a.covariance));
  EXPECT_LE(frechet_distance(x, x), w2_squared_tolerance(a.covariance, a.covariance));
  // Rank-deficient sample covariances (points on a line in R^3) are accepted.
  Matrix line(4, 3);
  line << 0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3;
  EXPECT_GE(frechet_distance(line, x), 0.0);
}

TEST(FrechetDistance, RejectsBadInput) {
  const Matrix x = normal_cloud(10, 2, 19);
  EXPECT_THROW(frechet_distance(x.topRows(1), x), InvalidArgument);
  EXPECT_THROW(frechet_distance(x, x.topRows(1)), InvalidArgument);
  EXPECT_THROW(frechet_distance(x, normal_cloud(10, 3, 20)), InvalidArgument);
  EXPECT_THROW(frechet_distance(Matrix(0, 2), x), InvalidArgument);
  Matrix bad = x;
  bad(3, 1) = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THROW(frechet_distance(x, bad), InvalidArgument);
}

// KL between Gaussians in long double from the textbook formula with an explicit inverse and
// determinants (LU), as an independent reference.
double kl_reference(const Vector& m1, const Matrix& s1, const Vector& m2, const Matrix& s2) {
  const MatrixL a = s1.cast<long double>(), b = s2.cast<long double>();
  const MatrixL binv = b.inverse();
  const VectorL dm = (m2 - m1).cast<long double>();
  const long double value = 0.5L * ((binv * a).trace() + dm.dot(binv * dm) - static_cast<long double>(m1.size()) +
                                    std::log(b.determinant()) - std::log(a.determinant()));
  return static_cast<double>(value);
}

TEST(GaussianKl, OneDimensionAndDiagonalClosedForms) {
  // KL(N(m1, s1^2) || N(m2, s2^2)) = ln(s2/s1) + (s1^2 + (m1 - m2)^2) / (2 s2^2) - 1/2.
  auto kl1 = [](double m1, double sd1, double m2, double sd2) {
    return std::log(sd2 / sd1) + (sd1 * sd1 + (m1 - m2) * (m1 - m2)) / (2 * sd2 * sd2) - 0.5;
  };
  const double v = gaussian_kl(Vector::Constant(1, 0.5), Matrix::Constant(1, 1, 4.0), Vector::Constant(1, -1.0),
                               Matrix::Constant(1, 1, 0.25));
  // A handful of roundings of O(1) terms.
  EXPECT_NEAR(v, kl1(0.5, 2.0, -1.0, 0.5), 1e-14 * v);
  // Diagonal covariances: the sum of the coordinates' 1-D divergences.
  Vector m1(3), m2(3), sd1(3), sd2(3);
  m1 << 0.0, 1.0, -2.0;
  m2 << 0.5, 1.0, 1.0;
  sd1 << 1.0, 0.3, 2.0;
  sd2 << 2.0, 0.3, 1.5;
  double expected = 0.0;
  for (int k = 0; k < 3; ++k) expected += kl1(m1(k), sd1(k), m2(k), sd2(k));
  const Matrix s1 = sd1.array().square().matrix().asDiagonal(), s2 = sd2.array().square().matrix().asDiagonal();
  EXPECT_NEAR(gaussian_kl(m1, s1, m2, s2), expected, 1e-14 * expected);
}

TEST(GaussianKl, FullCovariancesMatchLongDoubleReference) {
  const int d = 5;
  const Matrix s1 = random_spd(d, 21), s2 = random_spd(d, 22);
  const Vector m1 = normal_cloud(d, 1, 23).col(0), m2 = normal_cloud(d, 1, 24).col(0);
  const double ref = kl_reference(m1, s1, m2, s2);
  // Triangular solves with condition numbers ~100: relative error well under 1e-12.
  EXPECT_NEAR(gaussian_kl(m1, s1, m2, s2), ref, 1e-12 * ref);
  const double rev = kl_reference(m2, s2, m1, s1);
  EXPECT_NEAR(gaussian_kl(m2, s2, m1, s1), rev, 1e-12 * rev);
  // Not symmetric: the two directions differ by far more than rounding.
  EXPECT_GT(std::abs(ref - rev), 1e-3 * (ref + rev));
}

TEST(GaussianKl, ZeroExactlyForEqualAndPositiveOtherwise) {
  const int d = 4;
  const Matrix s = random_spd(d, 25);
  const Vector m = normal_cloud(d, 1, 26).col(0);
  // L^-1 L = I up to rounding: |.|_F^2 = d + O(d eps), log-determinants cancel exactly.
  EXPECT_LE(gaussian_kl(m, s, m, s), 16 * d * kEps);
  Vector m2 = m;
  m2(1) += 1e-3;
  EXPECT_GT(gaussian_kl(m, s, m2, s), 0.0);
  Matrix s2 = s;
  s2(2, 2) *= 1.01;
  EXPECT_GT(gaussian_kl(m, s, m, s2), 0.0);
}

TEST(GaussianKl, RejectsBadInput) {
  const Vector m = Vector::Zero(2);
  const Matrix s = Matrix::Identity(2, 2);
  EXPECT_NO_THROW(gaussian_kl(m, s, m, s));
  Matrix singular = Matrix::Zero(2, 2);
  singular(0, 0) = 1.0;
  EXPECT_THROW(gaussian_kl(m, singular, m, s), InvalidArgument);  // PSD but not PD
  EXPECT_THROW(gaussian_kl(m, s, m, singular), InvalidArgument);
  Matrix indefinite = s;
  indefinite(0, 1) = indefinite(1, 0) = 2.0;
  EXPECT_THROW(gaussian_kl(m, indefinite, m, s), InvalidArgument);
  Matrix nonsym = s;
  nonsym(1, 0) = 0.1;
  EXPECT_THROW(gaussian_kl(m, s, m, nonsym), InvalidArgument);
  EXPECT_THROW(gaussian_kl(Vector::Zero(3), s, m, s), InvalidArgument);
  EXPECT_THROW(gaussian_kl(m, Matrix::Identity(3, 3), m, s), InvalidArgument);
  EXPECT_THROW(gaussian_kl(Vector(), Matrix(), Vector(), Matrix()), InvalidArgument);
  Vector mnan = m;
  mnan(1) = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THROW(gaussian_kl(mnan, s, m, s), InvalidArgument);
  Matrix snan = s;
  snan(0, 0) = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THROW(gaussian_kl(m, s, m, snan), InvalidArgument);
  try {
    gaussian_kl(m, singular, m, s);
    FAIL() << "no exception";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("gaussian_kl"), std::string::npos) << e.what();
  }
}

}  // namespace
