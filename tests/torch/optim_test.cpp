// odyn::torch tensor optimizers against torch::optim (LibTorch 1.13) on a small network:
// Linear(4, 8) - Tanh - Linear(8, 1) on fixed random data with the mean squared error, 100 steps.
//
// Tolerances: both sides run the same tensor operations in the same order on the same data, so
// they agree to the last bit in practice; the bounds (relative 1e-12 in float64, 1e-5 in float32)
// leave room for a differently vectorized kernel, whose rounding differences of a few ulps per step
// can grow over 100 steps by at most the contraction factor of the training map (O(1) here).
// Measured: 0 in both dtypes (a scalar coefficient contracted into a fused multiply-add once gave
// 6e-16 for Adagrad's lr_decay; the source keeps those products unfused).
// The multi-tensor (foreach) path runs the same elementwise operations in the same order through
// LibTorch's _foreach_ kernels, the contiguous path runs them once on flat storage; both are held
// to the same bounds (measured: 0 as well).
// Save/load and RMSprop's eps_inside are checked for exact equality (same operations, same inputs).
#include "odyn/torch/optim.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "odyn/core/error.hpp"

namespace {

using odyn::InvalidArgument;
using odyn::IoError;
using odyn::torch::ParamGroup;
using odyn::torch::TensorOptimizer;
namespace dyn = odyn::dynamics;
namespace optim = torch::optim;

struct OneThread {
  OneThread() { torch::set_num_threads(1); }
};
const OneThread one_thread;

// The network with fixed initial weights (same seed, same values on every call).
torch::nn::Sequential make_net(torch::Dtype dtype) {
  torch::manual_seed(7);
  torch::nn::Sequential net(torch::nn::Linear(4, 8), torch::nn::Tanh(), torch::nn::Linear(8, 1));
  net->to(dtype);
  return net;
}

struct Data {
  torch::Tensor x, y;
};

Data make_data(torch::Dtype dtype) {
  torch::manual_seed(11);
  const torch::Tensor x = torch::randn({32, 4}, torch::kDouble);
  const torch::Tensor y = torch::sin(x.sum(1, true)) + 0.1 * torch::randn({32, 1}, torch::kDouble);
  return {x.to(dtype), y.to(dtype)};
}

// n steps of: zero the gradients, MSE loss backward, optimizer step.
void train(torch::nn::Sequential& net, const Data& d, int n, const std::function<void()>& zero,
           const std::function<void()>& step) {
  for (int k = 0; k < n; ++k) {
    zero();
    torch::mse_loss(net->forward(d.x), d.y).backward();
    step();
  }
}

// max |a - b| over all parameters, divided by max |b|.
double relative_difference(torch::nn::Sequential& a, torch::nn::Sequential& b) {
  double diff = 0, scale = 0;
  const auto pa = a->parameters(), pb = b->parameters();
  for (std::size_t i = 0; i < pa.size(); ++i) {
    diff = std::max(diff, (pa[i] - pb[i]).abs().max().item<double>());
    scale = std::max(scale, pb[i].abs().max().item<double>());
  }
  return diff / scale;
}

std::vector<ParamGroup> one_group(torch::nn::Sequential& net, double lr) {
  return {ParamGroup{net->parameters(), lr, std::nullopt, 1, "all"}};
}

struct Case {
  std::string name;
  std::function<std::unique_ptr<optim::Optimizer>(std::vector<torch::Tensor>)> reference;
  std::function<std::unique_ptr<TensorOptimizer>(std::vector<ParamGroup>)> odyn;
  double lr;
};

dyn::Sgd::Options sgd(double momentum, double dampening, double wd, bool nesterov) {
  dyn::Sgd::Options o;
  o.momentum = momentum;
  o.dampening = dampening;
  o.weight_decay = wd;
  o.nesterov = nesterov;
  return o;
}

Case sgd_case(const std::string& name, double lr, const dyn::Sgd::Options& o) {
  return {name,
          [=](std::vector<torch::Tensor> p) {
            return std::make_unique<optim::SGD>(p, optim::SGDOptions(lr)
                                                       .momentum(o.momentum)
                                                       .dampening(o.dampening)
                                                       .weight_decay(o.weight_decay)
                                                       .nesterov(o.nesterov));
          },
          [=](std::vector<ParamGroup> g) { return std::make_unique<odyn::torch::TensorSgd>(std::move(g), o); }, lr};
}

Case adagrad_case(const std::string& name, double lr, double lr_decay, double wd, double init, double eps) {
  dyn::Adagrad::Options o;
  o.lr_decay = lr_decay;
  o.weight_decay = wd;
  o.initial_accumulator_value = init;
  o.eps = eps;
  return {name,
          [=](std::vector<torch::Tensor> p) {
            return std::make_unique<optim::Adagrad>(
                p,
                optim::AdagradOptions(lr).lr_decay(lr_decay).weight_decay(wd).initial_accumulator_value(init).eps(eps));
          },
          [=](std::vector<ParamGroup> g) { return std::make_unique<odyn::torch::TensorAdagrad>(std::move(g), o); }, lr};
}

Case rmsprop_case(const std::string& name, double lr, double alpha, double eps, double wd, double momentum,
                  bool centered) {
  dyn::Rmsprop::Options o;
  o.alpha = alpha;
  o.eps = eps;
  o.weight_decay = wd;
  o.momentum = momentum;
  o.centered = centered;
  return {name,
          [=](std::vector<torch::Tensor> p) {
            return std::make_unique<optim::RMSprop>(
                p,
                optim::RMSpropOptions(lr).alpha(alpha).eps(eps).weight_decay(wd).momentum(momentum).centered(centered));
          },
          [=](std::vector<ParamGroup> g) { return std::make_unique<odyn::torch::TensorRmsprop>(std::move(g), o); }, lr};
}

Case adam_case(const std::string& name, double lr, double b1, double b2, double eps, double wd, bool amsgrad,
               bool decoupled) {
  dyn::Adam::Options o;
  o.beta1 = b1;
  o.beta2 = b2;
  o.eps = eps;
  o.weight_decay = wd;
  o.amsgrad = amsgrad;
  o.decoupled = decoupled;
  return {name,
          [=](std::vector<torch::Tensor> p) -> std::unique_ptr<optim::Optimizer> {
            if (decoupled) {
              return std::make_unique<optim::AdamW>(
                  p, optim::AdamWOptions(lr).betas({b1, b2}).eps(eps).weight_decay(wd).amsgrad(amsgrad));
            }
            return std::make_unique<optim::Adam>(
                p, optim::AdamOptions(lr).betas({b1, b2}).eps(eps).weight_decay(wd).amsgrad(amsgrad));
          },
          [=](std::vector<ParamGroup> g) { return std::make_unique<odyn::torch::TensorAdam>(std::move(g), o); }, lr};
}

std::vector<Case> all_cases() {
  return {
      sgd_case("sgd", 0.05, sgd(0, 0, 0, false)),
      sgd_case("sgd momentum", 0.05, sgd(0.9, 0, 0, false)),
      sgd_case("sgd dampening", 0.05, sgd(0.9, 0.3, 0, false)),
      sgd_case("sgd nesterov", 0.05, sgd(0.9, 0, 0, true)),
      sgd_case("sgd weight_decay", 0.05, sgd(0.5, 0, 0.02, false)),
      sgd_case("sgd plain weight_decay", 0.05, sgd(0, 0, 0.02, false)),
      adagrad_case("adagrad", 0.1, 0, 0, 0, 1e-10),
      adagrad_case("adagrad lr_decay", 0.1, 0.01, 0, 0, 1e-10),
      adagrad_case("adagrad weight_decay", 0.1, 0, 0.02, 0, 1e-10),
      adagrad_case("adagrad initial_accumulator_value", 0.1, 0, 0, 0.1, 1e-10),
      adagrad_case("adagrad eps", 0.1, 0, 0, 0, 1e-3),
      rmsprop_case("rmsprop", 0.01, 0.99, 1e-8, 0, 0, false),
      rmsprop_case("rmsprop alpha", 0.01, 0.9, 1e-8, 0, 0, false),
      rmsprop_case("rmsprop eps", 0.01, 0.99, 1e-4, 0, 0, false),
      rmsprop_case("rmsprop weight_decay", 0.01, 0.99, 1e-8, 0.02, 0, false),
      rmsprop_case("rmsprop momentum", 0.005, 0.99, 1e-8, 0, 0.8, false),
      rmsprop_case("rmsprop centered", 0.01, 0.99, 1e-8, 0, 0, true),
      rmsprop_case("rmsprop centered momentum", 0.005, 0.9, 1e-6, 0.01, 0.5, true),
      adam_case("adam", 0.01, 0.9, 0.999, 1e-8, 0, false, false),
      adam_case("adam betas", 0.01, 0.8, 0.99, 1e-8, 0, false, false),
      adam_case("adam eps", 0.01, 0.9, 0.999, 1e-3, 0, false, false),
      adam_case("adam weight_decay", 0.01, 0.9, 0.999, 1e-8, 0.05, false, false),
      adam_case("adam amsgrad", 0.01, 0.9, 0.999, 1e-8, 0, true, false),
      adam_case("adamw", 0.01, 0.9, 0.999, 1e-8, 1e-2, false, true),
      adam_case("adamw weight_decay", 0.01, 0.8, 0.99, 1e-6, 0.1, false, true),
      adam_case("adamw amsgrad", 0.01, 0.9, 0.999, 1e-8, 0.05, true, true),
  };
}

// The three ways a step can run: one update per parameter, multi-tensor kernels, flat storage.
enum class Path { per_parameter, foreach, contiguous };

const char* path_name(Path path) {
  switch (path) {
    case Path::foreach:
      return " foreach";
    case Path::contiguous:
      return " contiguous";
    default:
      return "";
  }
}

void use_path(TensorOptimizer& opt, Path path) {
  opt.set_foreach(path == Path::foreach);
  opt.set_contiguous(path == Path::contiguous);
  EXPECT_EQ(opt.uses_foreach(), path == Path::foreach);
  EXPECT_EQ(opt.uses_contiguous(), path == Path::contiguous);
}

// Settings that switch on every optional buffer and term of the seven optimizers.
dyn::OptimizerSettings every_option() {
  dyn::OptimizerSettings s;
  s.amsgrad = true;
  s.centered = true;
  s.momentum = 0.5;
  s.weight_decay = 0.01;
  s.lr_decay = 0.01;
  return s;
}

// Every case, with the given path.
void expect_matches_torch(torch::Dtype dtype, double tol, Path path) {
  const Data d = make_data(dtype);
  double worst = 0;
  for (const Case& c : all_cases()) {
    auto net_ref = make_net(dtype), net = make_net(dtype);
    auto ref = c.reference(net_ref->parameters());
    auto opt = c.odyn(one_group(net, c.lr));
    use_path(*opt, path);
    train(
        net_ref, d, 100, [&] { ref->zero_grad(); }, [&] { ref->step(); });
    train(
        net, d, 100, [&] { opt->zero_grad(); }, [&] { opt->step(); });
    auto initial = make_net(dtype);
    ASSERT_GT(relative_difference(net, initial), 1e-3) << c.name << ": the parameters hardly moved";
    const double rel = relative_difference(net, net_ref);
    EXPECT_LE(rel, tol) << c.name;
    worst = std::max(worst, rel);
  }
  std::printf("[ info ] %s%s: largest relative difference to torch::optim over %zu cases: %.3g\n",
              dtype == torch::kDouble ? "float64" : "float32", path_name(path), all_cases().size(), worst);
}

TEST(TorchOptim, MatchesTorchOptimFloat64) {
  expect_matches_torch(torch::kDouble, 1e-12, Path::per_parameter);
}

TEST(TorchOptim, MatchesTorchOptimFloat32) {
  expect_matches_torch(torch::kFloat, 1e-5, Path::per_parameter);
}

TEST(TorchOptimForeach, MatchesTorchOptimFloat64) {
  expect_matches_torch(torch::kDouble, 1e-12, Path::foreach);
}

TEST(TorchOptimForeach, MatchesTorchOptimFloat32) {
  expect_matches_torch(torch::kFloat, 1e-5, Path::foreach);
}

TEST(TorchOptimContiguous, MatchesTorchOptimFloat64) {
  expect_matches_torch(torch::kDouble, 1e-12, Path::contiguous);
}

TEST(TorchOptimContiguous, MatchesTorchOptimFloat32) {
  expect_matches_torch(torch::kFloat, 1e-5, Path::contiguous);
}

// Flat storage against the per-parameter path on parameters of several shapes whose gradients are
// replaced by new tensors at every step, whose storage is replaced once (as loading a module does)
// and one of which has no gradient every third step (a zero gradient for the per-parameter path):
// the same parameters bit for bit, and the parameters stay views of the flat storage.
TEST(TorchOptimContiguous, EqualsPerParameterPathWhateverReplacesTheStorage) {
  const dyn::OptimizerSettings s = every_option();
  const auto make_params = [] {
    torch::manual_seed(3);
    return std::vector<torch::Tensor>{torch::randn({5, 3}).requires_grad_(), torch::randn({4}).requires_grad_(),
                                      torch::randn({2, 2}).requires_grad_(), torch::randn({7}).requires_grad_()};
  };
  for (const std::string& name : odyn::torch::tensor_optimizer_names()) {
    std::vector<torch::Tensor> a = make_params(), b = make_params();
    auto per_param = odyn::torch::make_tensor_optimizer(name, {ParamGroup{a, 0.01, std::nullopt, 1, ""}}, s);
    auto contiguous = odyn::torch::make_tensor_optimizer(name, {ParamGroup{b, 0.01, std::nullopt, 1, ""}}, s);
    contiguous->set_contiguous(true);
    for (int k = 0; k < 30; ++k) {
      if (k == 10) {
        torch::NoGradGuard no_grad;
        b[1].set_(b[1].detach().clone());
      }
      for (auto* params : {&a, &b}) {
        for (std::size_t i = 0; i < params->size(); ++i) {
          torch::Tensor& p = (*params)[i];
          const bool missing = i == 2 && k % 3 == 0;
          p.mutable_grad() = missing ? (params == &a ? torch::zeros_like(p) : torch::Tensor())
                                     : torch::sin(p.detach() * (k + 1) + 0.5);
        }
      }
      per_param->step();
      contiguous->step();
    }
    for (std::size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i], b[i])) << name << " parameter " << i;
    for (std::size_t i = 1; i < b.size(); ++i)
      EXPECT_EQ(b[i].data_ptr<float>(), b[i - 1].data_ptr<float>() + b[i - 1].numel()) << name << " parameter " << i;
    contiguous->zero_grad(/*set_to_none=*/true);  // zeroes the flat gradient, keeps the views
    for (const torch::Tensor& p : b) EXPECT_TRUE(p.grad().defined() && p.grad().eq(0).all().item<bool>()) << name;
  }
}

