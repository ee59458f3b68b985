// Randomized trace estimators: unbiasedness, the published variances and error rates, seeded.
#include "odyn/linalg/trace_estimators.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include <Eigen/Eigenvalues>
#include <Eigen/QR>

#include "odyn/core/error.hpp"
#include "odyn/linalg/slogdet.hpp"
#include "odyn/linalg/test_matrices.hpp"

using Eigen::MatrixXd;
using odyn::linalg::hutch_plus_plus;
using odyn::linalg::hutchinson;
using odyn::linalg::Probe;
using odyn::linalg::slq_logdet;
using odyn::linalg::slq_trace;
using odyn::linalg::xtrace;

namespace {

MatrixXd symmetric_gaussian(int n, std::mt19937_64& rng) {
  const MatrixXd g = odyn::linalg::gaussian_matrix(n, n, rng);
  return (g + g.transpose()) / 2;
}

// Q diag(1/i^2) Q^T: positive definite with a quickly decaying spectrum.
MatrixXd decaying_psd(int n, std::mt19937_64& rng) {
  const MatrixXd q = odyn::linalg::random_orthogonal(n, rng);
  Eigen::VectorXd d(n);
  for (int i = 0; i < n; ++i) d(i) = 1.0 / ((i + 1.0) * (i + 1.0));
  return q * d.asDiagonal() * q.transpose();
}

}  // namespace

// One-probe estimates over R = 4000 draws: the mean is within 5 standard errors of tr(A), and the
// sample variance matches 2 ||A||_F^2 (Gaussian) or 2 (||A||_F^2 - sum a_ii^2) (Rademacher) within
// 15%, about 7 standard deviations of a sample variance from 4000 draws.
TEST(Hutchinson, UnbiasedWithThePublishedVariance) {
  std::mt19937_64 rng(1990);
  const MatrixXd s = symmetric_gaussian(50, rng);
  const double fro2 = s.squaredNorm(), diag2 = s.diagonal().squaredNorm();
  for (Probe probe : {Probe::gaussian, Probe::rademacher}) {
    const double theory = probe == Probe::gaussian ? 2 * fro2 : 2 * (fro2 - diag2);
    const int r = 4000;
    double sum = 0, sum2 = 0;
    for (int i = 0; i < r; ++i) {
      const double v = hutchinson(s, 1, rng, probe).value;
      sum += v;
      sum2 += v * v;
    }
    const double mean = sum / r, var = (sum2 - r * mean * mean) / (r - 1);
    EXPECT_NEAR(mean, s.trace(), 5 * std::sqrt(theory / r)) << static_cast<int>(probe);
    EXPECT_NEAR(var / theory, 1.0, 0.15) << static_cast<int>(probe);
  }
}

TEST(Hutchinson, ReportedStandardErrorMatchesTheory) {
  std::mt19937_64 rng(2);
  const MatrixXd s = symmetric_gaussian(40, rng);
  const auto e = hutchinson(s, 400, rng, Probe::gaussian);
  EXPECT_EQ(e.matvecs, 400);
  EXPECT_NEAR(e.std_error / std::sqrt(2 * s.squaredNorm() / 400), 1.0, 0.2);
  EXPECT_TRUE(std::isnan(hutchinson(s, 1, rng).std_error));
}

// Unbiased for non-symmetric A too: z^T A z only sees the symmetric part, whose trace is tr(A).
TEST(Hutchinson, UnbiasedForNonSymmetricMatrices) {
  std::mt19937_64 rng(3);
  MatrixXd a = symmetric_gaussian(30, rng);
  a(0, 5) += 7;
  const auto e = hutchinson(a, 20000, rng);
  EXPECT_NEAR(e.value, a.trace(), 5 * e.std_error);
}

