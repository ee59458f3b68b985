// O-GAN's objective, MEG's mutual-information estimate, and both models in the trainer and the
// evaluation (include/odyn/gan/{ogan,meg}.hpp, trainer.hpp, evaluate.hpp).
#include <gtest/gtest.h>

#include <ATen/CPUGeneratorImpl.h>
#include <nlohmann/json.hpp>

#include <cmath>
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
#include "odyn/gan/meg.hpp"
#include "odyn/gan/ogan.hpp"
#include "odyn/gan/trainer.hpp"
#include "odyn/io/mnist.hpp"
#include "odyn/torch/tensor.hpp"

namespace {

namespace gan = odyn::gan;
namespace fs = std::filesystem;
using odyn::InvalidArgument;
using odyn::test::read_file;
using odyn::test::scratch;
using ::torch::Tensor;

const auto kF64 = ::torch::TensorOptions().dtype(::torch::kDouble);

class GanOgan : public ::testing::Test {
 protected:
  void SetUp() override { odyn::torch::set_num_threads(1); }
};
using GanMeg = GanOgan;

double pearson_by_hand(const std::vector<double>& a, const std::vector<double>& b) {
  const double n = static_cast<double>(a.size());
  double ma = 0, mb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    ma += a[i] / n;
    mb += b[i] / n;
  }
  double sab = 0, saa = 0, sbb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) * (a[i] - ma);
    sbb += (b[i] - mb) * (b[i] - mb);
  }
  return sab / std::sqrt(saa * sbb);
}

std::vector<double> row(const Tensor& t, int64_t i) {
  const Tensor r = t[i].contiguous();
  return std::vector<double>(r.data_ptr<double>(), r.data_ptr<double>() + r.numel());
}

TEST_F(GanOgan, PearsonCorrelationAndStandardisedCodes) {
  auto gen = gan::cpu_generator(1);
  const Tensor a = ::torch::randn({5, 7}, gen, kF64), b = ::torch::randn({5, 7}, gen, kF64);
  const Tensor rho = gan::pearson_correlation(a, b);
  for (int64_t i = 0; i < 5; ++i) EXPECT_NEAR(rho[i].item<double>(), pearson_by_hand(row(a, i), row(b, i)), 1e-12);
  // Invariant to the avg and std of either argument (the degrees of freedom O-GAN leaves to the score).
  EXPECT_TRUE(::torch::allclose(gan::pearson_correlation(a, 3 * b + 2), rho, 1e-12, 1e-12));
  EXPECT_TRUE(::torch::allclose(gan::pearson_correlation(a, -b), -rho, 1e-12, 1e-12));
  EXPECT_TRUE(::torch::allclose(gan::pearson_correlation(a, a), ::torch::ones({5}, kF64), 1e-12, 1e-12));
  // A constant row correlates 0 (Keras' l2_normalize guard), not NaN.
  const Tensor constant = ::torch::full({5, 7}, 4.0, kF64);
  EXPECT_TRUE(::torch::equal(gan::pearson_correlation(a, constant), ::torch::zeros({5}, kF64)));

  const Tensor n = gan::standardize_codes(3 * a + 1);
  EXPECT_TRUE(::torch::allclose(n.mean(1), ::torch::zeros({5}, kF64), 0, 1e-12));
  EXPECT_TRUE(::torch::allclose(n.pow(2).mean(1), ::torch::ones({5}, kF64), 0, 1e-12));
  EXPECT_TRUE(::torch::allclose(n, gan::standardize_codes(a), 0, 1e-12));
  EXPECT_TRUE(::torch::equal(gan::standardize_codes(constant), ::torch::zeros({5, 7}, kF64)));
  // -ρ and ||N(z) - N(ẑ)||² differ by constants: ||N(a) - N(b)||² / D = 2 - 2ρ.
  const Tensor distance = (gan::standardize_codes(a) - gan::standardize_codes(b)).pow(2).mean(1);
  EXPECT_TRUE(::torch::allclose(distance, 2 - 2 * rho, 0, 1e-12));
  EXPECT_THROW(gan::pearson_correlation(a, b.narrow(1, 0, 6)), InvalidArgument);
  EXPECT_THROW(gan::pearson_correlation(a.narrow(1, 0, 1), b.narrow(1, 0, 1)), InvalidArgument);
  EXPECT_THROW(gan::standardize_codes(::torch::zeros({4}, kF64)), InvalidArgument);
}

