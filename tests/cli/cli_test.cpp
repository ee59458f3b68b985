// The odyn command-line tool, run as a separate process.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "../test_util.hpp"
#include "odyn/io/npy.hpp"

using odyn::test::count_lines;
using odyn::test::run;
using odyn::test::scratch;
using odyn::test::write_file;

using odyn::test::cli;
using odyn::test::expect_usage_error;

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (cli.empty()) GTEST_SKIP() << "odyn built without its command-line tool";
  }
};

TEST_F(Cli, HelpAndVersion) {
  auto r = run(cli + " --help");
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("verify"), std::string::npos);
  EXPECT_NE(r.out.find("--threads"), std::string::npos);
  r = run(cli + " verify det-exp-trace --help");
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("--family"), std::string::npos);
  EXPECT_NE(r.out.find("--matrix"), std::string::npos);
  r = run(cli + " --version");
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out.rfind("odyn 0.", 0), 0u) << r.out;
}

TEST_F(Cli, UnknownOptionsAndValues) {
  expect_usage_error("verify det-exp-trace --bogus", "--bogus");
  expect_usage_error("frobnicate", "frobnicate");
  expect_usage_error("", "expected a command: verify");
  expect_usage_error("verify", "expected check names, --all or --list, or the command det-exp-trace");
  expect_usage_error("verify det-exp-trac", "det-exp-trac");
  expect_usage_error("verify det-exp-trace --family hermitian", "hermitian");
  expect_usage_error("verify det-exp-trace --n 0", "--n");
  expect_usage_error("verify det-exp-trace --n abc", "abc");
  expect_usage_error("verify det-exp-trace --trials -3", "--trials");
  expect_usage_error("--threads 0 verify det-exp-trace", "--threads");
  expect_usage_error("verify det-exp-trace --seed -1", "expected an integer from 0 to 2^64 - 1, got '-1'");
  expect_usage_error("verify det-exp-trace --seed 18446744073709551616", "got '18446744073709551616'");
  expect_usage_error("verify det-exp-trace --scale nan", "scale must be finite");
  expect_usage_error("verify det-exp-trace --matrix " + scratch("none.txt"), "none.txt");
  expect_usage_error("verify det-exp-trace --matrix " + write_file(scratch("m.txt"), "1 0\n0 1\n") + " --n 3", "--n");
}

TEST_F(Cli, MalformedMatrixFiles) {
  expect_usage_error("verify det-exp-trace --matrix " + write_file(scratch("ragged.txt"), "1 2\n3\n"),
                     "ragged.txt:2: ragged rows");
  expect_usage_error("verify det-exp-trace --matrix " + write_file(scratch("word.txt"), "1 x\n3 4\n"),
                     "word.txt:1:3: 'x' is not a number");
  expect_usage_error("verify det-exp-trace --matrix " + write_file(scratch("rect.txt"), "1 2 3\n4 5 6\n"),
                     "expected a square matrix, got 2x3");
  expect_usage_error("verify det-exp-trace --matrix " + write_file(scratch("nan.txt"), "1 nan\n3 4\n"),
                     "entry (0, 1) is not finite");
  expect_usage_error("verify det-exp-trace --matrix " + write_file(scratch("empty.txt"), "# nothing\n"),
                     "no numbers found");
  expect_usage_error(
      "verify det-exp-trace --matrix " +
          write_file(scratch("bad.npy"), std::string("\x93NUMPX\x01\x00\x10\x00", 10) + std::string(16, ' ')),
      "wrong magic string");
}

TEST_F(Cli, ErrorsStayOnOneLineAndOutputFailuresAreReported) {
  const std::string odd = scratch("two\nlines.txt");
  expect_usage_error("verify det-exp-trace --matrix '" + write_file(odd, "1 2\n3\n") + "'", "two\\x0alines.txt");
  const auto r = run(cli + " verify det-exp-trace --n 2 --trials 1 >/dev/full");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("cannot write the output"), std::string::npos) << r.err;
}

TEST_F(Cli, MatrixFileIsVerified) {
  const std::string path = scratch("a.npy");
  Eigen::MatrixXd a(2, 2);
  a << 1, 0, 1, 0;
  odyn::io::write_npy(path, a);
  const auto r = run(cli + " verify det-exp-trace --json --matrix " + path);
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j.size(), 1u);
  EXPECT_TRUE(j[0]["passed"].get<bool>());
  EXPECT_NEAR(j[0]["lhs"].get<double>(), std::exp(1.0), 1e-13);
  EXPECT_EQ(j[0]["family"], "file");
}

// The acceptance run: n = 50, 100 well-conditioned random matrices, all passed, relative errors
// at the 1e-14 level, each object carrying the documented fields.
TEST_F(Cli, JsonAcceptanceRun) {
  const auto r = run(cli + " verify det-exp-trace --n 50 --trials 100 --json");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j.size(), 100u);
  double worst = 0;
  for (const auto& c : j) {
    for (const char* key : {"name", "lhs", "rhs", "abs_error", "rel_error", "tolerance", "passed"}) {
      ASSERT_TRUE(c.contains(key)) << key;
    }
    EXPECT_TRUE(c["passed"].get<bool>());
    EXPECT_LE(c["rel_error"].get<double>(), c["tolerance"].get<double>());
    worst = std::max(worst, c["rel_error"].get<double>());
  }
  EXPECT_LE(worst, 1e-13);
}

