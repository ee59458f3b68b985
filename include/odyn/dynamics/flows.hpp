// Continuous-time flows of optimization as Boost.Odeint systems f(x, dxdt, t) on Eigen vectors,
// stochastic gradients, Langevin/Kramers SDEs and an Euler-Maruyama stepper. See docs/dynamics.md.
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <functional>
#include <limits>
#include <random>
#include <vector>

#include "odyn/dynamics/problems.hpp"
#include "odyn/dynamics/stepper.hpp"

namespace odyn::dynamics {

// Gradient flow x' = -grad L(x), (4) of part one; explicit Euler with step h is gradient descent.
class GradientFlow {
 public:
  explicit GradientFlow(const Problem& p) : p_(&p) {}
  void operator()(const Vector& x, Vector& dxdt, double t) const;
  const Problem& problem() const { return *p_; }

 private:
  const Problem* p_;
};

// The modified flow of gradient descent with step h (Barrett & Dherin 2021; part five):
// x' = -grad(L + (h/4) ||grad L||^2) = -(grad L + (h/2) H grad L). GD follows it with local error
// O(h^3) (O(h^2) for the plain flow).
class ModifiedGradientFlow {
 public:
  ModifiedGradientFlow(const Problem& p, double h);
  void operator()(const Vector& x, Vector& dxdt, double t) const;

 private:
  const Problem* p_;
  double h_;
  mutable Vector g_, hg_;
};

// Heavy-ball ODE x'' + lambda x' = -grad L(x), (10) of part one, as the first-order system
// (11) on the state [x; eta] of size 2d: x' = eta, eta' = -lambda eta - grad L(x).
class HeavyBallFlow {
 public:
  HeavyBallFlow(const Problem& p, double friction);
  void operator()(const Vector& s, Vector& dsdt, double t) const;
  // [x0; eta0]
  static Vector initial_state(const Vector& x0, const Vector& eta0 = Vector());

 private:
  const Problem* p_;
  double friction_;
  mutable Vector g_;
};

// The Nesterov ODE of Su, Boyd & Candes: X'' + (r/t) X' + grad f(X) = 0, X(0) = x0, X'(0) = 0,
// on the state [X; X'] (singular at t = 0: start at t0 > 0 with initial_state).
class NesterovFlow {
 public:
  NesterovFlow(const Problem& p, double r = 3);
  void operator()(const Vector& s, Vector& dsdt, double t) const;
  // [X(t0); X'(t0)] from the series X = x0 - grad f(x0) t^2 / (2 (1 + r)) + O(t^4), for small t0.
  Vector initial_state(const Vector& x0, double t0) const;

 private:
  const Problem* p_;
  double r_;
  mutable Vector g_;
};

// Sign flow x' = -sign(grad L) (elementwise, sign 0 = 0), (eq:rmsprop-1) of part three; along it
// dL/dt = -||grad L||_1.
class SignFlow {
 public:
  explicit SignFlow(const Problem& p) : p_(&p) {}
  void operator()(const Vector& x, Vector& dxdt, double t) const;

 private:
  const Problem* p_;
  mutable Vector g_;
};

// The loss-normalised flow of part three, (eq:me-gd-3):
// x' = -(grad L / ||grad L||) (L - L*) min(1 / ||grad L||, M). With M = infinity, dL/dt = -(L - L*)
// and L(t) - L* = (L(0) - L*) e^{-t}; Euler with step 1 is the Polyak step. A zero gradient is a
// fixed point.
class LossNormalisedFlow {
 public:
  LossNormalisedFlow(const Problem& p, double cap = std::numeric_limits<double>::infinity(), double loss_floor = 0);
  void operator()(const Vector& x, Vector& dxdt, double t) const;

 private:
  const Problem* p_;
  double cap_, floor_;
};

// The continuous-time limit of RMSprop with learning rate h and smoothing alpha, on the state
// [x; v]: x' = -g / (sqrt(v) + eps) (eps_inside: sqrt(v + eps)), v' = kappa (g (.) g - v), with
// kappa = (1 - alpha) / h (one step of RMSprop advances t by h).
class RmspropFlow {
 public:
  RmspropFlow(const Problem& p, double kappa, double eps = 0, bool eps_inside = false);
  void operator()(const Vector& s, Vector& dsdt, double t) const;
  static Vector initial_state(const Vector& x0);  // [x0; 0]

 private:
  const Problem* p_;
  double kappa_, eps_;
  bool eps_inside_;
  mutable Vector g_;
};

// The continuous-time limit of Adam (Barakat & Bianchi 2021) on the state [x; m; v]:
// m' = k1 (g - m), v' = k2 (g (.) g - v), x' = -mhat / (sqrt(vhat) + eps) with the bias corrections
// mhat = m / (1 - e^{-k1 t}), vhat = v / (1 - e^{-k2 t}) (their limits g and g (.) g at t = 0);
// k_i = (1 - beta_i) / h for learning rate h.
class AdamFlow {
 public:
  AdamFlow(const Problem& p, double k1, double k2, double eps = 0);
  void operator()(const Vector& s, Vector& dsdt, double t) const;
  static Vector initial_state(const Vector& x0);  // [x0; 0; 0]