// A linear encoder E(x) = x W (2 -> 3) and generator G(z) = z A (3 -> 2) in float64.
struct LinearPair {
  Tensor w, a;
  LinearPair() {
    auto gen = gan::cpu_generator(2);
    w = ::torch::randn({2, 3}, gen, kF64).requires_grad_(true);
    a = ::torch::randn({3, 2}, gen, kF64).requires_grad_(true);
  }
  gan::Encoder encoder() const {
    return [w = w](const Tensor& x) { return x.matmul(w); };
  }
};

// The joint loss equals the reference's formula computed term by term, and its gradients are those
// of the two players' own objectives: the encoder's  mean(s(sg G(z)) - s_r) - λ2 ρ + λ1 qp  and the
// generator's  -mean s(G(z)) - λ2 ρ  (the stop-gradient copies make one backward pass give both).
TEST_F(GanOgan, JointLossValueAndPlayerGradients) {
  const LinearPair m;
  auto gen = gan::cpu_generator(3);
  const Tensor real = ::torch::randn({6, 2}, gen, kF64);
  const Tensor z = ::torch::randn({6, 3}, gen, kF64);
  gan::LossOptions o = gan::loss_preset("ogan");
  o.lambda = 0.25;
  o.correlation = 0.5;

  const Tensor fake = z.matmul(m.a);
  const gan::LossValue v = gan::ogan_loss(m.encoder(), real, z, fake, o);
  const auto [gw, ga] = [&] {
    auto g = ::torch::autograd::grad({v.loss}, {m.w, m.a});
    return std::make_pair(g[0], g[1]);
  }();

  // Term by term in doubles.
  const Tensor x_f = fake.detach();
  const Tensor s_r = real.matmul(m.w).mean(1).detach(), s_f = x_f.matmul(m.w).mean(1).detach();
  const Tensor codes = x_f.matmul(m.w).detach();
  double expected = 0;
  for (int64_t i = 0; i < 6; ++i) {
    const double t1 = s_r[i].item<double>() - s_f[i].item<double>();
    const double sq = (real[i] - x_f[i]).pow(2).mean().item<double>();
    expected += (-t1 + 0 - 0.5 * pearson_by_hand(row(z, i), row(codes, i)) + 0.25 * t1 * t1 / sq) / 6;
  }
  EXPECT_NEAR(v.loss.item<double>(), expected, 1e-12);
  EXPECT_NEAR(v.parts.at("z_corr").item<double>(), gan::pearson_correlation(z, codes).mean().item<double>(), 1e-12);

  // The players' objectives, each with explicit stop-gradients.
  const Tensor w_only = [&] {
    const Tensor sr = real.matmul(m.w).mean(1), sf = x_f.matmul(m.w).mean(1);
    const Tensor rho = gan::pearson_correlation(z, x_f.matmul(m.w));
    const Tensor sq = (real - x_f).pow(2).mean(1);
    const Tensor l = (sf - sr).mean() - 0.5 * rho.mean() + (0.25 * (sr - sf).pow(2) / sq).mean();
    return ::torch::autograd::grad({l}, {m.w})[0];
  }();
  const Tensor a_only = [&] {
    const Tensor f = z.matmul(m.a);
    const Tensor w = m.w.detach();
    const Tensor l = -f.matmul(w).mean(1).mean() - 0.5 * gan::pearson_correlation(z, f.matmul(w)).mean();
    return ::torch::autograd::grad({l}, {m.a})[0];
  }();
  EXPECT_TRUE(::torch::allclose(gw, w_only, 1e-10, 1e-12));
  EXPECT_TRUE(::torch::allclose(ga, a_only, 1e-10, 1e-12));
}

