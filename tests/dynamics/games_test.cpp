// Part four of the dynamics series: the Dirac GAN under simultaneous gradient play, its Jacobian at
// the equilibrium, and weight averaging (EMA). The reference outcomes are the seed's RK4
// reproductions of the published script (init (phi, theta) = (0.1, 0.2, 0.2, 0.1)).
#include <gtest/gtest.h>

#include <cmath>
#include <complex>

#include "odyn/core/error.hpp"
#include "odyn/dynamics/games.hpp"
#include "odyn/dynamics/odeint.hpp"

using namespace odyn::dynamics;

namespace {

struct Outcome {
  double theta_end = 0, phi_end = 0;
  double theta_min = 1e300, theta_max = 0;  // |theta| over the last 20% of the time
  double phi_min = 1e300, phi_max = 0;      // |phi| over the whole run
};

Outcome play(const DiracGan& game, double t_end, double dt = 0.01) {
  Vector s = (Vector(4) << 0.1, 0.2, 0.2, 0.1).finished();
  Outcome o;
  const auto n = static_cast<std::size_t>(std::lround(t_end / dt));
  odeint::integrate_n_steps(Rk4Stepper(), game, s, 0.0, dt, n, [&](const Vector& x, double t) {
    const double th = x.tail(2).norm(), ph = x.head(2).norm();
    if (t >= 0.8 * t_end) {
      o.theta_min = std::min(o.theta_min, th);
      o.theta_max = std::max(o.theta_max, th);
    }
    o.phi_min = std::min(o.phi_min, ph);
    o.phi_max = std::max(o.phi_max, ph);
  });
  o.theta_end = s.tail(2).norm();
  o.phi_end = s.head(2).norm();
  return o;
}

}  // namespace

TEST(DiracGan, JacobianEigenvaluesAtTheEquilibrium) {
  // non-saturating: J = [[0, -I/2], [I/2, 0]], eigenvalues +-i/2 (purely imaginary: no convergence)
  const DiracGan ns = DiracGan::named("non-saturating");
  for (const auto& ev : ns.eigenvalues(Vector::Zero(4))) {
    EXPECT_NEAR(ev.real(), 0, 1e-9);
    EXPECT_NEAR(std::abs(ev.imag()), 0.5, 1e-9);
  }
  // WGAN-GP with c = 0: -lambda +- i sqrt(1 - lambda^2)
  DiracGan gp = DiracGan::named("wgan-gp");
  for (double lambda : {0.1, 0.5}) {
    gp.lambda = lambda;
    for (const auto& ev : gp.eigenvalues(Vector::Zero(4))) {
      EXPECT_NEAR(ev.real(), -lambda, 1e-9);
      EXPECT_NEAR(std::abs(ev.imag()), std::sqrt(1 - lambda * lambda), 1e-9);
    }
  }
  // GAN-QP's field divides by |phi|: not differentiable at 0
  EXPECT_THROW(DiracGan::named("gan-qp").eigenvalues(Vector::Zero(4)), odyn::InvalidArgument);
}

