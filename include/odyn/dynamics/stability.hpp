// Linear stability of optimizers on quadratics, and the sharpness (top Hessian eigenvalue) of a
// problem for watching the edge of stability. See docs/dynamics.md.
#pragma once

#include <Eigen/Core>
#include <cstdint>

#include "odyn/dynamics/problems.hpp"

namespace odyn::dynamics {

// Gradient descent on L = k x^2 / 2 multiplies x by 1 - h k: stable iff 0 < h k < 2.
inline double gd_stability_limit(double curvature) {
  return 2 / curvature;
}

// Heavy ball (16) on L = k x^2 / 2 maps (x, v) by [[1 - alpha k, beta], [-alpha k, beta]].
Eigen::Matrix2d heavy_ball_iteration_matrix(double beta, double alpha, double curvature);
double heavy_ball_spectral_radius(double beta, double alpha, double curvature);
// The Jury criterion for mu^2 - (1 - alpha k + beta) mu + beta: stable iff |beta| < 1 and
// 0 < alpha k < 2 (1 + beta).
inline bool heavy_ball_stable(double beta, double alpha, double curvature) {
  const double ak = alpha * curvature;
  return beta > -1 && beta < 1 && ak > 0 && ak < 2 * (1 + beta);
}
inline double heavy_ball_stability_limit(double beta, double curvature) {
  return 2 * (1 + beta) / curvature;
}

// The largest eigenvalue of the Hessian of `problem` at x by Lanczos on Hessian-vector products
// (full reorthogonalisation, `steps` products, start vector from `seed`); stops early when the
// Krylov space is exhausted (a start vector orthogonal to the top eigenvector cannot see it; a random
// one is, with probability one, not). Throws odyn::InvalidArgument for a point of the wrong size or steps < 1.
struct Sharpness {
  double value = 0;     // the top Ritz value
  double residual = 0;  // |beta_m e_m^T y|: the residual norm of the top Ritz pair
  int products = 0;
};
Sharpness sharpness(const Problem& problem, const Vector& x, int steps = 20, std::uint64_t seed = 0);

}  // namespace odyn::dynamics
