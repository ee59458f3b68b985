// Test problems: gradients and Hessian-vector products against finite differences, the known
// minimisers, finite sums and their noise covariance, the MNIST subset, bad input.
#include <gtest/gtest.h>

#include <Eigen/Eigenvalues>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <random>

#include "../test_util.hpp"
#include "odyn/config.hpp"
#include "odyn/core/error.hpp"
#include "odyn/dynamics/problems.hpp"
#include "odyn/dynamics/reference.hpp"
#include "odyn/io/mnist.hpp"

using namespace odyn::dynamics;

namespace {

Vector random_point(Eigen::Index d, std::uint64_t seed, double scale = 1) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  Vector x(d);
  for (Eigen::Index i = 0; i < d; ++i) x[i] = scale * normal(rng);
  return x;
}

// Central differences of the value and of the gradient; step h = 1e-5 gives truncation error
// ~h^2 |L'''| ~ 1e-10 and rounding ~eps |L| / h ~ 1e-11 relative for these O(1)-O(100) problems.
void check_derivatives(const Problem& p, const Vector& x, double tol) {
  const double h = 1e-5;
  const Vector g = p.gradient(x);
  const Vector v = random_point(p.dim(), 99);
  Vector fd_g(p.dim());
  for (Eigen::Index i = 0; i < p.dim(); ++i) {
    Vector xp = x, xm = x;
    xp[i] += h;
    xm[i] -= h;
    fd_g[i] = (p.value(xp) - p.value(xm)) / (2 * h);
  }
  EXPECT_LE((g - fd_g).norm(), tol * std::max(1.0, g.norm())) << p.name();
  Vector hv;
  p.hessian_vector(x, v, hv);
  const Vector fd_hv = (p.gradient(x + h * v) - p.gradient(x - h * v)) / (2 * h);
  EXPECT_LE((hv - fd_hv).norm(), tol * std::max(1.0, hv.norm())) << p.name();
}

}  // namespace

TEST(Problems, DerivativesMatchFiniteDifferences) {
  const Quadratic quad = Quadratic::with_spectrum((Vector(4) << 1, 2, 5, 10).finished(), 3);
  const Rosenbrock rosen2, rosen5(5);
  const Beale beale;
  const DoubleWell well(3, 2.0);
  const TwoMinimaQuartic quartic;
  const LeastSquares ls = LeastSquares::random_consistent(30, 4, 1);
  Matrix x = random_point(40 * 3, 5).reshaped(40, 3);
  Vector y(40);
  for (int i = 0; i < 40; ++i) y[i] = x(i, 0) + 0.5 * x(i, 1) > 0 ? 1 : 0;
  const LogisticRegression logistic(x, y, 1e-2);
  const TanhMlp mlp(random_point(20 * 2, 8).reshaped(20, 2), random_point(20, 9).reshaped(20, 1), 6);
  check_derivatives(quad, random_point(4, 1), 1e-8);
  check_derivatives(rosen2, random_point(2, 2), 1e-7);
  check_derivatives(rosen5, random_point(5, 3), 1e-7);
  check_derivatives(beale, (Vector(2) << 1.2, 0.4).finished(), 1e-7);
  check_derivatives(well, random_point(3, 4), 1e-8);
  check_derivatives(quartic, Vector::Constant(1, 2.2), 1e-8);
  check_derivatives(ls, random_point(4, 5), 1e-8);
  check_derivatives(logistic, random_point(3, 6), 1e-8);
  check_derivatives(mlp, mlp.initial_parameters(4), 1e-7);
  for (const Problem* p : std::initializer_list<const Problem*>{&quad, &rosen2, &well, &quartic, &ls, &logistic})
    EXPECT_TRUE(p->exact_hessian_vector()) << p->name();
  EXPECT_FALSE(beale.exact_hessian_vector());
}