// Mean relative error on the decaying PSD spectrum at 30 and 300 mat-vecs (300 runs of Hutchinson,
// 60 of Hutch++): Hutchinson improves like 1/sqrt(m) (ratio sqrt(10) = 3.2, the mean of 300 runs
// has ~7% relative spread, so [2.2, 4.5] is about 4 sigma wide), Hutch++ at least like 1/m
// (ratio >= 10; ~100 on this fast-decaying spectrum), and Hutch++ beats Hutchinson tenfold.
TEST(HutchPlusPlus, ErrorRatesOnDecayingSpectrum) {
  std::mt19937_64 rng(2021);
  const MatrixXd a = decaying_psd(200, rng);
  const double tr = a.trace();
  double hutch[2] = {0, 0}, hpp[2] = {0, 0};
  const int ms[2] = {30, 300};
  for (int k = 0; k < 2; ++k) {
    for (int r = 0; r < 300; ++r) hutch[k] += std::abs(hutchinson(a, ms[k], rng).value - tr) / tr / 300;
    for (int r = 0; r < 60; ++r) hpp[k] += std::abs(hutch_plus_plus(a, ms[k], rng).value - tr) / tr / 60;
  }
  EXPECT_GT(hutch[0] / hutch[1], 2.2);
  EXPECT_LT(hutch[0] / hutch[1], 4.5);
  EXPECT_GT(hpp[0] / hpp[1], 10.0);
  EXPECT_LT(hpp[1], hutch[1] / 10);
}

// When rank(A) <= matvecs / 3 the sketch holds all of A and the estimate is exact.
TEST(HutchPlusPlus, ExactForLowRank) {
  std::mt19937_64 rng(4);
  const MatrixXd u = odyn::linalg::gaussian_matrix(100, 5, rng);
  const MatrixXd a = u * u.transpose();
  const auto e = hutch_plus_plus(a, 18, rng);
  EXPECT_EQ(e.matvecs, 18);
  EXPECT_NEAR(e.value, a.trace(), 1e-10 * a.trace());
}

TEST(TraceEstimators, RejectBadInput) {
  std::mt19937_64 rng(5);
  const MatrixXd a = MatrixXd::Identity(4, 4);
  EXPECT_THROW(hutchinson(a, 0, rng), odyn::InvalidArgument);
  EXPECT_THROW(hutch_plus_plus(a, 2, rng), odyn::InvalidArgument);
  EXPECT_THROW(hutchinson(MatrixXd::Ones(3, 4), 5, rng), odyn::InvalidArgument);
  const odyn::linalg::MatVec wrong = [](const MatrixXd& x) -> MatrixXd { return x.topRows(2); };
  EXPECT_THROW(hutchinson(wrong, 4, 3, rng), odyn::InvalidArgument);
  const odyn::linalg::MatVec nan = [](const MatrixXd& x) -> MatrixXd { return x * std::nan(""); };
  EXPECT_THROW(hutch_plus_plus(nan, 4, 6, rng), odyn::InvalidArgument);
  EXPECT_THROW(hutchinson(wrong, 0, 3, rng), odyn::InvalidArgument);  // n < 1
}

// XTrace's fast formulas against its definition: for the probes the estimator drew (the first block
// it multiplies), t_i = tr(Q_i^T A Q_i) + x_i^T A x_i with Q_i an orthonormal basis of A Omega
// without column i and x_i = (I - Q_i Q_i^T) w_i, rescaled to norm sqrt(n - k + 1) for Gaussian
// probes. value is the mean of the t_i and std_error their standard deviation over sqrt(k).
TEST(XTrace, MatchesItsDefinition) {
  std::mt19937_64 rng(2024);
  const int n = 30, k = 6;
  const MatrixXd a = odyn::linalg::gaussian_matrix(n, n, rng);  // not symmetric
  for (Probe probe : {Probe::rademacher, Probe::gaussian}) {
    MatrixXd omega;
    const odyn::linalg::MatVec op = [&](const MatrixXd& x) -> MatrixXd {
      if (omega.size() == 0) omega = x;
      return a * x;
    };
    const auto e = xtrace(op, n, 2 * k, rng, probe);
    EXPECT_EQ(e.matvecs, 2 * k);
    const MatrixXd y = a * omega;
    Eigen::ArrayXd t(k);
    for (int i = 0; i < k; ++i) {
      MatrixXd others(n, k - 1);
      for (int j = 0, c = 0; j < k; ++j) {
        if (j != i) others.col(c++) = y.col(j);
      }
      const MatrixXd q = Eigen::HouseholderQR<MatrixXd>(others).householderQ() * MatrixXd::Identity(n, k - 1);
      Eigen::VectorXd x = omega.col(i) - q * (q.transpose() * omega.col(i));
      if (probe == Probe::gaussian) x *= std::sqrt(n - k + 1.0) / x.norm();
      t(i) = (q.transpose() * a * q).trace() + x.dot(a * x);
    }
    const double sd = std::sqrt((t - t.mean()).square().sum() / (k - 1) / k);
    EXPECT_NEAR(e.value, t.mean(), 1e-12 * a.norm() * n);
    EXPECT_NEAR(e.std_error, sd, 1e-9 * sd);
    if (probe == Probe::gaussian) {
      EXPECT_NEAR(omega.col(0).norm(), std::sqrt(n), 1e-12);
    }
  }
}

