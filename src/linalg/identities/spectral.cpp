// Routes through the spectrum: eigen, schur, limit.
#include <Eigen/Eigenvalues>
#include <cmath>
#include <complex>
#include <string>

#include "common.hpp"

namespace odyn::linalg::identities {

using detail::Complex;
using detail::Vector;

namespace {

// The eigenvalues of A from EigenSolver (real A) or ComplexEigenSolver (complex A); false if the
// QR iteration did not converge.
template <class Scalar>
bool eigenvalues_of(const Matrix<Scalar>& a, Vector<Complex<Scalar>>& lambda) {
  if constexpr (detail::is_complex_v<Scalar>) {
    const Eigen::ComplexEigenSolver<Matrix<Scalar>> solver(a, false);
    if (solver.info() != Eigen::Success) return false;
    lambda = solver.eigenvalues();
  } else {
    const Eigen::EigenSolver<Matrix<Scalar>> solver(a, false);
    if (solver.info() != Eigen::Success) return false;
    lambda = solver.eigenvalues();
  }
  return true;
}

// prod_i exp(lambda_i) against exp(tr A), or sum_i lambda_i against tr A where a product could leave
// the scalar's range; the tolerance of `eigen` and `schur` (routes.hpp).
template <class Scalar>
IdentityCheck compare_exponential_product(const Matrix<Scalar>& a, const Vector<Complex<Scalar>>& lambda,
                                          const std::string& name, const std::string& log_name) {
  using Real = real_t<Scalar>;
  using std::abs;
  using std::exp;
  using std::sqrt;
  const Real u = unit_roundoff<Scalar>();
  const Real n = Real(a.rows());
  const Real norm = detail::norm_fro(a);
  const Complex<Scalar> trace = detail::as_complex<Scalar>(a.trace());
  IdentityCheck c;
  c.condition = detail::to_double(norm);
  c.tolerance = detail::to_double(Real(
      Real(kSafety) * u * (Real(2) * n * sqrt(n) * norm + n * detail::diagonal_abs_sum(a) + Real(4) * n + Real(1))));
  Real real_parts(0);
  for (Eigen::Index i = 0; i < lambda.size(); ++i) real_parts += abs(lambda(i).real());
  const Real range = detail::log_range<Real>();
  if (real_parts <= range && abs(trace.real()) <= range) {
    Complex<Scalar> product(1);
    for (Eigen::Index i = 0; i < lambda.size(); ++i) product *= exp(lambda(i));
    c.name = name;
    detail::set_sides(c, product, Complex<Scalar>(exp(trace)), "rel_error");
  } else {
    c.name = log_name;
    detail::set_sides(c, Complex<Scalar>(lambda.sum()), trace, "abs_error");
  }
  detail::decide(c, 1.0, "tolerance above 1e-2");
  return c;
}

}  // namespace

template <class Scalar>
IdentityCheck eigen(const Matrix<Scalar>& a) {
  const std::string name = "prod exp(lambda_i) = exp(tr A)";
  detail::require_input(a, "identities::eigen");
  Vector<Complex<Scalar>> lambda;
  if (!eigenvalues_of(a, lambda)) {
    IdentityCheck c = detail::inconclusive_check(name, "rel_error", "the eigenvalue iteration did not converge");
    return c;
  }
  return compare_exponential_product(a, lambda, name, "sum lambda_i = tr A");
}

template <class Scalar>
IdentityCheck schur(const Matrix<Scalar>& a) {
  using C = Complex<Scalar>;
  const std::string name = "prod exp(t_ii) = exp(tr A), A = Q T Q*";
  detail::require_input(a, "identities::schur");
  const Matrix<C> ac = a.template cast<C>();
  const Eigen::ComplexSchur<Matrix<C>> schur_form(ac);
  if (schur_form.info() != Eigen::Success) {
    return detail::inconclusive_check(name, "rel_error", "the Schur iteration did not converge");
  }
  const Matrix<C>& q = schur_form.matrixU();
  const Matrix<C>& t = schur_form.matrixT();
  IdentityCheck c = compare_exponential_product(a, Vector<C>(t.diagonal()), name, "sum t_ii = tr A");
  const Matrix<C> residual = ac - q * t * q.adjoint();
  const real_t<Scalar> size = detail::norm_fro(ac);
  detail::add_detail(c, "schur_backward_error",
                     detail::to_double(size > 0 ? real_t<Scalar>(detail::norm_fro(residual) / size) : size));
  return c;
}

template <class Scalar>
IdentityCheck limit(const Matrix<Scalar>& a) {
  using Real = real_t<Scalar>;
  using C = Complex<Scalar>;
  using std::abs;
  using std::atan2;
  using std::cos;
  using std::exp;
  using std::expm1;
  using std::log1p;
  using std::sin;
  using std::sqrt;
  const std::string name = "n (det((I + A/n)^n) / exp(tr A) - 1) -> -tr(A^2) / 2";
  detail::require_input(a, "identities::limit");
  Vector<C> lambda;
  if (!eigenvalues_of(a, lambda)) {
    return detail::inconclusive_check(name, "abs_error", "the eigenvalue iteration did not converge");
  }
  const Real u = unit_roundoff<Scalar>();
  const Real dim = Real(a.rows());
  const Real norm = detail::norm_fro(a);
  const C trace = detail::as_complex<Scalar>(a.trace());
  const C leading = -detail::as_complex<Scalar>(Matrix<Scalar>(a * a).trace()) / Real(2);
  Real sum_abs(0), sum_abs3(0), max_abs(0);
  for (Eigen::Index i = 0; i < lambda.size(); ++i) {
    const Real m = abs(lambda(i));
    sum_abs += m;
    sum_abs3 += m * m * m;
    max_abs = std::max(max_abs, m);
  }

  IdentityCheck worst;
  double worst_ratio = -1, max_relative_deviation = 0;
  C errors[2];
  // n = 10^3 and 10^4; 10^2 and 10^3 in single precision, where n u must stay small.
  const double first = std::numeric_limits<Real>::digits <= 24 ? 1e2 : 1e3;
  const double steps[2] = {first, 10 * first};
  for (int k = 0; k < 2; ++k) {
    const Real steps_r = Real(steps[k]);
    const Real rho = max_abs / steps_r;
    if (!(rho < Real(0.5))) {
      return detail::inconclusive_check(name, "abs_error", "an eigenvalue is not small against n");
    }
    // x = sum_i n log(1 + lambda_i / n) - tr A, with log(1 + z) = log1p(2 Re z + |z|^2) / 2 + i arg(1 + z)
    C x = -trace;
    for (Eigen::Index i = 0; i < lambda.size(); ++i) {
      const C z = lambda(i) / steps_r;
      const C log_one_plus(log1p(Real(2) * z.real() + std::norm(z)) / Real(2), atan2(z.imag(), Real(1) + z.real()));
      x += steps_r * log_one_plus;
    }
    const Real x_size = abs(x);
    // e = expm1(x) without cancellation: e^{a + ib} - 1 = expm1(a) cos b - 2 sin^2(b / 2) + i e^a sin b
    const Real half_sin = sin(x.imag() / Real(2));
    const C e(expm1(x.real()) * cos(x.imag()) - Real(2) * half_sin * half_sin, exp(x.real()) * sin(x.imag()));
    errors[k] = e;
    const C lhs = steps_r * e;
    const Real truncation = steps_r * (sum_abs3 / (Real(3) * steps_r * steps_r * (Real(1) - rho)) +
                                       x_size * x_size * exp(x_size) / Real(2));
    const Real rounding =
        Real(kSafety) * u *
        (steps_r * (Real(4) * sum_abs + Real(2) * dim * sqrt(dim) * norm + dim * detail::diagonal_abs_sum(a)) +
         dim * norm * norm);
    IdentityCheck c;
    c.name = name;
    c.condition = detail::to_double(max_abs);
    c.tolerance = detail::to_double(Real(truncation + rounding));
    detail::set_sides(c, lhs, leading, "abs_error");
    if (abs(leading) > Real(0)) {
      max_relative_deviation = std::max(max_relative_deviation, detail::to_double(Real(abs(lhs / leading - C(1)))));
    }
    const double ratio = c.abs_error / c.tolerance;
    if (!(ratio <= worst_ratio)) {
      worst = c;
      worst_ratio = ratio;
      worst.details = {{"n", steps[k]}};
    }
  }
  if (abs(errors[1]) > Real(0)) {
    detail::add_detail(worst, "ratio_e_n_e_10n", detail::to_double(Real(abs(errors[0] / errors[1]))));
  }
  detail::add_detail(worst, "max_rel_deviation_from_leading_term", max_relative_deviation);
  detail::decide(worst, std::max(1.0, detail::to_double(Real(abs(leading)))), "tolerance above 1e-2 of tr(A^2) / 2");
  return worst;
}

#define ODYN_INSTANTIATE(S)                            \
  template IdentityCheck eigen<S>(const Matrix<S>& a); \
  template IdentityCheck schur<S>(const Matrix<S>& a); \
  template IdentityCheck limit<S>(const Matrix<S>& a);
ODYN_FOR_EACH_IDENTITY_SCALAR(ODYN_INSTANTIATE)
#undef ODYN_INSTANTIATE

}  // namespace odyn::linalg::identities
