#include "odyn/linalg/sqrtm.hpp"

#include <gtest/gtest.h>

#include <Eigen/Eigenvalues>
#include <Eigen/SVD>
#include <complex>
#include <limits>
#include <random>
#include <string>
#include <unsupported/Eigen/MatrixFunctions>

#include "odyn/core/error.hpp"
#include "odyn/linalg/scalar.hpp"
#include "odyn/linalg/test_matrices.hpp"

using Eigen::MatrixXcd;
using Eigen::MatrixXd;
using odyn::mp50;
using odyn::linalg::sqrtm;
using odyn::linalg::sqrtm_spd;
using odyn::linalg::trace_sqrt_product;
using MatrixMp = Eigen::Matrix<mp50, Eigen::Dynamic, Eigen::Dynamic>;

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

constexpr double u = std::numeric_limits<double>::epsilon() / 2;

// exp(G), G with N(0, scale^2 / n) entries: non-normal, with complex eigenvalues of moduli spread
// over [e^-scale, e^scale] and (almost surely) none on the negative real axis.
MatrixXd exp_of_gaussian(int n, double scale, std::mt19937_64& rng) {
  return odyn::linalg::gaussian_matrix(n, n, rng, scale / std::sqrt(n)).exp();
}
MatrixXcd complex_exp_of_gaussian(int n, double scale, std::mt19937_64& rng) {
  const double sd = scale / std::sqrt(2.0 * n);
  return MatrixXcd(odyn::linalg::gaussian_matrix(n, n, rng, sd) +
                   std::complex<double>(0, 1) * odyn::linalg::gaussian_matrix(n, n, rng, sd))
      .exp();
}

// A = B + iC as the real matrix [[B, -C], [C, B]]: an algebra homomorphism, so sqrt and log of the
// embedding are the embeddings of sqrt and log. It gives 50-digit references for complex input.
MatrixXd realify(const MatrixXcd& a) {
  const Eigen::Index n = a.rows();
  MatrixXd r(2 * n, 2 * n);
  r << a.real(), -a.imag(), a.imag(), a.real();
  return r;
}
MatrixXcd complexify(const MatrixXd& r) {
  const Eigen::Index n = r.rows() / 2;
  return r.topLeftCorner(n, n).cast<std::complex<double>>() +
         std::complex<double>(0, 1) * r.bottomLeftCorner(n, n).cast<std::complex<double>>();
}

// Relative condition number of the principal square root X = A^(1/2) in the Frobenius norm: the
// Frechet derivative solves X L + L X = E, so cond = ||(I (x) X + X^T (x) I)^-1||_2 ||A||_F / ||X||_F
// (Higham, Functions of Matrices, 2008, Sec. 6.1).
template <class Matrix>
double sqrtm_condition(const Matrix& x, const Matrix& a) {
  const Eigen::Index n = x.rows();
  Matrix k = Matrix::Zero(n * n, n * n);
  for (Eigen::Index j = 0; j < n; ++j) {
    k.block(j * n, j * n, n, n) += x;
    for (Eigen::Index l = 0; l < n; ++l) k.block(l * n, j * n, n, n).diagonal().array() += x(j, l);
  }
  const auto sigma = Eigen::JacobiSVD<Matrix>(k).singularValues();
  return a.norm() / x.norm() / sigma(sigma.size() - 1);
}

// ||X^2 - A||_F / (n u ||X||_F^2): the Schur method's residual bound is a modest multiple of 1
// (Higham 2008, Sec. 6.2).
template <class Matrix>
double scaled_residual(const Matrix& x, const Matrix& a, double unit_roundoff) {
  return (x * x - a).norm() / (static_cast<double>(a.rows()) * unit_roundoff * x.squaredNorm());
}

MatrixXd rotation(double angle) {
  MatrixXd r(2, 2);
  r << std::cos(angle), -std::sin(angle), std::sin(angle), std::cos(angle);
  return r;
}

