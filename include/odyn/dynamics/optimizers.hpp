// Optimizers as Boost.Odeint steppers on Eigen vectors. See docs/dynamics.md.
//
// An optimizer integrates a gradient field: the odeint system it is given writes the descent
// direction dxdt = -grad L(x) (GradientFlow, MinibatchGradient, or any callable
// f(x, dxdt, t)), and the odeint step size dt is the learning rate of first-order methods and the
// time step gamma of the second-order (leapfrog) forms. So
//
//   Adam adam;  integrate_n_steps(std::ref(adam), GradientFlow(problem), x, 0.0, lr, n, observer)
//
// runs n steps of Adam with learning rate lr; pass std::ref to keep the optimizer's state (odeint
// copies steppers). The torch-form updates (Sgd, Adagrad, Rmsprop, Adam, AdamW) follow
// torch.optim's documented semantics: defaults, first-step momentum buffer, bias correction and
// eps placement, so trajectories agree with PyTorch's.
#pragma once

#include <Eigen/Core>
#include <boost/numeric/odeint/util/unwrap_reference.hpp>
#include <cmath>
#include <functional>
#include <memory>
#include <optional>
#include <variant>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "odyn/dynamics/problems.hpp"
#include "odyn/dynamics/stepper.hpp"

namespace odyn::dynamics {

// A gradient field f(x, dxdt, t) writing dxdt = -grad L(x): the type-erased form of a system.
using GradientField = std::function<void(const Vector&, Vector&, double)>;

namespace detail {
// The object behind an odeint system argument, which may be wrapped in std::ref or boost::ref.
template <class System>
const typename boost::numeric::odeint::unwrap_reference<std::decay_t<System>>::type& unwrap_system(const System& s) {
  return s;
}
inline double sign(double v) {
  return v > 0 ? 1.0 : (v < 0 ? -1.0 : 0.0);
}
}  // namespace detail

// Base of every optimizer: the typedefs of odeint's Stepper concept and a virtual step for use
// through a pointer (make_optimizer). Concrete classes also have a template do_step that calls
// the system directly, without the std::function of the virtual path.
class Optimizer : public VectorStepperTypes {
 public:
  virtual ~Optimizer() = default;
  virtual std::string name() const = 0;
  // Global order of accuracy as an integrator of its flow at t = n dt (1 for all but the
  // leapfrog heavy ball with a consistent start, which is 2).
  virtual order_type order() const { return 1; }
  // Forgets the optimizer's state (buffers, step count): the next step is a first step.
  virtual void reset() = 0;
  // One step of size dt on the field f (dxdt = -grad L).
  virtual void step(const GradientField& field, Vector& x, double t, double dt) = 0;
  virtual std::unique_ptr<Optimizer> clone() const = 0;

  template <class System>
  void do_step(const System& system, Vector& x, double t, double dt) {
    const auto& sys = detail::unwrap_system(system);
    step([&sys](const Vector& y, Vector& d, double s) { sys(y, d, s); }, x, t, dt);
  }
};

// Implements the virtual interface of Optimizer with the derived class's template do_step.
template <class Derived>
class OptimizerBase : public Optimizer {
 public:
  void step(const GradientField& field, Vector& x, double t, double dt) override {
    static_cast<Derived&>(*this).do_step(field, x, t, dt);
  }
  std::unique_ptr<Optimizer> clone() const override {
    return std::make_unique<Derived>(static_cast<const Derived&>(*this));
  }

 protected:
  // dir_ = -grad L(x), as the system writes it. The updates fold the sign into their coefficients
  // and buffers (exact: rounding commutes with negation), which saves a pass over the state.
  template <class System>
  void direction_at(const System& system, const Vector& x, double t) {
    detail::unwrap_system(system)(x, dir_, t);
  }
  Vector dir_;
};

// torch.optim.SGD: g = grad + wd x; with momentum mu, b = g on the first step and
// b = mu b + (1 - dampening) g after; the step is g + mu b (nesterov) or b; x -= lr * step.
class Sgd final : public OptimizerBase<Sgd> {
 public:
  struct Options {
    double momentum = 0, dampening = 0, weight_decay = 0;
    bool nesterov = false;
  };
  Sgd() = default;
  explicit Sgd(const Options& o);
  std::string name() const override;
  void reset() override { started_ = false; }
  const Options& options() const { return o_; }