TEST_F(Cli, TableForEveryFamilyAndFailureStatus) {
  for (const char* family : {"random", "normal", "nilpotent", "jordan", "rotation"}) {
    const auto r = run(cli + " verify det-exp-trace --n 6 --trials 5 --family " + family);
    EXPECT_EQ(r.status, 0) << family << r.out;
    EXPECT_NE(r.out.find("5 of 5 checks passed"), std::string::npos) << r.out;
  }
  // A matrix whose exponential is too ill-conditioned to decide: reported, exit status 1.
  const auto r = run(cli + " verify det-exp-trace --matrix " + write_file(scratch("ill.txt"), "50 1e-3\n2e-3 -50\n"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("inconclusive"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("0 of 1 checks passed"), std::string::npos) << r.out;
}

// odyn verify NAME... / --all: every route on random matrices (docs/cli.md).
TEST_F(Cli, VerifyAllRoutes) {
  auto r = run(cli + " verify --all");
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("checks passed"), std::string::npos) << r.out;
  for (const char* name : {"direct", "eigen", "schur", "liouville", "det-ode", "jacobi-fd", "limit", "log-trace",
                           "inverse", "commuting", "det-perturbation"}) {
    EXPECT_NE(r.out.find(name), std::string::npos) << name;
  }
  r = run(cli + " verify --list");
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(count_lines(r.out), 12) << r.out;
  r = run(cli + " verify --help");
  EXPECT_EQ(r.status, 0);
  for (const char* option :
       {"--all", "--list", "--scalar", "--family", "--trials", "--seed", "--json", "det-exp-trace"}) {
    EXPECT_NE(r.out.find(option), std::string::npos) << option;
  }
}

TEST_F(Cli, VerifyJsonAndScalars) {
  auto r = run(cli + " verify direct limit --json --n 5 --trials 2 --seed 3");
  ASSERT_EQ(r.status, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j.size(), 4u);
  for (const auto& c : j) {
    for (const char* key : {"check", "name", "scalar", "lhs", "rhs", "abs_error", "rel_error", "metric", "tolerance",
                            "condition", "passed", "details"}) {
      ASSERT_TRUE(c.contains(key)) << key;
    }
    EXPECT_TRUE(c["passed"].get<bool>());
  }
  EXPECT_EQ(j[0]["check"], "direct");
  EXPECT_EQ(j[1]["check"], "limit");

  r = run(cli + " verify --all --scalar mp50 --n 4 --trials 1 --json");
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  j = nlohmann::json::parse(r.out);
  double worst = 0;
  for (const auto& c : j) {
    EXPECT_EQ(c["scalar"], "mp50");
    if (c["check"] == "direct") worst = std::max(worst, c["rel_error"].get<double>());
  }
  EXPECT_LE(worst, 1e-40);  // 50 digits, not double

  r = run(cli + " verify --all --scalar complex --n 4 --trials 1 --json");
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_TRUE(nlohmann::json::parse(r.out)[0].contains("lhs_imag"));

  r = run(cli + " verify direct eigen --scalar float --family rotation");
  EXPECT_EQ(r.status, 0) << r.out << r.err;
}

TEST_F(Cli, VerifyBadInput) {
  expect_usage_error("verify frobnicate", "unknown check 'frobnicate'");
  expect_usage_error("verify direct frobnicate", "unknown check 'frobnicate'");
  expect_usage_error("verify --json", "expected check names");
  expect_usage_error("verify --all direct", "--all");
  expect_usage_error("verify --all --scalar quad", "quad");
  expect_usage_error("verify --all --n 0", "--n");
  expect_usage_error("verify --all --family hermitian", "hermitian");
  expect_usage_error("verify --all --seed -1", "got '-1'");
}

// A check that cannot decide makes the exit status 1: float cannot resolve exp of a scale-30 matrix.
TEST_F(Cli, VerifyInconclusiveExitsOne) {
  const auto r = run(cli + " verify direct --scalar float --scale 60 --trials 2");
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("inconclusive"), std::string::npos) << r.out;
}

// odyn curves: a logged value (nested keys with dots) over the steps of two runs, as one PNG.
TEST_F(Cli, CurvesOfLoggedValues) {
  const std::string a = write_file(scratch("curves_a.jsonl"),
                                   "{\"step\": 100, \"d_loss\": 1.5, \"eval\": {\"w2\": 0.9}}\n"
                                   "{\"step\": 200, \"d_loss\": 0.5}\n"
                                   "{\"step\": 300, \"d_loss\": 0.25, \"eval\": {\"w2\": 0.4}}\n");
  const std::string b = write_file(scratch("curves_b.jsonl"), "{\"step\": 100, \"d_loss\": 2.0}\n");
  const std::string png = scratch("curves.png");
  std::remove(png.c_str());
  auto r = run(cli + " curves " + a + " " + b + " --key d_loss --labels A B --out " + png);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("A: 3 points, step 100 1.5 -> step 300 0.25"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("B: 1 points"), std::string::npos) << r.out;
  EXPECT_TRUE(std::ifstream(png).good());
  r = run(cli + " curves " + a + " --key eval.w2 --log-y --out " + png);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("2 points, step 100 0.9 -> step 300 0.4"), std::string::npos) << r.out;

  expect_usage_error("curves " + b + " --key eval.w2 --out " + png, "no values of 'eval.w2'");
  expect_usage_error("curves " + a + " " + b + " --key d_loss --labels A --out " + png, "--labels");
  expect_usage_error("curves " + scratch("none.jsonl") + " --key d_loss --out " + png, "cannot read");
  const std::string bad = write_file(scratch("curves_bad.jsonl"), "{\"step\": 1, \"d_loss\": 1}\nnot json\n");
  expect_usage_error("curves " + bad + " --key d_loss --out " + png, "line 2 is not JSON");
}
