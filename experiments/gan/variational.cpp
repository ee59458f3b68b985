// The VAE and VIB experiments of seed-math §3, §6.6 and §6.7 on MNIST.
//
//   odyn_exp_variational vae --out runs/vae --beta 1 0.5 2 --epochs 100
//       one VAE (Kingma & Welling 2014: 784–500–20, tanh, Bernoulli decoder, dynamically binarised
//       MNIST) per β; per β the test −ELBO, rate, distortion and the k-sample importance-weighted
//       log-likelihood (Burda et al. 2016), all in nats; the summary is the rate–distortion curve.
//   odyn_exp_variational vib --out runs/vib --beta 0 1e-4 1e-3 1e-2 1e-1 --seeds 3 --epochs 200
//       one VIB classifier (Alemi et al. 2017: 784–1024–1024–(μ, logvar) K = 256, softmax decoder)
//       per (β, seed); the summary compares the mean ± s.e. test error with Alemi's Table 1.
//
// Each configuration lives in OUT/beta-<β>[/seed-<s>]: checkpoint.pt is written atomically after
// every epoch (--resume continues it), result.json atomically when the configuration is done; a
// configuration whose result.json exists is not trained again. The summary goes to stdout and to
// OUT/summary.json and OUT/summary.md (vae: also OUT/rate_distortion.png). Bad input: one line on stderr, exit
// status 2.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "odyn/core/error.hpp"
#include "odyn/gan/data.hpp"
#include "odyn/gan/trainer.hpp"
#include "odyn/gan/variational.hpp"
#include "odyn/io/atomic_file.hpp"
#include "odyn/io/mnist.hpp"
#include "odyn/io/plot.hpp"
#include "odyn/torch/tensor.hpp"

namespace fs = std::filesystem;
namespace gan = odyn::gan;
using nlohmann::json;
using Tensor = ::torch::Tensor;

namespace {

constexpr const char* kProgram = "odyn_exp_variational";

// Alemi et al. (2017), Table 1: MNIST test error (%) of the 784–1024–1024 network, K = 256.
constexpr double kAlemiVib = 1.13;       // VIB, β = 1e-3
constexpr double kAlemiBaseline = 1.38;  // deterministic baseline

struct Common {
  std::string out;
  std::vector<double> betas;
  int epochs = 0;
  int64_t batch = 100;
  double lr = 1e-3;
  double lr_decay = 1.0;
  int decay_every = 2;
  int64_t limit = 0, test_limit = 0;
  int threads = 1;
  std::string device = "cpu";
  std::string data;
  bool resume = false, quiet = false;
  bool reevaluate = false;  // vae: evaluate finished configurations again from their checkpoints
};

struct Summary {
  double mean = 0, standard_error = 0;
};

Summary summarize(const std::vector<double>& v) {
  Summary s;
  if (v.empty()) return s;
  for (double x : v) s.mean += x;
  s.mean /= static_cast<double>(v.size());
  if (v.size() > 1) {
    double ss = 0;
    for (double x : v) ss += (x - s.mean) * (x - s.mean);
    s.standard_error = std::sqrt(ss / static_cast<double>(v.size() - 1) / static_cast<double>(v.size()));
  }
  return s;
}

std::string fixed(double v, int digits) {
  if (!std::isfinite(v)) return "—";
  std::ostringstream s;
  s << std::fixed << std::setprecision(digits) << v;
  return s.str();
}

// "1", "0.5", "0.001", "1e-05": the β in directory names and tables.
std::string beta_name(double beta) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", beta);
  return buf;
}

std::string first_line(const std::string& s) {
  const auto end = s.find('\n');
  return end == std::string::npos ? s : s.substr(0, end);
}

json read_json(const fs::path& path) {
  std::ifstream in(path);
  try {
    return json::parse(in);
  } catch (const json::exception& e) {
    throw odyn::IoError(path.string() + ": not a result file (" + e.what() + "); delete it to rerun");
  }
}

void write_json(const fs::path& path, const json& j) {
  fs::create_directories(path.parent_path());
  odyn::io::write_file_atomically(path.string(), [&](std::ostream& o) { o << j.dump(2) << '\n'; });
}

