// odyn::gan losses and gradient penalties (seed-gan §1, §2, §6) against central finite
// differences, closed-form gradients, GAN-QP's delta-pair optimum and hand-computed values.
//
// Tolerances. Finite differences: float64, step h = 1e-6, on losses of size O(1-100) built from a
// 3->4->1 tanh MLP. The truncation error of the central difference is h^2 |f'''| / 6 ~ 1e-11 and
// the rounding error eps |f| / h ~ 1e-16 * 100 / 1e-6 = 1e-8 at worst, so a relative tolerance of
// 1e-6 (relative to max(1, |gradient|)) is safe by two orders, while the gradient that misses the
// double backward is off by O(1) (checked to differ by more than 1e-3). Closed forms and
// hand-computed values are a few float64 operations: 1e-12.
#include "odyn/gan/losses.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "odyn/core/error.hpp"
#include "odyn/gan/data.hpp"

namespace {

using odyn::InvalidArgument;
using odyn::gan::Critic;
using odyn::gan::LossKind;
using odyn::gan::LossOptions;
using odyn::gan::QpDistance;
using odyn::transport::CriticSampling;
using ::torch::Tensor;

const auto kF64 = ::torch::TensorOptions().dtype(::torch::kDouble);
const double kNan = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

using odyn::gan::cpu_generator;

double softplus(double x) {
  return std::log1p(std::exp(x));
}

class GanLossBase : public ::testing::Test {
 protected:
  void SetUp() override { ::torch::set_num_threads(1); }
};
class GanLossGradients : public GanLossBase {};
class GanLossNorms : public GanLossBase {};
class GanLossQp : public GanLossBase {};
class GanLossValues : public GanLossBase {};
class GanLossPoints : public GanLossBase {};
class GanLossSign : public GanLossBase {};
class GanLossInput : public GanLossBase {};

// A smooth 3 -> 4 -> 1 critic D(x) = w2 . tanh(W1 x + b1) + b2 with float64 parameters ~ N(0, 1).
struct TinyMlp {
  Tensor w1, b1, w2, b2;
  explicit TinyMlp(uint64_t seed) {
    auto gen = cpu_generator(seed);
    w1 = ::torch::randn({4, 3}, gen, kF64).requires_grad_(true);
    b1 = ::torch::randn({4}, gen, kF64).requires_grad_(true);
    w2 = ::torch::randn({4}, gen, kF64).requires_grad_(true);
    b2 = ::torch::randn({1}, gen, kF64).requires_grad_(true);
  }
  std::vector<Tensor> params() const { return {w1, b1, w2, b2}; }
  Critic critic() const {
    // Tensors share storage with the parameters, so perturbations in place are seen.
    return [w1 = w1, b1 = b1, w2 = w2, b2 = b2](const Tensor& x) {
      return ::torch::tanh(::torch::matmul(x.reshape({x.size(0), -1}), w1.t()) + b1).matmul(w2) + b2;
    };
  }
};

// Autograd's gradient of loss() w.r.t. params (unused parameters: 0).
std::vector<Tensor> autograd_gradient(const std::function<Tensor()>& loss, const std::vector<Tensor>& params) {
  const Tensor value = loss();
  auto grads = ::torch::autograd::grad({value}, params, {}, false, false, /*allow_unused=*/true);
  for (size_t i = 0; i < grads.size(); ++i)
    if (!grads[i].defined()) grads[i] = ::torch::zeros_like(params[i]);
  return grads;
}

// Central differences of loss() w.r.t. every entry of params (float64, contiguous, CPU).
std::vector<Tensor> finite_difference_gradient(const std::function<Tensor()>& loss, const std::vector<Tensor>& params) {
  const double h = 1e-6;
  std::vector<Tensor> grads;
  for (const Tensor& p : params) {
    Tensor g = ::torch::zeros_like(p).detach();
    double* entry = p.data_ptr<double>();
    for (int64_t i = 0; i < p.numel(); ++i) {
      const double original = entry[i];
      entry[i] = original + h;
      const double plus = loss().item<double>();
      entry[i] = original - h;
      const double minus = loss().item<double>();
      entry[i] = original;
      g.data_ptr<double>()[i] = (plus - minus) / (2 * h);
    }
    grads.push_back(g);
  }
  return grads;
}

// Largest |a - b| / max(1, |b|) over all entries.
double max_relative_error(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const Tensor err = (a[i] - b[i]).abs() / b[i].abs().clamp_min(1.0);
    worst = std::max(worst, err.max().item<double>());
  }
  return worst;
}

void expect_gradient_matches_finite_differences(const std::function<Tensor()>& loss, const TinyMlp& mlp,
                                                const std::string& what) {
  const auto analytic = autograd_gradient(loss, mlp.params());
  const auto numeric = finite_difference_gradient(loss, mlp.params());
  EXPECT_LT(max_relative_error(analytic, numeric), 1e-6) << what;
  double size = 0;
  for (const auto& g : numeric) size += g.abs().sum().item<double>();
  EXPECT_GT(size, 1e-3) << what << ": the gradient should not vanish";
}

// Real and fake batches (B, 3) of float64 points, fixed by a seed.
struct Batch {
  Tensor real, fake;
};
Batch batch(int64_t b, uint64_t seed) {
  auto gen = cpu_generator(seed);
  Tensor real = ::torch::randn({b, 3}, gen, kF64) + 0.5;
  Tensor fake = ::torch::randn({b, 3}, gen, kF64) - 0.5;
  return {real, fake};
}

// ---- 1. Double backward: penalty gradients w.r.t. the critic's parameters -----------------------