TEST(TorchOptimContiguous, RefusesMixedDtypesAndReshapedParameters) {
  std::vector<torch::Tensor> p = {torch::zeros({2}, torch::kDouble).requires_grad_(),
                                  torch::zeros({2}, torch::kFloat).requires_grad_()};
  auto opt = odyn::torch::make_tensor_optimizer("adam", {ParamGroup{p, 0.01, std::nullopt, 1, ""}});
  EXPECT_THROW(opt->set_contiguous(true), InvalidArgument);
  EXPECT_FALSE(opt->uses_contiguous());
  // A parameter reshaped after set_contiguous is refused at the next step.
  std::vector<torch::Tensor> q = {torch::zeros({2, 3}).requires_grad_()};
  auto flat = odyn::torch::make_tensor_optimizer("adam", {ParamGroup{q, 0.01, std::nullopt, 1, ""}});
  flat->set_contiguous(true);
  {
    torch::NoGradGuard no_grad;
    q[0].set_(torch::zeros({3, 3}));
  }
  EXPECT_THROW(flat->step(), InvalidArgument);
}

// A group mixing float32 and float64 parameters, one of which has no gradient on every third step
// (so step counts differ within a group): the foreach path splits it into buckets and gives the
// per-parameter path's parameters bit for bit (the same operations on the same tensors).
TEST(TorchOptimForeach, MixedDtypesAndStepCountsEqualPerParameterPath) {
  const dyn::OptimizerSettings s = every_option();
  const auto make_params = [] {
    torch::manual_seed(3);
    return std::vector<torch::Tensor>{
        torch::randn({5, 3}, torch::kDouble).requires_grad_(), torch::randn({4}, torch::kFloat).requires_grad_(),
        torch::randn({2, 2}, torch::kDouble).requires_grad_(), torch::randn({7}, torch::kFloat).requires_grad_()};
  };
  for (const std::string& name : odyn::torch::tensor_optimizer_names()) {
    std::vector<torch::Tensor> a = make_params(), b = make_params();
    auto per_param = odyn::torch::make_tensor_optimizer(name, {ParamGroup{a, 0.01, std::nullopt, 1, ""}}, s);
    auto foreach = odyn::torch::make_tensor_optimizer(name, {ParamGroup{b, 0.01, std::nullopt, 1, ""}}, s);
    foreach
      ->set_foreach(true);
    for (int k = 0; k < 30; ++k) {
      for (auto* params : {&a, &b}) {
        for (std::size_t i = 0; i < params->size(); ++i) {
          torch::Tensor& p = (*params)[i];
          p.mutable_grad() = (i == 2 && k % 3 == 0) ? torch::Tensor() : torch::sin(p.detach() * (k + 1) + 0.5);
        }
      }
      per_param->step();
      foreach
        ->step();
    }
    for (std::size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i], b[i])) << name << " parameter " << i;
  }
}

