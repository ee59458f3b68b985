// log-trace: ln det B = tr ln B (Su, kexue.fm/archives/6377, corollary).
#include <Eigen/Cholesky>
#include <Eigen/Eigenvalues>
#include <Eigen/LU>
#include <cmath>
#include <complex>
#include <string>
#include <unsupported/Eigen/MatrixFunctions>

#include "common.hpp"
#include "odyn/linalg/expm.hpp"
#include "odyn/linalg/slogdet.hpp"

namespace odyn::linalg::identities {

using detail::Complex;

namespace {

// The principal square root of an upper triangular T (Bjorck & Hammarling, Linear Algebra Appl.
// 52/53, 1983): r_ii = sqrt(t_ii), r_ij = (t_ij - sum_{i<k<j} r_ik r_kj) / (r_ii + r_jj).
template <class C>
Matrix<C> triangular_sqrt(const Matrix<C>& t) {
  using std::sqrt;
  const Eigen::Index n = t.rows();
  Matrix<C> r = Matrix<C>::Zero(n, n);
  for (Eigen::Index j = 0; j < n; ++j) {
    r(j, j) = sqrt(t(j, j));
    for (Eigen::Index i = j - 1; i >= 0; --i) {
      C s(0);
      for (Eigen::Index k = i + 1; k < j; ++k) s += r(i, k) * r(k, j);
      r(i, j) = (t(i, j) - s) / (r(i, i) + r(j, j));
    }
  }
  return r;
}

// The principal logarithm of a complex matrix by inverse scaling and squaring on its Schur form
// (Higham, Functions of Matrices, SIAM 2008, ch. 11): T = Q* B Q is square-rooted s times until
// ||T^{1/2^s} - I||_1 <= 1/4, then ln(I + X) = 2 atanh(Z) = 2 sum_k Z^{2k+1} / (2k + 1) with
// Z = (2I + X)^-1 X (||Z|| <= 1/7), summed until the terms fall below u, and ln B = 2^s Q ln(I + X) Q*.
// For scalars whose logarithm Eigen's MatrixFunctions module cannot compute (mp50).
template <class C>
Matrix<C> schur_log(const Matrix<C>& b) {
  using Real = typename C::value_type;
  const Eigen::Index n = b.rows();
  const Eigen::ComplexSchur<Matrix<C>> schur_form(b);
  if (schur_form.info() != Eigen::Success) throw InvalidArgument("identities::log_trace: Schur iteration failed");
  const Matrix<C> identity = Matrix<C>::Identity(n, n);
  Matrix<C> t = schur_form.matrixT();
  int roots = 0;
  for (; detail::norm1<C>(Matrix<C>(t - identity)) > Real(0.25) && roots < 100; ++roots) t = triangular_sqrt(t);
  const Matrix<C> x = t - identity;
  const Matrix<C> z = Matrix<C>(C(2) * identity + x).template triangularView<Eigen::Upper>().solve(x);
  const Matrix<C> z2 = z * z;
  const Real u = unit_roundoff<C>();
  Matrix<C> sum = z, power = z;
  for (int k = 1; k < 1000; ++k) {
    power = power * z2;
    const Matrix<C> term = power / C(Real(2 * k + 1));
    sum += term;
    if (detail::norm1<C>(term) <= u * detail::norm1<C>(sum)) break;
  }
  using std::ldexp;
  const Matrix<C> log_t = sum * C(Real(ldexp(Real(2), roots)));
  return schur_form.matrixU() * log_t * schur_form.matrixU().adjoint();
}

// The principal logarithm: Eigen's MatrixBase::log() (inverse scaling and squaring with Schur-Pade,
// Higham, Functions of Matrices, ch. 11) where it supports the scalar, schur_log otherwise. For a
// real B Eigen returns the real part of the principal logarithm.
template <class Scalar>
Matrix<Complex<Scalar>> principal_log(const Matrix<Scalar>& b) {
  using C = Complex<Scalar>;
  if constexpr (std::is_same_v<real_t<Scalar>, float> || std::is_same_v<real_t<Scalar>, double>) {
    const Matrix<Scalar> l = b.log();
    return l.template cast<C>();
  } else {
    return schur_log<C>(b.template cast<C>());
  }
}

// Compares log det B (given) with tr ln B; tolerance as in routes.hpp.
template <class Scalar>
IdentityCheck compare_log_trace(const std::string& name, const Complex<Scalar>& log_det, const Matrix<Scalar>& b,
                                const real_t<Scalar>& kappa, const std::string& failure) {
  using Real = real_t<Scalar>;
  using C = Complex<Scalar>;
  using std::sqrt;
  const Matrix<C> log_b = principal_log(b);
  if (!detail::all_finite(log_b)) {
    return detail::inconclusive_check(name, "abs_error", "ln B is not finite (B singular in this precision)");
  }
  const Real u = unit_roundoff<Scalar>();
  const Real n = Real(b.rows());
  C trace = log_b.trace();
  if (!detail::is_complex_v<Scalar>) trace = C(trace.real());  // real B: compare ln|det B| with Re tr ln B
  IdentityCheck c;
  c.name = name;
  c.condition = detail::to_double(kappa);
  c.tolerance = detail::to_double(
      Real(Real(kSafety) * u * ((sqrt(n) + n) * kappa + n * detail::diagonal_abs_sum<C>(log_b) + Real(1))));
  detail::set_sides(c, log_det, trace, "abs_error", detail::is_complex_v<Scalar>);
  detail::decide(c, 1.0,
                 "B too ill-conditioned for " + detail::precision_name<Scalar>() +
                     " precision (kappa = " + detail::format_g(c.condition) + ")",
                 failure);
  return c;
}

}  // namespace

template <class Scalar>
IdentityCheck log_trace(const Matrix<Scalar>& a) {
  using Real = real_t<Scalar>;
  using C = Complex<Scalar>;
  using std::abs;
  using std::arg;
  detail::require_input(a, "identities::log_trace");
  const std::string name = "ln det B = tr ln B, B = exp(A)";
  Matrix<Scalar> b, b_inv;
  try {
    b = expm(a);
    b_inv = expm(Matrix<Scalar>(-a));
  } catch (const OverflowError&) {
    return detail::inconclusive_check(name, "abs_error",
                                      "exp(A) or exp(-A) overflows " + detail::precision_name<Scalar>() + " precision");
  }
  if (!detail::all_finite(b) || !detail::all_finite(b_inv)) {
    return detail::inconclusive_check(name, "abs_error",
                                      "exp(A) or exp(-A) overflows " + detail::precision_name<Scalar>() + " precision");
  }
  const SignLogDet<Scalar> sld = slogdet(b);
  const Real phase = detail::is_complex_v<Scalar> ? Real(arg(detail::as_complex<Scalar>(sld.sign))) : Real(0);
  std::string failure;
  if constexpr (!detail::is_complex_v<Scalar>) {
    if (sld.sign < 0) failure = "det(exp A) computed negative";
  }
  IdentityCheck c =
      compare_log_trace(name, C(sld.log_abs, phase), b, Real(detail::norm_fro(b) * detail::norm_fro(b_inv)), failure);
  // ln B = A when the spectrum of A lies in the strip |Im lambda| < pi.
  detail::add_detail(c, "trace_log_minus_trace_A",
                     detail::to_double(Real(abs(C(c.rhs, c.rhs_imag) - detail::as_complex<Scalar>(a.trace())))));
  return c;
}

template <class Scalar>
IdentityCheck log_trace_spd(const Matrix<Scalar>& b) {
  using Real = real_t<Scalar>;
  const std::string where = "identities::log_trace_spd";
  detail::require_input(b, where);
  const Matrix<Scalar> asymmetry = b - b.adjoint();
  if (!(detail::norm_fro(asymmetry) <= Real(4) * unit_roundoff<Scalar>() * detail::norm_fro(b))) {
    throw InvalidArgument(where + ": B is not symmetric (Hermitian)");
  }
  const Eigen::LLT<Matrix<Scalar>> llt(b);
  if (llt.info() != Eigen::Success) throw InvalidArgument(where + ": B is not positive definite");
  const Matrix<Scalar> b_inv = llt.solve(Matrix<Scalar>::Identity(b.rows(), b.cols()));
  return compare_log_trace("ln det B = tr ln B, B positive definite", Complex<Scalar>(logdet_spd(b)), b,
                           Real(detail::norm_fro(b) * detail::norm_fro(b_inv)), "");
}

#define ODYN_INSTANTIATE(S)                                \
  template IdentityCheck log_trace<S>(const Matrix<S>& a); \
  template IdentityCheck log_trace_spd<S>(const Matrix<S>& b);
ODYN_FOR_EACH_IDENTITY_SCALAR(ODYN_INSTANTIATE)
#undef ODYN_INSTANTIATE

}  // namespace odyn::linalg::identities