TEST(DiracGan, OutcomesOfPartFour) {
  // non-saturating, T = 100: never converges; the seed's |theta(100)| = 0.161, last-20% range 0.131-0.228
  const Outcome ns = play(DiracGan::named("non-saturating"), 100);
  EXPECT_NEAR(ns.theta_end, 0.161, 0.005);
  EXPECT_GT(ns.theta_min, 0.08);
  // WGAN, T = 10: |phi| is conserved (phi . phi' = 0) at 0.22361, |theta| oscillates within 0.088-0.399
  const Outcome w = play(DiracGan::named("wgan"), 10);
  EXPECT_NEAR(w.phi_min, std::sqrt(0.05), 1e-6);
  EXPECT_NEAR(w.phi_max, std::sqrt(0.05), 1e-6);
  EXPECT_GT(w.theta_min, 0.08);
  // WGAN-GP, lambda = 0.1, c = 0, T = 40: converges (|theta(40)| = 2.4e-3, decay e^{-0.1 t})
  DiracGan gp = DiracGan::named("wgan-gp");
  gp.lambda = 0.1;
  const Outcome g0 = play(gp, 40);
  EXPECT_NEAR(g0.theta_end, 2.4e-3, 0.1e-3);
  // c = 1: |phi| -> 1 and theta circles at |theta| ~ 0.95-1.0, never converging
  gp.center = 1;
  const Outcome g1 = play(gp, 40);
  EXPECT_NEAR(g1.phi_end, 1.0, 0.02);
  EXPECT_GT(g1.theta_min, 0.9);
  EXPECT_LT(g1.theta_max, 1.05);
  // GAN-QP, lambda = 1 (the script's |phi| normalisation), T = 40: oscillates, |theta(40)| ~ 0.170
  const Outcome qp = play(DiracGan::named("gan-qp"), 40);
  EXPECT_NEAR(qp.theta_end, 0.170, 0.005);
  EXPECT_GT(qp.theta_min, 0.08);
  // GAN-QP with L2 0.1 on the critic, T = 70: converges (|theta(70)| = 5.8e-3)
  DiracGan qp_l2 = DiracGan::named("gan-qp");
  qp_l2.l2 = 0.1;
  const Outcome q2 = play(qp_l2, 70);
  EXPECT_NEAR(q2.theta_end, 5.8e-3, 0.2e-3);
  EXPECT_LT(q2.theta_end, 0.02);
}

// EMA of a pure rotation theta_n = r (cos n dt, sin n dt), dt = 0.01, decay a = 0.999: the average
// settles at |EMA| = (1 - a) r / |e^{i dt} - a| = 0.0996 r, near the centre of the oscillation.
TEST(DiracGan, EmaOfARotationSitsNearTheCentre) {
  const double r = 2.0, dt = 0.01, a = 0.999;
  Ema ema(a);
  for (int n = 0; n < 40000; ++n) ema.update((Vector(2) << r * std::cos(n * dt), r * std::sin(n * dt)).finished());
  const double want = (1 - a) * r / std::abs(std::polar(1.0, dt) - a);
  EXPECT_NEAR(want / r, 0.0996, 1e-4);
  EXPECT_NEAR(ema.average().norm(), want, 1e-3 * want);
  // on the non-saturating Dirac GAN the EMA of theta ends far closer to the equilibrium than theta
  Vector s = (Vector(4) << 0.1, 0.2, 0.2, 0.1).finished();
  Ema theta_avg(0.999);
  odeint::integrate_n_steps(Rk4Stepper(), DiracGan::named("non-saturating"), s, 0.0, 0.01, 10000,
                            [&](const Vector& x, double) { theta_avg.update(x.tail(2)); });
  EXPECT_LT(theta_avg.average().norm(), 0.5 * s.tail(2).norm());
}

TEST(DiracGan, WarmUpAndValidation) {
  Ema warm(0.999, true);
  warm.update(Vector::Zero(1));
  warm.update(Vector::Ones(1));  // step 2 uses min(0.999, 3/12) = 0.25
  EXPECT_NEAR(warm.average()[0], 0.75, 1e-15);
  EXPECT_EQ(warm.count(), 2);
  EXPECT_THROW(Ema(1.0), odyn::InvalidArgument);
  EXPECT_THROW(DiracGan::named("hinge"), odyn::InvalidArgument);
  Vector d;
  EXPECT_THROW(DiracGan::named("wgan")(Vector::Zero(3), d, 0), odyn::InvalidArgument);
}

// B4-8: in one dimension the WGAN critic phi / |phi| is +-1: phi never moves and theta drifts at unit
// speed, so the 1-D Dirac GAN cannot show the oscillation of the 2-D game.
TEST(DiracGan, OneDimensionalWganCannotOscillate) {
  DiracGan w = DiracGan::named("wgan");
  w.dim = 1;
  Vector s = (Vector(2) << 0.3, 0.2).finished();
  odeint::integrate_n_steps(Rk4Stepper(), w, s, 0.0, 0.01, 500);
  EXPECT_NEAR(s[0], 0.3, 1e-12);
  EXPECT_NEAR(s[1], 0.2 + 5.0, 1e-12);
}
