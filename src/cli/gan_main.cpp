// odyn-gan: the GAN commands of odyn (odyn train | eval | classifier are handed over to it), kept
// apart so that the core commands do not load LibTorch. See docs/cli.md.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <iostream>
#include <string>

#include "app.hpp"
#include "odyn/config.hpp"
#include "odyn/core/error.hpp"
#include "odyn/gan/classifier.hpp"
#include "odyn/gan/config.hpp"
#include "odyn/gan/data.hpp"
#include "odyn/gan/evaluate.hpp"
#include "odyn/gan/trainer.hpp"
#include "odyn/io/mnist.hpp"
#include "odyn/torch/tensor.hpp"

namespace {

struct TrainArgs {
  std::string config, out, device;
  uint64_t seed = 0;
  int threads = 1;
  int64_t iterations = 0;
  bool seed_set = false, threads_set = false, iterations_set = false;  // given on the command line
  bool resume = false, quiet = false;
};

int run_train(const TrainArgs& a) {
  odyn::gan::TrainConfig config = odyn::gan::load_config(a.config);
  if (!a.device.empty()) config.train.device = a.device;
  if (a.seed_set) config.train.seed = a.seed;
  if (a.threads_set) config.train.threads = a.threads;
  if (a.iterations_set) config.train.iterations = a.iterations;
  odyn::gan::validate_config(config, a.config + " (with command-line options)");
  const std::string out = !a.out.empty() ? a.out
                                         : "runs/" + std::filesystem::path(a.config).stem().string() + "-seed" +
                                               std::to_string(config.train.seed);
  odyn::gan::Trainer trainer(config, out);
  const odyn::gan::ProgressFn progress = [](const std::string& line) { std::cerr << line << '\n'; };
  try {
    trainer.run(a.resume, a.quiet ? odyn::gan::ProgressFn{} : progress);
  } catch (const odyn::gan::TrainingDiverged& e) {
    odyn::cli::print_error("odyn train: training diverged: ", e.what());
    return 1;
  }
  std::cout << "trained " << trainer.iteration() << " steps; run directory: " << out << '\n';
  return 0;
}

struct EvalArgs {
  std::string run_dir, classifier, device;
  int64_t samples = 0;
  int threads = 0;  // 0: the run's train.threads
  int64_t refine_steps = 0;
  std::string sampler = "mala", space = "latent";
  double step_size = 0.01, temperature = 1;
  bool json = false;
};

void print_table(const nlohmann::json& j, const std::string& indent = "") {
  for (const auto& [key, value] : j.items()) {
    if (value.is_object()) {
      std::cout << indent << key << ":\n";
      print_table(value, indent + "  ");
    } else {
      std::cout << indent << key << " " << (value.is_string() ? value.get<std::string>() : value.dump()) << '\n';
    }
  }
}

int run_eval(const EvalArgs& a) {
  odyn::gan::EvalOptions options;
  options.samples = a.samples;
  options.classifier = a.classifier;
  options.device = a.device;
  options.threads = a.threads;
  options.refine_steps = a.refine_steps;
  options.sampler = a.sampler;
  options.space = a.space;
  options.step_size = a.step_size;
  options.temperature = a.temperature;
  const nlohmann::json result = odyn::gan::evaluate_run(a.run_dir, options);
  if (a.json) {
    std::cout << result.dump(2) << '\n';
  } else {
    print_table(result);
  }
  return 0;
}

struct ClassifierArgs {
  std::string out = "lenet.pt", model, data;
  int epochs = 3;
  uint64_t seed = 0;
  int64_t limit = 0;
};

std::string mnist_dir(const std::string& data) {
  return data.empty() ? odyn::io::default_mnist_dir() : data;
}

int run_classifier_train(const ClassifierArgs& a) {
  const std::string dir = mnist_dir(a.data);
  const odyn::gan::ImageSet train = odyn::gan::load_mnist(dir, odyn::io::MnistSplit::train, a.limit);
  odyn::gan::ClassifierTraining options;
  options.epochs = a.epochs;
  options.seed = a.seed;
  options.limit = a.limit;
  odyn::gan::Lenet net =
      odyn::gan::train_classifier(train, options, [](const std::string& line) { std::cout << line << std::endl; });
  odyn::gan::save_classifier(net, a.out);
  const odyn::gan::ImageSet test = odyn::gan::load_mnist(dir, odyn::io::MnistSplit::test);
  std::printf("test accuracy %.4f (%lld images); saved %s\n", odyn::gan::classifier_accuracy(net, test),
              static_cast<long long>(test.images.size(0)), a.out.c_str());
  return 0;
}

int run_classifier_test(const ClassifierArgs& a) {
  odyn::gan::Lenet net = odyn::gan::load_classifier(a.model);
  const odyn::gan::ImageSet test = odyn::gan::load_mnist(mnist_dir(a.data), odyn::io::MnistSplit::test);
  std::printf("test accuracy %.4f (%lld images)\n", odyn::gan::classifier_accuracy(net, test),
              static_cast<long long>(test.images.size(0)));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"odyn " ODYN_VERSION_STRING
               ": GAN training, evaluation and the MNIST classifier (odyn train, "
               "odyn eval, odyn classifier)"};
  app.name("odyn");
  app.set_version_flag("--version", std::string("odyn ") + ODYN_VERSION_STRING);
  int threads = 1;
  app.add_option("--threads", threads, "Threads for LibTorch (keep 1 on small machines)")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  auto* global_threads = app.get_option("--threads");
  app.parse_complete_callback([&] { odyn::torch::set_num_threads(threads); });

