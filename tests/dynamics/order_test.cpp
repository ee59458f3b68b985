// Optimizers against their continuous-time flows: matching_flow against closed forms, and the
// observed orders of order_study (T = 1, steps 0.01 / 2^k unless stated; the measured halving
// ratios are quoted at each bound).
#include "odyn/dynamics/order.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "odyn/config.hpp"
#include "odyn/core/error.hpp"
#include "odyn/dynamics/problems.hpp"
#include "odyn/linalg/expm.hpp"

namespace dyn = odyn::dynamics;
using dyn::FlowKind;
using dyn::Matrix;
using dyn::Vector;
using odyn::InvalidArgument;

namespace {

#define SKIP_WITHOUT_CERES() \
  if (!ODYN_HAVE_CERES) GTEST_SKIP() << "odyn built without Ceres Solver"

// L = (x^2 + 4 y^2) / 2
dyn::Quadratic diag14() {
  return dyn::Quadratic(Vector((Vector(2) << 1.0, 4.0).finished()).asDiagonal());
}

std::vector<double> halvings(double h, int k) {
  std::vector<double> out;
  for (int i = 0; i <= k; ++i) out.push_back(h / std::pow(2.0, i));
  return out;
}

}  // namespace

// x(t) = x* + exp(-tH) (x0 - x*) for L = x^T H x / 2 - b^T x.
TEST(MatchingFlow, GradientFlowOnAQuadraticIsTheMatrixExponential) {
  const Vector spectrum = (Vector(3) << 0.5, 2.0, 6.0).finished();
  const dyn::Quadratic rotated = dyn::Quadratic::with_spectrum(spectrum, 11);
  const dyn::Quadratic q(rotated.hessian(), (Vector(3) << 1.0, -2.0, 0.5).finished());
  const Vector x0 = (Vector(3) << 1.0, 0.3, -0.7).finished();
  const Vector xstar = *q.known_minimizer();
  const std::vector<double> times = {0, 0.01, 0.25, 0.25, 1, 3};
  const auto xs = dyn::matching_flow("sgd", {}, q, x0, 0.01, times);
  ASSERT_EQ(xs.size(), times.size());
  for (std::size_t i = 0; i < times.size(); ++i) {
    const Vector exact = xstar + odyn::linalg::expm(Matrix(-times[i] * q.hessian())) * (x0 - xstar);
    EXPECT_LT((xs[i] - exact).norm(), 1e-9) << "t = " << times[i];
  }
  // torch-form momentum beta follows the same flow at t / (1 - beta); L2 weight decay adds wd I to H
  dyn::OptimizerSettings s;
  s.momentum = 0.75;
  s.weight_decay = 0.5;
  const auto ms = dyn::matching_flow("sgd", s, q, x0, 0.01, {0.5});
  const Matrix hw = q.hessian() + 0.5 * Matrix::Identity(3, 3);
  const Vector xw = hw.ldlt().solve(q.linear_term());
  const Vector exact = xw + odyn::linalg::expm(Matrix(-(0.5 / 0.25) * hw)) * (x0 - xw);
  EXPECT_LT((ms[0] - exact).norm(), 1e-9);
  EXPECT_NEAR(dyn::describe_matching_flow("momentum", {}, 0.01).time_scale, 10, 1e-12);
}

// Heavy ball on L = x^2 / 2 with lambda = 1 from rest: e^{-t/2} (cos wt + sin wt / (2w)), w = sqrt(3)/2.
// The modified flow of GD with step h on L = a x^2 / 2 is x0 e^{-(a + h a^2 / 2) t}.
TEST(MatchingFlow, HeavyBallAndModifiedFlowClosedForms) {
  const dyn::Quadratic q(Matrix::Identity(1, 1));
  const double w = std::sqrt(3.0) / 2;
  const auto xs = dyn::matching_flow("heavy-ball", {}, q, Vector::Ones(1), 0.1, {1, 5});
  for (double t : {1.0, 5.0}) {
    const double exact = std::exp(-t / 2) * (std::cos(w * t) + std::sin(w * t) / (2 * w));
    EXPECT_NEAR(xs[t == 1 ? 0 : 1][0], exact, 1e-10) << t;
  }
  const double a = 2, h = 0.1;
  const dyn::Quadratic qa(Matrix::Constant(1, 1, a));
  const auto ms = dyn::matching_flow("sgd", {}, qa, Vector::Ones(1), h, {1.5}, FlowKind::modified);
  EXPECT_NEAR(ms[0][0], std::exp(-(a + h * a * a / 2) * 1.5), 1e-10);
}

