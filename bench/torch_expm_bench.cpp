// odyn::torch::expm against torch::linalg::matrix_exp on the CPU with one LibTorch thread: 10^5
// and 10^6 matrices of 3x3 and 4x4 (many tiny matrices, as in pytorch issue #105225) and 64
// matrices of 64x64, in float32 and float64. Entries are standard normal, each matrix scaled to a
// 1-norm drawn log-uniformly from [0.1, 10]. Methods: `odyn` (automatic: per slice on the CPU),
// `odyn_batched` (the device path, run on the CPU) and `torch`. Counter max_rel_err: the largest
// ||X - X_ref||_1 / ||X_ref||_1 over the first 10^5 matrices, X_ref = odyn::linalg::expm in long
// double. Benchmark names: method/dtype/n/count.
#include <benchmark/benchmark.h>

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "odyn/linalg/expm.hpp"
#include "odyn/torch/expm.hpp"
#include "odyn/torch/tensor.hpp"

namespace {

enum class Method { odyn, odyn_batched, torch };

constexpr int64_t kChecked = 100000;  // matrices compared with the reference

// `count` n x n float64 matrices; a shorter batch of the same n is a prefix of a longer one.
const torch::Tensor& batch(int64_t n, int64_t count) {
  static std::map<std::pair<int64_t, int64_t>, torch::Tensor> cache;
  torch::Tensor& t = cache[{n, count}];
  if (t.defined()) return t;
  t = torch::empty({count, n, n}, torch::kDouble);
  std::mt19937_64 rng(n);
  std::normal_distribution<double> normal;
  std::uniform_real_distribution<double> exponent(-1, 1);
  for (int64_t i = 0; i < count; ++i) {
    Eigen::Map<Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> m(
        t.data_ptr<double>() + i * n * n, n, n);
    for (Eigen::Index k = 0; k < m.size(); ++k) m.data()[k] = normal(rng);
    m *= std::pow(10.0, exponent(rng)) / m.cwiseAbs().colwise().sum().maxCoeff();
  }
  return t;
}

using LongMatrix = Eigen::Matrix<long double, Eigen::Dynamic, Eigen::Dynamic>;

// Slice i of a contiguous [B, n, n] float64 tensor.
LongMatrix matrix_at(const torch::Tensor& t, int64_t i) {
  const int64_t n = t.size(-1);
  return Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
             t.data_ptr<double>() + i * n * n, n, n)
      .cast<long double>();
}

// exp of the first kChecked matrices of `a` in long double, per (n, dtype): the input as rounded
// to the dtype is the exact input.
const std::vector<LongMatrix>& reference(const torch::Tensor& a) {
  static std::map<std::pair<int64_t, torch::ScalarType>, std::vector<LongMatrix>> cache;
  std::vector<LongMatrix>& r = cache[{a.size(-1), a.scalar_type()}];
  if (!r.empty()) return r;
  const torch::Tensor x = a.narrow(0, 0, std::min(kChecked, a.size(0))).to(torch::kDouble).contiguous();
  for (int64_t i = 0; i < x.size(0); ++i) r.push_back(odyn::linalg::expm(matrix_at(x, i)));
  return r;
}

double max_relative_error(const torch::Tensor& a, const torch::Tensor& e) {
  const std::vector<LongMatrix>& ref = reference(a);
  const torch::Tensor y = e.narrow(0, 0, int64_t(ref.size())).to(torch::kDouble).contiguous();
  long double worst = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    const long double norm = ref[i].cwiseAbs().colwise().sum().maxCoeff();
    worst = std::max(worst, (matrix_at(y, int64_t(i)) - ref[i]).cwiseAbs().colwise().sum().maxCoeff() / norm);
  }
  return double(worst);
}

torch::Tensor run(Method method, const torch::Tensor& a) {
  switch (method) {
    case Method::odyn:
      return odyn::torch::expm(a);
    case Method::odyn_batched:
      return odyn::torch::expm(a, odyn::torch::ExpmMethod::batched);
    default:
      return torch::linalg::matrix_exp(a);
  }
}

void bench(benchmark::State& state, Method method, int64_t n, int64_t count, torch::ScalarType type) {
  const torch::Tensor a = batch(n, count).to(type);
  torch::Tensor e;
  for (auto _ : state) {
    e = run(method, a);
    benchmark::DoNotOptimize(e.data_ptr());
  }
  state.counters["max_rel_err"] = max_relative_error(a, e);
}

}  // namespace

int main(int argc, char** argv) {
  odyn::torch::set_num_threads(1);
  const std::vector<std::pair<Method, const char*>> methods = {
      {Method::odyn, "odyn"}, {Method::odyn_batched, "odyn_batched"}, {Method::torch, "torch"}};
  for (const auto& [type, type_name] : {std::pair{torch::kFloat, "float32"}, std::pair{torch::kDouble, "float64"}}) {
    for (const auto& [n, count] : std::vector<std::pair<int64_t, int64_t>>{
             {3, 100000}, {4, 100000}, {3, 1000000}, {4, 1000000}, {8, 10000}, {12, 2000}, {16, 1000}, {64, 64}}) {
      for (const auto& [method, method_name] : methods) {
        const std::string name =
            std::string(method_name) + "/" + type_name + "/" + std::to_string(n) + "/" + std::to_string(count);
        benchmark::RegisterBenchmark(name.c_str(), bench, method, n, count, type)
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime();
      }
    }
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
}
