// Experiments on odyn::transport's estimators (docs/transport.md):
//
//   odyn_exp_transport clouds  --n N --out DIR     two Gaussian samples as .npy and their closed forms
//   odyn_exp_transport bias    --out DIR           error against the Gaussian closed forms vs n
//   odyn_exp_transport scaling --out DIR           wall time vs n of every estimator (CSV, log-log PNG)
//   odyn_exp_transport memory  --method M --n N    peak resident memory of one estimate
//   odyn_exp_transport critic                      W_{2,6} against the r sample: size and strategy
//
// The Gaussian pair: P = N(0, S1), Q = N((1, -0.5), S2) in 2-D with S1 = [[1, .3], [.3, .5]] and
// S2 = [[.6, -.2], [-.2, 1.2]]; its W_2, KL and sliced W_2 are known in closed form.
#include <CLI/CLI.hpp>
#include <Eigen/Cholesky>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "odyn/core/error.hpp"
#include "odyn/io/atomic_file.hpp"
#include "odyn/io/npy.hpp"
#include "odyn/io/plot.hpp"
#include "odyn/transport/critic.hpp"
#include "odyn/transport/emd.hpp"
#include "odyn/transport/gaussian.hpp"
#include "odyn/transport/knn_kl.hpp"
#include "odyn/transport/mmd.hpp"
#include "odyn/transport/sinkhorn.hpp"
#include "odyn/transport/sliced.hpp"
#include "odyn/transport/wasserstein_1d.hpp"

namespace ot = odyn::transport;
using ot::Matrix;
using ot::Vector;

namespace {

struct GaussianPair {
  Vector m1 = Vector::Zero(2), m2 = (Vector(2) << 1.0, -0.5).finished();
  Matrix s1 = (Matrix(2, 2) << 1.0, 0.3, 0.3, 0.5).finished();
  Matrix s2 = (Matrix(2, 2) << 0.6, -0.2, -0.2, 1.2).finished();

  Matrix sample(Eigen::Index n, bool second, std::mt19937_64& rng) const {
    std::normal_distribution<double> normal;
    const Matrix l = (second ? s2 : s1).llt().matrixL();
    Matrix z(n, 2);
    for (Eigen::Index i = 0; i < z.size(); ++i) z.data()[i] = normal(rng);
    return (z * l.transpose()).rowwise() + (second ? m2 : m1).transpose();
  }
  // SW_2^2 = mean over the circle of (theta.dm)^2 + (sqrt(theta'S1 theta) - sqrt(theta'S2 theta))^2:
  // the projections of the Gaussians are 1-D Gaussians. Trapezoid rule on 4096 points (spectral accuracy).
  double sliced_w2() const {
    double sum = 0.0;
    const int q = 4096;
    for (int i = 0; i < q; ++i) {
      const double t = 2.0 * M_PI * i / q;
      const Eigen::Vector2d th(std::cos(t), std::sin(t));
      const double dm = th.dot(m2 - m1);
      const double ds = std::sqrt(th.dot(s1 * th)) - std::sqrt(th.dot(s2 * th));
      sum += dm * dm + ds * ds;
    }
    return std::sqrt(sum / q);
  }
};

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Peak resident set size of this process in MiB (Linux /proc/self/status, VmHWM).
double peak_rss_mib() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  return NAN;
}

// One estimate of `method` between two Gaussian samples of n points; returns its value.
double estimate(const std::string& method, const Matrix& x, const Matrix& y) {
  if (method == "exact") return std::sqrt(ot::emd_points(x, y).cost);
  if (method == "exact-matrix") return std::sqrt(ot::emd2(Vector(), Vector(), ot::ground_cost(x, y, 2.0)));
  if (method == "sinkhorn") {
    const ot::SinkhornResult r = ot::sinkhorn(Vector(), Vector(), ot::ground_cost(x, y, 2.0), 0.05);
    return std::sqrt(r.transport_cost);
  }
  if (method == "sliced") return ot::sliced_wasserstein(x, y, 2.0, 100, 0);
  if (method == "1d") return ot::wasserstein_1d(x.col(0), y.col(0), 2.0);
  if (method == "gaussian") return std::sqrt(ot::frechet_distance(x, y));
  if (method == "mmd") return ot::mmd2_unbiased(x, y, ot::Kernel{ot::KernelKind::gaussian, 1.0});
  if (method == "mmd-linear") return ot::mmd2_linear(x, y, ot::Kernel{ot::KernelKind::gaussian, 1.0});
  if (method == "knn-kl") return ot::knn_kl_divergence(x, y, 1);
  throw odyn::InvalidArgument("unknown method '" + method + "'");
}