TEST(TorchOptim, FactoryNamesMatchTorchDefaults) {
  const Data d = make_data(torch::kDouble);
  struct Named {
    std::string name;
    std::function<std::unique_ptr<optim::Optimizer>(std::vector<torch::Tensor>)> reference;
  };
  const double lr = 0.01;
  const std::vector<Named> cases = {
      {"sgd", [&](auto p) { return std::make_unique<optim::SGD>(p, optim::SGDOptions(lr)); }},
      {"momentum", [&](auto p) { return std::make_unique<optim::SGD>(p, optim::SGDOptions(lr).momentum(0.9)); }},
      {"nesterov",
       [&](auto p) { return std::make_unique<optim::SGD>(p, optim::SGDOptions(lr).momentum(0.9).nesterov(true)); }},
      {"adagrad", [&](auto p) { return std::make_unique<optim::Adagrad>(p, optim::AdagradOptions(lr)); }},
      {"rmsprop", [&](auto p) { return std::make_unique<optim::RMSprop>(p, optim::RMSpropOptions(lr)); }},
      {"adam", [&](auto p) { return std::make_unique<optim::Adam>(p, optim::AdamOptions(lr)); }},
      {"adamw", [&](auto p) { return std::make_unique<optim::AdamW>(p, optim::AdamWOptions(lr)); }},
  };
  ASSERT_EQ(cases.size(), odyn::torch::tensor_optimizer_names().size());
  for (const Named& c : cases) {
    auto net_ref = make_net(torch::kDouble), net = make_net(torch::kDouble);
    auto ref = c.reference(net_ref->parameters());
    auto opt = odyn::torch::make_tensor_optimizer(c.name, one_group(net, lr));
    EXPECT_EQ(opt->name(), c.name);
    train(
        net_ref, d, 20, [&] { ref->zero_grad(); }, [&] { ref->step(); });
    train(
        net, d, 20, [&] { opt->zero_grad(); }, [&] { opt->step(); });
    EXPECT_LE(relative_difference(net, net_ref), 1e-12) << c.name;
  }
}