template <class Matrix>
std::string what_of(const Matrix& a) {
  try {
    sqrtm(a);
  } catch (const odyn::InvalidArgument& e) {
    return e.what();
  }
  return "no exception";
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

// X^2 = A to 10 n u ||X||_F^2, and X is the principal root (eigenvalues in the open right
// half-plane), for n = 1..100, real and complex.
TEST(Sqrtm, SquaresBackOnRandomMatrices) {
  std::mt19937_64 rng(1983);
  double worst = 0;
  for (int n : {1, 2, 3, 8, 30, 100}) {
    for (double scale : {1.0, 4.0}) {
      const MatrixXd a = exp_of_gaussian(n, scale, rng);
      const MatrixXd x = sqrtm(a);
      worst = std::max(worst, scaled_residual(x, a, u));
      EXPECT_GT(Eigen::EigenSolver<MatrixXd>(x).eigenvalues().real().minCoeff(), 0.0) << n;
      const MatrixXcd c = complex_exp_of_gaussian(n, scale, rng);
      const MatrixXcd y = sqrtm(c);
      worst = std::max(worst, scaled_residual(y, c, u));
      EXPECT_GT(Eigen::ComplexEigenSolver<MatrixXcd>(y).eigenvalues().real().minCoeff(), 0.0) << n;
    }
  }
  EXPECT_LE(worst, 10.0);
}

// Real A: the real Schur route gives a real matrix equal to the complex Schur route's result,
// whose imaginary part is rounding noise.
TEST(Sqrtm, RealInputGivesTheRealRoot) {
  std::mt19937_64 rng(1987);
  for (int n : {2, 7, 40}) {
    const MatrixXd a = exp_of_gaussian(n, 3.0, rng);
    const MatrixXd x = sqrtm(a);
    const MatrixXcd z = sqrtm(MatrixXcd(a.cast<std::complex<double>>()));
    EXPECT_LE((z.real() - x).norm() / x.norm(), 1e-13);
    EXPECT_LE(z.imag().norm() / x.norm(), 1e-13);
  }
}

TEST(Sqrtm, AgreesWithEigenMatrixSquareRoot) {
  std::mt19937_64 rng(1988);
  for (int n : {3, 10, 50}) {
    const MatrixXd a = exp_of_gaussian(n, 2.0, rng);
    const MatrixXd x = sqrtm(a);
    EXPECT_LE((x - MatrixXd(a.sqrt())).norm() / x.norm(), 1e-13);
    const MatrixXcd c = complex_exp_of_gaussian(n, 2.0, rng);
    const MatrixXcd y = sqrtm(c);
    EXPECT_LE((y - MatrixXcd(c.sqrt())).norm() / y.norm(), 1e-13);
  }
}

// Diagonal matrices; rotations, sqrt(R(a)) = R(a / 2) for |a| < pi, also scaled by 1e+-200; the Jordan block
// sqrt([[a, 1], [0, a]]) = [[sqrt a, 1 / (2 sqrt a)], [0, sqrt a]]; upper triangular 2x2 blocks,
// whose off-diagonal root is t / (sqrt a + sqrt b); a complex diagonal near the negative axis.
TEST(Sqrtm, ClosedForms) {
  const Eigen::Vector4d d(4.0, 9.0, 0.25, 1e-10);
  EXPECT_LE((sqrtm(MatrixXd(d.asDiagonal())) - MatrixXd(d.cwiseSqrt().asDiagonal())).cwiseAbs().maxCoeff(), 1e-16);
  for (double angle : {0.5, 2.0, 3.1, -3.1}) {
    EXPECT_LE((sqrtm(rotation(angle)) - rotation(angle / 2)).cwiseAbs().maxCoeff(), 4 * u) << angle;
  }
  for (double scale : {1e-200, 1e200}) {  // no overflow or underflow in the 2x2 block's eigenvalues
    const MatrixXd x = sqrtm(MatrixXd(scale * rotation(1.0)));
    EXPECT_LE((x / std::sqrt(scale) - rotation(0.5)).cwiseAbs().maxCoeff(), 4 * u) << scale;
  }
  for (double a : {1e-6, 0.5, 2.0, 1e6}) {
    MatrixXd j(2, 2), expected(2, 2);
    j << a, 1, 0, a;
    expected << std::sqrt(a), 0.5 / std::sqrt(a), 0, std::sqrt(a);
    EXPECT_LE(((sqrtm(j) - expected).array() / expected.array().abs().max(1e-300)).abs().maxCoeff(), 4 * u) << a;
  }
  MatrixXd t(2, 2), expected(2, 2);
  t << 1, 1e8, 0, 4;
  expected << 1, 1e8 / 3, 0, 2;
  EXPECT_LE((sqrtm(t) - expected).cwiseAbs().maxCoeff(), 4 * u * 1e8 / 3);
  const std::complex<double> l1(-1, 1e-3), l2(-4, -1e-3);
  const Eigen::Vector2cd c(l1, l2);
  const MatrixXcd root = sqrtm(MatrixXcd(c.asDiagonal()));
  EXPECT_LE(std::abs(root(0, 0) - std::sqrt(l1)), 4 * u);
  EXPECT_LE(std::abs(root(1, 1) - std::sqrt(l2)), 8 * u);
  EXPECT_GT(root(0, 0).real(), 0.0);
}

// Forward error against a 50-digit reference: ||X - X_ref||_F / ||X_ref||_F <= c cond(A) u, cond
// the Frobenius-norm relative condition number. Real 6x6 and 8x8 matrices, complex 4x4 ones (the
// reference from the real 8x8 embedding), plus near-singular and non-normal triangular families.
TEST(Sqrtm, AccuracyAgainstMp50) {
  std::mt19937_64 rng(2008);
  std::vector<MatrixXd> cases;
  for (int i = 0; i < 10; ++i) cases.push_back(exp_of_gaussian(6 + i % 3, 3.0, rng));
  for (int i = 0; i < 4; ++i) {
    // Triangular with eigenvalues 1e-12..4 and an upper triangle 10x larger (Schur form exact), and
    // Q T Q^T with eigenvalues 1e-4..4 (whose eigenvalues rounding perturbs by u ||T|| kappa).
    const int n = 6;
    const bool rotate = i % 2;
    MatrixXd t =
        MatrixXd(odyn::linalg::gaussian_matrix(n, n, rng, rotate ? 1.0 : 10.0).triangularView<Eigen::StrictlyUpper>());
    if (rotate) {
      t.diagonal() << 1e-4, 1e-2, 0.5, 1, 2, 4;
      const MatrixXd q = odyn::linalg::random_orthogonal(n, rng);
      t = q * t * q.transpose();
    } else {
      t.diagonal() << 1e-12, 1e-6, 1e-3, 1, 2, 4;
    }
    cases.push_back(t);
  }
  double worst = 0, worst_mp = 0;
  for (const MatrixXd& a : cases) {
    const MatrixMp x_mp = sqrtm(MatrixMp(a.cast<mp50>()));
    worst_mp = std::max(worst_mp, static_cast<double>((x_mp * x_mp - a.cast<mp50>()).norm() / x_mp.squaredNorm()));
    const MatrixXd ref = x_mp.cast<double>();
    const MatrixXd x = sqrtm(a);
    const double ratio = (x - ref).norm() / ref.norm() / (sqrtm_condition(ref, a) * u);
    worst = std::max(worst, ratio);
  }
  for (int i = 0; i < 6; ++i) {
    const MatrixXcd a = complex_exp_of_gaussian(4, 3.0, rng);
    const MatrixXcd ref = complexify(sqrtm(MatrixMp(realify(a).cast<mp50>())).cast<double>());
    const MatrixXcd x = sqrtm(a);
    worst = std::max(worst, (x - ref).norm() / ref.norm() / (sqrtm_condition(ref, a) * u));
  }
  EXPECT_LE(worst, 10.0);
  EXPECT_LE(worst_mp, 1e-48);
}

// float; a non-normal triangular matrix (off-diagonal 10 times the diagonal, ||X||_F^2 / ||A||_F
// about 1e10) squares back to 10 n u ||X||_F^2.
TEST(Sqrtm, OtherScalarsAndNonNormal) {
  std::mt19937_64 rng(6);
  const Eigen::MatrixXf af = exp_of_gaussian(12, 2.0, rng).cast<float>();
  const Eigen::MatrixXf xf = sqrtm(af);
  const double uf = std::numeric_limits<float>::epsilon() / 2;
  EXPECT_LE(scaled_residual(xf, af, uf), 10.0);
  MatrixXd t = MatrixXd(odyn::linalg::gaussian_matrix(10, 10, rng, 10.0).triangularView<Eigen::StrictlyUpper>());
  t.diagonal().setLinSpaced(0.5, 3.0);
  const MatrixXd x = sqrtm(t);
  EXPECT_LE(scaled_residual(x, t, u), 10.0);
}

TEST(Sqrtm, GeneralRejectsBadInput) {
  EXPECT_THROW(sqrtm(MatrixXd::Ones(2, 3)), odyn::InvalidArgument);
  EXPECT_THROW(sqrtm(MatrixXd(0, 0)), odyn::InvalidArgument);
  MatrixXd nan = MatrixXd::Identity(2, 2);
  nan(1, 0) = std::nan("");
  EXPECT_THROW(sqrtm(nan), odyn::InvalidArgument);
  const Eigen::Vector3d negative(2.0, -1.0, 3.0), singular(1.0, 0.0, 2.0);
  EXPECT_NE(what_of(MatrixXd(negative.asDiagonal())).find("sqrtm: eigenvalue -1 lies on the closed negative real axis"),
            std::string::npos);
  EXPECT_NE(what_of(MatrixXd(singular.asDiagonal())).find("sqrtm: the matrix is singular"), std::string::npos);
  EXPECT_NE(what_of(rotation(M_PI)).find("negative real axis"), std::string::npos);  // R(pi) = -I
  MatrixXd pair(2, 2);  // eigenvalues -1 +- 1e-16 i: within rounding of the axis
  pair << -1, -1e-32, 1, -1;
  EXPECT_NE(what_of(pair).find("within rounding error"), std::string::npos) << what_of(pair);
  const Eigen::Vector2cd c(std::complex<double>(-2, 0), std::complex<double>(1, 1));
  EXPECT_NE(what_of(MatrixXcd(c.asDiagonal())).find("eigenvalue -2"), std::string::npos);
}
