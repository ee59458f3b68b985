// odyn-gan (odyn train | eval | classifier), run as a separate process.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>

#include "../test_util.hpp"

namespace fs = std::filesystem;
using odyn::test::count_lines;
using odyn::test::read_file;
using odyn::test::run;
using odyn::test::scratch;
using odyn::test::write_file;

namespace {

// odyn-gan beside the odyn executable, quoted for the shell; empty without the command-line tool.
std::string gan_cli() {
  const std::string odyn = ODYN_CLI;
  if (odyn.empty()) return "";
  return "'" + (fs::path(odyn).parent_path() / "odyn-gan").string() + "'";
}

const char* const kTinyToml = R"(
[data]
name = "grid"
samples = 1000
[model]
hidden = 16
depth = 2
[train]
iterations = 20
batch = 32
checkpoint_every = 10
log_every = 10
[eval]
samples = 100
)";

class GanCli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (gan_cli().empty() || !fs::exists(gan_cli().substr(1, gan_cli().size() - 2)))
      GTEST_SKIP() << "odyn built without its command-line tool";
  }

  // Exit status 2 and one line on stderr starting "odyn: error: " that contains `fragment`.
  static void expect_usage_error(const std::string& args, const std::string& fragment) {
    const auto r = run(gan_cli() + " " + args);
    EXPECT_EQ(r.status, 2) << args;
    EXPECT_EQ(count_lines(r.err), 1) << args << "\n" << r.err;
    EXPECT_EQ(r.err.rfind("odyn: error: ", 0), 0u) << r.err;
    EXPECT_NE(r.err.find(fragment), std::string::npos) << "expected '" << fragment << "' in: " << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
  }
};

}  // namespace

TEST_F(GanCli, Help) {
  auto r = run(gan_cli() + " --help");
  EXPECT_EQ(r.status, 0);
  for (const char* word : {"train", "eval", "classifier"}) EXPECT_NE(r.out.find(word), std::string::npos) << word;
  r = run(gan_cli() + " train --help");
  EXPECT_EQ(r.status, 0);
  for (const char* option : {"--out", "--device", "--seed", "--threads", "--resume", "--iterations", "--quiet"})
    EXPECT_NE(r.out.find(option), std::string::npos) << option;
  // odyn hands the GAN commands over to odyn-gan.
  r = run("'" + std::string(ODYN_CLI) + "' train --help");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("--resume"), std::string::npos) << r.out;
  r = run(gan_cli() + " --version");
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out.rfind("odyn 0.", 0), 0u) << r.out;
}

TEST_F(GanCli, BadInputIsOneLineAndExitTwo) {
  expect_usage_error("", "expected a command: train, eval, classifier");
  expect_usage_error("train " + scratch("none.toml"), "none.toml");
  expect_usage_error("train " + write_file(scratch("syntax.toml"), "[train\niterations = 3\n"), "syntax.toml: line 1");
  expect_usage_error("train " + write_file(scratch("key.toml"), "[train]\niteration = 3\n"),
                     "train.iteration: unknown key");
  const std::string tiny = write_file(scratch("tiny.toml"), kTinyToml);
  expect_usage_error("train " + tiny + " --device tpu", "--device");
  expect_usage_error("train " + tiny + " --seed -1", "--seed");
  expect_usage_error("eval " + scratch("no_run"), "no config.toml");
}

