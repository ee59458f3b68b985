// Helpers shared by the identity routes (src/linalg/identities/*.cpp): scalar traits, norms, and
// turning two computed sides and a tolerance into an IdentityCheck.
#pragma once

#include <Eigen/Core>
#include <boost/math/constants/constants.hpp>
#include <cmath>
#include <complex>
#include <cstdio>
#include <limits>
#include <string>

#include "odyn/core/error.hpp"
#include "odyn/core/validate.hpp"
#include "odyn/linalg/identities/routes.hpp"
#include "odyn/linalg/scalar.hpp"

// Applies X to each scalar type the routes are instantiated for.
#define ODYN_FOR_EACH_IDENTITY_SCALAR(X) X(float) X(double) X(std::complex<double>) X(odyn::mp50)

namespace odyn::linalg::identities::detail {

template <class Scalar>
inline constexpr bool is_complex_v = Eigen::NumTraits<Scalar>::IsComplex;

template <class Scalar>
using Complex = std::complex<real_t<Scalar>>;

template <class Scalar>
using Vector = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;

template <class Scalar>
void require_input(const Matrix<Scalar>& a, const std::string& where) {
  require_nonempty(a, where);
  require_square(a, where);
  require_finite(a, where);
}

// A scalar as a complex number of its real type.
template <class Scalar>
Complex<Scalar> as_complex(const Scalar& x) {
  return Complex<Scalar>(x);
}

template <class Real>
double to_double(const Real& x) {
  return static_cast<double>(x);
}

template <class Scalar>
real_t<Scalar> norm1(const Matrix<Scalar>& a) {
  return a.cwiseAbs().colwise().sum().maxCoeff();
}

template <class Scalar>
real_t<Scalar> norm_inf(const Matrix<Scalar>& a) {
  return a.cwiseAbs().rowwise().sum().maxCoeff();
}

// Frobenius norm, scaled by the largest entry so that it neither overflows nor underflows.
template <class Scalar>
real_t<Scalar> norm_fro(const Matrix<Scalar>& a) {
  using Real = real_t<Scalar>;
  const Real big = a.cwiseAbs().maxCoeff();
  if (!(big > Real(0))) return big;
  return big * (a / Scalar(big)).norm();
}

// The matrix in double (complex<double> for complex scalars), for quantities that only size a
// tolerance: Eigen's SVD and symmetric eigensolver need IEEE special values, which mp50 lacks.
template <class Scalar>
auto to_plain(const Matrix<Scalar>& a) {
  using Plain = std::conditional_t<is_complex_v<Scalar>, std::complex<double>, double>;
  return Matrix<Plain>(a.unaryExpr([](const Scalar& x) {
    if constexpr (is_complex_v<Scalar>) {
      return Plain(static_cast<double>(x.real()), static_cast<double>(x.imag()));
    } else {
      return static_cast<double>(x);
    }
  }));
}

template <class Scalar>
real_t<Scalar> diagonal_abs_sum(const Matrix<Scalar>& a) {
  return a.diagonal().cwiseAbs().sum();
}

template <class Scalar>
bool all_finite(const Matrix<Scalar>& a) {
  for (Eigen::Index j = 0; j < a.cols(); ++j) {
    for (Eigen::Index i = 0; i < a.rows(); ++i) {
      if (!(Eigen::numext::isfinite)(a(i, j))) return false;
    }
  }
  return true;
}

// log of the largest finite value less a margin: exp of anything below stays finite and normal
// after a few multiplications (699.8 for double, 78.7 for float).
template <class Real>
Real log_range() {
  using std::log;
  return log((std::numeric_limits<Real>::max)()) - Real(10);
}

// x reduced modulo 2 pi into [-pi, pi].
template <class Real>
Real wrap_angle(const Real& x) {
  using std::round;
  const Real two_pi = boost::math::constants::two_pi<Real>();
  return x - two_pi * Real(round(x / two_pi));
}

// "single", "double" or "50-digit": the precision named in notes.
template <class Scalar>
std::string precision_name() {
  if constexpr (std::numeric_limits<real_t<Scalar>>::digits <= 24) {
    return "single";
  } else if constexpr (std::numeric_limits<real_t<Scalar>>::digits <= 53) {
    return "double";
  } else {
    return "50-digit";
  }
}

inline std::string format_g(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3g", v);
  return text;
}

// Fills the sides and errors of a check. `wrap_phase`: the imaginary parts are logarithms'
// arguments, compared modulo 2 pi.
template <class Real>
void set_sides(IdentityCheck& c, const std::complex<Real>& lhs, std::complex<Real> rhs, const std::string& metric,
               bool wrap_phase = false) {
  using std::abs;
  if (wrap_phase) rhs = std::complex<Real>(rhs.real(), wrap_angle(rhs.imag()));
  std::complex<Real> diff = lhs - rhs;
  if (wrap_phase) diff = std::complex<Real>(diff.real(), wrap_angle(diff.imag()));
  const Real abs_error = abs(diff), rhs_size = abs(rhs);
  c.lhs = to_double(lhs.real());
  c.lhs_imag = to_double(lhs.imag());
  c.rhs = to_double(rhs.real());
  c.rhs_imag = to_double(rhs.imag());
  c.abs_error = to_double(abs_error);
  c.rel_error = to_double(rhs_size != Real(0) ? Real(abs_error / rhs_size) : abs_error);
  c.metric = metric;
}

inline double bounded_error(const IdentityCheck& c) {
  return c.metric == "rel_error" ? c.rel_error : c.abs_error;
}

// Decides a check whose sides, tolerance and condition are set. In this order: a tolerance above
// kInconclusiveTolerance * scale (scale: the size of the compared quantity; 1 for relative errors)
// is inconclusive, with `inconclusive_why`; a non-empty `failure` fails; then error <= tolerance.
inline void decide(IdentityCheck& c, double scale, const std::string& inconclusive_why,
                   const std::string& failure = "") {
  if (!(c.tolerance <= kInconclusiveTolerance * scale)) {
    c.note = "inconclusive: " + inconclusive_why;
  } else if (!failure.empty()) {
    c.note = failure;
  } else if (!(bounded_error(c) <= c.tolerance)) {
    c.note = "error exceeds tolerance";
  }
  c.passed = c.note.empty();
}

// A check that could not compare anything (an overflow): not passed, NaN numbers.
inline IdentityCheck inconclusive_check(const std::string& name, const std::string& metric, const std::string& why) {
  IdentityCheck c;
  c.name = name;
  c.metric = metric;
  c.lhs = c.rhs = c.abs_error = c.rel_error = c.tolerance = c.condition = std::numeric_limits<double>::quiet_NaN();
  c.note = "inconclusive: " + why;
  return c;
}

inline void add_detail(IdentityCheck& c, const std::string& name, double value) {
  c.details.push_back({name, value});
}

}  // namespace odyn::linalg::identities::detail
