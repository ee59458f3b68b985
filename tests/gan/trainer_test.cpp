// The GAN configuration, trainer (resume, divergence, checkpoints, metrics log) and evaluation.
#include <gtest/gtest.h>

#include <ATen/CPUGeneratorImpl.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "../test_util.hpp"
#include "odyn/core/error.hpp"
#include "odyn/gan/classifier.hpp"
#include "odyn/gan/config.hpp"
#include "odyn/gan/data.hpp"
#include "odyn/gan/evaluate.hpp"
#include "odyn/gan/metrics.hpp"
#include "odyn/gan/trainer.hpp"
#include "odyn/io/mnist.hpp"
#include "odyn/torch/tensor.hpp"

namespace gan = odyn::gan;
namespace fs = std::filesystem;
using odyn::test::read_file;
using odyn::test::scratch;

namespace {

// A small, fast toy configuration: 2 000 grid points, a 2 × 32 MLP pair, batches of 64.
const char* const kTinyToml = R"(
[data]
name = "ring"
samples = 2000
[model]
hidden = 32
depth = 2
[loss]
name = "wgan_div"
[train]
iterations = 40
batch = 64
ema = 0.9
checkpoint_every = 10
log_every = 10
eval_every = 20
[optimizer.generator]
lr = 1e-3
[optimizer.critic]
lr = 1e-3
[eval]
samples = 200
)";

gan::TrainConfig tiny_config() {
  return gan::parse_config(kTinyToml, "tiny.toml");
}

// A fresh, empty run directory.
std::string fresh_dir(const std::string& name) {
  const std::string dir = scratch(name);
  fs::remove_all(dir);
  return dir;
}

// The message of the odyn::InvalidArgument parse_config throws for `text`, or "no error".
std::string config_error(const std::string& text) {
  try {
    gan::parse_config(text, "bad.toml");
  } catch (const odyn::InvalidArgument& e) {
    return e.what();
  }
  return "no error";
}

std::vector<nlohmann::json> metrics_lines(const std::string& run_dir) {
  std::vector<nlohmann::json> lines;
  std::istringstream in(read_file(run_dir + "/metrics.jsonl"));
  for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

void expect_same_parameters(torch::nn::Module& a, torch::nn::Module& b) {
  const auto pa = a.named_parameters(), pb = b.named_parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (const auto& item : pa) EXPECT_TRUE(torch::equal(item.value(), pb[item.key()])) << item.key();
}

class GanTrainer : public ::testing::Test {
 protected:
  void SetUp() override { odyn::torch::set_num_threads(1); }
};

}  // namespace

TEST_F(GanTrainer, ConfigDefaults) {
  const gan::TrainConfig c = gan::parse_config("", "empty.toml");
  EXPECT_EQ(c.data.name, "grid");
  EXPECT_EQ(c.data.samples, 100000);
  EXPECT_EQ(c.model.kind, "mlp");
  EXPECT_EQ(c.model.latent_dim, 2);
  EXPECT_EQ(c.model.hidden, 256);
  EXPECT_EQ(c.loss.kind, gan::LossKind::wgan_div);
  EXPECT_EQ(c.train.iterations, 20000);
  EXPECT_EQ(c.train.batch, 256);
  EXPECT_EQ(c.train.critic_steps, 1);
  EXPECT_EQ(c.train.lr_decay, "none");
  EXPECT_EQ(c.generator_optimizer.name, "adam");
  EXPECT_EQ(c.eval.samples, 2000);

  const gan::TrainConfig m = gan::parse_config("[data]\nname = \"mnist\"\n", "mnist.toml");
  EXPECT_EQ(m.model.kind, "dcgan");
  EXPECT_EQ(m.model.generator_norm, gan::Norm::batch);
  EXPECT_EQ(m.eval.samples, 10000);

  // Presets, and explicit keys overriding them.
  const gan::TrainConfig su = gan::parse_config("[loss]\nname = \"wgan_div_official\"\nk = 3\n", "p.toml");
  EXPECT_EQ(su.loss.kind, gan::LossKind::wgan_div);
  EXPECT_EQ(su.loss.k, 3);
  EXPECT_EQ(su.loss.sampling, odyn::transport::CriticSampling::real_fake_interpolates);
}