TEST_F(GanOgan, SquaredErrorCodeTermAndBadInput) {
  const LinearPair m;
  auto gen = gan::cpu_generator(4);
  const Tensor real = ::torch::randn({4, 2}, gen, kF64), z = ::torch::randn({4, 3}, gen, kF64);
  gan::LossOptions pearson = gan::loss_preset("ogan"), mse = pearson;
  mse.code = gan::CodeLoss::mse;
  const Tensor fake = z.matmul(m.a);
  const gan::LossValue vp = gan::ogan_loss(m.encoder(), real, z, fake, pearson);
  const gan::LossValue vm = gan::ogan_loss(m.encoder(), real, z, fake, mse);
  const Tensor codes = fake.detach().matmul(m.w.detach());
  const double code_mse = (z - codes).pow(2).mean().item<double>();
  const double rho = gan::pearson_correlation(z, codes).mean().item<double>();
  EXPECT_NEAR(vm.loss.item<double>() - vp.loss.item<double>(), 0.5 * code_mse + 0.5 * rho, 1e-12);
  EXPECT_NEAR(vm.parts.at("code_mse").item<double>(), code_mse, 1e-12);

  gan::LossOptions wrong = gan::loss_preset("wgan_div");
  EXPECT_THROW(gan::ogan_loss(m.encoder(), real, z, fake, wrong), InvalidArgument);
  EXPECT_THROW(gan::ogan_loss(m.encoder(), real, z.narrow(1, 0, 2), fake, pearson), InvalidArgument);
  EXPECT_THROW(gan::ogan_loss(m.encoder(), real.narrow(0, 0, 3), z, fake, pearson), InvalidArgument);
  const gan::Encoder scalar = [](const Tensor& x) { return x.sum(1, true); };
  EXPECT_THROW(gan::ogan_loss(scalar, real, z, fake, pearson), InvalidArgument);
  EXPECT_THROW(gan::ogan_loss({}, real, z, fake, pearson), InvalidArgument);
}

// I_JSD at a constant statistics network T = c is -softplus(-c) - softplus(c) (maximal, -2 log 2, at
// c = 0); trained, it separates dependent pairs (x = z: the optimum 2 JS - 2 log 2 is 0) from
// independent ones (optimum -2 log 2). Seeded, 400 Adam steps on batches of 128: bounds are wide.
TEST_F(GanMeg, JsdMutualInformation) {
  gan::ModelSpec spec;
  spec.latent_dim = 2;
  spec.data_dim = 2;
  spec.hidden = 32;
  spec.depth = 2;
  auto gen = gan::cpu_generator(5);
  {
    gan::StatisticsNetwork t(spec);
    ::torch::NoGradGuard no_grad;
    for (auto& p : t->parameters()) p.zero_();
    const Tensor x = ::torch::randn({16, 2}, gen), z = ::torch::randn({16, 2}, gen);
    EXPECT_NEAR(gan::jsd_mutual_information(t, x, z, gen).item<double>(), -2 * std::log(2.0), 1e-6);
    const Tensor bias = t->parameters().back();
    bias.fill_(1.5);
    const double c = 1.5;
    EXPECT_NEAR(gan::jsd_mutual_information(t, x, z, gen).item<double>(),
                -std::log1p(std::exp(-c)) - std::log1p(std::exp(c)), 1e-6);
  }
  const auto trained_estimate = [&](bool dependent) {
    gan::StatisticsNetwork t(spec);
    auto init = gan::cpu_generator(6);
    gan::initialize(*t, gan::Init::default_, init);
    ::torch::optim::Adam adam(t->parameters(), ::torch::optim::AdamOptions(1e-2));
    double last = 0;
    for (int step = 0; step < 400; ++step) {
      const Tensor z = ::torch::randn({128, 2}, gen);
      const Tensor x = dependent ? z.clone() : ::torch::randn({128, 2}, gen);
      const Tensor mi = gan::jsd_mutual_information(t, x, z, gen);
      adam.zero_grad();
      (-mi).backward();
      adam.step();
      last = 0.9 * last + 0.1 * mi.item<double>();
    }
    return last;
  };
  const double dependent = trained_estimate(true), independent = trained_estimate(false);
  EXPECT_GT(dependent, -0.5);
  EXPECT_LT(independent, -1.2);
  EXPECT_GE(independent, -2 * std::log(2.0) - 0.1);

  gan::StatisticsNetwork t(spec);
  EXPECT_THROW(gan::jsd_mutual_information(t, ::torch::zeros({1, 2}), ::torch::zeros({1, 2}), gen), InvalidArgument);
  EXPECT_THROW(gan::jsd_mutual_information(t, ::torch::zeros({4, 2}), ::torch::zeros({3, 2}), gen), InvalidArgument);
  gan::ModelSpec images = spec;
  images.kind = "dcgan";
  images.latent_dim = 5;
  images.hidden = 4;
  gan::StatisticsNetwork conv(images);
  EXPECT_EQ(conv->forward(::torch::zeros({3, 1, 28, 28}), ::torch::zeros({3, 5})).sizes(), (::torch::IntArrayRef{3}));
}

