// Routes through derivatives by finite differences: det-ode, jacobi-fd, det-perturbation.
#include <Eigen/LU>
#include <Eigen/SVD>
#include <algorithm>
#include <cmath>
#include <complex>
#include <string>

#include "common.hpp"
#include "odyn/linalg/expm.hpp"
#include "odyn/linalg/slogdet.hpp"

namespace odyn::linalg::identities {

using detail::Complex;

namespace {

// A point X(t + s) of a matrix path and the relative (Frobenius) error of computing it.
template <class Scalar>
struct PathPoint {
  Matrix<Scalar> x;
  real_t<Scalar> eta;
};

// log det of a path point with the relative error model of its determinant:
// delta = kappa_F (sqrt(n) u + eta) + u (1 + sum_i |log|u_ii||), the last term from the logarithms.
template <class Scalar>
struct LogDet {
  SignLogDet<Scalar> sld;
  real_t<Scalar> delta;
  Matrix<Scalar> inverse;
};

template <class Scalar>
LogDet<Scalar> log_det(const PathPoint<Scalar>& p) {
  using Real = real_t<Scalar>;
  using std::abs;
  using std::log;
  using std::sqrt;
  const Real u = unit_roundoff<Scalar>();
  const Eigen::PartialPivLU<Matrix<Scalar>> lu(p.x);
  LogDet<Scalar> r{slogdet(lu), Real(0), lu.inverse()};
  Real log_sum(0);
  for (Eigen::Index i = 0; i < p.x.rows(); ++i) log_sum += abs(log(Real(abs(lu.matrixLU()(i, i)))));
  const Real kappa = detail::norm_fro(p.x) * detail::norm_fro(r.inverse);
  r.delta = kappa * (sqrt(Real(p.x.rows())) * u + p.eta) + u * (Real(1) + log_sum);
  return r;
}

// The central difference D = (g(h) - g(-h)) / (2h) of g(s) = det X(t + s) / det X(t), with the
// bounds of routes.hpp: |g(s)| <= exp(nu1 |s| + nu2 |s|^2) gives, by Cauchy's estimate on |s| = r,
// truncation <= (G / r) q^2 / (1 - q^2), q = h / r; rounding = (delta_+ |g(h)| + delta_- |g(-h)|) / (2h)
// + delta_0 |D|. h minimizes G h^2 / r^3 + delta_0 / h, capped at r / 4.
template <class Scalar>
struct CentralDifference {
  Complex<Scalar> derivative;
  real_t<Scalar> truncation, rounding, h, kappa;
};

template <class Scalar, class Eval>
CentralDifference<Scalar> log_det_central_difference(const Eval& eval, const real_t<Scalar>& nu1,
                                                     const real_t<Scalar>& nu2) {
  using Real = real_t<Scalar>;
  using C = Complex<Scalar>;
  using std::abs;
  using std::cbrt;
  using std::exp;
  using std::min;
  using std::sqrt;
  const PathPoint<Scalar> center = eval(Real(0));
  const LogDet<Scalar> d0 = log_det(center);
  CentralDifference<Scalar> r;
  r.kappa = detail::norm_fro(center.x) * detail::norm_fro(d0.inverse);
  Real radius(0), g_bound(1);
  if (nu2 > Real(0)) {
    radius = (sqrt(nu1 * nu1 + Real(24) * nu2) - nu1) / (Real(4) * nu2);  // minimizes G / r^3
  } else if (nu1 > Real(0)) {
    radius = Real(3) / nu1;
  }
  if (radius > Real(0)) {
    g_bound = exp(nu1 * radius + nu2 * radius * radius);
    r.h = min(Real(radius * cbrt(Real(d0.delta / (Real(2) * g_bound)))), Real(radius / Real(4)));
  } else {
    r.h = cbrt(Real(unit_roundoff<Scalar>()));  // g is constant: any step is exact up to rounding
  }
  const LogDet<Scalar> plus = log_det(eval(r.h)), minus = log_det(eval(Real(-r.h)));
  const auto ratio = [&](const LogDet<Scalar>& d) {
    return C(detail::as_complex<Scalar>(d.sld.sign) / detail::as_complex<Scalar>(d0.sld.sign)) *
           Real(exp(Real(d.sld.log_abs - d0.sld.log_abs)));
  };
  const C g_plus = ratio(plus), g_minus = ratio(minus);
  r.derivative = (g_plus - g_minus) / (Real(2) * r.h);
  if (radius > Real(0)) {
    const Real q = r.h / radius;
    r.truncation = g_bound / radius * q * q / (Real(1) - q * q);
  } else {
    r.truncation = Real(0);
  }
  r.rounding = (plus.delta * abs(g_plus) + minus.delta * abs(g_minus)) / (Real(2) * r.h) + d0.delta * abs(r.derivative);
  return r;
}

// tr(X^-1 X') and its error bound ||X^-1||_F ||X'||_F (kappa_F eta_x + eta_dx) (routes.hpp).
template <class Scalar>
struct TraceTerm {
  Complex<Scalar> value;
  real_t<Scalar> error, scale;
};

template <class Scalar>
TraceTerm<Scalar> trace_of_inverse_times(const Matrix<Scalar>& x, const Matrix<Scalar>& dx, const real_t<Scalar>& eta_x,
                                         const real_t<Scalar>& eta_dx) {
  using Real = real_t<Scalar>;
  const Eigen::PartialPivLU<Matrix<Scalar>> lu(x);
  const Real inv_norm = detail::norm_fro(Matrix<Scalar>(lu.inverse()));
  const Real kappa = detail::norm_fro(x) * inv_norm;
  TraceTerm<Scalar> t;
  t.value = detail::as_complex<Scalar>(Matrix<Scalar>(lu.solve(dx)).trace());
  t.scale = inv_norm * detail::norm_fro(dx);
  t.error = t.scale * (kappa * eta_x + eta_dx);
  return t;
}

// Builds the check from a central difference and the trace it should equal.
template <class Scalar>
IdentityCheck compare_difference(const std::string& name, const CentralDifference<Scalar>& d,
                                 const Complex<Scalar>& rhs, const real_t<Scalar>& rhs_error,
                                 const real_t<Scalar>& scale) {
  using Real = real_t<Scalar>;
  IdentityCheck c;
  c.name = name;
  c.condition = detail::to_double(d.kappa);
  c.tolerance = detail::to_double(Real(d.truncation + Real(kSafety) * (d.rounding + rhs_error)));
  detail::set_sides(c, d.derivative, rhs, "abs_error");
  detail::add_detail(c, "h", detail::to_double(d.h));
  detail::decide(c, detail::to_double(Real(Real(1) + scale)),
                 "X(t) too ill-conditioned for " + detail::precision_name<Scalar>() +
                     " precision (kappa = " + detail::format_g(c.condition) + ")");
  return c;
}

// The path X(t + s) = expm((t + s) A), with the expm error model of the direct route.
template <class Scalar>
auto exponential_path(const Matrix<Scalar>& a, const real_t<Scalar>& t) {
  using Real = real_t<Scalar>;
  return [&a, t](const Real& s) {
    const Real ts = t + s;
    const Matrix<Scalar> scaled = Scalar(ts) * a;
    const Real u = unit_roundoff<Scalar>();
    return PathPoint<Scalar>{expm(scaled), Real(u * (Real(kExpmErrorPerNorm) * detail::norm1(scaled) + Real(1)))};
  };
}

}  // namespace

template <class Scalar>
IdentityCheck det_ode(const Matrix<Scalar>& a) {
  using Real = real_t<Scalar>;
  using std::abs;
  detail::require_input(a, "identities::det_ode");
  const std::string name = "d/dt det exp(tA) = tr(A) det exp(tA)";
  const Real u = unit_roundoff<Scalar>();
  const Real n = Real(a.rows());
  const Complex<Scalar> trace = detail::as_complex<Scalar>(a.trace());
  const Real trace_error = n * u * detail::diagonal_abs_sum(a);
  IdentityCheck worst;
  double worst_ratio = -1;
  for (int k = 0; k <= 8; ++k) {
    const Real t = Real(k) / Real(4);
    IdentityCheck c;
    try {
      const CentralDifference<Scalar> d =
          log_det_central_difference<Scalar>(exponential_path(a, t), n * detail::norm_fro(a), Real(0));
      c = compare_difference(name, d, trace, trace_error, Real(abs(trace)));
    } catch (const OverflowError&) {
      c = detail::inconclusive_check(name, "abs_error",
                                     "exp(tA) overflows " + detail::precision_name<Scalar>() + " precision");
    }
    c.details.insert(c.details.begin(), {"t", detail::to_double(t)});
    const double ratio = !c.passed         ? std::numeric_limits<double>::infinity()
                         : c.tolerance > 0 ? c.abs_error / c.tolerance
                                           : 0.0;
    if (ratio > worst_ratio) {
      worst = c;
      worst_ratio = ratio;
    }
  }
  return worst;
}

template <class Scalar>
IdentityCheck jacobi_fd(const Matrix<Scalar>& a) {
  using Real = real_t<Scalar>;
  using std::sqrt;
  detail::require_input(a, "identities::jacobi_fd");
  const std::string name = "d/dt det X = det X tr(X^-1 X'), X = exp(tA), t = 1";
  const Real u = unit_roundoff<Scalar>();
  const Real n = Real(a.rows());
  try {
    const auto path = exponential_path(a, Real(1));
    const CentralDifference<Scalar> d = log_det_central_difference<Scalar>(path, n * detail::norm_fro(a), Real(0));
    const Matrix<Scalar> x = path(Real(0)).x;
    const Matrix<Scalar> dx = x * a;
    const Real eta_x = sqrt(n) * u + u * (Real(kExpmErrorPerNorm) * detail::norm1(a) + Real(1));
    const Real eta_dx = eta_x + n * u * detail::norm_fro(x) * detail::norm_fro(a) / detail::norm_fro(dx);
    const TraceTerm<Scalar> rhs = trace_of_inverse_times(x, dx, eta_x, eta_dx);
    return compare_difference(name, d, rhs.value, rhs.error, rhs.scale);
  } catch (const OverflowError&) {
    return detail::inconclusive_check(name, "abs_error",
                                      "exp(tA) overflows " + detail::precision_name<Scalar>() + " precision");
  }
}

template <class Scalar>
IdentityCheck jacobi_fd(const Matrix<Scalar>& x0, const Matrix<Scalar>& x1, const Matrix<Scalar>& x2,
                        const real_t<Scalar>& t) {
  using Real = real_t<Scalar>;
  using std::abs;
  using std::sqrt;
  const std::string where = "identities::jacobi_fd";
  detail::require_input(x0, where);
  detail::require_input(x1, where);
  detail::require_input(x2, where);
  if (x1.rows() != x0.rows() || x2.rows() != x0.rows()) throw InvalidArgument(where + ": X0, X1, X2 differ in size");
  if (!(Eigen::numext::isfinite)(t)) throw InvalidArgument(where + ": t is not finite");
  const std::string name = "d/dt det X = det X tr(X^-1 X'), X = X0 + t X1 + t^2 X2";
  const Real u = unit_roundoff<Scalar>();
  const Real n = Real(x0.rows());
  const Real n0 = detail::norm_fro(x0), n1 = detail::norm_fro(x1), n2 = detail::norm_fro(x2);
  const auto path = [&](const Real& s) {
    const Real ts = t + s;
    const Matrix<Scalar> x = x0 + Scalar(ts) * x1 + Scalar(ts * ts) * x2;
    const Real size = detail::norm_fro(x);
    return PathPoint<Scalar>{x, Real(Real(3) * u * (n0 + abs(ts) * n1 + ts * ts * n2) / size)};
  };
  const PathPoint<Scalar> center = path(Real(0));
  const Matrix<Scalar> dx = x1 + Scalar(Real(2) * t) * x2;
  const Eigen::PartialPivLU<Matrix<Scalar>> lu(center.x);
  const Real nu1 = n * detail::norm_fro(Matrix<Scalar>(lu.solve(dx)));
  const Real nu2 = n * detail::norm_fro(Matrix<Scalar>(lu.solve(x2)));
  const CentralDifference<Scalar> d = log_det_central_difference<Scalar>(path, nu1, nu2);
  const Real dx_size = detail::norm_fro(dx);
  const Real eta_x = sqrt(n) * u + center.eta;
  const Real eta_dx =
      sqrt(n) * u + (dx_size > Real(0) ? Real(Real(3) * u * (n1 + Real(2) * abs(t) * n2) / dx_size) : Real(0));
  const TraceTerm<Scalar> rhs = trace_of_inverse_times(center.x, dx, eta_x, eta_dx);
  return compare_difference(name, d, rhs.value, rhs.error, rhs.scale);
}

template <class Scalar>
IdentityCheck det_perturbation(const Matrix<Scalar>& x) {
  using Real = real_t<Scalar>;
  using C = Complex<Scalar>;
  using std::abs;
  using std::ceil;
  using std::log10;
  using std::max;
  using std::pow;
  using std::sqrt;
  detail::require_input(x, "identities::det_perturbation");
  const std::string name = "(det(I + eps X) - 1 - eps tr X) / eps^2 = (tr(X)^2 - tr(X^2)) / 2";
  const Eigen::Index n = x.rows();
  const Real dim = Real(n);
  const Real u = unit_roundoff<Scalar>();
  const Real norm = detail::norm_fro(x);
  // The nuclear norm, computed in double and rounded up (it only sizes the bound). |e_k(lambda)| =
  // |tr C_k(X)| <= e_k(sigma) for the k-th compound matrix C_k, and e_k(sigma) <= C(n, k) (nu / n)^k
  // (Maclaurin's inequality).
  const Eigen::JacobiSVD<std::decay_t<decltype(detail::to_plain<Scalar>(x))>> svd(detail::to_plain<Scalar>(x));
  const Real nu = Real(svd.singularValues().sum() * (1 + 1e-12));
  const C trace = detail::as_complex<Scalar>(x.trace());
  const C c2 = (trace * trace - detail::as_complex<Scalar>(Matrix<Scalar>(x * x).trace())) / Real(2);
  const Real c2_error = Real(kSafety) * u * dim * norm * norm;
  // eps = 10^(-k/2) / max(1, nu), k = 2, 3, ..., 2 (ceil(-log10(u) / 3) + 1): down to u^(1/3) and a decade below.
  const int count = 2 * (static_cast<int>(detail::to_double(Real(ceil(-log10(u) / Real(3))))) + 1) - 1;
  const Matrix<Scalar> identity = Matrix<Scalar>::Identity(n, n);

  IdentityCheck best, worst;
  double best_tolerance = std::numeric_limits<double>::infinity(), worst_ratio = -1;
  for (int k = 2; k <= count + 1; ++k) {
    const Real eps = pow(Real(10), Real(-k) / Real(2)) / max(Real(1), nu);
    const Matrix<Scalar> y = identity + Scalar(eps) * x;
    const Eigen::PartialPivLU<Matrix<Scalar>> lu(y);
    const C det = detail::as_complex<Scalar>(lu.determinant());
    const Real kappa = detail::norm_fro(y) * detail::norm_fro(Matrix<Scalar>(lu.inverse()));
    const C residual = (det - C(1) - C(eps) * trace) / (eps * eps);
    // sum_{k=3}^{n} C(n, k) (nu / n)^k eps^(k-2), the terms decreasing (eps nu <= 1/sqrt(10)).
    const Real a = nu / dim;
    Real truncation(0), term = dim * (dim - Real(1)) * (dim - Real(2)) / Real(6) * a * a * a * eps;
    for (Eigen::Index j = 3; j <= n && term > u * truncation; ++j) {
      truncation += term;
      term *= (dim - Real(j)) / Real(j + 1) * a * eps;
    }
    const Real rounding = Real(kSafety) * u *
                          (((sqrt(dim) + Real(1)) * kappa + Real(2) * dim) * abs(det) + Real(1) +
                           dim * eps * detail::diagonal_abs_sum(x)) /
                          (eps * eps);
    IdentityCheck c;
    c.name = name;
    c.condition = detail::to_double(kappa);
    c.tolerance = detail::to_double(Real(truncation + rounding + c2_error));
    detail::set_sides(c, residual, c2, "abs_error");
    c.details = {{"eps", detail::to_double(eps)}, {"eps_values", static_cast<double>(count)}};
    const double ratio = c.abs_error / c.tolerance;
    if (!(ratio <= worst_ratio)) {
      worst = c;
      worst_ratio = ratio;
    }
    if (c.tolerance < best_tolerance) {
      best = c;
      best_tolerance = c.tolerance;
    }
  }
  IdentityCheck& reported = worst_ratio > 1 ? worst : best;
  detail::decide(reported, detail::to_double(max(Real(1), Real(nu * nu / Real(2)))),
                 "I + eps X too ill-conditioned for " + detail::precision_name<Scalar>() + " precision");
  return reported;
}

#define ODYN_INSTANTIATE(S)                                                                          \
  template IdentityCheck det_ode<S>(const Matrix<S>& a);                                             \
  template IdentityCheck jacobi_fd<S>(const Matrix<S>& a);                                           \
  template IdentityCheck jacobi_fd<S>(const Matrix<S>& x0, const Matrix<S>& x1, const Matrix<S>& x2, \
                                      const real_t<S>& t);                                           \
  template IdentityCheck det_perturbation<S>(const Matrix<S>& x);
ODYN_FOR_EACH_IDENTITY_SCALAR(ODYN_INSTANTIATE)
#undef ODYN_INSTANTIATE

}  // namespace odyn::linalg::identities
