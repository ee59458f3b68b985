#include "odyn/linalg/identities.hpp"

#include <Eigen/LU>
#include <cmath>
#include <cstdio>
#include <limits>

#include "odyn/core/error.hpp"
#include "odyn/core/validate.hpp"
#include "odyn/linalg/expm.hpp"
#include "odyn/linalg/slogdet.hpp"

namespace odyn::linalg {

IdentityCheck check_det_exp_trace(const Eigen::MatrixXd& a) {
  const std::string where = "check_det_exp_trace";
  require_nonempty(a, where);
  require_square(a, where);
  require_finite(a, where);
  Eigen::MatrixXd x, x_inv;
  bool overflow = false;
  try {
    x = expm(a);
    x_inv = expm(-a);
  } catch (const OverflowError&) {
    overflow = true;
  }
  if (overflow) {
    IdentityCheck c;
    c.name = "det(exp A) = exp(tr A)";
    c.lhs = c.rhs = c.abs_error = c.rel_error = c.tolerance = c.condition = std::numeric_limits<double>::quiet_NaN();
    c.metric = "rel_error";
    c.note = "inconclusive: exp(A) or exp(-A) overflows double precision";
    return c;
  }
  const double n = static_cast<double>(a.rows());
  const double u = std::numeric_limits<double>::epsilon() / 2;
  const double kappa = x.stableNorm() * x_inv.stableNorm();  // overflow-safe Frobenius norms
  const double trace = a.trace();

  const Eigen::PartialPivLU<Eigen::MatrixXd> lu(x);
  const SignLogDet<double> sld = slogdet(lu);
  const double log_abs_det = sld.log_abs, sign = sld.sign;

  IdentityCheck c;
  c.condition = kappa;
  const double norm1 = a.cwiseAbs().colwise().sum().maxCoeff();
  c.tolerance = kDetExpTraceSafety * u *
                (std::sqrt(n) * kappa + kExpmErrorPerNorm * norm1 + n * a.diagonal().cwiseAbs().sum() + 1);

  constexpr double kLogRange = 700;  // e^700 ~ 1e304: both sides stay normal doubles
  const double det = lu.determinant();
  if (std::abs(trace) <= kLogRange && std::abs(log_abs_det) <= kLogRange && std::isnormal(det)) {
    c.name = "det(exp A) = exp(tr A)";
    c.lhs = det;
    c.rhs = std::exp(trace);
    c.metric = "rel_error";
  } else {
    c.name = "log|det exp A| = tr A";
    c.lhs = log_abs_det;
    c.rhs = trace;
    c.metric = "abs_error";
  }
  c.abs_error = std::abs(c.lhs - c.rhs);
  c.rel_error = c.rhs != 0 ? c.abs_error / std::abs(c.rhs) : c.abs_error;
  const double err = c.metric == "rel_error" ? c.rel_error : c.abs_error;
  if (!(c.tolerance <= kInconclusiveTolerance)) {
    char kappa_text[32];
    std::snprintf(kappa_text, sizeof kappa_text, "%.3g", kappa);
    c.note = std::string("inconclusive: exp(A) too ill-conditioned for double precision (kappa = ") + kappa_text + ")";
  } else if (sign < 0) {
    c.note = "det(exp A) computed negative";  // exp(A) of a real A has a positive determinant
  } else if (!(err <= c.tolerance)) {
    c.note = "error exceeds tolerance";
  }
  c.passed = c.note.empty();
  return c;
}

}  // namespace odyn::linalg