// A small toy configuration for the trainer tests: ring, MLP 2 × 32, batches of 64.
std::string tiny_toml(const std::string& loss_block, int latent_dim) {
  return R"(
[data]
name = "ring"
samples = 2000
[model]
hidden = 32
depth = 2
latent_dim = )" +
         std::to_string(latent_dim) + "\n" + loss_block + R"(
[train]
iterations = 30
batch = 64
ema = 0.9
checkpoint_every = 10
log_every = 10
[optimizer.generator]
lr = 1e-3
[optimizer.critic]
lr = 1e-3
[eval]
samples = 200
)";
}

std::string fresh_dir(const std::string& name) {
  const std::string dir = scratch(name);
  fs::remove_all(dir);
  return dir;
}

void expect_same_parameters(const ::torch::nn::Module& a, const ::torch::nn::Module& b) {
  const auto pa = a.named_parameters(), pb = b.named_parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (const auto& item : pa) EXPECT_TRUE(::torch::equal(item.value(), pb[item.key()])) << item.key();
}

std::string config_error(const std::string& text) {
  try {
    gan::parse_config(text, "bad.toml");
  } catch (const InvalidArgument& e) {
    return e.what();
  }
  return "no error";
}

TEST_F(GanOgan, ConfigKeysAndRoundTrip) {
  const gan::TrainConfig ogan = gan::parse_config(tiny_toml("[loss]\nname = \"ogan\"\ncorrelation = 0.3\n", 4), "o");
  EXPECT_EQ(ogan.loss.kind, gan::LossKind::ogan);
  EXPECT_EQ(ogan.loss.lambda, 0.25);
  EXPECT_EQ(ogan.loss.correlation, 0.3);
  const gan::TrainConfig meg = gan::parse_config(tiny_toml("[loss]\nname = \"meg\"\nentropy = 2.0\n", 2), "m");
  EXPECT_EQ(meg.loss.kind, gan::LossKind::energy);
  EXPECT_EQ(meg.loss.lambda, 0.1);
  EXPECT_EQ(meg.loss.entropy, 2);
  for (const auto* c : {&ogan, &meg})
    EXPECT_EQ(gan::to_toml(gan::parse_config(gan::to_toml(*c), "t")), gan::to_toml(*c));

  EXPECT_NE(config_error(tiny_toml("[loss]\nname = \"wgan_div\"\ncorrelation = 0.3\n", 4)).find("loss.correlation"),
            std::string::npos);
  EXPECT_NE(config_error(tiny_toml("[loss]\nname = \"ogan\"\nentropy = 1.0\n", 4)).find("loss.entropy"),
            std::string::npos);
  EXPECT_NE(config_error(tiny_toml("[loss]\nname = \"ogan\"\ncode = \"l1\"\n", 4)).find("loss.code"),
            std::string::npos);
  EXPECT_NE(config_error(tiny_toml("[loss]\nname = \"meg\"\nentropy = -1.0\n", 2)).find("loss.entropy"),
            std::string::npos);
  EXPECT_NE(config_error(tiny_toml("[loss]\nname = \"ogan\"\n", 2)).find("model.latent_dim"), std::string::npos);
  // ebm: its chain keys only, no EMA (there is no generator).
  EXPECT_NE(config_error(tiny_toml("[loss]\nname = \"ebm\"\n", 2)).find("train.ema"), std::string::npos);
  EXPECT_NE(config_error(tiny_toml("[loss]\nname = \"meg\"\nlangevin_steps = 3\n", 2)).find("loss.langevin_steps"),
            std::string::npos);
  std::string ebm = tiny_toml("[loss]\nname = \"ebm\"\nlangevin_step_size = 0.0\n", 2);
  ebm.replace(ebm.find("ema = 0.9"), 9, "ema = 0.0");
  EXPECT_NE(config_error(ebm).find("loss.langevin_step_size"), std::string::npos);
  ebm = tiny_toml("[loss]\nname = \"ebm\"\nbuffer_size = 50\nbuffer_reuse = 0.5\n", 2);
  ebm.replace(ebm.find("ema = 0.9"), 9, "ema = 0.0");
  const gan::TrainConfig ebm_config = gan::parse_config(ebm, "ebm.toml");
  EXPECT_EQ(ebm_config.loss.buffer_size, 50);
  EXPECT_EQ(gan::to_toml(gan::parse_config(gan::to_toml(ebm_config), "t")), gan::to_toml(ebm_config));
  std::string two_steps = tiny_toml("[loss]\nname = \"ogan\"\n", 4);
  two_steps.replace(two_steps.find("batch = 64"), 10, "batch = 64\ncritic_steps = 2");
  EXPECT_NE(config_error(two_steps).find("train.critic_steps"), std::string::npos);
}

