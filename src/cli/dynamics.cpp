// odyn dynamics: optimization as dynamics. `run` runs an optimizer on a test problem (optionally beside
// the continuous-time flow it discretises), `order` measures its order of accuracy against that flow,
// `game` integrates the Dirac GAN.
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <complex>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "commands.hpp"
#include "odyn/core/error.hpp"
#include "odyn/dynamics/flows.hpp"
#include "odyn/dynamics/games.hpp"
#include "odyn/dynamics/odeint.hpp"
#include "odyn/dynamics/optimizers.hpp"
#include "odyn/dynamics/order.hpp"
#include "odyn/dynamics/problems.hpp"
#include "odyn/io/atomic_file.hpp"
#include "odyn/io/plot.hpp"

namespace odyn::cli {
namespace {

namespace dyn = odyn::dynamics;
using dyn::Vector;
using nlohmann::json;

constexpr long long kMaxSteps = 100000000;  // per run or game
constexpr double kMaxRecorded = 50000000;   // recorded numbers kept in memory (400 MB)
constexpr long long kAutoRows = 10000;      // rows recorded when --every is not given

void require(bool ok, const std::string& message) {
  if (!ok) throw InvalidArgument(message);
}

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

bool contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// %g-style text for people.
std::string g(double v, int digits = 6) {
  if (std::isnan(v)) return "nan";
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  return buf;
}

// Shortest round-trip decimal, for CSV.
void append_number(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "nan";
    return;
  }
  char buf[32];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  (void)ec;
  out.append(buf, end);
}

json number_or_null(double v) {
  return std::isfinite(v) ? json(v) : json(nullptr);
}

json vector_json(const Vector& x) {
  json a = json::array();
  for (Eigen::Index i = 0; i < x.size(); ++i) a.push_back(number_or_null(x[i]));
  return a;
}

// [a, b, c] with at most `shown` entries (the first ones, then "...").
std::string vector_text(const Vector& x, Eigen::Index shown = 8) {
  std::string s = "[";
  for (Eigen::Index i = 0; i < x.size() && i < shown; ++i) s += (i ? ", " : "") + g(x[i]);
  if (x.size() > shown) s += ", ... (" + std::to_string(x.size()) + " entries)";
  return s + "]";
}

// "a,b,c" as finite numbers; `what` names the option in errors.
std::vector<double> parse_numbers(const std::string& text, const std::string& what) {
  std::vector<double> out;
  std::size_t pos = 0;
  while (true) {
    const std::size_t comma = text.find(',', pos);
    const std::string field = text.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    char* end = nullptr;
    const double v = field.empty() ? 0 : std::strtod(field.c_str(), &end);
    require(!field.empty() && end == field.c_str() + field.size(),
            what + ": expected comma-separated numbers, got '" + text + "'");
    require(std::isfinite(v), what + ": the values must be finite, got '" + field + "'");
    out.push_back(v);
    if (comma == std::string::npos) return out;
    pos = comma + 1;
  }
}

// Fails early (before a long run) when `path` cannot be created: its directory is missing or read-only.
void check_output_path(const std::string& path, const std::string& what) {
  require(!path.empty(), what + ": empty file name");
  const std::size_t slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  require(::access(dir.c_str(), W_OK) == 0,
          what + ": cannot write " + path + " (directory " + dir + " is missing or not writable)");
}

void check_png_path(const std::string& path, const std::string& what) {
  const std::string tail = ".png";
  require(path.size() > tail.size() && path.compare(path.size() - tail.size(), tail.size(), tail) == 0,
          what + ": expected a file name ending in .png, got '" + path + "'");
  check_output_path(path, what);
}

// Progress on stderr ("\rLABEL k/N") once a loop has run for 2 s, when stderr is a terminal.
class Progress {
 public:
  Progress(std::string label, long long total)
      : label_(std::move(label)),
        total_(total),
        tty_(::isatty(STDERR_FILENO)),
        start_(std::chrono::steady_clock::now()) {}
  ~Progress() {
    if (shown_) std::cerr << "\r\n";
  }
  void update(long long done) {
    if (!tty_ || (done & 0xfff) != 0) return;
    if (std::chrono::steady_clock::now() - start_ < std::chrono::seconds(2)) return;
    std::cerr << '\r' << label_ << ' ' << done << '/' << total_ << std::flush;
    shown_ = true;
  }