TEST_F(GanLossGradients, PenaltiesMatchFiniteDifferences) {
  const TinyMlp mlp(1);
  const Critic critic = mlp.critic();
  const Batch data = batch(5, 2);
  expect_gradient_matches_finite_differences(
      [&] {
        auto gen = cpu_generator(3);  // the same interpolates at every evaluation
        return odyn::gan::wgan_gp_penalty(critic, data.real, data.fake, 10.0, gen);
      },
      mlp, "wgan_gp_penalty");
  for (double p : {6.0, 2.0}) {
    expect_gradient_matches_finite_differences([&] { return odyn::gan::wgan_div_penalty(critic, data.real, 2.0, p); },
                                               mlp, "wgan_div_penalty p = " + std::to_string(p));
  }
  expect_gradient_matches_finite_differences([&] { return odyn::gan::r1_penalty(critic, data.real, 3.0); }, mlp,
                                             "r1_penalty");
}

TEST_F(GanLossGradients, CriticLossesMatchFiniteDifferences) {
  const TinyMlp mlp(4);
  const Critic critic = mlp.critic();
  const Batch data = batch(4, 5);
  std::vector<std::pair<std::string, LossOptions>> cases;
  for (const char* name : {"sgan", "wgan_gp", "wgan_div", "gan_qp", "hinge", "wgan_div_su", "wgan_div_official"})
    cases.emplace_back(name, odyn::gan::loss_preset(name));
  LossOptions qp_l2 = odyn::gan::loss_preset("gan_qp");
  qp_l2.distance = QpDistance::l2;
  cases.emplace_back("gan_qp l2", qp_l2);
  LossOptions div_p2 = odyn::gan::loss_preset("wgan_div");
  div_p2.p = 2;
  div_p2.sampling = CriticSampling::pooled_interpolates;
  cases.emplace_back("wgan_div p 2 pooled_interpolates", div_p2);
  LossOptions hinge_r1 = odyn::gan::loss_preset("hinge");
  hinge_r1.r1_gamma = 2;
  cases.emplace_back("hinge + r1", hinge_r1);
  for (const auto& [name, options] : cases) {
    const odyn::gan::GanLoss loss(options);
    expect_gradient_matches_finite_differences(
        [&] {
          auto gen = cpu_generator(6);
          return loss.critic_loss(critic, data.real, data.fake, gen).loss;
        },
        mlp, name);
  }
}

// A penalty built from input gradients taken WITHOUT create_graph is a constant for autograd: its
// parameter gradient is missing, so the critic loss's gradient is wrong.
TEST_F(GanLossGradients, PenaltyWithoutCreateGraphGivesWrongGradient) {
  const TinyMlp mlp(7);
  const Critic critic = mlp.critic();
  const Batch data = batch(4, 8);
  auto correct = [&] {
    return critic(data.fake).mean() - critic(data.real).mean() + odyn::gan::wgan_div_penalty(critic, data.real, 2, 2);
  };
  auto without_create_graph = [&] {
    const Tensor x = data.real.detach().requires_grad_(true);
    const Tensor g = ::torch::autograd::grad({critic(x).sum()}, {x}, {}, true, /*create_graph=*/false)[0];
    const Tensor penalty = 2 * g.pow(2).sum(1).mean();
    return critic(data.fake).mean() - critic(data.real).mean() + penalty;
  };
  EXPECT_NEAR(correct().item<double>(), without_create_graph().item<double>(), 1e-12);  // same value
  const auto numeric = finite_difference_gradient(correct, mlp.params());
  EXPECT_LT(max_relative_error(autograd_gradient(correct, mlp.params()), numeric), 1e-6);
  EXPECT_GT(max_relative_error(autograd_gradient(without_create_graph, mlp.params()), numeric), 1e-3);
}

// ---- 2. Per-sample gradient norms ---------------------------------------------------------------

// D(x) = sum(w ⊙ x^2) per image (B, 1, 2, 2): ∇D(x_i) = 2 w ⊙ x_i, norm 2 ||w ⊙ x_i||.
TEST_F(GanLossNorms, QuadraticCriticOnImages) {
  const Tensor w = ::torch::tensor({0.5, -1.0, 2.0, 0.25}, kF64).view({1, 1, 2, 2});
  const Critic critic = [w](const Tensor& x) { return (w * x * x).sum({1, 2, 3}); };
  auto gen = cpu_generator(9);
  const Tensor x = ::torch::randn({5, 1, 2, 2}, gen, kF64);
  const Tensor grads = odyn::gan::per_sample_gradients(critic, x);
  ASSERT_EQ(grads.sizes(), (std::vector<int64_t>{5, 4}));
  const Tensor norms = odyn::gan::per_sample_gradient_norms(critic, x);
  ASSERT_EQ(norms.sizes(), (std::vector<int64_t>{5}));
  for (int64_t i = 0; i < 5; ++i) {
    double sq = 0;
    for (int64_t j = 0; j < 4; ++j) {
      const double expected = 2 * w.view({-1})[j].item<double>() * x[i].view({-1})[j].item<double>();
      EXPECT_NEAR(grads[i][j].item<double>(), expected, 1e-12);
      sq += expected * expected;
    }
    EXPECT_NEAR(norms[i].item<double>(), std::sqrt(sq), 1e-12) << "sample " << i;
  }
  // Samples are independent: changing one leaves the others' norms unchanged.
  Tensor moved = x.clone();
  moved[2] += 3.0;
  const Tensor moved_norms = odyn::gan::per_sample_gradient_norms(critic, moved);
  for (int64_t i : {0, 1, 3, 4}) EXPECT_EQ(moved_norms[i].item<double>(), norms[i].item<double>());
  EXPECT_GT(std::abs(moved_norms[2].item<double>() - norms[2].item<double>()), 1e-3);
}