void write_csv(const std::string& path, const std::string& header, const std::vector<std::vector<double>>& rows) {
  odyn::io::write_file_atomically(path, [&](std::ostream& out) {
    out << header << '\n';
    for (const auto& row : rows) {
      for (std::size_t j = 0; j < row.size(); ++j) out << (j ? "," : "") << row[j];
      out << '\n';
    }
  });
}

int clouds(Eigen::Index n, std::uint64_t seed, const std::string& out) {
  const GaussianPair g;
  std::mt19937_64 rng(seed);
  odyn::io::write_npy(out + "/p.npy", g.sample(n, false, rng));
  odyn::io::write_npy(out + "/q.npy", g.sample(n, true, rng));
  std::printf("wrote %s/p.npy and %s/q.npy: %ld points each from N(m1, S1) and N(m2, S2)\n", out.c_str(),
              out.c_str(), static_cast<long>(n));
  std::printf("closed forms: W_2 = %.6f, sliced W_2 = %.6f, KL(P || Q) = %.6f\n",
              ot::bures_wasserstein(g.m1, g.s1, g.m2, g.s2), g.sliced_w2(), ot::gaussian_kl(g.m1, g.s1, g.m2, g.s2));
  return 0;
}

// Mean absolute error over seeds against the closed form, per estimator and n.
int bias(const std::vector<long>& sizes, int seeds, const std::string& out) {
  const GaussianPair g;
  const double w2 = ot::bures_wasserstein(g.m1, g.s1, g.m2, g.s2), sw2 = g.sliced_w2();
  const double kl = ot::gaussian_kl(g.m1, g.s1, g.m2, g.s2);
  struct Row {
    const char* name;
    double truth;
    long max_n;  // the exact solver is quadratic in memory and superquadratic in time
    std::function<double(const Matrix&, const Matrix&)> f;
  };
  const std::vector<Row> estimators = {
      {"exact W_2", w2, 4000, [](const Matrix& x, const Matrix& y) { return estimate("exact", x, y); }},
      {"Gaussian fit W_2", w2, 100000000, [](const Matrix& x, const Matrix& y) { return estimate("gaussian", x, y); }},
      {"sliced W_2 (500 dirs)", sw2, 1000000,
       [](const Matrix& x, const Matrix& y) { return ot::sliced_wasserstein(x, y, 2.0, 500, 1); }},
      {"kNN KL (k = 1)", kl, 10000000, [](const Matrix& x, const Matrix& y) { return ot::knn_kl_divergence(x, y, 1); }},
  };
  std::printf("closed forms: W_2 = %.6f, sliced W_2 = %.6f, KL = %.6f; %d seeds per n\n\n", w2, sw2, kl, seeds);
  std::printf("| n |");
  for (const auto& e : estimators) std::printf(" %s: mean error |", e.name);
  std::printf("\n|---|");
  for (std::size_t i = 0; i < estimators.size(); ++i) std::printf("---|");
  std::printf("\n");
  std::vector<std::vector<double>> rows;
  std::vector<std::vector<double>> curves(estimators.size());
  std::vector<double> log_n;
  for (long n : sizes) {
    std::vector<double> row{static_cast<double>(n)};
    std::printf("| %ld |", n);
    for (std::size_t e = 0; e < estimators.size(); ++e) {
      if (n > estimators[e].max_n) {
        row.push_back(NAN);
        curves[e].push_back(NAN);
        std::printf(" — |");
        continue;
      }
      double err = 0.0;
      for (int s = 0; s < seeds; ++s) {
        std::mt19937_64 rng(1000 * s + 17);
        const Matrix x = g.sample(n, false, rng), y = g.sample(n, true, rng);
        err += std::abs(estimators[e].f(x, y) - estimators[e].truth) / seeds;
      }
      row.push_back(err);
      curves[e].push_back(err);
      std::printf(" %.4f |", err);
    }
    std::printf("\n");
    std::fflush(stdout);
    rows.push_back(row);
    log_n.push_back(std::log10(static_cast<double>(n)));
  }
  write_csv(out + "/bias.csv", "n,exact_w2,gaussian_w2,sliced_w2,knn_kl", rows);
  odyn::io::Plot plot;
  plot.set_title("Error against the closed form, two Gaussian samples");
  plot.set_labels("log10 n", "mean absolute error");
  plot.set_log_y(true);
  for (std::size_t e = 0; e < estimators.size(); ++e) plot.add_line(log_n, curves[e], estimators[e].name);
  plot.save(out + "/bias.png");
  std::printf("\nwrote %s/bias.csv and %s/bias.png\n", out.c_str(), out.c_str());
  return 0;
}

