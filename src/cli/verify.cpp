// odyn verify: numerical verification of det(exp A) = exp(tr A) by every route
// (odyn/linalg/identities/routes.hpp), and the original `odyn verify det-exp-trace`.
#include <unistd.h>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "commands.hpp"
#include "odyn/config.hpp"
#include "odyn/core/error.hpp"
#include "odyn/io/matrix_file.hpp"
#include "odyn/linalg/identities.hpp"
#include "odyn/linalg/identities/routes.hpp"
#include "odyn/linalg/test_matrices.hpp"

namespace odyn::cli {
namespace {

struct DetExpTraceOptions {
  int n = 8;
  int trials = 10;
  std::uint64_t seed = 42;
  std::string family = "random";
  double scale = 1.0;
  std::string matrix;
  bool json = false;
};

struct Row {
  int trial;
  std::string family;
  Eigen::Index n;
  double norm1;
  linalg::IdentityCheck check;
};

nlohmann::json number_or_null(double v) {
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
}

nlohmann::json to_json(const Row& r, const DetExpTraceOptions& o) {
  const auto number = number_or_null;
  const linalg::IdentityCheck& c = r.check;
  nlohmann::json j = {{"name", c.name},
                      {"lhs", number(c.lhs)},
                      {"rhs", number(c.rhs)},
                      {"abs_error", number(c.abs_error)},
                      {"rel_error", number(c.rel_error)},
                      {"tolerance", number(c.tolerance)},
                      {"metric", c.metric},
                      {"passed", c.passed},
                      {"condition", number(c.condition)},
                      {"norm1", number(r.norm1)},
                      {"n", r.n},
                      {"trial", r.trial},
                      {"family", r.family}};
  if (o.matrix.empty()) j["seed"] = o.seed;
  if (!c.note.empty()) j["note"] = c.note;
  return j;
}

void print_table(const std::vector<Row>& rows, std::ostream& out) {
  char line[256];
  std::snprintf(line, sizeof line, "%5s  %-9s %4s  %-22s  %10s  %9s  %23s  %23s  %9s  %9s  %s\n", "trial", "family",
                "n", "check", "||A||_1", "kappa", "lhs", "rhs", "error", "tolerance", "ok");
  out << line;
  for (const Row& r : rows) {
    const linalg::IdentityCheck& c = r.check;
    const double err = c.metric == "rel_error" ? c.rel_error : c.abs_error;
    std::snprintf(line, sizeof line, "%5d  %-9s %4ld  %-22s  %10.3g  %9.2e  %23.16e  %23.16e  %9.2e  %9.2e  %s\n",
                  r.trial, r.family.c_str(), static_cast<long>(r.n), c.name.c_str(), r.norm1, c.condition, c.lhs, c.rhs,
                  err, c.tolerance, c.passed ? "yes" : "NO");
    out << line;
    if (!c.note.empty()) out << "       " << c.note << '\n';
  }
}

int run_det_exp_trace(const DetExpTraceOptions& o) {
  const bool from_file = !o.matrix.empty();
  const Eigen::MatrixXd file_matrix = from_file ? io::read_matrix(o.matrix) : Eigen::MatrixXd();
  const linalg::MatrixFamily family = linalg::parse_matrix_family(o.family);
  std::mt19937_64 rng(o.seed);

  std::vector<Row> rows;
  const bool tty = ::isatty(STDERR_FILENO);
  const auto start = std::chrono::steady_clock::now();
  const int trials = from_file ? 1 : o.trials;
  for (int t = 0; t < trials; ++t) {
    const Eigen::MatrixXd a = from_file ? file_matrix : linalg::make_test_matrix(family, o.n, rng, o.scale);
    Row r{t, from_file ? "file" : o.family, a.rows(), 0.0, {}};
    if (a.size() > 0 && a.rows() == a.cols()) r.norm1 = a.cwiseAbs().colwise().sum().maxCoeff();
    r.check = linalg::check_det_exp_trace(a);
    rows.push_back(std::move(r));
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (tty && elapsed > 2.0) std::cerr << "\rtrial " << t + 1 << "/" << trials << std::flush;
  }
  if (tty && std::chrono::steady_clock::now() - start > std::chrono::seconds(2)) std::cerr << "\r\n";

  int failed = 0;
  double worst = 0;  // over the checks that passed: the others say why in their notes
  for (const Row& r : rows) {
    if (!r.check.passed)
      ++failed;
    else
      worst = std::max(worst, r.check.metric == "rel_error" ? r.check.rel_error : r.check.abs_error);
  }
  if (o.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const Row& r : rows) out.push_back(to_json(r, o));
    std::cout << out.dump(2) << '\n';
  } else {
    print_table(rows, std::cout);
    std::cout << rows.size() - failed << " of " << rows.size() << " checks passed; largest error among them " << worst
              << '\n';
  }
  return failed == 0 ? 0 : 1;
}

// ---- odyn verify [NAME...|--all] ------------------------------------------------------------

struct VerifyOptions {
  std::vector<std::string> names;
  bool all = false;
  bool list = false;
  int n = 8;
  int trials = 3;
  std::uint64_t seed = 42;
  std::string scalar = "double";
  std::string family = "random";
  double scale = 1.0;
  bool json = false;
};

struct RouteRow {
  int trial;
  std::string route;
  linalg::IdentityCheck check;
};

nlohmann::json to_json(const RouteRow& r, const VerifyOptions& o) {
  const linalg::IdentityCheck& c = r.check;
  nlohmann::json j = {{"check", r.route},
                      {"name", c.name},
                      {"scalar", o.scalar},
                      {"family", o.family},
                      {"n", o.n},
                      {"trial", r.trial},
                      {"seed", o.seed},
                      {"lhs", number_or_null(c.lhs)},
                      {"rhs", number_or_null(c.rhs)},
                      {"abs_error", number_or_null(c.abs_error)},
                      {"rel_error", number_or_null(c.rel_error)},
                      {"metric", c.metric},
                      {"tolerance", number_or_null(c.tolerance)},
                      {"condition", number_or_null(c.condition)},
                      {"passed", c.passed}};
  if (o.scalar == "complex") {
    j["lhs_imag"] = number_or_null(c.lhs_imag);
    j["rhs_imag"] = number_or_null(c.rhs_imag);
  }
  if (!c.note.empty()) j["note"] = c.note;
  nlohmann::json details = nlohmann::json::object();
  for (const linalg::CheckDetail& d : c.details) details[d.name] = number_or_null(d.value);
  j["details"] = details;
  return j;
}

std::string format_side(double re, double im, bool complex) {
  char text[64];
  if (complex) {
    std::snprintf(text, sizeof text, "%.6e%+.6ei", re, im);
  } else {
    std::snprintf(text, sizeof text, "%.16e", re);
  }
  return text;
}

void print_route_table(const std::vector<RouteRow>& rows, const VerifyOptions& o, std::ostream& out) {
  const bool complex = o.scalar == "complex";
  out << "scalar " << o.scalar << ", family " << o.family << ", n = " << o.n << ", scale " << o.scale << ", seed "
      << o.seed << "\n";
  char line[512];
  std::snprintf(line, sizeof line, "%5s  %-16s  %-3s  %9s  %27s  %27s  %9s  %9s  %s\n", "trial", "check", "err",
                "condition", "lhs", "rhs", "error", "tolerance", "ok");
  out << line;
  for (const RouteRow& r : rows) {
    const linalg::IdentityCheck& c = r.check;
    const double err = c.metric == "rel_error" ? c.rel_error : c.abs_error;
    std::snprintf(line, sizeof line, "%5d  %-16s  %-3s  %9.2e  %27s  %27s  %9.2e  %9.2e  %s\n", r.trial,
                  r.route.c_str(), c.metric == "rel_error" ? "rel" : "abs", c.condition,
                  format_side(c.lhs, c.lhs_imag, complex).c_str(), format_side(c.rhs, c.rhs_imag, complex).c_str(), err,
                  c.tolerance, c.passed ? "yes" : "NO");
    out << line;
    if (!c.note.empty()) out << "       " << c.name << ": " << c.note << '\n';
  }
}

template <class Scalar>
std::vector<RouteRow> run_routes(const VerifyOptions& o, const std::vector<linalg::identities::Route>& routes) {
  namespace id = linalg::identities;
  const linalg::MatrixFamily family = linalg::parse_matrix_family(o.family);
  std::mt19937_64 rng(o.seed);
  std::vector<RouteRow> rows;
  const bool tty = ::isatty(STDERR_FILENO);
  const auto start = std::chrono::steady_clock::now();
  const std::size_t total = routes.size() * static_cast<std::size_t>(o.trials);
  bool progress_shown = false;
  for (int t = 0; t < o.trials; ++t) {
    const id::Matrix<Scalar> a = id::test_matrix<Scalar>(family, o.n, rng, o.scale);
    for (const id::Route route : routes) {
      rows.push_back({t, id::to_string(route), id::check<Scalar>(route, a)});
      const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (tty && elapsed > 2.0) {
        std::cerr << "\rcheck " << rows.size() << "/" << total << std::flush;
        progress_shown = true;
      }
    }
  }
  if (progress_shown) std::cerr << "\r\n";
  return rows;
}

int run_verify(const VerifyOptions& o) {
  namespace id = linalg::identities;
  if (o.list) {
    for (const id::RouteInfo& r : id::routes()) {
      char line[256];
      std::snprintf(line, sizeof line, "%-16s  %s\n", r.name.c_str(), r.summary.c_str());
      std::cout << line;
    }
    return 0;
  }
  if (o.names.empty() && !o.all) {
    throw CLI::ValidationError("odyn verify: expected check names, --all or --list, or the command det-exp-trace");
  }
  std::vector<id::Route> routes;
  if (o.all) {
    for (const id::RouteInfo& r : id::routes()) {
      if (r.route != id::Route::jacobi_jet || ODYN_HAVE_CERES) routes.push_back(r.route);
    }
  } else {
    for (const std::string& name : o.names) routes.push_back(id::parse_route(name));
  }
  std::vector<RouteRow> rows;
  if (o.scalar == "float") {
    rows = run_routes<float>(o, routes);
  } else if (o.scalar == "double") {
    rows = run_routes<double>(o, routes);
  } else if (o.scalar == "complex") {
    rows = run_routes<std::complex<double>>(o, routes);
  } else {
    rows = run_routes<mp50>(o, routes);
  }

  std::size_t passed = 0;
  double worst = 0;  // error / tolerance over the checks that passed
  for (const RouteRow& r : rows) {
    if (!r.check.passed) continue;
    ++passed;
    const double err = r.check.metric == "rel_error" ? r.check.rel_error : r.check.abs_error;
    if (r.check.tolerance > 0) worst = std::max(worst, err / r.check.tolerance);
  }
  if (o.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const RouteRow& r : rows) out.push_back(to_json(r, o));
    std::cout << out.dump(2) << '\n';
  } else {
    print_route_table(rows, o, std::cout);
    std::cout << passed << " of " << rows.size() << " checks passed; largest error / tolerance among them " << worst
              << '\n';
  }
  return passed == rows.size() ? 0 : 1;
}

}  // namespace

