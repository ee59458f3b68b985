// Ceres reference answers: L-BFGS minima of the test problems and the observed order of an
// integrator with its confidence interval.
#include "odyn/dynamics/reference.hpp"

#include <gtest/gtest.h>

#include <Eigen/QR>
#include <cmath>
#include <limits>
#include <vector>

#include "odyn/config.hpp"
#include "odyn/core/error.hpp"
#include "odyn/dynamics/problems.hpp"

namespace dyn = odyn::dynamics;
using dyn::Vector;

namespace {

#define SKIP_WITHOUT_CERES() \
  if (!ODYN_HAVE_CERES) GTEST_SKIP() << "odyn built without Ceres Solver"

Vector vec2(double a, double b) {
  Vector v(2);
  v << a, b;
  return v;
}

const double kNaN = std::numeric_limits<double>::quiet_NaN();

}  // namespace

TEST(ReferenceMinimum, RosenbrockFromClassicStart) {
  SKIP_WITHOUT_CERES();
  const dyn::Rosenbrock problem;
  const dyn::Minimum m = dyn::reference_minimum(problem, vec2(-1.2, 1));
  EXPECT_TRUE(m.converged) << m.message;
  // Gradient tolerance 1e-12 and smallest Hessian eigenvalue ~0.4 at (1, 1) put x within ~1e-11.
  EXPECT_LT((m.x - vec2(1, 1)).norm(), 1e-8) << m.x.transpose() << "\n" << m.message;
  EXPECT_LT(m.value, 1e-16);
  EXPECT_GT(m.iterations, 0);
  EXPECT_FALSE(m.message.empty());
}

TEST(ReferenceMinimum, BealeFromOnes) {
  SKIP_WITHOUT_CERES();
  const dyn::Beale problem;
  const dyn::Minimum m = dyn::reference_minimum(problem, Vector::Ones(2));
  EXPECT_TRUE(m.converged) << m.message;
  // The minimum (3, 0.5) is nondegenerate, so the 1e-12 gradient tolerance gives x to ~1e-11.
  EXPECT_LT((m.x - vec2(3, 0.5)).norm(), 1e-8) << m.x.transpose() << "\n" << m.message;
}

TEST(ReferenceMinimum, IllConditionedQuadratic) {
  SKIP_WITHOUT_CERES();
  const int d = 10;
  Vector spectrum(d), b(d);
  for (int i = 0; i < d; ++i) {
    spectrum(i) = std::pow(100.0, i / double(d - 1));  // log-spaced on [1, 100]
    b(i) = std::sin(1.0 + i);
  }
  const dyn::Quadratic shape = dyn::Quadratic::with_spectrum(spectrum, 7);
  const dyn::Quadratic problem(shape.hessian(), b);
  const Vector expected = shape.hessian().ldlt().solve(b);
  const dyn::Minimum m = dyn::reference_minimum(problem, problem.default_start());
  EXPECT_TRUE(m.converged) << m.message;
  // |x - x*| <= |g| / lambda_min = |g| with |g|_inf <= 1e-12: far inside 1e-9 relative.
  EXPECT_LT((m.x - expected).norm() / expected.norm(), 1e-9) << m.message;
  // Quadratic::gradient(x, g) hides the one-argument Problem::gradient.
  const dyn::Problem& base = problem;
  EXPECT_NEAR(m.gradient_norm, base.gradient(m.x).norm(), 1e-15);
}

TEST(ReferenceMinimum, ConsistentLeastSquares) {
  SKIP_WITHOUT_CERES();
  const dyn::LeastSquares problem = dyn::LeastSquares::random_consistent(50, 5, 11);
  const dyn::Minimum m = dyn::reference_minimum(problem, problem.default_start());
  EXPECT_TRUE(m.converged) << m.message;
  const Vector qr = problem.design().colPivHouseholderQr().solve(problem.target());
  // A^T A / N is near the identity (N = 50, d = 5), so the 1e-12 gradient tolerance bounds the
  // error by ~1e-11; the system is consistent, so the residual is zero up to that error.
  EXPECT_LT((m.x - qr).norm() / qr.norm(), 1e-8) << m.message;
  EXPECT_LT((problem.design() * m.x - problem.target()).norm() / problem.target().norm(), 1e-8);
  EXPECT_LT(m.value, 1e-16);
}

