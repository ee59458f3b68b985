// MMD and kNN-KL estimators (odyn/transport/mmd.hpp, knn_kl.hpp) on 2-D Gaussian samples
// X ~ N(0, I), Y ~ N((0.5, 0), I), n = m points each (std::mt19937_64, seed n).
//   BM_Mmd2Unbiased/n  n in {10^4, 10^5}: quadratic-time MMD_u^2, Gaussian kernel, bandwidth 1
//                      (fixed, so the median heuristic is not timed); 10^5 is 2 x 10^10 kernel
//                      values, tens of seconds: select it with --benchmark_filter when wanted.
//   BM_Mmd2Linear/n    n in {10^5, 10^6}: linear-time MMD_l^2, same kernel.
//   BM_KnnKl/n         n in {10^4, 10^5}: kNN KL divergence D(P || Q), k = 1 (two k-d trees).
// Each run reports its estimate as the counter `value`.
// Data direction: with ODYN_BENCH_MMD_DIR set, this program first writes the samples as
// <dir>/x_<n>.npy and <dir>/y_<n>.npy (float64, n x 2, C order) for every n above; the peer
// bench/peers/mmd_peer.py reads them from the same directory and times the same work in PyTorch
// (MMD_u^2), NumPy (MMD_l^2) and SciPy (kNN-KL), printing JSON keyed like these runs.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <map>
#include <random>
#include <string>
#include <utility>

#include "odyn/io/npy.hpp"
#include "odyn/transport/knn_kl.hpp"
#include "odyn/transport/mmd.hpp"

namespace {

namespace tr = odyn::transport;

const long kSizes[] = {10000, 100000, 1000000};

// The samples for n, generated once.
const std::pair<tr::Matrix, tr::Matrix>& samples(long n) {
  static std::map<long, std::pair<tr::Matrix, tr::Matrix>> cache;
  auto it = cache.find(n);
  if (it == cache.end()) {
    std::mt19937_64 rng(static_cast<std::uint64_t>(n));
    std::normal_distribution<double> normal;
    tr::Matrix x(n, 2), y(n, 2);
    for (Eigen::Index i = 0; i < n; ++i) {
      x(i, 0) = normal(rng);
      x(i, 1) = normal(rng);
    }
    for (Eigen::Index i = 0; i < n; ++i) {
      y(i, 0) = 0.5 + normal(rng);
      y(i, 1) = normal(rng);
    }
    it = cache.emplace(n, std::make_pair(std::move(x), std::move(y))).first;
  }
  return it->second;
}

const tr::Kernel kGaussian{tr::KernelKind::gaussian, 1.0};

void BM_Mmd2Unbiased(benchmark::State& state) {
  const auto& [x, y] = samples(state.range(0));
  double v = 0.0;
  for (auto _ : state) {
    v = tr::mmd2_unbiased(x, y, kGaussian);
    benchmark::DoNotOptimize(v);
  }
  state.counters["value"] = v;
}

void BM_Mmd2Linear(benchmark::State& state) {
  const auto& [x, y] = samples(state.range(0));
  double v = 0.0;
  for (auto _ : state) {
    v = tr::mmd2_linear(x, y, kGaussian);
    benchmark::DoNotOptimize(v);
  }
  state.counters["value"] = v;
}

void BM_KnnKl(benchmark::State& state) {
  const auto& [x, y] = samples(state.range(0));
  double v = 0.0;
  for (auto _ : state) {
    v = tr::knn_kl_divergence(x, y, 1);
    benchmark::DoNotOptimize(v);
  }
  state.counters["value"] = v;
}

BENCHMARK(BM_Mmd2Unbiased)->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Mmd2Linear)->Arg(100000)->Arg(1000000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_KnnKl)->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  if (const char* dir = std::getenv("ODYN_BENCH_MMD_DIR")) {
    for (const long n : kSizes) {
      const auto& [x, y] = samples(n);
      odyn::io::write_npy(std::string(dir) + "/x_" + std::to_string(n) + ".npy", x);
      odyn::io::write_npy(std::string(dir) + "/y_" + std::to_string(n) + ".npy", y);
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
