// Entropic optimal transport: the log-domain stabilised Sinkhorn algorithm with epsilon scaling,
// and the debiased Sinkhorn divergence. See docs/transport.md.
#pragma once

#include "odyn/transport/common.hpp"

namespace odyn::transport {

struct SinkhornOptions {
  // Stop when the L1 marginal error sum_j |(P^T 1)_j - b_j| of the returned plan is at most this
  // (its rows are exact); checked on the final epsilon stage. >= 0.
  double tolerance = 1e-9;
  // Sinkhorn iterations (one row and one column update each), all epsilon stages together. >= 1.
  long max_iterations = 10000;
  // Anneal epsilon from about max |C| down to eps by a constant factor (Schmitzer 2019, §3.2).
  bool epsilon_scaling = true;
  // eps_{k+1} = max(eps, scaling_factor * eps_k); in (0, 1).
  double scaling_factor = 0.5;
};

struct SinkhornResult {
  double transport_cost = 0.0;  // <P, C> (POT's sinkhorn2)
  double value = 0.0;           // OT_eps(a, b) = <a, f> + <b, g> = <P, C> + eps KL(P | a b^T)
  Matrix plan;                  // P_ij = a_i b_j exp((f_i + g_j - C_ij) / eps), n x m
  Vector f, g;                  // dual potentials (finite also on zero-weight points)
  long iterations = 0;          // Sinkhorn iterations done, all stages together
  double marginal_error = 0.0;  // sum_j |(P^T 1)_j - b_j| of the returned plan
  bool converged = false;       // marginal error <= tolerance within max_iterations
};

// Entropic OT between the measures a (n weights) and b (m weights) for the n x m cost C:
//   OT_eps(a, b) = min_{P 1 = a, P^T 1 = b} <P, C> + eps KL(P | a b^T),
// solved in the dual by Sinkhorn's alternating updates f_i = -eps LSE_j(log b_j + (g_j - C_ij)/eps),
// g_j = -eps LSE_i(log a_i + (f_i - C_ij)/eps) (Peyré & Cuturi, Computational OT, 2019, §4.4;
// Feydy et al., AISTATS 2019). Stabilised by absorbing the scalings into the potentials
// (Schmitzer, SIAM J. Sci. Comput. 2019, §3.1), annealed by epsilon scaling, and over-relaxed
// with an adaptive factor, each relaxed step checked to increase the dual objective (Thibault et
// al. 2021; Lehmann et al. 2022). Empty a or b: uniform.
// Weights may be zero: such points get no mass and the c-transform as their potential.
SinkhornResult sinkhorn(const VectorRef& a, const VectorRef& b, const Eigen::Ref<const Matrix>& cost, double eps,
                        const SinkhornOptions& options = {});

// Entropic OT of a measure with itself, OT_eps(a, a), for a symmetric n x n cost C (symmetric up to
// |C_ij - C_ji| <= 1e-12 max |C|; only the lower triangle is read). Here f = g at the optimum, and
// f is found as the fixed point of the averaged soft-c-transform f <- (f + T(f)) / 2,
// T(f)_i = -eps LSE_j(log a_j + (f_j - C_ij)/eps) (Feydy et al., AISTATS 2019, §3), which
// contracts where the alternating updates of sinkhorn can stall; same stabilisation and epsilon
// scaling as sinkhorn, one symmetric matrix-vector product per iteration. The result has the form
// of sinkhorn's for the pair f = T(h), g = h of the final potential h: exact rows, column error
// marginal_error (iteration stops when the symmetric plan's error is at most tolerance / 2), and
// value = <a, f> + <a, g>.
SinkhornResult sinkhorn_symmetric(const VectorRef& a, const Eigen::Ref<const Matrix>& cost, double eps,
                                  const SinkhornOptions& options = {});

// Debiased Sinkhorn divergence S_eps = OT_eps(a, b) - OT_eps(a, a) / 2 - OT_eps(b, b) / 2
// (Feydy et al., AISTATS 2019) from the cost matrices C_ab (n x m), C_aa (n x n) and
// C_bb (m x m). When exp(-C / eps) is a positive universal kernel (as for C = ||x - y||_2^p,
// 0 < p <= 2) it is >= 0 and 0 iff a = b (Feydy et al., Thm. 1), up to the solver's tolerance.
// Symmetric problems (C_aa, C_bb, and C_ab when b = a, if symmetric up to rounding) are solved as
// in sinkhorn_symmetric, the others by sinkhorn; identical inputs give exactly 0.
double sinkhorn_divergence(const VectorRef& a, const VectorRef& b, const Eigen::Ref<const Matrix>& cost_ab,
                           const Eigen::Ref<const Matrix>& cost_aa, const Eigen::Ref<const Matrix>& cost_bb,
                           double eps, const SinkhornOptions& options = {});

// The debiased Sinkhorn divergence between the weighted point clouds X (n x d, weights wx) and
// Y (m x d, weights wy) for the ground cost ||x - y||_2^p (ground_cost). Empty weights: uniform.
double sinkhorn_divergence(const PointsRef& x, const PointsRef& y, double eps, const VectorRef& wx = Vector(),
                           const VectorRef& wy = Vector(), double p = 2.0, const SinkhornOptions& options = {});

}  // namespace odyn::transport