json history_json(const gan::TrainingHistory& h) {
  json a = json::array();
  for (const auto& e : h.epochs)
    a.push_back({{"epoch", e.epoch},
                 {"train_loss", e.train_loss},
                 {"test", std::isfinite(e.test_value) ? json(e.test_value) : json(nullptr)},
                 {"seconds", e.seconds}});
  return a;
}

// Checks the options every configuration shares, before anything is trained.
void check_common(const Common& c) {
  std::set<std::string> names;
  for (double b : c.betas) {
    if (!std::isfinite(b) || b < 0)
      throw odyn::InvalidArgument("--beta values must be finite and >= 0, got " + beta_name(b));
    if (!names.insert(beta_name(b)).second) throw odyn::InvalidArgument("--beta " + beta_name(b) + " is given twice");
  }
  if (c.lr_decay <= 0 || c.lr_decay > 1) throw odyn::InvalidArgument("--lr-decay must be in (0, 1]");
}

// An unfinished run (checkpoint, no result) is continued only with --resume.
void check_unfinished(const std::vector<fs::path>& dirs, bool resume) {
  if (resume) return;
  for (const fs::path& d : dirs)
    if (!fs::exists(d / "result.json") && fs::exists(d / "checkpoint.pt"))
      throw odyn::InvalidArgument((d / "checkpoint.pt").string() +
                                  " holds an unfinished run: pass --resume to continue it (or delete it)");
}

gan::ImageSet load_split(const Common& c, odyn::io::MnistSplit split, int64_t limit, const ::torch::Device& device) {
  gan::ImageSet set = gan::load_mnist(c.data.empty() ? odyn::io::default_mnist_dir() : c.data, split, limit);
  set.images = set.images.to(device);
  set.labels = set.labels.to(device);
  return set;
}

gan::VariationalTraining training_options(const Common& c, double beta, uint64_t seed, const fs::path& dir) {
  gan::VariationalTraining o;
  o.epochs = c.epochs;
  o.batch = c.batch;
  o.lr = c.lr;
  o.lr_decay = c.lr_decay;
  o.decay_every = c.decay_every;
  o.beta = beta;
  o.seed = seed;
  o.limit = c.limit;
  o.checkpoint = (dir / "checkpoint.pt").string();
  o.resume = c.resume;
  return o;
}

// Digits (N, 784) in [0, 1] as a grid with `columns` per row (gan::write_image_grid takes [-1, 1]).
void write_digit_grid(const std::string& path, const Tensor& digits, int columns) {
  gan::write_image_grid(path, digits.to(::torch::kCPU, ::torch::kFloat32) * 2 - 1, columns);
}

// The aggregate posterior q(z) = (1/N) Σ N(μ(x_i), diag σ²(x_i)) over the test set: its covariance
// Cov(μ) + mean diag σ², the largest and the mean |off-diagonal correlation| (small: a factorised
// code, seed-math §3), and the active units, Cov_x(μ_u) > 0.01 (Burda et al. 2016).
json aggregate_posterior(gan::Vae& model, const Tensor& x_test) {
  ::torch::NoGradGuard no_grad;
  std::vector<Tensor> means, variances;
  for (int64_t i = 0; i < x_test.size(0); i += 1000) {
    const auto [mu, log_var] = model->encode(x_test.slice(0, i, std::min<int64_t>(x_test.size(0), i + 1000)));
    means.push_back(mu.to(::torch::kCPU, ::torch::kDouble));
    variances.push_back(log_var.exp().to(::torch::kCPU, ::torch::kDouble));
  }
  const Tensor mu = ::torch::cat(means), var = ::torch::cat(variances);
  const Tensor centred = mu - mu.mean(0);
  const Tensor mean_cov = centred.t().matmul(centred) / static_cast<double>(mu.size(0) - 1);
  const Tensor cov = mean_cov + ::torch::diag(var.mean(0));
  const Tensor sd = cov.diagonal().sqrt();
  const Tensor corr = cov / sd.unsqueeze(1) / sd.unsqueeze(0);
  const int64_t k = corr.size(0);
  const Tensor off = corr.masked_select(~::torch::eye(k, ::torch::TensorOptions().dtype(::torch::kBool))).abs();
  return {{"max_abs_offdiagonal_correlation", k > 1 ? off.max().item<double>() : 0.0},
          {"mean_abs_offdiagonal_correlation", k > 1 ? off.mean().item<double>() : 0.0},
          {"active_units", mean_cov.diagonal().gt(0.01).sum().item<int64_t>()},
          {"latent", k}};
}