  template <class System>
  EIGEN_ALWAYS_INLINE void do_step(const System& system, Vector& x, double t, double lr) {
    direction_at(system, x, t);
    if (o_.weight_decay != 0) dir_ -= o_.weight_decay * x;
    if (o_.momentum == 0) {
      x += lr * dir_;
      return;
    }
    if (!started_) {  // buf_ holds -b
      buf_ = dir_;
      started_ = true;
    } else {
      buf_ = o_.momentum * buf_ + (1 - o_.dampening) * dir_;
    }
    if (o_.nesterov) {
      x += lr * (dir_ + o_.momentum * buf_);
    } else {
      x += lr * buf_;
    }
  }

 private:
  Options o_;
  Vector buf_;
  bool started_ = false;
};

// torch.optim.Adagrad: s += g^2, x -= lr / (1 + (k - 1) lr_decay) * g / (sqrt(s) + eps).
class Adagrad final : public OptimizerBase<Adagrad> {
 public:
  struct Options {
    double lr_decay = 0, weight_decay = 0, initial_accumulator_value = 0, eps = 1e-10;
  };
  Adagrad() = default;
  explicit Adagrad(const Options& o);
  std::string name() const override { return "adagrad"; }
  void reset() override { steps_ = 0; }

  template <class System>
  EIGEN_ALWAYS_INLINE void do_step(const System& system, Vector& x, double t, double lr) {
    direction_at(system, x, t);
    if (o_.weight_decay != 0) dir_ -= o_.weight_decay * x;
    if (steps_ == 0) sum_ = Vector::Constant(x.size(), o_.initial_accumulator_value);
    ++steps_;
    const double clr = lr / (1 + static_cast<double>(steps_ - 1) * o_.lr_decay);
    sum_.array() += dir_.array().square();
    x.array() += clr * dir_.array() / (sum_.array().sqrt() + o_.eps);
  }

 private:
  Options o_;
  Vector sum_;
  long steps_ = 0;
};

// torch.optim.RMSprop: v = alpha v + (1 - alpha) g^2; with `centered`, m = alpha m + (1 - alpha) g
// and v - m^2 replaces v; d = sqrt(v) + eps (eps_inside: sqrt(v + eps), the form of part two of
// the dynamics series); with momentum mu, b = mu b + g / d and x -= lr b, else x -= lr g / d.
class Rmsprop final : public OptimizerBase<Rmsprop> {
 public:
  struct Options {
    double alpha = 0.99, eps = 1e-8, weight_decay = 0, momentum = 0;
    bool centered = false, eps_inside = false;
  };
  Rmsprop() = default;
  explicit Rmsprop(const Options& o);
  std::string name() const override { return "rmsprop"; }
  void reset() override { started_ = false; }

  template <class System>
  EIGEN_ALWAYS_INLINE void do_step(const System& system, Vector& x, double t, double lr) {
    direction_at(system, x, t);
    if (o_.weight_decay != 0) dir_ -= o_.weight_decay * x;
    if (!started_) {
      square_avg_ = Vector::Zero(x.size());
      if (o_.centered) grad_avg_ = Vector::Zero(x.size());
      if (o_.momentum != 0) buf_ = Vector::Zero(x.size());
      started_ = true;
    }
    square_avg_.array() = o_.alpha * square_avg_.array() + (1 - o_.alpha) * dir_.array().square();
    // the denominator as an expression: one pass over x, no buffer
    const auto update = [&](const auto& denom) {
      if (o_.momentum != 0) {  // buf_ holds -b
        buf_.array() = o_.momentum * buf_.array() + dir_.array() / denom;
        x += lr * buf_;
      } else {
        x.array() += lr * dir_.array() / denom;
      }
    };
    if (o_.centered) {  // grad_avg_ holds -(the average gradient)
      grad_avg_ = o_.alpha * grad_avg_ + (1 - o_.alpha) * dir_;
      const auto var = square_avg_.array() - grad_avg_.array().square();
      if (o_.eps_inside) {
        update((var + o_.eps).sqrt());
      } else {
        update(var.sqrt() + o_.eps);
      }
    } else if (o_.eps_inside) {
      update((square_avg_.array() + o_.eps).sqrt());
    } else {
      update(square_avg_.array().sqrt() + o_.eps);
    }
  }

