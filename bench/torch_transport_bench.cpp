// odyn::torch transport distances (odyn/torch/transport.hpp) on the CPU with one LibTorch thread,
// beside the Eigen versions in odyn::transport on the same data: two 2-D clouds of n points
// uniform on [0, 1]^2 (odyn::bench::random_clouds, std::mt19937_64 seeded with n), uniform
// weights.
//   BM_TorchSinkhorn/<dtype>/<n>, dtype float64 or float32, n in {1000, 4000}: one
//     odyn::torch::sinkhorn solve on the squared Euclidean cost (built untimed), eps = 1e-2,
//     L1 marginal error kTolerance (kFloatTolerance in float32); BM_EigenSinkhorn/<n>: odyn::transport::sinkhorn, same
//     problem. Counters: iterations, marginal_error, value (OT_eps).
//   BM_TorchSliced/10000, BM_EigenSliced/10000: SW_2 with the 100 directions of
//     sliced_directions(2, 100, 0). Counter: value.
//   BM_TorchMmd2Unbiased/2000, BM_EigenMmd2Unbiased/2000: unbiased MMD^2, gaussian kernel of
//     bandwidth 1. Counter: value.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <utility>

#include "bench_data.hpp"
#include "odyn/torch/tensor.hpp"
#include "odyn/torch/transport.hpp"
#include "odyn/transport/mmd.hpp"
#include "odyn/transport/sinkhorn.hpp"
#include "odyn/transport/sliced.hpp"

namespace {

namespace ot = odyn::transport;

constexpr double kEps = 1e-2;
constexpr double kTolerance = 1e-7;  // as bench/sinkhorn_bench.cpp
// float32 column sums carry rounding errors of about 1e-7 relative: 1e-5 is reachable.
constexpr double kFloatTolerance = 1e-5;
constexpr int kProjections = 100;

const odyn::bench::Clouds& clouds(long n) {
  static std::map<long, odyn::bench::Clouds> cache;
  auto it = cache.find(n);
  if (it == cache.end()) {
    it = cache
             .emplace(n, odyn::bench::random_clouds(n, static_cast<std::uint64_t>(n),
                                                    std::uniform_real_distribution<double>(0.0, 1.0)))
             .first;
  }
  return it->second;
}

// A row-major float64 tensor copy of an Eigen matrix.
torch::Tensor tensor(const ot::Matrix& m) {
  torch::Tensor t = torch::empty({m.rows(), m.cols()}, torch::kDouble);
  double* p = t.data_ptr<double>();
  for (Eigen::Index i = 0; i < m.rows(); ++i)
    for (Eigen::Index j = 0; j < m.cols(); ++j) p[i * m.cols() + j] = m(i, j);
  return t;
}

void torch_sinkhorn(benchmark::State& state, torch::ScalarType dtype, long n) {
  const odyn::bench::Clouds& c = clouds(n);
  const torch::Tensor cost = tensor(ot::ground_cost(c.x, c.y, 2.0)).to(dtype);
  odyn::torch::SinkhornTensorOptions options;
  options.tolerance = dtype == torch::kFloat ? kFloatTolerance : kTolerance;
  options.max_iterations = 10000;
  odyn::torch::SinkhornTensorResult r;
  for (auto _ : state) {
    r = odyn::torch::sinkhorn({}, {}, cost, kEps, options);
    benchmark::DoNotOptimize(r.value);
  }
  if (!r.converged) state.SkipWithError("sinkhorn did not converge");
  state.counters["iterations"] = static_cast<double>(r.iterations);
  state.counters["marginal_error"] = r.marginal_error;
  state.counters["value"] = r.value.item<double>();
}

void BM_EigenSinkhorn(benchmark::State& state) {
  const odyn::bench::Clouds& c = clouds(state.range(0));
  const ot::Matrix cost = ot::ground_cost(c.x, c.y, 2.0);
  ot::SinkhornOptions options;
  options.tolerance = kTolerance;
  ot::SinkhornResult r;
  for (auto _ : state) {
    r = ot::sinkhorn(ot::Vector(), ot::Vector(), cost, kEps, options);
    benchmark::DoNotOptimize(r.value);
  }
  if (!r.converged) state.SkipWithError("sinkhorn did not converge");
  state.counters["iterations"] = static_cast<double>(r.iterations);
  state.counters["marginal_error"] = r.marginal_error;
  state.counters["value"] = r.value;
}

void BM_TorchSliced(benchmark::State& state) {
  const odyn::bench::Clouds& c = clouds(state.range(0));
  const torch::Tensor x = tensor(c.x), y = tensor(c.y);
  const torch::Tensor theta = tensor(ot::sliced_directions(2, kProjections, 0).transpose());
  double value = 0;
  for (auto _ : state) {
    value = odyn::torch::sliced_wasserstein(x, y, 2.0, 0, theta).item<double>();
    benchmark::DoNotOptimize(value);
  }
  state.counters["value"] = value;
}

void BM_EigenSliced(benchmark::State& state) {
  const odyn::bench::Clouds& c = clouds(state.range(0));
  double value = 0;
  for (auto _ : state) {
    value = ot::sliced_wasserstein(c.x, c.y, 2.0, kProjections, 0);
    benchmark::DoNotOptimize(value);
  }
  state.counters["value"] = value;
}

void BM_TorchMmd2Unbiased(benchmark::State& state) {
  const odyn::bench::Clouds& c = clouds(state.range(0));
  const torch::Tensor x = tensor(c.x), y = tensor(c.y);
  double value = 0;
  for (auto _ : state) {
    value = odyn::torch::mmd2_unbiased(x, y, odyn::torch::MmdKernel::gaussian, 1.0).item<double>();
    benchmark::DoNotOptimize(value);
  }
  state.counters["value"] = value;
}

void BM_EigenMmd2Unbiased(benchmark::State& state) {
  const odyn::bench::Clouds& c = clouds(state.range(0));
  const ot::Kernel kernel{ot::KernelKind::gaussian, 1.0};
  double value = 0;
  for (auto _ : state) {
    value = ot::mmd2_unbiased(c.x, c.y, kernel);
    benchmark::DoNotOptimize(value);
  }
  state.counters["value"] = value;
}

BENCHMARK(BM_EigenSinkhorn)->Arg(1000)->Arg(4000)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_TorchSliced)->Arg(10000)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_EigenSliced)->Arg(10000)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_TorchMmd2Unbiased)->Arg(2000)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_EigenMmd2Unbiased)->Arg(2000)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  odyn::torch::set_num_threads(1);  // LibTorch and OpenBLAS, as the peers run
  for (const auto& [name, dtype] : {std::pair<std::string, torch::ScalarType>{"float64", torch::kDouble},
                                    std::pair<std::string, torch::ScalarType>{"float32", torch::kFloat}}) {
    for (const long n : {1000L, 4000L}) {
      benchmark::RegisterBenchmark(("BM_TorchSinkhorn/" + name + "/" + std::to_string(n)).c_str(),
                                   [dtype = dtype, n](benchmark::State& s) { torch_sinkhorn(s, dtype, n); })
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
