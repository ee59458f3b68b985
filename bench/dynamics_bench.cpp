// odyn's optimizers (odyn/dynamics/optimizers.hpp) on L = ½‖x‖² in R^d, d in {2, 10, 1000}, whose
// gradient x is cheap enough that the update dominates. BM_Step/<name>/<d>: steps per second of
// integrate_n_steps(std::ref(opt), ...) with the concrete class, for the table against torch.optim
// (bench/peers/dynamics_peer.py, same names). BM_Overhead/<name>/<d>: the cost of the abstraction,
// timing in the same iterations (odeint) integrate_n_steps, (do_step) a loop of opt.do_step,
// (virtual) Optimizer::step of make_optimizer's object with a GradientField, (odeint_virtual)
// integrate_n_steps on that object, and (hand) the same update written out on Eigen vectors;
// counters <path>_ns (median ns per step) and <path>_over_hand (median time ratio to the hand-written
// loop in the same iteration).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "odyn/dynamics/odeint.hpp"
#include "odyn/dynamics/optimizers.hpp"

namespace {

namespace dyn = odyn::dynamics;
using dyn::Vector;

const char* const kOptimizers[] = {"sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw"};
const int kDims[] = {2, 10, 1000};
constexpr double kLr = 1e-3;

// Steps per timed burst, each from x0 with a fresh optimizer: 1000 (100 at d = 1000, short enough
// that few bursts are cut by the scheduler). Restarting keeps the iterates away from subnormals
// (momentum: 0.99^1000 = 4e-5) and beta^k in Adam's bias corrections away from underflow, where
// std::pow is several times slower.
long burst_steps(long d) {
  return std::clamp(100000 / d, 100L, 1000L);
}

// dxdt = -grad L for L = ½‖x‖².
const auto descent = [](const Vector& x, Vector& dxdt, double) { dxdt = -x; };

Vector start(int d) {
  return Vector::LinSpaced(d, 1.0, 2.0);
}

// torch.optim's updates written out on Eigen vectors with no abstraction: the gradient into a
// buffer (g = x), then the update with the formulas of optimizers.hpp, leaving out the branches of
// hyper-parameters at zero (weight decay, dampening, lr_decay). The hyper-parameters are data, as
// in odyn's classes, not compile-time constants.
struct HandSgd {
  Vector g;
  void reset() {}
  void step(Vector& x, double lr) {
    g = x;
    x -= lr * g;
  }
};

template <bool Nesterov>
struct HandMomentum {
  double mu = 0.9;
  Vector g, b;
  bool started = false;
  void reset() { started = false; }
  void step(Vector& x, double lr) {
    g = x;
    if (started) {
      b = mu * b + g;
    } else {
      b = g;
      started = true;
    }
    if (Nesterov) {
      x -= lr * (g + mu * b);
    } else {
      x -= lr * b;
    }
  }
};

struct HandAdagrad {
  double eps = 1e-10;
  Vector g, sum;
  bool started = false;
  void reset() { started = false; }
  void step(Vector& x, double lr) {
    g = x;
    if (!started) {
      sum = Vector::Zero(x.size());
      started = true;
    }
    sum.array() += g.array().square();
    x.array() -= lr * g.array() / (sum.array().sqrt() + eps);
  }
};

struct HandRmsprop {
  double alpha = 0.99, eps = 1e-8;
  Vector g, v;
  bool started = false;
  void reset() { started = false; }
  void step(Vector& x, double lr) {
    g = x;
    if (!started) {
      v = Vector::Zero(x.size());
      started = true;
    }
    v.array() = alpha * v.array() + (1 - alpha) * g.array().square();
    x.array() -= lr * g.array() / (v.array().sqrt() + eps);
  }
};

template <bool Decoupled>
struct HandAdam {
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 1e-2;
  Vector g, m, v;
  long k = 0;
  void reset() { k = 0; }
  void step(Vector& x, double lr) {
    g = x;
    if (Decoupled) x *= 1 - lr * weight_decay;
    if (k++ == 0) {
      m = Vector::Zero(x.size());
      v = Vector::Zero(x.size());
    }
    m = beta1 * m + (1 - beta1) * g;
    v.array() = beta2 * v.array() + (1 - beta2) * g.array().square();
    const double bc1 = 1 - std::pow(beta1, static_cast<double>(k));
    const double bc2_sqrt = std::sqrt(1 - std::pow(beta2, static_cast<double>(k)));
    x.array() -= (lr / bc1) * m.array() / (v.array().sqrt() / bc2_sqrt + eps);
  }
};

// A copy of the concrete optimizer that make_optimizer(name) builds.
template <class T>
T concrete(const std::string& name) {
  return dynamic_cast<const T&>(*dyn::make_optimizer(name));
}

// Calls f(opt, hand) with concrete<...>(name) and the hand-written form of its update.
template <class F>
void with_optimizer(const std::string& name, F&& f) {
  if (name == "sgd") return f(concrete<dyn::Sgd>(name), HandSgd{});
  if (name == "momentum") return f(concrete<dyn::Sgd>(name), HandMomentum<false>{});
  if (name == "nesterov") return f(concrete<dyn::Sgd>(name), HandMomentum<true>{});
  if (name == "adagrad") return f(concrete<dyn::Adagrad>(name), HandAdagrad{});
  if (name == "rmsprop") return f(concrete<dyn::Rmsprop>(name), HandRmsprop{});
  if (name == "adam") return f(concrete<dyn::Adam>(name), HandAdam<false>{});
  if (name == "adamw") return f(concrete<dyn::Adam>(name), HandAdam<true>{});
}

// Seconds of one burst of `steps` steps from x0 with a fresh state vector and optimizer, make(),
// both freed after. An untimed first step allocates the optimizer's buffers, `pad` bytes after x,
// and reset forgets it. At d = 1000 the offsets of the vectors modulo 4 KiB alone change the time
// of an update by up to 2.3x (4K aliasing of loads and stores: a hand-written momentum step took
// 141-331 ns), so the paths compared get the same heap places in each iteration (the blocks of one
// burst are back in the heap before the next) and `pad` varies the layout over the iterations.
template <class Make, class Run, class Reset>
double timed_burst(const Vector& x0, long steps, std::size_t pad, const Make& make, const Run& run,
                   const Reset& reset) {
  Vector x = x0;
  std::vector<char> padding(pad);
  auto opt = make();
  run(opt, x, 1);
  reset(opt);
  x = x0;
  const auto t0 = std::chrono::steady_clock::now();
  run(opt, x, steps);
  benchmark::DoNotOptimize(x.data());
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// integrate_n_steps(std::ref(opt), ...) with the concrete class.
const auto by_odeint = [](auto& opt, Vector& x, long n) {
  dyn::odeint::integrate_n_steps(std::ref(opt), descent, x, 0.0, kLr, n);
};
const auto reset = [](auto& opt) { opt.reset(); };

// The padding of the i-th burst: 64 offsets of the optimizer's buffers from x, 64 bytes apart (all
// above the sizes malloc keeps in per-thread caches, so that each one moves them).
std::size_t layout_pad(std::size_t i) {
  return 2048 + 64 * (i % 64);
}

void BM_Step(benchmark::State& state, const std::string& name) {
  with_optimizer(name, [&](auto concrete, auto) {
    const Vector x0 = start(static_cast<int>(state.range(0)));
    const long steps = burst_steps(state.range(0));
    std::size_t i = 0;
    for (auto _ : state)
      state.SetIterationTime(timed_burst(
          x0, steps, layout_pad(i++), [&] { return concrete; }, by_odeint, reset));
    state.SetItemsProcessed(state.iterations() * steps);
  });
}

double median(std::vector<double> v) {
  std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
  return v[v.size() / 2];
}

void BM_Overhead(benchmark::State& state, const std::string& name) {
  with_optimizer(name, [&](auto concrete, auto hand) {
    using Concrete = decltype(concrete);
    const Vector x0 = start(static_cast<int>(state.range(0)));
    const long steps = burst_steps(state.range(0));
    // the hand-written update must be odyn's: a burst of each from x0 agrees to 1e-12
    {
      Concrete opt = concrete;
      auto h = hand;
      Vector x = x0, y = x0;
      by_odeint(opt, x, steps);
      for (long i = 0; i < steps; ++i) h.step(y, kLr);
      if (!((x - y).array().abs() <= 1e-12 * (1 + y.array().abs())).all()) {
        state.SkipWithError("the hand-written update differs from odyn's");
        return;
      }
    }
    const dyn::GradientField field = descent;
    const auto make_concrete = [&] { return concrete; };
    const auto make_virtual = [&] { return dyn::make_optimizer(name); };
    const auto reset_virtual = [](std::unique_ptr<dyn::Optimizer>& opt) { opt->reset(); };
    const auto time_path = [&](std::size_t path, std::size_t pad) {
      switch (path) {
        case 0:
          return timed_burst(x0, steps, pad, make_concrete, by_odeint, reset);
        case 1:
          return timed_burst(
              x0, steps, pad, make_concrete,
              [](Concrete& opt, Vector& x, long n) {
                for (long i = 0; i < n; ++i) opt.do_step(descent, x, static_cast<double>(i) * kLr, kLr);
              },
              reset);
        case 2:
          return timed_burst(
              x0, steps, pad, make_virtual,
              [&](std::unique_ptr<dyn::Optimizer>& opt, Vector& x, long n) {
                for (long i = 0; i < n; ++i) opt->step(field, x, static_cast<double>(i) * kLr, kLr);
              },
              reset_virtual);
        case 3:
          return timed_burst(
              x0, steps, pad, make_virtual,
              [](std::unique_ptr<dyn::Optimizer>& opt, Vector& x, long n) { by_odeint(*opt, x, n); }, reset_virtual);
        default:
          return timed_burst(
              x0, steps, pad, [&] { return hand; },
              [](auto& h, Vector& x, long n) {
                for (long i = 0; i < n; ++i) h.step(x, kLr);
              },
              reset);
      }
    };
    // Each iteration times one burst of every path with the same layout, starting from the next path
    // in turn, so that a slow spell of the shared machine slows all; the medians over iterations
    // drop the bursts that the scheduler cut.
    constexpr std::size_t kPaths = 5;
    const char* const names[kPaths] = {"odeint", "do_step", "virtual", "odeint_virtual", "hand"};
    std::array<std::vector<double>, kPaths> seconds;
    for (auto& v : seconds) v.reserve(static_cast<std::size_t>(state.max_iterations));
    std::size_t i = 0;
    for (auto _ : state) {
      for (std::size_t j = 0; j < kPaths; ++j) {
        const std::size_t path = (i + j) % kPaths;
        seconds[path].push_back(time_path(path, layout_pad(i)));
      }
      ++i;
    }
    const std::vector<double>& hand_seconds = seconds[kPaths - 1];
    for (std::size_t p = 0; p < kPaths; ++p) {
      state.counters[std::string(names[p]) + "_ns"] = 1e9 * median(seconds[p]) / static_cast<double>(steps);
      if (p + 1 == kPaths) continue;
      std::vector<double> ratio(hand_seconds.size());
      for (std::size_t k = 0; k < ratio.size(); ++k) ratio[k] = seconds[p][k] / hand_seconds[k];
      state.counters[std::string(names[p]) + "_over_hand"] = median(ratio);
    }
  });
}

void register_all() {
  for (const char* name : kOptimizers)
    for (int d : kDims)
      benchmark::RegisterBenchmark(("BM_Step/" + std::string(name)).c_str(), BM_Step, name)->Arg(d)->UseManualTime();
  for (const char* name : kOptimizers)
    for (int d : kDims)
      benchmark::RegisterBenchmark(("BM_Overhead/" + std::string(name)).c_str(), BM_Overhead, name)
          ->Arg(d)
          ->Unit(benchmark::kMicrosecond);
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
