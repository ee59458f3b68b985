// odyn transport, run as a separate process: every method on small clouds whose answers are known.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <string>

#include "../test_util.hpp"
#include "odyn/config.hpp"

using odyn::test::cli;
using odyn::test::expect_usage_error;
using odyn::test::run;
using odyn::test::scratch;
using odyn::test::write_file;

namespace {

class TransportCli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (cli.empty()) GTEST_SKIP() << "odyn built without its command-line tool";
    // X: four points of the unit square; Y: X shifted by (3, 4), so every W_p (and SW_p's
    // max-direction counterpart) is |(3, 4)| = 5.
    x = write_file(scratch("tx.txt"), "0 0\n1 0\n0 1\n1 1\n");
    y = write_file(scratch("ty.txt"), "3 4\n4 4\n3 5\n4 5\n");
    line_x = write_file(scratch("lx.txt"), "0\n1\n2\n");
    line_y = write_file(scratch("ly.txt"), "5\n");
  }
  nlohmann::json json_of(const std::string& args) {
    const auto r = run(cli + " transport " + args + " --json");
    EXPECT_EQ(r.status, 0) << args << "\n" << r.err;
    return nlohmann::json::parse(r.out);
  }
  std::string x, y, line_x, line_y;
};

}  // namespace

TEST_F(TransportCli, Help) {
  const auto r = run(cli + " transport --help");
  EXPECT_EQ(r.status, 0) << r.err;
  for (const char* word : {"Usage: odyn transport", "--method", "sinkhorn-div", "knn-kl", "qpdiv", "--json"})
    EXPECT_NE(r.out.find(word), std::string::npos) << word;
}

// A translation by c moves every point by |c|: W_p = |c| = 5 for every p, exactly.
TEST_F(TransportCli, ExactIsTheTranslationLength) {
  for (const char* p : {"1", "2", "3"}) {
    const auto j = json_of(x + " " + y + " --method exact --p " + p);
    EXPECT_NEAR(j["value"].get<double>(), 5.0, 1e-12) << p;
    EXPECT_EQ(j["method"], "exact");
    EXPECT_EQ(j["parameters"]["p"].get<double>(), std::stod(p));
    EXPECT_TRUE(j.contains("iterations"));
    EXPECT_GE(j["wall_seconds"].get<double>(), 0.0);
  }
}

// Weights move the answer: all of X's mass on (0, 0) gives W_2^2 = mean |(0,0) - y_j|^2.
TEST_F(TransportCli, WeightFiles) {
  const std::string wx = write_file(scratch("twx.txt"), "1\n0\n0\n0\n");
  const auto j = json_of(x + " " + y + " --method exact --wx " + wx);
  const double expected = (25.0 + 32.0 + 34.0 + 41.0) / 4.0;
  EXPECT_NEAR(j["cost"].get<double>(), expected, 1e-12);
}

// Sinkhorn's entropic W_2 lies within O(eps) of the exact one for this well-separated problem.
TEST_F(TransportCli, SinkhornAndDivergence) {
  const auto j = json_of(x + " " + y + " --method sinkhorn --eps 0.01");
  EXPECT_NEAR(j["value"].get<double>(), 5.0, 1e-3);
  EXPECT_LE(j["marginal_error"].get<double>(), 1e-8);
  EXPECT_EQ(j["parameters"]["eps"].get<double>(), 0.01);
  const auto same = json_of(x + " " + x + " --method sinkhorn-div --eps 0.1");
  EXPECT_NEAR(same["value"].get<double>(), 0.0, 1e-9);
  EXPECT_GT(json_of(x + " " + y + " --method sinkhorn-div --eps 0.1")["value"].get<double>(), 20.0);
}

// On the line: W_1 between {0, 1, 2} and {5} is the mean distance 4.
TEST_F(TransportCli, OneDimensional) {
  EXPECT_NEAR(json_of(line_x + " " + line_y + " --method 1d")["value"].get<double>(), 4.0, 1e-14);
  expect_usage_error("transport " + x + " " + y + " --method 1d", "one coordinate per point");
}