// The three models train, log their parts, resume bit-identically (MEG's statistics network and its
// optimizer and the ebm's replay buffer are part of the checkpoint) and evaluate (O-GAN's encoder
// block; chains in the latent and the data space).
TEST_F(GanOgan, TrainerRunsResumesAndEvaluates) {
  struct Case {
    std::string name, loss;
    int latent;
    std::string part;
  };
  for (const Case& c :
       {Case{"ogan", "[loss]\nname = \"ogan\"\n", 4, "d_z_corr"}, Case{"meg", "[loss]\nname = \"meg\"\n", 2, "g_mi"},
        Case{"ebm", "[loss]\nname = \"ebm\"\nlangevin_steps = 5\nbuffer_size = 100\n", 2, "d_penalty"}}) {
    std::string text = tiny_toml(c.loss, c.latent);
    if (c.name == "ebm") text.replace(text.find("ema = 0.9"), 9, "ema = 0.0");
    const gan::TrainConfig config = gan::parse_config(text, c.name + ".toml");
    const std::string straight_dir = fresh_dir(c.name + "-straight"), split_dir = fresh_dir(c.name + "-split");
    gan::Trainer straight(config, straight_dir);
    straight.run(false);
    {
      gan::Trainer half(config, split_dir);
      for (int i = 0; i < 10; ++i) half.step();
      half.save_checkpoint();
    }
    gan::Trainer resumed(config, split_dir);
    resumed.run(true);
    expect_same_parameters(*straight.generator(), *resumed.generator());
    expect_same_parameters(*straight.critic(), *resumed.critic());
    if (c.name == "ebm") {
      EXPECT_FALSE(fs::exists(straight_dir + "/checkpoints/step-30/generator.pt"));
      EXPECT_THROW(straight.evaluation_generator(), InvalidArgument);
      const nlohmann::json eval = gan::evaluate_run(straight_dir);
      EXPECT_EQ(eval.at("generator"), "langevin");
      EXPECT_TRUE(eval.contains("w2"));
      // The evaluation draws the same chains from the same checkpoint.
      EXPECT_EQ(gan::evaluate_run(split_dir).at("w2"), eval.at("w2"));
      gan::EvalOptions refine;
      refine.refine_steps = 2;
      EXPECT_THROW(gan::evaluate_run(straight_dir, refine), InvalidArgument);
      continue;
    }
    if (c.name == "meg") {
      EXPECT_TRUE(fs::exists(straight_dir + "/checkpoints/step-30/statistics.pt"));
      EXPECT_EQ(read_file(straight_dir + "/checkpoints/step-30/statistics_optimizer.pt"),
                read_file(split_dir + "/checkpoints/step-30/statistics_optimizer.pt"));
    }
    EXPECT_EQ(straight.critic()->forward(::torch::zeros({1, 2})).size(1), c.name == "ogan" ? 4 : 1);
    std::istringstream lines(read_file(straight_dir + "/metrics.jsonl"));
    std::string last;
    for (std::string line; std::getline(lines, line);) last = line;
    EXPECT_TRUE(nlohmann::json::parse(last).contains(c.part)) << last;

    gan::EvalOptions options;
    options.refine_steps = 3;
    options.step_size = 0.01;
    options.space = c.name == "ogan" ? "latent" : "data";
    const nlohmann::json eval = gan::evaluate_run(straight_dir, options);
    const nlohmann::json& refined = eval.at("refined");
    EXPECT_GT(refined.at("acceptance").get<double>(), 0.0);
    EXPECT_LE(refined.at("acceptance").get<double>(), 1.0);
    EXPECT_EQ(refined.at("space"), options.space);
    EXPECT_TRUE(refined.contains("w2"));
    EXPECT_TRUE(fs::exists(straight_dir + "/samples/eval-refined.png"));
    options.sampler = "langevin";
    EXPECT_EQ(gan::evaluate_run(straight_dir, options).at("refined").at("acceptance"), 1.0);
    if (c.name == "ogan") {
      const double z_corr = eval.at("ogan").at("z_corr").get<double>();
      EXPECT_GE(z_corr, -1.0);
      EXPECT_LE(z_corr, 1.0);
      EXPECT_GE(eval.at("ogan").at("reconstruction_mse").get<double>(), 0.0);
    }
  }
  gan::EvalOptions bad;
  bad.refine_steps = -1;
  EXPECT_THROW(gan::evaluate_run(fresh_dir("none"), bad), InvalidArgument);
  bad.refine_steps = 2;
  bad.step_size = 0;
  EXPECT_THROW(gan::evaluate_run(fresh_dir("none"), bad), InvalidArgument);
  bad.step_size = 0.1;
  bad.sampler = "hmc";
  EXPECT_THROW(gan::evaluate_run(fresh_dir("none"), bad), InvalidArgument);
  bad.sampler = "mala";
  bad.space = "feature";
  EXPECT_THROW(gan::evaluate_run(fresh_dir("none"), bad), InvalidArgument);
}

