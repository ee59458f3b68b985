// The matrix exponential exp(A) = sum_k A^k / k!.
#pragma once

#include <Eigen/Core>
#include <unsupported/Eigen/MatrixFunctions>

#include "odyn/core/validate.hpp"

namespace odyn::linalg {

// exp(A) for a square matrix of float, double, long double or complex entries, by scaling and
// squaring with Pade approximants (Higham, SIAM J. Matrix Anal. Appl. 26(4), 2005), currently as
// implemented by Eigen's MatrixFunctions module. Throws odyn::InvalidArgument if A is not square
// or has a non-finite entry.
template <class Derived>
Eigen::Matrix<typename Derived::Scalar, Eigen::Dynamic, Eigen::Dynamic> expm(const Eigen::MatrixBase<Derived>& a) {
  require_square(a, "expm");
  require_finite(a, "expm");
  using Matrix = Eigen::Matrix<typename Derived::Scalar, Eigen::Dynamic, Eigen::Dynamic>;
  const Matrix m = a;
  return m.exp();
}

}  // namespace odyn::linalg
