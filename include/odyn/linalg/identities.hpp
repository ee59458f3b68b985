// Numerical verification of matrix identities.
#pragma once

#include <Eigen/Core>
#include <string>
#include <vector>

namespace odyn::linalg {

// A further number a check reports, e.g. the distance between two routes' matrices.
struct CheckDetail {
  std::string name;
  double value = 0;
};

// The outcome of comparing the two sides of an identity in floating point.
struct IdentityCheck {
  std::string name;                   // the identity, e.g. "det(exp A) = exp(tr A)"
  double lhs = 0, rhs = 0;            // the two computed sides (real parts for complex sides)
  double lhs_imag = 0, rhs_imag = 0;  // imaginary parts; zero for real sides
  double abs_error = 0;               // |lhs - rhs|
  double rel_error = 0;               // |lhs - rhs| / |rhs|
  std::string metric;                 // which error `tolerance` bounds: "rel_error" or "abs_error"
  double tolerance = 0;               // the bound the error must meet, derived from the problem (see the docs)
  double condition = 0;               // the condition number the tolerance was scaled by
  bool passed = false;
  std::string note;                  // why the check failed or could not decide; empty when it passed
  std::vector<CheckDetail> details;  // route-specific extra numbers (see docs/identities.md)
};

// A check whose tolerance exceeds this verifies fewer than two digits: it is reported as failed
// ("inconclusive"), since first-order error analysis no longer holds there.
inline constexpr double kInconclusiveTolerance = 1e-2;

// Compares det(exp A) with exp(tr A) for a real square matrix A (Su, kexue.fm/archives/6377): the
// `direct` route of odyn/linalg/identities/routes.hpp for double.
// exp(A) comes from expm, its determinant from LU with partial pivoting. When either side would
// leave the range of double (|tr A| or |log det exp A| above log(max) - 10 = 699.8), the logarithms are compared
// instead: log|det exp A| (sum of log|u_ii|) with tr A, whose absolute difference is the relative
// error of the determinant; a negative determinant fails the check.
//
// Tolerance, from first-order error analysis with unit roundoff u = 2^-53:
//   tol = safety * u * (sqrt(n) * kappa + c_exp * ||A||_1 + n * sum_i |a_ii| + 1),
//   kappa = ||exp(A)||_F * ||exp(-A)||_F.
// kappa is the relative condition number of the determinant at X = exp(A)
// (|d det X / det X| = |tr(X^-1 dX)| <= ||X^-1||_F ||dX||_F) and sqrt(n) u the typical normwise
// relative error of LU (probabilistic rounding-error analysis, Higham & Mary, SIAM J. Sci.
// Comput. 41(5), 2019). c_exp ||A||_1 u bounds the relative error of scaling and squaring: the
// Pade approximant evaluated at ||A / 2^s||_1 <= 5.37 errs by up to ~40u and each of the
// s <= log2(2 ||A||_1 / 5.37) squarings doubles that (<= ~15 ||A||_1 u; c_exp = 32 for margin).
// n u sum |a_ii| is the error of the computed trace. safety is a constant margin; docs/identities.md
// records the measured error / model ratios.
// When exp(A) or exp(-A) overflows, nothing can be compared: the result is not passed, its note
// says "inconclusive" and its numbers are NaN. Throws odyn::InvalidArgument if A is empty, not
// square or not finite.
IdentityCheck check_det_exp_trace(const Eigen::MatrixXd& a);

// The safety factor of check_det_exp_trace's tolerance.
inline constexpr double kDetExpTraceSafety = 8.0;
// Relative error of the computed exp(A) per unit of ||A||_1 (see check_det_exp_trace).
inline constexpr double kExpmErrorPerNorm = 32.0;

}  // namespace odyn::linalg
