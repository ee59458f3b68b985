// The principal matrix logarithm.
#pragma once

#include <Eigen/Core>
#include <vector>

#include "odyn/linalg/sqrtm.hpp"

namespace odyn::linalg {

namespace detail {

template <class Scalar>
Dense<Scalar> logm_schur(const Dense<Scalar>& a);

template <class Scalar>
Dense<Scalar> logm_spd_eigen(const Dense<Scalar>& s);

// theta_m for m = 1..m_max, the thresholds logm uses for the real type (see logm).
template <class Real>
const std::vector<Real>& logm_pade_thresholds();

}  // namespace detail

// The principal logarithm X = log A (e^X = A, every eigenvalue of X with imaginary part in
// (-pi, pi)) by inverse scaling and squaring on the Schur form A = Q T Q^* (Higham, Functions of
// Matrices, SIAM 2008, Sec. 11.5; Al-Mohy & Higham, SIAM J. Sci. Comput. 34(4), 2012): s square
// roots bring T^(1/2^s) close to I, then log T = 2^s r_m(T^(1/2^s) - I) with the Pade approximant
// r_m(X) = sum_j w_j (I + s_j X)^-1 X from the m-point Gauss-Legendre rule (s_j, w_j) on [0, 1].
// m and s are chosen from ||X^k||^(1/k), k = 2..5, so that the Pade error is at most u ||X||
// (Kenney & Laub's bound) for the scalar's unit roundoff u. The diagonal blocks and first
// superdiagonal of T^(1/2^s) - I and of the result are computed directly from T, without the
// cancellation of repeated square roots. Real A gives a real X (real Schur form). Scalars: float,
// double, std::complex<double> and odyn::mp50. Throws odyn::InvalidArgument if A is empty,
// non-square or non-finite, or has an eigenvalue on the closed negative real axis (0 included).
template <class Derived>
detail::Dense<typename Derived::Scalar> logm(const Eigen::MatrixBase<Derived>& a) {
  return detail::logm_schur<typename Derived::Scalar>(detail::Dense<typename Derived::Scalar>(a));
}

// log S = V diag(log l) V^* for a symmetric (Hermitian) positive definite S from its
// eigendecomposition, returned exactly symmetric. Scalars: float, double and std::complex<double>. Throws
// odyn::InvalidArgument if S is empty, non-square, non-finite, not symmetric (to n u ||S||_max) or
// has an eigenvalue <= 0.
template <class Derived>
detail::Dense<typename Derived::Scalar> logm_spd(const Eigen::MatrixBase<Derived>& s) {
  return detail::logm_spd_eigen<typename Derived::Scalar>(detail::Dense<typename Derived::Scalar>(s));
}

}  // namespace odyn::linalg