  int status = 0;
  TrainArgs train;
  auto* train_cmd = app.add_subcommand("train", "Train a GAN from a TOML configuration (experiments/gan/*.toml)");
  train_cmd->add_option("config", train.config, "The configuration file")->required();
  train_cmd->add_option("--out", train.out, "Run directory (default: runs/<config name>-seed<seed>)");
  train_cmd->add_option("--device", train.device, "cpu or cuda (overrides train.device)")
      ->check(CLI::IsMember({"cpu", "cuda"}));
  auto* seed = train_cmd->add_option("--seed", train.seed, "Seed (overrides train.seed)")
                   ->check(CLI::Range(uint64_t{0}, static_cast<uint64_t>(INT64_MAX)));
  auto* train_threads = train_cmd->add_option("--threads", train.threads, "LibTorch threads (overrides train.threads)")
                            ->check(CLI::Range(1, 1024));
  auto* iterations =
      train_cmd->add_option("--iterations", train.iterations, "Generator steps (overrides train.iterations)")
          ->check(CLI::PositiveNumber);
  train_cmd->add_flag("--resume", train.resume, "Continue from the run directory's latest checkpoint");
  train_cmd->add_flag("--quiet", train.quiet, "No progress lines");
  train_cmd->callback([&] {
    train.seed_set = seed->count() > 0;
    // train --threads, else the global --threads, else train.threads of the configuration.
    if (train_threads->count() == 0 && global_threads->count() > 0) train.threads = threads;
    train.threads_set = train_threads->count() > 0 || global_threads->count() > 0;
    train.iterations_set = iterations->count() > 0;
    status = run_train(train);
  });

  EvalArgs eval;
  auto* eval_cmd = app.add_subcommand("eval", "Evaluate a run's latest checkpoint (writes RUN/eval.json)");
  eval_cmd->add_option("run", eval.run_dir, "The run directory")->required();
  eval_cmd->add_option("--samples", eval.samples, "Generated samples (default: the run's eval.samples)")
      ->check(CLI::Range(int64_t{2}, int64_t{1000000}));
  eval_cmd->add_option("--classifier", eval.classifier, "MNIST: the LeNet file of odyn classifier train");
  eval_cmd->add_option("--device", eval.device, "cpu or cuda (default: the run's device)")
      ->check(CLI::IsMember({"cpu", "cuda"}));
  eval_cmd
      ->add_option("--refine-steps", eval.refine_steps,
                   "Also evaluate samples refined by this many Markov-chain steps on the critic's energy U = -D")
      ->check(CLI::Range(int64_t{0}, int64_t{100000}));
  eval_cmd->add_option("--sampler", eval.sampler, "mala or langevin")
      ->check(CLI::IsMember({"mala", "langevin"}))
      ->capture_default_str();
  eval_cmd->add_option("--space", eval.space, "latent (target exp(-U(G(z)))) or data (target exp(-U(x)))")
      ->check(CLI::IsMember({"latent", "data"}))
      ->capture_default_str();
  eval_cmd->add_option("--step-size", eval.step_size, "Chain step size epsilon")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  eval_cmd->add_option("--temperature", eval.temperature, "The chain targets exp(-U / temperature)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  eval_cmd->add_flag("--json", eval.json, "Print JSON instead of a table");
  eval_cmd->callback([&] {
    if (global_threads->count() > 0) eval.threads = threads;
    status = run_eval(eval);
  });

  ClassifierArgs classifier;
  auto* classifier_cmd = app.add_subcommand("classifier", "The LeNet MNIST classifier used by the image metrics");
  auto* classifier_train = classifier_cmd->add_subcommand("train", "Train it and report the test accuracy");
  classifier_train->add_option("--out", classifier.out, "Output file")->capture_default_str();
  classifier_train->add_option("--epochs", classifier.epochs, "Epochs")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  classifier_train->add_option("--seed", classifier.seed, "Seed")->capture_default_str();
  classifier_train->add_option("--data", classifier.data, "MNIST idx directory (default: odyn's data directory)");
  classifier_train->add_option("--limit", classifier.limit, "Train on the first N images only (0: all)")
      ->check(CLI::NonNegativeNumber);
  classifier_train->callback([&] { status = run_classifier_train(classifier); });
  auto* classifier_test = classifier_cmd->add_subcommand("test", "Report the test accuracy of a saved classifier");
  classifier_test->add_option("model", classifier.model, "The classifier file")->required();
  classifier_test->add_option("--data", classifier.data, "MNIST idx directory (default: odyn's data directory)");
  classifier_test->callback([&] { status = run_classifier_test(classifier); });

  return odyn::cli::run_app(app, argc, argv, status);
}