// The Nesterov ODE with L = lambda x^2 / 2 has X(t) = 2 x0 J1(sqrt(lambda) t) / (sqrt(lambda) t); at
// t = 1e-9 (below the series start t0 = 1e-6 T) and at t = 0 the series gives x0 to 1e-15.
TEST(MatchingFlow, NesterovFlowStartsOnItsSeries) {
  const dyn::Quadratic q(Matrix::Constant(1, 1, 2.0));
  const auto xs = dyn::matching_flow("nesterov-accelerated", {}, q, Vector::Ones(1), 0.01, {0, 1e-9, 2});
  EXPECT_EQ(xs[0][0], 1.0);
  EXPECT_NEAR(xs[1][0], 1.0, 1e-15);
  // 2 J1(u) / u = sum_k (-u^2/4)^k / (k! (k+1)!) at u = 2 sqrt 2
  const double u = 2 * std::sqrt(2.0);
  double series = 0, term = 1;
  for (int k = 0; k < 30; ++k) {
    series += term;
    term *= -(u * u / 4) / ((k + 1.0) * (k + 2.0));
  }
  EXPECT_NEAR(xs[2][0], series, 1e-8);
}

// Gradient descent is first order against the gradient flow (ratios 1.997-2.000) and second order
// against the modified flow of its step (ratios 3.91-3.99).
TEST(OrderStudy, GradientDescentPlainAndModified) {
  SKIP_WITHOUT_CERES();
  const dyn::Quadratic q = diag14();
  const auto hs = halvings(0.01, 4);
  const dyn::OrderStudy plain = dyn::order_study("sgd", {}, q, Vector::Ones(2), 1, hs);
  ASSERT_EQ(plain.errors.size(), hs.size());
  EXPECT_EQ(plain.iterations.front(), 100);
  EXPECT_EQ(plain.iterations.back(), 1600);
  EXPECT_EQ(plain.fit.points, 5);
  EXPECT_NEAR(plain.fit.order, 1, 0.1);
  EXPECT_LE(plain.fit.lower, plain.fit.order);
  EXPECT_GE(plain.fit.upper, plain.fit.order);
  EXPECT_EQ(plain.flow, "gradient flow");
  const dyn::OrderStudy modified = dyn::order_study("sgd", {}, q, Vector::Ones(2), 1, hs, FlowKind::modified);
  EXPECT_NEAR(modified.fit.order, 2, 0.1);
  for (std::size_t i = 0; i < hs.size(); ++i) EXPECT_LT(modified.errors[i], plain.errors[i]);
}

// The leapfrog heavy ball is second order with its consistent start (ratios 4.000), first order from
// v0 = 0 (2.000-2.003); the midpoint Nesterov variant is first order (1.97-2.00).
TEST(OrderStudy, HeavyBallConsistentStartIsSecondOrder) {
  SKIP_WITHOUT_CERES();
  const dyn::Quadratic q = diag14();
  const auto hs = halvings(0.01, 4);
  EXPECT_NEAR(dyn::order_study("heavy-ball", {}, q, Vector::Ones(2), 1, hs).fit.order, 2, 0.1);
  dyn::OptimizerSettings zero;
  zero.consistent_start = false;
  EXPECT_NEAR(dyn::order_study("heavy-ball", zero, q, Vector::Ones(2), 1, hs).fit.order, 1, 0.1);
  EXPECT_NEAR(dyn::order_study("nesterov-midpoint", zero, q, Vector::Ones(2), 1, hs).fit.order, 1, 0.1);
}

// First order: Nesterov's accelerated gradient (ratios 1.995-1.999), Adam with its betas rescaled to
// keep k1 = 10, k2 = 0.1 (1.998-2.000), and momentum beta = 0.9 where the effective step h / (1 - beta)
// is small (steps 1e-3 / 2^k: 2.35, 2.07, 2.03, 2.01). RMSprop converges like sqrt(h) (1.45-1.49).
TEST(OrderStudy, MomentumAdaptiveAndAccelerated) {
  SKIP_WITHOUT_CERES();
  const dyn::Quadratic q = diag14();
  const Vector x0 = Vector::Ones(2);
  const auto hs = halvings(0.01, 4);
  EXPECT_NEAR(dyn::order_study("nesterov-accelerated", {}, q, x0, 1, hs).fit.order, 1, 0.1);
  const dyn::OrderStudy adam = dyn::order_study("adam", {}, q, x0, 1, hs);
  EXPECT_NEAR(adam.fit.order, 1, 0.1);
  EXPECT_NE(adam.flow.find("k1 = 10, k2 = 0.1"), std::string::npos) << adam.flow;
  const dyn::OrderStudy momentum = dyn::order_study("momentum", {}, q, x0, 1, halvings(1e-3, 4));
  EXPECT_EQ(momentum.iterations.front(), 100);  // round(T (1 - beta) / h)
  EXPECT_NEAR(momentum.fit.order, 1, 0.1);
  EXPECT_NEAR(dyn::order_study("rmsprop", {}, q, x0, 1, hs).fit.order, 0.55, 0.1);
}

