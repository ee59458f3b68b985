// GAN objectives and gradient penalties: SGAN, WGAN-GP, WGAN-div, GAN-QP, hinge, the energy loss
// of MEG, O-GAN's options and the R1 penalty (seed-gan §1-§6). Sign convention: the critic scores real samples HIGH;
// every loss is a scalar to MINIMISE. Where a source uses the other convention ("real-low": Su's and the official
// WGAN-div codes) the formulas below are its negation D -> -D.
//
// Input checks: shapes and option ranges always; finiteness of input tensors only for CPU tensors
// (on an accelerator the check would synchronise with the host on every step).
#pragma once

#include <torch/torch.h>

#include <functional>
#include <map>
#include <string>

#include "odyn/transport/critic.hpp"

namespace odyn::gan {

using Tensor = ::torch::Tensor;

// A critic: x (B, ...) -> scores (B), one score per sample.
using Critic = std::function<Tensor(const Tensor&)>;

// The per-sample input gradients of sum_i D(x_i), flattened to (B, numel / B), taken with
// create_graph = true so that a penalty built from them is differentiable w.r.t. the critic's
// parameters (double backward). If x does not require grad, a detached copy that does is used.
Tensor per_sample_gradients(const Critic& critic, const Tensor& x);
// ||grad_x D(x_i)||_2 over each sample's own elements (not element-wise, not batch-wide): (B).
Tensor per_sample_gradient_norms(const Critic& critic, const Tensor& x);

// energy: MEG's energy loss (Kumar et al. 2019, seed-gan §3.3) with the energy U = -D;
// ogan: O-GAN's joint encoder-generator objective (ogan.hpp; trained by its own joint step);
// ebm: an energy model without a generator, its negatives drawn by Langevin chains from a replay
// buffer (Du & Mordatch 2019, seed-gan §3.4).
enum class LossKind { sgan, wgan_gp, wgan_div, gan_qp, hinge, energy, ogan, ebm };
// O-GAN's code term: pearson = -λ2 ρ(z, E(G(z))) (Su 2019); mse = +λ2 mean (z - E(G(z)))^2, the
// variant the O-GAN post says fails.
enum class CodeLoss { pearson, mse };
// GAN-QP's distance per pair (seed-gan §2.2): l1 = per-element MEAN |x_r - x_f|,
// l2 = RMS sqrt(mean (x_r - x_f)^2).
enum class QpDistance { l1, l2 };

struct LossOptions {
  LossKind kind = LossKind::wgan_div;
  // wgan_gp: λ of λ E(||∇D|| - 1)^2; gan_qp: λ of Δ^2 / (2 λ d); energy: λ of λ E_real ||∇D||^2;
  // ogan: λ1 of λ1 Δ^2 / mean (x_r - x_f)^2; ebm: λ of λ (E_r U^2 + E_f U^2).
  double lambda = 10;
  double k = 2, p = 6;  // wgan_div: k E_r ||∇D||^p, k > 0, p > 1
  // wgan_div's r (wgan_gp always uses real_fake_interpolates).
  transport::CriticSampling sampling = transport::CriticSampling::pooled;
  QpDistance distance = QpDistance::l1;
  double r1_gamma = 0;  // > 0 adds the zero-centred R1 penalty γ/2 E_real ||∇D||^2 (any kind but ogan)
  // > 0: the generator also maximises the mutual information I(G(z), z) with this weight, estimated
  // by a statistics network (meg.hpp): the entropy term of MEG. Any kind but ogan.
  double entropy = 0;
  double correlation = 0.5;           // ogan: λ2, the weight of the code term
  CodeLoss code = CodeLoss::pearson;  // ogan
  // ebm: K steps of size ε per chain (the post's reference 20-50 steps of 1/200), from a replay buffer
  // of buffer_size samples reused with probability buffer_reuse (else uniform noise over the data's box).
  int64_t langevin_steps = 20;
  double langevin_step_size = 0.005;
  int64_t buffer_size = 10000;
  double buffer_reuse = 0.95;
};

// "sgan", "wgan_gp", "wgan_div", "gan_qp", "hinge", "energy", "ogan"; throws odyn::InvalidArgument otherwise.
LossKind parse_loss_kind(const std::string& name);
std::string to_string(LossKind kind);
// "l1", "l2".
QpDistance parse_qp_distance(const std::string& name);
std::string to_string(QpDistance distance);
// "pearson", "mse".
CodeLoss parse_code_loss(const std::string& name);
std::string to_string(CodeLoss code);
// The enumerator names of transport::CriticSampling: "real_fake_interpolates",
// "real_real_fake_fake_interpolates", "pooled_interpolates", "pooled", "fake", "real".
transport::CriticSampling parse_critic_sampling(const std::string& name);
std::string to_string(transport::CriticSampling sampling);

// Options by name: a LossKind name gives that kind with the defaults above; the WGAN-div presets
// (seed-gan §1.3-1.5, §6.1) are
//   "wgan_div_su"       = {k 2,  p 6, pooled: raw real + raw fake (Su; PyTorch-GAN)},
//   "wgan_div_official" = {k 10, p 6, real_fake_interpolates (musikisomorphie/wgan-div)};
// "energy" has λ 0.1 (P-MEG Algorithm 1), "ogan" λ1 0.25, λ2 0.5 (bojone/o-gan), "ebm" λ 0.1; the MEG preset is
//   "meg"               = {energy, λ 0.1, entropy 1}.
LossOptions loss_preset(const std::string& name);

// The points at which a penalty is evaluated, drawn from real (B, ...) and fake (B, ...) by a
// CriticSampling strategy; α ~ U[0, 1] per point and index permutations come from `gen` (a CPU
// generator) and are moved to the inputs' device. Rows: real_fake_interpolates x_r + α (x_f - x_r)
// (B, paired by index); real_real_fake_fake_interpolates: the first B - B/2 rows interpolate two
// real rows (i, π(i)), the last B/2 two fake rows (i, σ(i)); pooled_interpolates: B interpolates of
// two rows of the pooled 2B rows (two permutations); pooled: real then fake (2B rows); fake; real.
Tensor penalty_points(const Tensor& real, const Tensor& fake, transport::CriticSampling sampling,
                      ::torch::Generator& gen);

// WGAN-GP (Gulrajani et al. 2017): λ mean (||∇D(x̂)|| - 1)^2 at x̂ = x_r + α (x_f - x_r).
Tensor wgan_gp_penalty(const Critic& critic, const Tensor& real, const Tensor& fake, double lambda,
                       ::torch::Generator& gen);
// WGAN-div (Wu et al. 2018, seed-gan §1.1): k mean_i ||∇D(points_i)||^p. With pooled points this is
// Su's (k/2)(mean_r + mean_f) (seed-gan §1.3).
Tensor wgan_div_penalty(const Critic& critic, const Tensor& points, double k, double p);
// Zero-centred R1 (Mescheder et al. 2018): γ/2 mean_i ||∇D(real_i)||^2, γ >= 0.
Tensor r1_penalty(const Critic& critic, const Tensor& real, double gamma);
// GAN-QP's d(x_r^i, x_f^i) per pair (seed-gan §2.2): (B).
Tensor qp_distance(const Tensor& real, const Tensor& fake, QpDistance distance);

// A loss and its detached parts for logging: "score_real", "score_fake" (mean scores),
// "w_estimate" (mean D_r - mean D_f), and, where present, "penalty" (the kind's own penalty or
// GAN-QP's quadratic term) and "r1".
struct LossValue {
  Tensor loss;
  std::map<std::string, Tensor> parts;
};

// The critic and generator objectives (critic-high; seed-gan §1-2):
//   sgan     D: mean softplus(-D_r) + mean softplus(D_f)        G: mean softplus(-D_f) (non-saturating)
//   wgan_gp  D: mean D_f - mean D_r + wgan_gp_penalty            G: -mean D_f
//   wgan_div D: mean D_f - mean D_r + wgan_div_penalty(r)        G: -mean D_f
//   gan_qp   D: mean_i(-Δ_i + Δ_i^2 / (2 λ d_i)), Δ_i = D(x_r^i) - D(x_f^i)
//                                                                G: mean(D_r - D_f) (no quadratic term)
//   hinge    D: mean relu(1 - D_r) + mean relu(1 + D_f)          G: -mean D_f
//   energy   D: mean D_f - mean D_r + λ mean_i ||∇D(x_r^i)||^2      G: -mean D_f
//            (P-MEG eq. 3 with U = -D: real samples sit at energy minima)
//   ebm      D: mean D_f - mean D_r + λ (mean D_r^2 + mean D_f^2), fake = the Langevin negatives
//            (the sum of squares of the reference code; seed-gan §3.4, §6.6)     G: none (throws)
// plus r1_penalty on the critic side when r1_gamma > 0. The entropy term of the generator needs a
// statistics network and is added by the trainer (meg.hpp). ogan has its own joint objective
// (ogan.hpp): critic_loss and generator_loss throw odyn::InvalidArgument for it.
class GanLoss {
 public:
  // Throws odyn::InvalidArgument unless λ > 0, k > 0, p > 1, r1_gamma >= 0, entropy >= 0 and
  // correlation >= 0 (all finite), unless ogan has r1_gamma = entropy = 0 and ebm entropy = 0,
  // and unless ebm's chain settings are valid (steps >= 1, ε > 0, buffer_size >= 1, reuse in [0, 1]).
  explicit GanLoss(LossOptions options);
  // real (B, ...) and fake (B, ...), paired by index; fake detached by the caller for the critic
  // step. `gen` draws the penalty points (wgan_gp, wgan_div). With with_parts false the parts are
  // left empty (their reductions are a good share of the kernels of a small model's step).
  LossValue critic_loss(const Critic& critic, const Tensor& real, const Tensor& fake, ::torch::Generator& gen,
                        bool with_parts = true) const;
  // fake carries the generator's graph; real is used by gan_qp only (may be undefined otherwise).
  LossValue generator_loss(const Critic& critic, const Tensor& real, const Tensor& fake, bool with_parts = true) const;
  const LossOptions& options() const { return options_; }

 private:
  LossOptions options_;
};

}  // namespace odyn::gan
