// Square roots of symmetric positive semidefinite matrices, and tr((S1^1/2 S2 S1^1/2)^1/2), the
// term of the Gaussian 2-Wasserstein distance and of FID.
#pragma once

#include <Eigen/Core>

namespace odyn::linalg {

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
