#include "odyn/dynamics/optimizers.hpp"

#include <cmath>
#include <type_traits>

#include "odyn/core/error.hpp"

namespace odyn::dynamics {
namespace {

using detail::require;

bool finite_nonneg(double v) {
  return std::isfinite(v) && v >= 0;
}

}  // namespace

Sgd::Sgd(const Options& o) : o_(o) {
  require(finite_nonneg(o.momentum), "Sgd: momentum must be >= 0");
  require(std::isfinite(o.dampening), "Sgd: dampening must be finite");
  require(finite_nonneg(o.weight_decay), "Sgd: weight_decay must be >= 0");
  require(!o.nesterov || (o.momentum > 0 && o.dampening == 0), "Sgd: nesterov needs momentum > 0 and zero dampening");
}

std::string Sgd::name() const {
  if (o_.momentum == 0) return "sgd";
  return o_.nesterov ? "nesterov" : "momentum";
}

Adagrad::Adagrad(const Options& o) : o_(o) {
  require(finite_nonneg(o.lr_decay), "Adagrad: lr_decay must be >= 0");
  require(finite_nonneg(o.weight_decay), "Adagrad: weight_decay must be >= 0");
  require(finite_nonneg(o.initial_accumulator_value), "Adagrad: initial_accumulator_value must be >= 0");
  require(finite_nonneg(o.eps), "Adagrad: eps must be >= 0");
}

Rmsprop::Rmsprop(const Options& o) : o_(o) {
  require(std::isfinite(o.alpha) && o.alpha >= 0 && o.alpha < 1, "Rmsprop: alpha must be in [0, 1)");
  require(finite_nonneg(o.eps), "Rmsprop: eps must be >= 0");
  require(finite_nonneg(o.weight_decay), "Rmsprop: weight_decay must be >= 0");
  require(finite_nonneg(o.momentum), "Rmsprop: momentum must be >= 0");
}

Adam::Adam(const Options& o) : o_(o) {
  require(std::isfinite(o.beta1) && o.beta1 >= 0 && o.beta1 < 1, "Adam: beta1 must be in [0, 1)");
  require(std::isfinite(o.beta2) && o.beta2 >= 0 && o.beta2 < 1, "Adam: beta2 must be in [0, 1)");
  require(finite_nonneg(o.eps), "Adam: eps must be >= 0");
  require(finite_nonneg(o.weight_decay), "Adam: weight_decay must be >= 0");
}

Adam Adam::adamw(double weight_decay) {
  Options o;
  o.weight_decay = weight_decay;
  o.decoupled = true;
  return Adam(o);
}

MomentumCoefficients leapfrog_coefficients(double friction, double gamma) {
  const double half = 0.5 * friction * gamma;
  return {(1 - half) / (1 + half), gamma * gamma / (1 + half)};
}

MomentumCoefficients implicit_coefficients(double friction, double gamma) {
  return {1 - friction * gamma, gamma * gamma};
}

FrictionAndStep leapfrog_parameters(const MomentumCoefficients& c) {
  require(c.beta > 0 && c.beta < 1 && c.alpha > 0 && std::isfinite(c.alpha),
          "leapfrog_parameters: need 0 < beta < 1 and alpha > 0");
  // beta = (1 - u) / (1 + u) with u = lambda gamma / 2; alpha = gamma^2 / (1 + u)
  const double u = (1 - c.beta) / (1 + c.beta);
  const double gamma = std::sqrt(c.alpha * (1 + u));
  return {2 * u / gamma, gamma};
}

double retuned_momentum(double beta, double r) {
  require(std::isfinite(beta) && beta < 1 && std::isfinite(r) && r > 0, "retuned_momentum: need beta < 1 and r > 0");
  return 1 - (1 - beta) * std::sqrt(r);
}

MomentumCoefficients MomentumRule::at(double dt) const {
  switch (kind) {
    case Kind::leapfrog:
      return leapfrog_coefficients(friction, dt);
    case Kind::implicit:
      return implicit_coefficients(friction, dt);
    case Kind::fixed:
      break;
  }
  return fixed;
}

namespace {
void check_rule(const MomentumRule& rule, const std::string& where) {
  if (rule.kind == MomentumRule::Kind::fixed) {
    require(std::isfinite(rule.fixed.beta) && std::isfinite(rule.fixed.alpha) && rule.fixed.alpha >= 0,
            where + ": fixed coefficients need finite beta and alpha >= 0");
  } else {
    require(finite_nonneg(rule.friction), where + ": the friction must be >= 0");
  }
}
}  // namespace

HeavyBall::HeavyBall(MomentumRule rule, bool consistent_start, Vector initial_velocity)
    : rule_(rule), consistent_start_(consistent_start), eta0_(std::move(initial_velocity)) {
  check_rule(rule, "HeavyBall");
  require(eta0_.allFinite(), "HeavyBall: the initial velocity must be finite");
}

void HeavyBall::start(const Vector& x, double dt) {
  require(eta0_.size() == 0 || eta0_.size() == x.size(), "HeavyBall: the initial velocity must match the state");
  const Vector eta0 = eta0_.size() ? eta0_ : Vector::Zero(x.size());
  if (consistent_start_) {
    // v_0 = gamma eta(-gamma/2) ~ gamma (eta0 - (gamma/2) eta'(0)), eta'(0) = -lambda eta0 - grad L(x0)
    const double lambda = rule_.kind == MomentumRule::Kind::fixed ? 0.0 : rule_.friction;
    v_ = dt * (eta0 + 0.5 * dt * (lambda * eta0 - dir_));
  } else {
    v_ = dt * eta0;
  }
  started_ = true;
}

NesterovMomentum::NesterovMomentum(MomentumRule rule, double lookahead, bool consistent_start)
    : rule_(rule), lookahead_(lookahead), consistent_start_(consistent_start) {
  check_rule(rule, "NesterovMomentum");
  require(std::isfinite(lookahead) && lookahead >= 0, "NesterovMomentum: the look-ahead c must be >= 0");
}

NesterovAccelerated::NesterovAccelerated(double r) : r_(r) {
  require(std::isfinite(r) && r > 0, "NesterovAccelerated: r must be positive");
}

ErrorControlled::ErrorControlled(const Options& o) : o_(o) {
  require(std::isfinite(o.decay) && o.decay >= 0 && o.decay < 1, "ErrorControlled: decay must be in [0, 1)");
  require(finite_nonneg(o.eps), "ErrorControlled: eps must be >= 0");
}

std::vector<std::string> optimizer_names() {
  return {"sgd",
          "momentum",
          "nesterov",
          "adagrad",
          "rmsprop",
          "adam",
          "adamw",
          "heavy-ball",
          "nesterov-midpoint",
          "nesterov-accelerated",
          "error-controlled"};
}

std::optional<TorchFormOptions> torch_form_options(const std::string& name, const OptimizerSettings& s) {
  const double wd = or_default(s.weight_decay, name == "adamw" ? 1e-2 : 0.0);
  if (name == "sgd" || name == "momentum" || name == "nesterov") {
    Sgd::Options o;
    o.momentum = or_default(s.momentum, name == "sgd" ? 0.0 : 0.9);
    o.dampening = s.dampening;
    o.weight_decay = wd;
    o.nesterov = name == "nesterov";
    return o;
  }
  if (name == "adagrad") {
    Adagrad::Options o;
    o.lr_decay = s.lr_decay;
    o.weight_decay = wd;
    o.eps = or_default(s.eps, 1e-10);
    return o;
  }
  if (name == "rmsprop") {
    Rmsprop::Options o;
    o.alpha = s.alpha;
    o.eps = or_default(s.eps, 1e-8);
    o.weight_decay = wd;
    o.momentum = or_default(s.momentum, 0.0);
    o.centered = s.centered;
    o.eps_inside = s.eps_inside;
    return o;
  }
  if (name == "adam" || name == "adamw") {
    Adam::Options o;
    o.beta1 = s.beta1;
    o.beta2 = s.beta2;
    o.eps = or_default(s.eps, 1e-8);
    o.weight_decay = wd;
    o.amsgrad = s.amsgrad;
    o.decoupled = name == "adamw";
    return o;
  }
  return std::nullopt;
}

std::unique_ptr<Optimizer> make_optimizer(const std::string& name, const OptimizerSettings& s) {
  if (const auto options = torch_form_options(name, s)) {
    return std::visit(
        [](const auto& o) -> std::unique_ptr<Optimizer> {
          using O = std::decay_t<decltype(o)>;
          if constexpr (std::is_same_v<O, Sgd::Options>) return std::make_unique<Sgd>(o);
          if constexpr (std::is_same_v<O, Adagrad::Options>) return std::make_unique<Adagrad>(o);
          if constexpr (std::is_same_v<O, Rmsprop::Options>) return std::make_unique<Rmsprop>(o);
          if constexpr (std::is_same_v<O, Adam::Options>) return std::make_unique<Adam>(o);
        },
        *options);
  }
  if (name == "heavy-ball") return std::make_unique<HeavyBall>(MomentumRule::leapfrog(s.friction), s.consistent_start);
  if (name == "nesterov-midpoint")
    return std::make_unique<NesterovMomentum>(MomentumRule::leapfrog(s.friction), 0.5, s.consistent_start);
  if (name == "nesterov-accelerated") return std::make_unique<NesterovAccelerated>(s.r);
  if (name == "error-controlled") {
    ErrorControlled::Options o;
    o.decay = s.decay;
    o.eps = or_default(s.eps, 1e-8);
    o.per_coordinate = !s.scalar;
    return std::make_unique<ErrorControlled>(o);
  }
  std::string names;
  for (const auto& n : optimizer_names()) names += (names.empty() ? "" : ", ") + n;
  throw InvalidArgument("make_optimizer: unknown optimizer '" + name + "' (known: " + names + ")");
}

}  // namespace odyn::dynamics