 private:
  std::string label_;
  long long total_;
  bool tty_, shown_ = false;
  std::chrono::steady_clock::time_point start_;
};

// ---- options shared by run and order ------------------------------------------------------------------------------

struct CommonOptions {
  std::string problem = "quadratic", optimizer = "sgd", x0;
  int dim = 0;
  std::uint64_t seed = 0;
  double momentum = -1, eps = -1, weight_decay = -1, alpha = 0.99, friction = 1, decay = 0.9, r = 3;
  std::string betas;
  bool centered = false, eps_inside = false, amsgrad = false, scalar = false, zero_start = false;
  // options that only some optimizers take
  std::vector<std::pair<CLI::Option*, std::vector<std::string>>> applies;
  std::vector<std::pair<CLI::Option*, const double*>> numbers;
};

void add_common_options(CLI::App* cmd, CommonOptions& c) {
  cmd->add_option("--problem", c.problem, "Test problem: " + join(dyn::problem_names()))->capture_default_str();
  cmd->add_option("--optimizer", c.optimizer, "Optimizer: " + join(dyn::optimizer_names()))->capture_default_str();
  cmd->add_option("--dim", c.dim, "Dimension, for problems that have one (0: the problem's default)")
      ->check(CLI::TypeValidator<int>("an integer"))
      ->check(CLI::Range(0, 2000))
      ->capture_default_str();
  cmd->add_option("--x0", c.x0, "Start point a,b,... (default: the problem's conventional start)");
  cmd->add_option("--seed", c.seed, "Seed of the problem (quadratic rotation, least-squares data) and minibatches")
      ->check(kUnsignedInteger)
      ->capture_default_str();

  const auto number = [&](const std::string& name, double& v, const std::string& help,
                          std::vector<std::string> optimizers) {
    CLI::Option* opt = cmd->add_option(name, v, help + " (" + join(optimizers) + ")");
    c.applies.emplace_back(opt, std::move(optimizers));
    c.numbers.emplace_back(opt, &v);
  };
  const auto flag = [&](const std::string& name, bool& v, const std::string& help,
                        std::vector<std::string> optimizers) {
    CLI::Option* opt = cmd->add_flag(name, v, help + " (" + join(optimizers) + ")");
    c.applies.emplace_back(opt, std::move(optimizers));
  };
  number("--momentum", c.momentum, "Momentum beta; 0.9 for momentum and nesterov when unset",
         {"sgd", "momentum", "nesterov", "rmsprop"});
  CLI::Option* betas = cmd->add_option("--betas", c.betas, "Adam's B1,B2 (default 0.9,0.999) (adam, adamw)");
  c.applies.emplace_back(betas, std::vector<std::string>{"adam", "adamw"});
  number("--eps", c.eps, "Denominator epsilon; the optimizer's default when unset",
         {"adagrad", "rmsprop", "adam", "adamw", "error-controlled"});
  number("--weight-decay", c.weight_decay, "Weight decay; 0 (adamw: 0.01) when unset",
         {"sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw"});
  number("--alpha", c.alpha, "RMSprop's smoothing constant, default 0.99", {"rmsprop"});
  number("--friction", c.friction, "Friction lambda of the heavy-ball ODE, default 1",
         {"heavy-ball", "nesterov-midpoint"});
  number("--decay", c.decay, "Decay of the squared-gradient average, default 0.9", {"error-controlled"});
  number("--r", c.r, "r of X'' + (r/t) X' = -grad L, default 3", {"nesterov-accelerated"});
  flag("--centered", c.centered, "Centered RMSprop", {"rmsprop"});
  flag("--eps-inside", c.eps_inside, "sqrt(v + eps) instead of sqrt(v) + eps", {"rmsprop"});
  flag("--amsgrad", c.amsgrad, "AMSGrad: the running maximum of v", {"adam", "adamw"});
  flag("--scalar", c.scalar, "One step size from |g|^2 instead of one per coordinate", {"error-controlled"});
  flag("--zero-start", c.zero_start, "Start from v0 = 0 instead of the consistent (second-order) start",
       {"heavy-ball", "nesterov-midpoint"});
}

// The optimizer settings, after checking the names and that each option given applies to the optimizer.
dyn::OptimizerSettings settings_of(const CommonOptions& c, const std::string& where) {
  require(contains(dyn::optimizer_names(), c.optimizer),
          where + ": unknown optimizer '" + c.optimizer + "' (known: " + join(dyn::optimizer_names()) + ")");
  for (const auto& [opt, optimizers] : c.applies) {
    require(opt->count() == 0 || contains(optimizers, c.optimizer),
            where + ": " + opt->get_name() + " applies to " + join(optimizers) + ", not to " + c.optimizer);
  }
  for (const auto& [opt, value] : c.numbers) {
    require(opt->count() == 0 || (std::isfinite(*value) && *value >= 0),
            where + ": " + opt->get_name() + " must be finite and >= 0");
  }
  dyn::OptimizerSettings s;
  s.momentum = c.momentum;
  s.eps = c.eps;
  s.weight_decay = c.weight_decay;
  s.alpha = c.alpha;
  s.friction = c.friction;
  s.decay = c.decay;
  s.r = c.r;
  s.centered = c.centered;
  s.eps_inside = c.eps_inside;
  s.amsgrad = c.amsgrad;
  s.scalar = c.scalar;
  s.consistent_start = !c.zero_start;
  if (!c.betas.empty()) {
    const std::vector<double> b = parse_numbers(c.betas, where + ": --betas");
    require(b.size() == 2, where + ": --betas takes two values B1,B2");
    s.beta1 = b[0];
    s.beta2 = b[1];
  }
  dyn::make_optimizer(c.optimizer, s);  // checks the ranges of the hyper-parameters
  return s;
}

struct LoadedProblem {
  std::unique_ptr<dyn::Problem> problem;
  Vector x0;
};

LoadedProblem load_problem(const CommonOptions& c, const std::string& where) {
  require(contains(dyn::problem_names(), c.problem),
          where + ": unknown problem '" + c.problem + "' (known: " + join(dyn::problem_names()) + ")");
  LoadedProblem p;
  p.problem = dyn::make_problem(c.problem, c.dim, c.seed);
  const Eigen::Index d = p.problem->dim();
  if (c.x0.empty()) {
    p.x0 = p.problem->default_start();
  } else {
    const std::vector<double> v = parse_numbers(c.x0, where + ": --x0");
    require(static_cast<Eigen::Index>(v.size()) == d, where + ": --x0 has " + std::to_string(v.size()) +
                                                          " values; problem " + c.problem + " has dimension " +
                                                          std::to_string(d));
    p.x0 = Eigen::Map<const Vector>(v.data(), d);
  }
  return p;
}

// ---- odyn dynamics run ----------------------------------------------------------------------------------------------

struct RunOptions {
  CommonOptions c;
  double lr = 0.01;
  long long steps = 1000, every = 0, batch = 0;
  bool flow = false, modified = false, json = false;
  std::string csv, plot;
};

struct Diverged {
  long long step;
};

struct Row {
  long long step;
  double t;
  Vector x;
};

// A window [lo, hi] around the finite points of xs, at least 10% of `other` wide, padded by 10%.
void window(std::vector<double> xs, double other, double& lo, double& hi) {
  xs.erase(std::remove_if(xs.begin(), xs.end(), [](double v) { return !std::isfinite(v); }), xs.end());
  lo = xs.empty() ? -1 : *std::min_element(xs.begin(), xs.end());
  hi = xs.empty() ? 1 : *std::max_element(xs.begin(), xs.end());
  const double centre = (lo + hi) / 2;
  const double span = std::max({hi - lo, 0.1 * other, 1e-9 * (1 + std::abs(centre))});
  lo = centre - 0.6 * span;
  hi = centre + 0.6 * span;
}

void plot_run(const RunOptions& o, const dyn::Problem& problem, const std::vector<Row>& rows,
              const std::vector<Vector>& flow, const std::vector<double>& loss, const std::vector<double>& flow_loss) {
  io::Plot plot(800, 600);
  plot.set_title(o.c.optimizer + " on " + o.c.problem + ", lr " + g(o.lr) + ", " + std::to_string(o.steps) + " steps" +
                 (o.flow ? " (and its flow)" : ""));
  const std::optional<Vector> xstar = problem.known_minimizer();
  if (problem.dim() == 2) {
    std::vector<double> px, py, fx, fy;
    for (const Row& r : rows) px.push_back(r.x[0]), py.push_back(r.x[1]);
    for (const Vector& x : flow) fx.push_back(x[0]), fy.push_back(x[1]);
    // the window holds the points within 100 times the start's scale (a diverging path leaves it)
    const Vector& x0 = rows.front().x;
    const double reach = 100 * std::max({1.0, x0.norm(), xstar ? (x0 - *xstar).norm() : 0.0});
    std::vector<double> ax, ay;
    const auto take = [&](double a, double b) {
      if (std::hypot(a - x0[0], b - x0[1]) <= reach) ax.push_back(a), ay.push_back(b);
    };
    for (std::size_t i = 0; i < px.size(); ++i) take(px[i], py[i]);
    for (std::size_t i = 0; i < fx.size(); ++i) take(fx[i], fy[i]);
    if (xstar) take((*xstar)[0], (*xstar)[1]);
    double xlo, xhi, ylo, yhi;
    window(ax, 0, xlo, xhi);
    window(ay, xhi - xlo, ylo, yhi);
    window(ax, yhi - ylo, xlo, xhi);  // neither side thinner than a tenth of the other
    yhi += 0.25 * (yhi - ylo);        // room for the legend above the path
    plot.set_field(
        [&problem](double a, double b) {
          Vector v(2);
          v << a, b;
          return problem.value(v);
        },
        xlo, xhi, ylo, yhi, true);
    plot.set_labels("x0", "x1");
    if (o.flow) plot.add_line(fx, fy, io::Color{255, 255, 255}, o.modified ? "modified flow" : "flow");
    plot.add_line(px, py, io::Color{230, 30, 30}, o.c.optimizer);  // over the flow
    plot.add_marker(px.front(), py.front(), io::Color{60, 200, 60}, "start");
    plot.add_marker(px.back(), py.back(), io::Color{255, 150, 0}, "end");
    if (xstar) plot.add_marker((*xstar)[0], (*xstar)[1], io::Color{255, 0, 255}, "minimiser");
  } else {
    std::vector<double> t;
    for (const Row& r : rows) t.push_back(r.t);
    bool positive = false, nonpositive = false;
    for (const auto* series : {&loss, &flow_loss}) {
      for (double v : *series) {
        if (!std::isfinite(v)) continue;
        (v > 0 ? positive : nonpositive) = true;
      }
    }
    plot.set_log_y(positive && !nonpositive);
    plot.set_labels("t", "loss");
    plot.add_line(t, loss, o.c.optimizer);
    if (o.flow) plot.add_line(t, flow_loss, o.modified ? "modified flow" : "flow");
  }
  plot.save(o.plot);
}

void write_run_csv(const std::string& path, const dyn::Problem& problem, const std::vector<Row>& rows,
                   const std::vector<double>& loss, const std::vector<Vector>& flow,
                   const std::vector<double>& flow_loss) {
  io::write_file_atomically(path, [&](std::ostream& out) {
    const Eigen::Index d = problem.dim();
    std::string line = "step,t,loss";
    for (Eigen::Index i = 0; i < d; ++i) line += ",x" + std::to_string(i);
    if (!flow.empty()) {
      line += ",flow_loss";
      for (Eigen::Index i = 0; i < d; ++i) line += ",flow_x" + std::to_string(i);
    }
    out << line << '\n';
    for (std::size_t k = 0; k < rows.size(); ++k) {
      line = std::to_string(rows[k].step);
      const auto put = [&line](double v) {
        line += ',';
        append_number(line, v);
      };
      put(rows[k].t);
      put(loss[k]);
      for (Eigen::Index i = 0; i < d; ++i) put(rows[k].x[i]);
      if (!flow.empty()) {
        put(flow_loss[k]);
        for (Eigen::Index i = 0; i < d; ++i) put(flow[k][i]);
      }
      out << line << '\n';
    }
  });
}

template <class Field>
void integrate_run(dyn::Optimizer& opt, const Field& field, Vector& x, const RunOptions& o, bool record,
                   long long every, std::vector<Row>& rows, std::optional<long long>& diverged) {
  Progress progress("step", o.steps);
  long long step = 0;
  auto observer = [&](const Vector& s, double t) {
    if (record && step % every == 0) rows.push_back({step, t, s});
    if (!s.allFinite()) throw Diverged{step};
    progress.update(step);
    ++step;
  };
  try {
    dyn::odeint::integrate_n_steps(std::ref(opt), field, x, 0.0, o.lr, static_cast<std::size_t>(o.steps), observer);
  } catch (const Diverged& d) {
    diverged = d.step;
  }
}

void run_run(RunOptions& o) {
  const std::string where = "dynamics run";
  require(std::isfinite(o.lr) && o.lr > 0, where + ": --lr must be finite and > 0");
  require(o.steps >= 1 && o.steps <= kMaxSteps, where + ": --steps must be from 1 to 1e8");
  require(o.every >= 0, where + ": --every must be >= 1");
  const dyn::OptimizerSettings settings = settings_of(o.c, where);
  const LoadedProblem loaded = load_problem(o.c, where);
  const dyn::Problem& problem = *loaded.problem;
  const Vector& x0 = loaded.x0;
  const Eigen::Index d = problem.dim();

  const dyn::FiniteSumProblem* finite_sum = nullptr;
  if (o.batch != 0) {
    finite_sum = dynamic_cast<const dyn::FiniteSumProblem*>(&problem);
    require(finite_sum != nullptr, where + ": --batch needs a finite-sum problem; " + o.c.problem + " is not one");
    require(o.batch >= 1 && o.batch <= finite_sum->num_samples(),
            where + ": --batch must be from 1 to the number of samples, " + std::to_string(finite_sum->num_samples()));
  }
  const dyn::FlowKind kind = o.modified ? dyn::FlowKind::modified : dyn::FlowKind::plain;
  dyn::FlowMatch match;
  if (o.flow) {
    try {
      match = dyn::describe_matching_flow(o.c.optimizer, settings, o.lr, kind);
    } catch (const InvalidArgument& e) {
      throw InvalidArgument(where + ": --flow: " + e.what());
    }
  }
  if (!o.csv.empty()) check_output_path(o.csv, where + ": --csv");
  if (!o.plot.empty()) check_png_path(o.plot, where + ": --plot");
  const bool record = !o.csv.empty() || !o.plot.empty();
  const long long every = o.every > 0 ? o.every : std::max(1LL, (o.steps + kAutoRows - 1) / kAutoRows);
  const double recorded = (static_cast<double>(o.steps / every) + 2) * static_cast<double>(d) * (o.flow ? 2 : 1);
  require(!record || recorded <= kMaxRecorded,
          where + ": recording " + g(recorded, 3) + " numbers is too many; choose a larger --every");

  // the run
  const auto opt = dyn::make_optimizer(o.c.optimizer, settings);
  Vector x = x0;
  std::vector<Row> rows;
  std::optional<long long> diverged;
  if (finite_sum) {
    const dyn::MinibatchGradient field(*finite_sum, o.batch, o.c.seed);
    integrate_run(*opt, field, x, o, record, every, rows, diverged);
  } else {
    integrate_run(*opt, dyn::GradientFlow(problem), x, o, record, every, rows, diverged);
  }
  const long long last = diverged ? *diverged : o.steps;
  const double t_end = static_cast<double>(last) * o.lr;
  if (record && (rows.empty() || rows.back().step != last)) rows.push_back({last, t_end, x});

  // the flow at the recorded times and at the end of the run
  std::vector<double> loss, flow_loss;
  std::vector<Vector> flow;
  for (const Row& r : rows) loss.push_back(problem.value(r.x));
  Vector flow_end;
  if (o.flow) {
    std::vector<double> times;
    for (const Row& r : rows) times.push_back(r.t);
    if (times.empty() || times.back() != t_end) times.push_back(t_end);
    flow = dyn::matching_flow(o.c.optimizer, settings, problem, x0, o.lr, times, kind);
    flow_end = flow.back();
    flow.resize(rows.size());
    for (const Vector& f : flow) flow_loss.push_back(problem.value(f));
  }
  if (!o.csv.empty()) write_run_csv(o.csv, problem, rows, loss, flow, flow_loss);
  if (!o.plot.empty()) plot_run(o, problem, rows, flow, loss, flow_loss);

  const double final_loss = problem.value(x);
  const std::optional<Vector> xstar = problem.known_minimizer();
  if (o.json) {
    json j = {{"problem", o.c.problem},
              {"dim", d},
              {"optimizer", o.c.optimizer},
              {"lr", o.lr},
              {"steps", o.steps},
              {"steps_taken", last},
              {"time", t_end},
              {"diverged", diverged.has_value()},
              {"initial_loss", number_or_null(problem.value(x0))},
              {"final_loss", number_or_null(final_loss)},
              {"final_x", vector_json(x)}};
    if (o.batch) j["batch"] = o.batch;
    if (xstar) {
      j["minimizer"] = vector_json(*xstar);
      j["distance_to_minimizer"] = number_or_null((x - *xstar).norm());
    }
    if (o.flow) {
      j["flow"] = {{"kind", dyn::to_string(kind)},     {"description", match.description},
                   {"time_scale", match.time_scale},   {"final_loss", number_or_null(problem.value(flow_end))},
                   {"final_x", vector_json(flow_end)}, {"distance", number_or_null((x - flow_end).norm())}};
    }
    if (!o.csv.empty()) j["csv"] = {{"path", o.csv}, {"rows", rows.size()}};
    if (!o.plot.empty()) j["plot"] = o.plot;
    std::cout << j.dump(2) << '\n';
    return;
  }
  std::cout << o.c.optimizer << " on " << o.c.problem << " (d = " << d << "), lr " << g(o.lr) << ", " << o.steps
            << " steps (t = " << g(static_cast<double>(o.steps) * o.lr) << ")";
  if (o.batch) std::cout << ", minibatches of " << o.batch;
  std::cout << '\n';
  if (diverged) std::cout << "diverged:        the iterate left the range of double at step " << *diverged << '\n';
  std::cout << "initial loss:    " << g(problem.value(x0), 10) << '\n';
  std::cout << "final loss:      " << g(final_loss, 10) << '\n';
  std::cout << "final x:         " << vector_text(x) << '\n';
  if (xstar)
    std::cout << "|x - x*|:        " << g((x - *xstar).norm(), 4) << "  (x* = " << vector_text(*xstar) << ")\n";
  if (o.flow) {
    std::cout << "flow:            " << match.description
              << (match.time_scale != 1 ? " (flow time " + g(match.time_scale * t_end) + ")" : "") << '\n';
    std::cout << "flow final loss: " << g(problem.value(flow_end), 10) << '\n';
    std::cout << "|x - x_flow|:    " << g((x - flow_end).norm(), 4) << '\n';
  }
  if (!o.csv.empty()) std::cout << "csv:             " << o.csv << " (" << rows.size() << " rows)\n";
  if (!o.plot.empty()) std::cout << "plot:            " << o.plot << '\n';
}

// ---- odyn dynamics order --------------------------------------------------------------------------------------------

struct OrderOptions {
  CommonOptions c;
  std::string flow = "plain";
  double time = 1, lr = 0.01;
  int halvings = 4;
  bool json = false;
};

void run_order(const OrderOptions& o) {
  const std::string where = "dynamics order";
  require(std::isfinite(o.time) && o.time > 0, where + ": --time must be finite and > 0");
  require(std::isfinite(o.lr) && o.lr > 0, where + ": --lr must be finite and > 0");
  const dyn::OptimizerSettings settings = settings_of(o.c, where);
  const LoadedProblem loaded = load_problem(o.c, where);
  const dyn::FlowKind kind = dyn::parse_flow_kind(o.flow);
  std::vector<double> steps;
  for (int k = 0; k <= o.halvings; ++k) steps.push_back(std::ldexp(o.lr, -k));
  dyn::OrderStudy study;
  try {
    study = dyn::order_study(o.c.optimizer, settings, *loaded.problem, loaded.x0, o.time, steps, kind);
  } catch (const InvalidArgument& e) {
    throw InvalidArgument(where + ": " + e.what());
  }
  const dyn::OrderFit& fit = study.fit;
  std::string no_fit;
  if (fit.points == 0) {
    no_fit = steps.size() < 3 ? "fewer than 3 step sizes (use --halvings 2 or more)"
             : std::all_of(study.errors.begin(), study.errors.end(), [](double e) { return std::isfinite(e) && e > 0; })
                 ? "odyn was built without Ceres Solver"
                 : "an error is zero or not finite";
  }
  if (o.json) {
    json rows = json::array();
    for (std::size_t i = 0; i < steps.size(); ++i) {
      rows.push_back({{"h", study.steps[i]},
                      {"steps", study.iterations[i]},
                      {"error", number_or_null(study.errors[i])},
                      {"ratio", i ? number_or_null(study.errors[i - 1] / study.errors[i]) : json(nullptr)}});
    }
    json j = {{"optimizer", o.c.optimizer},
              {"problem", o.c.problem},
              {"dim", loaded.problem->dim()},
              {"flow", study.flow},
              {"flow_kind", o.flow},
              {"time", o.time},
              {"rows", rows}};
    if (fit.points > 0) {
      j["order"] = {{"order", fit.order},
                    {"lower", fit.lower},
                    {"upper", fit.upper},
                    {"confidence", fit.confidence},
                    {"constant", fit.constant},
                    {"points", fit.points},
                    {"residual_std", fit.residual_std}};
    } else {
      j["order"] = nullptr;
      j["no_fit"] = no_fit;
    }
    std::cout << j.dump(2) << '\n';
    return;
  }
  std::cout << o.c.optimizer << " on " << o.c.problem << " (d = " << loaded.problem->dim() << ") against the "
            << study.flow << ", T = " << g(o.time) << '\n';
  char line[160];
  std::snprintf(line, sizeof line, "%12s  %10s  %12s  %8s\n", "h", "steps", "error", "ratio");
  std::cout << line;
  for (std::size_t i = 0; i < steps.size(); ++i) {
    char ratio[32] = "";
    if (i) std::snprintf(ratio, sizeof ratio, "%.3f", study.errors[i - 1] / study.errors[i]);
    std::snprintf(line, sizeof line, "%12.6g  %10ld  %12.4e  %8s\n", study.steps[i], study.iterations[i],
                  study.errors[i], ratio);
    std::cout << line;
  }
  if (fit.points > 0) {
    std::snprintf(line, sizeof line, "observed order %.4f, %g%% interval [%.4f, %.4f] (%d step sizes)\n", fit.order,
                  100 * fit.confidence, fit.lower, fit.upper, fit.points);
    std::cout << line;
  } else {
    std::cout << "no order fitted: " << no_fit << '\n';
  }
}

// ---- odyn dynamics game ---------------------------------------------------------------------------------------------

struct GameOptions {
  std::string model, qp_norm = "phi", init = "0.1,0.2,0.2,0.1", csv, plot;
  double lambda = 0, center = 0, l2 = 0, time = 0, dt = 0.01, ema = 0;
  long long every = 0;
  bool json = false, plot_norm = false;
  CLI::Option *lambda_opt = nullptr, *center_opt = nullptr, *qp_opt = nullptr, *time_opt = nullptr, *ema_opt = nullptr;
};

double default_game_time(dyn::DiracGan::Model m) {
  switch (m) {
    case dyn::DiracGan::Model::non_saturating:
      return 100;
    case dyn::DiracGan::Model::wgan:
      return 10;
    default:
      return 40;
  }
}

std::string complex_text(std::complex<double> z) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g%+.6gi", z.real(), z.imag());
  return buf;
}