// A linear critic on (B, 1, 4, 4) images has ∇D = W for every sample: each norm is ||W||, not the
// batch-wide sqrt(B) ||W|| and not |W_jk| element-wise.
TEST_F(GanLossNorms, LinearCriticOnImages) {
  auto gen = cpu_generator(10);
  const Tensor w = ::torch::randn({1, 1, 4, 4}, gen, kF64);
  const Critic critic = [w](const Tensor& x) { return (w * x).sum({1, 2, 3}) + 0.7; };
  const Tensor x = ::torch::randn({3, 1, 4, 4}, gen, kF64);
  const Tensor norms = odyn::gan::per_sample_gradient_norms(critic, x);
  const double expected = std::sqrt(w.pow(2).sum().item<double>());
  ASSERT_EQ(norms.sizes(), (std::vector<int64_t>{3}));
  for (int64_t i = 0; i < 3; ++i) EXPECT_NEAR(norms[i].item<double>(), expected, 1e-12);
}

// ---- 3. GAN-QP's delta-pair optimum (seed-gan §2.1, §2.5.1) -------------------------------------

// real = δ(α), fake = δ(β) as batches of identical points, linear critic D(x) = w . x, so that
// z = D(α) - D(β) = w . (α - β). The critic objective -loss = z - z^2 / (2 λ d) peaks at z* = λ d
// with value λ d / 2, and falls by exactly h^2 / (2 λ d) at z* ± h.
TEST_F(GanLossQp, DeltaPairOptimum) {
  const int64_t b = 4;
  const Tensor alpha = ::torch::tensor({0.3, -0.2}, kF64);
  const Tensor beta = ::torch::tensor({-0.5, 0.4}, kF64);  // α - β = (0.8, -0.6), |α - β| = 1
  const Tensor real = alpha.expand({b, 2}).clone();
  const Tensor fake = beta.expand({b, 2}).clone();
  const double lambda = 10;
  // Per-element mean |0.8|, |-0.6| and their RMS.
  for (const auto& distance_and_d : {std::pair{QpDistance::l1, 0.7}, std::pair{QpDistance::l2, std::sqrt(0.5)}}) {
    const QpDistance distance = distance_and_d.first;
    const double d = distance_and_d.second;
    LossOptions options = odyn::gan::loss_preset("gan_qp");
    options.lambda = lambda;
    options.distance = distance;
    const odyn::gan::GanLoss loss(options);
    auto gen = cpu_generator(0);
    const Tensor direction = alpha - beta;
    auto objective = [&](double z) {   // -loss of the critic with z = D(α) - D(β)
      const Tensor w = z * direction;  // |α - β| = 1
      const Critic critic = [w](const Tensor& x) { return x.matmul(w); };
      return -loss.critic_loss(critic, real, fake, gen).loss.item<double>();
    };
    const double z_star = lambda * d, h = 0.1;
    EXPECT_NEAR(objective(z_star), lambda * d / 2, 1e-12);
    EXPECT_NEAR(objective(z_star) - objective(z_star + h), h * h / (2 * lambda * d), 1e-12);
    EXPECT_NEAR(objective(z_star) - objective(z_star - h), h * h / (2 * lambda * d), 1e-12);

    // Gradient descent on a 2-parameter critic from w = 0: z contracts to z* by 1 - η/(λ d) a step.
    const Tensor w = ::torch::zeros({2}, kF64).requires_grad_(true);
    const Critic critic = [w](const Tensor& x) { return x.matmul(w); };
    const double step = 2.0;
    for (int it = 0; it < 300; ++it) {
      const Tensor value = loss.critic_loss(critic, real, fake, gen).loss;
      const Tensor g = ::torch::autograd::grad({value}, {w})[0];
      ::torch::NoGradGuard no_grad;
      w.sub_(step * g);
    }
    const double z = (w.detach() * direction).sum().item<double>();
    EXPECT_NEAR(z, z_star, 1e-10);
    EXPECT_NEAR(-loss.critic_loss(critic, real, fake, gen).loss.item<double>(), lambda * d / 2, 1e-10);
  }
}

// Su's delta test (kexue.fm/archives/6163, claims QP-2 and QP-6): P = δ_α, Q = δ_β and a critic free
// to take any values a = D(α), b = D(β). The SGAN dual ½E_P log σ(D) + ½E_Q log(1 − σ(D)) + log 2 =
// log 2 − (critic loss)/2 has supremum log 2 whatever d(α, β) is, so the optimal critic's value gives
// the generator no gradient; the QP value λd/2 moves with d. The critic is maximised by 600
// gradient steps on (a, b) for two distances d = 0.7 and d = 2.1 (l1 distance of 1-element samples).
TEST_F(GanLossQp, DeltaPairSganValueIsConstantQpValueTracksDistance) {
  const double lambda = 10;
  auto optimal_value = [&](LossKind kind, double d) {
    LossOptions options = odyn::gan::loss_preset(kind == LossKind::sgan ? "sgan" : "gan_qp");
    options.lambda = lambda;
    const odyn::gan::GanLoss loss(options);
    const Tensor real = ::torch::full({4, 1}, 0.0, kF64), fake = ::torch::full({4, 1}, d, kF64);
    const Tensor ab = ::torch::zeros({2}, kF64).requires_grad_(true);
    // D(x) = a at α = 0 and b at β = d: the critic is two free numbers.
    const Critic critic = [&](const Tensor& x) {
      const Tensor at_alpha = (x.flatten(1).select(1, 0) == 0).to(::torch::kDouble);
      return at_alpha * ab[0] + (1 - at_alpha) * ab[1];
    };
    auto gen = cpu_generator(0);
    for (int it = 0; it < 600; ++it) {
      const Tensor g = ::torch::autograd::grad({loss.critic_loss(critic, real, fake, gen).loss}, {ab})[0];
      ::torch::NoGradGuard no_grad;
      ab.sub_((kind == LossKind::sgan ? 8.0 : 2.0) * g);  // QP: z contracts to λd by 1 − 4/(λd) a step
    }
    const double l = loss.critic_loss(critic, real, fake, gen).loss.item<double>();
    return kind == LossKind::sgan ? std::log(2.0) - l / 2 : -l;
  };
  const double sgan_near = optimal_value(LossKind::sgan, 0.7), sgan_far = optimal_value(LossKind::sgan, 2.1);
  EXPECT_GT(sgan_near, std::log(2.0) - 1e-3);
  EXPECT_LE(sgan_near, std::log(2.0));
  EXPECT_EQ(sgan_near, sgan_far);  // not a function of d: zero gradient for the generator
  EXPECT_NEAR(optimal_value(LossKind::gan_qp, 0.7), lambda * 0.7 / 2, 1e-9);
  EXPECT_NEAR(optimal_value(LossKind::gan_qp, 2.1), lambda * 2.1 / 2, 1e-9);
}