// A cell of the summary table from result["aggregate_posterior"] ("–" in results written before it).
std::string aggregate_cell(const json& result, const char* key, int digits) {
  if (!result.contains("aggregate_posterior")) return "–";
  return fixed(result["aggregate_posterior"][key].get<double>(), digits);
}

// reconstructions.png: rows of 8 test digits (binarised) alternating with their reconstructions
// sigmoid(decode(μ)); samples.png: 64 digits sigmoid(decode(z)), z ~ N(0, I); interpolation.png:
// two pairs z1, z2 ~ N(0, I), each as a linear row and a variance-preserving row of 10 points.
void write_vae_images(gan::Vae& model, const Tensor& x_test, uint64_t seed, const fs::path& dir) {
  ::torch::NoGradGuard no_grad;
  const Tensor x = x_test.slice(0, 0, 32);
  const Tensor recon = ::torch::sigmoid(model->decode(model->encode(x).first));
  std::vector<Tensor> rows;
  for (int64_t r = 0; r < x.size(0); r += 8) {
    rows.push_back(x.slice(0, r, r + 8));
    rows.push_back(recon.slice(0, r, r + 8));
  }
  write_digit_grid((dir / "reconstructions.png").string(), ::torch::cat(rows), 8);
  auto gen = gan::cpu_generator(seed);
  const int64_t k = model->spec().latent;
  const auto device = x_test.device();
  const Tensor z = ::torch::randn({64, k}, gen).to(device);
  write_digit_grid((dir / "samples.png").string(), ::torch::sigmoid(model->decode(z)), 8);
  std::vector<Tensor> paths;
  for (int pair = 0; pair < 2; ++pair) {
    const Tensor z1 = ::torch::randn({k}, gen).to(device), z2 = ::torch::randn({k}, gen).to(device);
    for (bool vp : {false, true}) paths.push_back(gan::interpolate_latents(z1, z2, 10, vp));
  }
  write_digit_grid((dir / "interpolation.png").string(), ::torch::sigmoid(model->decode(::torch::cat(paths))), 10);
}

gan::VariationalLog progress(const Common& c, const std::string& prefix) {
  if (c.quiet) return {};
  return [prefix](const std::string& line) { std::cerr << prefix << line << std::endl; };
}

// ---- vae ------------------------------------------------------------------------------------

struct VaeArgs {
  int64_t latent = 20, hidden = 500;
  std::string activation = "tanh";
  uint64_t seed = 0;
  int64_t iw_samples = 100;
};