// Fewer than three steps, or an error that is not finite and positive: no fit.
TEST(OrderStudy, NoFitWithoutThreeUsableErrors) {
  const dyn::Quadratic q = diag14();
  const dyn::OrderStudy two = dyn::order_study("sgd", {}, q, Vector::Ones(2), 1, {0.01, 0.005});
  EXPECT_EQ(two.fit.points, 0);
  EXPECT_GT(two.errors[0], two.errors[1]);
  // GD on curvature 4 is unstable beyond h = 0.5: it diverges over T = 1000 at h = 0.9
  const dyn::OrderStudy diverged = dyn::order_study("sgd", {}, q, Vector::Ones(2), 1000, {0.9, 0.1, 0.05});
  EXPECT_EQ(diverged.fit.points, 0);
  EXPECT_FALSE(std::isfinite(diverged.errors[0]));
}

TEST(OrderStudy, BadInputThrows) {
  const dyn::Quadratic q = diag14();
  const Vector x0 = Vector::Ones(2);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  // combinations without a flow
  EXPECT_THROW(dyn::matching_flow("adagrad", {}, q, x0, 0.01, {1}), InvalidArgument);
  EXPECT_THROW(dyn::matching_flow("error-controlled", {}, q, x0, 0.01, {1}), InvalidArgument);
  EXPECT_THROW(dyn::matching_flow("adamw", {}, q, x0, 0.01, {1}), InvalidArgument);  // weight decay 1e-2
  EXPECT_THROW(dyn::matching_flow("momentum", {}, q, x0, 0.01, {1}, FlowKind::modified), InvalidArgument);
  EXPECT_THROW(dyn::matching_flow("heavy-ball", {}, q, x0, 0.01, {1}, FlowKind::modified), InvalidArgument);
  dyn::OptimizerSettings s;
  s.amsgrad = true;
  EXPECT_THROW(dyn::matching_flow("adam", s, q, x0, 0.01, {1}), InvalidArgument);
  s = {};
  s.centered = true;
  EXPECT_THROW(dyn::matching_flow("rmsprop", s, q, x0, 0.01, {1}), InvalidArgument);
  s = {};
  s.dampening = 0.5;
  EXPECT_THROW(dyn::matching_flow("momentum", s, q, x0, 0.01, {1}), InvalidArgument);
  s = {};
  s.weight_decay = 0;
  EXPECT_NO_THROW(dyn::matching_flow("adamw", s, q, x0, 0.01, {1}));
  EXPECT_THROW(dyn::parse_flow_kind("exact"), InvalidArgument);
  // bad names, steps, points and times
  EXPECT_THROW(dyn::matching_flow("newton", {}, q, x0, 0.01, {1}), InvalidArgument);
  EXPECT_THROW(dyn::matching_flow("sgd", {}, q, x0, 0, {1}), InvalidArgument);
  EXPECT_THROW(dyn::matching_flow("sgd", {}, q, x0, nan, {1}), InvalidArgument);
  EXPECT_THROW(dyn::matching_flow("sgd", {}, q, Vector::Ones(3), 0.01, {1}), InvalidArgument);
  EXPECT_THROW(dyn::matching_flow("sgd", {}, q, x0, 0.01, {1, 0.5}), InvalidArgument);
  EXPECT_THROW(dyn::matching_flow("sgd", {}, q, x0, 0.01, {-1}), InvalidArgument);
  EXPECT_THROW(dyn::order_study("sgd", {}, q, x0, 1, {}), InvalidArgument);
  EXPECT_THROW(dyn::order_study("sgd", {}, q, x0, 1, {0.01, -0.005}), InvalidArgument);
  EXPECT_THROW(dyn::order_study("sgd", {}, q, x0, 1, {0.01, nan}), InvalidArgument);
  EXPECT_THROW(dyn::order_study("sgd", {}, q, x0, 1, {0.01, 0.01, 0.005}), InvalidArgument);
  EXPECT_THROW(dyn::order_study("sgd", {}, q, x0, 0, {0.01}), InvalidArgument);
  EXPECT_THROW(dyn::order_study("sgd", {}, q, x0, 1, {3}), InvalidArgument);     // no step
  EXPECT_THROW(dyn::order_study("sgd", {}, q, x0, 1, {1e-8}), InvalidArgument);  // 1e8 steps
  EXPECT_THROW(dyn::order_study("sgd", {}, q, Vector::Ones(1), 1, {0.01}), InvalidArgument);
}