// ---- 4. Hand-computed values --------------------------------------------------------------------

// Linear critic D(x) = x . (1, -2) + 0.5 (||∇D|| = sqrt 5) on
//   real (1, 0), (0.5, 0.5): D = 1.5, 0;    fake (0, 0), (1, 1.5): D = 0.5, -1.5.
// mean D_r = 0.75, mean D_f = -0.5, Δ = (1, 1.5);
// l1 d = (0.5, 0.75); l2 d = (sqrt 0.5, sqrt 0.625).
struct HandExample {
  Tensor real = ::torch::tensor({1.0, 0.0, 0.5, 0.5}, kF64).view({2, 2});
  Tensor fake = ::torch::tensor({0.0, 0.0, 1.0, 1.5}, kF64).view({2, 2});
  Critic critic = [](const Tensor& x) { return x.matmul(::torch::tensor({1.0, -2.0}, kF64)) + 0.5; };
};

double critic_value(const LossOptions& options) {
  const HandExample ex;
  auto gen = cpu_generator(11);
  return odyn::gan::GanLoss(options).critic_loss(ex.critic, ex.real, ex.fake, gen).loss.item<double>();
}

double generator_value(const LossOptions& options) {
  const HandExample ex;
  return odyn::gan::GanLoss(options).generator_loss(ex.critic, ex.real, ex.fake).loss.item<double>();
}

TEST_F(GanLossValues, CriticLossesByHand) {
  using odyn::gan::loss_preset;
  const double sgan = 0.5 * (softplus(-1.5) + softplus(0.0)) + 0.5 * (softplus(0.5) + softplus(-1.5));
  EXPECT_NEAR(critic_value(loss_preset("sgan")), sgan, 1e-12);
  EXPECT_NEAR(critic_value(loss_preset("hinge")), 0.5 * (0 + 1) + 0.5 * (1.5 + 0), 1e-12);
  const double gp = 10 * std::pow(std::sqrt(5.0) - 1, 2);
  EXPECT_NEAR(critic_value(loss_preset("wgan_gp")), -1.25 + gp, 1e-12);
  // ||∇D||^6 = 125 at every point, whatever the sampling.
  EXPECT_NEAR(critic_value(loss_preset("wgan_div_su")), -1.25 + 2 * 125, 1e-12);
  EXPECT_NEAR(critic_value(loss_preset("wgan_div_official")), -1.25 + 10 * 125, 1e-10);
  LossOptions p2 = loss_preset("wgan_div");
  p2.p = 2;
  EXPECT_NEAR(critic_value(p2), -1.25 + 2 * 5, 1e-12);
  // GAN-QP, λ = 10: mean(-Δ + Δ^2 / (20 d)).
  EXPECT_NEAR(critic_value(loss_preset("gan_qp")), 0.5 * ((-1 + 1 / 10.0) + (-1.5 + 2.25 / 15.0)), 1e-12);
  LossOptions l2 = loss_preset("gan_qp");
  l2.distance = QpDistance::l2;
  const double qp_l2 = 0.5 * ((-1 + 1 / (20 * std::sqrt(0.5))) + (-1.5 + 2.25 / (20 * std::sqrt(0.625))));
  EXPECT_NEAR(critic_value(l2), qp_l2, 1e-12);
  // MEG's energy loss, λ 0.1 (the preset): mean D_f - mean D_r + λ ||∇D(x_r)||^2 = -1.25 + 0.1 · 5.
  EXPECT_NEAR(critic_value(loss_preset("energy")), -1.25 + 0.5, 1e-12);
  EXPECT_NEAR(critic_value(loss_preset("meg")), -1.25 + 0.5, 1e-12);
  LossOptions energy = loss_preset("energy");
  energy.lambda = 2;
  EXPECT_NEAR(critic_value(energy), -1.25 + 10, 1e-12);
  // ebm, λ 0.1: mean D_f - mean D_r + λ (mean D_r^2 + mean D_f^2) = -1.25 + 0.1 (1.125 + 1.25).
  EXPECT_NEAR(critic_value(loss_preset("ebm")), -1.25 + 0.1 * (1.125 + 1.25), 1e-12);
  // R1 with γ = 3 adds γ/2 ||∇D||^2 = 7.5 to any kind.
  for (const char* name : {"hinge", "gan_qp", "wgan_div_su"}) {
    LossOptions with_r1 = loss_preset(name);
    with_r1.r1_gamma = 3;
    EXPECT_NEAR(critic_value(with_r1), critic_value(loss_preset(name)) + 7.5, 1e-10) << name;
  }
}