 private:
  const Problem* p_;
  double k1_, k2_, eps_;
  mutable Vector g_;
};

// A stochastic gradient field: dxdt = -(1/B) sum_{i in batch} grad l_i(x) for a minibatch of B
// samples drawn afresh at every call, with replacement or without (a uniformly random subset).
// Its seeded generator advances at each call (pass std::ref to odeint to keep it advancing).
class MinibatchGradient {
 public:
  MinibatchGradient(const FiniteSumProblem& p, Eigen::Index batch, std::uint64_t seed, bool with_replacement = true);
  void operator()(const Vector& x, Vector& dxdt, double t) const;

 private:
  const FiniteSumProblem* p_;
  Eigen::Index batch_;
  bool with_replacement_;
  mutable std::mt19937_64 rng_;
  mutable std::vector<Eigen::Index> idx_, pool_;
};

// The gradient with additive Gaussian noise, dxdt = -(grad L(x) + s xi), xi ~ N(0, I): the model
// theta_{n+1} = theta_n - gamma (grad L + s xi_n) of noisy gradient descent.
class NoisyGradient {
 public:
  NoisyGradient(const Problem& p, double noise, std::uint64_t seed);
  void operator()(const Vector& x, Vector& dxdt, double t) const;

 private:
  const Problem* p_;
  double noise_;
  mutable std::mt19937_64 rng_;
};

// An Ito SDE dX = a(X, t) dt + b(X, t) (.) dW with diagonal noise: the interface the
// Euler-Maruyama stepper expects.
class DiagonalSde {
 public:
  virtual ~DiagonalSde() = default;
  virtual void drift(const Vector& x, double t, Vector& a) const = 0;
  virtual void diffusion(const Vector& x, double t, Vector& b) const = 0;
};

// Overdamped Langevin dtheta = -grad L dt + sigma dW, (8) of part one. Its stationary density is
// proportional to exp(-2 L / sigma^2) (the post's exp(-L/sigma^2) lacks the 2).
class LangevinSde final : public DiagonalSde {
 public:
  LangevinSde(const Problem& p, double sigma);
  void drift(const Vector& x, double t, Vector& a) const override;
  void diffusion(const Vector& x, double t, Vector& b) const override;

 private:
  const Problem* p_;
  double sigma_;
};

// Kramers (underdamped Langevin) on [theta; eta], (21) of part one:
// dtheta = eta dt, deta = (-lambda eta - grad L) dt + sigma dW. For lambda > 0 its stationary density
// is proportional to exp(-(2 lambda / sigma^2) (|eta|^2/2 + L)).
class KramersSde final : public DiagonalSde {
 public:
  KramersSde(const Problem& p, double friction, double sigma);
  void drift(const Vector& s, double t, Vector& a) const override;
  void diffusion(const Vector& s, double t, Vector& b) const override;

 private:
  const Problem* p_;
  double friction_, sigma_;
  mutable Vector g_;
};

// Euler-Maruyama, strong order 1/2 and weak order 1 (odeint has no SDE stepper). Satisfies odeint's
// Stepper concept with a DiagonalSde as the system:
// X <- X + a(X, t) dt + b(X, t) (.) sqrt(dt) xi, xi ~ N(0, I) from the stepper's seeded generator.
class EulerMaruyama : public VectorStepperTypes {
 public:
  explicit EulerMaruyama(std::uint64_t seed) : rng_(seed) {}
  order_type order() const { return 1; }
  void do_step(const DiagonalSde& sde, Vector& x, double t, double dt);
  template <class Sde>
  void do_step(const std::reference_wrapper<Sde>& sde, Vector& x, double t, double dt) {
    do_step(sde.get(), x, t, dt);
  }

 private:
  std::mt19937_64 rng_;
  Vector a_, b_;
};

// An odeint observer that stores every `every`-th state (always the first) with its time.
struct Trajectory {
  std::vector<double> t;
  std::vector<Vector> x;
};
class Recorder {
 public:
  explicit Recorder(Trajectory& out, std::size_t every = 1) : out_(&out), every_(every < 1 ? 1 : every) {}
  void operator()(const Vector& x, double t) {
    if (calls_++ % every_ == 0) {
      out_->t.push_back(t);
      out_->x.push_back(x);
    }
  }

 private:
  Trajectory* out_;
  std::size_t every_, calls_ = 0;
};

}  // namespace odyn::dynamics