// Sliced W_2 of a translation by c is |c| times the root mean square of cos(theta, c) over the
// directions: 5/sqrt(2) in expectation in 2-D. Monte Carlo sd of the mean of cos^2 over 2000
// directions: sqrt(1/8)/sqrt(2000) = 0.008, i.e. 0.028 on SW; the bound 0.15 is 5 sd.
TEST_F(TransportCli, SlicedAndSeed) {
  const auto a = json_of(x + " " + y + " --method sliced --projections 2000 --seed 7");
  EXPECT_NEAR(a["value"].get<double>(), 5.0 / std::sqrt(2.0), 0.15);
  EXPECT_EQ(a["value"], json_of(x + " " + y + " --method sliced --projections 2000 --seed 7")["value"]);
  EXPECT_EQ(a["parameters"]["seed"].get<std::uint64_t>(), 7u);
}

// Same covariance, means 5 apart: W_2 = 5 and the Frechet distance is 25.
TEST_F(TransportCli, GaussianAndFrechet) {
  EXPECT_NEAR(json_of(x + " " + y + " --method gaussian")["value"].get<double>(), 5.0, 1e-12);
  EXPECT_NEAR(json_of(x + " " + y + " --method frechet")["value"].get<double>(), 25.0, 1e-10);
}

TEST_F(TransportCli, MmdWithPermutationTest) {
  const auto j = json_of(x + " " + y + " --method mmd --kernel energy --permutations 99 --seed 1");
  EXPECT_GT(j["value"].get<double>(), 0.0);
  EXPECT_GE(j["p_value"].get<double>(), 0.01);  // 8 points allow at most C(8,4) = 70 distinct splits
  EXPECT_EQ(j["parameters"]["kernel"], "energy");
  const auto g = json_of(x + " " + y + " --method mmd");
  EXPECT_GT(g["parameters"]["bandwidth"].get<double>(), 0.0);  // the median heuristic ran
}

TEST_F(TransportCli, KnnKlRunsAndNamesK) {
  const auto j = json_of(x + " " + y + " --method knn-kl --k 2");
  EXPECT_TRUE(std::isfinite(j["value"].get<double>()));
  EXPECT_EQ(j["parameters"]["k"].get<int>(), 2);
}

TEST_F(TransportCli, CriticDivergences) {
  if (!ODYN_HAVE_CERES) {
    expect_usage_error("transport " + x + " " + y + " --method qpdiv", "Ceres");
    return;
  }
  // two single points 5 apart: the QP divergence is lambda * d / 2 = 25 (Su 2018, the delta-pair test)
  const std::string a = write_file(scratch("ta.txt"), "0 0\n"), b = write_file(scratch("tb.txt"), "3 4\n");
  const auto q = json_of(a + " " + b + " --method qpdiv --lambda 10");
  EXPECT_NEAR(q["value"].get<double>(), 25.0, 25.0 * 1e-6);
  const auto w = json_of(x + " " + y + " --method wdiv --k 2 --p 6 --sampling pooled");
  EXPECT_GT(w["value"].get<double>(), 0.0);
  EXPECT_EQ(w["parameters"]["sampling"], "pooled");
}

TEST_F(TransportCli, TextOutputIsOneLine) {
  const auto r = run(cli + " transport " + x + " " + y + " --method exact");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.rfind("exact: 5", 0), 0u) << r.out;
}

TEST_F(TransportCli, BadInput) {
  const std::string nan = write_file(scratch("tnan.txt"), "0 0\nnan 1\n");
  const std::string three = write_file(scratch("t3.txt"), "0 0 0\n");
  const std::string negative = write_file(scratch("tneg.txt"), "0.5\n-0.5\n1\n0\n");
  const std::string unnormalised = write_file(scratch("tun.txt"), "1\n1\n1\n1\n");
  expect_usage_error("transport " + nan + " " + y + " --method exact", "not finite");
  expect_usage_error("transport " + three + " " + y + " --method sliced", "dimension");
  expect_usage_error("transport " + x + " " + y + " --method exact --wx " + negative, "negative");
  expect_usage_error("transport " + x + " " + y + " --method sinkhorn --wx " + unnormalised, "not 1");
  expect_usage_error("transport " + x + " " + y + " --method sinkhorn --eps -1", "eps");
  expect_usage_error("transport " + x + " " + y + " --method warp", "--method");
  expect_usage_error("transport " + x + " " + y, "--method");
  expect_usage_error("transport " + x + " " + y + " --method exact --eps 0.1", "does not apply");
  expect_usage_error("transport " + x + " " + scratch("missing.txt") + " --method exact", "missing.txt");
}