TEST_F(GanTrainer, ConfigRoundTripsThroughToml) {
  gan::TrainConfig c = tiny_config();
  c.train.seed = 12345;
  c.loss_name = "gan_qp";
  c.loss.kind = gan::LossKind::gan_qp;
  c.loss.distance = gan::QpDistance::l2;
  c.generator_optimizer.lr = 3.3e-5;
  c.eval.classifier = "dir with \"quotes\"/lenet.pt";
  const std::string text = gan::to_toml(c);
  EXPECT_EQ(gan::to_toml(gan::parse_config(text, "round.toml")), text);
}

TEST_F(GanTrainer, ConfigErrorsNameFileAndKey) {
  const auto expect_error = [](const std::string& text, const std::string& fragment) {
    const std::string message = config_error(text);
    EXPECT_EQ(message.rfind("gan config bad.toml: ", 0), 0u) << message;
    EXPECT_NE(message.find(fragment), std::string::npos) << "expected '" << fragment << "' in: " << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  };
  expect_error("[data\nname = 1", "line 1");               // syntax
  expect_error("[bogus]\nx = 1\n", "bogus: unknown key");  // unknown table
  expect_error("[train]\nbatchsize = 3\n", "train.batchsize: unknown key");
  expect_error("[optimizer.critic]\nbeta = 0.5\n", "optimizer.critic.beta: unknown key");
  expect_error("[train]\nbatch = \"big\"\n", "train.batch: expected an integer");
  expect_error("[train]\nema = \"x\"\n", "train.ema: expected a number");
  expect_error("[data]\nname = 3\n", "data.name: expected a string");
  expect_error("data = 3\n", "data: expected a table");
  expect_error("[train]\nbatch = 1\n", "train.batch: must be >= 2");
  expect_error("[train]\nema = 1.0\n", "train.ema: must be in [0, 1)");
  expect_error("[train]\nseed = -1\n", "train.seed: must be >= 0");
  expect_error("[train]\ndevice = \"tpu\"\n", "train.device");
  expect_error("[loss]\nname = \"sgan\"\nlambda = 10\n", "loss.lambda: is not used by loss sgan");
  expect_error("[loss]\nname = \"wgan_gp\"\nsampling = \"pooled\"\n", "loss.sampling: is not used by loss wgan_gp");
  expect_error("[loss]\nname = \"gan_qp\"\np = 6\n", "loss.p: is not used by loss gan_qp");
  expect_error("[eval]\nsamples = 20000\n", "eval.samples: must be <= 10000 for toy data");
  expect_error("[train]\niterations = 2000000000\n", "train.iterations: must be in [1, 10^9]");
  expect_error("[train]\nlr_decay = \"cosine\"\n", "train.lr_decay");
  expect_error("[loss]\nname = \"lsgan\"\n", "loss.name: unknown loss 'lsgan'");
  expect_error("[loss]\np = 1\n", "loss.p: must be > 1");
  expect_error("[loss]\nsampling = \"everywhere\"\n", "loss.sampling");
  expect_error("[model]\ncritic_norm = \"batch\"\n", "model.critic_norm");
  expect_error("[model]\ninit = \"xavier\"\n", "model.init: unknown value 'xavier'");
  expect_error("[model]\nkind = \"dcgan\"\n", "model.kind: toy data needs the mlp model");
  expect_error("[optimizer.generator]\nname = \"lion\"\n", "optimizer.generator.name: unknown optimizer 'lion'");
  expect_error("[optimizer.generator]\nlr = -1\n", "optimizer.generator.lr: must be > 0");
  expect_error("[data]\nsamples = 10\n[train]\nbatch = 64\n", "train.batch: must be <= data.samples");
  expect_error("[eval]\nsamples = 1\n", "eval.samples");
  EXPECT_THROW(gan::load_config(scratch("missing.toml")), odyn::IoError);
}