// Two groups (first layer; second layer with an lr multiplier and the default weight decay) and a
// learning-rate change after 50 steps, against torch::optim's param groups.
TEST(TorchOptimGroups, MatchTorchParamGroups) {
  const Data d = make_data(torch::kDouble);
  const auto first = [](torch::nn::Sequential& n) { return n->ptr(0)->parameters(); };
  const auto second = [](torch::nn::Sequential& n) { return n->ptr(2)->parameters(); };
  for (const bool adam : {false, true}) {
    auto net_ref = make_net(torch::kDouble), net = make_net(torch::kDouble);
    std::unique_ptr<optim::Optimizer> ref;
    std::unique_ptr<TensorOptimizer> opt;
    std::vector<ParamGroup> groups = {ParamGroup{first(net), 0.01, 0.1, 1, "first"},
                                      ParamGroup{second(net), 0.003, std::nullopt, 2, "second"}};
    if (adam) {
      std::vector<optim::OptimizerParamGroup> rg;
      rg.emplace_back(first(net_ref), std::make_unique<optim::AdamOptions>(optim::AdamOptions(0.01).weight_decay(0.1)));
      rg.emplace_back(second(net_ref),
                      std::make_unique<optim::AdamOptions>(optim::AdamOptions(0.006).weight_decay(0.01)));
      ref = std::make_unique<optim::Adam>(std::move(rg));
      dyn::Adam::Options o;
      o.weight_decay = 0.01;
      opt = std::make_unique<odyn::torch::TensorAdam>(std::move(groups), o);
    } else {
      std::vector<optim::OptimizerParamGroup> rg;
      rg.emplace_back(first(net_ref),
                      std::make_unique<optim::SGDOptions>(optim::SGDOptions(0.01).momentum(0.9).weight_decay(0.1)));
      rg.emplace_back(second(net_ref),
                      std::make_unique<optim::SGDOptions>(optim::SGDOptions(0.006).momentum(0.9).weight_decay(0.01)));
      ref = std::make_unique<optim::SGD>(std::move(rg), optim::SGDOptions(0.01));
      opt = std::make_unique<odyn::torch::TensorSgd>(std::move(groups), sgd(0.9, 0, 0.01, false));
    }
    train(
        net_ref, d, 50, [&] { ref->zero_grad(); }, [&] { ref->step(); });
    train(
        net, d, 50, [&] { opt->zero_grad(); }, [&] { opt->step(); });
    ref->param_groups()[1].options().set_lr(0.002);  // base 0.001 times the multiplier 2
    opt->set_lr(1, 0.001);
    train(
        net_ref, d, 50, [&] { ref->zero_grad(); }, [&] { ref->step(); });
    train(
        net, d, 50, [&] { opt->zero_grad(); }, [&] { opt->step(); });
    EXPECT_LE(relative_difference(net, net_ref), 1e-12) << (adam ? "adam" : "sgd");
    EXPECT_EQ(opt->param_groups()[1].lr, 0.001);
    EXPECT_EQ(opt->steps(), 100);
  }
}

