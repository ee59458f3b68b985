// det(exp A) = exp(tr A) and the identities around it (Su, "恒等式 det(exp(A)) = exp(Tr(A)) 赏析",
// kexue.fm/archives/6377, 2019), claims A1-A15 of docs/claims.md.
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <boost/numeric/odeint.hpp>
#include <cmath>
#include <random>
#include <unsupported/Eigen/MatrixFunctions>

#include "odyn/core/error.hpp"
#include "odyn/linalg/expm.hpp"
#include "odyn/linalg/identities.hpp"
#include "odyn/linalg/test_matrices.hpp"

using Eigen::MatrixXd;
using odyn::linalg::check_det_exp_trace;
using odyn::linalg::expm;
using odyn::linalg::MatrixFamily;

namespace {

MatrixXd gaussian(int n, std::mt19937_64& rng, double sd = 1.0) {
  return odyn::linalg::gaussian_matrix(n, n, rng, sd);
}

double norm1(const MatrixXd& a) {
  return a.cwiseAbs().colwise().sum().maxCoeff();
}

double rel(double x, double ref) {
  return std::abs(x - ref) / std::abs(ref);
}

const double e = std::exp(1.0);

}  // namespace

// A1: random A with N(0,1) entries, k = 2..8: relative error 1e-10 where ||A||_1 <= 5,
// log-determinant within 1e-8 where ||A||_1 <= 20; the library's own tolerance is met throughout.
TEST(DetExpTrace, A1_RandomMatrices) {
  std::mt19937_64 rng(2019);
  int small = 0, medium = 0;
  for (int trial = 0; trial < 400; ++trial) {
    const int k = 2 + trial % 7;
    const MatrixXd a = gaussian(k, rng, trial % 2 ? 0.5 : 1.0);
    const auto c = check_det_exp_trace(a);
    if (norm1(a) > 20) continue;
    EXPECT_TRUE(c.passed) << "trial " << trial << ": " << c.note;
    const double log_err = std::abs(std::log(std::abs(expm(a).determinant())) - a.trace());
    EXPECT_LE(log_err, 1e-8);
    ++medium;
    if (norm1(a) <= 5) {
      EXPECT_EQ(c.metric, "rel_error");
      EXPECT_LE(c.rel_error, 1e-10) << "trial " << trial;
      ++small;
    }
  }
  EXPECT_GT(small, 100);  // the sample really covers both regimes
  EXPECT_GT(medium, 300);
}

// A2: A = [[1, 0], [1, 0]] has A^2 = A, so exp(A) = I + (e - 1) A and det = e.
TEST(DetExpTrace, A2_IdempotentExample) {
  MatrixXd a(2, 2);
  a << 1, 0, 1, 0;
  MatrixXd expected(2, 2);
  expected << e, 0, e - 1, 1;
  EXPECT_LE((expm(a) - expected).cwiseAbs().maxCoeff(), 1e-13);
  const auto c = check_det_exp_trace(a);
  EXPECT_TRUE(c.passed);
  EXPECT_NEAR(c.lhs, e, 1e-13);
  EXPECT_NEAR(c.rhs, e, 1e-15);
}

// A3: Jordan block J = [[a, 1], [0, a]] (not diagonalizable): exp(J) = e^a [[1, 1], [0, 1]].
TEST(DetExpTrace, A3_JordanBlock) {
  for (double a : {-2.0, -0.3, 0.0, 0.7, 3.0}) {
    MatrixXd j(2, 2);
    j << a, 1, 0, a;
    MatrixXd expected(2, 2);
    expected << 1, 1, 0, 1;
    expected *= std::exp(a);
    EXPECT_LE((expm(j) - expected).cwiseAbs().maxCoeff() / std::exp(a), 1e-13) << "a = " << a;
    const auto c = check_det_exp_trace(j);
    EXPECT_TRUE(c.passed);
    EXPECT_LE(rel(c.lhs, std::exp(2 * a)), 1e-13);
  }
}

// A4: strictly upper triangular N is nilpotent: det exp(N) = 1.
TEST(DetExpTrace, A4_Nilpotent) {
  std::mt19937_64 rng(4);
  const MatrixXd n = gaussian(4, rng).triangularView<Eigen::StrictlyUpper>();
  EXPECT_NEAR(expm(n).determinant(), 1.0, 1e-13);
  EXPECT_TRUE(check_det_exp_trace(n).passed);
}