// Wall time of one estimate per method and n (the median of `repeats`), up to each method's size cap.
int scaling(const std::vector<long>& sizes, int repeats, const std::string& out) {
  const GaussianPair g;
  struct Method {
    const char* name;
    long max_n;
  };
  const std::vector<Method> methods = {{"exact", 10000},    {"sinkhorn", 4000}, {"sliced", 100000},
                                       {"1d", 1000000},    {"gaussian", 1000000}, {"mmd", 30000},
                                       {"mmd-linear", 1000000}, {"knn-kl", 1000000}};
  std::vector<std::vector<double>> rows;
  std::vector<std::vector<double>> xs(methods.size()), ys(methods.size());
  std::printf("| method | n | seconds (median of %d) |\n|---|---|---|\n", repeats);
  for (std::size_t k = 0; k < methods.size(); ++k) {
    for (long n : sizes) {
      if (n > methods[k].max_n) continue;
      std::mt19937_64 rng(n);
      const Matrix x = g.sample(n, false, rng), y = g.sample(n, true, rng);
      std::vector<double> t;
      for (int r = 0; r < repeats; ++r) {
        const auto start = std::chrono::steady_clock::now();
        volatile double v = estimate(methods[k].name, x, y);
        (void)v;
        t.push_back(seconds_since(start));
      }
      std::nth_element(t.begin(), t.begin() + t.size() / 2, t.end());
      const double median = t[t.size() / 2];
      std::printf("| %s | %ld | %.4g |\n", methods[k].name, n, median);
      std::fflush(stdout);
      rows.push_back({static_cast<double>(k), static_cast<double>(n), median});
      xs[k].push_back(std::log10(static_cast<double>(n)));
      ys[k].push_back(median);
    }
  }
  write_csv(out + "/scaling.csv", "method_index,n,seconds", rows);
  odyn::io::Plot plot;
  plot.set_title("Wall time of one estimate (2-D Gaussian samples, one thread)");
  plot.set_labels("log10 n", "seconds");
  plot.set_log_y(true);
  for (std::size_t k = 0; k < methods.size(); ++k) plot.add_line(xs[k], ys[k], methods[k].name);
  plot.save(out + "/scaling.png");
  std::printf("\nwrote %s/scaling.csv and %s/scaling.png (method_index follows the table's order)\n", out.c_str(),
              out.c_str());
  return 0;
}

// The W-divergence's dependence on its sampling distribution r: P = N(0, I), Q = N((1.5, 0), I) and a
// second sample of P, 100 points each in 2-D; 256 features; k = 2, p = 6.
int critic() {
  std::mt19937_64 rng(11);
  std::normal_distribution<double> normal;
  const auto sample = [&](double shift) {
    Matrix s(100, 2);
    for (Eigen::Index i = 0; i < s.rows(); ++i) s.row(i) << shift + normal(rng), normal(rng);
    return s;
  };
  const Matrix p = sample(0.0), q = sample(1.5), p2 = sample(0.0);
  std::printf("W_{2,6} with real-fake interpolates, against the number of r points\n\n");
  std::printf("| r points | P vs Q (shift 1.5) | P vs a second sample of P |\n|---|---|---|\n");
  for (Eigen::Index r : {200, 2000, 8000}) {
    ot::CriticOptions o;
    o.r_points = r;
    std::printf("| %ld | %.4f | %.4f |\n", static_cast<long>(r), ot::wasserstein_divergence(p, q, 2.0, 6.0,
                ot::CriticSampling::real_fake_interpolates, o).value,
                ot::wasserstein_divergence(p, p2, 2.0, 6.0, ot::CriticSampling::real_fake_interpolates, o).value);
    std::fflush(stdout);
  }
  std::printf("\nW_{2,6} of P vs Q for the six sampling strategies of r (default r points)\n\n");
  std::printf("| strategy | value | left_out |\n|---|---|---|\n");
  const std::pair<const char*, ot::CriticSampling> strategies[] = {
      {"real-fake interpolates", ot::CriticSampling::real_fake_interpolates},
      {"real-real / fake-fake interpolates", ot::CriticSampling::real_real_fake_fake_interpolates},
      {"pooled interpolates", ot::CriticSampling::pooled_interpolates},
      {"pooled (raw)", ot::CriticSampling::pooled},
      {"fake (raw Q)", ot::CriticSampling::fake},
      {"real (raw P)", ot::CriticSampling::real}};
  for (const auto& [name, sampling] : strategies) {
    const ot::CriticResult r = ot::wasserstein_divergence(p, q, 2.0, 6.0, sampling);
    std::printf("| %s | %.4g | %.2g |\n", name, r.value, r.left_out);
    std::fflush(stdout);
  }
  return 0;
}