// step_lr_schedule against torch's StepLR stepped after every optimizer step. The learning rates
// agree to an ulp or two (gamma^j by pow here, by j products in StepLR): 1e-12 as above.
TEST(TorchOptimGroups, StepLrScheduleMatchesTorchStepLR) {
  const Data d = make_data(torch::kDouble);
  auto net_ref = make_net(torch::kDouble), net = make_net(torch::kDouble);
  std::vector<optim::OptimizerParamGroup> rg;
  rg.emplace_back(net_ref->ptr(0)->parameters(), std::make_unique<optim::AdamOptions>(optim::AdamOptions(0.02)));
  rg.emplace_back(net_ref->ptr(2)->parameters(), std::make_unique<optim::AdamOptions>(optim::AdamOptions(0.01)));
  optim::Adam ref(std::move(rg));
  optim::StepLR scheduler(ref, 30, 0.5);
  scheduler.step();  // Python's StepLR takes this step in its constructor; LibTorch's does not
  odyn::torch::TensorAdam opt({ParamGroup{net->ptr(0)->parameters(), 0.02, std::nullopt, 1, "first"},
                               ParamGroup{net->ptr(2)->parameters(), 0.01, std::nullopt, 1, "second"}});
  opt.set_lr_schedule(odyn::torch::step_lr_schedule(30, 0.5));
  train(
      net_ref, d, 100, [&] { ref.zero_grad(); },
      [&] {
        ref.step();
        scheduler.step();
      });
  train(
      net, d, 100, [&] { opt.zero_grad(); }, [&] { opt.step(); });
  EXPECT_LE(relative_difference(net, net_ref), 1e-12);
  EXPECT_THROW(odyn::torch::step_lr_schedule(0, 0.5), InvalidArgument);
  EXPECT_THROW(odyn::torch::step_lr_schedule(10, -0.5), InvalidArgument);
  opt.set_lr_schedule([](int64_t) { return std::nan(""); });
  EXPECT_THROW(opt.step(), InvalidArgument);
  opt.set_lr_schedule({});
  EXPECT_NO_THROW(opt.step());
}

