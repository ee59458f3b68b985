// Transport distances on LibTorch tensors: batched log-domain Sinkhorn, the debiased Sinkhorn
// divergence, sliced Wasserstein and MMD, differentiable, on any device. The Eigen references are
// in odyn/transport; see docs/transport.md.
//
// Shapes: a point cloud is (n, d), one point per row, or a batch (B, n, d) of B clouds; a cost
// tensor is (n, m) or (B, n, m). Unbatched inputs give unbatched outputs (a scalar value, (n)
// potentials). Every function accepts float32 or float64 tensors on one device (CPU or CUDA),
// computes in that dtype on that device and returns tensors of the same dtype and device. Bad
// input throws odyn::InvalidArgument.
#pragma once

#include <torch/torch.h>

namespace odyn::torch {

// Options of odyn::torch::sinkhorn.
struct SinkhornTensorOptions {
  double tolerance = 1e-6;       // stop when the L1 marginal error of every problem is below this
  long max_iterations = 1000;    // bound on the total number of (f, g) updates, eps-scaling included
  bool epsilon_scaling = true;   // anneal eps from the cost range down to eps, one update per value
  double scaling_factor = 0.5;   // ratio of successive eps values, in (0, 1)
  long check_every = 10;         // check the marginal error (one host sync) every this many updates; the
                                 // scalings are also checked there, or sooner when they may near overflow
};

// What odyn::torch::sinkhorn returns (shapes for a batch of B problems; without the B for one).
struct SinkhornTensorResult {
  ::torch::Tensor value;           // (B): OT_eps = <a, f> + <b, g>, differentiable w.r.t. the cost
  ::torch::Tensor transport_cost;  // (B): <P, C> of the plan P_ij = a_i b_j exp((f_i + g_j - C_ij)/eps), no gradient
  ::torch::Tensor f, g;            // (B, n), (B, m): the dual potentials (f carries the gradient, g does not)
  long iterations = 0;             // (f, g) updates done, eps-scaling included
  double marginal_error = 0;       // max over the batch of sum_j |(P^T 1)_j - b_j| for the returned plan
  bool converged = false;          // marginal_error <= tolerance
};

// Entropic optimal transport OT_eps(a, b; C) = min_P <P, C> + eps KL(P | a x b) for a batch of cost
// tensors C (B, n, m) or one (n, m), by log-domain Sinkhorn iterations (Peyre & Cuturi,
// Computational Optimal Transport, 2019, eq. 4.43 / Remark 4.23):
//   f_i = -eps log sum_j b_j exp((g_j - C_ij)/eps),   g_j = -eps log sum_i a_i exp((f_i - C_ij)/eps),
// one (f, g) pair per iteration, the marginal error checked (one host sync) every check_every
// iterations, with eps-scaling (Schmitzer, SIAM J. Sci. Comput. 41(3), 2019; Feydy et al., AISTATS 2019).
// The iterations run in kernel form with absorption (Schmitzer 2019, Sec. 3.1): f = f~ + eps log u,
// g = g~ + eps log v with the stabilised kernel K_ij = exp((f~_i + g~_j - C_ij)/eps) formed once per
// eps stage and absorption, and u = 1 / K(b v), v = 1 / K^T(a u) as batched matrix-vector
// products; the scalings are absorbed into f~, g~ once |log u|, |log v| exceed 50 (20 in float32),
// and a sum that under- or overflows falls back to one log-domain update. Weights
// a (B, n) or (n), b (B, m) or (m); an undefined tensor means uniform weights; weights are
// non-negative, sum to 1 and carry no gradient. The iterations run without autograd; one final
// differentiable update f = T(C, g) of the converged g gives value = <a, f> + <b, g>, whose gradient
// w.r.t. C is the plan P (envelope theorem, as in GeomLoss), hence w.r.t. point clouds through
// C(x, y). Not converging within max_iterations is not an error: see converged and marginal_error.
SinkhornTensorResult sinkhorn(const ::torch::Tensor& a, const ::torch::Tensor& b, const ::torch::Tensor& cost,
                              double eps, const SinkhornTensorOptions& options = {});

// The debiased Sinkhorn divergence S_eps = OT_eps(a, b) - OT_eps(a, a)/2 - OT_eps(b, b)/2 (Feydy et
// al., AISTATS 2019, eq. 3) between uniform measures on point clouds x (B, n, d) or (n, d) and y
// (B, m, d) or (m, d), with cost C(x, y) = |x - y|^p, p = 1 or 2 (p = 2 by the Gram identity on
// centred clouds, p = 1 from exact differences). OT(a, b) is solved as in sinkhorn; the symmetric
// terms OT(a, a), OT(b, b) by the averaged update f <- (f + T(f))/2 (Feydy et al. 2019, Sec. 3.1),
// which converges where alternating updates stall on clustered clouds. `options` applies to each
// problem. Returns (B) or a scalar, differentiable w.r.t. x and y (the envelope-theorem gradient
// of each OT_eps term).
::torch::Tensor sinkhorn_divergence(const ::torch::Tensor& x, const ::torch::Tensor& y, double eps, double p = 2.0,
                                    const SinkhornTensorOptions& options = {});

// n_projections directions drawn uniformly on the unit sphere of R^d (normalised Gaussian rows),
// an (n_projections, d) tensor with `options`' dtype and device, from `generator` or the device's
// default generator.
::torch::Tensor random_directions(long n_projections, long d, const ::torch::TensorOptions& options,
                                  c10::optional<at::Generator> generator = c10::nullopt);

// Sliced Wasserstein SW_p(x, y) = (1/L sum_l W_p^p(<x, t_l>, <y, t_l>))^(1/p) (Bonneel et al., J.
// Math. Imaging Vis. 51, 2015) between uniform measures on equally many points x, y (B, n, d) or
// (n, d), p >= 1. Each 1-D W_p^p is (1/n) sum_i |x_(i) - y_(i)|^p of the sorted projections. The
// directions are the rows of `directions` (L, d) or (B, L, d), normalised here; when undefined,
// L = n_projections directions from random_directions on x's device. Differentiable w.r.t. x and
// y (through the sort); the gradient at SW = 0 is taken as 0.
::torch::Tensor sliced_wasserstein(const ::torch::Tensor& x, const ::torch::Tensor& y, double p = 2.0,
                                   long n_projections = 100, const ::torch::Tensor& directions = {});

// Kernels of the MMD estimators, with r = |x - y|_2 and bandwidth s: gaussian exp(-r^2/(2 s^2)),
// laplacian exp(-r/s), imq (1 + r^2/s^2)^(-1/2), energy -r (then MMD^2 is the energy distance; s is
// unused but must be positive).
enum class MmdKernel { gaussian, laplacian, imq, energy };

// Unbiased quadratic-time MMD^2 (Gretton et al., JMLR 13, 2012, eq. 3):
//   1/(n(n-1)) sum_{i!=j} k(x_i, x_j) + 1/(m(m-1)) sum_{i!=j} k(y_i, y_j) - 2/(nm) sum_ij k(x_i, y_j),
// for x (B, n, d) or (n, d) and y (B, m, d) or (m, d), n, m >= 2. Differentiable w.r.t. x and y
// (the r-kernels use exact differences with a zero gradient at r = 0).
::torch::Tensor mmd2_unbiased(const ::torch::Tensor& x, const ::torch::Tensor& y,
                              MmdKernel kernel = MmdKernel::gaussian, double bandwidth = 1.0);

// Linear-time MMD^2 (Gretton et al. 2012, Lemma 14): the mean over the K = floor(min(n, m)/2)
// disjoint pairs (x_{2i-1}, y_{2i-1}), (x_{2i}, y_{2i}) (1-based) of
//   h = k(x_{2i-1}, x_{2i}) + k(y_{2i-1}, y_{2i}) - k(x_{2i-1}, y_{2i}) - k(x_{2i}, y_{2i-1}).
// Needs min(n, m) >= 2; points past 2K are unused. Differentiable w.r.t. x and y.
::torch::Tensor mmd2_linear(const ::torch::Tensor& x, const ::torch::Tensor& y, MmdKernel kernel = MmdKernel::gaussian,
                            double bandwidth = 1.0);

}  // namespace odyn::torch
