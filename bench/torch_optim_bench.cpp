// odyn::torch tensor optimizers (odyn/torch/optim.hpp) against torch::optim on the CPU with one
// LibTorch thread: the time of one optimizer step over the float32 parameters of
//   mlp:  Linear(784, 1024) - ReLU - Linear(1024, 256) - ReLU - Linear(256, 10)  (1,068,810 parameters),
//   conv: Conv2d(1, 32, 3) - ReLU - Conv2d(32, 64, 3) - ReLU - Flatten - Linear(64 * 24 * 24, 10)
//         (a 28 x 28 input; 387,466 parameters),
//   many: 200 x Linear(16, 16) stacked (400 small tensors; 54,400 parameters), where the
//         per-tensor overhead of an update dominates.
// The gradients are filled once with standard normal values (torch::manual_seed(0)); one untimed
// step creates the optimizer state, then the timed loop repeats the in-place step.
//   BM_Step/<impl>/<optimizer>/<model>, impl odyn, odyn_foreach (set_foreach(true)), odyn_contiguous
//     (set_contiguous(true)) or torch, optimizer momentum (SGD with momentum
//     0.9), adam, adamw (weight decay 1e-2), rmsprop or adagrad, all with lr 1e-3 and torch's other
//     defaults. Counter: parameters.
//   BM_ZeroGrad/<impl>/<model>: zero_grad() (gradients kept, set to zero). Counter: parameters.
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "odyn/torch/optim.hpp"
#include "odyn/torch/tensor.hpp"

namespace {

constexpr double kLr = 1e-3;

// The model called `name` (mlp, conv or many) with parameters and gradients drawn from seed 0.
torch::nn::Sequential make_model(const std::string& name) {
  torch::manual_seed(0);
  torch::nn::Sequential model;
  if (name == "many") {
    for (int i = 0; i < 200; ++i) model->push_back(torch::nn::Linear(16, 16));
  } else if (name == "mlp") {
    model = torch::nn::Sequential(torch::nn::Linear(784, 1024), torch::nn::ReLU(), torch::nn::Linear(1024, 256),
                                  torch::nn::ReLU(), torch::nn::Linear(256, 10));
  } else {
    model = torch::nn::Sequential(torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 32, 3)), torch::nn::ReLU(),
                                  torch::nn::Conv2d(torch::nn::Conv2dOptions(32, 64, 3)), torch::nn::ReLU(),
                                  torch::nn::Flatten(), torch::nn::Linear(64 * 24 * 24, 10));
  }
  for (torch::Tensor& p : model->parameters()) p.mutable_grad() = torch::randn_like(p);
  return model;
}

double parameter_count(const torch::nn::Sequential& model) {
  double n = 0;
  for (const torch::Tensor& p : model->parameters()) n += static_cast<double>(p.numel());
  return n;
}

// impl: odyn (per-parameter updates), odyn_foreach or odyn_contiguous.
std::unique_ptr<odyn::torch::TensorOptimizer> make_odyn(const std::string& optimizer, torch::nn::Sequential& model,
                                                        const std::string& impl = "odyn") {
  odyn::torch::ParamGroup group;
  group.params = model->parameters();
  group.lr = kLr;
  std::vector<odyn::torch::ParamGroup> groups{group};
  auto opt = odyn::torch::make_tensor_optimizer(optimizer, std::move(groups));
  opt->set_foreach(impl == "odyn_foreach");
  opt->set_contiguous(impl == "odyn_contiguous");
  return opt;
}

std::unique_ptr<torch::optim::Optimizer> make_torch(const std::string& optimizer, torch::nn::Sequential& model) {
  const std::vector<torch::Tensor> params = model->parameters();
  if (optimizer == "momentum")
    return std::make_unique<torch::optim::SGD>(params, torch::optim::SGDOptions(kLr).momentum(0.9));
  if (optimizer == "adam") return std::make_unique<torch::optim::Adam>(params, torch::optim::AdamOptions(kLr));
  if (optimizer == "adamw") return std::make_unique<torch::optim::AdamW>(params, torch::optim::AdamWOptions(kLr));
  if (optimizer == "rmsprop") return std::make_unique<torch::optim::RMSprop>(params, torch::optim::RMSpropOptions(kLr));
  return std::make_unique<torch::optim::Adagrad>(params, torch::optim::AdagradOptions(kLr));
}

template <class Optimizer>
void time_step(benchmark::State& state, Optimizer& opt, const torch::nn::Sequential& model) {
  opt.step();  // creates the state buffers
  for (auto _ : state) opt.step();
  state.counters["parameters"] = parameter_count(model);
}

void step_odyn(benchmark::State& state, const std::string& optimizer, const std::string& model_name,
               const std::string& impl) {
  torch::nn::Sequential model = make_model(model_name);
  const auto opt = make_odyn(optimizer, model, impl);
  time_step(state, *opt, model);
}

void step_torch(benchmark::State& state, const std::string& optimizer, const std::string& model_name) {
  torch::nn::Sequential model = make_model(model_name);
  const auto opt = make_torch(optimizer, model);
  time_step(state, *opt, model);
}

void zero_grad_odyn(benchmark::State& state, const std::string& model_name) {
  torch::nn::Sequential model = make_model(model_name);
  const auto opt = make_odyn("momentum", model);
  for (auto _ : state) opt->zero_grad();
  state.counters["parameters"] = parameter_count(model);
}

void zero_grad_torch(benchmark::State& state, const std::string& model_name) {
  torch::nn::Sequential model = make_model(model_name);
  const auto opt = make_torch("momentum", model);
  for (auto _ : state) opt->zero_grad();
  state.counters["parameters"] = parameter_count(model);
}

}  // namespace

int main(int argc, char** argv) {
  odyn::torch::set_num_threads(1);  // LibTorch and OpenBLAS
  for (const std::string model : {"mlp", "conv", "many"}) {
    for (const std::string optimizer : {"momentum", "adam", "adamw", "rmsprop", "adagrad"}) {
      for (const std::string impl : {"odyn", "odyn_foreach", "odyn_contiguous"}) {
        benchmark::RegisterBenchmark(
            ("BM_Step/" + impl + "/" + optimizer + "/" + model).c_str(),
            [optimizer, model, impl](benchmark::State& s) { step_odyn(s, optimizer, model, impl); })
            ->Unit(benchmark::kMicrosecond);
      }
      benchmark::RegisterBenchmark(("BM_Step/torch/" + optimizer + "/" + model).c_str(), [optimizer,
                                                                                          model](benchmark::State& s) {
        step_torch(s, optimizer, model);
      })->Unit(benchmark::kMicrosecond);
    }
    benchmark::RegisterBenchmark(("BM_ZeroGrad/odyn/" + model).c_str(), [model](benchmark::State& s) {
      zero_grad_odyn(s, model);
    })->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(("BM_ZeroGrad/torch/" + model).c_str(), [model](benchmark::State& s) {
      zero_grad_torch(s, model);
    })->Unit(benchmark::kMicrosecond);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