TEST(TorchOptim, ZeroGrad) {
  const Data d = make_data(torch::kDouble);
  auto net = make_net(torch::kDouble);
  auto opt = odyn::torch::make_tensor_optimizer("adam", one_group(net, 0.01));
  torch::mse_loss(net->forward(d.x), d.y).backward();
  for (const auto& p : net->parameters()) ASSERT_GT(p.grad().abs().max().item<double>(), 0);
  opt->zero_grad();
  for (const auto& p : net->parameters()) {
    ASSERT_TRUE(p.grad().defined());
    EXPECT_EQ(p.grad().abs().max().item<double>(), 0);
  }
  opt->zero_grad(true);
  for (const auto& p : net->parameters()) EXPECT_FALSE(p.grad().defined());
  // parameters without a gradient are skipped
  const auto before = net->parameters()[0].clone();
  opt->step();
  EXPECT_TRUE(torch::equal(before, net->parameters()[0]));
}

// RMSprop with eps inside the square root (dynamics::Rmsprop's eps_inside): one step from a zero
// state is p - lr g / sqrt((1 - alpha) g^2 + eps), the same double operations.
TEST(TorchOptim, RmspropEpsInside) {
  torch::Tensor p = torch::tensor({1.0, -2.0, 0.5}, torch::kDouble);
  const std::vector<double> g = {0.3, -1e-3, 0.0};
  p.mutable_grad() = torch::tensor(g, torch::kDouble);
  dyn::Rmsprop::Options o;
  o.eps_inside = true;
  o.eps = 1e-4;
  o.alpha = 0.9;
  odyn::torch::TensorRmsprop opt({ParamGroup{{p}, 0.1, std::nullopt, 1, ""}}, o);
  opt.step();
  const std::vector<double> p0 = {1.0, -2.0, 0.5};
  for (int i = 0; i < 3; ++i) {
    const double expected = p0[i] - 0.1 * (g[i] / std::sqrt((1 - 0.9) * (g[i] * g[i]) + 1e-4));
    EXPECT_NEAR(p[i].item<double>(), expected, 1e-15 * std::abs(p0[i]));  // a few ulps of p
  }
}