void run_game(const GameOptions& o) {
  const std::string where = "dynamics game";
  dyn::DiracGan gan = dyn::DiracGan::named(o.model);
  using Model = dyn::DiracGan::Model;
  if (o.lambda_opt->count()) {
    require(gan.model == Model::wgan_gp || gan.model == Model::gan_qp,
            where + ": --lambda applies to wgan-gp and gan-qp");
    require(std::isfinite(o.lambda) && o.lambda > 0, where + ": --lambda must be finite and > 0");
    gan.lambda = o.lambda;
  }
  if (o.center_opt->count()) {
    require(gan.model == Model::wgan_gp, where + ": --center applies to wgan-gp only");
    require(std::isfinite(o.center) && o.center >= 0, where + ": --center must be finite and >= 0");
    gan.center = o.center;
  }
  if (o.qp_opt->count()) {
    require(gan.model == Model::gan_qp, where + ": --qp-norm applies to gan-qp only");
    gan.qp_norm = o.qp_norm == "theta" ? dyn::DiracGan::QpNorm::theta : dyn::DiracGan::QpNorm::phi;
  }
  require(std::isfinite(o.l2) && o.l2 >= 0, where + ": --l2 must be finite and >= 0");
  gan.l2 = o.l2;
  const double time = o.time_opt->count() ? o.time : default_game_time(gan.model);
  require(std::isfinite(time) && time > 0, where + ": --time must be finite and > 0");
  require(std::isfinite(o.dt) && o.dt > 0, where + ": --dt must be finite and > 0");
  const double n_steps = std::round(time / o.dt);
  require(n_steps >= 1 && n_steps <= kMaxSteps,
          where + ": --time / --dt must be from 1 to 1e8 steps, not " + g(n_steps));
  const auto steps = static_cast<long long>(n_steps);
  require(o.every >= 0, where + ": --every must be >= 1");
  std::optional<dyn::Ema> ema;
  if (o.ema_opt->count()) {
    require(std::isfinite(o.ema) && o.ema >= 0 && o.ema < 1, where + ": --ema must be in [0, 1)");
    ema.emplace(o.ema);
  }
  const std::vector<double> init = parse_numbers(o.init, where + ": --init");
  require(init.size() == 4, where + ": --init takes four values phi1,phi2,theta1,theta2");
  if (!o.csv.empty()) check_output_path(o.csv, where + ": --csv");
  if (!o.plot.empty()) check_png_path(o.plot, where + ": --plot");

  // eigenvalues of the Jacobian at the equilibrium 0
  std::vector<std::complex<double>> eig;
  std::string eig_note;
  try {
    eig = gan.eigenvalues(Vector::Zero(4));
  } catch (const Error&) {
    eig_note = "not differentiable at 0";
  }

  // RK4 at step dt; the EMA sees every step
  const bool record = !o.csv.empty() || !o.plot.empty();
  const long long every = o.every > 0 ? o.every : std::max(1LL, (steps + kAutoRows - 1) / kAutoRows);
  struct GameRow {
    double t;
    Vector s, ema;
  };
  std::vector<GameRow> rows;
  const double tail_from = 0.8 * time;
  double tail_min = std::numeric_limits<double>::infinity(), tail_max = 0;
  std::optional<long long> diverged;
  Vector s = Eigen::Map<const Vector>(init.data(), 4);
  {
    Progress progress("step", steps);
    long long step = 0;
    auto observer = [&](const Vector& state, double t) {
      if (ema) ema->update(state);
      if (record && (step % every == 0 || step == steps || !state.allFinite()))
        rows.push_back({t, state, ema ? ema->average() : Vector()});
      if (!state.allFinite()) throw Diverged{step};
      if (t >= tail_from - 1e-9 * time) {
        const double n = state.tail(2).norm();
        tail_min = std::min(tail_min, n);
        tail_max = std::max(tail_max, n);
      }
      progress.update(step);
      ++step;
    };
    try {
      dyn::odeint::integrate_n_steps(dyn::Rk4Stepper(), std::cref(gan), s, 0.0, o.dt, static_cast<std::size_t>(steps),
                                     observer);
    } catch (const Diverged& d) {
      diverged = d.step;
    }
  }
  const double theta_norm = s.tail(2).norm(), phi_norm = s.head(2).norm();
  const std::string verdict = diverged ? "diverged" : theta_norm < 0.02 ? "converges" : "oscillates";

  if (!o.csv.empty()) {
    io::write_file_atomically(o.csv, [&](std::ostream& out) {
      out << "t,phi1,phi2,theta1,theta2" << (ema ? ",ema_theta1,ema_theta2" : "") << '\n';
      std::string line;
      for (const GameRow& r : rows) {
        line.clear();
        append_number(line, r.t);
        for (int i = 0; i < 4; ++i) line += ',', append_number(line, r.s[i]);
        if (ema) {
          for (int i = 2; i < 4; ++i) line += ',', append_number(line, r.ema[i]);
        }
        out << line << '\n';
      }
    });
  }
  if (!o.plot.empty()) {
    io::Plot plot(800, 600);
    plot.set_title("Dirac GAN " + o.model + ", RK4 dt " + g(o.dt) + ", T = " + g(time));
    std::vector<double> t, a, b, n, ea, eb, en;
    for (const GameRow& r : rows) {
      t.push_back(r.t);
      a.push_back(r.s[2]), b.push_back(r.s[3]), n.push_back(r.s.tail(2).norm());
      if (ema) ea.push_back(r.ema[2]), eb.push_back(r.ema[3]), en.push_back(r.ema.tail(2).norm());
    }
    if (o.plot_norm) {
      plot.set_labels("t", "|theta|");
      plot.add_line(t, n, "|theta|");
      if (ema) plot.add_line(t, en, "|EMA theta|");
    } else {
      plot.set_labels("theta1", "theta2");
      plot.add_line(a, b, "theta");
      if (ema) plot.add_line(ea, eb, "EMA of theta");
      plot.add_marker(a.front(), b.front(), io::Color{60, 200, 60}, "start");
      plot.add_marker(a.back(), b.back(), io::Color{230, 40, 40}, "end");
      plot.add_marker(0, 0, io::Color{40, 40, 40}, "equilibrium");
    }
    plot.save(o.plot);
  }

  std::string params;
  if (gan.model == Model::wgan_gp) params = ", lambda " + g(gan.lambda) + ", center " + g(gan.center);
  if (gan.model == Model::gan_qp)
    params = ", lambda " + g(gan.lambda) + ", norm |" +
             std::string(gan.qp_norm == dyn::DiracGan::QpNorm::theta ? "theta" : "phi") + "|";
  if (gan.l2 != 0) params += ", l2 " + g(gan.l2);
  if (o.json) {
    json j = {{"model", o.model},
              {"lambda", gan.lambda},
              {"center", gan.center},
              {"l2", gan.l2},
              {"qp_norm", gan.qp_norm == dyn::DiracGan::QpNorm::theta ? "theta" : "phi"},
              {"time", time},
              {"dt", o.dt},
              {"steps", steps},
              {"init", init},
              {"phi", vector_json(s.head(2))},
              {"theta", vector_json(s.tail(2))},
              {"theta_norm", number_or_null(theta_norm)},
              {"phi_norm", number_or_null(phi_norm)},
              {"theta_norm_last_20pct", {{"min", number_or_null(tail_min)}, {"max", number_or_null(tail_max)}}},
              {"verdict", verdict}};
    if (eig_note.empty()) {
      json e = json::array();
      for (const auto& z : eig) e.push_back({{"re", z.real()}, {"im", z.imag()}});
      j["eigenvalues"] = e;
    } else {
      j["eigenvalues"] = nullptr;
      j["eigenvalues_note"] = eig_note;
    }
    if (diverged) j["diverged_at_step"] = *diverged;
    if (ema) {
      j["ema"] = {{"decay", o.ema},
                  {"theta", vector_json(ema->average().tail(2))},
                  {"theta_norm", number_or_null(ema->average().tail(2).norm())}};
    }
    if (!o.csv.empty()) j["csv"] = {{"path", o.csv}, {"rows", rows.size()}};
    if (!o.plot.empty()) j["plot"] = o.plot;
    std::cout << j.dump(2) << '\n';
    return;
  }
  std::cout << "Dirac GAN " << o.model << params << "; RK4, dt " << g(o.dt) << ", T = " << g(time) << " (" << steps
            << " steps); start phi (" << g(init[0]) << ", " << g(init[1]) << "), theta (" << g(init[2]) << ", "
            << g(init[3]) << ")\n";
  std::cout << "Jacobian eigenvalues at 0: ";
  if (eig_note.empty()) {
    for (std::size_t i = 0; i < eig.size(); ++i) std::cout << (i ? ", " : "") << complex_text(eig[i]);
    std::cout << '\n';
  } else {
    std::cout << eig_note << '\n';
  }
  if (diverged) std::cout << "diverged: the state left the range of double at step " << *diverged << '\n';
  std::cout << "|theta(T)| = " << g(theta_norm, 4) << ", |phi(T)| = " << g(phi_norm, 4) << '\n';
  std::cout << "|theta| over the last 20% of time: min " << g(tail_min, 4) << ", max " << g(tail_max, 4) << '\n';
  std::cout << "verdict: " << verdict
            << (diverged ? "" : " (|theta(T)| " + std::string(theta_norm < 0.02 ? "<" : ">=") + " 0.02)") << '\n';
  if (ema)
    std::cout << "EMA (decay " << g(o.ema) << "): theta_bar(T) = " << vector_text(ema->average().tail(2))
              << ", |theta_bar(T)| = " << g(ema->average().tail(2).norm(), 4) << '\n';
  if (!o.csv.empty()) std::cout << "csv: " << o.csv << " (" << rows.size() << " rows)\n";
  if (!o.plot.empty()) std::cout << "plot: " << o.plot << '\n';
}

}  // namespace