// A5: exp(alpha [[0, -1], [1, 0]]) is the rotation R(alpha), det 1; alpha + 2 pi m gives the
// same rotation (the logarithm is not unique).
TEST(DetExpTrace, A5_RotationsAndNonUniqueLogarithm) {
  MatrixXd j(2, 2);
  j << 0, -1, 1, 0;
  const double alpha = 0.8;
  MatrixXd r(2, 2);
  r << std::cos(alpha), -std::sin(alpha), std::sin(alpha), std::cos(alpha);
  for (int m = -2; m <= 2; ++m) {
    const MatrixXd x = expm((alpha + 2 * M_PI * m) * j);
    EXPECT_LE((x - r).cwiseAbs().maxCoeff(), 1e-13) << "m = " << m;
    EXPECT_NEAR(x.determinant(), 1.0, 1e-13);
  }
}

// A6: exp(A) exp(B) != exp(A + B) for non-commuting A, B.
TEST(DetExpTrace, A6_NonCommuting) {
  MatrixXd a(2, 2), b(2, 2);
  a << 0, 1, 0, 0;
  b << 0, 0, 1, 0;
  MatrixXd product(2, 2), sum(2, 2);
  product << 2, 1, 1, 1;
  sum << std::cosh(1.0), std::sinh(1.0), std::sinh(1.0), std::cosh(1.0);
  EXPECT_LE((expm(a) * expm(b) - product).cwiseAbs().maxCoeff(), 1e-13);
  EXPECT_LE((expm(MatrixXd(a + b)) - sum).cwiseAbs().maxCoeff(), 1e-13);
  EXPECT_GT((product - sum).cwiseAbs().maxCoeff(), 0.4);
}

// A7: exp(A) exp(-A) = I, to 1e-13 times the condition number of exp(A).
TEST(DetExpTrace, A7_Inverse) {
  std::mt19937_64 rng(7);
  for (int k = 2; k <= 8; ++k) {
    const MatrixXd a = gaussian(k, rng, 1.0 / std::sqrt(k));
    const MatrixXd x = expm(a), y = expm(MatrixXd(-a));
    const double cond = x.norm() * y.norm();
    EXPECT_LE((x * y - MatrixXd::Identity(k, k)).cwiseAbs().maxCoeff(), 1e-13 * cond) << "k = " << k;
  }
}

// A8: for commuting A and B = p(A), sin(A + B) = sin A cos B + sin B cos A.
TEST(DetExpTrace, A8_SineAdditionForCommutingMatrices) {
  std::mt19937_64 rng(8);
  const MatrixXd a = gaussian(4, rng, 0.5);
  const MatrixXd b = 0.3 * a * a - 0.5 * a + 0.2 * MatrixXd::Identity(4, 4);
  const MatrixXd ab = a + b;
  const MatrixXd lhs = ab.sin();
  const MatrixXd rhs = MatrixXd(a.sin()) * MatrixXd(b.cos()) + MatrixXd(b.sin()) * MatrixXd(a.cos());
  EXPECT_LE((lhs - rhs).cwiseAbs().maxCoeff(), 1e-12);
}

// A9: integrating X' = A X, X(0) = I with Dormand-Prince 5(4) (tolerances 1e-12) to t = 1 gives
// exp(A), and det X(1) = exp(tr A).
TEST(DetExpTrace, A9_OdeRoute) {
  namespace odeint = boost::numeric::odeint;
  std::mt19937_64 rng(9);
  for (int k : {2, 4, 6}) {
    const MatrixXd a = gaussian(k, rng, 1.0 / std::sqrt(k));
    using State = std::vector<double>;
    State x(k * k, 0.0);
    for (int i = 0; i < k; ++i) x[i * k + i] = 1.0;
    auto rhs = [&](const State& s, State& ds, double) {
      Eigen::Map<const MatrixXd> xm(s.data(), k, k);
      Eigen::Map<MatrixXd> dm(ds.data(), k, k);
      dm.noalias() = a * xm;
    };
    odeint::integrate_adaptive(odeint::make_controlled<odeint::runge_kutta_dopri5<State>>(1e-12, 1e-12), rhs, x, 0.0,
                               1.0, 1e-3);
    const MatrixXd x1 = Eigen::Map<MatrixXd>(x.data(), k, k);
    EXPECT_LE(rel(x1.determinant(), std::exp(a.trace())), 1e-9) << "k = " << k;
    EXPECT_LE((x1 - expm(a)).norm() / expm(a).norm(), 1e-9) << "k = " << k;
  }
}

// A10: f(t) = det exp(tA) satisfies f' = tr(A) f (central differences, h = 1e-5).
TEST(DetExpTrace, A10_DeterminantOde) {
  std::mt19937_64 rng(10);
  const MatrixXd a = gaussian(4, rng, 0.5);
  const double h = 1e-5;
  auto f = [&](double t) { return expm(MatrixXd(t * a)).determinant(); };
  for (double t = 0; t <= 2.0; t += 0.25) {
    const double fd = (f(t + h) - f(t - h)) / (2 * h);
    EXPECT_LE(rel(fd, a.trace() * f(t)), 1e-7) << "t = " << t;
  }
}

