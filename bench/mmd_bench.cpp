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

#include "bench_data.hpp"
#include "odyn/transport/knn_kl.hpp"
#include "odyn/transport/mmd.hpp"

namespace {

namespace tr = odyn::transport;

const long kSizes[] = {10000, 100000, 1000000};

// The samples for n, generated once.
const odyn::bench::Clouds& samples(long n) {
  static std::map<long, odyn::bench::Clouds> cache;
  auto it = cache.find(n);
  if (it == cache.end()) {
    const auto seed = static_cast<std::uint64_t>(n);
    it = cache.emplace(n, odyn::bench::random_clouds(n, seed, std::normal_distribution<double>(), 0.5)).first;
  }
  return it->second;
}

const tr::Kernel kGaussian{tr::KernelKind::gaussian, 1.0};

// Times estimate(X, Y) on the samples of n = state.range(0) points and reports the estimate as
// the counter `value`.
template <class Estimate>
void time_estimate(benchmark::State& state, Estimate estimate) {
  const auto& [x, y] = samples(state.range(0));
  double v = 0.0;
  for (auto _ : state) {
    v = estimate(x, y);
    benchmark::DoNotOptimize(v);
  }
  state.counters["value"] = v;
}

void BM_Mmd2Unbiased(benchmark::State& state) {
  time_estimate(state, [](const tr::Matrix& x, const tr::Matrix& y) { return tr::mmd2_unbiased(x, y, kGaussian); });
}

void BM_Mmd2Linear(benchmark::State& state) {
  time_estimate(state, [](const tr::Matrix& x, const tr::Matrix& y) { return tr::mmd2_linear(x, y, kGaussian); });
}

void BM_KnnKl(benchmark::State& state) {
  time_estimate(state, [](const tr::Matrix& x, const tr::Matrix& y) { return tr::knn_kl_divergence(x, y, 1); });
}

BENCHMARK(BM_Mmd2Unbiased)->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Mmd2Linear)->Arg(100000)->Arg(1000000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_KnnKl)->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  if (const char* dir = std::getenv("ODYN_BENCH_MMD_DIR")) {
    for (const long n : kSizes) odyn::bench::write_clouds(dir, n, samples(n));
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
