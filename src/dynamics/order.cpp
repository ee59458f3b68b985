#include "odyn/dynamics/order.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <optional>

#include "odyn/config.hpp"
#include "odyn/core/error.hpp"
#include "odyn/dynamics/flows.hpp"
#include "odyn/dynamics/odeint.hpp"

namespace odyn::dynamics {
namespace {

using detail::require;

std::string fmt(const char* format, double a, double b = 0, double c = 0) {
  char buf[160];
  std::snprintf(buf, sizeof buf, format, a, b, c);
  return buf;
}

// L + (wd/2) |x|^2: the problem whose gradient is torch's L2 weight decay g + wd x.
class WithWeightDecay final : public Problem {
 public:
  WithWeightDecay(const Problem& p, double wd) : p_(&p), wd_(wd) {}
  std::string name() const override { return p_->name(); }
  Eigen::Index dim() const override { return p_->dim(); }
  double value(const Vector& x) const override { return p_->value(x) + 0.5 * wd_ * x.squaredNorm(); }
  void gradient(const Vector& x, Vector& g) const override {
    p_->gradient(x, g);
    g += wd_ * x;
  }
  using Problem::gradient;
  void hessian_vector(const Vector& x, const Vector& v, Vector& hv) const override {
    p_->hessian_vector(x, v, hv);
    hv += wd_ * v;
  }
  bool exact_hessian_vector() const override { return p_->exact_hessian_vector(); }
  Vector default_start() const override { return p_->default_start(); }

