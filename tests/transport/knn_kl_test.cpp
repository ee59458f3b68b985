#include "odyn/transport/knn_kl.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "odyn/core/error.hpp"
#include "transport_test_util.hpp"

namespace {

using odyn::InvalidArgument;
using odyn::test::mean_and_standard_error;
using odyn::test::normal_cloud;
using odyn::transport::knn_kl_divergence;
using odyn::transport::Matrix;

// KL(N(0, I_d) || N(mu e_1, s^2 I_d)) = (1/2) (d/s^2 + mu^2/s^2 - d + 2 d log s).
double gaussian_kl(int d, double mu, double s) {
  return 0.5 * (d / (s * s) + mu * mu / (s * s) - d + 2.0 * d * std::log(s));
}

// Squared distance summed over coordinates in order (as the tree's metric does).
double dist2(const Matrix& a, Eigen::Index i, const Matrix& b, Eigen::Index j) {
  double r = 0.0;
  for (Eigen::Index c = 0; c < a.cols(); ++c) {
    const double diff = a(i, c) - b(j, c);
    r += diff * diff;
  }
  return r;
}

// Wang et al. eq. 5 from all pairwise distances: sort them, drop x_i itself once.
double brute_knn_kl(const Matrix& x, const Matrix& y, int k) {
  const Eigen::Index n = x.rows(), m = y.rows();
  double sum = 0.0;
  for (Eigen::Index i = 0; i < n; ++i) {
    std::vector<double> dx, dy;
    for (Eigen::Index j = 0; j < n; ++j) {
      if (j != i) dx.push_back(dist2(x, i, x, j));
    }
    for (Eigen::Index j = 0; j < m; ++j) dy.push_back(dist2(x, i, y, j));
    std::sort(dx.begin(), dx.end());
    std::sort(dy.begin(), dy.end());
    sum += 0.5 * (std::log(dy[static_cast<std::size_t>(k - 1)]) - std::log(dx[static_cast<std::size_t>(k - 1)]));
  }
  return static_cast<double>(x.cols()) / n * sum + std::log(static_cast<double>(m) / (n - 1.0));
}

// Estimates over `reps` seeded repetitions at n = m = 5000 of P = N(0, I_d), Q = N(mu e_1, s^2 I_d).
std::vector<double> repetitions(int d, double mu, double s, int reps, std::uint64_t seed) {
  std::vector<double> v;
  for (int t = 0; t < reps; ++t) {
    std::mt19937_64 rng(seed + static_cast<std::uint64_t>(t));
    const Matrix x = normal_cloud(5000, d, rng), y = normal_cloud(5000, d, rng, mu, s);
    v.push_back(knn_kl_divergence(x, y));
  }
  return v;
}

// Tolerances of the Gaussian tests (k = 1, n = m = 5000). Over 20 seeded repetitions (seeds
// 100..119, a different stream from the tests') the estimate had SD 0.026 (2-D), 0.027 (1-D) and
// 0.026 (P = Q, 2-D), and mean error +0.006, +0.004, -0.006, within their standard errors (0.006):
// no bias visible at this n. Each estimate must lie within 5 SD (0.15) plus 0.02 for a small bias;
// the mean of 8 within 5 SD / sqrt(8) (0.05) plus 0.02.
constexpr double kSd = 0.03, kBias = 0.02;
constexpr int kReps = 8;

void expect_close(const std::vector<double>& v, double truth) {
  for (double e : v) EXPECT_NEAR(e, truth, 5.0 * kSd + kBias);
  EXPECT_NEAR(mean_and_standard_error(v).mean, truth, 5.0 * kSd / std::sqrt(static_cast<double>(v.size())) + kBias);
}

TEST(KnnKl, MatchesClosedFormGaussianKl2D) {
  const double truth = gaussian_kl(2, 1.0, 1.5);  // 0.4776
  expect_close(repetitions(2, 1.0, 1.5, kReps, 1), truth);
}

TEST(KnnKl, MatchesClosedFormGaussianKl1D) {
  const double truth = gaussian_kl(1, 0.5, 2.0);  // 0.3494
  expect_close(repetitions(1, 0.5, 2.0, kReps, 21), truth);
}

TEST(KnnKl, NearZeroWhenPEqualsQ) {
  expect_close(repetitions(2, 0.0, 1.0, kReps, 41), 0.0);
}

TEST(KnnKl, EqualsBruteForceNeighbours) {
  std::mt19937_64 rng(61);
  for (const Eigen::Index d : {1, 3}) {
    const Matrix x = normal_cloud(60, d, rng), y = normal_cloud(45, d, rng, 0.5, 1.3);
    for (const int k : {1, 3}) {
      // Same neighbour distances and the same sum in the same order; EXPECT_DOUBLE_EQ (4 ulps)
      // allows only for a compiler contracting a*b+c differently in the two copies. A wrong
      // neighbour would change the value by far more.
      EXPECT_DOUBLE_EQ(knn_kl_divergence(x, y, k), brute_knn_kl(x, y, k)) << "d=" << d << " k=" << k;
    }
  }
  // k = n - 1 and k = m, the largest allowed.
  const Matrix a = normal_cloud(6, 2, rng), b = normal_cloud(4, 2, rng);
  EXPECT_DOUBLE_EQ(knn_kl_divergence(a, b, 4), brute_knn_kl(a, b, 4));  // k = m
  EXPECT_DOUBLE_EQ(knn_kl_divergence(b, a, 3), brute_knn_kl(b, a, 3));  // k = n - 1
}

TEST(KnnKl, InvariantToPointOrderAndTranslation) {
  std::mt19937_64 rng(62);
  const Matrix x = normal_cloud(300, 2, rng), y = normal_cloud(200, 2, rng, 1.0);
  const Matrix xr = x.colwise().reverse(), yr = y.colwise().reverse();
  const Matrix xt = x.array() + 0.5, yt = y.array() + 0.5;
  const double base = knn_kl_divergence(x, y, 2);
  // Only the order of the sum changes: 1e-12 of the O(1) value.
  EXPECT_NEAR(knn_kl_divergence(xr, yr, 2), base, 1e-12);
  // Translation rounds coordinates (about eps each), moving log-distances by about
  // eps / (smallest distance ~1e-3): 1e-9 is generous.
  EXPECT_NEAR(knn_kl_divergence(xt, yt, 2), base, 1e-9);
}

TEST(KnnKl, RepeatedPointsThrowOrAreDroppedOnce) {
  std::mt19937_64 rng(63);
  Matrix x = normal_cloud(40, 2, rng);
  const Matrix y = normal_cloud(30, 2, rng, 0.3);
  x.row(7) = x.row(3);  // two copies of one point in X
  // k = 1: rho_1 of point 3 is 0 (log 0); the message names the point.
  try {
    knn_kl_divergence(x, y, 1);
    FAIL();
  } catch (const InvalidArgument& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("knn_kl_divergence"), std::string::npos);
    EXPECT_NE(what.find("X point 3"), std::string::npos) << what;
    EXPECT_NE(what.find("distance 0"), std::string::npos);
  }
  // k = 2: only x_i itself is dropped, the other copy is the first neighbour at distance 0 and
  // rho_2 > 0, exactly as the brute force that removes index i.
  EXPECT_DOUBLE_EQ(knn_kl_divergence(x, y, 2), brute_knn_kl(x, y, 2));
  // Three copies: rho_2 is 0.
  x.row(11) = x.row(3);
  EXPECT_THROW(knn_kl_divergence(x, y, 2), InvalidArgument);
  EXPECT_DOUBLE_EQ(knn_kl_divergence(x, y, 3), brute_knn_kl(x, y, 3));
  // A point of X also in Y: nu_1 = 0.
  Matrix x2 = normal_cloud(40, 2, rng);
  x2.row(5) = y.row(9);
  try {
    knn_kl_divergence(x2, y, 1);
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("X point 5"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("in Y"), std::string::npos) << e.what();
  }
  // All of X one point, many copies: rho_k = 0 whatever the tree returns first.
  EXPECT_THROW(knn_kl_divergence(Matrix::Zero(50, 2), y, 3), InvalidArgument);
}