// 50 steps, save, a fresh optimizer (and a copy of the network) loads the state, 50 more steps:
// the same parameters, bit for bit, as 100 uninterrupted steps.
TEST(TorchOptimState, SaveLoadResumesExactly) {
  const Data d = make_data(torch::kDouble);
  const std::string path = ::testing::TempDir() + "odyn_torch_optim_state_test.pt";
  dyn::OptimizerSettings s;
  s.amsgrad = true;
  s.centered = true;
  s.momentum = 0.5;
  s.weight_decay = 0.01;
  // The first half and the resumed half with each pair of paths: the saved state does not depend on
  // the path.
  for (const std::string name : {"momentum", "adagrad", "rmsprop", "adam", "adamw"}) {
    auto whole = make_net(torch::kDouble);
    auto opt_whole = odyn::torch::make_tensor_optimizer(name, one_group(whole, 0.01), s);
    train(
        whole, d, 100, [&] { opt_whole->zero_grad(); }, [&] { opt_whole->step(); });

    for (const auto& [first_path, resumed_path] :
         std::vector<std::pair<Path, Path>>{{Path::per_parameter, Path::per_parameter},
                                            {Path::foreach, Path::per_parameter},
                                            {Path::per_parameter, Path::foreach},
                                            {Path::contiguous, Path::per_parameter},
                                            {Path::per_parameter, Path::contiguous},
                                            {Path::contiguous, Path::contiguous}}) {
      auto first = make_net(torch::kDouble);
      auto opt_first = odyn::torch::make_tensor_optimizer(name, one_group(first, 0.01), s);
      use_path(*opt_first, first_path);
      train(
          first, d, 50, [&] { opt_first->zero_grad(); }, [&] { opt_first->step(); });
      opt_first->save(path);

      auto resumed = make_net(torch::kDouble);
      {
        torch::NoGradGuard no_grad;
        for (std::size_t i = 0; i < first->parameters().size(); ++i)
          resumed->parameters()[i].copy_(first->parameters()[i]);
      }
      auto opt_resumed = odyn::torch::make_tensor_optimizer(name, one_group(resumed, 0.5), s);
      use_path(*opt_resumed, resumed_path);
      opt_resumed->load(path);
      EXPECT_EQ(opt_resumed->steps(), 50);
      EXPECT_EQ(opt_resumed->param_groups()[0].lr, 0.01);  // restored from the file
      train(
          resumed, d, 50, [&] { opt_resumed->zero_grad(); }, [&] { opt_resumed->step(); });
      for (std::size_t i = 0; i < whole->parameters().size(); ++i) {
        EXPECT_TRUE(torch::equal(whole->parameters()[i], resumed->parameters()[i]))
            << name << " first" << path_name(first_path) << " resumed" << path_name(resumed_path) << " parameter " << i;
      }
    }
    // another optimizer's state is refused, and the optimizer is left as it was
    auto net = make_net(torch::kDouble);
    auto other = odyn::torch::make_tensor_optimizer(name == "adam" ? "sgd" : "adam", one_group(net, 0.01));
    EXPECT_THROW(other->load(path), InvalidArgument);
    EXPECT_EQ(other->steps(), 0);
  }
  // another layout of groups is refused
  auto net = make_net(torch::kDouble);
  std::vector<ParamGroup> two = {ParamGroup{net->ptr(0)->parameters(), 0.01, std::nullopt, 1, "a"},
                                 ParamGroup{net->ptr(2)->parameters(), 0.01, std::nullopt, 1, "b"}};
  auto split = odyn::torch::make_tensor_optimizer("adamw", std::move(two), s);
  EXPECT_THROW(split->load(path), InvalidArgument);
  std::remove(path.c_str());
  EXPECT_THROW(split->load(path), IoError);
  EXPECT_THROW(split->save("/nonexistent-dir/state.pt"), IoError);
}