// WGAN-GP with the quadratic critic D(x) = |x|^2 / 2 (∇D(x) = x): the penalty at the interpolates
// x̂_i = r_i + α_i (f_i - r_i), α_i the generator's first two U[0, 1] draws.
TEST_F(GanLossValues, WganGpAtInterpolatesByHand) {
  const HandExample ex;
  const Critic critic = [](const Tensor& x) { return 0.5 * x.pow(2).sum(1); };
  auto alpha_gen = cpu_generator(12);
  const Tensor alpha = ::torch::rand({2}, alpha_gen, kF64);
  double penalty = 0;
  for (int64_t i = 0; i < 2; ++i) {
    const double a = alpha[i].item<double>();
    const double x0 = ex.real[i][0].item<double>() + a * (ex.fake[i][0].item<double>() - ex.real[i][0].item<double>());
    const double x1 = ex.real[i][1].item<double>() + a * (ex.fake[i][1].item<double>() - ex.real[i][1].item<double>());
    penalty += 10 * std::pow(std::hypot(x0, x1) - 1, 2) / 2;
  }
  auto gen = cpu_generator(12);
  EXPECT_NEAR(odyn::gan::wgan_gp_penalty(critic, ex.real, ex.fake, 10, gen).item<double>(), penalty, 1e-12);
}

TEST_F(GanLossValues, GeneratorLossesByHand) {
  using odyn::gan::loss_preset;
  EXPECT_NEAR(generator_value(loss_preset("sgan")), 0.5 * (softplus(-0.5) + softplus(1.5)), 1e-12);
  for (const char* name : {"wgan_gp", "wgan_div", "hinge", "energy", "meg"})
    EXPECT_NEAR(generator_value(loss_preset(name)), 0.5, 1e-12);
  EXPECT_NEAR(generator_value(loss_preset("gan_qp")), 0.75 + 0.5, 1e-12);  // mean(D_r - D_f), no quadratic term
}

TEST_F(GanLossValues, PartsAndQpDistance) {
  const HandExample ex;
  auto gen = cpu_generator(13);
  const auto value =
      odyn::gan::GanLoss(odyn::gan::loss_preset("wgan_div_su")).critic_loss(ex.critic, ex.real, ex.fake, gen);
  EXPECT_NEAR(value.parts.at("score_real").item<double>(), 0.75, 1e-12);
  EXPECT_NEAR(value.parts.at("score_fake").item<double>(), -0.5, 1e-12);
  EXPECT_NEAR(value.parts.at("w_estimate").item<double>(), 1.25, 1e-12);
  EXPECT_NEAR(value.parts.at("penalty").item<double>(), 250, 1e-10);
  EXPECT_FALSE(value.parts.at("penalty").requires_grad());
  const Tensor l1 = odyn::gan::qp_distance(ex.real, ex.fake, QpDistance::l1);
  const Tensor l2 = odyn::gan::qp_distance(ex.real, ex.fake, QpDistance::l2);
  EXPECT_NEAR(l1[0].item<double>(), 0.5, 1e-15);
  EXPECT_NEAR(l1[1].item<double>(), 0.75, 1e-15);
  EXPECT_NEAR(l2[0].item<double>(), std::sqrt(0.5), 1e-15);
  EXPECT_NEAR(l2[1].item<double>(), std::sqrt(0.625), 1e-15);
}

// float32 (the default dtype of training) gives the float64 values to float32 rounding.
TEST_F(GanLossValues, Float32) {
  const HandExample ex;
  const Tensor w = ::torch::tensor({1.0f, -2.0f});
  const Critic critic = [w](const Tensor& x) { return x.matmul(w) + 0.5f; };
  for (const char* name : {"wgan_div_su", "gan_qp", "sgan", "wgan_gp"}) {
    LossOptions options = odyn::gan::loss_preset(name);
    options.r1_gamma = 1;
    auto gen = cpu_generator(30);
    const Tensor value = odyn::gan::GanLoss(options)
                             .critic_loss(critic, ex.real.to(::torch::kFloat), ex.fake.to(::torch::kFloat), gen)
                             .loss;
    EXPECT_EQ(value.scalar_type(), ::torch::kFloat) << name;
    EXPECT_NEAR(value.item<double>(), critic_value(options), 1e-5 * std::max(1.0, std::abs(critic_value(options))))
        << name;
  }
}

// Identical real and fake pairs (d = 0) add no quadratic term and keep gradients finite.
TEST_F(GanLossValues, QpZeroDistancePairs) {
  const TinyMlp mlp(14);
  const Batch data = batch(3, 15);
  const odyn::gan::GanLoss loss(odyn::gan::loss_preset("gan_qp"));
  auto gen = cpu_generator(0);
  const Tensor value = loss.critic_loss(mlp.critic(), data.real, data.real, gen).loss;
  EXPECT_EQ(value.item<double>(), 0.0);
  for (const auto& g : ::torch::autograd::grad({value}, mlp.params(), {}, false, false, true)) {
    if (g.defined()) {
      EXPECT_TRUE(::torch::isfinite(g).all().item<bool>());
    }
  }
}

// ---- 5. Penalty points --------------------------------------------------------------------------

