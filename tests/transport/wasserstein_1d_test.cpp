#include "odyn/transport/wasserstein_1d.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

#include "odyn/core/error.hpp"

namespace {

using odyn::InvalidArgument;
using odyn::transport::Vector;
using odyn::transport::wasserstein_1d;

constexpr double kEps = std::numeric_limits<double>::epsilon();

Vector normal_sample(Eigen::Index n, std::uint64_t seed, double scale = 1.0) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, scale);
  Vector x(n);
  for (Eigen::Index i = 0; i < n; ++i) x(i) = normal(rng);
  return x;
}

Vector random_weights(Eigen::Index n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> uniform(0.1, 1.0);
  Vector w(n);
  for (Eigen::Index i = 0; i < n; ++i) w(i) = uniform(rng);
  return w / w.sum();
}

// The mean of |x_(i) - y_(i)|^p over the sorted samples, in long double.
long double sorted_matching_power(Vector x, Vector y, double p) {
  std::sort(x.data(), x.data() + x.size());
  std::sort(y.data(), y.data() + y.size());
  long double total = 0;
  for (Eigen::Index i = 0; i < x.size(); ++i) {
    total += std::pow(std::fabs(static_cast<long double>(x(i)) - static_cast<long double>(y(i))),
                      static_cast<long double>(p));
  }
  return total / x.size();
}

// int |F - G| dx over the line for weighted samples, in long double: the integrand is constant
// between consecutive points of the merged sample.
long double cdf_difference_integral(const Vector& x, const Vector& wx, const Vector& y, const Vector& wy) {
  std::vector<double> z(x.data(), x.data() + x.size());
  z.insert(z.end(), y.data(), y.data() + y.size());
  std::sort(z.begin(), z.end());
  long double total = 0;
  for (std::size_t k = 0; k + 1 < z.size(); ++k) {
    long double f = 0, g = 0;
    for (Eigen::Index i = 0; i < x.size(); ++i) f += x(i) <= z[k] ? wx(i) : 0.0;
    for (Eigen::Index j = 0; j < y.size(); ++j) g += y(j) <= z[k] ? wy(j) : 0.0;
    total += std::fabs(f - g) * (static_cast<long double>(z[k + 1]) - z[k]);
  }
  return total;
}

TEST(Wasserstein1d, PointMassesAreTheirDistance) {
  Vector x(1), y(1);
  x << -1.25;
  y << 2.5;
  for (double p : {1.0, 2.0, 3.5}) {
    // |x - y|^p then its 1/p-th power: a few roundings of a number of size 4.
    EXPECT_NEAR(wasserstein_1d(x, y, p), 3.75, 8 * kEps * 3.75) << "p = " << p;
  }
}

TEST(Wasserstein1d, ShiftedSampleIsTheShift) {
  const Vector x = normal_sample(1000, 1);
  const double c = 0.37;
  const Vector y = x.array() + c;
  for (double p : {1.0, 1.5, 2.0, 4.0}) {
    // Each difference y_i - x_i is c to within the rounding of y_i (eps max|x|); summing 1000
    // terms |y_i - x_i|^p adds a relative error of at most n eps.
    const double tol = 4 * kEps * (x.cwiseAbs().maxCoeff() + c) + 1000 * kEps * c;
    EXPECT_NEAR(wasserstein_1d(x, y, p), c, tol) << "p = " << p;
    EXPECT_NEAR(wasserstein_1d(y, x, p), c, tol) << "p = " << p;
  }
}

TEST(Wasserstein1d, EqualSizesAreTheSortedMatching) {
  const Vector x = normal_sample(500, 2);
  const Vector y = normal_sample(500, 3, 2.0).array() + 0.5;
  for (double p : {1.0, 2.0, 3.0}) {
    const long double power = sorted_matching_power(x, y, p);
    const double expected = static_cast<double>(std::pow(power, 1.0L / p));
    // A sum of 500 positive terms in double against long double: relative error about 500 eps at worst.
    EXPECT_NEAR(wasserstein_1d(x, y, p), expected, 1e-12 * expected) << "p = " << p;
  }
}

