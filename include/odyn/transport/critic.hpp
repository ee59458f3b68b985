// Critic-based divergences between two samples: the Wasserstein divergence W_{k,p} of WGAN-div
// (Wu et al., ECCV 2018, arXiv 1712.01026) and the quadratic-potential divergence of GAN-QP (Su,
// arXiv 1811.07296). The supremum over critics T is taken over a fixed random-Fourier dictionary
// T(z) = sum_k a_k cos(w_k . z + b_k) + c . z, in which both objectives are concave in the
// coefficients (a, c), and is computed by Ceres Solver's L-BFGS. The result is therefore the exact
// supremum over that family: a lower bound on the supremum over all critics that grows with the
// number of features. See docs/transport.md.
#pragma once

#include <cstdint>
#include <string>

#include "odyn/transport/common.hpp"

namespace odyn::transport {

// T(z) = sum_k coefficients_k cos(frequencies.row(k) . z + phases_k) + linear . z, z of dimension
// frequencies.cols() (d for a unary critic; 2d for a binary GAN-QP critic, z = (x_r, x_f)).
struct FourierCritic {
  Matrix frequencies;   // F x D, row k is w_k
  Vector phases;        // b_k, length F
  Vector coefficients;  // a_k, length F
  Vector linear;        // c, length D (all zero when the dictionary has no linear terms)