// 2k uninterrupted steps equal k steps, a checkpoint, a new process state, and k more: bit for bit.
TEST_F(GanTrainer, ResumeIsBitIdentical) {
  gan::TrainConfig config = tiny_config();
  config.train.critic_steps = 2;
  config.train.lr_decay = "linear";
  config.train.eval_every = 0;
  const std::string straight_dir = fresh_dir("straight"), split_dir = fresh_dir("split");

  gan::Trainer straight(config, straight_dir);
  straight.run(false);
  ASSERT_EQ(straight.iteration(), 40);

  {
    // The first half, stopped by hand so that the schedule still spans 40 steps.
    gan::Trainer half(config, split_dir);
    for (int i = 0; i < 20; ++i) half.step();
    half.save_checkpoint();
  }
  gan::Trainer resumed(config, split_dir);
  resumed.run(true);
  ASSERT_EQ(resumed.iteration(), 40);

  expect_same_parameters(*straight.generator(), *resumed.generator());
  expect_same_parameters(*straight.critic(), *resumed.critic());
  expect_same_parameters(*straight.evaluation_generator(), *resumed.evaluation_generator());
  EXPECT_EQ(read_file(straight_dir + "/checkpoints/step-40/generator_optimizer.pt"),
            read_file(split_dir + "/checkpoints/step-40/generator_optimizer.pt"));

  // A run of 20 steps extended to 40 on resume (train.iterations may change) equals a run of 40.
  gan::TrainConfig whole_config = tiny_config(), half_config = tiny_config();
  whole_config.train.eval_every = half_config.train.eval_every = 0;
  half_config.train.iterations = 20;
  const std::string extended_dir = fresh_dir("extended"), whole_dir = fresh_dir("whole");
  gan::Trainer(half_config, extended_dir).run(false);
  gan::Trainer second(whole_config, extended_dir);
  second.run(true);
  gan::Trainer whole(whole_config, whole_dir);
  whole.run(false);
  expect_same_parameters(*second.generator(), *whole.generator());
}

