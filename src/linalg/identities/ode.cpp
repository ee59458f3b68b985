// The ODE route: Liouville's formula det X(1) = exp(int_0^1 tr A(s) ds) for X' = A(t) X, X(0) = I,
// integrated by Dormand-Prince 5(4) (Hairer, Norsett & Wanner, Solving ODEs I, sec. II.5).
#include <Eigen/Eigenvalues>
#include <Eigen/LU>
#include <algorithm>
#include <boost/numeric/odeint.hpp>
#include <cmath>
#include <complex>
#include <string>
#include <vector>

#include "common.hpp"
#include "odyn/linalg/expm.hpp"
#include "odyn/linalg/slogdet.hpp"

// Odeint finds the norm type of a state through its value_type; a multiprecision number names
// itself as its value_type, so the norm type of std::vector<mp50> is given here.
namespace boost::numeric::odeint {
template <>
struct norm_result_type<std::vector<odyn::mp50>> {
  using type = odyn::mp50;
};
}  // namespace boost::numeric::odeint

namespace odyn::linalg::identities {

using detail::Complex;

namespace {

// The logarithmic 2-norm mu(A) = largest eigenvalue of (A + A*) / 2: ||exp(tA)||_2 <= exp(t mu(A)).
// Computed in double: it only sizes a tolerance.
template <class Scalar>
real_t<Scalar> log_norm(const Matrix<Scalar>& a) {
  const auto h = detail::to_plain<Scalar>(Matrix<Scalar>((a + a.adjoint()) / Scalar(2)));
  const Eigen::SelfAdjointEigenSolver<std::decay_t<decltype(h)>> solver(h, Eigen::EigenvaluesOnly);
  return real_t<Scalar>(solver.eigenvalues().maxCoeff());
}

}  // namespace

template <class Scalar>
IdentityCheck liouville(const Matrix<Scalar>& a0, const Matrix<Scalar>& a1) {
  namespace odeint = boost::numeric::odeint;
  using Real = real_t<Scalar>;
  using State = std::vector<Scalar>;
  using std::abs;
  using std::arg;
  using std::exp;
  using std::max;
  using std::sqrt;
  const std::string where = "identities::liouville";
  detail::require_input(a0, where);
  detail::require_input(a1, where);
  if (a1.rows() != a0.rows()) {
    throw InvalidArgument(where + ": A0 and A1 differ in size (" + std::to_string(a0.rows()) + " and " +
                          std::to_string(a1.rows()) + ")");
  }
  const Eigen::Index n = a0.rows();
  const bool constant = a1.isZero(0);
  const std::string name = "det X(1) = exp(tr A0 + tr A1 / 2), X' = (A0 + t A1) X";

  State x(static_cast<std::size_t>(n * n), Scalar(0));
  for (Eigen::Index i = 0; i < n; ++i) x[static_cast<std::size_t>(i * n + i)] = Scalar(1);
  const auto rhs = [&](const State& s, State& ds, Real t) {
    const Eigen::Map<const Matrix<Scalar>> xm(s.data(), n, n);
    Eigen::Map<Matrix<Scalar>> dm(ds.data(), n, n);
    dm.noalias() = a0 * xm;
    if (!constant) dm.noalias() += Scalar(t) * (a1 * xm);
  };
  Real largest_norm(0);  // max_t ||X(t)||_F over the accepted steps
  const auto observe = [&](const State& s, Real) {
    largest_norm = max(largest_norm, detail::norm_fro<Scalar>(Eigen::Map<const Matrix<Scalar>>(s.data(), n, n)));
  };
  const Real u = unit_roundoff<Scalar>();
  const Real eps = max(Real(1e-12), Real(64) * u);
  const std::size_t steps = odeint::integrate_adaptive(
      odeint::make_controlled(eps, eps, odeint::runge_kutta_dopri5<State, Real, State, Real>()), rhs, x, Real(0),
      Real(1), Real(1e-3), observe);
  const Matrix<Scalar> x1 = Eigen::Map<const Matrix<Scalar>>(x.data(), n, n);
  if (!detail::all_finite(x1)) {
    return detail::inconclusive_check(name, "rel_error",
                                      "X(t) overflows " + detail::precision_name<Scalar>() + " precision");
  }

  // First-order error bound of the integration (routes.hpp), then the rounding of LU and the trace.
  const Eigen::PartialPivLU<Matrix<Scalar>> lu(x1);
  const Matrix<Scalar> x1_inv = lu.inverse();
  const Real inv_norm = detail::norm_fro(x1_inv);
  const Real kappa = detail::norm_fro(x1) * inv_norm;
  const Real growth = exp(max(Real(0), log_norm(a0)) + max(Real(0), log_norm(a1)));
  // Per step, entry (i, j) errs by at most eps (1 + |x_ij| + h |x_ij'|), h <= 1: in Frobenius norm
  // eps (n + ||X||_F + ||A(t)||_F ||X||_F).
  const Real a_norm = detail::norm_fro(a0) + detail::norm_fro(a1);
  const Real ode_error = Real(steps) * (eps + Real(8) * u) * (Real(n) + (Real(1) + a_norm) * largest_norm) * growth;
  const Real dim = Real(n);
  const Real tolerance =
      inv_norm * ode_error +
      Real(kSafety) * u *
          (sqrt(dim) * kappa + dim * (detail::diagonal_abs_sum(a0) + detail::diagonal_abs_sum(a1)) + Real(1));

  const Complex<Scalar> exponent =
      detail::as_complex<Scalar>(a0.trace()) + detail::as_complex<Scalar>(a1.trace()) / Real(2);
  const SignLogDet<Scalar> sld = slogdet(lu);
  IdentityCheck c;
  c.condition = detail::to_double(kappa);
  c.tolerance = detail::to_double(tolerance);
  const Real range = detail::log_range<Real>();
  if (abs(exponent.real()) <= range && abs(sld.log_abs) <= range) {
    c.name = name;
    detail::set_sides(c, detail::as_complex<Scalar>(lu.determinant()), Complex<Scalar>(exp(exponent)), "rel_error");
  } else {
    c.name = "log det X(1) = tr A0 + tr A1 / 2 (mod 2 pi i)";
    const Real phase = arg(detail::as_complex<Scalar>(sld.sign));
    detail::set_sides(c, Complex<Scalar>(sld.log_abs, phase), exponent, "abs_error", true);
  }
  detail::add_detail(c, "steps", static_cast<double>(steps));
  detail::add_detail(c, "ode_tolerance", detail::to_double(eps));
  if (constant) {
    try {
      const Matrix<Scalar> e = expm(a0);
      detail::add_detail(c, "expm_rel_diff",
                         detail::to_double(Real(detail::norm_fro(Matrix<Scalar>(x1 - e)) / detail::norm_fro(e))));
    } catch (const OverflowError&) {
      detail::add_detail(c, "expm_rel_diff", std::numeric_limits<double>::quiet_NaN());
    }
  }
  detail::decide(c, 1.0,
                 "X(1) too ill-conditioned or the integration error bound too large (kappa = " +
                     detail::format_g(c.condition) + ")");
  return c;
}

template <class Scalar>
IdentityCheck liouville(const Matrix<Scalar>& a) {
  detail::require_input(a, "identities::liouville");
  return liouville<Scalar>(a, Matrix<Scalar>::Zero(a.rows(), a.cols()));
}

#define ODYN_INSTANTIATE(S)                                                      \
  template IdentityCheck liouville<S>(const Matrix<S>& a0, const Matrix<S>& a1); \
  template IdentityCheck liouville<S>(const Matrix<S>& a);
ODYN_FOR_EACH_IDENTITY_SCALAR(ODYN_INSTANTIATE)
#undef ODYN_INSTANTIATE

}  // namespace odyn::linalg::identities
