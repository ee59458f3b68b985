// Helpers shared by the tests: scratch files and running the command-line tool.
#pragma once

#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include "odyn/core/error.hpp"
#include "odyn/io/mnist.hpp"

namespace odyn::test {

// True when the four MNIST idx files are in odyn::io::default_mnist_dir().
inline bool have_mnist() {
  const std::string dir = odyn::io::default_mnist_dir();
  for (const char* f :
       {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"}) {
    if (!std::filesystem::exists(dir + "/" + f)) return false;
  }
  return true;
}

}  // namespace odyn::test

// Skips the test when MNIST is missing, or fails it when ODYN_REQUIRE_MNIST is set (make test sets it).
#define ODYN_REQUIRE_MNIST_OR_SKIP()                                                                         \
  do {                                                                                                       \
    if (!odyn::test::have_mnist()) {                                                                         \
      if (std::getenv("ODYN_REQUIRE_MNIST")) FAIL() << "MNIST missing in " << odyn::io::default_mnist_dir(); \
      GTEST_SKIP() << "MNIST not in " << odyn::io::default_mnist_dir() << " (run scripts/setup.sh)";         \
    }                                                                                                        \
  } while (0)

namespace odyn::test {

// A path in the test scratch directory, unique per test case.
inline std::string scratch(const std::string& name) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return std::string(ODYN_TEST_TMP) + "/" + info->test_suite_name() + "." + info->name() + "." + name;
}

inline std::string write_file(const std::string& path, const std::string& contents) {
  std::ofstream(path, std::ios::binary) << contents;
  return path;
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The message of the odyn::IoError that f() throws, or "no error".
template <class F>
std::string io_error_of(F&& f) {
  try {
    f();
  } catch (const odyn::IoError& e) {
    return e.what();
  }
  return "no error";
}

struct Run {
  int status = -1;
  std::string out, err;
};

// Runs a shell command line, capturing its exit status, stdout and stderr (redirections inside
// `command` apply first).
inline Run run(const std::string& command) {
  const std::string out = scratch("stdout"), err = scratch("stderr");
  const int raw = std::system(("(" + command + ") >'" + out + "' 2>'" + err + "' </dev/null").c_str());
  Run r;
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  r.out = read_file(out);
  r.err = read_file(err);
  return r;
}

inline long count_lines(const std::string& s) {
  long n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

// True if /usr/bin/python3 can import every module in the space-separated list.
inline bool python_has(const std::string& modules) {
  std::string imports;
  std::istringstream in(modules);
  std::string m;
  while (in >> m) imports += "import " + m + ";";
  return std::system(("/usr/bin/python3 -c '" + imports + "' >/dev/null 2>&1").c_str()) == 0;
}

#ifdef ODYN_CLI
// The odyn executable, quoted for the shell; empty when odyn was built without its CLI.
inline const std::string cli = std::string(ODYN_CLI).empty() ? "" : "'" + std::string(ODYN_CLI) + "'";

// Bad input: exit status 2 and exactly one line on stderr that starts with "odyn: error:" and
// contains `fragment`; nothing on stdout.
inline void expect_usage_error(const std::string& args, const std::string& fragment) {
  const auto r = run(cli + " " + args);
  EXPECT_EQ(r.status, 2) << args;
  EXPECT_EQ(count_lines(r.err), 1) << args << "\n" << r.err;
  EXPECT_EQ(r.err.rfind("odyn: error: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find(fragment), std::string::npos) << "expected '" << fragment << "' in: " << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}
#endif

// Composite Simpson rule with n (even) intervals on [a, b].
template <class F>
double simpson(F f, double a, double b, int n) {
  const double h = (b - a) / n;
  double s = f(a) + f(b);
  for (int i = 1; i < n; ++i) s += (i % 2 ? 4.0 : 2.0) * f(a + i * h);
  return s * h / 3.0;
}

}  // namespace odyn::test