// A NaN loss stops before any update: the last checkpoint stays `latest`, nothing newer is written.
TEST_F(GanTrainer, DivergenceKeepsLastGoodCheckpoint) {
  const std::string dir = fresh_dir("nan");
  gan::Trainer trainer(tiny_config(), dir);
  for (int i = 0; i < 3; ++i) trainer.step();
  const std::string good = trainer.save_checkpoint();
  {
    torch::NoGradGuard no_grad;
    trainer.critic()->parameters().front().fill_(std::nan(""));
  }
  try {
    trainer.step();
    FAIL() << "no TrainingDiverged";
  } catch (const gan::TrainingDiverged& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("loss d_loss is nan at iteration 4; last good checkpoint: " + good), std::string::npos)
        << message;
  }
  EXPECT_EQ(trainer.iteration(), 3);
  EXPECT_EQ(read_file(dir + "/checkpoints/latest"), "step-3\n");
  EXPECT_FALSE(fs::exists(dir + "/checkpoints/step-4"));

  // Non-finite weights are never saved, even when no loss has seen them yet.
  try {
    trainer.save_checkpoint();
    FAIL() << "no TrainingDiverged";
  } catch (const gan::TrainingDiverged& e) {
    EXPECT_NE(std::string(e.what()).find("non-finite weights at iteration 3; last good checkpoint: " + good),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(read_file(dir + "/checkpoints/latest"), "step-3\n");

  // An absurd learning rate blows the run up; run() reports it the same way.
  gan::TrainConfig config = tiny_config();
  config.critic_optimizer.lr = 1e30;
  config.generator_optimizer.lr = 1e30;
  config.train.checkpoint_every = 1;
  const std::string blown = fresh_dir("blown");
  gan::Trainer bad(config, blown);
  try {
    bad.run(false);
    FAIL() << "no TrainingDiverged";
  } catch (const gan::TrainingDiverged& e) {
    EXPECT_NE(std::string(e.what()).find("last good checkpoint: "), std::string::npos) << e.what();
    const int64_t last_good = bad.iteration();
    if (fs::exists(blown + "/checkpoints/latest")) {
      gan::Trainer reloaded(config, blown);
      ASSERT_TRUE(reloaded.load_latest_checkpoint());
      EXPECT_LE(reloaded.iteration(), last_good);
      for (const auto& p : reloaded.generator()->parameters()) EXPECT_TRUE(torch::isfinite(p).all().item<bool>());
      for (const auto& p : reloaded.critic()->parameters()) EXPECT_TRUE(torch::isfinite(p).all().item<bool>());
    }
  }
}

TEST_F(GanTrainer, CheckpointLayout) {
  const std::string dir = fresh_dir("layout");
  gan::Trainer trainer(tiny_config(), dir);
  trainer.run(false);
  EXPECT_EQ(read_file(dir + "/checkpoints/latest"), "step-40\n");
  std::vector<std::string> entries;
  for (const auto& e : fs::directory_iterator(dir + "/checkpoints")) entries.push_back(e.path().filename().string());
  std::sort(entries.begin(), entries.end());
  EXPECT_EQ(entries, (std::vector<std::string>{"latest", "step-30", "step-40"}));
  for (const char* file :
       {"generator.pt", "critic.pt", "ema.pt", "generator_optimizer.pt", "critic_optimizer.pt", "rng.pt", "state.json"})
    EXPECT_TRUE(fs::exists(dir + "/checkpoints/step-40/" + file)) << file;
  const auto state = nlohmann::json::parse(read_file(dir + "/checkpoints/step-40/state.json"));
  EXPECT_EQ(state.at("iteration"), 40);
  EXPECT_TRUE(fs::exists(dir + "/samples/step-40.png"));
  EXPECT_EQ(gan::to_toml(gan::load_config(dir + "/config.toml")), gan::to_toml(tiny_config()));
  // A second fresh run into the same directory is refused.
  EXPECT_THROW(gan::Trainer(tiny_config(), dir).run(false), odyn::InvalidArgument);
}

TEST_F(GanTrainer, MetricsLinesAndTruncationOnResume) {
  const std::string dir = fresh_dir("metrics");
  gan::TrainConfig half = tiny_config();
  half.train.iterations = 20;
  gan::Trainer(half, dir).run(false);
  // A crash after logging step 30 but before its checkpoint: that line must be replaced.
  std::ofstream(dir + "/metrics.jsonl", std::ios::app) << R"({"step":30,"time_s":0,"d_loss":123,"g_loss":0})"
                                                       << "\n";
  gan::Trainer(tiny_config(), dir).run(true);
  const auto lines = metrics_lines(dir);
  ASSERT_EQ(lines.size(), 4u);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(lines[i].at("step"), 10 * static_cast<int64_t>(i + 1));
    for (const char* key : {"time_s", "d_loss", "g_loss", "d_penalty", "d_w_estimate"})
      EXPECT_TRUE(lines[i].contains(key)) << key << " in " << lines[i].dump();
    EXPECT_EQ(lines[i].contains("eval"), i % 2 == 1) << lines[i].dump();
  }
  EXPECT_NE(lines[2].at("d_loss"), 123);
  EXPECT_EQ(lines[3].at("eval").at("modes_total"), 8);
}

// Loss parts are computed on request (run() asks on logged iterations only), and the optimizers
// keep each network's parameters in one flat buffer.
TEST_F(GanTrainer, PartsOnRequestAndFlatParameters) {
  gan::Trainer trainer(tiny_config(), fresh_dir("parts"));
  const gan::TrainStep with = trainer.step();
  for (const char* key : {"penalty", "score_real", "score_fake", "w_estimate"})
    EXPECT_EQ(with.d_parts.count(key), 1u) << key;
  EXPECT_EQ(with.g_parts.count("score_fake"), 1u);
  const gan::TrainStep without = trainer.step(/*with_parts=*/false);
  EXPECT_TRUE(without.d_parts.empty());
  EXPECT_TRUE(without.g_parts.empty());
  EXPECT_TRUE(std::isfinite(without.d_loss) && std::isfinite(without.g_loss));
  for (auto* net : {&*trainer.generator(), &*trainer.critic()}) {
    const auto params = net->parameters();
    for (std::size_t i = 1; i < params.size(); ++i)
      EXPECT_EQ(params[i].data_ptr<float>(), params[i - 1].data_ptr<float>() + params[i - 1].numel()) << i;
  }
}

