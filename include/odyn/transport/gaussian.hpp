// Closed forms between Gaussian measures: the 2-Wasserstein (Bures-Wasserstein) distance, the
// Frechet distance of two samples (the FID formula) and the Kullback-Leibler divergence.
#pragma once

#include <Eigen/Core>

#include "odyn/transport/common.hpp"

namespace odyn::transport {

// W2(N(m1, S1), N(m2, S2)), the distance (not its square), for symmetric positive semidefinite
// S1, S2 (singular allowed):
//   W2^2 = |m1 - m2|^2 + tr S1 + tr S2 - 2 tr (S1^1/2 S2 S1^1/2)^1/2
// (Dowson & Landau 1982; Olkin & Pukelsheim 1982; Givens & Shortt 1984), with the trace term from
// odyn::linalg::trace_sqrt_product. The bracket is clamped at 0 before the square root (rounding
// can make it about -eps (tr S1 + tr S2)), so equal Gaussians give W2 of order
// sqrt(eps (tr S1 + tr S2)), not exactly 0. Throws odyn::InvalidArgument if the means are empty or
// differ in length, a covariance is not square of that size, an entry is not finite, or a
// covariance is not symmetric (to 8 d eps max|S|) or has an eigenvalue below -d eps max|eig|.
double bures_wasserstein(const VectorRef& m1, const Eigen::Ref<const Matrix>& s1, const VectorRef& m2,
                         const Eigen::Ref<const Matrix>& s2);

// The sample mean and the unbiased (n - 1) sample covariance of a point cloud.
struct SampleMoments {
  Vector mean;        // length d
  Matrix covariance;  // d x d, (1/(n-1)) sum_i (x_i - mean)(x_i - mean)^T, exactly symmetric
};

// The moments of the rows of x, by two passes (mean, then centred products). Throws
// odyn::InvalidArgument if x has fewer than 2 points, no coordinates, or a non-finite entry.
SampleMoments sample_moments(const PointsRef& x);

// The Frechet distance between two samples as FID reports it (Heusel, Ramsauer, Unterthiner,
// Nessler & Hochreiter 2017):
//   |mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1 S2)^1/2)
// with the samples' means and unbiased covariances (sample_moments): the SQUARED W2 between the
// fitted Gaussians, i.e. bures_wasserstein(mu1, S1, mu2, S2)^2, clamped at 0. The trace of
// (S1 S2)^1/2 is computed as tr (S1^1/2 S2 S1^1/2)^1/2 (similar matrices), never forming the square
// root of the non-symmetric product. Throws odyn::InvalidArgument for fewer than 2 points in a
// sample, a non-finite entry, or different dimensions.
double frechet_distance(const PointsRef& x, const PointsRef& y);

// KL(N(m1, S1) || N(m2, S2)) for symmetric positive definite S1, S2 (Kullback 1959; e.g. Pardo,
// Statistical Inference Based on Divergence Measures, 2006, p. 45):
//   (1/2) [tr(S2^-1 S1) + (m2 - m1)^T S2^-1 (m2 - m1) - d + ln det S2 - ln det S1],
// from the Cholesky factors S = L L^T: tr(S2^-1 S1) = |L2^-1 L1|_F^2, the quadratic form
// |L2^-1 (m2 - m1)|^2, ln det S = 2 sum ln L_ii. Clamped at 0 (rounding can give -eps d). Not
// symmetric in its arguments. Throws odyn::InvalidArgument for empty or mismatched sizes,
// non-finite entries, a non-symmetric covariance (to 8 d eps max|S|), or one that is not positive
// definite (the Cholesky factorisation fails).
double gaussian_kl(const VectorRef& m1, const Eigen::Ref<const Matrix>& s1, const VectorRef& m2,
                   const Eigen::Ref<const Matrix>& s2);

}  // namespace odyn::transport