// Whether x lies on the segment [a, b] (rows flattened): x = a + t (b - a), 0 <= t <= 1.
bool on_segment(const Tensor& x, const Tensor& a, const Tensor& b) {
  const Tensor ab = (b - a).reshape(-1), ax = (x - a).reshape(-1);
  const double len2 = ab.dot(ab).item<double>();
  if (len2 == 0) return (ax.abs().max().item<double>() < 1e-12);
  const double t = ax.dot(ab).item<double>() / len2;
  return t >= -1e-12 && t <= 1 + 1e-12 && (ax - t * ab).abs().max().item<double>() < 1e-12;
}

// Whether x lies on a segment between two rows of `pool` (any i, j; i == j allowed).
bool on_some_segment(const Tensor& x, const Tensor& pool, const Tensor& partners) {
  for (int64_t i = 0; i < pool.size(0); ++i)
    for (int64_t j = 0; j < partners.size(0); ++j)
      if (on_segment(x, pool[i], partners[j])) return true;
  return false;
}

TEST_F(GanLossPoints, ShapesAndMembership) {
  const int64_t b = 5;  // odd: real_real_fake_fake splits 3 real + 2 fake
  auto data_gen = cpu_generator(16);
  const Tensor real = ::torch::randn({b, 1, 2, 2}, data_gen, kF64);
  const Tensor fake = ::torch::randn({b, 1, 2, 2}, data_gen, kF64);
  const Tensor pool = ::torch::cat({real, fake});
  auto points = [&](CriticSampling s) {
    auto gen = cpu_generator(17);
    return odyn::gan::penalty_points(real, fake, s, gen);
  };
  auto expect_shape = [&](const Tensor& p, int64_t rows) {
    EXPECT_EQ(p.sizes(), (std::vector<int64_t>{rows, 1, 2, 2}));
  };

  const Tensor rf = points(CriticSampling::real_fake_interpolates);
  expect_shape(rf, b);
  for (int64_t i = 0; i < b; ++i) EXPECT_TRUE(on_segment(rf[i], real[i], fake[i])) << i;
  EXPECT_FALSE(rf.equal(real));

  const Tensor rrff = points(CriticSampling::real_real_fake_fake_interpolates);
  expect_shape(rrff, b);
  for (int64_t i = 0; i < 3; ++i) EXPECT_TRUE(on_some_segment(rrff[i], real[i].unsqueeze(0), real)) << i;
  for (int64_t i = 3; i < b; ++i) EXPECT_TRUE(on_some_segment(rrff[i], fake[i].unsqueeze(0), fake)) << i;
  for (int64_t i = 0; i < 3; ++i) EXPECT_FALSE(on_some_segment(rrff[i], fake, fake)) << i;

  const Tensor pi = points(CriticSampling::pooled_interpolates);
  expect_shape(pi, b);
  for (int64_t i = 0; i < b; ++i) EXPECT_TRUE(on_some_segment(pi[i], pool, pool)) << i;

  const Tensor pooled = points(CriticSampling::pooled);
  expect_shape(pooled, 2 * b);
  EXPECT_TRUE(pooled.equal(pool));  // exactly the real rows, then the fake rows
  EXPECT_TRUE(points(CriticSampling::real).equal(real));
  EXPECT_TRUE(points(CriticSampling::fake).equal(fake));
}

TEST_F(GanLossPoints, SeededReproducibility) {
  const Batch data = batch(6, 18);
  for (auto s : {CriticSampling::real_fake_interpolates, CriticSampling::real_real_fake_fake_interpolates,
                 CriticSampling::pooled_interpolates}) {
    auto gen_a = cpu_generator(19), gen_b = cpu_generator(19), gen_c = cpu_generator(20);
    const Tensor a = odyn::gan::penalty_points(data.real, data.fake, s, gen_a);
    EXPECT_TRUE(a.equal(odyn::gan::penalty_points(data.real, data.fake, s, gen_b))) << odyn::gan::to_string(s);
    EXPECT_FALSE(a.equal(odyn::gan::penalty_points(data.real, data.fake, s, gen_c))) << odyn::gan::to_string(s);
    // A second draw from the same generator continues its stream.
    EXPECT_FALSE(a.equal(odyn::gan::penalty_points(data.real, data.fake, s, gen_a))) << odyn::gan::to_string(s);
  }
}

// k mean over the 2B pooled points = Su's (k/2)(mean_r ||∇D||^p + mean_f ||∇D||^p) (seed-gan §1.3).
TEST_F(GanLossPoints, PooledWganDivEqualsSuPenalty) {
  const TinyMlp mlp(21);
  const Critic critic = mlp.critic();
  const Batch data = batch(6, 22);
  auto gen = cpu_generator(23);
  const double k = 2, p = 6;
  const Tensor pooled = odyn::gan::wgan_div_penalty(
      critic, odyn::gan::penalty_points(data.real, data.fake, CriticSampling::pooled, gen), k, p);
  const Tensor norms_r = odyn::gan::per_sample_gradient_norms(critic, data.real);
  const Tensor norms_f = odyn::gan::per_sample_gradient_norms(critic, data.fake);
  const Tensor su = (k / 2) * (norms_r.pow(p).mean() + norms_f.pow(p).mean());
  EXPECT_NEAR(pooled.item<double>(), su.item<double>(), 1e-12 * su.item<double>());
}

// ---- 6. Sign convention: the critic scores real samples high ------------------------------------

