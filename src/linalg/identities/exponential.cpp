// Routes that compare matrix exponentials directly: direct, inverse, commuting.
#include <Eigen/LU>
#include <cmath>
#include <complex>
#include <string>

#include "common.hpp"
#include "odyn/linalg/expm.hpp"
#include "odyn/linalg/slogdet.hpp"

namespace odyn::linalg::identities {

using detail::Complex;

template <class Scalar>
IdentityCheck direct(const Matrix<Scalar>& a) {
  using Real = real_t<Scalar>;
  using std::abs;
  using std::arg;
  using std::exp;
  using std::sqrt;
  detail::require_input(a, "identities::direct");
  const std::string name = "det(exp A) = exp(tr A)";
  const std::string overflow = "exp(A) or exp(-A) overflows " + detail::precision_name<Scalar>() + " precision";
  Matrix<Scalar> x, x_inv;
  try {
    x = expm(a);
    x_inv = expm(Matrix<Scalar>(-a));
  } catch (const OverflowError&) {
    return detail::inconclusive_check(name, "rel_error", overflow);
  }
  if (!detail::all_finite(x) || !detail::all_finite(x_inv))
    return detail::inconclusive_check(name, "rel_error", overflow);

  const Real u = unit_roundoff<Scalar>();
  const Real n = Real(a.rows());
  const Real kappa = detail::norm_fro(x) * detail::norm_fro(x_inv);
  const Complex<Scalar> trace = detail::as_complex<Scalar>(a.trace());
  const Eigen::PartialPivLU<Matrix<Scalar>> lu(x);
  const SignLogDet<Scalar> sld = slogdet(lu);
  const Complex<Scalar> det = detail::as_complex<Scalar>(lu.determinant());

  IdentityCheck c;
  c.condition = detail::to_double(kappa);
  c.tolerance = detail::to_double(
      Real(Real(kDetExpTraceSafety) * u *
           (sqrt(n) * kappa + Real(kExpmErrorPerNorm) * detail::norm1(a) + n * detail::diagonal_abs_sum(a) + Real(1))));
  const Real range = detail::log_range<Real>();
  if (abs(trace.real()) <= range && abs(sld.log_abs) <= range && abs(det) >= (std::numeric_limits<Real>::min)()) {
    c.name = name;
    detail::set_sides(c, det, Complex<Scalar>(exp(trace)), "rel_error");
  } else {
    // log det exp(A) = log|det| + i arg(det) against tr A; the absolute difference is the relative
    // error of the determinant.
    const Real phase = detail::is_complex_v<Scalar> ? Real(arg(detail::as_complex<Scalar>(sld.sign))) : Real(0);
    c.name = detail::is_complex_v<Scalar> ? "log det exp A = tr A (mod 2 pi i)" : "log|det exp A| = tr A";
    detail::set_sides(c, Complex<Scalar>(sld.log_abs, phase), trace, "abs_error", detail::is_complex_v<Scalar>);
  }
  std::string failure;
  if constexpr (!detail::is_complex_v<Scalar>) {
    if (sld.sign < 0) failure = "det(exp A) computed negative";  // exp(A) of a real A has det > 0
  }
  detail::decide(c, 1.0,
                 "exp(A) too ill-conditioned for " + detail::precision_name<Scalar>() +
                     " precision (kappa = " + detail::format_g(c.condition) + ")",
                 failure);
  return c;
}

template <class Scalar>
IdentityCheck inverse(const Matrix<Scalar>& a) {
  using Real = real_t<Scalar>;
  using std::sqrt;
  detail::require_input(a, "identities::inverse");
  const std::string name = "exp(A) exp(-A) = I";
  const std::string overflow = "exp(A) or exp(-A) overflows " + detail::precision_name<Scalar>() + " precision";
  Matrix<Scalar> x, y;
  try {
    x = expm(a);
    y = expm(Matrix<Scalar>(-a));
  } catch (const OverflowError&) {
    return detail::inconclusive_check(name, "abs_error", overflow);
  }
  if (!detail::all_finite(x) || !detail::all_finite(y)) return detail::inconclusive_check(name, "abs_error", overflow);

  const Real u = unit_roundoff<Scalar>();
  const Real n = Real(a.rows());
  const Real kappa = detail::norm_fro(x) * detail::norm_fro(y);
  const Matrix<Scalar> residual = x * y - Matrix<Scalar>::Identity(a.rows(), a.cols());
  IdentityCheck c;
  c.name = name;
  c.condition = detail::to_double(kappa);
  c.tolerance = detail::to_double(
      Real(Real(kSafety) * u * (Real(2) * (Real(kExpmErrorPerNorm) * detail::norm1(a) + Real(1)) + n) * kappa));
  detail::set_sides(c, Complex<Scalar>(detail::norm_fro(residual)), Complex<Scalar>(0), "abs_error");
  detail::decide(c, detail::to_double(Real(sqrt(n))),
                 "exp(A) too ill-conditioned for " + detail::precision_name<Scalar>() +
                     " precision (kappa = " + detail::format_g(c.condition) + ")");
  return c;
}

namespace {

// ||e^{P+Q} - e^P e^Q||_F / ||e^{P+Q}||_F and the rounding bound it would meet if P and Q commuted.
template <class Scalar>
struct ProductDifference {
  real_t<Scalar> difference, tolerance, condition;
};

template <class Scalar>
ProductDifference<Scalar> product_difference(const Matrix<Scalar>& p, const Matrix<Scalar>& q) {
  using Real = real_t<Scalar>;
  const Real u = unit_roundoff<Scalar>();
  const Real n = Real(p.rows());
  const Matrix<Scalar> sum = p + q;
  const Matrix<Scalar> e_sum = expm(sum), e_p = expm(p), e_q = expm(q);
  if (!detail::all_finite(e_sum) || !detail::all_finite(e_p) || !detail::all_finite(e_q)) throw OverflowError("");
  const Real size = detail::norm_fro(e_sum);
  ProductDifference<Scalar> d;
  d.difference = detail::norm_fro(Matrix<Scalar>(e_sum - e_p * e_q)) / size;
  d.condition = detail::norm_fro(e_p) * detail::norm_fro(e_q) / size;
  const Real c_exp = Real(kExpmErrorPerNorm);
  d.tolerance = Real(kSafety) * u *
                ((c_exp * detail::norm1(sum) + Real(1)) +
                 (c_exp * (detail::norm1(p) + detail::norm1(q)) + Real(2) + n) * d.condition);
  return d;
}

}  // namespace

template <class Scalar>
IdentityCheck commuting(const Matrix<Scalar>& a) {
  using Real = real_t<Scalar>;
  detail::require_input(a, "identities::commuting");
  const std::string name = "exp(A + B) = exp(A) exp(B) for AB = BA";
  const Eigen::Index n = a.rows();
  const Real u = unit_roundoff<Scalar>();
  const Matrix<Scalar> identity = Matrix<Scalar>::Identity(n, n);
  const Matrix<Scalar> b = Scalar(0.3) * a * a - Scalar(0.5) * a + Scalar(0.2) * identity;
  Matrix<Scalar> c_mat = Matrix<Scalar>::Zero(n, n);  // diag(1..n)/n + upper shift
  for (Eigen::Index i = 0; i < n; ++i) {
    c_mat(i, i) = Scalar(Real(i + 1) / Real(n));
    if (i + 1 < n) c_mat(i, i + 1) = Scalar(1);
  }
  ProductDifference<Scalar> with_b, with_c;
  try {
    with_b = product_difference(a, b);
    with_c = product_difference(a, c_mat);
  } catch (const OverflowError&) {
    return detail::inconclusive_check(
        name, "abs_error", "a matrix exponential overflows " + detail::precision_name<Scalar>() + " precision");
  }
  const Real commutator_b = detail::norm_fro(Matrix<Scalar>(a * b - b * a));
  const Real commutator_c = detail::norm_fro(Matrix<Scalar>(a * c_mat - c_mat * a));
  // Two computed products each err by at most n u ||A||_F ||C||_F.
  const Real commutator_rounding = Real(kSafety) * Real(2 * n) * u * detail::norm_fro(a) * detail::norm_fro(c_mat);

  IdentityCheck c;
  c.name = name;
  c.condition = detail::to_double(with_b.condition);
  c.tolerance = detail::to_double(with_b.tolerance);
  detail::set_sides(c, Complex<Scalar>(with_b.difference), Complex<Scalar>(0), "abs_error");
  detail::add_detail(c, "noncommuting_difference", detail::to_double(with_c.difference));
  detail::add_detail(c, "noncommuting_tolerance", detail::to_double(with_c.tolerance));
  detail::add_detail(c, "commutator_AB", detail::to_double(commutator_b));
  detail::add_detail(c, "commutator_AC", detail::to_double(commutator_c));
  std::string failure;
  const bool test_noncommuting = commutator_c > commutator_rounding;
  if (test_noncommuting && !(with_c.tolerance <= Real(kInconclusiveTolerance))) {
    c.note = "inconclusive: exp(A + C) too ill-conditioned to tell exp(A + C) from exp(A) exp(C)";
    return c;
  }
  if (test_noncommuting && !(with_c.difference > Real(10) * with_c.tolerance)) {
    failure = "exp(A + C) = exp(A) exp(C) to rounding although AC != CA";
  }
  detail::decide(c, 1.0,
                 "exp(A), exp(B) too ill-conditioned for " + detail::precision_name<Scalar>() +
                     " precision (||e^A|| ||e^B|| / ||e^(A+B)|| = " + detail::format_g(c.condition) + ")",
                 failure);
  return c;
}

#define ODYN_INSTANTIATE(S)                              \
  template IdentityCheck direct<S>(const Matrix<S>& a);  \
  template IdentityCheck inverse<S>(const Matrix<S>& a); \
  template IdentityCheck commuting<S>(const Matrix<S>& a);
ODYN_FOR_EACH_IDENTITY_SCALAR(ODYN_INSTANTIATE)
#undef ODYN_INSTANTIATE

}  // namespace odyn::linalg::identities