const CLI::Validator kUnsignedInteger(
    [](std::string& s) {
      std::uint64_t v;
      const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
      return !s.empty() && ec == std::errc() && end == s.data() + s.size()
                 ? std::string()
                 : "expected an integer from 0 to 2^64 - 1, got '" + s + "'";
    },
    "UINT");


void add_verify_command(CLI::App& app, int& status) {
  CLI::App* verify = app.add_subcommand(
      "verify",
      "Verify det(exp A) = exp(tr A) and the identities around it by several routes (see --list) on random test "
      "matrices, in float, double, complex or 50-digit arithmetic. Each check compares two computed sides "
      "against a tolerance derived from the problem's conditioning; exit status 0 if all pass, 1 if any fails "
      "or is inconclusive, 2 on bad input. The command det-exp-trace keeps the original single check.");
  auto v = std::make_shared<VerifyOptions>();
  verify->add_option("names", v->names, "Checks to run (see --list)");
  verify->add_flag("--all", v->all, "Run every check")->excludes("names");
  verify->add_flag("--list", v->list, "List the checks with one-line descriptions and exit");
  verify->add_option("--n", v->n, "Matrix size")
      ->check(CLI::TypeValidator<int>("an integer"))
      ->check(CLI::Range(1, 500))
      ->capture_default_str();
  verify->add_option("--trials", v->trials, "Number of random matrices; every check runs on each")
      ->check(CLI::TypeValidator<int>("an integer"))
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  verify->add_option("--seed", v->seed, "Random seed")->check(kUnsignedInteger)->capture_default_str();
  verify->add_option("--scalar", v->scalar, "Arithmetic: float, double, complex (complex<double>) or mp50 (50 digits)")
      ->check(CLI::IsMember(linalg::identities::scalar_names()))
      ->capture_default_str();
  verify->add_option("--family", v->family, "Test matrix family")
      ->check(CLI::IsMember(linalg::matrix_family_names()))
      ->capture_default_str();
  verify->add_option("--scale", v->scale, "Spectral scale of the test matrices")
      ->check(CLI::Range(0.0, 1e6))
      ->capture_default_str();
  verify->add_flag("--json", v->json, "Print a JSON array with one object per check");

  auto o = std::make_shared<DetExpTraceOptions>();
  CLI::App* det = verify->add_subcommand(
      "det-exp-trace",
      "Compare det(exp A) with exp(tr A) (log|det exp A| with tr A where the determinant would overflow) "
      "on random test matrices or on a matrix file; exit status 1 if a check fails");
  auto* n = det->add_option("--n", o->n, "Matrix size")
                ->check(CLI::TypeValidator<int>("an integer"))
                ->check(CLI::Range(1, 2000))
                ->capture_default_str();
  auto* trials = det->add_option("--trials", o->trials, "Number of random matrices")
                     ->check(CLI::TypeValidator<int>("an integer"))
                     ->check(CLI::Range(1, 1000000))
                     ->capture_default_str();
  auto* seed = det->add_option("--seed", o->seed, "Random seed")->check(kUnsignedInteger)->capture_default_str();
  auto* family = det->add_option("--family", o->family, "Test matrix family")
                     ->check(CLI::IsMember(linalg::matrix_family_names()))
                     ->capture_default_str();
  auto* scale = det->add_option("--scale", o->scale, "Spectral scale of the test matrices")
                    ->check(CLI::Range(0.0, 1e6))
                    ->capture_default_str();
  det->add_option("--matrix", o->matrix, "Check this square matrix instead (text or .npy file)")
      ->check(CLI::ExistingFile)
      ->excludes(n, trials, seed, family)
      ->excludes(scale);
  det->add_flag("--json", o->json, "Print a JSON array with one object per check");
  det->callback([o, &status] { status = run_det_exp_trace(*o); });
  // Runs after det-exp-trace's callback when that command was given.
  verify->callback([v, det, &status] {
    if (!det->parsed()) status = run_verify(*v);
  });
}

}  // namespace odyn::cli