int run_vae(const Common& c, const VaeArgs& a) {
  const gan::VaeSpec spec{784, a.hidden, a.latent, gan::parse_activation(a.activation)};
  std::vector<fs::path> dirs;
  for (double b : c.betas) dirs.push_back(fs::path(c.out) / ("beta-" + beta_name(b)));
  check_unfinished(dirs, c.resume);
  odyn::torch::set_num_threads(c.threads);
  const ::torch::Device device = gan::training_device(c.device);

  gan::ImageSet train, test;
  Tensor x_test;
  json configs = json::array();
  std::ostringstream table;
  table << "| β | rate (nats) | distortion (nats) | −ELBO (nats) | IW ln p(x), k=" << a.iw_samples
        << " (nats) | active units | max \\|corr\\| of q(z) | epochs | train s "
           "|\n|---|---|---|---|---|---|---|---|---|\n";
  int diverged = 0;
  for (std::size_t i = 0; i < c.betas.size(); ++i) {
    const double beta = c.betas[i];
    const fs::path dir = dirs[i];
    const std::string name = "beta-" + beta_name(beta);
    json result;
    const bool finished = fs::exists(dir / "result.json");
    if (finished && !c.reevaluate) {
      result = read_json(dir / "result.json");
      if (!c.quiet) std::cerr << name << ": result.json exists, not trained again\n";
    } else {
      if (!train.images.defined()) {
        train = load_split(c, odyn::io::MnistSplit::train, c.limit, device);
        test = load_split(c, odyn::io::MnistSplit::test, c.test_limit, device);
        x_test = gan::binarized_test_set(test.images);
      }
      gan::VariationalTraining options = training_options(c, beta, a.seed, dir);
      // Re-evaluating a finished configuration loads its last checkpoint; nothing is trained.
      if (finished) options.resume = true;
      gan::VaeRun run;
      try {
        run = gan::train_vae(train, test, spec, options, progress(c, name + ": "));
      } catch (const gan::TrainingDiverged& e) {
        std::cerr << name << ": training diverged: " << first_line(e.what()) << '\n';
        ++diverged;
        configs.push_back({{"beta", beta}, {"dir", dir.string()}, {"diverged", first_line(e.what())}});
        continue;
      }
      const auto start = std::chrono::steady_clock::now();
      const gan::VaeEvaluation e = gan::evaluate_vae(run.model, x_test, a.iw_samples, a.seed);
      const double eval_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (beta == 1) write_vae_images(run.model, x_test, a.seed, dir);
      result = {
          {"model", "vae"},
          {"beta", beta},
          {"seed", a.seed},
          {"epochs", static_cast<int>(run.history.epochs.size())},
          {"spec", {{"hidden", spec.hidden}, {"latent", spec.latent}, {"activation", gan::to_string(spec.activation)}}},
          {"batch", c.batch},
          {"lr", c.lr},
          {"training_images", train.images.size(0)},
          {"test_images", e.images},
          {"test_binarization_seed", gan::kTestBinarizationSeed},
          {"negative_elbo", e.negative_elbo},
          {"rate", e.rate},
          {"distortion", e.distortion},
          {"iw_log_likelihood", std::isfinite(e.iw_log_likelihood) ? json(e.iw_log_likelihood) : json(nullptr)},
          {"iw_samples", e.iw_samples},
          {"aggregate_posterior", aggregate_posterior(run.model, x_test)},
          {"train_seconds", run.history.train_seconds()},
          {"eval_seconds", eval_s},
          {"threads", c.threads},
          {"device", c.device},
          {"units", "nats per image"},
          {"history", history_json(run.history)}};
      write_json(dir / "result.json", result);
      if (!c.quiet)
        std::cerr << name << ": test -ELBO " << fixed(e.negative_elbo, 2) << " nats (rate " << fixed(e.rate, 2)
                  << ", distortion " << fixed(e.distortion, 2) << "), IW(" << e.iw_samples << ") "
                  << fixed(e.iw_log_likelihood, 2) << '\n';
    }
    const double iw = result["iw_log_likelihood"].is_number() ? result["iw_log_likelihood"].get<double>() : NAN;
    table << "| " << beta_name(beta) << " | " << fixed(result["rate"].get<double>(), 2) << " | "
          << fixed(result["distortion"].get<double>(), 2) << " | " << fixed(result["negative_elbo"].get<double>(), 2)
          << " | " << fixed(iw, 2) << " | " << aggregate_cell(result, "active_units", 0) << " | "
          << aggregate_cell(result, "max_abs_offdiagonal_correlation", 3) << " | " << result["epochs"].get<int>()
          << " | " << fixed(result["train_seconds"].get<double>(), 1) << " |\n";
    configs.push_back({{"beta", beta}, {"dir", dir.string()}, {"result", result}});
  }
  // The rate–distortion curve of the finished configurations, in order of rate.
  std::vector<std::pair<double, double>> curve;
  for (const json& cfg : configs)
    if (cfg.contains("result"))
      curve.emplace_back(cfg["result"]["rate"].get<double>(), cfg["result"]["distortion"].get<double>());
  if (curve.size() >= 2) {
    std::sort(curve.begin(), curve.end());
    std::vector<double> rate, distortion;
    for (const auto& [r, d] : curve) {
      rate.push_back(r);
      distortion.push_back(d);
    }
    odyn::io::Plot plot(800, 600);
    plot.set_title("VAE on binarised MNIST: rate-distortion over beta");
    plot.set_labels("rate KL(q(z|x) || N(0, I)) (nats)", "distortion -ln p(x|z) (nats)");
    plot.add_line(rate, distortion, odyn::io::default_color(0), "test set");
    plot.add_points(rate, distortion, odyn::io::default_color(0));
    plot.save((fs::path(c.out) / "rate_distortion.png").string());
  }
  const json summary = {{"experiment", "vae"}, {"configurations", configs}};
  write_json(fs::path(c.out) / "summary.json", summary);
  const std::string md = "# VAE on binarised MNIST: rate–distortion per β\n\n" + table.str();
  odyn::io::write_file_atomically((fs::path(c.out) / "summary.md").string(), [&](std::ostream& o) { o << md; });
  std::cout << table.str();
  return diverged ? 1 : 0;
}

