// Flows as odeint systems against closed forms, and sharpness: Lanczos on Hessian-vector products,
// and full-batch gradient descent at the edge of stability (Cohen et al., ICLR 2021).
#include <gtest/gtest.h>

#include <Eigen/Eigenvalues>
#include <cmath>
#include <random>

#include "odyn/core/error.hpp"
#include "odyn/dynamics/flows.hpp"
#include "odyn/dynamics/odeint.hpp"
#include "odyn/dynamics/optimizers.hpp"
#include "odyn/dynamics/stability.hpp"
#include "odyn/linalg/expm.hpp"

using namespace odyn::dynamics;

// On a quadratic the gradient flow is x(t) = exp(-tH) x0 (odyn::linalg::expm) and the modified flow
// of GD with step h is exp(-t (H + h H^2 / 2)) x0.
TEST(Flows, QuadraticFlowsMatchTheMatrixExponential) {
  const Quadratic q = Quadratic::with_spectrum((Vector(3) << 0.5, 2, 6).finished(), 5);
  const Matrix& h = q.hessian();
  const Vector x0 = (Vector(3) << 1, -1, 2).finished();
  const Vector plain = integrate_flow(GradientFlow(q), x0, 0, 2, 1e-13);
  EXPECT_LE((plain - odyn::linalg::expm(Matrix(-2 * h)) * x0).norm(), 1e-10 * x0.norm());
  const double step = 0.05;
  const Vector mod = integrate_flow(ModifiedGradientFlow(q, step), x0, 0, 2, 1e-13);
  EXPECT_LE((mod - odyn::linalg::expm(Matrix(-2 * (h + 0.5 * step * h * h))) * x0).norm(), 1e-10 * x0.norm());
}

// The heavy-ball ODE with friction 1 on L = theta^2 / 2 from (1, 0): e^{-t/2} (cos wt + sin wt / (2w)).
TEST(Flows, HeavyBallFlowClosedForm) {
  const Quadratic q(Matrix::Identity(1, 1));
  const Vector s = integrate_flow(HeavyBallFlow(q, 1), HeavyBallFlow::initial_state(Vector::Ones(1)), 0, 5, 1e-13);
  const double w = std::sqrt(3.0) / 2;
  EXPECT_NEAR(s[0], std::exp(-2.5) * (std::cos(5 * w) + std::sin(5 * w) / (2 * w)), 1e-11);
  EXPECT_THROW(HeavyBallFlow(q, -1), odyn::InvalidArgument);
  EXPECT_THROW(HeavyBallFlow::initial_state(Vector::Ones(2), Vector::Ones(3)), odyn::InvalidArgument);
}

TEST(Flows, RecorderKeepsEveryKthState) {
  const Quadratic q(Matrix::Identity(2, 2));
  Trajectory tr;
  Vector x = Vector::Ones(2);
  odeint::integrate_n_steps(Rk4Stepper(), GradientFlow(q), x, 0.0, 0.1, 10, Recorder(tr, 3));
  ASSERT_EQ(tr.t.size(), 4u);  // steps 0, 3, 6, 9
  EXPECT_NEAR(tr.t[3], 0.9, 1e-15);
  EXPECT_NEAR(tr.x[3][0], std::exp(-0.9), 1e-6);
}

TEST(Sharpness, LanczosFindsTheTopEigenvalue) {
  const Vector spectrum = Vector::LinSpaced(50, 0.1, 5.0);
  Vector s2 = spectrum;
  s2[49] = 12.5;
  const Quadratic q = Quadratic::with_spectrum(s2, 2);
  const Sharpness s = sharpness(q, Vector::Zero(50), 30, 1);
  EXPECT_NEAR(s.value, 12.5, 1e-10);  // a well-separated top eigenvalue converges geometrically
  EXPECT_EQ(s.products, 30);
  // a 3 x 3 problem: the Krylov space is exhausted after 3 products and the answer is exact
  const Quadratic small = Quadratic::with_spectrum((Vector(3) << 1, 2, 3).finished(), 0);
  // (seed 0 for both would make the start vector the first column of Q, an eigenvector)
  const Sharpness t = sharpness(small, Vector::Zero(3), 20, 7);
  EXPECT_NEAR(t.value, 3, 1e-13);
  EXPECT_LE(t.products, 3);
  EXPECT_THROW(sharpness(q, Vector::Zero(3)), odyn::InvalidArgument);
  EXPECT_THROW(sharpness(q, Vector::Zero(50), 0), odyn::InvalidArgument);
}

namespace {
// A 2-32-1 tanh network fitted to y = sin(2 x1) cos(x2) on 64 Gaussian inputs (seed 1).
TanhMlp small_network() {
  std::mt19937_64 rng(1);
  std::normal_distribution<double> normal;
  Matrix x(64, 2), y(64, 1);
  for (int i = 0; i < 64; ++i) {
    x(i, 0) = normal(rng);
    x(i, 1) = normal(rng);
    y(i, 0) = std::sin(2 * x(i, 0)) * std::cos(x(i, 1));
  }
  return TanhMlp(x, y, 32);
}

struct SharpnessTrace {
  std::vector<double> sharpness, loss;
};

SharpnessTrace gradient_descent(const TanhMlp& net, double eta, long steps_n, long every) {
  Vector p = net.initial_parameters(0);
  Sgd gd;
  const GradientFlow field(net);
  SharpnessTrace tr;
  for (long k = 0; k <= steps_n; ++k) {
    if (k % every == 0) {
      tr.sharpness.push_back(sharpness(net, p, 30, 0).value);
      tr.loss.push_back(net.value(p));
    }
    gd.do_step(field, p, 0, eta);
  }
  return tr;
}
}  // namespace

// Edge of stability: full-batch GD drives the sharpness to 2 / eta and holds it there while the loss
// keeps falling non-monotonically. At eta = 0.22 (2/eta = 9.09) the sharpness rises from 8.04; at
// eta = 0.3 (2/eta = 6.67) it falls from 8.04. Measured after step 1000: 8.92-9.26 and 6.63-6.84.
TEST(Sharpness, GradientDescentHoversAtTheEdgeOfStability) {
  const TanhMlp net = small_network();
  for (double eta : {0.22, 0.3}) {
    const SharpnessTrace tr = gradient_descent(net, eta, 6000, 250);
    const double edge = 2 / eta;
    EXPECT_NEAR(tr.sharpness.front(), 8.04, 0.01);
    double mean = 0;
    int count = 0;
    for (std::size_t i = 4; i < tr.sharpness.size(); ++i) {  // from step 1000
      EXPECT_NEAR(tr.sharpness[i], edge, 0.05 * edge) << "eta " << eta << " sample " << i;
      mean += tr.sharpness[i];
      ++count;
    }
    EXPECT_NEAR(mean / count, edge, 0.02 * edge) << eta;
    EXPECT_LT(tr.loss.back(), 0.01 * tr.loss.front());
    bool rose = false;  // non-monotone loss: it goes up somewhere along the way
    for (std::size_t i = 1; i < tr.loss.size(); ++i) rose |= tr.loss[i] > tr.loss[i - 1];
    EXPECT_TRUE(rose) << eta;
  }
  // a small step stays well below its (distant) edge
  const SharpnessTrace calm = gradient_descent(net, 0.05, 2000, 500);
  EXPECT_LT(calm.sharpness.back(), 0.5 * (2 / 0.05));
}
