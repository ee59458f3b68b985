// odyn dynamics run|order|game, run as a separate process.
#include <gtest/gtest.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "../test_util.hpp"
#include "odyn/config.hpp"
#include "odyn/io/png.hpp"

using odyn::test::cli;
using odyn::test::count_lines;
using odyn::test::expect_usage_error;
using odyn::test::read_file;
using odyn::test::run;
using odyn::test::scratch;

namespace {

class DynamicsCli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (cli.empty()) GTEST_SKIP() << "odyn built without its command-line tool";
  }
};

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::vector<double> fields_of(const std::string& line) {
  std::vector<double> out;
  std::istringstream in(line);
  for (std::string f; std::getline(in, f, ',');) out.push_back(std::strtod(f.c_str(), nullptr));
  return out;
}

}  // namespace

TEST_F(DynamicsCli, HelpForEachCommand) {
  for (const std::string sub : {"", " run", " order", " game"}) {
    const auto r = run(cli + " dynamics" + sub + " --help");
    EXPECT_EQ(r.status, 0) << sub << "\n" << r.err;
    EXPECT_NE(r.out.find("Usage: odyn dynamics" + sub), std::string::npos) << r.out;
  }
  // a command is needed
  const auto r = run(cli + " dynamics");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("run, order, game"), std::string::npos) << r.err;
}

// 100 steps recorded every 30: steps 0, 30, 60, 90 and the last one, 100.
TEST_F(DynamicsCli, RunWritesCsvAndPng) {
  const std::string csv = scratch("run.csv"), png = scratch("run.png");
  const auto r =
      run(cli + " dynamics run --problem rosenbrock --optimizer adam --lr 0.01 --steps 100 --every 30 --csv " + csv +
          " --plot " + png);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("final loss:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("|x - x*|:"), std::string::npos) << r.out;
  const auto lines = lines_of(read_file(csv));
  ASSERT_EQ(lines.size(), 6u);
  EXPECT_EQ(lines[0], "step,t,loss,x0,x1");
  // the start row; L(-1.2, 1) = 24.2 up to rounding, which depends on whether the build fuses multiply-adds
  const std::vector<double> first = fields_of(lines[1]);
  ASSERT_EQ(first.size(), 5u);
  EXPECT_EQ(first[0], 0);
  EXPECT_EQ(first[1], 0);
  EXPECT_NEAR(first[2], 24.2, 1e-13);
  EXPECT_EQ(first[3], -1.2);
  EXPECT_EQ(first[4], 1);
  const std::vector<double> last = fields_of(lines[5]);
  ASSERT_EQ(last.size(), 5u);
  EXPECT_EQ(last[0], 100);
  EXPECT_NEAR(last[1], 1.0, 1e-12);
  EXPECT_LT(last[2], 24.2);
  const odyn::io::Image image = odyn::io::read_png(png);
  EXPECT_EQ(image.width, 800);
  EXPECT_EQ(image.height, 600);
}

// With --flow: the flow's columns (starting at x0), and a gradient-descent path close to its flow.
TEST_F(DynamicsCli, RunWithFlowAddsColumns) {
  const std::string csv = scratch("flow.csv"), png = scratch("flow.png");
  const auto r = run(cli + " dynamics run --problem quadratic --dim 4 --lr 0.01 --steps 200 --flow --csv " + csv +
                     " --plot " + png + " --json");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["dim"], 4);
  EXPECT_EQ(j["flow"]["description"], "gradient flow");
  EXPECT_LT(j["flow"]["distance"].get<double>(), 0.05);
  EXPECT_LT(j["final_loss"].get<double>(), j["initial_loss"].get<double>());
  EXPECT_EQ(j["csv"]["rows"], 201);
  const auto lines = lines_of(read_file(csv));
  ASSERT_EQ(lines.size(), 202u);
  EXPECT_EQ(lines[0], "step,t,loss,x0,x1,x2,x3,flow_loss,flow_x0,flow_x1,flow_x2,flow_x3");
  const std::vector<double> first = fields_of(lines[1]);
  ASSERT_EQ(first.size(), 12u);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(first[3 + i], first[8 + i]);
  EXPECT_EQ(odyn::io::read_png(png).width, 800);
}