TEST(TorchOptim, RejectsBadInput) {
  auto net = make_net(torch::kDouble);
  const auto make = [&](const std::string& name, double lr, const dyn::OptimizerSettings& s = {}) {
    return odyn::torch::make_tensor_optimizer(name, one_group(net, lr), s);
  };
  EXPECT_THROW(make("adam", -0.1), InvalidArgument);
  EXPECT_THROW(make("sgd", std::nan("")), InvalidArgument);
  EXPECT_THROW(make("lbfgs", 0.1), InvalidArgument);
  EXPECT_THROW(make("heavy-ball", 0.1), InvalidArgument);  // no tensor form
  dyn::OptimizerSettings s;
  s.beta1 = 1.0;
  EXPECT_THROW(make("adam", 0.1, s), InvalidArgument);
  s.beta1 = 0.9;
  s.beta2 = -0.1;
  EXPECT_THROW(make("adamw", 0.1, s), InvalidArgument);
  s.beta2 = 0.999;
  s.alpha = 1.0;
  EXPECT_THROW(make("rmsprop", 0.1, s), InvalidArgument);
  s.alpha = 0.99;
  s.dampening = 0.1;
  EXPECT_THROW(make("nesterov", 0.1, s), InvalidArgument);  // torch: nesterov needs zero dampening
  dyn::Adagrad::Options adagrad;
  adagrad.eps = -1e-8;
  EXPECT_THROW(odyn::torch::TensorAdagrad(one_group(net, 0.1), adagrad), InvalidArgument);
  adagrad.eps = 1e-10;
  adagrad.initial_accumulator_value = -1;
  EXPECT_THROW(odyn::torch::TensorAdagrad(one_group(net, 0.1), adagrad), InvalidArgument);
  dyn::Sgd::Options decay;
  decay.weight_decay = -0.5;
  EXPECT_THROW(odyn::torch::TensorSgd(one_group(net, 0.1), decay), InvalidArgument);
  std::vector<ParamGroup> groups = one_group(net, 0.1);
  groups[0].lr_multiplier = -1;
  EXPECT_THROW(odyn::torch::make_tensor_optimizer("sgd", groups), InvalidArgument);
  groups = one_group(net, 0.1);
  groups.push_back(groups[0]);  // the same tensors twice
  EXPECT_THROW(odyn::torch::make_tensor_optimizer("sgd", groups), InvalidArgument);
  EXPECT_THROW(odyn::torch::make_tensor_optimizer("sgd", {}), InvalidArgument);
  const torch::Tensor leaf = torch::ones({2}, torch::requires_grad());
  EXPECT_THROW(odyn::torch::make_tensor_optimizer("sgd", {ParamGroup{{leaf * 2}, 0.1, std::nullopt, 1, ""}}),
               InvalidArgument);  // not a leaf
  EXPECT_THROW(odyn::torch::make_tensor_optimizer(
                   "sgd", {ParamGroup{{torch::ones({2}, torch::kLong)}, 0.1, std::nullopt, 1, ""}}),
               InvalidArgument);  // not floating point

  auto opt = make("adam", 0.1);
  torch::Tensor p = net->parameters()[0];
  const torch::Tensor before = p.detach().clone();
  p.mutable_grad() = torch::zeros({3}, torch::kDouble);
  EXPECT_THROW(opt->step(), InvalidArgument);
  p.mutable_grad() = torch::zeros_like(p, torch::kFloat);
  EXPECT_THROW(opt->step(), InvalidArgument);
  EXPECT_TRUE(torch::equal(before, p));  // nothing was updated
  EXPECT_EQ(opt->steps(), 0);
  EXPECT_THROW(opt->set_lr(1, 0.1), InvalidArgument);
  EXPECT_THROW(opt->set_lr(0, -0.1), InvalidArgument);
}

}  // namespace