// Each t_i is unbiased for every square A, so the mean of R = 4000 estimates with k = 4 probes is
// within 5 standard errors of tr(A), for a symmetric indefinite and a non-symmetric matrix.
TEST(XTrace, Unbiased) {
  std::mt19937_64 rng(45);
  MatrixXd nonsymmetric = odyn::linalg::gaussian_matrix(40, 40, rng);
  nonsymmetric.diagonal().array() += 1.0;
  for (const MatrixXd& a : {symmetric_gaussian(40, rng), nonsymmetric}) {
    for (Probe probe : {Probe::rademacher, Probe::gaussian}) {
      const int r = 4000;
      double sum = 0, sum2 = 0;
      for (int i = 0; i < r; ++i) {
        const double v = xtrace(a, 8, rng, probe).value;
        sum += v;
        sum2 += v * v;
      }
      const double mean = sum / r, sd = std::sqrt((sum2 - r * mean * mean) / (r - 1));
      EXPECT_NEAR(mean, a.trace(), 5 * sd / std::sqrt(r)) << static_cast<int>(probe);
    }
  }
}

// rank(A) < k: every leave-one-out basis already spans range(A), so the estimate is exact. The
// second matrix makes A Omega exactly rank deficient (zero rows), the case handled by dropping
// the leave-one-out correction.
TEST(XTrace, ExactForLowRank) {
  std::mt19937_64 rng(4);
  const MatrixXd u = odyn::linalg::gaussian_matrix(100, 5, rng);
  const MatrixXd a = u * u.transpose();
  Eigen::VectorXd d = Eigen::VectorXd::Zero(50);
  d.head(5) << 1, 2, 3, 4, 5;
  const MatrixXd b = d.asDiagonal();
  for (Probe probe : {Probe::rademacher, Probe::gaussian}) {
    const auto e = xtrace(a, 12, rng, probe);
    EXPECT_LE(e.matvecs, 12);
    EXPECT_NEAR(e.value, a.trace(), 1e-10 * a.trace());
    EXPECT_NEAR(xtrace(b, 20, rng, probe).value, 15.0, 1e-12);
  }
}

// Mean relative error over 60 runs on Q diag(1/i^2) Q^T (n = 200) at 30 and 300 mat-vecs: XTrace's
// error falls at least like 1/m (ratio >= 10) and is below Hutch++'s at the same budget.
TEST(XTrace, ErrorRatesAgainstHutchPlusPlus) {
  std::mt19937_64 rng(2301);
  const MatrixXd a = decaying_psd(200, rng);
  const double tr = a.trace();
  double xt[2] = {0, 0}, hpp[2] = {0, 0};
  const int ms[2] = {30, 300};
  for (int k = 0; k < 2; ++k) {
    for (int r = 0; r < 60; ++r) {
      xt[k] += std::abs(xtrace(a, ms[k], rng, Probe::gaussian).value - tr) / tr / 60;
      hpp[k] += std::abs(hutch_plus_plus(a, ms[k], rng).value - tr) / tr / 60;
    }
  }
  EXPECT_GT(xt[0] / xt[1], 10.0);
  EXPECT_LT(xt[0], hpp[0]);
  EXPECT_LT(xt[1], hpp[1]);
}

// The reported error against the actual one over 200 runs at 90 mat-vecs on Q diag(1/i^2) Q^T:
// the ratio of root-mean-square actual error to root-mean-square std_error lies in [1, 2] (the
// t_i are positively correlated, so their spread understates the error; 1.38 here).
TEST(XTrace, ErrorEstimateHasTheRightOrder) {
  std::mt19937_64 rng(2302);
  const MatrixXd a = decaying_psd(200, rng);
  double error2 = 0, reported2 = 0;
  for (int r = 0; r < 200; ++r) {
    const auto e = xtrace(a, 90, rng);
    error2 += (e.value - a.trace()) * (e.value - a.trace());
    reported2 += e.std_error * e.std_error;
  }
  EXPECT_GT(std::sqrt(error2 / reported2), 1.0);
  EXPECT_LT(std::sqrt(error2 / reported2), 2.0);
}