// A short training run moves the generator's samples toward the ring (exact W2 drops).
TEST_F(GanTrainer, ToyRunLowersW2) {
  gan::TrainConfig config = tiny_config();
  config.train.iterations = 150;
  config.train.eval_every = 0;
  config.train.checkpoint_every = 1000;
  gan::Trainer trainer(config, fresh_dir("w2"));
  auto truth_gen = gan::cpu_generator(7);
  const torch::Tensor truth = gan::toy_distribution(gan::ToyKind::ring).sample(400, truth_gen);
  const auto w2_now = [&] {
    auto gen = gan::cpu_generator(8);
    return gan::exact_w2(trainer.sample(400, gen), truth);
  };
  const double before = w2_now();
  trainer.run(false);
  const double after = w2_now();
  EXPECT_LT(after, 0.7 * before) << "W2 before " << before << ", after " << after;
}

TEST_F(GanTrainer, EvaluateRunWritesEvalJson) {
  const std::string dir = fresh_dir("eval");
  EXPECT_THROW(gan::evaluate_run(dir), odyn::InvalidArgument);
  gan::Trainer(tiny_config(), dir).run(false);
  gan::EvalOptions options;
  options.samples = 300;
  const auto result = gan::evaluate_run(dir, options);
  EXPECT_EQ(result.at("generator"), "ema");
  EXPECT_EQ(result.at("step"), 40);
  EXPECT_EQ(result.at("modes_total"), 8);
  EXPECT_GE(result.at("w2").get<double>(), 0);
  EXPECT_EQ(nlohmann::json::parse(read_file(dir + "/eval.json")), result);
  EXPECT_TRUE(fs::exists(dir + "/samples/eval.png"));
  // The same evaluation twice gives the same numbers (seeded).
  EXPECT_EQ(gan::evaluate_run(dir, options).at("w2"), result.at("w2"));
}

TEST_F(GanTrainer, CudaRefusedWithoutCuda) {
  if (torch::cuda::is_available()) GTEST_SKIP() << "CUDA is available here";
  gan::TrainConfig config = tiny_config();
  config.train.device = "cuda";
  try {
    gan::Trainer trainer(config, fresh_dir("cuda"));
    FAIL() << "no error";
  } catch (const odyn::InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("CUDA is not available"), std::string::npos) << e.what();
  }
}

TEST_F(GanTrainer, TinyMnistRunAndEvaluation) {
  ODYN_REQUIRE_MNIST_OR_SKIP();
  const std::string dir = fresh_dir("mnist");
  gan::ClassifierTraining training;
  training.epochs = 1;
  training.limit = 512;
  training.progress = false;
  gan::Lenet lenet =
      gan::train_classifier(gan::load_mnist(odyn::io::default_mnist_dir(), odyn::io::MnistSplit::train, 512), training);
  const std::string lenet_path = scratch("lenet.pt");
  gan::save_classifier(lenet, lenet_path);

  gan::TrainConfig config = gan::parse_config(R"(
[data]
name = "mnist"
[model]
latent_dim = 8
hidden = 4
[loss]
name = "gan_qp"
[train]
iterations = 3
batch = 8
ema = 0.5
log_every = 1
)",
                                              "mnist.toml");
  config.eval.classifier = lenet_path;
  gan::Trainer(config, dir).run(false);
  EXPECT_TRUE(fs::exists(dir + "/samples/step-3.png"));
  gan::EvalOptions options;
  options.samples = 64;
  const auto result = gan::evaluate_run(dir, options);
  for (const char* part : {"generated", "real_baseline"})
    for (const char* key : {"confident", "class_kl", "classifier_score", "fld", "kid"})
      EXPECT_TRUE(result.at(part).contains(key)) << part << "." << key;
  EXPECT_LT(result.at("real_baseline").at("fld").get<double>(), result.at("generated").at("fld").get<double>());
}
