// Sign and logarithm of the determinant, without overflow or underflow.
#pragma once

#include <Eigen/Cholesky>
#include <Eigen/LU>
#include <cmath>
#include <complex>
#include <limits>

#include "odyn/core/error.hpp"
#include "odyn/core/validate.hpp"

namespace odyn::linalg {

// det(A) = sign * exp(log_abs). For real A, sign is -1, 0 or +1; for complex A it is the phase
// det(A) / |det(A)|. A singular matrix has sign 0 and log_abs = -infinity.
template <class Scalar>
struct SignLogDet {
  Scalar sign;
  typename Eigen::NumTraits<Scalar>::Real log_abs;
};

// slogdet from LU factors P A = L U: log|det A| = sum_i log|u_ii|, and the sign is the
// permutation's parity times the product of the pivots' phases (the numpy.linalg.slogdet
// convention).
template <class MatrixType>
SignLogDet<typename MatrixType::Scalar> slogdet(const Eigen::PartialPivLU<MatrixType>& lu) {
  using Scalar = typename MatrixType::Scalar;
  using Real = typename Eigen::NumTraits<Scalar>::Real;
  using std::abs;
  using std::log;
  SignLogDet<Scalar> r{Scalar(lu.permutationP().determinant()), Real(0)};
  for (Eigen::Index i = 0; i < lu.matrixLU().rows(); ++i) {
    const Scalar pivot = lu.matrixLU()(i, i);
    const Real magnitude = abs(pivot);
    if (magnitude == Real(0)) return {Scalar(0), -std::numeric_limits<Real>::infinity()};
    r.sign *= pivot / magnitude;
    r.log_abs += log(magnitude);
  }
  return r;
}

// slogdet(A) by LU with partial pivoting. Throws odyn::InvalidArgument for empty, non-square or
// non-finite A.
template <class Derived>
SignLogDet<typename Derived::Scalar> slogdet(const Eigen::MatrixBase<Derived>& a) {
  require_nonempty(a, "slogdet");
  require_square(a, "slogdet");
  require_finite(a, "slogdet");
  return slogdet(
      Eigen::PartialPivLU<Eigen::Matrix<typename Derived::Scalar, Eigen::Dynamic, Eigen::Dynamic>>(a.eval()));
}

// log det(A) for a symmetric (Hermitian) positive definite A by Cholesky: 2 sum_i log l_ii.
// Only the lower triangle is read. Throws odyn::InvalidArgument if A is empty, non-square,
// non-finite or not numerically positive definite.
template <class Derived>
typename Eigen::NumTraits<typename Derived::Scalar>::Real logdet_spd(const Eigen::MatrixBase<Derived>& a) {
  using Scalar = typename Derived::Scalar;
  using Real = typename Eigen::NumTraits<Scalar>::Real;
  using std::log;
  require_nonempty(a, "logdet_spd");
  require_square(a, "logdet_spd");
  require_finite(a, "logdet_spd");
  const Eigen::LLT<Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>> llt(a.eval());
  if (llt.info() != Eigen::Success) throw InvalidArgument("logdet_spd: matrix is not positive definite");
  Real sum(0);
  for (Eigen::Index i = 0; i < a.rows(); ++i) sum += log(Eigen::numext::real(llt.matrixLLT()(i, i)));
  return Real(2) * sum;
}

}  // namespace odyn::linalg
