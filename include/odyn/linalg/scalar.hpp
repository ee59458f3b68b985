// Scalar types the templated linear algebra accepts, and their precision.
//
// Every templated routine in odyn::linalg works for float, double, long double, their std::complex
// versions, ceres::Jet (forward-mode derivatives; include <ceres/jet.h> first) and odyn::mp50,
// a 50-decimal-digit binary float used for reference values.
#pragma once

#include <Eigen/Core>
#include <boost/multiprecision/cpp_bin_float.hpp>
#include <boost/multiprecision/eigen.hpp>
#include <complex>
#include <limits>
#include <type_traits>

namespace odyn {

// 50 significant decimal digits (166-bit significand), Eigen-compatible.
using mp50 = boost::multiprecision::cpp_bin_float_50;

namespace linalg {

// The real type underneath a scalar: double for double, std::complex<double> and ceres::Jet<double, N>.
template <class Scalar, class = void>
struct real_of {
  using type = typename Eigen::NumTraits<Scalar>::Real;
};
template <class Scalar>
using real_t = typename real_of<Scalar>::type;

// The underlying floating type whose precision governs an algorithm: for ceres::Jet<T, N> this is T.
template <class Real, class = void>
struct value_of {
  using type = Real;
};
template <class Real>
struct value_of<Real, std::void_t<decltype(std::declval<Real>().a), decltype(std::declval<Real>().v)>> {
  using type = typename value_of<std::decay_t<decltype(std::declval<Real>().a)>>::type;
};
template <class Scalar>
using value_t = typename value_of<real_t<Scalar>>::type;

// Unit roundoff u = eps / 2 of the scalar's working precision.
template <class Scalar>
value_t<Scalar> unit_roundoff() {
  return std::numeric_limits<value_t<Scalar>>::epsilon() / 2;
}

// The plain floating value of a real scalar (drops a Jet's derivative part).
template <class Real>
value_t<Real> value_part(const Real& x) {
  if constexpr (std::is_same_v<Real, value_t<Real>>) {
    return x;
  } else {
    return value_part(x.a);
  }
}

}  // namespace linalg
}  // namespace odyn