// On the toy ring O-GAN's encoder learns the generator's codes within a few hundred steps: the
// correlation rises from near 0 (a fresh encoder) to well above it.
TEST_F(GanOgan, EncoderLearnsCodesOnToyData) {
  std::string text = tiny_toml("[loss]\nname = \"ogan\"\n", 8);
  text.replace(text.find("iterations = 30"), 15, "iterations = 300");
  const gan::TrainConfig config = gan::parse_config(text, "ogan.toml");
  gan::Trainer trainer(config, fresh_dir("ogan-learn"));
  const double first = trainer.step().d_parts.at("z_corr").item<double>();
  double last = 0;
  for (int i = 1; i < 300; ++i) {
    const gan::TrainStep s = trainer.step(i >= 290);
    if (i >= 290) last += s.d_parts.at("z_corr").item<double>() / 10;
  }
  EXPECT_LT(std::abs(first), 0.5);
  EXPECT_GT(last, first + 0.3);
}

TEST_F(GanOgan, MnistRunWritesReconstructionsAndInterpolations) {
  ODYN_REQUIRE_MNIST_OR_SKIP();
  const std::string lenet = scratch("ogan-lenet.pt");
  {
    const gan::ImageSet train = gan::load_mnist(odyn::io::default_mnist_dir(), odyn::io::MnistSplit::train, 2000);
    gan::ClassifierTraining options;
    options.epochs = 1;
    options.progress = false;
    gan::Lenet net = gan::train_classifier(train, options);
    gan::save_classifier(net, lenet);
  }
  gan::TrainConfig config = gan::load_config(std::string(ODYN_SOURCE_DIR) + "/experiments/gan/mnist_ogan.toml");
  config.model.hidden = 8;
  config.train.iterations = 3;
  config.train.sample_every = 0;
  config.eval.classifier = lenet;
  const std::string dir = fresh_dir("ogan-mnist");
  gan::Trainer(config, dir).run(false);
  gan::EvalOptions options;
  options.samples = 64;
  const nlohmann::json eval = gan::evaluate_run(dir, options);
  const double accuracy = eval.at("ogan").at("reconstruction_accuracy").get<double>();
  EXPECT_GE(accuracy, 0.0);
  EXPECT_LE(accuracy, 1.0);
  EXPECT_TRUE(fs::exists(dir + "/samples/reconstruction.png"));
  EXPECT_TRUE(fs::exists(dir + "/samples/interpolation.png"));
}

}  // namespace