int memory(const std::string& method, long n) {
  const GaussianPair g;
  std::mt19937_64 rng(n);
  const Matrix x = g.sample(n, false, rng), y = g.sample(n, true, rng);
  const double before = peak_rss_mib();
  const auto start = std::chrono::steady_clock::now();
  const double v = estimate(method, x, y);
  std::printf("%s n = %ld: value %.6g, %.3g s, peak RSS %.0f MiB (%.0f MiB before the estimate)\n", method.c_str(), n, v,
              seconds_since(start), peak_rss_mib(), before);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Experiments on odyn's transport estimators: bias against closed forms, time and memory vs n"};
  app.require_subcommand(1);
  std::string out = ".", method;
  long n = 1000;
  int seeds = 5, repeats = 3;
  std::uint64_t seed = 0;
  std::vector<long> sizes;

  CLI::App* c = app.add_subcommand("clouds", "Write two Gaussian samples as .npy and print their closed forms");
  c->add_option("--n", n, "Points per sample")->check(CLI::Range(2L, 100000000L))->capture_default_str();
  c->add_option("--seed", seed, "Random seed")->capture_default_str();
  c->add_option("--out", out, "Output directory")->check(CLI::ExistingDirectory)->capture_default_str();

  CLI::App* b = app.add_subcommand("bias", "Mean error against the Gaussian closed forms vs n (CSV, PNG)");
  b->add_option("--sizes", sizes, "Sample sizes (default 100 200 400 800 1600)");
  b->add_option("--seeds", seeds, "Seeds per size")->check(CLI::Range(1, 1000))->capture_default_str();
  b->add_option("--out", out, "Output directory")->check(CLI::ExistingDirectory)->capture_default_str();

  CLI::App* s = app.add_subcommand("scaling", "Wall time vs n of every estimator (CSV, log-log PNG)");
  s->add_option("--sizes", sizes, "Sample sizes (default 1000 2000 4000 10000 30000 100000 1000000)");
  s->add_option("--repeats", repeats, "Runs per point (median)")->check(CLI::Range(1, 100))->capture_default_str();
  s->add_option("--out", out, "Output directory")->check(CLI::ExistingDirectory)->capture_default_str();

  CLI::App* m = app.add_subcommand("memory", "Peak resident memory of one estimate");
  m->add_option("--method", method, "exact, exact-matrix, sinkhorn, sliced, 1d, gaussian, mmd, mmd-linear, knn-kl")
      ->required();
  m->add_option("--n", n, "Points per sample")->check(CLI::Range(2L, 100000000L))->capture_default_str();

  CLI::App* w = app.add_subcommand("critic", "W_{2,6} against the size and the strategy of its r sample");

  try {
    app.parse(argc, argv);
    if (w->parsed()) return critic();
    for (long size : sizes) {
      if (size < 2) throw odyn::InvalidArgument("--sizes must be at least 2");
    }
    if (c->parsed()) return clouds(n, seed, out);
    if (b->parsed()) return bias(sizes.empty() ? std::vector<long>{100, 200, 400, 800, 1600} : sizes, seeds, out);
    if (s->parsed()) {
      return scaling(sizes.empty() ? std::vector<long>{1000, 2000, 4000, 10000, 30000, 100000, 1000000} : sizes, repeats,
                     out);
    }
    return memory(method, n);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::fprintf(stderr, "odyn_exp_transport: error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "odyn_exp_transport: error: %s\n", e.what());
    return 2;
  }
}
