// odyn::linalg::expm against Eigen's MatrixExponential on random normal matrices with prescribed
// 1-norms, n in {3, 8, 32, 128, 512}, ||A||_1 in {0.1, 1, 10, 100}. With ODYN_BENCH_EXPM_DIR set,
// first writes each matrix (case_<n>_<k>_A.npy), its reference exponential as a double-double pair
// (case_<n>_<k>_hi.npy, _lo.npy) and
// cases.json (products used and relative errors of odyn and Eigen) for bench/peers/expm_peer.py,
// which times scipy.linalg.expm and torch.linalg.matrix_exp on the same matrices, and a random
// ensemble of 450 matrices on which the peer measures SciPy's errors (write_ensemble).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <unsupported/Eigen/MatrixFunctions>

#include "../experiments/expm_suite/suite.hpp"
#include "odyn/io/npy.hpp"
#include "odyn/linalg/expm.hpp"
#include "odyn/linalg/test_matrices.hpp"

namespace {

const int kSizes[] = {3, 8, 32, 128, 512};
const double kNorms[] = {0.1, 1, 10, 100};

Eigen::MatrixXd test_matrix(int n, int k) {
  std::mt19937_64 rng(1000 * n + k);
  const Eigen::MatrixXd a = odyn::linalg::gaussian_matrix(n, n, rng);
  return a * (kNorms[k] / a.cwiseAbs().colwise().sum().maxCoeff());
}

const Eigen::MatrixXd& matrix(int n, int k) {
  static std::map<std::pair<int, int>, Eigen::MatrixXd> cache;
  auto it = cache.find({n, k});
  if (it == cache.end()) it = cache.emplace(std::make_pair(n, k), test_matrix(n, k)).first;
  return it->second;
}

// Products used by Eigen's Higham-2005 algorithm (pade3..pade13 cost 2..6, plus s squarings).
int eigen_products(const Eigen::MatrixXd& a) {
  const double norm = a.cwiseAbs().colwise().sum().maxCoeff();
  const double theta[] = {1.495585217958292e-2, 2.539398330063230e-1, 9.504178996162932e-1, 2.097847961257068};
  for (int i = 0; i < 4; ++i)
    if (norm < theta[i]) return 2 + i;
  const int s = std::max(0, static_cast<int>(std::ceil(std::log2(norm / 5.371920351148152))));
  return 6 + s;
}

using MatrixMp = Eigen::Matrix<odyn::mp50, Eigen::Dynamic, Eigen::Dynamic>;

// exp(A) to beyond double precision: 50 digits for n <= 32, long double (64-bit significand)
// above, where 50-digit arithmetic would take minutes.
MatrixMp reference(const Eigen::MatrixXd& a) {
  if (a.rows() <= 32) return odyn::linalg::expm(MatrixMp(a.cast<odyn::mp50>()));
  return odyn::linalg::expm(Eigen::Matrix<long double, -1, -1>(a.cast<long double>())).cast<odyn::mp50>();
}

// Relative 1-norm error against the unrounded reference (a double-rounded one would add up to u/2
// per entry).
double rel_error(const Eigen::MatrixXd& x, const MatrixMp& ref) {
  return static_cast<double>((x.cast<odyn::mp50>() - ref).cwiseAbs().colwise().sum().maxCoeff() /
                             ref.cwiseAbs().colwise().sum().maxCoeff());
}

// The reference as the double-double pair hi + lo, for the peer.
void write_reference(const std::string& dir, const std::string& stem, const MatrixMp& ref) {
  const Eigen::MatrixXd hi = ref.cast<double>();
  odyn::io::write_npy(dir + "/" + stem + "hi.npy", hi);
  odyn::io::write_npy(dir + "/" + stem + "lo.npy",
                      Eigen::MatrixXd(MatrixMp(ref - hi.cast<odyn::mp50>()).cast<double>()));
}

void write_cases(const std::string& dir) {
  std::ofstream json(dir + "/cases.json");
  json << "[\n";
  bool first = true;
  for (int n : kSizes) {
    for (int k = 0; k < 4; ++k) {
      const Eigen::MatrixXd& a = matrix(n, k);
      const MatrixMp ref = reference(a);
      const std::string tag = std::to_string(n) + "_" + std::to_string(k);
      odyn::io::write_npy(dir + "/case_" + tag + "_A.npy", a);
      write_reference(dir, "case_" + tag + "_", ref);
      odyn::linalg::ExpmStats stats;
      const Eigen::MatrixXd ours = odyn::linalg::expm(a, &stats);
      const Eigen::MatrixXd eigen = a.exp();
      json << (first ? "" : ",\n") << "{\"n\": " << n << ", \"norm\": " << kNorms[k] << ", \"tag\": \"" << tag
           << "\", \"odyn_products\": " << stats.products << ", \"odyn_degree\": " << stats.degree
           << ", \"odyn_squarings\": " << stats.squarings << ", \"odyn_solves\": " << stats.solves
           << ", \"eigen_products\": " << eigen_products(a) << ", \"odyn_error\": " << rel_error(ours, ref)
           << ", \"eigen_error\": " << rel_error(eigen, ref) << "}";
      first = false;
    }
  }
  json << "\n]\n";
}

// Errors of odyn and Eigen on each matrix of the accuracy suite, with the condition number.
void write_suite(const std::string& suite_path, const std::string& dir) {
  std::ofstream json(dir + "/suite.json");
  json << "[\n";
  bool first = true;
  for (const auto& c : odyn::expm_suite::read_suite(suite_path)) {
    Eigen::MatrixXcd ours, eigen;
    double cond;
    if (c.complex) {
      ours = odyn::linalg::expm(c.a);
      eigen = c.a.exp();
      cond = odyn::linalg::expm_cond_frobenius(c.a);
    } else {
      const Eigen::MatrixXd a = c.a.real();
      ours = odyn::linalg::expm(a).cast<std::complex<double>>();
      eigen = Eigen::MatrixXd(a.exp()).cast<std::complex<double>>();
      cond = odyn::linalg::expm_cond_frobenius(a);
    }
    const auto err = [&](const Eigen::MatrixXcd& x) {
      // against the 50-digit reference: differences taken before rounding the reference to double
      odyn::mp50 worst = 0, norm = 0;
      for (Eigen::Index j = 0; j < x.cols(); ++j) {
        odyn::mp50 d = 0, r = 0;
        for (Eigen::Index i = 0; i < x.rows(); ++i) {
          const odyn::mp50 dr = odyn::mp50(x(i, j).real()) - c.ref_real(i, j);
          const odyn::mp50 di = odyn::mp50(x(i, j).imag()) - c.ref_imag(i, j);
          d += sqrt(dr * dr + di * di);
          r += sqrt(c.ref_real(i, j) * c.ref_real(i, j) + c.ref_imag(i, j) * c.ref_imag(i, j));
        }
        worst = std::max(worst, d);
        norm = std::max(norm, r);
      }
      return static_cast<double>(worst / norm);
    };
    json << (first ? "" : ",\n") << "{\"name\": \"" << c.name << "\", \"n\": " << c.a.rows() << ", \"cond\": " << cond
         << ", \"odyn_error\": " << err(ours) << ", \"eigen_error\": " << err(eigen) << "}";
    first = false;
  }
  json << "\n]\n";
}

// Random matrices for a statistical accuracy comparison: for n in {4, 8, 16}, ||A||_1 in {3, 30, 300}
// and two kinds (normal entries; non-normal Q T Q^-1 with T upper triangular), 25 matrices each.
// Writes, per group, the stacked matrices (ens_<group>_A.npy, 25 n x n), their exponentials to 50
// digits as a double-double pair (ens_<group>_hi.npy, _lo.npy), and ensemble.json with odyn's and
// Eigen's relative 1-norm errors.
void write_ensemble(const std::string& dir) {
  constexpr int kPerGroup = 25;
  std::mt19937_64 rng(7);
  const auto gaussian = [&](int n) { return odyn::linalg::gaussian_matrix(n, n, rng); };
  std::ofstream json(dir + "/ensemble.json");
  json << "[\n";
  bool first = true;
  for (int n : {4, 8, 16}) {
    for (double norm : {3.0, 30.0, 300.0}) {
      for (const char* kind : {"normal", "nonnormal"}) {
        const std::string group = std::to_string(n) + "_" + std::to_string(static_cast<int>(norm)) + "_" + kind;
        Eigen::MatrixXd as(kPerGroup * n, n);
        MatrixMp refs(kPerGroup * n, n);
        json << (first ? "" : ",\n") << "{\"group\": \"" << group << "\", \"n\": " << n << ", \"norm\": " << norm
             << ", \"kind\": \"" << kind << "\", \"odyn_error\": [";
        std::ostringstream eigen_errors;
        for (int t = 0; t < kPerGroup; ++t) {
          Eigen::MatrixXd a = gaussian(n);
          if (std::string(kind) == "nonnormal") {
            const Eigen::MatrixXd q = gaussian(n) + 3 * Eigen::MatrixXd::Identity(n, n);
            a = q * Eigen::MatrixXd(a.triangularView<Eigen::Upper>()) * q.inverse();
          }
          a *= norm / a.cwiseAbs().colwise().sum().maxCoeff();
          const MatrixMp ref = odyn::linalg::expm(MatrixMp(a.cast<odyn::mp50>()));
          as.middleRows(t * n, n) = a;
          refs.middleRows(t * n, n) = ref;
          json << (t ? ", " : "") << rel_error(odyn::linalg::expm(a), ref);
          eigen_errors << (t ? ", " : "") << rel_error(a.exp(), ref);
        }
        json << "], \"eigen_error\": [" << eigen_errors.str() << "]}";
        first = false;
        odyn::io::write_npy(dir + "/ens_" + group + "_A.npy", as);
        write_reference(dir, "ens_" + group + "_", refs);
      }
    }
  }
  json << "\n]\n";
}

void BM_OdynExpm(benchmark::State& state) {
  const Eigen::MatrixXd& a = matrix(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
  for (auto _ : state) benchmark::DoNotOptimize(odyn::linalg::expm(a));
}
// Seconds spent in f and in g over the iterations of `state`, each iteration running both, in
// alternating order, so that a slow spell of a shared machine slows both.
template <class F, class G>
std::pair<double, double> time_alternately(benchmark::State& state, F&& f, G&& g) {
  using Clock = std::chrono::steady_clock;
  const auto seconds = [](auto&& work) {
    const auto start = Clock::now();
    work();
    return std::chrono::duration<double>(Clock::now() - start).count();
  };
  double f_seconds = 0, g_seconds = 0;
  bool f_first = true;
  for (auto _ : state) {
    if (f_first) {
      f_seconds += seconds(f);
      g_seconds += seconds(g);
    } else {
      g_seconds += seconds(g);
      f_seconds += seconds(f);
    }
    f_first = !f_first;
  }
  return {f_seconds, g_seconds};
}

// Eigen's time over odyn's measured in the same iterations (time_alternately), each side a burst of
// calls. Reports the counter eigen_over_odyn.
void BM_EigenOverOdyn(benchmark::State& state) {
  const Eigen::MatrixXd& a = matrix(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
  const long n = a.rows(), burst = std::max(1L, 4000 / (n * n * n / 8 + 50));  // ~1 ms of work per burst or less
  const auto odyn = [&] {
    for (long i = 0; i < burst; ++i) benchmark::DoNotOptimize(odyn::linalg::expm(a));
  };
  const auto eigen = [&] {
    for (long i = 0; i < burst; ++i) {
      Eigen::MatrixXd x = a.exp();
      benchmark::DoNotOptimize(x.data());
    }
  };
  const auto [odyn_seconds, eigen_seconds] = time_alternately(state, odyn, eigen);
  state.counters["eigen_over_odyn"] = eigen_seconds / odyn_seconds;
}

// odyn's time over (products used x one n x n product), the product timed alternately with expm
// as in BM_EigenOverOdyn, the LU solve counted as 4/3 of a product (Higham 2005's cost model).
// Reports the counter time_over_products.
void BM_CostModel(benchmark::State& state) {
  const Eigen::MatrixXd& a = matrix(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
  odyn::linalg::ExpmStats stats;
  odyn::linalg::expm(a, &stats);
  Eigen::MatrixXd c(a.rows(), a.cols());
  const auto odyn = [&] { benchmark::DoNotOptimize(odyn::linalg::expm(a)); };
  const auto product = [&] {
    c.noalias() = a * a;
    benchmark::DoNotOptimize(c.data());
  };
  const auto [odyn_seconds, product_seconds] = time_alternately(state, odyn, product);
  state.counters["time_over_products"] = odyn_seconds / ((stats.products + 4.0 / 3.0 * stats.solves) * product_seconds);
}

void cases(benchmark::internal::Benchmark* b) {
  for (int n : kSizes)
    for (int k = 0; k < 4; ++k) b->Args({n, k});
}

BENCHMARK(BM_OdynExpm)->Apply(cases)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_EigenOverOdyn)->Apply(cases)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_CostModel)->Args({512, 0})->Args({512, 1})->Args({512, 2})->Args({512, 3})->Unit(benchmark::kMicrosecond);

}  // namespace

int main(int argc, char** argv) {
  if (const char* dir = std::getenv("ODYN_BENCH_EXPM_DIR")) {
    write_cases(dir);
    write_ensemble(dir);
    if (const char* suite = std::getenv("ODYN_EXPM_SUITE")) write_suite(suite, dir);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