// ---- vib ------------------------------------------------------------------------------------

struct VibArgs {
  int seeds = 3;
  uint64_t first_seed = 0;
  int64_t latent = 256, hidden = 1024;
  int64_t samples = 12;
};

int run_vib(const Common& c, const VibArgs& a) {
  const gan::VibSpec spec{784, a.hidden, a.latent, 10};
  std::vector<fs::path> dirs;
  for (double b : c.betas)
    for (int k = 0; k < a.seeds; ++k)
      dirs.push_back(fs::path(c.out) / ("beta-" + beta_name(b)) / ("seed-" + std::to_string(a.first_seed + k)));
  check_unfinished(dirs, c.resume);
  odyn::torch::set_num_threads(c.threads);
  const ::torch::Device device = gan::training_device(c.device);

  gan::ImageSet train, test;
  Tensor x_test;
  json configs = json::array();
  std::ostringstream table;
  table << "| β | seeds | test error % (" << a.samples
        << "-sample avg) | 1 sample % | z = μ % | rate (nats) | Alemi et al. % | train s |\n"
           "|---|---|---|---|---|---|---|---|\n";
  int diverged = 0;
  std::size_t d = 0;
  for (double beta : c.betas) {
    std::vector<double> error, one, at_mean, rate, seconds;
    json runs = json::array();
    for (int k = 0; k < a.seeds; ++k, ++d) {
      const uint64_t seed = a.first_seed + static_cast<uint64_t>(k);
      const fs::path dir = dirs[d];
      const std::string name = "beta-" + beta_name(beta) + " seed-" + std::to_string(seed);
      json result;
      if (fs::exists(dir / "result.json")) {
        result = read_json(dir / "result.json");
        if (!c.quiet) std::cerr << name << ": result.json exists, not trained again\n";
      } else {
        if (!train.images.defined()) {
          train = load_split(c, odyn::io::MnistSplit::train, c.limit, device);
          test = load_split(c, odyn::io::MnistSplit::test, c.test_limit, device);
          x_test = gan::pixel_probabilities(test.images);
        }
        gan::VibRun run;
        try {
          run = gan::train_vib(train, test, spec, training_options(c, beta, seed, dir), progress(c, name + ": "));
        } catch (const gan::TrainingDiverged& e) {
          std::cerr << name << ": training diverged: " << first_line(e.what()) << '\n';
          ++diverged;
          runs.push_back({{"seed", seed}, {"dir", dir.string()}, {"diverged", first_line(e.what())}});
          continue;
        }
        const gan::VibEvaluation e = gan::evaluate_vib(run.model, x_test, test.labels, a.samples, seed);
        result = {{"model", "vib"},
                  {"beta", beta},
                  {"seed", seed},
                  {"epochs", static_cast<int>(run.history.epochs.size())},
                  {"spec", {{"hidden", spec.hidden}, {"latent", spec.latent}}},
                  {"batch", c.batch},
                  {"lr", c.lr},
                  {"lr_decay", c.lr_decay},
                  {"decay_every", c.decay_every},
                  {"input", "pixels in [0, 1]"},
                  {"test_images", e.images},
                  {"samples", e.samples},
                  {"test_error", e.error},
                  {"test_error_one_sample", e.error_one_sample},
                  {"test_error_mean", e.error_mean},
                  {"rate", e.rate},
                  {"rate_bits", e.rate / std::log(2.0)},
                  {"log_loss", e.log_loss},
                  {"train_seconds", run.history.train_seconds()},
                  {"threads", c.threads},
                  {"device", c.device},
                  {"history", history_json(run.history)}};
        write_json(dir / "result.json", result);
        if (!c.quiet)
          std::cerr << name << ": test error " << fixed(100 * e.error, 2) << " % (1 sample "
                    << fixed(100 * e.error_one_sample, 2) << " %, z = μ " << fixed(100 * e.error_mean, 2)
                    << " %), rate " << fixed(e.rate, 1) << " nats\n";
      }
      error.push_back(100 * result["test_error"].get<double>());
      one.push_back(100 * result["test_error_one_sample"].get<double>());
      at_mean.push_back(100 * result["test_error_mean"].get<double>());
      rate.push_back(result["rate"].get<double>());
      seconds.push_back(result["train_seconds"].get<double>());
      runs.push_back({{"seed", seed}, {"dir", dir.string()}, {"result", result}});
    }
    const Summary se = summarize(error), s1 = summarize(one), sm = summarize(at_mean), sr = summarize(rate),
                  st = summarize(seconds);
    const double alemi = beta == 0 ? kAlemiBaseline : beta == 1e-3 ? kAlemiVib : NAN;
    // mean ± s.e. over the seeds (the mean alone for one seed).
    auto pm = [n = error.size()](const Summary& s, int digits) {
      return n > 1 ? fixed(s.mean, digits) + " ± " + fixed(s.standard_error, digits) : fixed(s.mean, digits);
    };
    table << "| " << beta_name(beta) << (beta == 0 ? " (baseline)" : "") << " | " << error.size() << " | "
          << (error.empty() ? "—" : pm(se, 2)) << " | " << (one.empty() ? "—" : pm(s1, 2)) << " | "
          << (at_mean.empty() ? "—" : pm(sm, 2)) << " | " << (rate.empty() ? "—" : pm(sr, 1)) << " | "
          << fixed(alemi, 2) << " | " << (seconds.empty() ? "—" : fixed(st.mean, 1)) << " |\n";
    configs.push_back(
        {{"beta", beta},
         {"test_error_percent", {{"mean", se.mean}, {"standard_error", se.standard_error}, {"values", error}}},
         {"test_error_one_sample_percent", {{"mean", s1.mean}, {"standard_error", s1.standard_error}}},
         {"test_error_mean_percent", {{"mean", sm.mean}, {"standard_error", sm.standard_error}}},
         {"rate_nats", {{"mean", sr.mean}, {"standard_error", sr.standard_error}}},
         {"alemi_percent", std::isfinite(alemi) ? json(alemi) : json(nullptr)},
         {"runs", runs}});
  }
  const json summary = {{"experiment", "vib"},
                        {"reference", "Alemi et al. 2017, Table 1: VIB (β = 1e-3) 1.13 %, baseline 1.38 %"},
                        {"baseline", "β = 0: the same stochastic network without the KL term (noise injection)"},
                        {"configurations", configs}};
  write_json(fs::path(c.out) / "summary.json", summary);
  const std::string md = "# VIB on MNIST: test error per β (mean ± s.e. over seeds)\n\n" + table.str();
  odyn::io::write_file_atomically((fs::path(c.out) / "summary.md").string(), [&](std::ostream& o) { o << md; });
  std::cout << table.str();
  return diverged ? 1 : 0;
}

