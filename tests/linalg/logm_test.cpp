// The principal matrix logarithm: closed forms, exp(log A) = A, Eigen's logarithm, and the forward
// error against 50-digit references relative to the condition number.
#include "odyn/linalg/logm.hpp"

#include <gtest/gtest.h>

#include <Eigen/Eigenvalues>
#include <Eigen/SVD>
#include <cmath>
#include <complex>
#include <limits>
#include <random>
#include <string>
#include <unsupported/Eigen/MatrixFunctions>
#include <vector>

#include "odyn/core/error.hpp"
#include "odyn/linalg/expm.hpp"
#include "odyn/linalg/scalar.hpp"
#include "odyn/linalg/sqrtm.hpp"
#include "odyn/linalg/test_matrices.hpp"

using Eigen::MatrixXcd;
using Eigen::MatrixXd;
using odyn::mp50;
using odyn::linalg::expm;
using odyn::linalg::logm;
using odyn::linalg::logm_spd;
using MatrixMp = Eigen::Matrix<mp50, Eigen::Dynamic, Eigen::Dynamic>;

namespace {

constexpr double u = std::numeric_limits<double>::epsilon() / 2;
const std::complex<double> i1(0, 1);

// exp(G), G with N(0, scale^2 / n) entries: non-normal, complex eigenvalues with moduli in
// [e^-scale, e^scale] and (almost surely) none on the negative real axis; log A = G when the
// eigenvalues of G have imaginary parts in (-pi, pi).
MatrixXd exp_of_gaussian(int n, double scale, std::mt19937_64& rng) {
  return odyn::linalg::gaussian_matrix(n, n, rng, scale / std::sqrt(n)).exp();
}
MatrixXcd complex_exp_of_gaussian(int n, double scale, std::mt19937_64& rng) {
  const double sd = scale / std::sqrt(2.0 * n);
  return MatrixXcd(odyn::linalg::gaussian_matrix(n, n, rng, sd) + i1 * odyn::linalg::gaussian_matrix(n, n, rng, sd))
      .exp();
}

// A = B + iC as the real matrix [[B, -C], [C, B]], an algebra homomorphism: log of the embedding
// is the embedding of log A, which gives 50-digit references for complex input.
MatrixXd realify(const MatrixXcd& a) {
  const Eigen::Index n = a.rows();
  MatrixXd r(2 * n, 2 * n);
  r << a.real(), -a.imag(), a.imag(), a.real();
  return r;
}
MatrixXcd complexify(const MatrixXd& r) {
  const Eigen::Index n = r.rows() / 2;
  return r.topLeftCorner(n, n).cast<std::complex<double>>() +
         i1 * r.bottomLeftCorner(n, n).cast<std::complex<double>>();
}

// exp(A) in 50 digits, independent of the library: Taylor series of A / 2^j (||A / 2^j||_1 <= 1/16,
// 40 terms leave < 1e-80), then j squarings.
MatrixMp exp_mp(const MatrixMp& a) {
  const double norm = static_cast<double>(a.cwiseAbs().colwise().sum().maxCoeff());
  const int j = std::max(0, static_cast<int>(std::ceil(std::log2(std::max(norm, 1e-300)))) + 4);
  const MatrixMp b = a / mp50(std::ldexp(1.0, j));
  MatrixMp term = MatrixMp::Identity(a.rows(), a.cols()), sum = term;
  for (int k = 1; k <= 40; ++k) {
    term = (term * b / mp50(k)).eval();
    sum += term;
  }
  for (int k = 0; k < j; ++k) sum = (sum * sum).eval();
  return sum;
}

// Relative condition number of log at A in the Frobenius norm, from the Kronecker form of the
// Frechet derivative of exp at X = log A, whose inverse is that of log (Higham 2008, Sec. 11.2):
// column (i, j) is vec of the upper-right block of exp([[X, E_ij], [0, X]]).
template <class Matrix>
double logm_condition(const Matrix& x, const Matrix& a) {
  const Eigen::Index n = x.rows();
  Matrix k(n * n, n * n), big = Matrix::Zero(2 * n, 2 * n);
  big.topLeftCorner(n, n) = x;
  big.bottomRightCorner(n, n) = x;
  for (Eigen::Index j = 0; j < n; ++j) {
    for (Eigen::Index i = 0; i < n; ++i) {
      big.topRightCorner(n, n).setZero();
      big(i, n + j) = 1;
      const Matrix l = Matrix(big.exp()).topRightCorner(n, n);
      k.col(j * n + i) = Eigen::Map<const Eigen::Matrix<typename Matrix::Scalar, Eigen::Dynamic, 1>>(l.data(), n * n);
    }
  }
  const auto sigma = Eigen::JacobiSVD<Matrix>(k).singularValues();
  return a.norm() / x.norm() / sigma(sigma.size() - 1);
}

MatrixXd rotation(double angle) {
  MatrixXd r(2, 2);
  r << std::cos(angle), -std::sin(angle), std::sin(angle), std::cos(angle);
  return r;
}

template <class Matrix, class F>
std::string what_of(const Matrix& a, F f) {
  try {
    f(a);
  } catch (const odyn::InvalidArgument& e) {
    return e.what();
  }
  return "no exception";
}

}  // namespace