TEST(Wasserstein1d, UnequalSizesByHand) {
  // mu uniform on {0, 1, 2}, nu uniform on {0, 1, 2, 3, 4}. Merging the quantile functions at
  // t = 1/5, 1/3, 2/5, 3/5, 2/3, 4/5 gives |F^-1 - G^-1| = 0, 1, 0, 1, 2, 1, 2 on pieces of length
  // 3/15, 2/15, 1/15, 3/15, 1/15, 2/15, 3/15: W_1 = 15/15 = 1, W_2^2 = 23/15.
  Vector x(3), y(5);
  x << 2, 0, 1;
  y << 4, 1, 3, 0, 2;
  // A few exact-integer steps with masses rounded to double: relative error about 10 eps.
  EXPECT_NEAR(wasserstein_1d(x, y, 1.0), 1.0, 16 * kEps);
  EXPECT_NEAR(wasserstein_1d(x, y, 2.0), std::sqrt(23.0 / 15.0), 16 * kEps);
  // The weighted path (explicit uniform weights) follows the same coupling in floating point.
  const Vector wx = Vector::Constant(3, 1.0 / 3), wy = Vector::Constant(5, 0.2);
  EXPECT_NEAR(wasserstein_1d(x, y, 2.0, wx, wy), std::sqrt(23.0 / 15.0), 16 * kEps);
  EXPECT_NEAR(wasserstein_1d(x, y, 2.0, wx), std::sqrt(23.0 / 15.0), 16 * kEps);
  EXPECT_NEAR(wasserstein_1d(x, y, 2.0, Vector(), wy), std::sqrt(23.0 / 15.0), 16 * kEps);
}

TEST(Wasserstein1d, UniformAndWeightedPathsAgreeForUnequalSizes) {
  const Vector x = normal_sample(301, 4);
  const Vector y = normal_sample(457, 5, 1.5).array() - 0.3;
  const Vector wx = Vector::Constant(301, 1.0 / 301), wy = Vector::Constant(457, 1.0 / 457);
  for (double p : {1.0, 2.0, 2.5}) {
    // Integer cumulative masses against rounded cumulative sums: they differ by about n eps in
    // where the pieces break, so the costs agree to about 1e-13 relative.
    const double exact = wasserstein_1d(x, y, p);
    EXPECT_NEAR(wasserstein_1d(x, y, p, wx, wy), exact, 1e-12 * exact) << "p = " << p;
  }
}

TEST(Wasserstein1d, WeightsEqualRepeatedPoints) {
  // x1 with weights 2/6, 1/6, 3/6 is the uniform measure on x1 repeated 2, 1 and 3 times.
  Vector x(3), wx(3), xr(6);
  x << 0.5, -1.0, 2.0;
  wx << 2.0 / 6, 1.0 / 6, 3.0 / 6;
  xr << 0.5, 0.5, -1.0, 2.0, 2.0, 2.0;
  Vector y(4), wy(4), yr(8);
  y << 1.0, 3.0, -2.0, 0.0;
  wy << 0.125, 0.375, 0.25, 0.25;
  yr << 1.0, 3.0, 3.0, 3.0, -2.0, -2.0, 0.0, 0.0;
  for (double p : {1.0, 2.0, 3.0}) {
    const double repeated = wasserstein_1d(xr, yr, p);
    // The same pieces of the same quantile functions, with masses rounded differently: 1e-14.
    EXPECT_NEAR(wasserstein_1d(x, y, p, wx, wy), repeated, 1e-14 * repeated) << "p = " << p;
    EXPECT_NEAR(wasserstein_1d(x, yr, p, wx), repeated, 1e-14 * repeated) << "p = " << p;
  }
}

TEST(Wasserstein1d, ZeroWeightsAreIgnored) {
  Vector x(3), wx(3), y(2);
  x << 0.0, 100.0, 1.0;
  wx << 0.5, 0.0, 0.5;
  y << 2.0, 3.0;
  Vector x2(2);
  x2 << 0.0, 1.0;
  // Same pieces, same arithmetic up to the order of additions.
  EXPECT_NEAR(wasserstein_1d(x, y, 2.0, wx), wasserstein_1d(x2, y, 2.0), 4 * kEps * 2.0);
}