TEST_F(GanCli, TrainResumeAndEval) {
  const std::string tiny = write_file(scratch("tiny.toml"), kTinyToml);
  const std::string out = scratch("run");
  fs::remove_all(out);
  auto r = run(gan_cli() + " train " + tiny + " --out " + out + " --iterations 10");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("step 10/10 (100.0%)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("it/s ETA"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "trained 10 steps; run directory: " + out + "\n");

  // The same run again without --resume is refused; with it, it continues to 20.
  expect_usage_error("train " + tiny + " --out " + out, "already holds a run");
  r = run(gan_cli() + " train " + tiny + " --out " + out + " --resume --quiet");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(r.err.empty()) << r.err;
  EXPECT_EQ(read_file(out + "/checkpoints/latest"), "step-20\n");

  r = run(gan_cli() + " eval " + out + " --json --samples 50");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto result = nlohmann::json::parse(r.out);
  EXPECT_EQ(result.at("step"), 20);
  EXPECT_EQ(result.at("samples"), 50);
  EXPECT_EQ(result.at("modes_total"), 25);
  r = run(gan_cli() + " eval " + out);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("modes_covered"), std::string::npos) << r.out;

  // Samples refined by a chain on the critic's energy.
  r = run(gan_cli() + " eval " + out + " --json --samples 50 --refine-steps 2 --sampler langevin --space data");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto refined = nlohmann::json::parse(r.out).at("refined");
  EXPECT_EQ(refined.at("sampler"), "langevin");
  EXPECT_EQ(refined.at("space"), "data");
  EXPECT_EQ(refined.at("steps"), 2);
  expect_usage_error("eval " + out + " --refine-steps 2 --sampler hmc", "--sampler");
  expect_usage_error("eval " + out + " --refine-steps 2 --step-size -1", "--step-size");
}

// The VAE / VIB driver: a tiny study of each kind, the skip of finished configurations, and bad input.
TEST_F(GanCli, VariationalDriver) {
  ODYN_REQUIRE_MNIST_OR_SKIP();
  const std::string driver = ODYN_EXP_VARIATIONAL;
  if (driver.empty()) GTEST_SKIP() << "odyn built without its experiment drivers";
  const std::string out = scratch("variational");
  fs::remove_all(out);
  const std::string vae = "'" + driver + "' vae --out " + out +
                          "/vae --beta 1 --epochs 1 --limit 500 --test-limit 200 " +
                          "--hidden 32 --latent 4 --iw-samples 5 --quiet";
  auto r = run(vae);
  ASSERT_EQ(r.status, 0) << r.err;
  const auto result = nlohmann::json::parse(read_file(out + "/vae/beta-1/result.json"));
  // The IW bound (k = 5) lies above the ELBO estimate: ln p(x) >= IW >= -(-ELBO) up to noise.
  EXPECT_EQ(result.at("iw_samples"), 5);
  EXPECT_GT(result.at("iw_log_likelihood").get<double>(), -result.at("negative_elbo").get<double>());
  EXPECT_TRUE(fs::exists(out + "/vae/summary.md"));
  r = run(vae);  // finished: skipped, same result
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(read_file(out + "/vae/beta-1/result.json")), result);

  r = run("'" + driver + "' vib --out " + out + "/vib --beta 1e-3 --seeds 1 --epochs 1 --limit 300 --test-limit 200 " +
          "--hidden 32 --latent 4 --quiet");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto vib = nlohmann::json::parse(read_file(out + "/vib/beta-0.001/seed-0/result.json"));
  EXPECT_GE(vib.at("test_error").get<double>(), 0.0);
  EXPECT_LT(vib.at("test_error").get<double>(), 0.9);

  for (const std::string& args : {"vae --out " + out + "/bad --beta -1 --epochs 1", std::string("vib --epochs 1"),
                                 "vae --out " + out + "/bad --epochs 0"}) {
    r = run("'" + driver + "' " + args);
    EXPECT_EQ(r.status, 2) << args;
    EXPECT_EQ(count_lines(r.err), 1) << args << "\n" << r.err;
  }
}

TEST_F(GanCli, DivergenceExitsOne) {
  const std::string config =
      write_file(scratch("blow.toml"),
                 std::string(kTinyToml) + "[optimizer.generator]\nlr = 1e30\n[optimizer.critic]\nlr = 1e30\n");
  const std::string out = scratch("blown");
  fs::remove_all(out);
  const auto r = run(gan_cli() + " train " + config + " --out " + out + " --quiet");
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("training diverged: loss "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("last good checkpoint: "), std::string::npos) << r.err;
}