  // T at every row of z (n x D); throws odyn::InvalidArgument for a wrong dimension or NaN.
  Vector values(const PointsRef& z) const;
  // grad_z T at every row of z, as an n x D matrix.
  Matrix gradients(const PointsRef& z) const;
};

// The six choices of the sampling distribution r of the gradient penalty compared in the WGAN-div
// paper (Wu et al. 2018, via Su, kexue.fm/archives/6139). "Real" is P, "fake" is Q.
enum class CriticSampling {
  real_fake_interpolates,            // x_P + u (x_Q - x_P), u ~ U[0,1], x_P ~ P, x_Q ~ Q independent
  real_real_fake_fake_interpolates,  // half interpolates of two draws from P, half of two from Q
  pooled_interpolates,               // interpolates of two independent draws from (P + Q) / 2
  pooled,                            // the raw mixture (P + Q) / 2: every point, weights halved
  fake,                              // Q itself
  real,                              // P itself
};

struct CriticOptions {
  int features = 256;                  // F, the number of Fourier features
  double bandwidth = 0.0;              // w_k ~ N(0, I / bandwidth^2); 0: median_heuristic(P, Q, 1000, seed), mmd.hpp
  bool linear_terms = true;            // include c . z in the dictionary
  Eigen::Index r_points = 0;           // interpolate strategies: points drawn for r (0: max(4096, min(n + m, 65536)))
  int max_iterations = 500;            // L-BFGS iterations
  double gradient_tolerance = 1e-10;   // Ceres: max-norm of the gradient (whitened coordinates)
  double function_tolerance = 1e-15;   // Ceres: relative decrease of the objective
  double parameter_tolerance = 1e-15;  // Ceres: relative step size
  int lbfgs_rank = 20;
  // Directions of the coefficient space whose curvature (the Gram matrix of the penalty, see
  // docs) is below rank_tolerance times the largest are left out: along them the penalty
  // vanishes on the sample, so the objective is flat or unbounded there.
  double rank_tolerance = 1e-12;
  std::uint64_t seed = 0;  // the dictionary and the r / pair draws
};

struct CriticResult {
  double value = 0;             // the estimate: the objective at the fitted critic
  double mean_difference = 0;   // W-div: E_P T - E_Q T; QP: E_pairs[Delta T]
  double penalty = 0;           // the subtracted term: value = mean_difference - penalty
  FourierCritic critic;         // the fitted critic
  long iterations = 0;          // L-BFGS iterations
  bool converged = false;       // Ceres stopped on a tolerance (or the problem was trivial)
  Eigen::Index directions = 0;  // dimension of the coefficient space actually optimised
  // ||part of the initial gradient (E_P phi - E_Q phi for W-div) along the left-out directions||
  // over ||initial gradient||. Near 0 (rounding), value is the supremum over the whole
  // dictionary; clearly positive means r leaves the critic unconstrained where P and Q differ (the
  // supremum over the dictionary is then +infinity) and value is the supremum over the
  // constrained part only. Always ~0 for QP.
  double left_out = 0;
  double bandwidth = 0;  // the bandwidth used
  std::string message;   // Ceres's summary line
};

// The sample of r for a strategy: r_points interpolates (0: max(4096, min(n + m, 65536))), or the raw points with their
// weights (pooled: weights wp/2 and wq/2). Deterministic for a given seed.
struct WeightedPoints {
  Matrix points;
  Vector weights;  // sums to 1
};
WeightedPoints critic_sampling_points(const PointsRef& p_sample, const PointsRef& q_sample, CriticSampling sampling,
                                      Eigen::Index r_points = 0, std::uint64_t seed = 0, const VectorRef& wp = Vector(),
                                      const VectorRef& wq = Vector());

// The W-divergence W_{k,p}(P, Q) = sup_T E_P[T] - E_Q[T] - k E_{x~r}[||grad T(x)||_2^p]
// (Wu et al. 2018, eq. of the W-div; Su 6139), k > 0, p > 1, the critic scoring P high. r is drawn
// once (seeded) by `sampling` and kept fixed, so the objective is deterministic. wp, wq: weights of
// the sample points (empty: uniform). Throws odyn::InvalidArgument for bad input and odyn::Error
// when odyn was built without Ceres Solver.
CriticResult wasserstein_divergence(const PointsRef& p_sample, const PointsRef& q_sample, double k = 2.0,
                                    double power = 6.0,
                                    CriticSampling sampling = CriticSampling::real_fake_interpolates,
                                    const CriticOptions& options = {}, const VectorRef& wp = Vector(),
                                    const VectorRef& wq = Vector());

// The same with a given r sample (weights wr; empty: uniform), e.g. a fine grid standing for a
// density.
CriticResult wasserstein_divergence(const PointsRef& p_sample, const PointsRef& q_sample, const PointsRef& r_sample,
                                    double k = 2.0, double power = 6.0, const CriticOptions& options = {},
                                    const VectorRef& wp = Vector(), const VectorRef& wq = Vector(),
                                    const VectorRef& wr = Vector());

enum class QpDistance { l2, l1 };
enum class QpPairing {
  all,     // every (x_r, x_f) in P x Q, weight wp_i wq_j (at most 2e7 pairs)
  random,  // `pairs` independent draws of (x_r ~ P, x_f ~ Q), weight 1 / pairs
  index,   // x_r = P_i with x_f = Q_i (n = m, uniform weights), as in GAN-QP's training batches
};
enum class QpCritic {
  unary,   // T(x_r, x_f) = T(x_r): Delta T = T(x_r) - T(x_f), as in Su's experiments
  binary,  // T on (x_r, x_f) in R^{2d}: Delta T = T(x_r, x_f) - T(x_f, x_r), the definition
           // (stores pairs x features differences, at most 5e7)
};

struct QpOptions {
  QpDistance distance = QpDistance::l2;
  QpPairing pairing = QpPairing::all;
  Eigen::Index pairs = 0;  // random pairing: number of pairs (0: max(n, m))
  QpCritic critic = QpCritic::unary;
  // q > 1: the penalty |Delta T|^q / (q (lambda d)^{q-1}); q = 2 is GAN-QP's Delta T^2 / (2 lambda d).
  double power = 2.0;
};

// The QP-divergence L(P, Q) = sup_T E_{(x_r, x_f) ~ P x Q}[Delta T - Delta T^2 / (2 lambda d(x_r, x_f))]
// (Su, GAN-QP, arXiv 1811.07296; kexue.fm/archives/6163), lambda > 0, d the L2 or L1 distance; for
// qp.power = q the penalty is |Delta T|^q / (q (lambda d)^{q-1}) (same delta-pair optimum
// Delta T = lambda d, value lambda d (1 - 1/q)). Pairs with d = 0 are left out: a unary critic has
// Delta T = 0 on them and a binary one is antisymmetric there, so they add nothing. Throws
// odyn::InvalidArgument for bad input and odyn::Error when odyn was built without Ceres Solver.
CriticResult qp_divergence(const PointsRef& p_sample, const PointsRef& q_sample, double lambda = 10.0,
                           const QpOptions& qp = {}, const CriticOptions& options = {}, const VectorRef& wp = Vector(),
                           const VectorRef& wq = Vector());

}  // namespace odyn::transport