// A11: Jacobi's formula d/dt det X = det X tr(X^-1 X') = tr(adj(X) X') for X(t) = X0 + t X1 + t^2 X2.
TEST(DetExpTrace, A11_JacobiFormula) {
  std::mt19937_64 rng(11);
  const int k = 3;
  const MatrixXd x0 = gaussian(k, rng) + 3 * MatrixXd::Identity(k, k), x1 = gaussian(k, rng), x2 = gaussian(k, rng);
  auto x = [&](double t) { return MatrixXd(x0 + t * x1 + t * t * x2); };
  auto dx = [&](double t) { return MatrixXd(x1 + 2 * t * x2); };
  auto adjugate = [](const MatrixXd& m) {  // transposed cofactor matrix, from 2x2 minors
    MatrixXd adj(3, 3);
    for (int i = 0; i < 3; ++i) {
      for (int j = 0; j < 3; ++j) {
        const int r0 = (j + 1) % 3, r1 = (j + 2) % 3, c0 = (i + 1) % 3, c1 = (i + 2) % 3;
        adj(i, j) = m(r0, c0) * m(r1, c1) - m(r0, c1) * m(r1, c0);
      }
    }
    return adj;
  };
  const double h = 1e-5;
  for (double t : {-0.5, 0.0, 0.3, 1.0}) {
    const double fd = (x(t + h).determinant() - x(t - h).determinant()) / (2 * h);
    const double jacobi = x(t).determinant() * (x(t).inverse() * dx(t)).trace();
    const double via_adj = (adjugate(x(t)) * dx(t)).trace();
    EXPECT_LE(rel(fd, jacobi), 1e-6) << "t = " << t;
    EXPECT_LE(rel(via_adj, jacobi), 1e-12) << "t = " << t;
  }
}

// A12: det((I + A/n)^n) -> exp(tr A) with relative error ~ -tr(A^2) / (2n): a tenfold n gives a
// tenfold smaller error (ratio 10 +- 1), and the leading term matches within 5%.
TEST(DetExpTrace, A12_LimitRoute) {
  std::mt19937_64 rng(12);
  const MatrixXd a = gaussian(4, rng, 0.7);
  const double tr2 = (a * a).trace();
  ASSERT_GT(std::abs(tr2), 0.5);
  double previous = 0;
  for (double n : {1e3, 1e4}) {
    const MatrixXd step = MatrixXd::Identity(4, 4) + a / n;
    const double log_det = n * std::log(step.determinant());  // log det((I + A/n)^n)
    const double err = std::expm1(log_det - a.trace());
    const double leading = -tr2 / (2 * n);
    EXPECT_LE(std::abs(err / leading - 1), 0.05) << "n = " << n;
    if (previous != 0) {
      EXPECT_NEAR(previous / err, 10.0, 1.0);
    }
    previous = err;
  }
}

// A13: ln(I + A) = sum (-1)^(k-1) A^k / k for ||A||_2 = 0.5: exp of the series is I + A and the
// series agrees with the principal logarithm.
TEST(DetExpTrace, A13_LogSeries) {
  std::mt19937_64 rng(13);
  MatrixXd a = gaussian(4, rng);
  a *= 0.5 / a.jacobiSvd().singularValues()(0);
  MatrixXd series = MatrixXd::Zero(4, 4), power = MatrixXd::Identity(4, 4);
  for (int k = 1; k <= 60; ++k) {
    power = power * a;
    series += (k % 2 ? 1.0 : -1.0) / k * power;
  }
  const MatrixXd i_plus_a = MatrixXd::Identity(4, 4) + a;
  EXPECT_LE((expm(series) - i_plus_a).cwiseAbs().maxCoeff(), 1e-12);
  EXPECT_LE((series - MatrixXd(i_plus_a.log())).cwiseAbs().maxCoeff(), 1e-12);
}

// A14: the corollary ln det B = tr(ln B), for SPD B = Q D Q^T and for B = exp(A) with small A.
TEST(DetExpTrace, A14_LogDetIsTraceOfLog) {
  std::mt19937_64 rng(14);
  const MatrixXd q = odyn::linalg::random_orthogonal(5, rng);
  const Eigen::VectorXd d = (Eigen::VectorXd(5) << 0.1, 0.5, 1.0, 2.0, 7.0).finished();
  const MatrixXd b = q * d.asDiagonal() * q.transpose();
  EXPECT_NEAR(std::log(b.determinant()), MatrixXd(b.log()).trace(), 1e-12);
  EXPECT_NEAR(MatrixXd(b.log()).trace(), d.array().log().sum(), 1e-12);
  const MatrixXd a = gaussian(5, rng, 0.1);
  EXPECT_NEAR(MatrixXd(expm(a).log()).trace(), a.trace(), 1e-12);
}