TEST_F(GanLossSign, RealHighCriticHasLowerLoss) {
  auto gen = cpu_generator(24);
  const Tensor real = ::torch::randn({8, 2}, gen, kF64) * 0.1 + 1.0;
  const Tensor fake = ::torch::randn({8, 2}, gen, kF64) * 0.1 - 1.0;
  const Tensor w = ::torch::tensor({0.5, 0.5}, kF64);
  const Critic real_high = [w](const Tensor& x) { return x.matmul(w); };
  const Critic real_low = [w](const Tensor& x) { return -x.matmul(w); };
  for (const char* name : {"sgan", "wgan_gp", "wgan_div", "gan_qp", "hinge"}) {
    const odyn::gan::GanLoss loss(odyn::gan::loss_preset(name));
    auto gen_high = cpu_generator(25), gen_low = cpu_generator(25);
    const double high = loss.critic_loss(real_high, real, fake, gen_high).loss.item<double>();
    const double low = loss.critic_loss(real_low, real, fake, gen_low).loss.item<double>();
    EXPECT_LT(high, low) << name;
    // The generator gains by fakes the critic scores high.
    EXPECT_LT(loss.generator_loss(real_low, real, fake).loss.item<double>(),
              loss.generator_loss(real_high, real, fake).loss.item<double>())
        << name;
  }
}

// ---- 7. Bad input -------------------------------------------------------------------------------

TEST_F(GanLossInput, RejectsBadOptions) {
  for (double lambda : {0.0, -1.0, kNan}) {
    LossOptions o;
    o.lambda = lambda;
    EXPECT_THROW(odyn::gan::GanLoss{o}, InvalidArgument) << lambda;
  }
  for (double k : {0.0, -2.0, kInf}) {
    LossOptions o;
    o.k = k;
    EXPECT_THROW(odyn::gan::GanLoss{o}, InvalidArgument) << k;
  }
  for (double p : {1.0, 0.5, kNan}) {
    LossOptions o;
    o.p = p;
    EXPECT_THROW(odyn::gan::GanLoss{o}, InvalidArgument) << p;
  }
  for (double r1 : {-0.1, kNan}) {
    LossOptions o;
    o.r1_gamma = r1;
    EXPECT_THROW(odyn::gan::GanLoss{o}, InvalidArgument) << r1;
  }
  for (double v : {-0.1, kNan}) {
    LossOptions entropy, correlation;
    entropy.entropy = correlation.correlation = v;
    EXPECT_THROW(odyn::gan::GanLoss{entropy}, InvalidArgument) << v;
    EXPECT_THROW(odyn::gan::GanLoss{correlation}, InvalidArgument) << v;
  }
  LossOptions ogan_r1 = odyn::gan::loss_preset("ogan"), ogan_entropy = odyn::gan::loss_preset("ogan");
  ogan_r1.r1_gamma = 1;
  ogan_entropy.entropy = 1;
  EXPECT_THROW(odyn::gan::GanLoss{ogan_r1}, InvalidArgument);
  EXPECT_THROW(odyn::gan::GanLoss{ogan_entropy}, InvalidArgument);
  {
    // O-GAN's objective is joint: the alternating losses refuse it.
    const HandExample ex;
    const odyn::gan::GanLoss ogan(odyn::gan::loss_preset("ogan"));
    auto g = cpu_generator(0);
    EXPECT_THROW(ogan.critic_loss(ex.critic, ex.real, ex.fake, g), InvalidArgument);
    EXPECT_THROW(ogan.generator_loss(ex.critic, ex.real, ex.fake), InvalidArgument);
    const odyn::gan::GanLoss ebm(odyn::gan::loss_preset("ebm"));
    EXPECT_THROW(ebm.generator_loss(ex.critic, ex.real, ex.fake), InvalidArgument);
  }
  for (auto bad_chain : {std::make_pair(0, 0.01), std::make_pair(5, 0.0), std::make_pair(5, -1.0)}) {
    LossOptions o = odyn::gan::loss_preset("ebm");
    o.langevin_steps = bad_chain.first;
    o.langevin_step_size = bad_chain.second;
    EXPECT_THROW(odyn::gan::GanLoss{o}, InvalidArgument);
  }
  {
    LossOptions o = odyn::gan::loss_preset("ebm");
    o.buffer_reuse = 1.5;
    EXPECT_THROW(odyn::gan::GanLoss{o}, InvalidArgument);
    o = odyn::gan::loss_preset("ebm");
    o.buffer_size = 0;
    EXPECT_THROW(odyn::gan::GanLoss{o}, InvalidArgument);
    o = odyn::gan::loss_preset("ebm");
    o.entropy = 1;
    EXPECT_THROW(odyn::gan::GanLoss{o}, InvalidArgument);
  }
  const TinyMlp mlp(26);
  const Batch data = batch(3, 27);
  auto gen = cpu_generator(0);
  EXPECT_THROW(odyn::gan::wgan_div_penalty(mlp.critic(), data.real, 2, 1), InvalidArgument);
  EXPECT_THROW(odyn::gan::wgan_div_penalty(mlp.critic(), data.real, 0, 6), InvalidArgument);
  EXPECT_THROW(odyn::gan::wgan_gp_penalty(mlp.critic(), data.real, data.fake, 0, gen), InvalidArgument);
  EXPECT_THROW(odyn::gan::r1_penalty(mlp.critic(), data.real, -1), InvalidArgument);
}

