// Reading and writing a 10000 x 10 point cloud (n points in d = 10 dimensions) as text and as
// .npy. The same work in NumPy: bench/peers/io_peer.py.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <random>
#include <string>

#include "odyn/io/matrix_text.hpp"
#include "odyn/io/npy.hpp"

namespace {

const Eigen::MatrixXd& cloud() {
  static const Eigen::MatrixXd m = [] {
    std::mt19937_64 rng(1);
    std::normal_distribution<double> normal;
    Eigen::MatrixXd x(10000, 10);
    for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = normal(rng);
    return x;
  }();
  return m;
}

std::string scratch(const char* name) {
  return std::string("/tmp/odyn_bench_io_") + name;
}

void BM_WriteText(benchmark::State& state) {
  for (auto _ : state) odyn::io::write_matrix_text(scratch("w.txt"), cloud());
}
void BM_ReadText(benchmark::State& state) {
  odyn::io::write_matrix_text(scratch("r.txt"), cloud());
  for (auto _ : state) benchmark::DoNotOptimize(odyn::io::read_matrix_text(scratch("r.txt")));
}
void BM_WriteNpy(benchmark::State& state) {
  for (auto _ : state) odyn::io::write_npy(scratch("w.npy"), cloud());
}
void BM_ReadNpy(benchmark::State& state) {
  odyn::io::write_npy(scratch("r.npy"), cloud());
  for (auto _ : state) benchmark::DoNotOptimize(odyn::io::read_npy(scratch("r.npy")));
}

BENCHMARK(BM_WriteText)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ReadText)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_WriteNpy)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ReadNpy)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