TEST(KnnKl, BadInputThrows) {
  std::mt19937_64 rng(64);
  const Matrix x = normal_cloud(10, 2, rng), y = normal_cloud(8, 2, rng);
  Matrix bad = x;
  bad(2, 0) = std::numeric_limits<double>::quiet_NaN();
  Matrix inf = y;
  inf(4, 1) = -std::numeric_limits<double>::infinity();
  EXPECT_THROW(knn_kl_divergence(bad, y), InvalidArgument);
  EXPECT_THROW(knn_kl_divergence(x, inf), InvalidArgument);
  EXPECT_THROW(knn_kl_divergence(x, normal_cloud(8, 3, rng)), InvalidArgument);
  EXPECT_THROW(knn_kl_divergence(Matrix(0, 2), y), InvalidArgument);
  EXPECT_THROW(knn_kl_divergence(x, Matrix(0, 2)), InvalidArgument);
  EXPECT_THROW(knn_kl_divergence(normal_cloud(1, 2, rng), y), InvalidArgument);  // n - 1 = 0
  EXPECT_THROW(knn_kl_divergence(x, y, 0), InvalidArgument);
  EXPECT_THROW(knn_kl_divergence(x, y, -2), InvalidArgument);
  EXPECT_THROW(knn_kl_divergence(x, y, 9), InvalidArgument);  // k > m = 8
  EXPECT_THROW(knn_kl_divergence(normal_cloud(5, 2, rng), y, 5), InvalidArgument);  // k > n - 1
  EXPECT_NO_THROW(knn_kl_divergence(x, y, 8));
  EXPECT_NO_THROW(knn_kl_divergence(normal_cloud(2, 2, rng), normal_cloud(1, 2, rng), 1));
}

}  // namespace