TEST_F(GanLossInput, RejectsBadTensors) {
  const TinyMlp mlp(28);
  const Critic critic = mlp.critic();
  const Batch data = batch(4, 29);
  const odyn::gan::GanLoss loss(odyn::gan::loss_preset("wgan_gp"));
  auto gen = cpu_generator(0);
  const Tensor short_fake = data.fake.narrow(0, 0, 3);
  const Tensor empty = ::torch::zeros({0, 3}, kF64);
  Tensor with_nan = data.real.clone();
  with_nan[1][2] = kNan;
  EXPECT_THROW(loss.critic_loss(critic, data.real, short_fake, gen), InvalidArgument);
  EXPECT_THROW(loss.critic_loss(critic, empty, empty, gen), InvalidArgument);
  EXPECT_THROW(loss.critic_loss(critic, with_nan, data.fake, gen), InvalidArgument);
  EXPECT_THROW(loss.critic_loss(critic, Tensor(), data.fake, gen), InvalidArgument);
  EXPECT_THROW(loss.critic_loss(critic, data.real.to(::torch::kLong), data.fake.to(::torch::kLong), gen),
               InvalidArgument);
  EXPECT_THROW(loss.generator_loss(critic, data.real, short_fake), InvalidArgument);
  EXPECT_THROW(loss.generator_loss(critic, Tensor(), empty), InvalidArgument);
  EXPECT_NO_THROW(loss.generator_loss(critic, Tensor(), data.fake));  // real unused by wgan_gp
  EXPECT_THROW(odyn::gan::GanLoss(odyn::gan::loss_preset("gan_qp")).generator_loss(critic, Tensor(), data.fake),
               InvalidArgument);
  for (auto s : {CriticSampling::real_fake_interpolates, CriticSampling::pooled, CriticSampling::real})
    EXPECT_THROW(odyn::gan::penalty_points(data.real, short_fake, s, gen), InvalidArgument);
  EXPECT_THROW(odyn::gan::qp_distance(data.real, short_fake, QpDistance::l1), InvalidArgument);
  EXPECT_THROW(odyn::gan::qp_distance(with_nan, data.fake, QpDistance::l2), InvalidArgument);
  Tensor with_inf = data.real.clone();
  with_inf[0][0] = -kInf;
  EXPECT_THROW(odyn::gan::qp_distance(data.fake, with_inf, QpDistance::l1), InvalidArgument);
  // Finite entries whose sum overflows are finite data, not NaN or Inf.
  const Tensor huge = ::torch::full({2, 3}, 1e308, kF64);
  EXPECT_NO_THROW(odyn::gan::qp_distance(huge, -huge, QpDistance::l1));
  EXPECT_THROW(odyn::gan::per_sample_gradient_norms(critic, empty), InvalidArgument);
  // A critic must return one score per sample.
  const Critic column = [critic](const Tensor& x) { return critic(x).unsqueeze(1); };
  EXPECT_THROW(odyn::gan::per_sample_gradient_norms(column, data.real), InvalidArgument);
  EXPECT_THROW(loss.critic_loss(column, data.real, data.fake, gen), InvalidArgument);
  EXPECT_THROW(loss.critic_loss(Critic(), data.real, data.fake, gen), InvalidArgument);
}

TEST_F(GanLossInput, Names) {
  for (auto kind : {LossKind::sgan, LossKind::wgan_gp, LossKind::wgan_div, LossKind::gan_qp, LossKind::hinge,
                    LossKind::energy, LossKind::ogan, LossKind::ebm})
    EXPECT_EQ(odyn::gan::parse_loss_kind(odyn::gan::to_string(kind)), kind);
  for (auto c : {odyn::gan::CodeLoss::pearson, odyn::gan::CodeLoss::mse})
    EXPECT_EQ(odyn::gan::parse_code_loss(odyn::gan::to_string(c)), c);
  EXPECT_THROW(odyn::gan::parse_code_loss("l2"), InvalidArgument);
  const LossOptions meg = odyn::gan::loss_preset("meg");
  EXPECT_EQ(meg.kind, LossKind::energy);
  EXPECT_EQ(meg.lambda, 0.1);
  EXPECT_EQ(meg.entropy, 1);
  EXPECT_EQ(odyn::gan::loss_preset("energy").entropy, 0);
  const LossOptions ogan = odyn::gan::loss_preset("ogan");
  EXPECT_EQ(ogan.lambda, 0.25);
  EXPECT_EQ(ogan.correlation, 0.5);
  EXPECT_EQ(ogan.code, odyn::gan::CodeLoss::pearson);
  for (auto s :
       {CriticSampling::real_fake_interpolates, CriticSampling::real_real_fake_fake_interpolates,
        CriticSampling::pooled_interpolates, CriticSampling::pooled, CriticSampling::fake, CriticSampling::real})
    EXPECT_EQ(odyn::gan::parse_critic_sampling(odyn::gan::to_string(s)), s);
  for (auto d : {QpDistance::l1, QpDistance::l2}) EXPECT_EQ(odyn::gan::parse_qp_distance(odyn::gan::to_string(d)), d);
  for (const char* bad : {"wgan", "WGAN_GP", "", "wgan-div", "lsgan"})
    EXPECT_THROW(odyn::gan::parse_loss_kind(bad), InvalidArgument) << bad;
  EXPECT_THROW(odyn::gan::parse_qp_distance("l3"), InvalidArgument);
  EXPECT_THROW(odyn::gan::parse_critic_sampling("mixture"), InvalidArgument);
  EXPECT_THROW(odyn::gan::loss_preset("wgan_div_paper"), InvalidArgument);
  const LossOptions su = odyn::gan::loss_preset("wgan_div_su");
  EXPECT_EQ(su.kind, LossKind::wgan_div);
  EXPECT_EQ(su.k, 2);
  EXPECT_EQ(su.p, 6);
  EXPECT_EQ(su.sampling, CriticSampling::pooled);
  const LossOptions official = odyn::gan::loss_preset("wgan_div_official");
  EXPECT_EQ(official.k, 10);
  EXPECT_EQ(official.p, 6);
  EXPECT_EQ(official.sampling, CriticSampling::real_fake_interpolates);
}

}  // namespace
