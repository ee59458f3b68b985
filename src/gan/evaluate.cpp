// Evaluation of a trained GAN run (anchors.md §4: PacGAN toy protocol, LeNet-feature metrics).
#include "odyn/gan/evaluate.hpp"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <utility>
#include <vector>

#include "odyn/core/error.hpp"
#include "odyn/gan/classifier.hpp"
#include "odyn/gan/metrics.hpp"
#include "odyn/gan/ogan.hpp"
#include "odyn/gan/sampling.hpp"
#include "odyn/gan/trainer.hpp"
#include "odyn/io/atomic_file.hpp"
#include "odyn/io/mnist.hpp"

namespace odyn::gan {
namespace fs = std::filesystem;

namespace {

nlohmann::json image_metrics_json(const ImageMetrics& m) {
  return {{"confident", m.confident},
          {"class_kl", m.class_kl},
          {"classifier_score", m.classifier_score},
          {"fld", m.fld},
          {"kid", m.kid}};
}

// The metrics of `samples`: toy_evaluation's keys, or "generated" for mnist.
nlohmann::json sample_metrics(const TrainConfig& config, const Tensor& samples, int64_t n, Lenet* lenet,
                              const Tensor& test_features) {
  if (!config.data.is_mnist()) {
    const ToyDistribution toy = toy_distribution(parse_toy_kind(config.data.name));
    auto truth_gen = cpu_generator(stream_seed(config.train.seed, Stream::eval_data));
    return toy_evaluation(samples, toy.sample(n, truth_gen), toy.kind);
  }
  return {{"generated", image_metrics_json(image_metrics(*lenet, samples, test_features))}};
}

// Latent codes of the evaluation samples: the codes Trainer::sample draws from the eval stream.
Tensor evaluation_codes(const TrainConfig& config, int64_t n) {
  auto gen = cpu_generator(stream_seed(config.train.seed, Stream::eval));
  std::vector<Tensor> parts;
  for (int64_t start = 0; start < n; start += 1000)
    parts.push_back(
        ::torch::randn({std::min<int64_t>(1000, n - start), config.model.latent_dim}, gen, ::torch::kFloat32));
  return ::torch::cat(parts);
}

// The evaluation samples refined by options.sampler in options.space, from the evaluation codes;
// returns the refined samples (CPU) and the acceptance rate.
std::pair<Tensor, double> refined_samples(Trainer& trainer, const Tensor& codes, const EvalOptions& options) {
  ::torch::nn::Sequential g = trainer.evaluation_generator();
  g->eval();
  trainer.critic()->eval();
  const ::torch::Device device = training_device(trainer.config().train.device);
  const EnergyFn data_energy = [&](const Tensor& x) { return -trainer.scores(x) / options.temperature; };
  const bool latent = options.space == "latent";
  const EnergyFn energy =
      latent ? latent_energy([&](const Tensor& z) { return g->forward(z); }, data_energy) : data_energy;
  auto gen = cpu_generator(stream_seed(trainer.config().train.seed, Stream::eval) + 1);
  const LangevinOptions chain{options.refine_steps, options.step_size};
  std::vector<Tensor> parts;
  double accepted = 0;
  for (int64_t start = 0; start < codes.size(0); start += 1000) {
    const Tensor z = codes.slice(0, start, std::min<int64_t>(codes.size(0), start + 1000)).to(device);
    Tensor x0 = z;
    if (!latent) {
      ::torch::NoGradGuard no_grad;
      x0 = g->forward(z);
    }
    const ChainResult r = options.sampler == "mala" ? mala(energy, x0, chain, gen) : langevin(energy, x0, chain, gen);
    accepted += r.acceptance * static_cast<double>(z.size(0));
    ::torch::NoGradGuard no_grad;
    parts.push_back((latent ? g->forward(r.samples) : r.samples).cpu());
  }
  g->train();
  trainer.critic()->train();
  return {::torch::cat(parts), accepted / static_cast<double>(codes.size(0))};
}

// O-GAN's encoder checks: z_corr on the samples' codes, reconstructions of test data and images.
nlohmann::json ogan_evaluation(Trainer& trainer, const Tensor& codes, const Tensor& test_images,
                               const Tensor& test_labels, Lenet* lenet, const fs::path& run) {
  ::torch::NoGradGuard no_grad;
  ::torch::nn::Sequential g = trainer.evaluation_generator();
  ::torch::nn::Sequential& e = trainer.critic();
  g->eval();
  e->eval();
  const ::torch::Device device = training_device(trainer.config().train.device);
  const auto in_batches = [&](const Tensor& x, const std::function<Tensor(const Tensor&)>& f) {
    std::vector<Tensor> parts;
    for (int64_t start = 0; start < x.size(0); start += 1000)
      parts.push_back(f(x.slice(0, start, std::min<int64_t>(x.size(0), start + 1000)).to(device)).cpu());
    return ::torch::cat(parts);
  };
  const Tensor rho =
      in_batches(codes, [&](const Tensor& z) { return pearson_correlation(z, e->forward(g->forward(z))); });
  const auto reconstruct = [&](const Tensor& x) { return g->forward(standardize_codes(e->forward(x))); };
  const Tensor recon = in_batches(test_images, reconstruct);
  // G(E(x)) without the standardisation, for comparison (the post decodes N(E(x))).
  const Tensor raw = in_batches(test_images, [&](const Tensor& x) { return g->forward(e->forward(x)); });
  nlohmann::json result = {{"z_corr", rho.mean().item<double>()},
                           {"reconstruction_mse", (recon - test_images.cpu()).pow(2).mean().item<double>()},
                           {"reconstruction_mse_raw", (raw - test_images.cpu()).pow(2).mean().item<double>()}};
  if (lenet) {
    const Tensor predicted = in_batches(recon, [&](const Tensor& x) { return (*lenet)->forward(x.cpu()).argmax(1); });
    result["reconstruction_accuracy"] = predicted.eq(test_labels.cpu()).to(::torch::kDouble).mean().item<double>();
    // Rows of 8 test images above their reconstructions; 8 paths of 10 steps between code pairs.
    const int64_t k = std::min<int64_t>(32, test_images.size(0)) / 8 * 8;
    std::vector<Tensor> rows;
    for (int64_t i = 0; i < k; i += 8) {
      rows.push_back(test_images.slice(0, i, i + 8).cpu());
      rows.push_back(recon.slice(0, i, i + 8));
    }
    if (!rows.empty()) write_image_grid((run / "samples" / "reconstruction.png").string(), ::torch::cat(rows), 8);
    if (test_images.size(0) >= 16) {
      const Tensor c = standardize_codes(e->forward(test_images.slice(0, 0, 16).to(device)));
      const Tensor alpha = ::torch::linspace(0, 1, 10, c.options()).unsqueeze(1);
      std::vector<Tensor> paths;
      for (int64_t i = 0; i < 8; ++i) paths.push_back(g->forward((1 - alpha) * c[2 * i] + alpha * c[2 * i + 1]).cpu());
      write_image_grid((run / "samples" / "interpolation.png").string(), ::torch::cat(paths), 10);
    }
  }
  g->train();
  e->train();
  return result;
}

}  // namespace

nlohmann::json toy_evaluation(const Tensor& samples, const Tensor& truth, ToyKind kind) {
  nlohmann::json result = {{"w2", exact_w2(samples, truth)}};
  const ToyDistribution toy = toy_distribution(kind);
  if (toy.modes().size(0) > 0) {
    const ToyMetrics m = toy_metrics(samples, toy);
    result["modes_covered"] = m.modes_covered;
    result["modes_total"] = m.modes_total;
    result["high_quality"] = m.high_quality;
    result["reverse_kl"] = m.reverse_kl;
  }
  return result;
}

nlohmann::json evaluate_run(const std::string& run_dir, const EvalOptions& options) {
  if (options.samples < 0)
    throw InvalidArgument("gan::evaluate_run: samples must be >= 0, got " + std::to_string(options.samples));
  if (options.refine_steps < 0)
    throw InvalidArgument("gan::evaluate_run: refine_steps must be >= 0, got " + std::to_string(options.refine_steps));
  if (!(options.step_size > 0) || !std::isfinite(options.step_size) || !(options.temperature > 0) ||
      !std::isfinite(options.temperature))
    throw InvalidArgument("gan::evaluate_run: step_size and temperature must be finite and > 0");
  if (options.sampler != "mala" && options.sampler != "langevin")
    throw InvalidArgument("gan::evaluate_run: unknown sampler '" + options.sampler + "' (expected mala or langevin)");
  if (options.space != "latent" && options.space != "data")
    throw InvalidArgument("gan::evaluate_run: unknown space '" + options.space + "' (expected latent or data)");
  const fs::path run(run_dir);
  const std::string config_path = (run / "config.toml").string();
  if (!fs::exists(config_path))
    throw InvalidArgument("gan::evaluate_run: " + run_dir + " is not a run directory (no config.toml)");
  TrainConfig config = load_config(config_path);
  if (!options.device.empty()) config.train.device = options.device;
  if (options.threads > 0) config.train.threads = options.threads;
  const int64_t n = options.samples > 0 ? options.samples : config.eval.samples;
  if (!config.data.is_mnist() && n > kMaxToySamples)
    throw InvalidArgument("gan::evaluate_run: at most " + std::to_string(kMaxToySamples) +
                          " samples for toy data (the exact W2 grows faster than n^2), got " + std::to_string(n));

  Trainer trainer(config, run_dir);
  if (!trainer.load_latest_checkpoint())
    throw InvalidArgument("gan::evaluate_run: " + run_dir + " has no checkpoint (checkpoints/latest)");

  auto gen = cpu_generator(stream_seed(config.train.seed, Stream::eval));
  const Tensor samples = trainer.sample(n, gen);
  nlohmann::json result = {{"run", run_dir},
                           {"step", trainer.iteration()},
                           {"generator", !trainer.has_generator() ? "langevin"
                                         : trainer.uses_ema()     ? "ema"
                                                                  : "generator"},
                           {"samples", n},
                           {"data", config.data.name},
                           {"loss", config.loss_name}};

  Lenet lenet{nullptr};
  Tensor test_features;
  ImageSet test;
  if (config.data.is_mnist()) {
    const std::string classifier = options.classifier.empty() ? config.eval.classifier : options.classifier;
    if (classifier.empty())
      throw InvalidArgument(
          "gan::evaluate_run: mnist needs a classifier (--classifier or eval.classifier; "
          "make one with `odyn classifier train`)");
    lenet = load_classifier(classifier);
    const std::string dir = config.data.dir.empty() ? io::default_mnist_dir() : config.data.dir;
    test = load_mnist(dir, io::MnistSplit::test, n);
    test_features = lenet_features(lenet, test.images);
    result["classifier"] = classifier;
  }
  Lenet* classifier = config.data.is_mnist() ? &lenet : nullptr;
  result.update(sample_metrics(config, samples, n, classifier, test_features));
  if (config.data.is_mnist()) {
    // The real-data baseline: test images against as many training images.
    const Tensor train_images =
        trainer.training_data().slice(0, 0, std::min<int64_t>(n, trainer.training_data().size(0)));
    result["real_baseline"] =
        image_metrics_json(image_metrics(lenet, test.images, lenet_features(lenet, train_images)));
  }
  if (options.refine_steps > 0 && !trainer.has_generator())
    throw InvalidArgument(
        "gan::evaluate_run: an ebm run samples by Langevin chains already; refine_steps needs a generator");
  const Tensor codes =
      (options.refine_steps > 0 || config.loss.kind == LossKind::ogan) ? evaluation_codes(config, n) : Tensor();
  if (options.refine_steps > 0) {
    const auto [refined, acceptance] = refined_samples(trainer, codes, options);
    nlohmann::json block = {{"sampler", options.sampler},         {"space", options.space},
                            {"steps", options.refine_steps},      {"step_size", options.step_size},
                            {"temperature", options.temperature}, {"acceptance", acceptance}};
    block.update(sample_metrics(config, refined, n, classifier, test_features));
    result["refined"] = block;
    write_sample_image((run / "samples" / "eval-refined.png").string(), config,
                       refined.slice(0, 0, std::min<int64_t>(n, 2000)), trainer.training_data());
  }
  if (config.loss.kind == LossKind::ogan) {
    const Tensor images = config.data.is_mnist() ? test.images : trainer.training_data().slice(0, 0, n);
    result["ogan"] = ogan_evaluation(trainer, codes, images, test.labels, classifier, run);
  }

  io::write_file_atomically((run / "eval.json").string(), [&](std::ostream& out) { out << result.dump(2) << '\n'; });
  write_sample_image((run / "samples" / "eval.png").string(), config, samples.slice(0, 0, std::min<int64_t>(n, 2000)),
                     trainer.training_data());
  return result;
}

}  // namespace odyn::gan