TEST(Wasserstein1d, P1IsTheCdfDifferenceIntegral) {
  const Vector x = normal_sample(40, 6);
  const Vector y = normal_sample(65, 7, 0.7).array() + 0.4;
  const Vector wx = random_weights(40, 8), wy = random_weights(65, 9);
  const double expected = static_cast<double>(cdf_difference_integral(x, wx, y, wy));
  // Two different summations of about 100 terms of size ~0.05: 1e-13 relative is generous.
  EXPECT_NEAR(wasserstein_1d(x, y, 1.0, wx, wy), expected, 1e-13 * expected);
  const Vector ux = Vector::Constant(40, 1.0 / 40), uy = Vector::Constant(65, 1.0 / 65);
  const double uniform = static_cast<double>(cdf_difference_integral(x, ux, y, uy));
  EXPECT_NEAR(wasserstein_1d(x, y, 1.0), uniform, 1e-13 * uniform);
}

TEST(Wasserstein1d, SymmetricPermutationAndTranslationInvariant) {
  const Vector x = normal_sample(200, 10);
  const Vector y = normal_sample(150, 11, 2.0);
  const Vector wx = random_weights(200, 12), wy = random_weights(150, 13);
  for (double p : {1.0, 2.0, 3.0}) {
    const double w = wasserstein_1d(x, y, p, wx, wy);
    // Symmetry: the coupling is the same with the roles swapped, up to the order of the additions.
    EXPECT_NEAR(wasserstein_1d(y, x, p, wy, wx), w, 1e-13 * w);
    // Permuting points together with their weights changes nothing but tie order (no ties here).
    std::vector<int> perm(200);
    std::iota(perm.begin(), perm.end(), 0);
    std::shuffle(perm.begin(), perm.end(), std::mt19937_64(14));
    Vector xp(200), wxp(200);
    for (int i = 0; i < 200; ++i) {
      xp(i) = x(perm[i]);
      wxp(i) = wx(perm[i]);
    }
    // The weights are summed in another order: cumulative masses move by about n eps.
    EXPECT_NEAR(wasserstein_1d(xp, y, p, wxp, wy), w, 1e-12 * w);
    // Translating both by c = 10 rounds every point by up to eps * 15: W moves by about that.
    const Vector xs = x.array() + 10.0, ys = y.array() + 10.0;
    EXPECT_NEAR(wasserstein_1d(xs, ys, p, wx, wy), w, 64 * kEps * 15) << "p = " << p;
  }
}

TEST(Wasserstein1d, RejectsBadInput) {
  const Vector x = normal_sample(5, 15), y = normal_sample(4, 16);
  EXPECT_THROW(wasserstein_1d(Vector(), y), InvalidArgument);
  EXPECT_THROW(wasserstein_1d(x, Vector()), InvalidArgument);
  Vector bad = x;
  bad(2) = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THROW(wasserstein_1d(bad, y), InvalidArgument);
  bad(2) = std::numeric_limits<double>::infinity();
  EXPECT_THROW(wasserstein_1d(x, bad), InvalidArgument);
  for (double p : {0.5, 0.0, -1.0, std::numeric_limits<double>::infinity(), std::numeric_limits<double>::quiet_NaN()}) {
    EXPECT_THROW(wasserstein_1d(x, y, p), InvalidArgument) << "p = " << p;
  }
  EXPECT_THROW(wasserstein_1d(x, y, 1.0, Vector::Constant(4, 0.25)), InvalidArgument);  // wrong length
  Vector w = Vector::Constant(5, 0.2);
  w(0) = -0.2;
  w(1) = 0.6;
  EXPECT_THROW(wasserstein_1d(x, y, 1.0, w), InvalidArgument);                           // negative
  EXPECT_THROW(wasserstein_1d(x, y, 1.0, Vector(), Vector::Constant(4, 0.3)), InvalidArgument);  // sum 1.2
  EXPECT_THROW(wasserstein_1d(x, y, 1.0, Vector(), Vector::Zero(4)), InvalidArgument);           // total 0
  try {
    wasserstein_1d(x, y, 0.5);
    FAIL() << "no exception";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("wasserstein_1d"), std::string::npos) << e.what();
  }
}

}  // namespace
