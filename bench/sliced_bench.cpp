// Sliced and 1-D Wasserstein distances (odyn/transport/sliced.hpp, wasserstein_1d.hpp) on two
// clouds of n uniform points, d = 2: X uniform on [0, 1]^2, Y uniform on [0.5, 1.5] x [0, 1],
// uniform weights, n in {10^4, 10^5}. BM_Sliced/<n>: sliced_wasserstein(X, Y, p = 2, 100
// projections, seed 0); BM_Wasserstein1d/<n>: wasserstein_1d(X[:, 0], Y[:, 0], p = 1);
// BM_MaxSliced/10000: max_sliced_wasserstein(X, Y, p = 2, 100 projections, seed 0). Counter: value.
// The clouds come from std::mt19937_64 with seed 2000 + n (X then Y).
// Data direction: this program writes, the peer reads. When ODYN_BENCH_SLICED_DIR is set, main
// first writes x_<n>.npy and y_<n>.npy (n x 2 float64) and theta.npy (the 2 x 100 directions of
// sliced_directions(2, 100, 0)) there; bench/peers/sliced_peer.py times POT and SciPy on them.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <random>
#include <string>

#include "bench_data.hpp"
#include "odyn/io/npy.hpp"
#include "odyn/transport/sliced.hpp"
#include "odyn/transport/wasserstein_1d.hpp"

namespace {

namespace ot = odyn::transport;

const int kSizes[] = {10000, 100000};
constexpr int kProjections = 100;

using odyn::bench::Clouds;

Clouds make_clouds(int n) {
  return odyn::bench::random_clouds(n, 2000 + static_cast<unsigned>(n),
                                    std::uniform_real_distribution<double>(0.0, 1.0), 0.5);
}

const Clouds& clouds(int n) {
  static const Clouds small = make_clouds(kSizes[0]);
  static const Clouds large = make_clouds(kSizes[1]);
  return n == kSizes[0] ? small : large;
}

void BM_Sliced(benchmark::State& state) {
  const Clouds& c = clouds(static_cast<int>(state.range(0)));
  double value = 0.0;
  for (auto _ : state) {
    value = ot::sliced_wasserstein(c.x, c.y, 2.0, kProjections, 0);
    benchmark::DoNotOptimize(value);
  }
  state.counters["value"] = value;
}

void BM_Wasserstein1d(benchmark::State& state) {
  const Clouds& c = clouds(static_cast<int>(state.range(0)));
  const ot::Vector x = c.x.col(0), y = c.y.col(0);
  double value = 0.0;
  for (auto _ : state) {
    value = ot::wasserstein_1d(x, y, 1.0);
    benchmark::DoNotOptimize(value);
  }
  state.counters["value"] = value;
}

void BM_MaxSliced(benchmark::State& state) {
  const Clouds& c = clouds(static_cast<int>(state.range(0)));
  double value = 0.0;
  for (auto _ : state) {
    value = ot::max_sliced_wasserstein(c.x, c.y, 2.0, kProjections, 0).value;
    benchmark::DoNotOptimize(value);
  }
  state.counters["value"] = value;
}

void sizes(benchmark::internal::Benchmark* b) {
  for (int n : kSizes) b->Arg(n);
}

BENCHMARK(BM_Sliced)->Apply(sizes)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Wasserstein1d)->Apply(sizes)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MaxSliced)->Arg(10000)->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  if (const char* dir = std::getenv("ODYN_BENCH_SLICED_DIR")) {
    for (int n : kSizes) odyn::bench::write_clouds(dir, n, clouds(n));
    odyn::io::write_npy(std::string(dir) + "/theta.npy", ot::sliced_directions(2, kProjections, 0));
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
