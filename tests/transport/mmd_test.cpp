#include "odyn/transport/mmd.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "odyn/core/error.hpp"
#include "transport_test_util.hpp"

namespace {

using odyn::InvalidArgument;
using odyn::test::mean_and_standard_error;
using odyn::test::normal_cloud;
using odyn::transport::Kernel;
using odyn::transport::KernelKind;
using odyn::transport::Matrix;
using odyn::transport::median_heuristic;
using odyn::transport::mmd2_linear;
using odyn::transport::mmd2_unbiased;
using odyn::transport::mmd_permutation_test;
using odyn::transport::MmdTest;

const KernelKind kKinds[] = {KernelKind::gaussian, KernelKind::laplacian, KernelKind::imq, KernelKind::energy};

// The kernel in long double, from the distance (inner product for the polynomial kernel, with the
// defaults degree 3 and offset 1) of rows a.row(i) and b.row(j).
long double kernel_ld(KernelKind kind, long double s, const Matrix& a, Eigen::Index i, const Matrix& b,
                      Eigen::Index j) {
  long double r2 = 0.0L, dot = 0.0L;
  for (Eigen::Index c = 0; c < a.cols(); ++c) {
    const long double diff = static_cast<long double>(a(i, c)) - static_cast<long double>(b(j, c));
    r2 += diff * diff;
    dot += static_cast<long double>(a(i, c)) * static_cast<long double>(b(j, c));
  }
  switch (kind) {
    case KernelKind::gaussian:
      return std::exp(-r2 / (2.0L * s * s));
    case KernelKind::laplacian:
      return std::exp(-std::sqrt(r2) / s);
    case KernelKind::imq:
      return 1.0L / std::sqrt(1.0L + r2 / (s * s));
    case KernelKind::energy:
      return -std::sqrt(r2);
    case KernelKind::polynomial: {
      const long double v = dot / static_cast<long double>(a.cols()) + 1.0L;
      return v * v * v;
    }
  }
  return 0.0L;
}

// The three means of the U-statistic (Gretton et al. 2012, eq. 3) in long double, by the naive
// double loops.
struct Terms {
  long double xx = 0.0L, yy = 0.0L, xy = 0.0L;
  long double mmd2() const { return xx + yy - 2.0L * xy; }
  long double scale() const { return std::abs(xx) + std::abs(yy) + 2.0L * std::abs(xy); }
};

Terms brute_terms(const Matrix& x, const Matrix& y, KernelKind kind, long double s) {
  const Eigen::Index n = x.rows(), m = y.rows();
  Terms t;
  for (Eigen::Index i = 0; i < n; ++i) {
    for (Eigen::Index j = 0; j < n; ++j) {
      if (i != j) t.xx += kernel_ld(kind, s, x, i, x, j);
    }
  }
  for (Eigen::Index i = 0; i < m; ++i) {
    for (Eigen::Index j = 0; j < m; ++j) {
      if (i != j) t.yy += kernel_ld(kind, s, y, i, y, j);
    }
  }
  for (Eigen::Index i = 0; i < n; ++i) {
    for (Eigen::Index j = 0; j < m; ++j) t.xy += kernel_ld(kind, s, x, i, y, j);
  }
  t.xx /= static_cast<long double>(n) * (n - 1);
  t.yy /= static_cast<long double>(m) * (m - 1);
  t.xy /= static_cast<long double>(n) * m;
  return t;
}

// MMD_l^2 (Lemma 14) in long double, and the sum of |terms| for a relative tolerance.
std::pair<long double, long double> brute_linear(const Matrix& x, const Matrix& y, KernelKind kind, long double s) {
  const Eigen::Index pairs = std::min(x.rows(), y.rows()) / 2;
  long double sum = 0.0L, scale = 0.0L;
  for (Eigen::Index l = 0; l < pairs; ++l) {
    const long double a = kernel_ld(kind, s, x, 2 * l, x, 2 * l + 1);
    const long double b = kernel_ld(kind, s, y, 2 * l, y, 2 * l + 1);
    const long double c = kernel_ld(kind, s, x, 2 * l, y, 2 * l + 1);
    const long double e = kernel_ld(kind, s, x, 2 * l + 1, y, 2 * l);
    sum += a + b - c - e;
    scale += std::abs(a) + std::abs(b) + std::abs(c) + std::abs(e);
  }
  return {sum / pairs, scale / pairs};
}

double brute_median(const Matrix& z) {
  std::vector<double> r;
  for (Eigen::Index j = 1; j < z.rows(); ++j) {
    for (Eigen::Index i = 0; i < j; ++i) r.push_back((z.row(i) - z.row(j)).norm());
  }
  std::sort(r.begin(), r.end());
  const std::size_t h = r.size() / 2;
  return r.size() % 2 == 1 ? r[h] : 0.5 * (r[h - 1] + r[h]);
}

Matrix pool(const Matrix& x, const Matrix& y) {
  Matrix z(x.rows() + y.rows(), x.cols());
  z << x, y;
  return z;
}

// Rows of x in a random order.
Matrix shuffled_rows(const Matrix& x, std::mt19937_64& rng) {
  std::vector<Eigen::Index> order(static_cast<std::size_t>(x.rows()));
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<Eigen::Index>(i);
  for (std::size_t i = order.size() - 1; i > 0; --i) std::swap(order[i], order[rng() % (i + 1)]);
  Matrix out(x.rows(), x.cols());
  for (Eigen::Index i = 0; i < x.rows(); ++i) out.row(i) = x.row(order[static_cast<std::size_t>(i)]);
  return out;
}

TEST(MmdUnbiased, MatchesLongDoubleBruteForceForEveryKernel) {
  std::mt19937_64 rng(11);
  // d = 3 uses exact coordinate differences, d = 12 the Gram identity; n = 300 spans two tiles.
  struct Case { Eigen::Index n, m, d; };
  for (const Case c : {Case{40, 30, 3}, Case{300, 17, 3}, Case{60, 45, 12}, Case{2, 2, 1}}) {
    const Matrix x = normal_cloud(c.n, c.d, rng);
    const Matrix y = normal_cloud(c.m, c.d, rng, 0.5);
    for (const KernelKind kind : kKinds) {
      for (const double s : {1.3, 0.0}) {
        const double bw = kind == KernelKind::energy ? 0.0 : (s > 0.0 ? s : median_heuristic(x, y));
        const Terms t = brute_terms(x, y, kind, bw);
        const double got = mmd2_unbiased(x, y, Kernel{kind, s});
        // Double rounding in O(n^2) compensated tile sums (and eps * spread^2 in r^2 on the Gram
        // path) stays far below 1e-12 of the size of the terms that cancel.
        EXPECT_NEAR(got, static_cast<double>(t.mmd2()), 1e-12 * static_cast<double>(t.scale()))
            << "n=" << c.n << " d=" << c.d << " kind=" << static_cast<int>(kind) << " s=" << s;
      }
    }
  }
}

TEST(MmdUnbiased, EnergyKernelGivesTheEnergyDistance) {
  std::mt19937_64 rng(12);
  const Matrix x = normal_cloud(35, 2, rng);
  const Matrix y = normal_cloud(28, 2, rng, 1.0);
  // U-statistic energy distance 2 E|X-Y| - E|X-X'| - E|Y-Y'| (Sejdinovic et al. 2013).
  auto mean_dist = [](const Matrix& a, const Matrix& b, bool skip_diagonal) {
    long double sum = 0.0L;
    long count = 0;
    for (Eigen::Index i = 0; i < a.rows(); ++i) {
      for (Eigen::Index j = 0; j < b.rows(); ++j) {
        if (skip_diagonal && i == j) continue;
        long double r2 = 0.0L;
        for (Eigen::Index c = 0; c < a.cols(); ++c) {
          const long double diff = static_cast<long double>(a(i, c)) - b(j, c);
          r2 += diff * diff;
        }
        sum += std::sqrt(r2);
        ++count;
      }
    }
    return sum / count;
  };
  const long double exy = mean_dist(x, y, false), exx = mean_dist(x, x, true), eyy = mean_dist(y, y, true);
  const long double energy = 2.0L * exy - exx - eyy;
  // Rounding of sums of O(n^2) distances of size ~2: far below 1e-12 of 2 E|X-Y|.
  EXPECT_NEAR(mmd2_unbiased(x, y, Kernel{KernelKind::energy, 0.0}), static_cast<double>(energy),
              1e-12 * static_cast<double>(4.0L * exy));
  EXPECT_GT(energy, 0.0L);
}

TEST(MmdUnbiased, MeanIsZeroWhenPEqualsQ) {
  // Unbiasedness: E MMD_u^2 = MMD^2 = 0 under P = Q; the mean of 400 seeded trials is within
  // 4 standard errors (estimated from the same trials) of 0.
  std::mt19937_64 rng(13);
  const int trials = 400;
  std::vector<double> v;
  for (int t = 0; t < trials; ++t) {
    const Matrix x = normal_cloud(20, 2, rng), y = normal_cloud(20, 2, rng);
    v.push_back(mmd2_unbiased(x, y, Kernel{KernelKind::gaussian, 1.0}));
  }
  const auto [mean, se] = mean_and_standard_error(v);
  EXPECT_LT(std::abs(mean), 4.0 * se) << "mean " << mean << " se " << se;
  // The biased V-statistic would sit at about 2 E k(0)/n = 0.1 above 0: the test separates them.
  EXPECT_LT(4.0 * se, 0.01);
}

TEST(MmdUnbiased, MeanMatchesClosedFormForShiftedGaussians) {
  // P = N(0, I_2), Q = N(mu, I_2), Gaussian kernel with s = 1: E k(X,X') = (s^2/(s^2+2))^{d/2} = 1/3
  // and E k(X,Y) = (1/3) exp(-|mu|^2 / (2 (s^2+2))), so MMD^2 = (2/3)(1 - exp(-|mu|^2/6)).
  // 50 seeded trials at n = 200 (shift 1): their mean within 4 standard errors of the closed form.
  std::mt19937_64 rng(14);
  const double expected = 2.0 / 3.0 * (1.0 - std::exp(-1.0 / 6.0));
  const int trials = 50;
  std::vector<double> v;
  for (int t = 0; t < trials; ++t) {
    const Matrix x = normal_cloud(200, 2, rng), y = normal_cloud(200, 2, rng, 1.0);
    v.push_back(mmd2_unbiased(x, y, Kernel{KernelKind::gaussian, 1.0}));
    EXPECT_GT(v.back(), 0.0);
  }
  const auto [mean, se] = mean_and_standard_error(v);
  EXPECT_NEAR(mean, expected, 4.0 * se);
}

TEST(MmdUnbiased, PositiveForShiftedSamplesWithEveryKernel) {
  std::mt19937_64 rng(15);
  const Matrix x = normal_cloud(200, 2, rng), y = normal_cloud(200, 2, rng, 1.0);
  for (const KernelKind kind : kKinds) {
    EXPECT_GT(mmd2_unbiased(x, y, Kernel{kind, 0.0}), 0.0) << static_cast<int>(kind);
    EXPECT_GT(mmd2_linear(x, y, Kernel{kind, 0.0}), 0.0) << static_cast<int>(kind);
  }
}

TEST(MmdUnbiased, SymmetricAndInvariantToPointOrderAndTranslation) {
  std::mt19937_64 rng(16);
  const Matrix x = normal_cloud(70, 3, rng), y = normal_cloud(50, 3, rng, 0.7);
  const Matrix xs = shuffled_rows(x, rng), ys = shuffled_rows(y, rng);
  Eigen::RowVectorXd t(3);
  t << 0.25, -0.5, 2.0;  // exact binary fractions: no rounding in the shift of small coordinates
  const Matrix xt = x.rowwise() + t, yt = y.rowwise() + t;
  for (const KernelKind kind : kKinds) {
    const Kernel k{kind, 0.9};
    const double base = mmd2_unbiased(x, y, k);
    // Only summation order (and the rounding of a translation) changes: 1e-13 of the terms (O(1)).
    EXPECT_NEAR(mmd2_unbiased(y, x, k), base, 1e-13);
    EXPECT_NEAR(mmd2_unbiased(xs, ys, k), base, 1e-13);
    EXPECT_NEAR(mmd2_unbiased(xt, yt, k), base, 1e-13);
    EXPECT_NEAR(mmd2_linear(y, x, k), mmd2_linear(x, y, k), 1e-13);
  }
}

TEST(MmdLinear, MatchesLongDoubleBruteForceForEveryKernel) {
  std::mt19937_64 rng(21);
  // 9001 x 8500 gives 4250 pairs: more than one chunk of 4096; 41 x 30 uses 15 pairs.
  struct Case { Eigen::Index n, m, d; };
  for (const Case c : {Case{41, 30, 2}, Case{9001, 8500, 2}, Case{2, 3, 5}, Case{20, 20, 12}}) {
    const Matrix x = normal_cloud(c.n, c.d, rng);
    const Matrix y = normal_cloud(c.m, c.d, rng, 0.3);
    for (const KernelKind kind : kKinds) {
      const auto [ref, scale] = brute_linear(x, y, kind, 0.8L);
      // Double rounding in each kernel value and the compensated sum: far below 1e-12 of the
      // mean |term|.
      EXPECT_NEAR(mmd2_linear(x, y, Kernel{kind, 0.8}), static_cast<double>(ref), 1e-12 * static_cast<double>(scale))
          << "n=" << c.n << " kind=" << static_cast<int>(kind);
    }
  }
}

TEST(MmdLinear, MeanIsZeroWhenPEqualsQ) {
  // MMD_l^2 is unbiased too; 400 seeded trials, mean within 4 standard errors of 0.
  std::mt19937_64 rng(22);
  const int trials = 400;
  std::vector<double> v;
  for (int t = 0; t < trials; ++t) {
    const Matrix x = normal_cloud(50, 2, rng), y = normal_cloud(50, 2, rng);
    v.push_back(mmd2_linear(x, y, Kernel{KernelKind::gaussian, 1.0}));
  }
  const auto [mean, se] = mean_and_standard_error(v);
  EXPECT_LT(std::abs(mean), 4.0 * se);
}

TEST(MedianHeuristic, MatchesBruteForceMedian) {
  std::mt19937_64 rng(31);
  // 25 points: 300 pairs (even count, mean of the two middle); 23 points: 253 pairs (odd).
  for (const auto& [n, m] : {std::pair<Eigen::Index, Eigen::Index>{15, 10}, {14, 9}, {1, 1}}) {
    const Matrix x = normal_cloud(n, 3, rng), y = normal_cloud(m, 3, rng, 2.0);
    // The same distances, sorted: exactly equal (the mean of two doubles rounds the same way).
    EXPECT_EQ(median_heuristic(x, y), brute_median(pool(x, y)));
    // max_points equal to the pool size takes every point.
    EXPECT_EQ(median_heuristic(x, y, n + m, 7), brute_median(pool(x, y)));
  }
}

TEST(MedianHeuristic, SubsampleIsSeededAndCloseToFullMedian) {
  std::mt19937_64 rng(32);
  const Matrix x = normal_cloud(1500, 2, rng), y = normal_cloud(1500, 2, rng, 1.0);
  const double full = brute_median(pool(x, y));
  const double a = median_heuristic(x, y, 1000, 5);
  EXPECT_EQ(a, median_heuristic(x, y, 1000, 5));
  EXPECT_NE(a, median_heuristic(x, y, 1000, 6));
  // The median of the ~5e5 pairs of a random third of the pool: over seeds 0..19 its relative
  // deviation from the full-pool median had SD 1.5% (largest 4.4%); 8% is over 5 SDs.
  for (std::uint64_t seed = 0; seed < 5; ++seed) {
    EXPECT_NEAR(median_heuristic(x, y, 1000, seed), full, 0.08 * full) << seed;
  }
  // A subset of 2 points gives one of the pooled distances.
  const double two = median_heuristic(x, y, 2, 3);
  EXPECT_GT(two, 0.0);
}

TEST(MmdPermutationTest, FalsePositiveRateAtLevel005IsNominal) {
  // Under P = Q the p-value (1 + #{perm >= obs}) / (1 + B) satisfies P(p <= 0.05) = 5/100 exactly
  // with B = 99 (continuous statistic). Over 200 seeded trials the count of rejections is
  // Binomial(200, 0.05): mean 10, SD sqrt(200 * 0.05 * 0.95) = 3.08; accept mean +- 4 SD.
  std::mt19937_64 rng(41);
  const int trials = 200;
  const double level = 0.05;
  int rejections = 0;
  double mean_p = 0.0;
  for (int t = 0; t < trials; ++t) {
    const Matrix x = normal_cloud(30, 2, rng), y = normal_cloud(30, 2, rng);
    const MmdTest r = mmd_permutation_test(x, y, Kernel{}, 99, static_cast<std::uint64_t>(t));
    if (r.p_value <= level) ++rejections;
    mean_p += r.p_value / trials;
  }
  const double mean = trials * level, sd = std::sqrt(trials * level * (1.0 - level));
  EXPECT_GE(rejections, mean - 4.0 * sd);
  EXPECT_LE(rejections, mean + 4.0 * sd);
  // p is (discretely) uniform on {1/100, ..., 1}: mean 0.505, SD of the mean about 0.29/sqrt(200).
  EXPECT_NEAR(mean_p, 0.505, 4.0 * 0.29 / std::sqrt(static_cast<double>(trials)));
}

TEST(MmdPermutationTest, DetectsAUnitShift) {
  std::mt19937_64 rng(42);
  const Matrix x = normal_cloud(100, 2, rng), y = normal_cloud(100, 2, rng, 1.0);
  for (const KernelKind kind : kKinds) {
    const MmdTest r = mmd_permutation_test(x, y, Kernel{kind, 0.0}, 999, 1);
    EXPECT_LT(r.p_value, 0.01) << static_cast<int>(kind);
    EXPECT_EQ(r.permutations, 999);
  }
}

TEST(MmdPermutationTest, StatisticAndBandwidthMatchTheEstimators) {
  std::mt19937_64 rng(43);
  const Matrix x = normal_cloud(40, 3, rng), y = normal_cloud(25, 3, rng, 0.5);
  for (const KernelKind kind : kKinds) {
    const MmdTest r = mmd_permutation_test(x, y, Kernel{kind, 0.0}, 20, 9);
    // Same kernel values summed in another order: 1e-13 of the O(1) terms.
    EXPECT_NEAR(r.statistic, mmd2_unbiased(x, y, Kernel{kind, 0.0}), 1e-13);
    EXPECT_EQ(r.bandwidth, kind == KernelKind::energy ? 0.0 : median_heuristic(x, y));
    EXPECT_GE(r.p_value, 1.0 / 21.0);
    EXPECT_LE(r.p_value, 1.0);
  }
  // n > m takes the other branch of the index sums.
  const MmdTest r = mmd_permutation_test(y, x, Kernel{KernelKind::gaussian, 1.1}, 20, 9);
  EXPECT_NEAR(r.statistic, mmd2_unbiased(y, x, Kernel{KernelKind::gaussian, 1.1}), 1e-13);
  EXPECT_EQ(r.bandwidth, 1.1);
}

TEST(MmdPermutationTest, ReproducibleAndInvariantToPointOrder) {
  std::mt19937_64 rng(44);
  const Matrix x = normal_cloud(30, 2, rng), y = normal_cloud(30, 2, rng, 0.4);
  const MmdTest a = mmd_permutation_test(x, y, Kernel{}, 200, 3);
  const MmdTest b = mmd_permutation_test(x, y, Kernel{}, 200, 3);
  EXPECT_EQ(a.statistic, b.statistic);
  EXPECT_EQ(a.p_value, b.p_value);
  const MmdTest c = mmd_permutation_test(shuffled_rows(x, rng), shuffled_rows(y, rng), Kernel{}, 200, 3);
  EXPECT_NEAR(c.statistic, a.statistic, 1e-13);
  // A different order permutes differently: the p-values agree within Monte Carlo error
  // (binomial SD at most 0.5/sqrt(200) = 0.035 each).
  EXPECT_NEAR(c.p_value, a.p_value, 4.0 * std::sqrt(2.0) * 0.035);
}

// The KID kernel (x.y/d + 1)^3 (Binkowski et al. 2018) in all three estimators, in low (direct
// differences elsewhere) and high dimension, against long double sums; the bandwidth is unused.
TEST(MmdPolynomial, MatchesLongDoubleBruteForceInEveryEstimator) {
  std::mt19937_64 rng(61);
  for (const Eigen::Index d : {Eigen::Index{3}, Eigen::Index{20}}) {
    const Matrix x = normal_cloud(300, d, rng);
    const Matrix y = (normal_cloud(280, d, rng).array() * 1.3 + 0.2).matrix();
    const Kernel kernel{KernelKind::polynomial, 0.0};
    EXPECT_EQ(kernel.degree, 3);
    EXPECT_EQ(kernel.offset, 1.0);
    const Terms t = brute_terms(x, y, KernelKind::polynomial, 1.0L);
    const double tol = 1e-13 * static_cast<double>(t.scale());
    EXPECT_NEAR(mmd2_unbiased(x, y, kernel), static_cast<double>(t.mmd2()), tol) << "d = " << d;
    EXPECT_NEAR(mmd2_unbiased(x, y, Kernel{KernelKind::polynomial, 7.0}), static_cast<double>(t.mmd2()), tol);
    const auto [lin, lin_scale] = brute_linear(x, y, KernelKind::polynomial, 1.0L);
    EXPECT_NEAR(mmd2_linear(x, y, kernel), static_cast<double>(lin), 1e-13 * static_cast<double>(lin_scale));
    const MmdTest r = mmd_permutation_test(x, y, kernel, 20, 9);
    EXPECT_NEAR(r.statistic, static_cast<double>(t.mmd2()), tol);
    EXPECT_EQ(r.bandwidth, 0.0);
    EXPECT_LT(r.p_value, 0.1);  // a scale change of 1.3 and a shift show in the third moments
  }
  // Degree 1, offset 0: MMD_u^2 = |mean x - mean y|^2 / d minus the diagonal corrections, i.e.
  // (sum_{i!=j} x_i.x_j)/(n(n-1)) + ... / d; check against the closed form from the sums.
  const Matrix x = normal_cloud(50, 4, rng), y = normal_cloud(40, 4, rng);
  const Eigen::RowVectorXd sx = x.colwise().sum(), sy = y.colwise().sum();
  const double n = 50, m = 40;
  const double xx = (sx.squaredNorm() - x.squaredNorm()) / (n * (n - 1));
  const double yy = (sy.squaredNorm() - y.squaredNorm()) / (m * (m - 1));
  const double xy = sx.dot(sy) / (n * m);
  Kernel linear{KernelKind::polynomial, 0.0};
  linear.degree = 1;
  linear.offset = 0.0;
  EXPECT_NEAR(mmd2_unbiased(x, y, linear), (xx + yy - 2 * xy) / 4.0, 1e-12);
}

TEST(MmdPolynomial, RejectsBadDegreeAndOffset) {
  std::mt19937_64 rng(62);
  const Matrix x = normal_cloud(10, 2, rng), y = normal_cloud(8, 2, rng);
  Kernel k{KernelKind::polynomial, 0.0};
  k.degree = 0;
  EXPECT_THROW(mmd2_unbiased(x, y, k), InvalidArgument);
  EXPECT_THROW(mmd2_linear(x, y, k), InvalidArgument);
  k.degree = 3;
  k.offset = -1.0;
  EXPECT_THROW(mmd_permutation_test(x, y, k, 10), InvalidArgument);
  k.offset = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THROW(mmd2_unbiased(x, y, k), InvalidArgument);
  // Identical pooled points need no bandwidth here: MMD^2 = 0 exactly.
  EXPECT_EQ(mmd2_unbiased(Matrix::Ones(5, 2), Matrix::Ones(4, 2), Kernel{KernelKind::polynomial, 0.0}), 0.0);
}

TEST(MmdBadInput, Throws) {
  std::mt19937_64 rng(51);
  const Matrix x = normal_cloud(10, 2, rng), y = normal_cloud(8, 2, rng);
  Matrix bad = x;
  bad(3, 1) = std::numeric_limits<double>::quiet_NaN();
  Matrix inf = y;
  inf(0, 0) = std::numeric_limits<double>::infinity();
  const Matrix three_d = normal_cloud(8, 3, rng), one = normal_cloud(1, 2, rng), empty(0, 2);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double big = std::numeric_limits<double>::infinity();
  for (const auto& f : {+[](const Matrix& a, const Matrix& b, const Kernel& k) { return mmd2_unbiased(a, b, k); },
                        +[](const Matrix& a, const Matrix& b, const Kernel& k) { return mmd2_linear(a, b, k); },
                        +[](const Matrix& a, const Matrix& b, const Kernel& k) {
                          return mmd_permutation_test(a, b, k, 10).p_value;
                        }}) {
    EXPECT_THROW(f(bad, y, Kernel{}), InvalidArgument);
    EXPECT_THROW(f(x, inf, Kernel{}), InvalidArgument);
    EXPECT_THROW(f(x, three_d, Kernel{}), InvalidArgument);
    EXPECT_THROW(f(x, empty, Kernel{}), InvalidArgument);
    EXPECT_THROW(f(one, y, Kernel{}), InvalidArgument);
    EXPECT_THROW(f(x, one, Kernel{}), InvalidArgument);
    EXPECT_THROW(f(x, y, Kernel{KernelKind::gaussian, -1.0}), InvalidArgument);
    EXPECT_THROW(f(x, y, Kernel{KernelKind::laplacian, nan}), InvalidArgument);
    EXPECT_THROW(f(x, y, Kernel{KernelKind::imq, big}), InvalidArgument);
    EXPECT_THROW(f(x, y, Kernel{KernelKind::energy, -2.0}), InvalidArgument);
    EXPECT_THROW(f(x, y, Kernel{static_cast<KernelKind>(42), 1.0}), InvalidArgument);
    // All pooled points equal: the median heuristic gives 0.
    EXPECT_THROW(f(Matrix::Ones(5, 2), Matrix::Ones(4, 2), Kernel{}), InvalidArgument);
  }
  EXPECT_THROW(mmd_permutation_test(x, y, Kernel{}, 0), InvalidArgument);
  EXPECT_THROW(median_heuristic(x, y, 1), InvalidArgument);
  EXPECT_THROW(median_heuristic(bad, y), InvalidArgument);
  EXPECT_THROW(median_heuristic(x, three_d), InvalidArgument);
  // The message names the function and the problem.
  try {
    mmd2_unbiased(one, y);
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("mmd2_unbiased"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("at least 2"), std::string::npos);
  }
  // Identical pooled points are fine with a given bandwidth: MMD^2 = 1 + 1 - 2 = 0 exactly.
  EXPECT_EQ(mmd2_unbiased(Matrix::Ones(5, 2), Matrix::Ones(4, 2), Kernel{KernelKind::gaussian, 1.0}), 0.0);
}

}  // namespace
