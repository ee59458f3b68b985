#include "odyn/dynamics/stability.hpp"

#include <Eigen/Eigenvalues>
#include <cmath>
#include <random>

#include "odyn/core/error.hpp"

namespace odyn::dynamics {

Eigen::Matrix2d heavy_ball_iteration_matrix(double beta, double alpha, double curvature) {
  Eigen::Matrix2d m;
  m << 1 - alpha * curvature, beta, -alpha * curvature, beta;
  return m;
}

double heavy_ball_spectral_radius(double beta, double alpha, double curvature) {
  return heavy_ball_iteration_matrix(beta, alpha, curvature).eigenvalues().cwiseAbs().maxCoeff();
}

Sharpness sharpness(const Problem& problem, const Vector& x, int steps, std::uint64_t seed) {
  problem.check_point(x, "sharpness");
  if (steps < 1) throw InvalidArgument("sharpness: steps must be >= 1");
  const Eigen::Index n = problem.dim();
  const int m_max = static_cast<int>(std::min<Eigen::Index>(steps, n));
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  Matrix q(n, m_max + 1);
  Vector q0(n);
  for (Eigen::Index i = 0; i < n; ++i) q0[i] = normal(rng);
  q.col(0) = q0.normalized();
  Vector alpha(m_max), beta(m_max);
  Vector w;
  int m = 0;
  Sharpness out;
  for (; m < m_max; ++m) {
    problem.hessian_vector(x, q.col(m), w);
    ++out.products;
    if (!w.allFinite()) throw InvalidArgument("sharpness: the Hessian-vector product is not finite");
    alpha[m] = q.col(m).dot(w);
    // full reorthogonalisation (twice is enough) against the basis so far
    for (int pass = 0; pass < 2; ++pass) w -= q.leftCols(m + 1) * (q.leftCols(m + 1).transpose() * w);
    beta[m] = w.norm();
    if (beta[m] <= 1e-12 * std::max(1.0, std::abs(alpha[m]))) {
      ++m;
      break;  // invariant subspace found: the Ritz values are exact
    }
    q.col(m + 1) = w / beta[m];
  }
  Matrix t = Matrix::Zero(m, m);
  for (int i = 0; i < m; ++i) {
    t(i, i) = alpha[i];
    if (i + 1 < m) t(i, i + 1) = t(i + 1, i) = beta[i];
  }
  Eigen::SelfAdjointEigenSolver<Matrix> es(t);
  out.value = es.eigenvalues()[m - 1];
  out.residual = std::abs(beta[m - 1] * es.eigenvectors()(m - 1, m - 1));
  return out;
}

}  // namespace odyn::dynamics
