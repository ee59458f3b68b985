// Exact optimal transport (odyn/transport/emd.hpp) on two clouds of n uniform points in [0, 1]^2,
// uniform weights, squared Euclidean cost, n in {500, 1000, 2000, 4000}. BM_Emd2/<n>: emd2 on the
// cost matrix (ground_cost, built untimed); BM_EmdPoints/<n>: emd_points, which prices the cost on
// the fly. Counters: value (the optimal cost) and pivots. The clouds come from std::mt19937_64 with
// seed 1000 + n (X then Y); when ODYN_BENCH_EMD_DIR is set, main writes them there as
// x_<n>.npy and y_<n>.npy (n x 2 float64) for bench/peers/emd_peer.py, which times POT's ot.emd2
// on the same data.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <random>

#include "bench_data.hpp"
#include "odyn/transport/emd.hpp"

namespace {

namespace ot = odyn::transport;

const int kSizes[] = {500, 1000, 2000, 4000};

using odyn::bench::Clouds;

Clouds clouds(int n) {
  return odyn::bench::random_clouds(n, 1000 + static_cast<unsigned>(n),
                                    std::uniform_real_distribution<double>(0.0, 1.0));
}

void BM_Emd2(benchmark::State& state) {
  const Clouds c = clouds(static_cast<int>(state.range(0)));
  const ot::Matrix cost = ot::ground_cost(c.x, c.y, 2.0);
  double value = 0.0;
  for (auto _ : state) {
    value = ot::emd2(ot::Vector(), ot::Vector(), cost);
    benchmark::DoNotOptimize(value);
  }
  state.counters["value"] = value;
}

void BM_EmdPoints(benchmark::State& state) {
  const Clouds c = clouds(static_cast<int>(state.range(0)));
  ot::EmdResult r;
  for (auto _ : state) {
    r = ot::emd_points(c.x, c.y);
    benchmark::DoNotOptimize(r.cost);
  }
  state.counters["value"] = r.cost;
  state.counters["pivots"] = static_cast<double>(r.iterations);
}

void sizes(benchmark::internal::Benchmark* b) {
  for (int n : kSizes) b->Arg(n);
}

BENCHMARK(BM_Emd2)->Apply(sizes)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_EmdPoints)->Apply(sizes)->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  if (const char* dir = std::getenv("ODYN_BENCH_EMD_DIR")) {
    for (int n : kSizes) odyn::bench::write_clouds(dir, n, clouds(n));
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