 private:
  const Problem* p_;
  double wd_;
};

// The flow of one optimizer with its parameters.
struct Spec {
  enum class Type { gradient, modified, heavy_ball, nesterov, adam, rmsprop };
  Type type = Type::gradient;
  FlowMatch match;
  double weight_decay = 0, friction = 1, r = 3, k1 = 0, k2 = 0, eps = 0;
  bool eps_inside = false;
};

Spec resolve(const std::string& name, const OptimizerSettings& s, double lr, FlowKind kind) {
  const std::string where = "matching_flow: ";
  make_optimizer(name, s);  // unknown names and out-of-range hyper-parameters throw here
  require(std::isfinite(lr) && lr > 0, where + "the learning rate must be finite and > 0");
  const bool modified = kind == FlowKind::modified;
  const auto no_modified = [&] {
    require(!modified, where +
                           "the modified flow is implemented for gradient descent (sgd without momentum) only, "
                           "not for " +
                           name);
  };
  Spec spec;
  if (name == "sgd" || name == "momentum" || name == "nesterov") {
    const double beta = or_default(s.momentum, name == "sgd" ? 0.0 : 0.9);
    require(s.dampening == 0, where + "no flow for SGD with dampening");
    require(beta < 1, where + "momentum must be < 1 for a flow (the time scale is 1 / (1 - momentum))");
    spec.weight_decay = or_default(s.weight_decay, 0);
    if (beta == 0) {
      spec.type = modified ? Spec::Type::modified : Spec::Type::gradient;
      spec.match.description = modified ? fmt("modified gradient flow, h = %g", lr) : "gradient flow";
    } else {
      no_modified();
      spec.match.time_scale = 1 / (1 - beta);
      spec.match.description = fmt("gradient flow at t / (1 - beta), beta = %g", beta);
    }
  } else if (name == "heavy-ball" || name == "nesterov-midpoint") {
    no_modified();
    spec.type = Spec::Type::heavy_ball;
    spec.friction = s.friction;
    spec.match.description = fmt("heavy-ball flow x'' + lambda x' = -grad L, lambda = %g", s.friction);
  } else if (name == "nesterov-accelerated") {
    no_modified();
    spec.type = Spec::Type::nesterov;
    spec.r = s.r;
    spec.match.description = fmt("Nesterov flow X'' + (r/t) X' = -grad L, r = %g", s.r);
  } else if (name == "adam" || name == "adamw") {
    no_modified();
    spec.weight_decay = or_default(s.weight_decay, name == "adamw" ? 1e-2 : 0.0);
    require(
        name == "adam" || spec.weight_decay == 0,
        where + "adamw's decoupled weight decay has no flow here (set the weight decay to 0, or use adam's L2 form)");
    require(!s.amsgrad, where + "adam with amsgrad has no flow here");
    spec.type = Spec::Type::adam;
    spec.k1 = (1 - s.beta1) / lr;
    spec.k2 = (1 - s.beta2) / lr;
    spec.eps = or_default(s.eps, 1e-8);
    spec.match.description = fmt("Adam flow, k1 = %g, k2 = %g, eps = %g", spec.k1, spec.k2, spec.eps);
  } else if (name == "rmsprop") {
    no_modified();
    require(or_default(s.momentum, 0) == 0, where + "rmsprop with momentum has no flow here");
    require(!s.centered, where + "centered rmsprop has no flow here");
    spec.type = Spec::Type::rmsprop;
    spec.weight_decay = or_default(s.weight_decay, 0);
    spec.k1 = (1 - s.alpha) / lr;
    spec.eps = or_default(s.eps, 1e-8);
    spec.eps_inside = s.eps_inside;
    spec.match.description = fmt(
        s.eps_inside ? "RMSprop flow, kappa = %g, eps = %g (inside the root)" : "RMSprop flow, kappa = %g, eps = %g",
        spec.k1, spec.eps);
  } else {
    throw InvalidArgument(where + name +
                          " has no flow here (flows exist for sgd, momentum, nesterov, heavy-ball, nesterov-midpoint, "
                          "nesterov-accelerated, adam, adamw and rmsprop)");
  }
  if (spec.weight_decay > 0) spec.match.description += fmt(", on L + (wd/2)|x|^2 with wd = %g", spec.weight_decay);
  return spec;
}

// The first d entries of the state of `system` from s at t0, at each of the nondecreasing times `at`
// (all >= t0), by controlled Dormand-Prince 5(4) with tolerance 1e-12 and first trial step dt.
template <class System>
void sample(const System& system, Vector s, double t0, const std::vector<double>& at, std::size_t first, double dt,
            Eigen::Index d, std::vector<Vector>& out) {
  auto stepper = odeint::make_controlled(1e-12, 1e-12, Dopri5Stepper());
  double t = t0;
  long failures = 0;
  for (std::size_t i = first; i < at.size(); ++i) {
    const double ti = at[i];
    while (t < ti) {
      double h = std::min(dt, ti - t);
      const bool to_end = h >= ti - t;
      double tt = t;
      if (stepper.try_step(system, s, tt, h) == odeint::success) {
        failures = 0;
        t = to_end ? ti : tt;
        dt = to_end ? std::max(dt, h) : h;
        if (!s.allFinite()) throw Error(fmt("matching_flow: the flow left the range of double at time %g", t));
      } else {
        dt = h;
        if (++failures > 500 || !(dt > 0))
          throw Error(fmt("matching_flow: the flow integration failed at time %g (step size underflow)", t));
      }
    }
    out[i] = s.head(d);
  }
}

}  // namespace

std::string to_string(FlowKind kind) {
  return kind == FlowKind::modified ? "modified" : "plain";
}

FlowKind parse_flow_kind(const std::string& name) {
  if (name == "plain") return FlowKind::plain;
  if (name == "modified") return FlowKind::modified;
  throw InvalidArgument("unknown flow kind '" + name + "' (known: plain, modified)");
}

FlowMatch describe_matching_flow(const std::string& optimizer, const OptimizerSettings& settings, double lr,
                                 FlowKind kind) {
  return resolve(optimizer, settings, lr, kind).match;
}

std::vector<Vector> matching_flow(const std::string& optimizer, const OptimizerSettings& settings,
                                  const Problem& problem, const Vector& x0, double lr, const std::vector<double>& times,
                                  FlowKind kind) {
  const Spec spec = resolve(optimizer, settings, lr, kind);
  problem.check_point(x0, "matching_flow");
  for (std::size_t i = 0; i < times.size(); ++i) {
    require(std::isfinite(times[i]) && times[i] >= 0, "matching_flow: the times must be finite and >= 0");
    require(i == 0 || times[i] >= times[i - 1], "matching_flow: the times must be nondecreasing");
  }
  std::vector<Vector> out(times.size());
  if (times.empty()) return out;
  std::vector<double> at(times.size());
  for (std::size_t i = 0; i < times.size(); ++i) at[i] = times[i] * spec.match.time_scale;

  std::optional<WithWeightDecay> regularised;
  if (spec.weight_decay > 0) regularised.emplace(problem, spec.weight_decay);
  const Problem& p = regularised ? static_cast<const Problem&>(*regularised) : problem;
  const Eigen::Index d = problem.dim();
  const double end = at.back(), dt = end > 0 ? end / 1000 : 1;
  switch (spec.type) {
    case Spec::Type::gradient:
      sample(GradientFlow(p), x0, 0, at, 0, dt, d, out);
      break;
    case Spec::Type::modified:
      sample(ModifiedGradientFlow(p, lr), x0, 0, at, 0, dt, d, out);
      break;
    case Spec::Type::heavy_ball:
      sample(HeavyBallFlow(p, spec.friction), HeavyBallFlow::initial_state(x0), 0, at, 0, dt, d, out);
      break;
    case Spec::Type::nesterov: {
      // singular at t = 0: the series X = x0 - grad L(x0) t^2 / (2 (1 + r)) up to t0, then odeint
      const NesterovFlow flow(p, spec.r);
      const double t0 = 1e-6 * end;
      std::size_t first = 0;
      for (; first < at.size() && at[first] <= t0; ++first)
        out[first] = at[first] > 0 ? Vector(flow.initial_state(x0, at[first]).head(d)) : x0;
      if (first < at.size()) sample(flow, flow.initial_state(x0, t0), t0, at, first, t0, d, out);
      break;
    }
    case Spec::Type::adam:
      sample(AdamFlow(p, spec.k1, spec.k2, spec.eps), AdamFlow::initial_state(x0), 0, at, 0, dt, d, out);
      break;
    case Spec::Type::rmsprop:
      sample(RmspropFlow(p, spec.k1, spec.eps, spec.eps_inside), RmspropFlow::initial_state(x0), 0, at, 0, dt, d, out);
      break;
  }
  return out;
}

OrderStudy order_study(const std::string& optimizer, const OptimizerSettings& settings, const Problem& problem,
                       const Vector& x0, double time, const std::vector<double>& steps, FlowKind kind) {
  const std::string where = "order_study: ";
  require(!steps.empty(), where + "no step sizes");
  for (std::size_t i = 0; i < steps.size(); ++i) {
    require(std::isfinite(steps[i]) && steps[i] > 0, where + "the step sizes must be finite and > 0");
    for (std::size_t j = 0; j < i; ++j) require(steps[j] != steps[i], where + "the step sizes must be distinct");
  }
  require(std::isfinite(time) && time > 0, where + "the time must be finite and > 0");
  problem.check_point(x0, "order_study");
  const double largest = *std::max_element(steps.begin(), steps.end());
  const bool adaptive = optimizer == "adam" || optimizer == "adamw" || optimizer == "rmsprop";

  OrderStudy study;
  study.flow = describe_matching_flow(optimizer, settings, largest, kind).description;
  for (double h : steps) {
    // Adam's and RMSprop's flow depends on (1 - beta) / h: keep it at its value for the largest step
    OptimizerSettings sh = settings;
    if (adaptive) {
      const double q = h / largest;
      sh.beta1 = 1 - (1 - settings.beta1) * q;
      sh.beta2 = 1 - (1 - settings.beta2) * q;
      sh.alpha = 1 - (1 - settings.alpha) * q;
    }
    const double scale = describe_matching_flow(optimizer, sh, h, kind).time_scale;
    const double n = std::round(time / (h * scale));
    require(n >= 1, where + fmt("the step %g is longer than the time %g (no step to take)", h, time));
    require(n <= 1e7, where + fmt("the step %g needs %g steps to reach the time (at most 1e7)", h, n));
    const auto count = static_cast<long>(n);
    const auto opt = make_optimizer(optimizer, sh);
    const GradientFlow field(problem);
    Vector x = x0;
    for (long k = 0; k < count && x.allFinite(); ++k) opt->do_step(field, x, static_cast<double>(k) * h, h);
    const Vector exact = matching_flow(optimizer, sh, problem, x0, h, {n * h}, kind).front();
    const double err = x.allFinite() ? (x - exact).norm() : std::numeric_limits<double>::infinity();
    study.steps.push_back(h);
    study.errors.push_back(err);
    study.iterations.push_back(count);
  }
  const bool fittable = steps.size() >= 3 && std::all_of(study.errors.begin(), study.errors.end(),
                                                         [](double e) { return std::isfinite(e) && e > 0; });
  if (ODYN_HAVE_CERES && fittable) study.fit = fit_order(study.steps, study.errors);
  return study;
}

}  // namespace odyn::dynamics