TEST(ReferenceMinimum, IterationLimitIsNotConvergence) {
  SKIP_WITHOUT_CERES();
  dyn::MinimizeOptions options;
  options.max_iterations = 3;
  const dyn::Minimum m = dyn::reference_minimum(dyn::Rosenbrock(), vec2(-1.2, 1), options);
  EXPECT_FALSE(m.converged) << m.message;
  EXPECT_LE(m.iterations, 3);
}

TEST(ReferenceMinimum, RejectsBadInput) {
  const dyn::Rosenbrock problem;
  EXPECT_THROW(dyn::reference_minimum(problem, Vector::Ones(3)), odyn::InvalidArgument);
  EXPECT_THROW(dyn::reference_minimum(problem, Vector()), odyn::InvalidArgument);
  EXPECT_THROW(dyn::reference_minimum(problem, vec2(kNaN, 1)), odyn::InvalidArgument);
  EXPECT_THROW(dyn::reference_minimum(problem, vec2(1, std::numeric_limits<double>::infinity())),
               odyn::InvalidArgument);
  if (ODYN_HAVE_CERES) {
    dyn::MinimizeOptions options;
    options.lbfgs_rank = 0;
    EXPECT_THROW(dyn::reference_minimum(problem, vec2(-1.2, 1), options), odyn::InvalidArgument);
  }
}

TEST(Reference, WithoutCeresThrows) {
  if (ODYN_HAVE_CERES) GTEST_SKIP() << "odyn built with Ceres Solver";
  EXPECT_THROW(dyn::reference_minimum(dyn::Rosenbrock(), vec2(-1.2, 1)), odyn::Error);
  EXPECT_THROW(dyn::fit_order({0.1, 0.05, 0.025}, {1e-2, 2.5e-3, 6.25e-4}), odyn::Error);
}

TEST(FitOrder, ExactPowerLaw) {
  SKIP_WITHOUT_CERES();
  std::vector<double> h, err;
  for (double step = 0.2; step > 1e-3; step /= 2) {
    h.push_back(step);
    err.push_back(3 * step * step);
  }
  const dyn::OrderFit fit = dyn::fit_order(h, err);
  // Exact data: the only error is rounding in the logarithms (~1e-16 relative).
  EXPECT_NEAR(fit.order, 2, 1e-12);
  EXPECT_NEAR(fit.constant, 3, 1e-11);
  // The residuals are rounding noise, so the interval collapses to the estimate.
  EXPECT_NEAR(fit.upper - fit.lower, 0, 1e-12);
  EXPECT_LE(fit.lower, fit.order);
  EXPECT_GE(fit.upper, fit.order);
  EXPECT_LT(fit.residual_std, 1e-14);
  EXPECT_EQ(fit.points, static_cast<int>(h.size()));
  EXPECT_DOUBLE_EQ(fit.confidence, 0.95);
}