// Diagonal matrices; rotations, log R(a) = a [[0, -1], [1, 0]] for |a| < pi, also scaled by
// 1e+-200; Jordan blocks,
// log [[a, 1], [0, a]] = [[log a, 1/a], [0, log a]]; triangular [[a, t], [0, b]] with the divided
// difference t (log b - log a) / (b - a), for close a, b and for complex a, b on either side of
// the negative real axis (log b - log a = log(b / a) - 2 pi i there).
TEST(Logm, ClosedForms) {
  const Eigen::Vector4d d(4.0, 1e-8, 0.25, 1e8);
  EXPECT_LE((logm(MatrixXd(d.asDiagonal())) - MatrixXd(d.array().log().matrix().asDiagonal())).cwiseAbs().maxCoeff(),
            4 * u * std::log(1e8));
  MatrixXd j(2, 2);
  j << 0, -1, 1, 0;
  for (double scale : {1e-200, 1e200}) {  // log(c R(1)) = log(c) I + J, without overflow
    const MatrixXd x = logm(MatrixXd(scale * rotation(1.0)));
    EXPECT_LE((x - j - std::log(scale) * MatrixXd::Identity(2, 2)).cwiseAbs().maxCoeff(), 4 * u * std::log(1e200));
  }
  for (double angle : {0.1, 1.0, 2.0, 3.0, 3.14159, -2.5}) {
    EXPECT_LE((logm(rotation(angle)) - angle * j).cwiseAbs().maxCoeff(), 4 * u * std::max(1.0, std::abs(angle)))
        << angle;
  }
  for (double a : {1e-3, 0.5, 1.0, 2.0, 1e3}) {
    MatrixXd jordan(2, 2), expected(2, 2);
    jordan << a, 1, 0, a;
    expected << std::log(a), 1 / a, 0, std::log(a);
    const MatrixXd x = logm(jordan);
    EXPECT_LE(std::abs(x(0, 1) - 1 / a), 2 * u / a) << a;
    EXPECT_LE((x - expected).cwiseAbs().maxCoeff(), 2 * u * std::max(1.0, std::abs(std::log(a)))) << a;
  }
  for (double b : {1 + 1e-10, 1.5, 1e6}) {
    MatrixXd t(2, 2);
    t << 1, 1e3, 0, b;
    const double expected = 1e3 * std::log1p(b - 1) / (b - 1);
    EXPECT_LE(std::abs(logm(t)(0, 1) - expected), 4 * u * std::abs(expected)) << b;
  }
  const std::complex<double> a(-1, 0.1), b(-1, -0.1);
  MatrixXcd t(2, 2);
  t << a, 2.0, 0.0, b;
  const MatrixXcd x = logm(t);
  EXPECT_LE(std::abs(x(0, 0) - std::log(a)), 4 * u);
  EXPECT_LE(std::abs(x(1, 1) - std::log(b)), 4 * u);
  EXPECT_LE(std::abs(x(0, 1) - 2.0 * (std::log(b) - std::log(a)) / (b - a)), 1e-14 * std::abs(x(0, 1)));
}