 private:
  Options o_;
  Vector square_avg_, grad_avg_, buf_;
  bool started_ = false;
};

// torch.optim.Adam and AdamW: m = b1 m + (1 - b1) g, v = b2 v + (1 - b2) g^2,
// x -= lr / (1 - b1^k) * m / (sqrt(v) / sqrt(1 - b2^k) + eps) (amsgrad: the running maximum of v).
// Adam adds wd x to g (L2); AdamW (decoupled = true) first multiplies x by 1 - lr wd.
class Adam final : public OptimizerBase<Adam> {
 public:
  struct Options {
    double beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0;
    bool amsgrad = false, decoupled = false;
  };
  Adam() = default;
  explicit Adam(const Options& o);
  // AdamW with torch's default weight decay 1e-2.
  static Adam adamw(double weight_decay = 1e-2);
  std::string name() const override { return o_.decoupled ? "adamw" : "adam"; }
  void reset() override { steps_ = 0; }

  template <class System>
  EIGEN_ALWAYS_INLINE void do_step(const System& system, Vector& x, double t, double lr) {
    direction_at(system, x, t);
    if (o_.decoupled) {
      x *= 1 - lr * o_.weight_decay;
    } else if (o_.weight_decay != 0) {
      dir_ -= o_.weight_decay * x;
    }
    if (steps_ == 0) {
      m_ = Vector::Zero(x.size());
      v_ = Vector::Zero(x.size());
      if (o_.amsgrad) vmax_ = Vector::Zero(x.size());
    }
    ++steps_;
    m_ = o_.beta1 * m_ + (1 - o_.beta1) * dir_;  // m_ holds -m
    v_.array() = o_.beta2 * v_.array() + (1 - o_.beta2) * dir_.array().square();
    const double bc1 = 1 - std::pow(o_.beta1, static_cast<double>(steps_));
    const double bc2_sqrt = std::sqrt(1 - std::pow(o_.beta2, static_cast<double>(steps_)));
    const double step_size = lr / bc1;
    if (o_.amsgrad) {
      vmax_ = vmax_.cwiseMax(v_);
      x.array() += step_size * m_.array() / (vmax_.array().sqrt() / bc2_sqrt + o_.eps);
    } else {
      x.array() += step_size * m_.array() / (v_.array().sqrt() / bc2_sqrt + o_.eps);
    }
  }

 private:
  Options o_;
  Vector m_, v_, vmax_;
  long steps_ = 0;
};

// (beta, alpha) of the momentum update v <- beta v - alpha grad, x <- x + v.
struct MomentumCoefficients {
  double beta = 0, alpha = 0;
};
// Leapfrog discretisation (15) of the heavy-ball ODE x'' + lambda x' = -grad L with time step
// gamma: beta = (1 - lambda gamma/2) / (1 + lambda gamma/2), alpha = gamma^2 / (1 + lambda gamma/2).
MomentumCoefficients leapfrog_coefficients(double friction, double gamma);
// The implicit variant (18): beta = 1 - lambda gamma, alpha = gamma^2.
MomentumCoefficients implicit_coefficients(double friction, double gamma);
// The inverse of (15): the friction lambda and time step gamma whose leapfrog coefficients are
// (beta, alpha), for 0 < beta < 1 and alpha > 0.
struct FrictionAndStep {
  double friction = 0, gamma = 0;
};
FrictionAndStep leapfrog_parameters(const MomentumCoefficients& c);
// Part one's rule for keeping the friction when the learning rate changes alpha -> r alpha:
// beta -> 1 - (1 - beta) sqrt(r).
double retuned_momentum(double beta, double r);

// How a momentum method gets (beta, alpha) from the odeint step: from a friction lambda and the
// time step gamma = dt by (15) or (18), or fixed (then dt only advances the time).
struct MomentumRule {
  enum class Kind { leapfrog, implicit, fixed };
  Kind kind = Kind::leapfrog;
  double friction = 1;           // lambda, for leapfrog and implicit
  MomentumCoefficients fixed{};  // for Kind::fixed
  static MomentumRule leapfrog(double friction) { return {Kind::leapfrog, friction, {}}; }
  static MomentumRule implicit(double friction) { return {Kind::implicit, friction, {}}; }
  static MomentumRule constant(double beta, double alpha) { return {Kind::fixed, 0, {beta, alpha}}; }
  MomentumCoefficients at(double dt) const;
};

// Heavy ball in the leapfrog form of part one of the dynamics series, (16):
// v <- beta v - alpha grad L(x), x <- x + v, with x_n ~ x(n gamma) for x'' + lambda x' = -grad L.
// The consistent start v_0 = gamma eta_{-1/2} ~ gamma (eta0 - (gamma/2) eta'(0)) (with eta0 the
// initial velocity, zero by default) makes the method globally second order; v_0 = gamma eta0
// (consistent_start = false) leaves it first order.
class HeavyBall final : public OptimizerBase<HeavyBall> {
 public:
  explicit HeavyBall(MomentumRule rule = MomentumRule::leapfrog(1), bool consistent_start = true,
                     Vector initial_velocity = Vector());
  std::string name() const override { return "heavy-ball"; }
  order_type order() const override { return consistent_start_ && rule_.kind == MomentumRule::Kind::leapfrog ? 2 : 1; }
  void reset() override { started_ = false; }
  const Vector& velocity() const { return v_; }  // v_n: the last displacement