TEST(Problems, KnownMinimisersAreCriticalPoints) {
  const Rosenbrock rosen2, rosen6(6);
  const Beale beale;
  const TwoMinimaQuartic quartic;
  for (const Problem* p : std::initializer_list<const Problem*>{&rosen2, &rosen6, &beale, &quartic}) {
    const Vector m = *p->known_minimizer();
    EXPECT_LE(p->gradient(m).norm(), 1e-12) << p->name();
  }
  EXPECT_EQ(rosen2.value(*rosen2.known_minimizer()), 0.0);
  EXPECT_EQ(beale.value(*beale.known_minimizer()), 0.0);
  // Part three's facts: f(3) = 1.62276 (local minimum), f(x*) = 5.5336e-7 at x* = (9 - sqrt 33)/8.
  EXPECT_NEAR(TwoMinimaQuartic::global_minimizer(), 0.4069296692, 1e-10);
  EXPECT_NEAR(quartic.value(Vector::Constant(1, 3)), 1.62276, 1e-15);
  EXPECT_NEAR(quartic.value(Vector::Constant(1, TwoMinimaQuartic::global_minimizer())), 5.5336e-7, 1e-10);
  EXPECT_NEAR(quartic.gradient(Vector::Constant(1, (9 + std::sqrt(33.0)) / 8))[0], 0, 1e-13);
  const DoubleWell well(2);
  EXPECT_EQ(well.gradient(Vector::Ones(2)).norm(), 0.0);
  EXPECT_FALSE(well.known_minimizer().has_value());  // two minima: none is "the" minimiser
}

TEST(Problems, QuadraticWithSpectrum) {
  const Vector spectrum = (Vector(5) << 0.5, 1, 2, 4, 100).finished();
  const Quadratic q = Quadratic::with_spectrum(spectrum, 17);
  Eigen::SelfAdjointEigenSolver<Matrix> es(q.hessian());
  EXPECT_LE((es.eigenvalues() - spectrum).cwiseAbs().maxCoeff(), 1e-13 * 100);
  const Quadratic shifted(q.hessian(), Vector::Ones(5));
  EXPECT_LE(shifted.gradient(*shifted.known_minimizer()).norm(), 1e-13);
  // an indefinite quadratic has no minimiser
  EXPECT_FALSE(Quadratic((Vector(2) << 1, -1).finished().asDiagonal()).known_minimizer().has_value());
}

TEST(Problems, FiniteSumsAverageTheirSamples) {
  const LeastSquares ls = LeastSquares::random_consistent(25, 3, 4);
  const Vector x = random_point(3, 7);
  std::vector<Eigen::Index> all(25);
  for (Eigen::Index i = 0; i < 25; ++i) all[static_cast<std::size_t>(i)] = i;
  Vector g, gb, gs, gi;
  ls.gradient(x, g);
  ls.batch_gradient(all, x, gb);
  gs = Vector::Zero(3);
  for (Eigen::Index i = 0; i < 25; ++i) {
    ls.sample_gradient(i, x, gi);
    gs += gi / 25;
  }
  EXPECT_LE((g - gb).norm(), 1e-14 * g.norm());
  EXPECT_LE((g - gs).norm(), 1e-14 * g.norm());
  EXPECT_LE(ls.gradient(*ls.known_minimizer()).norm(), 1e-13);
  // Sigma = (1/N) sum (g_i - g)(g_i - g)^T: symmetric positive semidefinite with trace = mean |g_i|^2 - |g|^2
  const Matrix sigma = ls.gradient_covariance(x);
  double mean_sq = 0;
  for (Eigen::Index i = 0; i < 25; ++i) {
    ls.sample_gradient(i, x, gi);
    mean_sq += gi.squaredNorm() / 25;
  }
  EXPECT_NEAR(sigma.trace(), mean_sq - g.squaredNorm(), 1e-12 * mean_sq);
  EXPECT_LE((sigma - sigma.transpose()).norm(), 1e-15 * sigma.norm());
  // the base-class batch gradient (used by TanhMlp) agrees with the sum of sample gradients
  const TanhMlp mlp(random_point(10 * 2, 8).reshaped(10, 2), random_point(10, 9).reshaped(10, 1), 4);
  const Vector p = mlp.initial_parameters(1);
  mlp.gradient(p, g);
  std::vector<Eigen::Index> ten(10);
  for (Eigen::Index i = 0; i < 10; ++i) ten[static_cast<std::size_t>(i)] = i;
  mlp.batch_gradient(ten, p, gb);
  EXPECT_LE((g - gb).norm(), 1e-14 * g.norm());
}