// A15: large traces leave the range of double; the logarithms are compared instead. Where exp(A)
// is too ill-conditioned for any double-precision determinant, the check says so.
TEST(DetExpTrace, A15_LargeTraceUsesLogs) {
  std::mt19937_64 rng(15);
  const MatrixXd a = gaussian(2, rng, 1e-3) + 400 * MatrixXd::Identity(2, 2);  // det exp(A) ~ e^800
  const auto c = check_det_exp_trace(a);
  EXPECT_EQ(c.name, "log|det exp A| = tr A");
  EXPECT_EQ(c.metric, "abs_error");
  EXPECT_TRUE(c.passed) << c.note;
  EXPECT_LE(c.abs_error / std::abs(c.rhs), 1e-12);

  MatrixXd b = gaussian(2, rng, 1e-3);  // det exp(B) ~ 1, but kappa(exp B) ~ e^100
  b(0, 0) += 50;
  b(1, 1) -= 50;
  const auto d = check_det_exp_trace(b);
  EXPECT_FALSE(d.passed);
  EXPECT_NE(d.note.find("inconclusive"), std::string::npos);
}

// The tolerance model of check_det_exp_trace holds across every family, size and scale where it
// can decide, and the well-conditioned random family reaches the 1e-14 level at n = 50.
TEST(DetExpTrace, ToleranceModelHoldsAcrossFamilies) {
  std::mt19937_64 rng(6377);
  int conclusive = 0;
  for (const auto& name : odyn::linalg::matrix_family_names()) {
    const MatrixFamily family = odyn::linalg::parse_matrix_family(name);
    for (int n : {1, 2, 5, 20, 50}) {
      for (double scale : {0.1, 1.0, 3.0}) {
        for (int t = 0; t < 6; ++t) {
          const auto c = check_det_exp_trace(odyn::linalg::make_test_matrix(family, n, rng, scale));
          if (c.note.find("inconclusive") != std::string::npos) continue;
          ++conclusive;
          EXPECT_TRUE(c.passed) << name << " n=" << n << " scale=" << scale << ": " << c.note;
        }
      }
    }
  }
  EXPECT_GT(conclusive, 400);
  double worst = 0;
  for (int t = 0; t < 20; ++t) {
    worst =
        std::max(worst, check_det_exp_trace(odyn::linalg::make_test_matrix(MatrixFamily::random, 50, rng)).rel_error);
  }
  EXPECT_LE(worst, 1e-13);
}

TEST(DetExpTrace, RejectsBadInput) {
  EXPECT_THROW(check_det_exp_trace(MatrixXd(0, 0)), odyn::InvalidArgument);
  EXPECT_THROW(check_det_exp_trace(MatrixXd::Ones(2, 3)), odyn::InvalidArgument);
  MatrixXd a = MatrixXd::Identity(2, 2);
  a(0, 1) = std::numeric_limits<double>::infinity();
  EXPECT_THROW(check_det_exp_trace(a), odyn::InvalidArgument);
  const auto overflow = check_det_exp_trace(MatrixXd::Identity(2, 2) * 800);  // e^800 overflows
  EXPECT_FALSE(overflow.passed);
  EXPECT_NE(overflow.note.find("inconclusive"), std::string::npos);
  EXPECT_THROW(expm(MatrixXd::Ones(2, 3)), odyn::InvalidArgument);
}

// expm works for every scalar type it promises: exp(i t J) for complex entries, float and long
// double against closed forms.
TEST(Expm, GenericScalars) {
  Eigen::MatrixXcd z = Eigen::MatrixXcd::Zero(2, 2);
  z(0, 0) = std::complex<double>(0, M_PI);
  z(1, 1) = std::complex<double>(1, M_PI / 2);
  const Eigen::MatrixXcd ez = expm(z);
  EXPECT_LE(std::abs(ez(0, 0) - std::complex<double>(-1, 0)), 1e-15);
  EXPECT_LE(std::abs(ez(1, 1) - std::complex<double>(0, std::exp(1.0))), 1e-15);
  Eigen::MatrixXcd bad = z;
  bad(0, 1) = std::complex<double>(0, std::numeric_limits<double>::quiet_NaN());
  EXPECT_THROW(expm(bad), odyn::InvalidArgument);

  Eigen::MatrixXf f(2, 2);
  f << 1, 1, 0, 1;
  EXPECT_NEAR(expm(f)(0, 1), std::exp(1.0f), 1e-6f);

  Eigen::Matrix<long double, Eigen::Dynamic, Eigen::Dynamic> l(2, 2);
  l << 0, -1, 1, 0;
  EXPECT_NEAR(static_cast<double>(expm(l)(1, 0)), std::sin(1.0), 1e-18);
}