void add_common(CLI::App* cmd, Common& c, const std::vector<double>& default_betas, int default_epochs) {
  c.betas = default_betas;
  c.epochs = default_epochs;
  cmd->add_option("--out", c.out, "Output directory")->required();
  cmd->add_option("--beta", c.betas, "KL weights, one configuration each")->capture_default_str()->expected(1, -1);
  cmd->add_option("--epochs", c.epochs, "Training epochs")->check(CLI::Range(1, 1000000))->capture_default_str();
  cmd->add_option("--batch", c.batch, "Mini-batch size")
      ->check(CLI::Range(int64_t{1}, int64_t{60000}))
      ->capture_default_str();
  cmd->add_option("--lr", c.lr, "Adam learning rate")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--lr-decay", c.lr_decay,
                  "Multiply the learning rate by this every --decay-every epochs (Alemi: 0.97)")
      ->capture_default_str();
  cmd->add_option("--decay-every", c.decay_every, "Epochs between learning-rate decays")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  cmd->add_option("--limit", c.limit, "Train on the first N training images (0: all 60,000)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--test-limit", c.test_limit, "Evaluate on the first N test images (0: all 10,000)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--threads", c.threads, "LibTorch / BLAS threads")->check(CLI::Range(1, 256))->capture_default_str();
  cmd->add_option("--device", c.device, "cpu or cuda")->check(CLI::IsMember({"cpu", "cuda"}))->capture_default_str();
  cmd->add_option("--data", c.data, "MNIST directory (default: odyn's data directory)");
  cmd->add_flag("--resume", c.resume, "Continue unfinished configurations from their checkpoints");
  cmd->add_flag("--quiet", c.quiet, "No progress lines");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"VAE (Kingma & Welling 2014) and VIB (Alemi et al. 2017) experiments on MNIST"};
  app.require_subcommand(1);
  Common vae_common, vib_common;
  VaeArgs vae_args;
  VibArgs vib_args;

  CLI::App* vae = app.add_subcommand("vae", "Train a VAE per β; report −ELBO, rate, distortion, IW log-likelihood");
  add_common(vae, vae_common, {1.0}, 100);
  vae->add_option("--latent", vae_args.latent, "Latent size K")
      ->check(CLI::Range(int64_t{1}, int64_t{4096}))
      ->capture_default_str();
  vae->add_option("--hidden", vae_args.hidden, "Hidden units H")
      ->check(CLI::Range(int64_t{1}, int64_t{65536}))
      ->capture_default_str();
  vae->add_option("--activation", vae_args.activation, "Hidden activation")
      ->check(CLI::IsMember({"tanh", "relu"}))
      ->capture_default_str();
  vae->add_option("--seed", vae_args.seed, "Seed of initialisation, batches and noise")->capture_default_str();
  vae->add_flag("--reevaluate", vae_common.reevaluate,
                "Evaluate finished configurations again from their last checkpoints (nothing is trained)");
  vae->add_option("--iw-samples", vae_args.iw_samples, "k of the importance-weighted log-likelihood (0: skip)")
      ->check(CLI::Range(int64_t{0}, int64_t{100000}))
      ->capture_default_str();

  CLI::App* vib = app.add_subcommand("vib", "Train a VIB classifier per (β, seed); report the test errors");
  add_common(vib, vib_common, {0.0, 1e-4, 1e-3, 1e-2, 1e-1}, 200);
  vib->add_option("--seeds", vib_args.seeds, "Seeds per β")->check(CLI::Range(1, 1000))->capture_default_str();
  vib->add_option("--first-seed", vib_args.first_seed, "The first seed; runs use first-seed, first-seed + 1, ...")
      ->capture_default_str();
  vib->add_option("--latent", vib_args.latent, "Latent size K")
      ->check(CLI::Range(int64_t{1}, int64_t{4096}))
      ->capture_default_str();
  vib->add_option("--hidden", vib_args.hidden, "Units of both hidden layers")
      ->check(CLI::Range(int64_t{1}, int64_t{65536}))
      ->capture_default_str();
  vib->add_option("--samples", vib_args.samples, "z samples averaged per test prediction")
      ->check(CLI::Range(int64_t{1}, int64_t{1000}))
      ->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::cerr << kProgram << ": error: " << first_line(e.what()) << '\n';
    return 2;
  }
  try {
    if (*vae) {
      check_common(vae_common);
      return run_vae(vae_common, vae_args);
    }
    check_common(vib_common);
    return run_vib(vib_common, vib_args);
  } catch (const std::exception& e) {
    std::cerr << kProgram << ": error: " << first_line(e.what()) << '\n';
    return 2;
  }
}