  template <class System>
  EIGEN_ALWAYS_INLINE void do_step(const System& system, Vector& x, double t, double dt) {
    const MomentumCoefficients c = rule_.at(dt);
    direction_at(system, x, t);
    if (!started_) start(x, dt);
    v_ = c.beta * v_ + c.alpha * dir_;
    x += v_;
  }

 private:
  void start(const Vector& x, double dt);  // v_0 from dir_ = -grad L(x_0)
  MomentumRule rule_;
  bool consistent_start_;
  Vector eta0_, v_;
  bool started_ = false;
};

// Nesterov-type momentum with the gradient at a look-ahead point, (20) of part one:
// v <- beta v - alpha grad L(x + c beta v), x <- x + v. c = 1 is standard Nesterov (its iterates
// X_n = x_n + beta v_n are those of torch's SGD(nesterov=True) with momentum beta and lr alpha);
// c = 1/2 is the midpoint-gradient variant. Both are first order in t = n gamma. Starts from v = 0
// (or, with consistent_start, from v_0 as HeavyBall does).
class NesterovMomentum final : public OptimizerBase<NesterovMomentum> {
 public:
  explicit NesterovMomentum(MomentumRule rule = MomentumRule::leapfrog(1), double lookahead = 0.5,
                            bool consistent_start = false);
  std::string name() const override { return lookahead_ == 0.5 ? "nesterov-midpoint" : "nesterov-lookahead"; }
  void reset() override { started_ = false; }
  const Vector& velocity() const { return v_; }

  template <class System>
  EIGEN_ALWAYS_INLINE void do_step(const System& system, Vector& x, double t, double dt) {
    const MomentumCoefficients c = rule_.at(dt);
    if (!started_) {
      v_ = Vector::Zero(x.size());
      if (consistent_start_) {
        direction_at(system, x, t);
        v_ = -(0.5 * dt * dt) * dir_;
      }
      started_ = true;
    }
    probe_ = x + lookahead_ * c.beta * v_;
    direction_at(system, probe_, t);
    v_ = c.beta * v_ + c.alpha * dir_;
    x += v_;
  }

 private:
  MomentumRule rule_;
  double lookahead_;
  bool consistent_start_;
  Vector v_, probe_;
  bool started_ = false;
};

// Nesterov's accelerated gradient as analysed by Su, Boyd & Candes (2016):
// x_k = y_{k-1} - s grad f(y_{k-1}), y_k = x_k + (k - 1)/(k + r - 1) (x_k - x_{k-1}), y_0 = x_0
// (r = 3: the classical (k-1)/(k+2)). The odeint step dt is the time step sqrt(s) of the limit ODE
// X'' + (r/t) X' + grad f(X) = 0, so x_k ~ X(k dt).
class NesterovAccelerated final : public OptimizerBase<NesterovAccelerated> {
 public:
  explicit NesterovAccelerated(double r = 3);
  std::string name() const override { return "nesterov-accelerated"; }
  void reset() override { k_ = 0; }

  template <class System>
  EIGEN_ALWAYS_INLINE void do_step(const System& system, Vector& x, double t, double dt) {
    if (k_ == 0) y_ = x;
    ++k_;
    direction_at(system, y_, t);
    x_prev_ = x;
    x = y_ + (dt * dt) * dir_;
    const double k = static_cast<double>(k_);
    y_ = x + ((k - 1) / (k + r_ - 1)) * (x - x_prev_);
  }