TEST(XTrace, RejectsBadInput) {
  std::mt19937_64 rng(5);
  EXPECT_THROW(xtrace(MatrixXd::Identity(4, 4), 3, rng), odyn::InvalidArgument);
  EXPECT_THROW(xtrace(MatrixXd::Ones(3, 4), 6, rng), odyn::InvalidArgument);
  const odyn::linalg::MatVec wrong = [](const MatrixXd& x) -> MatrixXd { return x.topRows(2); };
  EXPECT_THROW(xtrace(wrong, 4, 6, rng), odyn::InvalidArgument);
  const odyn::linalg::MatVec nan = [](const MatrixXd& x) -> MatrixXd { return x * std::nan(""); };
  EXPECT_THROW(xtrace(nan, 4, 6, rng), odyn::InvalidArgument);
  EXPECT_THROW(xtrace(wrong, 0, 6, rng), odyn::InvalidArgument);
}

// With f(x) = x the quadrature returns n u^T A u exactly, i.e. Hutchinson's term for the same probe.
TEST(Slq, LinearFunctionIsHutchinson) {
  std::mt19937_64 a_rng(6), b_rng(6);
  const MatrixXd s = symmetric_gaussian(40, a_rng);
  b_rng = a_rng;
  const odyn::linalg::MatVec op = [&](const MatrixXd& x) -> MatrixXd { return s * x; };
  const auto slq = slq_trace(
      op, 40, [](double x) { return x; }, 5, 10, a_rng);
  const auto hutch = hutchinson(s, 5, b_rng, Probe::rademacher);
  EXPECT_NEAR(slq.value, hutch.value, 1e-11 * s.cwiseAbs().sum());
}

// A with 6 distinct eigenvalues: 6 Lanczos steps make Gauss quadrature exact, so each probe's term
// is v^T log(A) v and the mean over probes matches the same Hutchinson average computed directly.
TEST(Slq, ExactQuadratureForFewDistinctEigenvalues) {
  std::mt19937_64 rng(7), copy(7);
  const int n = 60;
  const MatrixXd q = odyn::linalg::random_orthogonal(n, rng);
  copy = rng;
  Eigen::VectorXd d(n);
  for (int i = 0; i < n; ++i) d(i) = 0.5 + (i % 6);
  const MatrixXd a = q * d.asDiagonal() * q.transpose();
  const MatrixXd log_a = q * d.array().log().matrix().asDiagonal() * q.transpose();
  const auto slq = slq_logdet(a, 8, 6, rng);
  EXPECT_EQ(slq.matvecs, 48);
  const auto direct = hutchinson(log_a, 8, copy, Probe::rademacher);  // same Rademacher probes
  EXPECT_NEAR(slq.value, direct.value, 1e-9 * std::abs(direct.value));
}

// log det of an SPD matrix with a continuous spectrum in [0.5, 20]: within 5 reported standard
// errors of the Cholesky value (claim AX-8: SLQ agrees with slogdet within its error bar).
TEST(Slq, LogDetWithinItsErrorBar) {
  std::mt19937_64 rng(8);
  const int n = 150;
  const MatrixXd q = odyn::linalg::random_orthogonal(n, rng);
  Eigen::VectorXd d(n);
  for (int i = 0; i < n; ++i) d(i) = 0.5 * std::pow(40.0, i / (n - 1.0));
  const MatrixXd a = q * d.asDiagonal() * q.transpose();
  const double exact = odyn::linalg::logdet_spd(a);
  const auto slq = slq_logdet(a, 40, 25, rng);
  ASSERT_GT(slq.std_error, 0.0);
  EXPECT_NEAR(slq.value, exact, 5 * slq.std_error);
  EXPECT_LT(slq.std_error, 0.1 * std::abs(exact));
}

TEST(Slq, RejectsBadInput) {
  std::mt19937_64 rng(9);
  MatrixXd indefinite = MatrixXd::Identity(5, 5);
  indefinite(4, 4) = -1;
  EXPECT_THROW(slq_logdet(indefinite, 4, 5, rng), odyn::InvalidArgument);
  EXPECT_THROW(slq_logdet(MatrixXd::Identity(3, 3), 0, 5, rng), odyn::InvalidArgument);
  EXPECT_THROW(slq_logdet(MatrixXd::Identity(3, 3), 2, 0, rng), odyn::InvalidArgument);
  EXPECT_THROW(slq_logdet(MatrixXd::Ones(2, 3), 2, 2, rng), odyn::InvalidArgument);
}