// Minibatches are drawn from --seed: the same seed gives the same run.
TEST_F(DynamicsCli, MinibatchRunsAreReproducible) {
  const std::string cmd = cli + " dynamics run --problem least-squares --lr 0.05 --steps 300 --batch 10 --seed 3";
  const auto a = run(cmd), b = run(cmd);
  ASSERT_EQ(a.status, 0) << a.err;
  EXPECT_EQ(a.out, b.out);
  EXPECT_NE(a.out.find("minibatches of 10"), std::string::npos) << a.out;
}

TEST_F(DynamicsCli, OrderOfGradientDescentIsOne) {
  auto r = run(cli + " dynamics order --optimizer sgd --problem quadratic");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(count_lines(r.out), 8) << r.out;  // title, header, 5 steps, fit
  if (!ODYN_HAVE_CERES) GTEST_SKIP() << "odyn built without Ceres Solver";
  const std::size_t at = r.out.find("observed order ");
  ASSERT_NE(at, std::string::npos) << r.out;
  EXPECT_NEAR(std::strtod(r.out.c_str() + at + 15, nullptr), 1, 0.05) << r.out;
  r = run(cli + " dynamics order --optimizer sgd --problem beale --flow modified --lr 0.005 --json");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_NEAR(j["order"]["order"].get<double>(), 2, 0.1);
  EXPECT_EQ(j["rows"].size(), 5u);
}

TEST_F(DynamicsCli, GameVerdicts) {
  auto r = run(cli + " dynamics game --model wgan-gp");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("verdict: converges"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("-0.1+0.994987i"), std::string::npos) << r.out;  // -lambda +- i sqrt(1 - lambda^2)
  r = run(cli + " dynamics game --model non-saturating");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("verdict: oscillates"), std::string::npos) << r.out;
  r = run(cli + " dynamics game --model wgan");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("not differentiable at 0"), std::string::npos) << r.out;
}

// wgan for T = 10 at dt 0.01: 1001 rows; the EMA starts at the start.
TEST_F(DynamicsCli, GameCsvWithEma) {
  const std::string csv = scratch("game.csv"), png = scratch("game.png");
  const auto r = run(cli + " dynamics game --model wgan --ema 0.999 --csv " + csv + " --plot " + png + " --json");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["verdict"], "oscillates");
  EXPECT_LT(j["ema"]["theta_norm"].get<double>(), j["theta_norm"].get<double>());
  const auto lines = lines_of(read_file(csv));
  ASSERT_EQ(lines.size(), 1002u);
  EXPECT_EQ(lines[0], "t,phi1,phi2,theta1,theta2,ema_theta1,ema_theta2");
  EXPECT_EQ(lines[1], "0,0.1,0.2,0.2,0.1,0.2,0.1");
  EXPECT_NEAR(fields_of(lines.back())[0], 10, 1e-12);
  EXPECT_EQ(odyn::io::read_png(png).height, 600);
}

TEST_F(DynamicsCli, BadInput) {
  expect_usage_error("dynamics run --optimizer newton", "unknown optimizer 'newton' (known: sgd,");
  expect_usage_error("dynamics run --problem nope", "unknown problem");
  expect_usage_error("dynamics run --lr 0", "--lr");
  expect_usage_error("dynamics run --lr nan", "--lr");
  expect_usage_error("dynamics run --steps 0", "--steps");
  expect_usage_error("dynamics run --x0 1,2,3", "--x0 has 3 values");
  expect_usage_error("dynamics run --x0 1,oops", "--x0");
  expect_usage_error("dynamics run --problem rosenbrock --batch 4", "finite-sum");
  expect_usage_error("dynamics run --csv " + scratch("missing/dir/out.csv"), "cannot write");
  expect_usage_error("dynamics run --plot " + scratch("out.jpg"), ".png");
  expect_usage_error("dynamics run --betas 0.9,0.99", "--betas applies to adam");
  expect_usage_error("dynamics run --optimizer adagrad --flow", "no flow");
  expect_usage_error("dynamics order --optimizer error-controlled", "no flow");
  expect_usage_error("dynamics order --flow exact", "exact");
  expect_usage_error("dynamics order --lr 1e-9", "at most 1e7");
  expect_usage_error("dynamics game", "--model");
  expect_usage_error("dynamics game --model wgan --center 1", "wgan-gp only");
  expect_usage_error("dynamics game --model wgan-gp --ema 1", "--ema");
  expect_usage_error("dynamics game --model wgan-gp --init 1,2,3", "four values");
}