 private:
  double r_;
  long k_ = 0;
  Vector y_, x_prev_;
};

// The error-controlled Euler step of part two of the dynamics series (RMSprop as Su writes it):
// G <- lambda G + (1 - lambda) s, x <- x - dt g / sqrt(G + eps), with s = g (.) g per coordinate or
// s = ||g||^2 for the scalar variant, G_0 = 0. With lambda = 0 and eps = 0 the per-coordinate step
// is dt sign(g) (sign descent) and the scalar one dt g / ||g|| (normalised gradient descent); a
// zero gradient component takes no step.
class ErrorControlled final : public OptimizerBase<ErrorControlled> {
 public:
  struct Options {
    double decay = 0.9, eps = 1e-8;
    bool per_coordinate = true;
  };
  ErrorControlled() = default;
  explicit ErrorControlled(const Options& o);
  std::string name() const override { return "error-controlled"; }
  void reset() override { started_ = false; }

  template <class System>
  EIGEN_ALWAYS_INLINE void do_step(const System& system, Vector& x, double t, double dt) {
    direction_at(system, x, t);
    if (!started_) {
      g2_ = Vector::Zero(o_.per_coordinate ? x.size() : 1);
      started_ = true;
    }
    if (o_.per_coordinate) {
      g2_.array() = o_.decay * g2_.array() + (1 - o_.decay) * dir_.array().square();
      for (Eigen::Index i = 0; i < x.size(); ++i) x[i] += dt * scaled(dir_[i], g2_[i]);  // scaled is odd in g
    } else {
      g2_[0] = o_.decay * g2_[0] + (1 - o_.decay) * dir_.squaredNorm();
      const double d = std::sqrt(g2_[0] + o_.eps);
      if (d > 0 && std::isfinite(d)) {
        x += (dt / d) * dir_;
      } else if ((dir_.array() != 0).any()) {  // G under- or overflowed: the eps = 0, decay = 0 limit g / |g|
        x += (dt / dir_.stableNorm()) * dir_;
      }
    }
  }

 private:
  // g / sqrt(G + eps); 0 when g = 0 (sign(0) = 0), sign(g) when G under- or overflowed
  double scaled(double g, double g2) const {
    if (g == 0) return 0.0;
    const double d = std::sqrt(g2 + o_.eps);
    return d > 0 && std::isfinite(d) ? g / d : detail::sign(g);
  }
  Options o_;
  Vector g2_;
  bool started_ = false;
};

// Hyper-parameters for make_optimizer; a field left unset (negative) takes the optimizer's default.
struct OptimizerSettings {
  double momentum = -1;  // sgd/momentum/nesterov: 0.9 when unset for momentum and nesterov
  double dampening = 0;
  double beta1 = 0.9, beta2 = 0.999;
  double alpha = 0.99;       // RMSprop's smoothing constant
  double eps = -1;           // optimizer default when unset
  double weight_decay = -1;  // 0 (AdamW: 1e-2) when unset
  double lr_decay = 0;       // Adagrad
  double friction = 1;       // heavy-ball and nesterov-midpoint: lambda
  double decay = 0.9;        // error-controlled: lambda of part two
  double r = 3;              // nesterov-accelerated
  bool centered = false, eps_inside = false, amsgrad = false, scalar = false, consistent_start = true;
};

// The value of an OptimizerSettings field, or `fallback` when it is unset (negative).
inline double or_default(double value, double fallback) {
  return value < 0 ? fallback : value;
}

// The options of the torch-form optimizers: sgd, momentum, nesterov, adagrad, rmsprop, adam and adamw.
using TorchFormOptions = std::variant<Sgd::Options, Adagrad::Options, Rmsprop::Options, Adam::Options>;
// The options `settings` give the torch-form optimizer called `name` (unset fields take torch.optim's
// defaults), or nullopt when `name` is not one of them. Shared by make_optimizer and the tensor
// optimizers of odyn::torch.
std::optional<TorchFormOptions> torch_form_options(const std::string& name, const OptimizerSettings& settings);

// The optimizer called `name`: sgd, momentum, nesterov (torch's SGD forms), adagrad, rmsprop, adam,
// adamw, heavy-ball (leapfrog form), nesterov-midpoint, nesterov-accelerated, error-controlled.
// Throws odyn::InvalidArgument for an unknown name or an out-of-range hyper-parameter.
std::unique_ptr<Optimizer> make_optimizer(const std::string& name, const OptimizerSettings& settings = {});
std::vector<std::string> optimizer_names();

}  // namespace odyn::dynamics