TEST(Problems, BadInputIsRejected) {
  EXPECT_THROW(Quadratic((Matrix(2, 2) << 1, 2, 0, 1).finished()), odyn::InvalidArgument);
  EXPECT_THROW(Quadratic(Matrix::Identity(2, 2), Vector::Ones(3)), odyn::InvalidArgument);
  EXPECT_THROW(Quadratic(Matrix::Constant(1, 1, std::nan(""))), odyn::InvalidArgument);
  EXPECT_THROW(Rosenbrock(1), odyn::InvalidArgument);
  EXPECT_THROW(DoubleWell(1, -1), odyn::InvalidArgument);
  EXPECT_THROW(LogisticRegression(Matrix::Ones(2, 2), (Vector(2) << 0, 2).finished(), 0), odyn::InvalidArgument);
  EXPECT_THROW(LeastSquares(Matrix::Ones(2, 2), Vector::Ones(3)), odyn::InvalidArgument);
  const Rosenbrock rosen;
  EXPECT_THROW(rosen.check_point(Vector::Ones(3), "test"), odyn::InvalidArgument);
  EXPECT_THROW(rosen.check_point((Vector(2) << 1, std::nan("")).finished(), "test"), odyn::InvalidArgument);
  const LeastSquares ls = LeastSquares::random_consistent(5, 2, 0);
  Vector g;
  EXPECT_THROW(ls.batch_gradient({7}, Vector::Zero(2), g), odyn::InvalidArgument);
  EXPECT_THROW(ls.batch_gradient({}, Vector::Zero(2), g), odyn::InvalidArgument);
  EXPECT_THROW(make_problem("himmelblau"), odyn::InvalidArgument);
  EXPECT_THROW(make_problem("beale", 3), odyn::InvalidArgument);
  for (const auto& name : problem_names())
    if (name != "logistic") {
      EXPECT_EQ(make_problem(name)->name(), name);
    }
}

// Logistic regression on MNIST 0 vs 1 (500 images per digit): Ceres's L-BFGS minimum is a critical
// point that classifies the held-out test images of the two digits almost perfectly.
TEST(Problems, MnistLogisticRegression) {
  ODYN_REQUIRE_MNIST_OR_SKIP();
  const LabelledData train = mnist_two_digits(0, 1, false, 500);
  ASSERT_EQ(train.x.rows(), 1000);
  ASSERT_EQ(train.x.cols(), 785);
  EXPECT_EQ(train.y.sum(), 500);
  EXPECT_EQ(train.x.col(784), Vector::Ones(1000));
  EXPECT_GE(train.x.minCoeff(), 0.0);
  EXPECT_LE(train.x.maxCoeff(), 1.0);
  const LogisticRegression problem(train.x, train.y, 1e-3);
  check_derivatives(problem, random_point(785, 3, 0.01), 1e-7);
#if ODYN_HAVE_CERES
  const Minimum m = reference_minimum(problem, Vector::Zero(785));
  EXPECT_LE(m.gradient_norm, 1e-8);
  const LabelledData test = mnist_two_digits(0, 1, true, 1000);
  const LogisticRegression held_out(test.x, test.y, 0);
  // a linear classifier separates 0 from 1 with under 1% test error (LeCun et al. 1998 report 0.1-1%
  // for linear models on such pairs); the training set is fitted exactly
  EXPECT_LT(held_out.error_rate(m.x), 0.01);
  EXPECT_EQ(problem.error_rate(m.x), 0.0);
#endif
  EXPECT_THROW(mnist_two_digits(3, 3, false, 10), odyn::InvalidArgument);
}
