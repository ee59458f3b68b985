// odyn::transport::sinkhorn (odyn/transport/sinkhorn.hpp) on two 2-D uniform clouds of n points in
// [0, 1]^2 (std::mt19937_64, seeds 1 and 2), uniform weights, squared Euclidean cost, eps = 1e-2.
// BM_Sinkhorn/<n>, n in {1000, 4000}: one solve (the cost matrix is built untimed) to an L1
// marginal error of kTolerance; counters: iterations, marginal_error (final L1 error
// sum_j |(P^T 1)_j - b_j|), value (OT_eps), transport_cost (<P, C>, POT's sinkhorn2).
// Data shared with the peer (bench/peers/sinkhorn_peer.py): when ODYN_BENCH_SINKHORN_DIR is set,
// this program writes the clouds there as x_<n>.npy and y_<n>.npy (float64, n x 2) and the peer
// reads them; run this program first.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <random>
#include <string>

#include "odyn/io/npy.hpp"
#include "odyn/transport/common.hpp"
#include "odyn/transport/sinkhorn.hpp"

namespace {

namespace ot = odyn::transport;

constexpr double kEps = 1e-2;
// An L1 marginal error of 1e-7 is what POT reaches with stopThr = 1e-8 on these clouds (its test
// is the L2 norm of the column violation, about sqrt(n) times smaller than L1 here).
constexpr double kTolerance = 1e-7;

ot::Matrix cloud(long n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  ot::Matrix x(n, 2);
  for (long i = 0; i < n; ++i) {
    x(i, 0) = uniform(rng);
    x(i, 1) = uniform(rng);
  }
  return x;
}

void BM_Sinkhorn(benchmark::State& state) {
  const long n = state.range(0);
  const ot::Matrix x = cloud(n, 1);
  const ot::Matrix y = cloud(n, 2);
  if (const char* dir = std::getenv("ODYN_BENCH_SINKHORN_DIR")) {
    odyn::io::write_npy(std::string(dir) + "/x_" + std::to_string(n) + ".npy", x);
    odyn::io::write_npy(std::string(dir) + "/y_" + std::to_string(n) + ".npy", y);
  }
  const ot::Matrix cost = ot::ground_cost(x, y, 2.0);
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
  state.counters["transport_cost"] = r.transport_cost;
}

BENCHMARK(BM_Sinkhorn)->Arg(1000)->Arg(4000)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
