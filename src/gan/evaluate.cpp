// Evaluation of a trained GAN run (anchors.md §4: PacGAN toy protocol, LeNet-feature metrics).
#include "odyn/gan/evaluate.hpp"

#include <ATen/CPUGeneratorImpl.h>

#include <filesystem>

#include "odyn/core/error.hpp"
#include "odyn/gan/classifier.hpp"
#include "odyn/gan/metrics.hpp"
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
  nlohmann::json result = {
      {"run", run_dir}, {"step", trainer.iteration()}, {"generator", trainer.uses_ema() ? "ema" : "generator"},
      {"samples", n},   {"data", config.data.name},    {"loss", config.loss_name}};

  if (!config.data.is_mnist()) {
    const ToyDistribution toy = toy_distribution(parse_toy_kind(config.data.name));
    auto truth_gen = cpu_generator(stream_seed(config.train.seed, Stream::eval_data));
    result.update(toy_evaluation(samples, toy.sample(n, truth_gen), toy.kind));
  } else {
    const std::string classifier = options.classifier.empty() ? config.eval.classifier : options.classifier;
    if (classifier.empty())
      throw InvalidArgument(
          "gan::evaluate_run: mnist needs a classifier (--classifier or eval.classifier; "
          "make one with `odyn classifier train`)");
    Lenet lenet = load_classifier(classifier);
    const std::string dir = config.data.dir.empty() ? io::default_mnist_dir() : config.data.dir;
    const ImageSet test = load_mnist(dir, io::MnistSplit::test, n);
    const Tensor test_features = lenet_features(lenet, test.images);
    result["classifier"] = classifier;
    result["generated"] = image_metrics_json(image_metrics(lenet, samples, test_features));
    // The real-data baseline: test images against as many training images.
    const Tensor train_images =
        trainer.training_data().slice(0, 0, std::min<int64_t>(n, trainer.training_data().size(0)));
    result["real_baseline"] =
        image_metrics_json(image_metrics(lenet, test.images, lenet_features(lenet, train_images)));
  }

  io::write_file_atomically((run / "eval.json").string(), [&](std::ostream& out) { out << result.dump(2) << '\n'; });
  write_sample_image((run / "samples" / "eval.png").string(), config, samples.slice(0, 0, std::min<int64_t>(n, 2000)),
                     trainer.training_data());
  return result;
}

}  // namespace odyn::gan
