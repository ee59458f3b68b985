// The expm accuracy suite (tests/data/expm_suite.txt): every matrix against its 50-digit
// exponential, in double (or complex double) and in 50-digit arithmetic.
#include <gtest/gtest.h>

#include <cmath>
#include <complex>

#include "../../experiments/expm_suite/suite.hpp"
#include "odyn/linalg/expm.hpp"

namespace {

using odyn::mp50;
using odyn::expm_suite::Case;
using odyn::expm_suite::MatrixMp;

const std::vector<Case>& suite() {
  static const std::vector<Case> cases = odyn::expm_suite::read_suite(std::string(ODYN_TEST_DATA) + "/expm_suite.txt");
  return cases;
}

// Relative 1-norm error of a complex double result against the reference.
double error(const Eigen::MatrixXcd& x, const Case& c) {
  const MatrixMp dre = x.real().cast<mp50>() - c.ref_real, dim = x.imag().cast<mp50>() - c.ref_imag;
  mp50 worst_diff = 0, worst_ref = 0;
  for (Eigen::Index j = 0; j < x.cols(); ++j) {
    mp50 d = 0, r = 0;
    for (Eigen::Index i = 0; i < x.rows(); ++i) {
      d += sqrt(dre(i, j) * dre(i, j) + dim(i, j) * dim(i, j));
      r += sqrt(c.ref_real(i, j) * c.ref_real(i, j) + c.ref_imag(i, j) * c.ref_imag(i, j));
    }
    worst_diff = std::max(worst_diff, d);
    worst_ref = std::max(worst_ref, r);
  }
  return static_cast<double>(worst_diff / worst_ref);
}

TEST(ExpmSuite, HasAtLeastFortyMatrices) {
  EXPECT_GE(suite().size(), 40u);
}

// Forward error within c (cond + n) u with c = 20: scaling and squaring is forward stable in
// practice (Higham 2005, Section 2; Al-Mohy & Higham 2009, Section 6), cond being the relative
// condition number of exp at A in the Frobenius norm and n u the rounding of the result itself.
TEST(ExpmSuite, DoublePrecisionWithinConditionTimesUnitRoundoff) {
  constexpr double u = 0x1p-53, c = 20;
  for (const Case& k : suite()) {
    const Eigen::Index n = k.a.rows();
    double err, cond;
    if (k.complex) {
      err = error(odyn::linalg::expm(k.a), k);
      cond = odyn::linalg::expm_cond_frobenius(k.a);
    } else {
      const Eigen::MatrixXd a = k.a.real();
      err = error(odyn::linalg::expm(a).cast<std::complex<double>>(), k);
      cond = odyn::linalg::expm_cond_frobenius(a);
    }
    EXPECT_LE(err, c * (cond + n) * u) << k.name << ": cond = " << cond;
  }
}

// The scaled Taylor path (which expm takes above theta_18 from n = 32 on) run on every suite matrix,
// none of which is that large: the same bound holds. Against the Pade path on the same 45 matrices
// (measured): equal errors on 20 (most of them below theta_18, where both evaluate T_m unscaled),
// smaller on 14, at most 2x larger on 6, and 2.4 to 9.3x larger on 5: rotation_100 (9.3x; Pade maps
// the imaginary axis to the unit circle), pascal_symmetric_6, normal_8_100, and two whose errors
// stay below u (nilpotent_4, jordan_4_-1).
TEST(ExpmSuite, ScaledTaylorPathWithinConditionTimesUnitRoundoff) {
  constexpr double u = 0x1p-53, c = 20;
  const auto taylor = [](const auto& a) {
    using Mat = std::decay_t<decltype(a)>;
    odyn::linalg::ExpmStats stats;
    return odyn::linalg::detail::ScalingSquaring<Mat>(a, nullptr, 0).run(nullptr, stats);
  };
  for (const Case& k : suite()) {
    const Eigen::Index n = k.a.rows();
    double err, cond;
    if (k.complex) {
      err = error(taylor(k.a), k);
      cond = odyn::linalg::expm_cond_frobenius(k.a);
    } else {
      const Eigen::MatrixXd a = k.a.real();
      err = error(taylor(a).cast<std::complex<double>>(), k);
      cond = odyn::linalg::expm_cond_frobenius(a);
    }
    EXPECT_LE(err, c * (cond + n) * u) << k.name << ": cond = " << cond;
  }
}

// The 50-digit path of the same algorithm (Pade degrees up to 30, thresholds for u = 2^-167)
// agrees with the independent Taylor reference to c (cond + n) u_50.
TEST(ExpmSuite, FiftyDigitsAgreeWithTaylorReference) {
  const double u50 = static_cast<double>(odyn::linalg::unit_roundoff<mp50>());
  for (const Case& k : suite()) {
    if (k.complex) continue;
    const MatrixMp a = k.a.real().cast<mp50>();
    const MatrixMp x = odyn::linalg::expm(a);
    const double err = static_cast<double>((x - k.ref_real).cwiseAbs().colwise().sum().maxCoeff() /
                                           k.ref_real.cwiseAbs().colwise().sum().maxCoeff());
    const double cond = odyn::linalg::expm_cond_frobenius(Eigen::MatrixXd(k.a.real()));
    // references carry 50 significant digits: errors below 1e-49 are indistinguishable from 0
    EXPECT_LE(err, std::max(20 * (cond + k.a.rows()) * u50, 1e-49)) << k.name << " cond " << cond << " u50 " << u50;
  }
}

}  // namespace
