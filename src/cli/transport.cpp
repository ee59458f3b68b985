// odyn transport: a distance or divergence between two point clouds (text or .npy files).
#include <chrono>
#include <cmath>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "commands.hpp"
#include "odyn/core/error.hpp"
#include "odyn/io/matrix_file.hpp"
#include "odyn/transport/common.hpp"
#include "odyn/transport/critic.hpp"
#include "odyn/transport/emd.hpp"
#include "odyn/transport/gaussian.hpp"
#include "odyn/transport/knn_kl.hpp"
#include "odyn/transport/mmd.hpp"
#include "odyn/transport/sinkhorn.hpp"
#include "odyn/transport/sliced.hpp"
#include "odyn/transport/wasserstein_1d.hpp"

namespace odyn::cli {
namespace {

using transport::Matrix;
using transport::Vector;

struct TransportOptions {
  std::string x_file, y_file, wx_file, wy_file, method, kernel = "gaussian", sampling = "real-fake";
  std::optional<double> p, k;
  double eps = 1e-2, bandwidth = 0.0, lambda = 10.0;
  int projections = 100, features = 256;
  long permutations = 0;
  std::uint64_t seed = 0;
  bool json = false;
};

// A weight file holds one column or one row of numbers.
Vector read_weights(const std::string& path) {
  const Matrix w = io::read_matrix(path);
  if (w.rows() != 1 && w.cols() != 1)
    throw InvalidArgument("transport: weight file " + path + " holds a " + std::to_string(w.rows()) + "x" +
                          std::to_string(w.cols()) + " matrix; one row or one column is needed");
  return Eigen::Map<const Vector>(w.data(), w.size());
}

transport::KernelKind kernel_kind(const std::string& name) {
  if (name == "gaussian") return transport::KernelKind::gaussian;
  if (name == "laplacian") return transport::KernelKind::laplacian;
  if (name == "imq") return transport::KernelKind::imq;
  return transport::KernelKind::energy;
}

transport::CriticSampling critic_sampling(const std::string& name) {
  if (name == "real-fake") return transport::CriticSampling::real_fake_interpolates;
  if (name == "real-real-fake-fake") return transport::CriticSampling::real_real_fake_fake_interpolates;
  if (name == "pooled-interpolates") return transport::CriticSampling::pooled_interpolates;
  if (name == "pooled") return transport::CriticSampling::pooled;
  if (name == "fake") return transport::CriticSampling::fake;
  return transport::CriticSampling::real;
}

// Options that only some methods read: naming one with another method is a mistake worth reporting.
void reject_unused(const CLI::App& cmd, const std::string& method) {
  static const std::pair<const char*, const char*> users[] = {
      {"--eps", "sinkhorn sinkhorn-div"},
      {"--projections", "sliced"},
      {"--kernel", "mmd"},
      {"--bandwidth", "mmd wdiv qpdiv"},
      {"--permutations", "mmd"},
      {"--k", "knn-kl wdiv"},
      {"--lambda", "qpdiv"},
      {"--sampling", "wdiv"},
      {"--features", "wdiv qpdiv"},
      {"--p", "exact sinkhorn sinkhorn-div sliced 1d wdiv"},
      {"--wx", "exact sinkhorn sinkhorn-div sliced 1d"},
      {"--wy", "exact sinkhorn sinkhorn-div sliced 1d"},
      {"--seed", "sliced mmd wdiv qpdiv"},
  };
  for (const auto& [option, methods] : users) {
    if (cmd.count(option) == 0) continue;
    const std::string list = std::string(" ") + methods + " ";
    if (list.find(" " + method + " ") == std::string::npos)
      throw InvalidArgument(std::string("transport: ") + option + " does not apply to --method " + method +
                            " (it is read by: " + methods + ")");
  }
}

void run(const CLI::App& cmd, const TransportOptions& o) {
  reject_unused(cmd, o.method);
  const Matrix x = io::read_matrix(o.x_file);
  const Matrix y = io::read_matrix(o.y_file);
  const Vector wx = o.wx_file.empty() ? Vector() : read_weights(o.wx_file);
  const Vector wy = o.wy_file.empty() ? Vector() : read_weights(o.wy_file);
  const std::string& m = o.method;

  nlohmann::json out;
  out["method"] = m;
  out["x"] = {{"file", o.x_file}, {"points", x.rows()}, {"dimension", x.cols()}};
  out["y"] = {{"file", o.y_file}, {"points", y.rows()}, {"dimension", y.cols()}};
  nlohmann::json& param = out["parameters"];
  std::string meaning;  // what "value" is, for the text output
  const auto start = std::chrono::steady_clock::now();

  if (m == "exact") {
    const double p = o.p.value_or(2.0);
    const transport::EmdResult r = transport::emd_points(x, y, wx, wy, p);
    if (r.status != transport::EmdStatus::optimal)
      throw Error("transport: the network simplex stopped at its iteration limit before optimality");
    out["value"] = std::pow(r.cost, 1.0 / p);
    out["cost"] = r.cost;
    out["iterations"] = r.iterations;
    param["p"] = p;
    meaning = "W_p, exact";
  } else if (m == "sinkhorn") {
    const double p = o.p.value_or(2.0);
    const transport::SinkhornResult r = transport::sinkhorn(wx, wy, transport::ground_cost(x, y, p), o.eps);
    if (!r.converged)
      throw Error("transport: Sinkhorn did not reach its marginal tolerance (error " +
                  std::to_string(r.marginal_error) + "); try a larger --eps");
    out["value"] = std::pow(r.transport_cost, 1.0 / p);
    out["cost"] = r.transport_cost;
    out["entropic_value"] = r.value;
    out["iterations"] = r.iterations;
    out["marginal_error"] = r.marginal_error;
    param["p"] = p;
    param["eps"] = o.eps;
    meaning = "<P_eps, C>^(1/p), entropic";
  } else if (m == "sinkhorn-div") {
    const double p = o.p.value_or(2.0);
    out["value"] = transport::sinkhorn_divergence(x, y, o.eps, wx, wy, p);
    param["p"] = p;
    param["eps"] = o.eps;
    meaning = "S_eps, debiased Sinkhorn divergence";
  } else if (m == "sliced") {
    const double p = o.p.value_or(2.0);
    out["value"] = transport::sliced_wasserstein(x, y, p, o.projections, o.seed, wx, wy);
    param["p"] = p;
    param["projections"] = o.projections;
    param["seed"] = o.seed;
    meaning = "SW_p, sliced";
  } else if (m == "1d") {
    if (x.cols() != 1 || y.cols() != 1)
      throw InvalidArgument("transport: --method 1d needs one coordinate per point; X has " +
                            std::to_string(x.cols()) + ", Y has " + std::to_string(y.cols()));
    const double p = o.p.value_or(1.0);
    out["value"] = transport::wasserstein_1d(x.col(0), y.col(0), p, wx, wy);
    param["p"] = p;
    meaning = "W_p, exact on the line";
  } else if (m == "gaussian") {
    transport::check_point_pair(x, y, "transport");
    transport::require(x.rows() >= 2 && y.rows() >= 2, "transport",
                       "--method gaussian needs at least 2 points per cloud");
    const transport::SampleMoments px = transport::sample_moments(x), py = transport::sample_moments(y);
    out["value"] = transport::bures_wasserstein(px.mean, px.covariance, py.mean, py.covariance);
    meaning = "W_2 between the fitted Gaussians";
  } else if (m == "frechet") {
    out["value"] = transport::frechet_distance(x, y);
    meaning = "Frechet distance (FID formula, squared W_2 of the fitted Gaussians)";
  } else if (m == "mmd") {
    transport::Kernel kernel{kernel_kind(o.kernel), o.bandwidth};
    if (kernel.kind != transport::KernelKind::energy && kernel.bandwidth == 0.0)
      kernel.bandwidth = transport::median_heuristic(x, y, 1000, o.seed);
    param["kernel"] = o.kernel;
    if (kernel.kind != transport::KernelKind::energy) param["bandwidth"] = kernel.bandwidth;
    if (o.permutations > 0) {
      const transport::MmdTest t = transport::mmd_permutation_test(x, y, kernel, o.permutations, o.seed);
      out["value"] = t.statistic;
      out["p_value"] = t.p_value;
      param["permutations"] = t.permutations;
      param["seed"] = o.seed;
    } else {
      out["value"] = transport::mmd2_unbiased(x, y, kernel);
    }
    meaning = "MMD^2, unbiased";
  } else if (m == "knn-kl") {
    const int k = static_cast<int>(o.k.value_or(1.0));
    if (o.k && (*o.k != k || k < 1)) throw InvalidArgument("transport: --k must be a positive integer for knn-kl");
    out["value"] = transport::knn_kl_divergence(x, y, k);
    param["k"] = k;
    meaning = "KL(P || Q), k-nearest-neighbour estimate";
  } else if (m == "wdiv" || m == "qpdiv") {
    transport::CriticOptions critic;
    critic.features = o.features;
    critic.bandwidth = o.bandwidth;
    critic.seed = o.seed;
    transport::CriticResult r;
    if (m == "wdiv") {
      const double k = o.k.value_or(2.0), p = o.p.value_or(6.0);
      r = transport::wasserstein_divergence(x, y, k, p, critic_sampling(o.sampling), critic);
      param["k"] = k;
      param["p"] = p;
      param["sampling"] = o.sampling;
      meaning = "W_{k,p} divergence, critic estimate";
    } else {
      r = transport::qp_divergence(x, y, o.lambda, transport::QpOptions{}, critic);
      param["lambda"] = o.lambda;
      meaning = "QP divergence, critic estimate";
    }
    out["value"] = r.value;
    out["iterations"] = r.iterations;
    out["converged"] = r.converged;
    param["features"] = o.features;
    param["seed"] = o.seed;
  }
  out["wall_seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  if (o.json) {
    std::cout << out.dump(2) << '\n';
  } else {
    std::cout << m << ": " << out["value"].get<double>() << "  (" << meaning << ")\n";
  }
}

}  // namespace

void add_transport_command(CLI::App& app, int& status) {
  auto o = std::make_shared<TransportOptions>();
  CLI::App* cmd = app.add_subcommand(
      "transport",
      "A Wasserstein distance or divergence between the point clouds in X and Y (text or .npy, one point per "
      "row). See docs/transport.md.");
  cmd->add_option("X", o->x_file, "First cloud (P): text or .npy, n x d")->required()->check(CLI::ExistingFile);
  cmd->add_option("Y", o->y_file, "Second cloud (Q): text or .npy, m x d")->required()->check(CLI::ExistingFile);
  cmd->add_option("--method", o->method,
                  "exact (network simplex W_p), sinkhorn (entropic W_p), sinkhorn-div (debiased S_eps), "
                  "sliced (SW_p), 1d (W_p on the line), gaussian (W_2 of fitted Gaussians), frechet (FID formula), "
                  "mmd (unbiased MMD^2), knn-kl (KL(P||Q)), wdiv (W_{k,p} divergence), qpdiv (QP divergence)")
      ->required()
      ->check(CLI::IsMember({"exact", "sinkhorn", "sinkhorn-div", "sliced", "1d", "gaussian", "frechet", "mmd", "knn-kl",
                             "wdiv", "qpdiv"}));
  cmd->add_option("--p", o->p,
                  "Exponent: ground cost |x - y|^p (default 2; 1 for 1d), or the gradient-norm power of wdiv "
                  "(default 6)");
  cmd->add_option("--eps", o->eps, "Entropic regularisation of sinkhorn and sinkhorn-div")->capture_default_str();
  cmd->add_option("--wx", o->wx_file, "Weights of X's points (one column; must sum to 1); uniform if absent")
      ->check(CLI::ExistingFile);
  cmd->add_option("--wy", o->wy_file, "Weights of Y's points (one column; must sum to 1); uniform if absent")
      ->check(CLI::ExistingFile);
  cmd->add_option("--seed", o->seed, "Seed of the random directions, permutations or critic features")
      ->check(kUnsignedInteger)
      ->capture_default_str();
  cmd->add_option("--projections", o->projections, "Directions of sliced")->check(CLI::Range(1, 100000000))
      ->capture_default_str();
  cmd->add_option("--kernel", o->kernel, "Kernel of mmd: gaussian, laplacian, imq or energy")
      ->check(CLI::IsMember({"gaussian", "laplacian", "imq", "energy"}))
      ->capture_default_str();
  cmd->add_option("--bandwidth", o->bandwidth, "Kernel or feature bandwidth; 0 = median heuristic")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--permutations", o->permutations, "mmd: run a permutation test with this many permutations")
      ->check(CLI::Range(1L, 100000000L));
  cmd->add_option("--k", o->k, "Neighbours of knn-kl (default 1), or the penalty weight of wdiv (default 2)");
  cmd->add_option("--lambda", o->lambda, "Scale lambda of qpdiv")->capture_default_str();
  cmd->add_option("--sampling", o->sampling,
                  "Where wdiv penalises the critic's gradient: real-fake, real-real-fake-fake, pooled-interpolates "
                  "(interpolates of pooled pairs), pooled, fake or real")
      ->check(CLI::IsMember({"real-fake", "real-real-fake-fake", "pooled-interpolates", "pooled", "fake", "real"}))
      ->capture_default_str();
  cmd->add_option("--features", o->features, "Random features of the wdiv/qpdiv critic")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  cmd->add_flag("--json", o->json, "Print JSON: value, parameters, iterations, wall time");
  cmd->callback([cmd, o, &status] {
    run(*cmd, *o);
    status = 0;
  });
}

}  // namespace odyn::cli