// theta_m (largest alpha with Pade truncation error <= u alpha) for double, m = 1..16, agree with
// values computed independently in 60-digit arithmetic to 3 digits; m_max scales with the
// precision (8 for float, 51 for mp50).
TEST(Logm, PadeThresholds) {
  const std::vector<double> expected = {3.65e-8, 3.76e-4, 8.19e-3, 3.77e-2, 9.25e-2, 0.165, 0.244, 0.322,
                                        0.396,   0.462,   0.521,   0.572,   0.617,   0.656, 0.690, 0.720};
  const std::vector<double>& theta = odyn::linalg::detail::logm_pade_thresholds<double>();
  ASSERT_EQ(theta.size(), expected.size());
  for (std::size_t m = 0; m < theta.size(); ++m) EXPECT_NEAR(theta[m] / expected[m], 1.0, 6e-3) << m + 1;
  EXPECT_EQ(odyn::linalg::detail::logm_pade_thresholds<float>().size(), 8u);
  const auto& theta_mp = odyn::linalg::detail::logm_pade_thresholds<mp50>();
  ASSERT_EQ(theta_mp.size(), 51u);
  EXPECT_GT(theta_mp.back(), 0.6);
  EXPECT_LT(theta_mp.back(), 0.8);
}

// expm(logm(A)) = A for real and complex A, n = 1..60, to 30 n u ||A||.
TEST(Logm, ExpOfLogRecoversA) {
  std::mt19937_64 rng(2012);
  double worst = 0;
  for (int n : {1, 2, 5, 20, 60}) {
    for (double scale : {1.0, 5.0}) {
      const MatrixXd a = exp_of_gaussian(n, scale, rng);
      worst = std::max(worst, (expm(logm(a)) - a).norm() / a.norm() / (n * u));
      const MatrixXcd c = complex_exp_of_gaussian(n, scale, rng);
      worst = std::max(worst, (expm(logm(c)) - c).norm() / c.norm() / (n * u));
    }
  }
  EXPECT_LE(worst, 30.0);
}

TEST(Logm, AgreesWithEigenMatrixLogarithm) {
  std::mt19937_64 rng(2001);
  for (int n : {3, 10, 40}) {
    const MatrixXd a = exp_of_gaussian(n, 2.0, rng);
    const MatrixXd x = logm(a);
    EXPECT_LE((x - MatrixXd(a.log())).norm() / x.norm(), 1e-13);
    const MatrixXcd c = complex_exp_of_gaussian(n, 2.0, rng);
    const MatrixXcd y = logm(c);
    EXPECT_LE((y - MatrixXcd(c.log())).norm() / y.norm(), 1e-13);
    const MatrixXcd z = logm(MatrixXcd(a.cast<std::complex<double>>()));  // the complex route for real A
    EXPECT_LE((z.real() - x).norm() / x.norm(), 1e-13);
    EXPECT_LE(z.imag().norm() / x.norm(), 1e-13);
  }
}

// Forward error against 50-digit references: ||X - X_ref||_F / ||X_ref||_F <= c cond(A) u. Real
// 6x6 to 8x8 matrices with eigenvalue moduli over [e^-4, e^4], non-normal ones with eigenvalues
// over 12 decades, and complex 4x4 ones. The mp50 logarithm of the first family itself satisfies
// exp(log A) = A to 1e-45.
TEST(Logm, AccuracyAgainstMp50) {
  std::mt19937_64 rng(2013);
  std::vector<MatrixXd> cases;
  for (int i = 0; i < 8; ++i) cases.push_back(exp_of_gaussian(6 + i % 3, 4.0, rng));
  for (int i = 0; i < 4; ++i) {
    // Triangular with eigenvalues 1e-6..1e6 and off-diagonal N(0, 100) (Schur form exact), and
    // Q T Q^T with eigenvalues 1e-3..1e3 and off-diagonal N(0, 1).
    const int n = 6;
    const bool rotate = i % 2;
    MatrixXd t =
        MatrixXd(odyn::linalg::gaussian_matrix(n, n, rng, rotate ? 1.0 : 10.0).triangularView<Eigen::StrictlyUpper>());
    if (rotate) {
      t.diagonal() << 1e-3, 0.1, 0.5, 2, 10, 1e3;
      const MatrixXd q = odyn::linalg::random_orthogonal(n, rng);
      t = q * t * q.transpose();
    } else {
      t.diagonal() << 1e-6, 1e-3, 0.5, 2, 1e3, 1e6;
    }
    cases.push_back(t);
  }
  double worst = 0, worst_mp = 0;
  for (std::size_t c = 0; c < cases.size(); ++c) {
    const MatrixXd& a = cases[c];
    const MatrixMp a_mp = a.cast<mp50>();
    const MatrixMp x_mp = logm(a_mp);
    if (c < 8) worst_mp = std::max(worst_mp, static_cast<double>((exp_mp(x_mp) - a_mp).norm() / a_mp.norm()));
    const MatrixXd ref = x_mp.cast<double>();
    worst = std::max(worst, (logm(a) - ref).norm() / ref.norm() / (logm_condition(ref, a) * u));
  }
  for (int i = 0; i < 6; ++i) {
    const MatrixXcd a = complex_exp_of_gaussian(4, 3.0, rng);
    const MatrixXcd ref = complexify(logm(MatrixMp(realify(a).cast<mp50>())).cast<double>());
    worst = std::max(worst, (logm(a) - ref).norm() / ref.norm() / (logm_condition(ref, a) * u));
  }
  EXPECT_LE(worst, 10.0);
  EXPECT_LE(worst_mp, 1e-45);
}

