#include "odyn/transport/sliced.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "odyn/core/error.hpp"
#include "odyn/transport/wasserstein_1d.hpp"
#include "transport_test_util.hpp"

namespace {

using odyn::InvalidArgument;
using odyn::test::mean_and_standard_error;
using odyn::test::normal_cloud;
using odyn::test::random_rotation;
using odyn::transport::Matrix;
using odyn::transport::max_sliced_wasserstein;
using odyn::transport::sliced_directions;
using odyn::transport::sliced_wasserstein;
using odyn::transport::Vector;
using odyn::transport::wasserstein_1d;

constexpr double kEps = std::numeric_limits<double>::epsilon();

// W_p^p(theta#mu, theta#nu) for each direction, by wasserstein_1d on the projections.
Vector projected_powers(const Matrix& x, const Matrix& y, const Matrix& theta, double p) {
  Vector v(theta.cols());
  for (Eigen::Index l = 0; l < theta.cols(); ++l) {
    v(l) = std::pow(wasserstein_1d(x * theta.col(l), y * theta.col(l), p), p);
  }
  return v;
}

// W_p between uniform clouds of equal size n by brute force over the n! assignments (an optimal
// plan between uniform measures of equal size can be taken to be a permutation: Birkhoff).
double brute_force_wasserstein(const Matrix& x, const Matrix& y, double p) {
  std::vector<int> perm(static_cast<std::size_t>(x.rows()));
  std::iota(perm.begin(), perm.end(), 0);
  double best = std::numeric_limits<double>::infinity();
  do {
    double cost = 0.0;
    for (Eigen::Index i = 0; i < x.rows(); ++i) cost += std::pow((x.row(i) - y.row(perm[i])).norm(), p);
    best = std::min(best, cost);
  } while (std::next_permutation(perm.begin(), perm.end()));
  return std::pow(best / static_cast<double>(x.rows()), 1.0 / p);
}

TEST(SlicedDirections, UnitReproducibleAndIsotropic) {
  const Matrix t = sliced_directions(3, 4000, 7);
  // Each column is divided by its norm: unit to a few eps.
  EXPECT_LT((t.colwise().norm().array() - 1.0).abs().maxCoeff(), 4 * kEps);
  EXPECT_EQ(t, sliced_directions(3, 4000, 7));
  EXPECT_NE(t, sliced_directions(3, 4000, 8));
  // E[theta theta^T] = I/d; each entry of the mean of 4000 draws has SD at most
  // sqrt(E theta_k^4 / 4000) = sqrt(3/15 / 4000) = 0.007: allow 5 SD.
  const Matrix second = t * t.transpose() / 4000.0;
  EXPECT_LT((second - Matrix::Identity(3, 3) / 3.0).cwiseAbs().maxCoeff(), 0.035);
  // The first projections of a longer draw are the draw of fewer: the stream is read in order.
  EXPECT_EQ(sliced_directions(3, 10, 7), t.leftCols(10));
  // In d = 1 the directions are +-1.
  EXPECT_EQ(sliced_directions(1, 50, 1).cwiseAbs(), Matrix::Ones(1, 50));
  EXPECT_THROW(sliced_directions(0, 5), InvalidArgument);
  EXPECT_THROW(sliced_directions(2, 0), InvalidArgument);
}

TEST(SlicedWasserstein, OneDimensionIsWasserstein1d) {
  const Matrix x = normal_cloud(57, 1, 1);
  const Matrix y = (normal_cloud(80, 1, 2).array() * 2.0 + 0.5).matrix();
  Vector wx = normal_cloud(57, 1, 3).col(0).cwiseAbs();
  wx /= wx.sum();
  Vector wy = normal_cloud(80, 1, 4).col(0).cwiseAbs();
  wy /= wy.sum();
  for (double p : {1.0, 2.0, 3.0}) {
    // Every direction is +-1, and W_p is invariant under x -> -x: the mean of equal values.
    const double w = wasserstein_1d(x.col(0), y.col(0), p);
    EXPECT_NEAR(sliced_wasserstein(x, y, p, 10, 3), w, 1e-13 * w) << "p = " << p;
    const double ww = wasserstein_1d(x.col(0), y.col(0), p, wx);
    EXPECT_NEAR(sliced_wasserstein(x, y, p, 10, 3, wx), ww, 1e-13 * ww) << "p = " << p;
    const double wy_only = wasserstein_1d(x.col(0), y.col(0), p, Vector(), wy);
    EXPECT_NEAR(sliced_wasserstein(x, y, p, 10, 3, Vector(), wy), wy_only, 1e-13 * wy_only) << "p = " << p;
    const double both = wasserstein_1d(x.col(0), y.col(0), p, wx, wy);
    EXPECT_NEAR(sliced_wasserstein(x, y, p, 10, 3, wx, wy), both, 1e-13 * both) << "p = " << p;
    const Matrix x2 = x.topRows(40), y2 = y.topRows(40);
    const double we = wasserstein_1d(x2.col(0), y2.col(0), p);
    EXPECT_NEAR(sliced_wasserstein(x2, y2, p, 10, 3), we, 1e-13 * we) << "p = " << p;
  }
}

TEST(SlicedWasserstein, TranslateGivesSquaredShiftOverDimension) {
  const int d = 3, n_proj = 2000;
  const Matrix x = normal_cloud(300, d, 4);
  Eigen::RowVector3d c(1.0, -2.0, 0.5);
  const Matrix y = x.rowwise() + c;
  const double sw2 = std::pow(sliced_wasserstein(x, y, 2.0, n_proj, 5), 2);
  // Each projection of Y is the projection of X shifted by theta.c, so W_2^2 = (theta.c)^2 exactly
  // up to rounding: the estimate is the mean of (theta_l.c)^2 over the drawn directions.
  const Vector proj = c * sliced_directions(d, n_proj, 5);
  EXPECT_NEAR(sw2, proj.squaredNorm() / n_proj, 1e-12 * c.squaredNorm());
  // E (theta.c)^2 = |c|^2 / d; (theta.c)^2 / |c|^2 ~ Beta(1/2, (d-1)/2) has variance
  // 2 (d-1) / (d^2 (d+2)) = 4/45, so the mean of 2000 has SD |c|^2 sqrt(4/45/2000): allow 5 SD.
  const double sd = c.squaredNorm() * std::sqrt(4.0 / 45.0 / n_proj);
  EXPECT_NEAR(sw2, c.squaredNorm() / d, 5 * sd);
  // For p = 1, W_1(theta) = |theta.c| too.
  EXPECT_NEAR(sliced_wasserstein(x, y, 1.0, n_proj, 5), proj.cwiseAbs().mean(), 1e-12 * c.norm());
}

TEST(SlicedWasserstein, RotationInvariantInExpectation) {
  const int d = 4, n_proj = 400;
  const Matrix x = normal_cloud(100, d, 6);
  Matrix y = normal_cloud(100, d, 7);
  y.col(0) *= 3.0;
  const Matrix r = random_rotation(d, 8);
  const Matrix xr = x * r.transpose(), yr = y * r.transpose();
  for (double p : {1.0, 2.0}) {
    const double a = std::pow(sliced_wasserstein(x, y, p, n_proj, 9), p);
    const double b = std::pow(sliced_wasserstein(xr, yr, p, n_proj, 9), p);
    // Both are means of the same kind of i.i.d. terms; the difference of two independent estimates
    // has SD sqrt(2) times the standard error of one. Allow 5 SD.
    const Vector terms = projected_powers(x, y, sliced_directions(d, n_proj, 9), p);
    EXPECT_NEAR(terms.mean(), a, 1e-12 * a);  // the estimator is the mean of these terms
    EXPECT_NEAR(a, b, 5 * std::sqrt(2.0) * mean_and_standard_error(terms).standard_error) << "p = " << p;
    // The rotated problem in the rotated directions is the original problem: equal terms.
    const Vector rotated_terms = projected_powers(xr, yr, r * sliced_directions(d, n_proj, 9), p);
    EXPECT_NEAR(rotated_terms.mean(), a, 1e-12 * a);
  }
}

TEST(SlicedWasserstein, WeightsEqualRepeatedPoints) {
  Matrix x = normal_cloud(3, 2, 10), y = normal_cloud(4, 2, 11);
  Vector wx(3);
  wx << 0.5, 0.25, 0.25;
  Matrix xr(4, 2);
  xr << x.row(0), x.row(0), x.row(1), x.row(2);
  for (double p : {1.0, 2.0, 3.0}) {
    const double repeated = sliced_wasserstein(xr, y, p, 50, 12);
    // Same directions, same projected quantile functions: equal up to summation order.
    EXPECT_NEAR(sliced_wasserstein(x, y, p, 50, 12, wx), repeated, 1e-13 * repeated) << "p = " << p;
  }
}

TEST(SlicedWasserstein, SlicedBelowMaxSlicedBelowExact) {
  for (std::uint64_t seed : {13u, 14u, 15u}) {
    const Matrix x = normal_cloud(6, 3, seed);
    const Matrix y = (normal_cloud(6, 3, seed + 100).array() + 0.3).matrix();
    for (double p : {1.0, 2.0, 3.0}) {
      const double sw = sliced_wasserstein(x, y, p, 50, seed);
      const auto msw = max_sliced_wasserstein(x, y, p, 50, seed);
      const double w = brute_force_wasserstein(x, y, p);
      // SW^p is a mean of the sampled W_p^p, max-SW starts from their maximum and only climbs;
      // projections are 1-Lipschitz so max-SW <= W_p. Slack: rounding of the sums, 1e-12 relative.
      EXPECT_LE(sw, msw.value * (1 + 1e-12)) << "p = " << p;
      EXPECT_LE(msw.value, w * (1 + 1e-12)) << "p = " << p;
      EXPECT_NEAR(msw.direction.norm(), 1.0, 4 * kEps);
      // The reported value is W_p along the reported direction.
      const double along = wasserstein_1d(x * msw.direction, y * msw.direction, p);
      EXPECT_NEAR(msw.value, along, 1e-12 * along) << "p = " << p;
    }
  }
}

TEST(MaxSlicedWasserstein, TranslateIsTheShiftAlongIt) {
  const Matrix x = normal_cloud(200, 3, 16);
  const Eigen::RowVector3d c(0.3, -1.2, 0.8);
  const Matrix y = x.rowwise() + c;
  Vector wx = normal_cloud(200, 1, 17).col(0).cwiseAbs();
  wx /= wx.sum();
  // Y repeated twice: unequal sizes (200 vs 400), the same measure.
  Matrix y2(400, 3);
  y2 << y, y;
  for (double p : {1.0, 2.0, 3.0}) {
    // W_p(theta) = |theta.c|, maximal at theta = +-c/|c|. Near the maximum the value is
    // |c| cos(angle), so the ascent stops within ~sqrt(eps) rad of it and the value is exact to
    // rounding (1e-12 relative), the direction to 1e-6 (a few sqrt(eps)).
    const auto r = max_sliced_wasserstein(x, y, p, 20, 18);
    EXPECT_NEAR(r.value, c.norm(), 1e-12 * c.norm()) << "p = " << p;
    EXPECT_NEAR(std::abs(c.dot(r.direction)) / c.norm(), 1.0, 1e-6) << "p = " << p;
    const auto rw = max_sliced_wasserstein(x, y, p, 20, 18, wx, wx);
    EXPECT_NEAR(rw.value, c.norm(), 1e-12 * c.norm()) << "weighted, p = " << p;
    EXPECT_NEAR(std::abs(c.dot(rw.direction)) / c.norm(), 1.0, 1e-6) << "weighted, p = " << p;
    const auto ru = max_sliced_wasserstein(x, y2, p, 20, 18);
    EXPECT_NEAR(ru.value, c.norm(), 1e-12 * c.norm()) << "unequal sizes, p = " << p;
    EXPECT_NEAR(std::abs(c.dot(ru.direction)) / c.norm(), 1.0, 1e-6) << "unequal sizes, p = " << p;
  }
}

TEST(MaxSlicedWasserstein, ImprovesOnTheBestSampledDirection) {
  // Clouds differing in scale along e_0 only: W_2(theta) grows with |theta_0|, max at +-e_0.
  Matrix x = normal_cloud(500, 5, 19);
  Matrix y = normal_cloud(500, 5, 20);
  y.col(0) *= 4.0;
  const auto r = max_sliced_wasserstein(x, y, 2.0, 5, 21);
  const Vector best = projected_powers(x, y, sliced_directions(5, 5, 21), 2.0);
  EXPECT_GT(r.value, std::sqrt(best.maxCoeff()) * 1.05);  // five random directions are far from e_0
  // The ascent finds e_0 up to the sampling noise of the other coordinates: |theta_0| close to 1.
  EXPECT_GT(std::abs(r.direction(0)), 0.97);
}

TEST(SlicedWasserstein, ReproducibleForASeed) {
  const Matrix x = normal_cloud(300, 4, 22), y = normal_cloud(250, 4, 23);
  EXPECT_EQ(sliced_wasserstein(x, y, 2.0, 30, 24), sliced_wasserstein(x, y, 2.0, 30, 24));
  EXPECT_NE(sliced_wasserstein(x, y, 2.0, 30, 24), sliced_wasserstein(x, y, 2.0, 30, 25));
  const auto a = max_sliced_wasserstein(x, y, 2.0, 30, 24), b = max_sliced_wasserstein(x, y, 2.0, 30, 24);
  EXPECT_EQ(a.value, b.value);
  EXPECT_EQ(a.direction, b.direction);
  // Identical clouds are at distance 0 in every direction.
  EXPECT_EQ(sliced_wasserstein(x, x, 2.0, 30, 24), 0.0);
  EXPECT_EQ(max_sliced_wasserstein(x, x, 1.0, 30, 24).value, 0.0);
}

TEST(SlicedWasserstein, RejectsBadInput) {
  const Matrix x = normal_cloud(5, 2, 26), y = normal_cloud(4, 2, 27);
  for (auto f : {+[](const Matrix& a, const Matrix& b, double p, int l, const Vector& wa, const Vector& wb) {
                   return sliced_wasserstein(a, b, p, l, 0, wa, wb);
                 },
                 +[](const Matrix& a, const Matrix& b, double p, int l, const Vector& wa, const Vector& wb) {
                   return max_sliced_wasserstein(a, b, p, l, 0, wa, wb).value;
                 }}) {
    EXPECT_NO_THROW(f(x, y, 2.0, 3, Vector(), Vector()));
    EXPECT_THROW(f(Matrix(0, 2), y, 2.0, 3, Vector(), Vector()), InvalidArgument);
    EXPECT_THROW(f(x, Matrix(0, 2), 2.0, 3, Vector(), Vector()), InvalidArgument);
    EXPECT_THROW(f(x, normal_cloud(4, 3, 1), 2.0, 3, Vector(), Vector()), InvalidArgument);  // dimensions
    Matrix bad = x;
    bad(1, 1) = std::numeric_limits<double>::quiet_NaN();
    EXPECT_THROW(f(bad, y, 2.0, 3, Vector(), Vector()), InvalidArgument);
    bad(1, 1) = -std::numeric_limits<double>::infinity();
    EXPECT_THROW(f(x, bad, 2.0, 3, Vector(), Vector()), InvalidArgument);
    for (double p : {0.99, 0.0, std::numeric_limits<double>::infinity(), std::numeric_limits<double>::quiet_NaN()}) {
      EXPECT_THROW(f(x, y, p, 3, Vector(), Vector()), InvalidArgument) << "p = " << p;
    }
    EXPECT_THROW(f(x, y, 2.0, 0, Vector(), Vector()), InvalidArgument);
    EXPECT_THROW(f(x, y, 2.0, -4, Vector(), Vector()), InvalidArgument);
    EXPECT_THROW(f(x, y, 2.0, 3, Vector::Constant(4, 0.25), Vector()), InvalidArgument);  // wrong length
    EXPECT_THROW(f(x, y, 2.0, 3, Vector(), Vector::Constant(4, 0.5)), InvalidArgument);   // sum 2
    Vector neg = Vector::Constant(4, 0.25);
    neg(0) = -0.25;
    neg(1) = 0.75;
    EXPECT_THROW(f(x, y, 2.0, 3, Vector(), neg), InvalidArgument);
  }
  try {
    sliced_wasserstein(x, y, 2.0, 0);
    FAIL() << "no exception";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("sliced_wasserstein"), std::string::npos) << e.what();
  }
}

}  // namespace