TEST(FitOrder, NoisyDataMatchesOrdinaryLeastSquares) {
  SKIP_WITHOUT_CERES();
  const std::vector<double> h = {0.1, 0.05, 0.025, 0.0125, 0.00625};
  const std::vector<double> z = {0.8, -1.3, 0.4, 1.1, -0.6};
  std::vector<double> err;
  for (std::size_t i = 0; i < h.size(); ++i) err.push_back(std::pow(h[i], 1.5) * std::exp(0.01 * z[i]));
  const dyn::OrderFit fit = dyn::fit_order(h, err);

  // Ordinary least squares by hand: slope Sxy / Sxx, standard error sqrt(s^2 / Sxx).
  const double n = h.size();
  double mx = 0, my = 0;
  for (std::size_t i = 0; i < h.size(); ++i) {
    mx += std::log(h[i]) / n;
    my += std::log(err[i]) / n;
  }
  double sxx = 0, sxy = 0;
  for (std::size_t i = 0; i < h.size(); ++i) {
    sxx += (std::log(h[i]) - mx) * (std::log(h[i]) - mx);
    sxy += (std::log(h[i]) - mx) * (std::log(err[i]) - my);
  }
  const double slope = sxy / sxx, intercept = my - slope * mx;
  double rss = 0;
  for (std::size_t i = 0; i < h.size(); ++i) {
    const double r = std::log(err[i]) - intercept - slope * std::log(h[i]);
    rss += r * r;
  }
  const double t_3_975 = 3.182446305284263;  // Student's t quantile, 3 degrees of freedom, 0.975
  const double half_width = t_3_975 * std::sqrt(rss / (n - 2) / sxx);

  // Ceres solves the same linear least squares; the two differ by rounding only.
  EXPECT_NEAR(fit.order, slope, 1e-12);
  EXPECT_NEAR(fit.constant / std::exp(intercept), 1, 1e-12);
  EXPECT_NEAR(fit.residual_std, std::sqrt(rss / (n - 2)), 1e-12);
  // The half-width depends on the fit only through the RSS, which is stationary at the optimum.
  EXPECT_NEAR((fit.upper - fit.order) / half_width, 1, 1e-9);
  EXPECT_NEAR((fit.order - fit.lower) / half_width, 1, 1e-9);
  EXPECT_LT(fit.lower, 1.5);
  EXPECT_GT(fit.upper, 1.5);
  EXPECT_GT(fit.upper - fit.lower, 0);

  // A wider confidence gives a wider interval around the same estimate.
  const dyn::OrderFit wide = dyn::fit_order(h, err, 0.99);
  EXPECT_NEAR(wide.order, fit.order, 1e-12);
  EXPECT_GT(wide.upper - wide.lower, fit.upper - fit.lower);
}

TEST(FitOrder, SeedMathB1Errors) {
  SKIP_WITHOUT_CERES();
  // B1-2 of docs/claims.md: the heavy-ball integrator's errors over halving steps (second order).
  const dyn::OrderFit fit = dyn::fit_order({0.1, 0.05, 0.025, 0.0125}, {5.136e-4, 1.283e-4, 3.206e-5, 8.016e-6});
  // Four-digit errors: successive ratios are 4.003, 4.002, 4.000, so the order is 2 to ~1e-3.
  EXPECT_NEAR(fit.order, 2, 0.02);
  EXPECT_LT(fit.lower, fit.order);
  EXPECT_GT(fit.upper, fit.order);
}

TEST(FitOrder, RejectsBadInput) {
  const std::vector<double> h = {0.1, 0.05, 0.025};
  const std::vector<double> e = {1e-2, 2.5e-3, 6.25e-4};
  using odyn::InvalidArgument;
  EXPECT_THROW(dyn::fit_order({0.1, 0.05}, {1e-2, 2.5e-3}), InvalidArgument);
  EXPECT_THROW(dyn::fit_order(h, {1e-2, 2.5e-3}), InvalidArgument);
  EXPECT_THROW(dyn::fit_order({0.1, 0.0, 0.025}, e), InvalidArgument);
  EXPECT_THROW(dyn::fit_order({0.1, -0.05, 0.025}, e), InvalidArgument);
  EXPECT_THROW(dyn::fit_order({0.1, 0.1, 0.025}, e), InvalidArgument);
  EXPECT_THROW(dyn::fit_order({0.1, kNaN, 0.025}, e), InvalidArgument);
  EXPECT_THROW(dyn::fit_order({0.1, std::numeric_limits<double>::infinity(), 0.025}, e), InvalidArgument);
  EXPECT_THROW(dyn::fit_order(h, {1e-2, -2.5e-3, 6.25e-4}), InvalidArgument);
  EXPECT_THROW(dyn::fit_order(h, {1e-2, 0.0, 6.25e-4}), InvalidArgument);
  EXPECT_THROW(dyn::fit_order(h, {1e-2, kNaN, 6.25e-4}), InvalidArgument);
  EXPECT_THROW(dyn::fit_order(h, e, 1.0), InvalidArgument);
  EXPECT_THROW(dyn::fit_order(h, e, 0.0), InvalidArgument);
  EXPECT_THROW(dyn::fit_order(h, e, kNaN), InvalidArgument);
}