// log A = 2 log A^(1/2); log(A^-1) = -log A; the SPD path equals the Schur path and is symmetric.
TEST(Logm, IdentitiesAndSpdPath) {
  std::mt19937_64 rng(11);
  const MatrixXd a = exp_of_gaussian(12, 3.0, rng);
  const MatrixXd x = logm(a);
  EXPECT_LE((2 * logm(odyn::linalg::sqrtm(a)) - x).norm() / x.norm(), 1e-13);
  EXPECT_LE((logm(MatrixXd(a.inverse())) + x).norm() / x.norm(), 1e-13);
  const MatrixXd g = odyn::linalg::gaussian_matrix(30, 30, rng);
  const MatrixXd s = g * g.transpose() / 30 + 0.01 * MatrixXd::Identity(30, 30);
  const MatrixXd ls = logm_spd(s);
  EXPECT_EQ(ls, ls.transpose());
  EXPECT_LE((ls - logm(s)).norm() / ls.norm(), 1e-12);
  EXPECT_LE((expm(ls) - s).norm() / s.norm(), 1e-13);
  const MatrixXcd h = complex_exp_of_gaussian(8, 1.0, rng);
  const MatrixXcd hs = h * h.adjoint();
  EXPECT_LE((logm_spd(hs) - logm(hs)).norm() / logm(hs).norm(), 1e-12);
}

TEST(Logm, FloatScalars) {
  std::mt19937_64 rng(12);
  const MatrixXd a = exp_of_gaussian(10, 2.0, rng);
  const Eigen::MatrixXf x = logm(Eigen::MatrixXf(a.cast<float>()));
  const double uf = std::numeric_limits<float>::epsilon() / 2;
  EXPECT_LE((x.cast<double>() - logm(a)).norm() / logm(a).norm(), 30 * uf);
}

TEST(Logm, RejectsBadInput) {
  const auto log_of = [](const auto& m) { return logm(m); };
  EXPECT_THROW(logm(MatrixXd::Ones(2, 3)), odyn::InvalidArgument);
  EXPECT_THROW(logm(MatrixXd(0, 0)), odyn::InvalidArgument);
  MatrixXd inf = MatrixXd::Identity(3, 3);
  inf(2, 1) = std::numeric_limits<double>::infinity();
  EXPECT_THROW(logm(inf), odyn::InvalidArgument);
  const Eigen::Vector3d negative(2.0, -0.5, 3.0), singular(1.0, 0.0, 2.0);
  EXPECT_NE(what_of(MatrixXd(negative.asDiagonal()), log_of).find("logm: eigenvalue -0.5 lies on the closed negative"),
            std::string::npos);
  EXPECT_NE(what_of(MatrixXd(singular.asDiagonal()), log_of).find("logm: the matrix is singular"), std::string::npos);
  EXPECT_NE(what_of(rotation(M_PI), log_of).find("negative real axis"), std::string::npos);
  const auto spd_of = [](const auto& m) { return logm_spd(m); };
  MatrixXd asym = MatrixXd::Identity(2, 2);
  asym(0, 1) = 0.5;
  EXPECT_NE(what_of(asym, spd_of).find("logm_spd: matrix is not symmetric"), std::string::npos);
  EXPECT_NE(what_of(MatrixXd(negative.asDiagonal()), spd_of).find("logm_spd: matrix is not positive definite"),
            std::string::npos);
  EXPECT_THROW(logm_spd(MatrixXd::Ones(2, 3)), odyn::InvalidArgument);
}