void add_dynamics_command(CLI::App& app, int& status) {
  CLI::App* dynamics = app.add_subcommand(
      "dynamics",
      "Optimization as dynamics: run an optimizer on a test problem beside its continuous-time flow, measure its order "
      "of accuracy against that flow, or integrate the Dirac GAN");

  auto r = std::make_shared<RunOptions>();
  CLI::App* run = dynamics->add_subcommand(
      "run", "Run an optimizer on a test problem; print a summary, write the trajectory (CSV) and a plot (PNG)");
  add_common_options(run, r->c);
  run->add_option("--lr", r->lr, "Learning rate (the time step of heavy-ball and Nesterov forms)")
      ->capture_default_str();
  run->add_option("--steps", r->steps, "Number of steps (1 to 1e8)")->capture_default_str();
  run->add_option("--batch", r->batch, "Minibatch size, drawn with replacement (finite-sum problems only)")
      ->check(CLI::Range(1LL, kMaxSteps));
  auto* flow = run->add_flag("--flow", r->flow, "Also integrate the continuous-time flow the optimizer discretises");
  run->add_flag("--modified", r->modified, "With --flow: the modified flow of gradient descent (sgd only)")
      ->needs(flow);
  run->add_option("--csv", r->csv, "Write step,t,loss,x0,... (and flow_loss,flow_x0,... with --flow) to FILE");
  run->add_option("--plot", r->plot,
                  "Write a PNG: the path over the loss for 2-D problems, otherwise the loss against t");
  run->add_option("--every", r->every, "Record every K-th step (default: at most 10000 rows; the last step always)")
      ->check(CLI::Range(1LL, kMaxSteps));
  run->add_flag("--json", r->json, "Print the summary as a JSON object");
  run->callback([r, &status] {
    run_run(*r);
    status = 0;
  });

  auto o = std::make_shared<OrderOptions>();
  CLI::App* order = dynamics->add_subcommand(
      "order",
      "The global error of an optimizer against its flow at time T for the steps H, H/2, ..., H/2^K, and the "
      "observed order fitted to them with its 95% interval");
  add_common_options(order, o->c);
  order->add_option("--flow", o->flow, "plain, or modified (the modified flow of gradient descent)")
      ->check(CLI::IsMember({"plain", "modified"}))
      ->capture_default_str();
  order->add_option("--time", o->time, "Flow time T at which the errors are measured")->capture_default_str();
  order->add_option("--lr", o->lr, "Largest step H (Adam's and RMSprop's betas apply at H)")->capture_default_str();
  order->add_option("--halvings", o->halvings, "K: the steps are H, H/2, ..., H/2^K")
      ->check(CLI::TypeValidator<int>("an integer"))
      ->check(CLI::Range(0, 30))
      ->capture_default_str();
  order->add_flag("--json", o->json, "Print a JSON object");
  order->callback([o, &status] {
    run_order(*o);
    status = 0;
  });

  auto gm = std::make_shared<GameOptions>();
  CLI::App* game = dynamics->add_subcommand(
      "game",
      "Integrate the Dirac GAN's simultaneous gradient flow with RK4: eigenvalues at the equilibrium, whether theta "
      "converges or oscillates, and optionally its exponential moving average");
  game->add_option("--model", gm->model, "non-saturating, wgan, wgan-gp or gan-qp")
      ->required()
      ->check(CLI::IsMember({"non-saturating", "wgan", "wgan-gp", "gan-qp"}));
  gm->lambda_opt = game->add_option("--lambda", gm->lambda, "Penalty weight (wgan-gp: 0.1, gan-qp: 1)");
  gm->center_opt = game->add_option("--center", gm->center, "wgan-gp: the norm the penalty pulls |phi| to (0)");
  game->add_option("--l2", gm->l2, "Weight decay on the critic")->capture_default_str();
  gm->qp_opt = game->add_option("--qp-norm", gm->qp_norm, "gan-qp: the norm in the penalty, theta or phi (phi)")
                   ->check(CLI::IsMember({"theta", "phi"}));
  gm->time_opt = game->add_option("--time", gm->time, "Time T (non-saturating: 100, wgan: 10, wgan-gp and gan-qp: 40)");
  game->add_option("--dt", gm->dt, "RK4 step")->capture_default_str();
  game->add_option("--init", gm->init, "Start phi1,phi2,theta1,theta2")->capture_default_str();
  gm->ema_opt = game->add_option("--ema", gm->ema, "Also track the EMA of the state with this decay, in [0, 1)");
  game->add_option("--csv", gm->csv, "Write t,phi1,phi2,theta1,theta2[,ema_theta1,ema_theta2] to FILE");
  game->add_option("--plot", gm->plot, "Write a PNG of the theta-plane trajectory (and the EMA path)");
  game->add_flag("--plot-norm", gm->plot_norm, "Plot |theta| against t instead");
  game->add_option("--every", gm->every, "Record every K-th step (default: at most 10000 rows; the last always)")
      ->check(CLI::Range(1LL, kMaxSteps));
  game->add_flag("--json", gm->json, "Print a JSON object");
  game->callback([gm, &status] {
    run_game(*gm);
    status = 0;
  });
}

}  // namespace odyn::cli
