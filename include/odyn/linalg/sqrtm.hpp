// Matrix square roots: the principal square root of a general square matrix (Schur method), the
// PSD square root of a symmetric positive semidefinite matrix, and tr((S1^1/2 S2 S1^1/2)^1/2), the
// term of the Gaussian 2-Wasserstein distance and of FID.
#pragma once

#include <Eigen/Core>
#include <complex>
#include <string>
#include <vector>

#include "odyn/linalg/scalar.hpp"

namespace odyn::linalg {

namespace detail {

template <class Scalar>
using Dense = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;

// A = Q T Q^*. For complex scalars T is upper triangular (complex Schur form); for real scalars T
// is quasi-upper-triangular (real Schur form) with a 2x2 diagonal block for each pair of complex
// conjugate eigenvalues and exact zeros below its block diagonal. Block b occupies rows and columns
// starts[b] .. starts[b + 1] - 1.
template <class Scalar>
struct SchurForm {
  Dense<Scalar> q, t;
  std::vector<Eigen::Index> starts;
};

// The Schur form of A, for functions defined off the closed negative real axis. Throws
// odyn::InvalidArgument naming `where` if A is empty, non-square or non-finite, or if an eigenvalue
// lies on the closed negative real axis (0 included) or within n u ||A||_F of it.
template <class Scalar>
SchurForm<Scalar> schur_off_negative_axis(const Dense<Scalar>& a, const std::string& where);

// The principal square root of a matrix T in the form SchurForm::t: the block recurrence
// R_ii^2 = T_ii, R_ii R_ij + R_ij R_jj = T_ij - sum_{i<k<j} R_ik R_kj (Bjorck & Hammarling 1983;
// Higham 1987; Higham, Functions of Matrices, SIAM 2008, Algorithms 6.3 and 6.7).
// The eigenvalue theta + i mu (mu > 0) of the 2x2 diagonal block of a real Schur factor at (i, i).
template <class Real>
std::complex<Real> block_eigenvalue(const Dense<Real>& t, Eigen::Index i);

template <class Scalar>
Dense<Scalar> sqrtm_quasi_triangular(const Dense<Scalar>& t, const std::vector<Eigen::Index>& starts);

template <class Scalar>
Dense<Scalar> sqrtm_schur(const Dense<Scalar>& a);

}  // namespace detail

// The principal square root X of A (X^2 = A, every eigenvalue of X in the open right half-plane)
// by the Schur method: A = Q T Q^*, X = Q sqrt(T) Q^*. Real A gives a real X: the real Schur form
// is used, with the square root of each 2x2 block (eigenvalues theta +- i mu) in closed form
// alpha I + (T_ii - theta I) / (2 alpha), alpha = Re sqrt(theta + i mu). Scalars: float, double,
// std::complex<double> and odyn::mp50 (instantiated in the library). The computed X satisfies
// ||X^2 - A||_F <= c n u ||X||_F^2 (Higham 2008, Sec. 6.2). Throws odyn::InvalidArgument if A is
// empty, non-square or non-finite, or has an eigenvalue on the closed negative real axis (no
// principal square root; a zero eigenvalue makes A singular), naming the eigenvalue.
template <class Derived>
detail::Dense<typename Derived::Scalar> sqrtm(const Eigen::MatrixBase<Derived>& a) {
  return detail::sqrtm_schur<typename Derived::Scalar>(detail::Dense<typename Derived::Scalar>(a));
}

// The PSD square root V diag(sqrt(l)) V^T of a symmetric positive semidefinite S, from its
// eigendecomposition, returned exactly symmetric. Eigenvalues with |l| <= tol = n u max|l| are
// rounding noise and are set to 0 (sqrt would turn noise of size u into sqrt(u)). Throws odyn::InvalidArgument if S is
// empty, non-square, non-finite, not symmetric (to n u ||S||_max) or has an eigenvalue below -tol.
Eigen::MatrixXd sqrtm_spd(const Eigen::MatrixXd& s);

// tr((S1^1/2 S2 S1^1/2)^1/2) for symmetric PSD S1, S2 of the same size, computed as
// sum_i sqrt(mu_i) over the eigenvalues mu_i of the symmetric PSD matrix S1^1/2 S2 S1^1/2
// (similar to S1 S2), with rounding-level mu_i set to 0 as in sqrtm_spd. It never forms the square root
// of the non-symmetric product S1 S2, the step that returns complex or NaN results for
// rank-deficient covariances. Throws as sqrtm_spd does, and if the sizes differ.
double trace_sqrt_product(const Eigen::MatrixXd& s1, const Eigen::MatrixXd& s2);

}  // namespace odyn::linalg
