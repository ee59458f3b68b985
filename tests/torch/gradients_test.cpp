// odyn::torch gradient pipeline, weight EMA and layer-wise learning rates (kexue.fm/archives/6418,
// seed-math §4 tests D1-D7, §2.4 EMA), against long double sums, closed forms and torch::optim.
//
// Tolerances: norms and clipping in float64 are sums of a few hundred products (rounding ~1e-15
// relative), checked at 1e-12. Reparameterised runs differ from the direct ones only by rounding
// of θ = s φ and of the folded constants (λ α, ε / λ), amplified by at most a few over 100 steps
// of a contracting problem: 1e-14 where s is a power of two (D1, D2), 1e-12 otherwise.
#include "odyn/torch/gradients.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "odyn/core/error.hpp"
#include "odyn/torch/optim.hpp"

namespace {

using odyn::InvalidArgument;
using odyn::torch::GradientPipeline;
using odyn::torch::LrScaling;
using odyn::torch::NamedParameters;
using odyn::torch::ScaledLinear;
using odyn::torch::WeightEma;
using ::torch::Tensor;

const auto kF64 = ::torch::TensorOptions().dtype(::torch::kDouble);

class TorchGradients : public ::testing::Test {
 protected:
  void SetUp() override {
    ::torch::set_num_threads(1);
    ::torch::manual_seed(7);
  }
};

// max |a - b| / max |b|.
double rel_diff(const Tensor& a, const Tensor& b) {
  return (a - b).abs().max().item<double>() / b.abs().max().item<double>();
}

// Parameters named as in a two-layer network, with float64 random gradients set.
NamedParameters params_with_grads() {
  NamedParameters params;
  const std::vector<std::pair<std::string, std::vector<int64_t>>> shapes = {
      {"fc1.weight", {8, 5}}, {"fc1.bias", {8}}, {"fc2.weight", {3, 8}}, {"fc2.bias", {3}}};
  for (const auto& [name, shape] : shapes) {
    Tensor p = ::torch::randn(shape, kF64).requires_grad_(true);
    p.mutable_grad() = ::torch::randn(shape, kF64) * 2.0;
    params.insert(name, p);
  }
  return params;
}

std::vector<Tensor> grads_of(const NamedParameters& params) {
  std::vector<Tensor> out;
  for (const auto& item : params) out.push_back(item.value().grad().clone());
  return out;
}

long double norm_ld(const std::vector<Tensor>& grads) {
  long double s = 0;
  for (const Tensor& g : grads) {
    const Tensor c = g.contiguous();
    const double* x = c.data_ptr<double>();
    for (int64_t i = 0; i < c.numel(); ++i) s += static_cast<long double>(x[i]) * x[i];
  }
  return std::sqrt(s);
}

TEST_F(TorchGradients, GlobalNormClipGivesMinOfNormAndBoundAlongTheSameDirection) {
  for (const double c : {0.5, 1e3}) {
    const NamedParameters params = params_with_grads();
    const std::vector<Tensor> before = grads_of(params);
    const long double norm = norm_ld(before);
    const Tensor returned = GradientPipeline().clip_global_norm(c)(params);
    EXPECT_EQ(returned.scalar_type(), ::torch::kDouble);
    EXPECT_EQ(returned.dim(), 0);
    EXPECT_NEAR(returned.item<double>(), static_cast<double>(norm), 1e-12 * static_cast<double>(norm));
    const std::vector<Tensor> after = grads_of(params);
    const double expected = std::min(static_cast<double>(norm), c);
    EXPECT_NEAR(static_cast<double>(norm_ld(after)), expected, 1e-12 * expected) << "c = " << c;
    const double factor = expected / static_cast<double>(norm);  // min(1, c / N)
    for (std::size_t i = 0; i < after.size(); ++i) EXPECT_LT(rel_diff(after[i], before[i] * factor), 1e-12);
  }
}

TEST_F(TorchGradients, PerParameterNormClipBoundsEachGradientSeparately) {
  const NamedParameters params = params_with_grads();
  const std::vector<Tensor> before = grads_of(params);
  const double c = 3.0;
  GradientPipeline().clip_norm(c)(params);
  const std::vector<Tensor> after = grads_of(params);
  for (std::size_t i = 0; i < after.size(); ++i) {
    const double n0 = static_cast<double>(norm_ld({before[i]}));
    const double n1 = static_cast<double>(norm_ld({after[i]}));
    EXPECT_NEAR(n1, std::min(n0, c), 1e-12 * n0);
    EXPECT_LT(rel_diff(after[i], before[i] * (std::min(n0, c) / n0)), 1e-12);
  }
  // The fc2.bias gradient (3 entries of sd 2) has norm below 10: clip_norm(10) leaves it as is.
  const NamedParameters small = params_with_grads();
  const Tensor g = small["fc2.bias"].grad().clone();
  ASSERT_LT(g.norm().item<double>(), 10.0);
  GradientPipeline().clip_norm(10.0, "fc2\\.bias")(small);
  EXPECT_TRUE(small["fc2.bias"].grad().equal(g));
}

TEST_F(TorchGradients, ValueClipClampsEntries) {
  const NamedParameters params = params_with_grads();
  const std::vector<Tensor> before = grads_of(params);
  GradientPipeline().clip_value(1.5)(params);
  const std::vector<Tensor> after = grads_of(params);
  for (std::size_t i = 0; i < after.size(); ++i) {
    EXPECT_TRUE(after[i].equal(before[i].clamp(-1.5, 1.5)));
    EXPECT_LE(after[i].abs().max().item<double>(), 1.5);
  }
}

// D6: zeroed gradients leave parameters unchanged after steps of SGD with momentum and of Adam
// (no weight decay) started from fresh state: both steps are exactly zero while every gradient
// seen so far was zero. Zeroing only the first layer ("0.weight", "0.bias") leaves the last free.
TEST_F(TorchGradients, ZeroingLeavesParametersUnchangedAfterAStep) {
  for (const bool adam : {false, true}) {
    for (const std::string pattern : {"0\\..*", ".*"}) {
      ::torch::nn::Sequential net(::torch::nn::Linear(4, 6), ::torch::nn::Tanh(), ::torch::nn::Linear(6, 2));
      net->to(::torch::kDouble);
      const NamedParameters params = net->named_parameters();
      std::vector<Tensor> initial;
      for (const auto& item : params) initial.push_back(item.value().detach().clone());
      std::unique_ptr<::torch::optim::Optimizer> opt;
      if (adam) {
        opt = std::make_unique<::torch::optim::Adam>(net->parameters(), ::torch::optim::AdamOptions(0.1));
      } else {
        opt = std::make_unique<::torch::optim::SGD>(net->parameters(),
                                                    ::torch::optim::SGDOptions(0.1).momentum(0.9));
      }
      const GradientPipeline pipeline = GradientPipeline().zero(pattern);
      for (int step = 0; step < 3; ++step) {
        opt->zero_grad();
        net->forward(::torch::randn({5, 4}, kF64)).square().sum().backward();
        pipeline(params);
        opt->step();
      }
      std::size_t i = 0;
      for (const auto& item : params) {
        const bool expect_same = pattern == ".*" || item.key().rfind("0.", 0) == 0;
        EXPECT_EQ(item.value().equal(initial[i++]), expect_same) << item.key() << (adam ? " Adam " : " SGD ") << pattern;
      }
    }
  }
}

TEST_F(TorchGradients, PatternsSelectOnlyMatchingNamesAndLambdasMayReplaceTheGradient) {
  const NamedParameters params = params_with_grads();
  const std::vector<Tensor> before = grads_of(params);
  std::vector<std::string> seen;
  GradientPipeline pipeline;
  pipeline
      .apply("fc1\\..*",
             [&seen](const std::string& name, Tensor& g) {
               seen.push_back(name);
               g.mul_(2.0);
             })
      .apply(".*\\.bias", [](const std::string&, Tensor& g) { g = g * 3.0; });  // new tensor, copied back
  EXPECT_EQ(pipeline.size(), 2u);
  pipeline(params);
  EXPECT_EQ(seen, (std::vector<std::string>{"fc1.weight", "fc1.bias"}));
  const std::vector<Tensor> after = grads_of(params);
  const double factors[] = {2.0, 6.0, 1.0, 3.0};  // fc1.weight, fc1.bias, fc2.weight, fc2.bias
  for (std::size_t i = 0; i < after.size(); ++i) EXPECT_TRUE(after[i].equal(before[i] * factors[i])) << i;
  // "fc1" matches no whole name: nothing is touched.
  GradientPipeline().zero("fc1")(params);
  EXPECT_TRUE(params["fc1.weight"].grad().equal(after[0]));
  // A transform returning another shape is rejected.
  EXPECT_THROW(GradientPipeline().apply("fc2\\.bias", [](const std::string&, Tensor& g) { g = g.sum(); })(params),
               InvalidArgument);
}

TEST_F(TorchGradients, PipelineSkipsUndefinedGradientsAndHandlesFloat32) {
  NamedParameters params;
  params.insert("a", ::torch::zeros({3}).requires_grad_(true));
  params.insert("b", ::torch::zeros({2}).requires_grad_(true));
  params["a"].mutable_grad() = ::torch::tensor({3.0f, 4.0f, 0.0f});
  const Tensor n = GradientPipeline().clip_global_norm(1.0).clip_value(0.7)(params);
  EXPECT_EQ(n.scalar_type(), ::torch::kDouble);
  EXPECT_DOUBLE_EQ(n.item<double>(), 5.0);
  EXPECT_FALSE(params["b"].grad().defined());
  // (3, 4, 0) / 5 = (0.6, 0.8, 0), then clamped to 0.7; float32 rounding of 3 * (1 / 5).
  EXPECT_TRUE(params["a"].grad().allclose(::torch::tensor({0.6f, 0.7f, 0.0f}), 0, 1e-7));
  NamedParameters none;
  none.insert("c", ::torch::zeros({1}).requires_grad_(true));
  EXPECT_EQ(GradientPipeline().clip_global_norm(1.0)(none).item<double>(), 0.0);
}

TEST_F(TorchGradients, PipelineRejectsBadInput) {
  GradientPipeline p;
  for (const double c : {0.0, -1.0, std::nan(""), HUGE_VAL}) {
    EXPECT_THROW(p.clip_global_norm(c), InvalidArgument);
    EXPECT_THROW(p.clip_norm(c), InvalidArgument);
    EXPECT_THROW(p.clip_value(c), InvalidArgument);
  }
  EXPECT_THROW(p.zero("fc1.(weight"), InvalidArgument);
  EXPECT_THROW(p.clip_norm(1.0, "[a-"), InvalidArgument);
  EXPECT_THROW(p.apply(".*", nullptr), InvalidArgument);
  EXPECT_EQ(p.size(), 0u);
}

// θ̄ <- d θ̄ + (1 - d) θ checked against the recursion written out in double, with and without
// the warm-up decay min(d, (1 + t) / (10 + t)).
TEST_F(TorchGradients, EmaFollowsTheRecursion) {
  for (const bool warmup : {false, true}) {
    Tensor p = ::torch::tensor({1.0, -2.0}, kF64).requires_grad_(true);
    NamedParameters params;
    params.insert("p", p);
    WeightEma ema(params, 0.9, warmup);
    double avg[2] = {1.0, -2.0};
    for (int t = 0; t < 30; ++t) {
      const double v[2] = {std::sin(0.3 * t), std::cos(0.7 * t) * 3.0};
      {
        ::torch::NoGradGuard no_grad;
        p.copy_(::torch::tensor({v[0], v[1]}, kF64));
      }
      const double d = warmup ? std::min(0.9, (1.0 + t) / (10.0 + t)) : 0.9;
      EXPECT_DOUBLE_EQ(ema.next_decay(), d);
      ema.update();
      for (int k = 0; k < 2; ++k) avg[k] = d * avg[k] + (1.0 - d) * v[k];
    }
    EXPECT_EQ(ema.num_updates(), 30);
    // 30 steps of a contraction, a few roundings each: 1e-14 relative to O(1) values.
    EXPECT_NEAR(ema.averages()["p"][0].item<double>(), avg[0], 1e-14);
    EXPECT_NEAR(ema.averages()["p"][1].item<double>(), avg[1], 1e-14);
  }
}

// seed-math §2.4: EMA of a parameter rotating as θ_n = r (cos nδ, sin nδ). With z_n the EMA as a
// complex number, z_n = a z_{n-1} + (1 - a) r e^{inδ}; the particular solution z_n = c e^{inδ}
// gives c (1 - a e^{-iδ}) = (1 - a) r, so c = (1 - a) r e^{iδ} / (e^{iδ} - a) and
// |c| = (1 - a) r / |e^{iδ} - a|; the rest, a^n (z_0 - c), dies out. For a = 0.999, δ = 0.01:
// |c| = 0.09955 r, the 0.0996 r of the post: the average sits near the centre of the circle.
TEST_F(TorchGradients, EmaOfARotationReachesTheClosedFormRadius) {
  const double r = 2.5, a = 0.999, dt = 0.01;
  Tensor p = ::torch::tensor({r, 0.0}, kF64).requires_grad_(true);
  NamedParameters params;
  params.insert("theta", p);
  WeightEma ema(params, a);
  const int n = 40000;  // a^n = 4e-18: the transient is gone
  for (int k = 1; k <= n; ++k) {
    ::torch::NoGradGuard no_grad;
    p.copy_(::torch::tensor({r * std::cos(k * dt), r * std::sin(k * dt)}, kF64));
    ema.update();
  }
  const std::complex<double> e = std::polar(1.0, dt);
  const std::complex<double> c = (1.0 - a) * r * e / (e - a);
  const std::complex<double> z_expected = c * std::polar(1.0, n * dt);
  const Tensor z = ema.averages()["theta"];
  // Rounding in the recursion accumulates to ~1e-16 / (1 - a) = 1e-13 relative.
  EXPECT_NEAR(z[0].item<double>(), z_expected.real(), 1e-11 * r);
  EXPECT_NEAR(z[1].item<double>(), z_expected.imag(), 1e-11 * r);
  const double radius = z.norm().item<double>() / r;
  EXPECT_NEAR(radius, (1.0 - a) / std::abs(e - a), 1e-11);
  EXPECT_NEAR(radius, 0.0996, 0.0996e-3);  // the post's value, given to 3 digits
}

TEST_F(TorchGradients, EmaCopyToAndSwap) {
  ::torch::nn::Linear layer(3, 2);
  layer->to(::torch::kDouble);
  WeightEma ema(*layer, 0.5);
  const Tensor w0 = layer->weight.detach().clone();
  {
    ::torch::NoGradGuard no_grad;
    layer->weight.add_(1.0);
  }
  ema.update();  // average = w0 + 0.5
  const Tensor w1 = layer->weight.detach().clone();
  ema.swap();
  EXPECT_TRUE(layer->weight.allclose(w0 + 0.5, 0, 1e-15));
  ema.swap();
  EXPECT_TRUE(layer->weight.equal(w1));
  ::torch::nn::Linear other(3, 2);  // float32: values converted
  ema.copy_to(other->named_parameters());
  EXPECT_TRUE(other->weight.allclose((w0 + 0.5).to(::torch::kFloat), 0, 1e-6));
  ::torch::nn::Linear wrong(4, 2);
  EXPECT_THROW(ema.copy_to(wrong->named_parameters()), InvalidArgument);
  NamedParameters partial;
  partial.insert("weight", other->weight);
  EXPECT_THROW(ema.copy_to(partial), InvalidArgument);
  EXPECT_THROW(WeightEma(*layer, 1.5), InvalidArgument);
  EXPECT_THROW(WeightEma(*layer, -0.1), InvalidArgument);
  EXPECT_THROW(WeightEma(NamedParameters(), 0.9), InvalidArgument);
}

// ---- Layer-wise learning rates: θ = s φ (wrapper) against torch::optim on θ with lr λ α. ----

// A 1 x n ScaledLinear without bias whose weight starts at theta0 (float64).
ScaledLinear scaled_vector(const Tensor& theta0, double lr_ratio, LrScaling scaling) {
  ::torch::nn::Linear layer(::torch::nn::LinearOptions(theta0.numel(), 1).bias(false));
  layer->to(::torch::kDouble);
  {
    ::torch::NoGradGuard no_grad;
    layer->weight.copy_(theta0.reshape({1, -1}));
  }
  return ScaledLinear(layer, lr_ratio, scaling);
}

// 100 steps of `make_opt(params)` on loss(θ), once through the wrapper (θ = s φ, options `wrapped`)
// and once directly on θ (options `direct`); returns rel_diff of the final θ.
template <class Opt, class Options, class Loss>
double wrapper_vs_direct(const Tensor& theta0, double lr_ratio, LrScaling scaling, const Options& wrapped,
                         const Options& direct, const Loss& loss, int steps = 100) {
  ScaledLinear w = scaled_vector(theta0, lr_ratio, scaling);
  Opt opt_w(w->parameters(), wrapped);
  Tensor theta = theta0.clone().requires_grad_(true);
  Opt opt_d(std::vector<Tensor>{theta}, direct);
  for (int k = 0; k < steps; ++k) {
    opt_w.zero_grad();
    loss(w->weight().reshape({-1})).backward();
    opt_w.step();
    opt_d.zero_grad();
    loss(theta).backward();
    opt_d.step();
  }
  return rel_diff(w->weight().detach().reshape({-1}), theta.detach());
}

// D1: L = (θ - 3)^2 / 2, θ0 = 0, SGD α = 0.1 with θ = 0.5 φ (λ = 0.25) equals SGD with lr 0.025.
TEST_F(TorchGradients, D1SgdOnScaledParameterEqualsSgdWithLambdaAlpha) {
  const auto loss = [](const Tensor& t) { return 0.5 * (t - 3.0).square().sum(); };
  const Tensor theta0 = ::torch::zeros({1}, kF64);
  using ::torch::optim::SGDOptions;
  const double d = wrapper_vs_direct<::torch::optim::SGD>(theta0, 0.25, LrScaling::sgd, SGDOptions(0.1),
                                                          SGDOptions(0.025), loss);
  EXPECT_LT(d, 1e-14);
}

// D2: momentum 0.9, with and without Nesterov (the momentum buffer of φ is s times that of θ).
TEST_F(TorchGradients, D2MomentumAndNesterovOnScaledParameter) {
  const auto loss = [](const Tensor& t) { return 0.5 * (t - 3.0).square().sum(); };
  const Tensor theta0 = ::torch::zeros({1}, kF64);
  using ::torch::optim::SGDOptions;
  for (const bool nesterov : {false, true}) {
    const double d = wrapper_vs_direct<::torch::optim::SGD>(
        theta0, 0.25, LrScaling::sgd, SGDOptions(0.1).momentum(0.9).nesterov(nesterov),
        SGDOptions(0.025).momentum(0.9).nesterov(nesterov), loss);
    EXPECT_LT(d, 1e-14) << "nesterov " << nesterov;
  }
}

// A random SPD quadratic in R^10: L = (θ - t)^T A (θ - t) / 2.
struct Quadratic {
  Tensor a, t;
  Quadratic() {
    const Tensor m = ::torch::randn({10, 10}, kF64);
    a = m.matmul(m.t()) / 10.0 + 0.1 * ::torch::eye(10, kF64);
    t = ::torch::randn({10}, kF64);
  }
  Tensor operator()(const Tensor& theta) const {
    const Tensor e = theta - t;
    return 0.5 * e.dot(a.mv(e));
  }
};

// D3: Adam on φ with lr α, ε equals Adam on θ with lr λ α and ε / λ (torch's Adam: ε outside the
// square root). With ε unscaled the runs differ by an amount that vanishes with ε.
TEST_F(TorchGradients, D3AdamOnScaledParameterNeedsRescaledEpsilon) {
  const Quadratic q;
  const Tensor theta0 = ::torch::randn({10}, kF64);
  const double lambda = 0.1, alpha = 0.01;
  using ::torch::optim::AdamOptions;
  const double exact = wrapper_vs_direct<::torch::optim::Adam>(theta0, lambda, LrScaling::adaptive,
                                                               AdamOptions(alpha).eps(1e-8),
                                                               AdamOptions(lambda * alpha).eps(1e-8 / lambda), q);
  EXPECT_LT(exact, 1e-12);
  double previous = HUGE_VAL;
  for (const double eps : {1e-2, 1e-4, 1e-6, 1e-8}) {
    const double dev = wrapper_vs_direct<::torch::optim::Adam>(
        theta0, lambda, LrScaling::adaptive, AdamOptions(alpha).eps(eps), AdamOptions(lambda * alpha).eps(eps), q);
    std::printf("D3 Adam, lambda %.1f, eps %.0e unscaled: rel diff %.3e\n", lambda, eps, dev);
    EXPECT_GT(dev, exact);
    // The step's relative change from ε is about ε (1/λ - 1) / sqrt(v): linear in ε.
    EXPECT_LT(dev, previous * 0.05);
    previous = dev;
  }
}

// D4: torch's RMSprop, g / (sqrt(v) + ε) with ε outside the square root: θ = λ φ equals lr λ α
// with ε / λ (Su's form with ε inside the square root would need ε / λ^2).
TEST_F(TorchGradients, D4RmspropOnScaledParameter) {
  const Quadratic q;
  const Tensor theta0 = ::torch::randn({10}, kF64);
  const double lambda = 0.2, alpha = 0.01;
  using ::torch::optim::RMSpropOptions;
  for (const double momentum : {0.0, 0.9}) {
    const double d = wrapper_vs_direct<::torch::optim::RMSprop>(
        theta0, lambda, LrScaling::adaptive, RMSpropOptions(alpha).eps(1e-8).momentum(momentum),
        RMSpropOptions(lambda * alpha).eps(1e-8 / lambda).momentum(momentum), q);
    EXPECT_LT(d, 1e-12) << "momentum " << momentum;
  }
  const double dev = wrapper_vs_direct<::torch::optim::RMSprop>(
      theta0, lambda, LrScaling::adaptive, RMSpropOptions(alpha).eps(1e-3), RMSpropOptions(lambda * alpha).eps(1e-3), q);
  std::printf("D4 RMSprop, lambda %.1f, eps 1e-3 unscaled: rel diff %.3e\n", lambda, dev);
  EXPECT_GT(dev, 1e-8);
}

// D4 in the form of Su's post: RMSprop with ε inside the square root (odyn's eps_inside) on φ,
// θ = λ φ, lr α, equals lr λ α with ε / λ² on θ (v_φ = λ² v_θ, so √(v_φ + ε) = λ √(v_θ + ε/λ²)).
TEST_F(TorchGradients, D4RmspropEpsInsideOnScaledParameter) {
  const Quadratic q;
  const Tensor theta0 = ::torch::randn({10}, kF64);
  const double lambda = 0.2, alpha = 0.01, eps = 1e-6;
  const auto run = [&](bool wrapped, double lr, double e) {
    ScaledLinear w = scaled_vector(theta0, lambda, LrScaling::adaptive);
    Tensor theta = theta0.clone().requires_grad_(true);
    odyn::torch::ParamGroup group;
    group.params = wrapped ? w->parameters() : std::vector<Tensor>{theta};
    group.lr = lr;
    odyn::dynamics::Rmsprop::Options o;
    o.eps = e;
    o.eps_inside = true;
    odyn::torch::TensorRmsprop opt({group}, o);
    for (int k = 0; k < 100; ++k) {
      opt.zero_grad();
      q(wrapped ? w->weight().reshape({-1}) : theta).backward();
      opt.step();
    }
    return wrapped ? Tensor(w->weight().detach().reshape({-1})) : theta.detach();
  };
  const Tensor reference = run(true, alpha, eps);
  EXPECT_LT(rel_diff(reference, run(false, lambda * alpha, eps / (lambda * lambda))), 1e-12);
  const double unscaled = rel_diff(reference, run(false, lambda * alpha, eps));
  std::printf("D4 RMSprop, eps inside the root, lambda %.1f, eps %.0e unscaled: rel diff %.3e\n", lambda, eps, unscaled);
  EXPECT_GT(unscaled, 1e-8);
}

// D8: decoupled weight decay multiplies the parameter by (1 - lr w) per step, whatever the
// parameterisation: AdamW on φ (lr α, decay w) equals AdamW on θ with lr λ α, ε / λ and decay w / λ,
// the same factor 1 - α w.
TEST_F(TorchGradients, D8DecoupledDecayFactorIsUnchanged) {
  const Quadratic q;
  const Tensor theta0 = ::torch::randn({10}, kF64);
  const double lambda = 0.2, alpha = 0.01, w = 0.5;
  using ::torch::optim::AdamWOptions;
  const double d = wrapper_vs_direct<::torch::optim::AdamW>(
      theta0, lambda, LrScaling::adaptive, AdamWOptions(alpha).eps(1e-8).weight_decay(w),
      AdamWOptions(lambda * alpha).eps(1e-8 / lambda).weight_decay(w / lambda), q);
  EXPECT_LT(d, 1e-12);
}

// B4-10: keeping an EMA copy does not change the optimizer's trajectory: bit-identical parameters.
TEST_F(TorchGradients, EmaLeavesTheTrajectoryUnchanged) {
  const Quadratic q;
  const Tensor theta0 = ::torch::randn({10}, kF64);
  const auto run = [&](bool with_ema) {
    Tensor theta = theta0.clone().requires_grad_(true);
    ::torch::optim::Adam opt(std::vector<Tensor>{theta}, ::torch::optim::AdamOptions(0.01));
    NamedParameters named;
    named.insert("theta", theta);
    std::unique_ptr<WeightEma> ema = with_ema ? std::make_unique<WeightEma>(named, 0.99, true) : nullptr;
    for (int k = 0; k < 100; ++k) {
      opt.zero_grad();
      q(theta).backward();
      opt.step();
      if (ema) ema->update();
    }
    return theta.detach();
  };
  EXPECT_TRUE(run(true).equal(run(false)));
}

// D5: the wrapped layer's output at initialisation equals the original layer's: exactly when s
// is a power of two, to one rounding of θ0 / s and s φ otherwise.
TEST_F(TorchGradients, D5WrapperKeepsTheForwardOutputAtInitialisation) {
  ::torch::nn::Linear layer(5, 3);
  layer->to(::torch::kDouble);
  const Tensor x = ::torch::randn({4, 5}, kF64);
  const Tensor y = layer->forward(x);
  ScaledLinear sgd(layer, 0.25, LrScaling::sgd);  // s = 0.5
  EXPECT_EQ(sgd->scale(), 0.5);
  EXPECT_TRUE(sgd->forward(x).equal(y));
  ScaledLinear ada(layer, 0.3, LrScaling::adaptive);  // s = 0.3
  EXPECT_EQ(ada->scale(), 0.3);
  EXPECT_LT(rel_diff(ada->forward(x), y), 1e-15);
  EXPECT_LT(rel_diff(ada->weight(), layer->weight), 1e-15);
  const auto names = ada->named_parameters().keys();
  EXPECT_EQ(names, (std::vector<std::string>{"weight_phi", "bias_phi"}));
  EXPECT_THROW(ScaledLinear(layer, 0.0, LrScaling::sgd), InvalidArgument);
  EXPECT_THROW(ScaledLinear(layer, std::nan(""), LrScaling::adaptive), InvalidArgument);
}

// D7: an L2 penalty w ||φ||^2 / 2 (torch's coupled weight_decay w on φ) is w / s^2 on θ: the
// direct run needs weight_decay w / s^2 (SGD: s^2 = λ; Adam: s = λ). Keeping w differs.
TEST_F(TorchGradients, D7L2PenaltyStrengthChangesUnderReparameterisation) {
  const Quadratic q;
  const Tensor theta0 = ::torch::randn({10}, kF64);
  const double lambda = 0.25, alpha = 0.05, w = 0.3;
  using ::torch::optim::AdamOptions;
  using ::torch::optim::SGDOptions;
  const double sgd = wrapper_vs_direct<::torch::optim::SGD>(
      theta0, lambda, LrScaling::sgd, SGDOptions(alpha).momentum(0.9).weight_decay(w),
      SGDOptions(lambda * alpha).momentum(0.9).weight_decay(w / lambda), q);
  EXPECT_LT(sgd, 1e-12);
  const double adam = wrapper_vs_direct<::torch::optim::Adam>(
      theta0, lambda, LrScaling::adaptive, AdamOptions(alpha).eps(1e-8).weight_decay(w),
      AdamOptions(lambda * alpha).eps(1e-8 / lambda).weight_decay(w / (lambda * lambda)), q);
  EXPECT_LT(adam, 1e-12);
  const double sgd_same_w = wrapper_vs_direct<::torch::optim::SGD>(
      theta0, lambda, LrScaling::sgd, SGDOptions(alpha).momentum(0.9).weight_decay(w),
      SGDOptions(lambda * alpha).momentum(0.9).weight_decay(w), q);
  std::printf("D7 SGD, lambda %.2f, same weight_decay %.1f on phi and theta: rel diff %.3e\n", lambda, w, sgd_same_w);
  EXPECT_GT(sgd_same_w, 1e-3);
}

// The two layer-wise-rate mechanisms on a network: the wrapper on the first layer against
// torch::optim::Adam with parameter groups (first layer lr λ α, ε / λ; second lr α, ε).
TEST_F(TorchGradients, WrapperEqualsParameterGroupMultiplierForAdam) {
  const double lambda = 0.1, alpha = 1e-2, eps = 1e-8;
  ::torch::nn::Linear l1(4, 8), l2(8, 1);
  l1->to(::torch::kDouble);
  l2->to(::torch::kDouble);
  ::torch::nn::Linear c1(4, 8), c2(8, 1);
  c1->to(::torch::kDouble);
  c2->to(::torch::kDouble);
  {
    ::torch::NoGradGuard no_grad;
    for (int k = 0; k < 2; ++k) {
      c1->parameters()[k].copy_(l1->parameters()[k]);
      c2->parameters()[k].copy_(l2->parameters()[k]);
    }
  }
  ScaledLinear s1(l1, lambda, LrScaling::adaptive);
  std::vector<Tensor> wrapped_params = s1->parameters();
  for (const Tensor& p : l2->parameters()) wrapped_params.push_back(p);
  ::torch::optim::Adam wrapped(wrapped_params, ::torch::optim::AdamOptions(alpha).eps(eps));
  std::vector<::torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(c1->parameters(),
                      std::make_unique<::torch::optim::AdamOptions>(::torch::optim::AdamOptions(lambda * alpha).eps(eps / lambda)));
  groups.emplace_back(c2->parameters(), std::make_unique<::torch::optim::AdamOptions>(::torch::optim::AdamOptions(alpha).eps(eps)));
  ::torch::optim::Adam grouped(groups, ::torch::optim::AdamOptions(alpha).eps(eps));
  const Tensor x = ::torch::randn({16, 4}, kF64);
  const Tensor y = ::torch::randn({16, 1}, kF64);
  for (int k = 0; k < 100; ++k) {
    wrapped.zero_grad();
    (l2->forward(::torch::tanh(s1->forward(x))) - y).square().mean().backward();
    wrapped.step();
    grouped.zero_grad();
    (c2->forward(::torch::tanh(c1->forward(x))) - y).square().mean().backward();
    grouped.step();
  }
  EXPECT_LT(rel_diff(s1->weight().detach(), c1->weight.detach()), 1e-12);
  EXPECT_LT(rel_diff(s1->bias().detach(), c1->bias.detach()), 1e-12);
  EXPECT_LT(rel_diff(l2->weight.detach(), c2->weight.detach()), 1e-12);
}

}  // namespace
