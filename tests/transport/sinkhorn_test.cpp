#include "odyn/transport/sinkhorn.hpp"

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
using odyn::transport::ground_cost;
using odyn::transport::Matrix;
using odyn::transport::sinkhorn;
using odyn::transport::sinkhorn_divergence;
using odyn::transport::sinkhorn_symmetric;
using odyn::transport::SinkhornOptions;
using odyn::transport::SinkhornResult;
using odyn::transport::Vector;
using Index = Eigen::Index;

Matrix uniform_points(Index n, Index d, std::uint64_t seed, double scale = 1.0) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> uniform(0.0, scale);
  Matrix x(n, d);
  for (Index i = 0; i < n; ++i) {
    for (Index k = 0; k < d; ++k) x(i, k) = uniform(rng);
  }
  return x;
}

Vector random_weights(Index n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> uniform(0.1, 1.0);
  Vector w(n);
  for (Index i = 0; i < n; ++i) w(i) = uniform(rng);
  return w / w.sum();
}

SinkhornOptions tight(double tolerance = 1e-14) {
  SinkhornOptions o;
  o.tolerance = tolerance;
  o.max_iterations = 100000;
  return o;
}

// The naive log-domain Sinkhorn iteration f = -eps LSE_j(log b_j + (g_j - C_ij)/eps), g likewise,
// in long double from f = g = 0 until the column marginal error is below 1e-16 (long double
// rounding is 1e-19; at most 20000 sweeps).
struct Reference {
  long double value = 0, cost = 0;
  std::vector<std::vector<long double>> plan;
};

Reference reference_sinkhorn(const Vector& a, const Vector& b, const Matrix& c, double eps_d) {
  using L = long double;
  const Index n = a.size(), m = b.size();
  const L eps = eps_d;
  std::vector<L> f(n, 0), g(m, 0);
  auto lse = [](const std::vector<L>& z) {
    L top = *std::max_element(z.begin(), z.end());
    L s = 0;
    for (L x : z) s += std::exp(x - top);
    return top + std::log(s);
  };
  auto plan_entry = [&](Index i, Index j) {
    return static_cast<L>(a(i)) * b(j) * std::exp((f[i] + g[j] - static_cast<L>(c(i, j))) / eps);
  };
  for (int it = 0; it < 20000; ++it) {
    for (Index i = 0; i < n; ++i) {
      std::vector<L> z(m);
      for (Index j = 0; j < m; ++j) z[j] = std::log(static_cast<L>(b(j))) + (g[j] - static_cast<L>(c(i, j))) / eps;
      f[i] = -eps * lse(z);
    }
    L error = 0;
    for (Index j = 0; j < m; ++j) {
      L col = 0;
      for (Index i = 0; i < n; ++i) col += plan_entry(i, j);
      error += std::fabs(col - static_cast<L>(b(j)));
    }
    if (error < 1e-16L) break;
    for (Index j = 0; j < m; ++j) {
      std::vector<L> z(n);
      for (Index i = 0; i < n; ++i) z[i] = std::log(static_cast<L>(a(i))) + (f[i] - static_cast<L>(c(i, j))) / eps;
      g[j] = -eps * lse(z);
    }
  }
  Reference r;
  r.plan.assign(n, std::vector<L>(m));
  for (Index i = 0; i < n; ++i) {
    r.value += static_cast<L>(a(i)) * f[i];
    for (Index j = 0; j < m; ++j) {
      r.plan[i][j] = plan_entry(i, j);
      r.cost += r.plan[i][j] * static_cast<L>(c(i, j));
    }
  }
  for (Index j = 0; j < m; ++j) r.value += static_cast<L>(b(j)) * g[j];
  return r;
}

// OT_eps(a, a) for a symmetric cost by the naive averaged fixed point f = (f + T(f)) / 2,
// T(f)_i = -eps LSE_j(log a_j + (f_j - C_ij)/eps), in long double from f = 0 until a step moves f
// by less than 1e-18 (the linearised step contracts by a factor <= 1/2 for a positive definite
// kernel such as exp(-|x - y|^2/eps); at most 5000 steps), as 2 <a, f>.
long double reference_self(const Vector& a, const Matrix& c, double eps_d) {
  using L = long double;
  const Index n = a.size();
  const L eps = eps_d;
  std::vector<L> f(n, 0), t(n);
  for (int it = 0; it < 5000; ++it) {
    for (Index i = 0; i < n; ++i) {
      std::vector<L> z(n);
      for (Index j = 0; j < n; ++j) z[j] = std::log(static_cast<L>(a(j))) + (f[j] - static_cast<L>(c(i, j))) / eps;
      const L top = *std::max_element(z.begin(), z.end());
      L sum = 0;
      for (L v : z) sum += std::exp(v - top);
      t[i] = -eps * (top + std::log(sum));
    }
    L step = 0;
    for (Index i = 0; i < n; ++i) {
      step = std::max(step, std::fabs(t[i] - f[i]));
      f[i] = (f[i] + t[i]) / 2;
    }
    if (step < 1e-18L) break;
  }
  L value = 0;
  for (Index i = 0; i < n; ++i) value += 2 * static_cast<L>(a(i)) * f[i];
  return value;
}

Matrix normal_points(Index n, Index d, double mean, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(mean, 1.0);
  Matrix x(n, d);
  for (Index i = 0; i < n; ++i) {
    for (Index k = 0; k < d; ++k) x(i, k) = normal(rng);
  }
  return x;
}

// Minimum over permutations of the mean assignment cost (uniform weights, n = m).
double assignment_cost(const Matrix& c) {
  std::vector<int> perm(c.rows());
  std::iota(perm.begin(), perm.end(), 0);
  double best = std::numeric_limits<double>::infinity();
  do {
    double s = 0.0;
    for (Index i = 0; i < c.rows(); ++i) s += c(i, perm[i]);
    best = std::min(best, s / c.rows());
  } while (std::next_permutation(perm.begin(), perm.end()));
  return best;
}

// Two uniform clouds of n and m points in [0, 1]^2 with random weights, from seeds seed .. seed + 3.
struct Problem {
  Matrix c;  // squared Euclidean cost, n x m
  Vector a, b;
};

Problem random_problem(Index n, Index m, std::uint64_t seed) {
  const Matrix x = uniform_points(n, 2, seed);
  const Matrix y = uniform_points(m, 2, seed + 1);
  return {ground_cost(x, y), random_weights(n, seed + 2), random_weights(m, seed + 3)};
}

bool all_finite(const SinkhornResult& r) {
  return r.plan.allFinite() && r.f.allFinite() && r.g.allFinite() && std::isfinite(r.value) &&
         std::isfinite(r.transport_cost) && std::isfinite(r.marginal_error);
}

TEST(SinkhornReference, MatchesLongDoubleLogDomain) {
  const auto [c, a, b] = random_problem(5, 7, 1);
  for (double eps : {1.0, 0.1, 0.02}) {
    for (bool scaling : {true, false}) {
      SinkhornOptions o = tight();
      o.epsilon_scaling = scaling;
      const SinkhornResult r = sinkhorn(a, b, c, eps, o);
      const Reference ref = reference_sinkhorn(a, b, c, eps);
      ASSERT_TRUE(r.converged);
      // Both solve to marginal error ~1e-14; the values are O(0.1) and the potentials are
      // recovered from logs of scalings, so agreement to 1e-11 relative leaves 100x margin over
      // the rounding of ~20 absorptions.
      EXPECT_NEAR(r.value, static_cast<double>(ref.value), 1e-11 * std::fabs(static_cast<double>(ref.value)));
      EXPECT_NEAR(r.transport_cost, static_cast<double>(ref.cost), 1e-11 * static_cast<double>(ref.cost));
      double max_plan = 0.0, max_diff = 0.0;
      for (Index i = 0; i < 5; ++i) {
        for (Index j = 0; j < 7; ++j) {
          max_plan = std::max(max_plan, static_cast<double>(ref.plan[i][j]));
          max_diff = std::max(max_diff, std::fabs(r.plan(i, j) - static_cast<double>(ref.plan[i][j])));
        }
      }
      EXPECT_LE(max_diff, 1e-10 * max_plan) << "eps " << eps;
    }
  }
}

TEST(SinkhornIdentities, MarginalsAndPrimalDual) {
  const auto [c, a, b] = random_problem(60, 40, 5);
  const double eps = 0.01;
  SinkhornOptions o;
  o.tolerance = 1e-12;
  const SinkhornResult r = sinkhorn(a, b, c, eps, o);
  ASSERT_TRUE(r.converged);
  // Rows are exact after the last row update (rounding only); columns within the tolerance.
  EXPECT_LE((r.plan.rowwise().sum() - a).lpNorm<1>(), 1e-14);
  EXPECT_LE((r.plan.colwise().sum().transpose() - b).lpNorm<1>(), 1e-12 + 1e-14);
  EXPECT_NEAR(r.marginal_error, (r.plan.colwise().sum().transpose() - b).lpNorm<1>(), 1e-15);
  // P_ij = a_i b_j exp((f_i + g_j - C_ij)/eps), to rounding of the exponent (|.| < 1e3).
  double worst = 0.0;
  for (Index i = 0; i < 60; ++i) {
    for (Index j = 0; j < 40; ++j) {
      const double p = a(i) * b(j) * std::exp((r.f(i) + r.g(j) - c(i, j)) / eps);
      worst = std::max(worst, std::fabs(p - r.plan(i, j)) / (p + 1e-300));
    }
  }
  EXPECT_LE(worst, 1e-11);
  // value = <a,f> + <b,g> = <P,C> + eps KL(P | a b^T); the two sides differ by the marginal error
  // times the range of the potentials (O(1)), so 1e-11.
  EXPECT_NEAR(r.value, a.dot(r.f) + b.dot(r.g), 1e-15);
  double kl = 0.0;
  for (Index i = 0; i < 60; ++i) {
    for (Index j = 0; j < 40; ++j) {
      if (r.plan(i, j) > 0.0) kl += r.plan(i, j) * std::log(r.plan(i, j) / (a(i) * b(j)));
    }
  }
  EXPECT_NEAR(r.value, r.transport_cost + eps * kl, 1e-11);
  EXPECT_NEAR(r.transport_cost, (r.plan.array() * c.array()).sum(), 1e-15);
  // Weak duality for the entropic problem: the value is at least the unregularised cost bound
  // <P,C> >= value - eps log(n m) fails only if KL were wrong; KL in [0, log min(n, m)] here.
  EXPECT_GE(kl, 0.0);
  EXPECT_LE(kl, std::log(40.0) + 1e-12);
}

TEST(SinkhornIdentities, EpsilonScalingDoesNotChangeTheSolution) {
  const Matrix c = ground_cost(uniform_points(30, 3, 9), uniform_points(25, 3, 10));
  SinkhornOptions with = tight(1e-13), without = tight(1e-13);
  without.epsilon_scaling = false;
  const SinkhornResult r1 = sinkhorn(Vector(), Vector(), c, 0.05, with);
  const SinkhornResult r2 = sinkhorn(Vector(), Vector(), c, 0.05, without);
  // Same strictly convex problem solved to 1e-13 marginal error both ways.
  EXPECT_NEAR(r1.value, r2.value, 1e-11 * std::fabs(r2.value));
  EXPECT_LE((r1.plan - r2.plan).cwiseAbs().maxCoeff(), 1e-10 * r2.plan.maxCoeff());
}

TEST(SinkhornLimit, ApproachesAssignmentCostAsEpsilonVanishes) {
  const Index n = 6;
  const Matrix c = ground_cost(uniform_points(n, 2, 11), uniform_points(n, 2, 12));
  const double exact = assignment_cost(c);
  std::vector<double> gaps;
  for (double eps : {1e-1, 1e-2, 1e-3}) {
    SinkhornOptions o = tight(1e-9);
    o.max_iterations = 20000;
    const SinkhornResult r = sinkhorn(Vector(), Vector(), c, eps, o);
    // Near a tie of two matchings Sinkhorn contracts like 1 - e^{-tie gap/eps}, so convergence
    // to 1e-9 is not required; the bound below accounts for the marginal error reached.
    ASSERT_TRUE(all_finite(r));
    ASSERT_LE(r.marginal_error, 1e-6) << eps;
    const double slack = r.marginal_error * c.maxCoeff() + 1e-14;
    const double gap = r.transport_cost - exact;
    // <P,C> + eps KL(P) <= <P*,C> + eps KL(P*) with KL(P*) = log n for a permutation plan and
    // KL >= 0, so 0 <= gap <= eps log n for exact marginals; a plan with exact rows and column
    // error delta (L1) is delta away from a feasible one, which moves <P,C> by <= delta max C.
    EXPECT_GE(gap, -slack) << eps;
    EXPECT_LE(gap, eps * std::log(static_cast<double>(n)) + slack) << eps;
    gaps.push_back(gap);
  }
  EXPECT_LT(gaps[1], gaps[0]);
  EXPECT_LT(gaps[2], gaps[1]);
}

TEST(SinkhornLimit, StableAtTinyEpsilon) {
  const Index n = 6;
  const Matrix c = ground_cost(uniform_points(n, 2, 13), uniform_points(n, 2, 14));
  const double eps = 1e-4 * c.maxCoeff();
  const SinkhornResult r = sinkhorn(Vector(), Vector(), c, eps, tight(1e-10));
  EXPECT_TRUE(all_finite(r));
  EXPECT_TRUE(r.converged);
  const double gap = r.transport_cost - assignment_cost(c);
  EXPECT_GE(gap, -1e-10 * c.maxCoeff());
  EXPECT_LE(gap, eps * std::log(static_cast<double>(n)) + 1e-10 * c.maxCoeff());
  // Without epsilon scaling the kernel exp(-C/eps) underflows (exp(-1e4)) off the optimal
  // matching and plain Sinkhorn crawls; the stabilisation must still give finite numbers and
  // exact rows.
  SinkhornOptions plain = tight(1e-12);
  plain.epsilon_scaling = false;
  plain.max_iterations = 2000;
  const SinkhornResult r2 = sinkhorn(Vector(), Vector(), c, eps, plain);
  EXPECT_TRUE(all_finite(r2));
  EXPECT_LE((r2.plan.rowwise().sum() - Vector::Constant(n, 1.0 / n)).lpNorm<1>(), 1e-14);
}

TEST(SinkhornLimit, UnderflowingKernelRowIsRecovered) {
  // Without epsilon scaling the first kernel exp((f + g - C)/eps) of the far point's row is
  // exp(-1e5): every entry underflows and its row update falls back to the log domain.
  Matrix x(4, 1), y(4, 1);
  x << 0.0, 0.1, 0.2, 10.0;
  y << 0.0, 0.15, 0.3, 0.45;
  const Matrix c = ground_cost(x, y);
  const Vector a = random_weights(4, 41), b = random_weights(4, 42);
  const double eps = 1e-3;
  SinkhornOptions o = tight(1e-13);
  o.epsilon_scaling = false;
  const SinkhornResult r = sinkhorn(a, b, c, eps, o);
  ASSERT_TRUE(all_finite(r));
  EXPECT_TRUE(r.converged);
  const Reference ref = reference_sinkhorn(a, b, c, eps);
  // Both at marginal error ~1e-13 on a value of size ~10: 1e-11 relative.
  EXPECT_NEAR(r.value, static_cast<double>(ref.value), 1e-11 * std::fabs(static_cast<double>(ref.value)));
  EXPECT_NEAR(r.transport_cost, static_cast<double>(ref.cost), 1e-11 * static_cast<double>(ref.cost));
}

// Two samples of n points each from N(0, [[1, .3], [.3, .5]]) and N((1, -.5), [[.6, -.2], [-.2, 1.2]])
// (one std::mt19937_64), squared Euclidean cost: max C is about 40, set by a few tail points, and
// at eps = 1e-3 max C Sinkhorn contracts by about 1 - 1e-4 per iteration (on such samples with
// n = 500, plain log-domain Sinkhorn needs more than 2e4 iterations to reach an L1 error of 1e-9).
Matrix gaussian_cost(Index n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  Matrix x(n, 2), y(n, 2);
  for (Index i = 0; i < n; ++i) {
    const double z1 = normal(rng), z2 = normal(rng);
    x(i, 0) = z1;
    x(i, 1) = 0.3 * z1 + std::sqrt(0.41) * z2;
  }
  for (Index i = 0; i < n; ++i) {
    const double z1 = normal(rng), z2 = normal(rng);
    y(i, 0) = 1.0 + std::sqrt(0.6) * z1;
    y(i, 1) = -0.5 - 0.2 / std::sqrt(0.6) * z1 + std::sqrt(1.2 - 0.04 / 0.6) * z2;
  }
  return ground_cost(x, y);
}

// The exact dual solution in long double by Newton's method on the semi-dual
// F(g) = <b, g> + <a, f(g)>, f(g)_i = -eps LSE_j(log b_j + (g_j - C_ij)/eps), from the potential g
// (Peyré & Cuturi 2019, §4.4): grad F = b - P^T 1 for the plan P of (f(g), g), and
// -eps Hess F = diag(P^T 1) - P^T diag(1/a) P, with g_0 held fixed (F(g + c) = F(g)). Started
// near the optimum it converges quadratically; returns g* and sets value = F(g*) and error to the
// final L1 column error.
std::vector<long double> newton_potential(const Vector& a, const Vector& b, const Matrix& c, double eps_d,
                                          const Vector& g0, long double& value, long double& error) {
  using L = long double;
  const Index n = a.size(), m = b.size();
  const L eps = eps_d;
  std::vector<L> g(g0.data(), g0.data() + m), f(n), col(m);
  std::vector<std::vector<L>> p(n, std::vector<L>(m));
  const auto evaluate = [&]() {
    for (Index i = 0; i < n; ++i) {
      L top = -std::numeric_limits<L>::infinity();
      for (Index j = 0; j < m; ++j) top = std::max(top, std::log(static_cast<L>(b(j))) + (g[j] - c(i, j)) / eps);
      L sum = 0;
      for (Index j = 0; j < m; ++j) sum += std::exp(std::log(static_cast<L>(b(j))) + (g[j] - c(i, j)) / eps - top);
      f[i] = -eps * (top + std::log(sum));
      for (Index j = 0; j < m; ++j) p[i][j] = a(i) * b(j) * std::exp((f[i] + g[j] - c(i, j)) / eps);
    }
    error = 0;
    for (Index j = 0; j < m; ++j) {
      col[j] = 0;
      for (Index i = 0; i < n; ++i) col[j] += p[i][j];
      error += std::fabs(col[j] - static_cast<L>(b(j)));
    }
  };
  evaluate();
  for (int step = 0; step < 6 && error > 1e-17L; ++step) {
    // Reduced system on j, k >= 1: (diag(col) - P^T diag(1/a) P) d = eps (b - col).
    const Index r = m - 1;
    std::vector<std::vector<L>> h(r, std::vector<L>(r + 1, 0));
    for (Index i = 0; i < n; ++i) {
      const L inv = 1 / static_cast<L>(a(i));
      for (Index j = 1; j < m; ++j) {
        const L pj = p[i][j] * inv;
        for (Index k = 1; k < m; ++k) h[j - 1][k - 1] -= pj * p[i][k];
      }
    }
    for (Index j = 1; j < m; ++j) {
      h[j - 1][j - 1] += col[j];
      h[j - 1][r] = eps * (static_cast<L>(b(j)) - col[j]);
    }
    // Gaussian elimination with partial pivoting (the matrix is positive definite).
    for (Index k = 0; k < r; ++k) {
      Index piv = k;
      for (Index i = k + 1; i < r; ++i) {
        if (std::fabs(h[i][k]) > std::fabs(h[piv][k])) piv = i;
      }
      std::swap(h[k], h[piv]);
      for (Index i = k + 1; i < r; ++i) {
        const L factor = h[i][k] / h[k][k];
        for (Index l = k; l <= r; ++l) h[i][l] -= factor * h[k][l];
      }
    }
    std::vector<L> d(r);
    for (Index k = r - 1; k >= 0; --k) {
      L s = h[k][r];
      for (Index l = k + 1; l < r; ++l) s -= h[k][l] * d[l];
      d[k] = s / h[k][k];
    }
    for (Index j = 1; j < m; ++j) g[j] += d[j - 1];
    evaluate();
  }
  value = 0;
  for (Index i = 0; i < n; ++i) value += static_cast<L>(a(i)) * f[i];
  for (Index j = 0; j < m; ++j) value += static_cast<L>(b(j)) * g[j];
  return g;
}

TEST(SinkhornConvergence, GaussianSamplesMatchNewtonRefinedLongDouble) {
  // Tail points make this problem ill-conditioned (see gaussian_cost): the adaptive
  // over-relaxation must find a factor near 2, and kernel entries far below 1e-308 must not slow
  // the matrix-vector products down (they are set to 0).
  const Index n = 300;
  const Matrix c = gaussian_cost(n, 7);
  const double eps = 1e-3 * c.maxCoeff();
  const Vector a = Vector::Constant(n, 1.0 / n);
  const SinkhornResult r = sinkhorn(a, a, c, eps);
  ASSERT_TRUE(all_finite(r));
  EXPECT_TRUE(r.converged);
  // 198 iterations measured (1212 before the relaxation safeguards were reworked, and plain
  // log-domain Sinkhorn needs thousands): twice that as the budget.
  EXPECT_LE(r.iterations, 400);
  long double value = 0, error = 0;
  const std::vector<long double> g = newton_potential(a, a, c, eps, r.g, value, error);
  ASSERT_LE(error, 1e-16L);  // the reference is converged (long double rounding ~1e-19 per entry)
  // F is concave and invariant under g -> g + const, so 0 <= F(g*) - F(g) <= grad F(g) . (g* - g - t)
  // for every t, with grad F(g) = b - P^T 1 (L1 norm: the marginal error, P with exact rows):
  // the gap is at most marginal_error * osc(g* - g) / 2 (plus rounding of the value, 1e-14).
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (Index j = 0; j < n; ++j) {
    lo = std::min(lo, static_cast<double>(g[j] - static_cast<long double>(r.g(j))));
    hi = std::max(hi, static_cast<double>(g[j] - static_cast<long double>(r.g(j))));
  }
  const double gap = static_cast<double>(value) - r.value;
  EXPECT_GE(gap, -1e-14);
  EXPECT_LE(gap, r.marginal_error * (hi - lo) / 2 + 1e-14);
  // The potentials themselves (measured: osc(g* - g) = 3e-5 eps): within 1e-3 eps, so that every
  // plan entry is within 0.2% of the exact one.
  EXPECT_LE(hi - lo, 1e-3 * eps);
}

TEST(SinkhornZeroWeights, MatchReducedProblem) {
  const Matrix x = uniform_points(8, 2, 15);
  const Matrix y = uniform_points(6, 2, 16);
  const Matrix c = ground_cost(x, y);
  Vector a = random_weights(8, 17);
  Vector b = random_weights(6, 18);
  a(2) = 0.0;
  a(5) = 0.0;
  b(0) = 0.0;
  a /= a.sum();
  b /= b.sum();
  const std::vector<Index> keep_rows = {0, 1, 3, 4, 6, 7}, keep_cols = {1, 2, 3, 4, 5};
  Matrix cr(6, 5);
  Vector ar(6), br(5);
  for (Index i = 0; i < 6; ++i) ar(i) = a(keep_rows[i]);
  for (Index j = 0; j < 5; ++j) br(j) = b(keep_cols[j]);
  for (Index i = 0; i < 6; ++i) {
    for (Index j = 0; j < 5; ++j) cr(i, j) = c(keep_rows[i], keep_cols[j]);
  }
  const double eps = 0.05;
  const SinkhornResult r = sinkhorn(a, b, c, eps, tight());
  const SinkhornResult rr = sinkhorn(ar, br, cr, eps, tight());
  ASSERT_TRUE(all_finite(r));
  EXPECT_TRUE(r.converged);
  // Same computation on the support, so agreement to rounding.
  EXPECT_NEAR(r.value, rr.value, 1e-13);
  EXPECT_NEAR(r.transport_cost, rr.transport_cost, 1e-13);
  EXPECT_EQ(r.plan.row(2).cwiseAbs().maxCoeff(), 0.0);
  EXPECT_EQ(r.plan.row(5).cwiseAbs().maxCoeff(), 0.0);
  EXPECT_EQ(r.plan.col(0).cwiseAbs().maxCoeff(), 0.0);
  for (Index i = 0; i < 6; ++i) {
    for (Index j = 0; j < 5; ++j) EXPECT_NEAR(r.plan(keep_rows[i], keep_cols[j]), rr.plan(i, j), 1e-15);
  }
  // The potential of a zero-weight point is the c-transform of the other side.
  double top = -1e300;
  for (Index j = 0; j < 6; ++j) {
    if (b(j) > 0) top = std::max(top, std::log(b(j)) + (r.g(j) - c(2, j)) / eps);
  }
  double s = 0.0;
  for (Index j = 0; j < 6; ++j) {
    if (b(j) > 0) s += std::exp(std::log(b(j)) + (r.g(j) - c(2, j)) / eps - top);
  }
  EXPECT_NEAR(r.f(2), -eps * (top + std::log(s)), 1e-14);
}

TEST(SinkhornSymmetric, MatchesGeneralSolver) {
  const Matrix x = uniform_points(30, 2, 43);
  const Matrix c = ground_cost(x, x);
  const Vector a = random_weights(30, 44);
  for (double eps : {1.0, 0.1, 0.02}) {
    for (bool scaling : {true, false}) {
      SinkhornOptions o = tight(1e-13);
      o.epsilon_scaling = scaling;
      const SinkhornResult s = sinkhorn_symmetric(a, c, eps, o);
      const SinkhornResult r = sinkhorn(a, a, c, eps, o);
      ASSERT_TRUE(r.converged) << eps;  // the general solver converges here: a valid reference
      ASSERT_TRUE(s.converged) << eps;
      ASSERT_TRUE(all_finite(s));
      // Same strictly convex problem, both to marginal error 1e-13 on values of size ~0.1: the
      // values agree to 1e-11 relative, the plans to 1e-10 of their largest entry.
      EXPECT_NEAR(s.value, r.value, 1e-11 * std::fabs(r.value)) << eps;
      EXPECT_NEAR(s.transport_cost, r.transport_cost, 1e-11 * r.transport_cost) << eps;
      EXPECT_LE((s.plan - r.plan).cwiseAbs().maxCoeff(), 1e-10 * r.plan.maxCoeff()) << eps;
      // The sinkhorn contract: exact rows (rounding), columns within the tolerance, the plan
      // formula and value = <a, f> + <a, g>.
      EXPECT_LE((s.plan.rowwise().sum() - a).lpNorm<1>(), 1e-14);
      EXPECT_LE(s.marginal_error, o.tolerance);
      EXPECT_NEAR(s.marginal_error, (s.plan.colwise().sum().transpose() - a).lpNorm<1>(), 1e-15);
      EXPECT_NEAR(s.value, a.dot(s.f) + a.dot(s.g), 1e-15);
      double worst = 0.0;
      for (Index i = 0; i < 30; ++i) {
        for (Index j = 0; j < 30; ++j) {
          const double p = a(i) * a(j) * std::exp((s.f(i) + s.g(j) - c(i, j)) / eps);
          worst = std::max(worst, std::fabs(p - s.plan(i, j)) / (p + 1e-300));
        }
      }
      EXPECT_LE(worst, 1e-11) << eps;
    }
  }
  // Against the long double reference on a small problem (both to ~1e-13: 1e-11 relative).
  const Matrix x5 = uniform_points(5, 2, 45);
  const Vector a5 = random_weights(5, 46);
  const Matrix c5 = ground_cost(x5, x5);
  const double ref = static_cast<double>(reference_self(a5, c5, 0.05));
  EXPECT_NEAR(sinkhorn_symmetric(a5, c5, 0.05, tight()).value, ref, 1e-11 * std::fabs(ref));
}

TEST(SinkhornSymmetric, ZeroWeightsMatchReducedProblem) {
  const Matrix x = uniform_points(9, 2, 47);
  Vector a = random_weights(9, 48);
  a(4) = 0.0;
  a /= a.sum();
  Matrix xr(8, 2);
  Vector ar(8);
  for (Index i = 0, k = 0; i < 9; ++i) {
    if (i == 4) continue;
    xr.row(k) = x.row(i);
    ar(k++) = a(i);
  }
  const Matrix c = ground_cost(x, x);
  const SinkhornResult s = sinkhorn_symmetric(a, c, 0.05, tight());
  const SinkhornResult sr = sinkhorn_symmetric(ar, ground_cost(xr, xr), 0.05, tight());
  ASSERT_TRUE(all_finite(s));
  EXPECT_TRUE(s.converged);
  // The same iteration on the support (costs equal to rounding): agreement to 1e-13.
  EXPECT_NEAR(s.value, sr.value, 1e-13);
  EXPECT_EQ(s.plan.row(4).cwiseAbs().maxCoeff(), 0.0);
  EXPECT_EQ(s.plan.col(4).cwiseAbs().maxCoeff(), 0.0);
  // The zero-weight point's potentials are c-transforms: f(4) of g and g(4) of f.
  const auto soft_min = [&](const Vector& h, Index i) {
    double top = -1e300, sum = 0.0;
    for (Index k = 0; k < 9; ++k) {
      if (a(k) > 0) top = std::max(top, std::log(a(k)) + (h(k) - c(i, k)) / 0.05);
    }
    for (Index k = 0; k < 9; ++k) {
      if (a(k) > 0) sum += std::exp(std::log(a(k)) + (h(k) - c(i, k)) / 0.05 - top);
    }
    return -0.05 * (top + std::log(sum));
  };
  EXPECT_NEAR(s.f(4), soft_min(s.g, 4), 1e-14);
  EXPECT_NEAR(s.g(4), soft_min(s.f, 4), 1e-14);
}

TEST(SinkhornIterations, MaxIterationsReachedIsNotAnError) {
  const Matrix c = ground_cost(uniform_points(50, 2, 19), uniform_points(50, 2, 20));
  SinkhornOptions o;
  o.max_iterations = 3;
  o.tolerance = 1e-12;
  SinkhornResult r;
  ASSERT_NO_THROW(r = sinkhorn(Vector(), Vector(), c, 1e-3, o));
  EXPECT_FALSE(r.converged);
  EXPECT_EQ(r.iterations, 3);
  EXPECT_TRUE(all_finite(r));
  EXPECT_GT(r.marginal_error, o.tolerance);
  // Rows are still exact: the plan is finished by a row update at the target epsilon.
  EXPECT_LE((r.plan.rowwise().sum() - Vector::Constant(50, 0.02)).lpNorm<1>(), 1e-13);
}

TEST(SinkhornDivergence, ZeroForIdenticalInputs) {
  const Matrix x = uniform_points(40, 2, 21);
  const Vector w = random_weights(40, 22);
  // The three problems are the same matrix and weights, so the same floating-point computation.
  EXPECT_NEAR(sinkhorn_divergence(x, x, 0.05, w, w), 0.0, 1e-10);
  EXPECT_NEAR(sinkhorn_divergence(x, x, 0.05, Vector(), Vector(), 1.0), 0.0, 1e-10);
}

TEST(SinkhornDivergence, StallingSelfTermMatchesLongDouble) {
  // Ten points from N(0, I_3) and ten from N(0.3, I_3): the alternating updates on OT_eps(b, b)
  // stall here (1e5 iterations left a marginal error of 8e-7 and the divergence 1e-7 off); the
  // symmetric fixed point contracts by a factor <= 1/2 per step.
  const Matrix z = normal_points(20, 3, 0.0, 3);
  const Matrix x = z.topRows(10);
  const Matrix y = z.bottomRows(10).array() + 0.3;
  const double eps = 0.5;
  SinkhornOptions o = tight(1e-12);
  const double s = sinkhorn_divergence(x, y, eps, Vector(), Vector(), 2.0, o);
  const Vector a = Vector::Constant(10, 0.1);
  const Matrix cab = ground_cost(x, y);
  const long double ab = reference_sinkhorn(a, a, cab, eps).value;
  const long double ref = ab - (reference_self(a, ground_cost(x, x), eps) + reference_self(a, ground_cost(y, y), eps)) / 2;
  // Three values of size ~5, each solved to marginal error 1e-12 (errors in the value of order
  // the squared marginal error times the cost range) against long double references converged to
  // 1e-16: 1e-10 is the accuracy asked of the divergence, with ~100x margin over rounding.
  EXPECT_NEAR(s, static_cast<double>(ref), 1e-10);
  EXPECT_GT(s, 0.0);
}

TEST(SinkhornDivergence, AsymmetricSelfCostUsesGeneralSolver) {
  // A C_aa that is not symmetric is solved by sinkhorn (the symmetric solver would read only its
  // lower triangle): the divergence is built from the three sinkhorn values.
  const Matrix x = uniform_points(8, 2, 49);
  const Matrix y = uniform_points(6, 2, 50);
  const Matrix cab = ground_cost(x, y), cbb = ground_cost(y, y);
  Matrix caa = ground_cost(x, x);
  caa(5, 1) += 0.3;
  SinkhornOptions o = tight(1e-13);
  const double s = sinkhorn_divergence(Vector(), Vector(), cab, caa, cbb, 0.1, o);
  const double ab = sinkhorn(Vector(), Vector(), cab, 0.1, o).value;
  const double aa = sinkhorn(Vector(), Vector(), caa, 0.1, o).value;
  const double bb = sinkhorn_symmetric(Vector(), cbb, 0.1, o).value;
  // Same computations for ab and aa; bb by the symmetric solver in both.
  EXPECT_DOUBLE_EQ(s, ab - 0.5 * (aa + bb));
}

TEST(SinkhornDivergence, PositiveAndSymmetric) {
  const Matrix x = uniform_points(40, 2, 23);
  const Matrix y = uniform_points(30, 2, 24, 1.3);
  const Vector wx = random_weights(40, 25);
  const Vector wy = random_weights(30, 26);
  SinkhornOptions o = tight(1e-13);
  for (double p : {1.0, 2.0}) {
    const double sxy = sinkhorn_divergence(x, y, 0.05, wx, wy, p, o);
    const double syx = sinkhorn_divergence(y, x, 0.05, wy, wx, p, o);
    EXPECT_GT(sxy, 1e-3);
    // OT_eps(a, b) = OT_eps(b, a) with the transposed cost: equal to the solver's accuracy.
    EXPECT_NEAR(sxy, syx, 1e-11);
  }
  // A small perturbation gives a small positive divergence.
  Matrix x2 = x;
  x2(0, 0) += 1e-2;
  const double small = sinkhorn_divergence(x, x2, 0.05, wx, wx, 2.0, o);
  EXPECT_GT(small, 0.0);
  EXPECT_LT(small, 1e-4);
}

TEST(SinkhornDivergence, TranslationInvariant) {
  const Matrix x = uniform_points(30, 2, 27);
  const Matrix y = uniform_points(35, 2, 28);
  Eigen::RowVector2d shift(3.0, -2.0);
  const Matrix xs = x.rowwise() + shift;
  const Matrix ys = y.rowwise() + shift;
  SinkhornOptions o = tight(1e-13);
  const double s1 = sinkhorn_divergence(x, y, 0.05, Vector(), Vector(), 2.0, o);
  const double s2 = sinkhorn_divergence(xs, ys, 0.05, Vector(), Vector(), 2.0, o);
  // ground_cost centres the clouds, so the costs agree to ~1e-15 * spread^2 (spread ~ 1).
  EXPECT_NEAR(s1, s2, 1e-10);
  EXPECT_GT(s1, 0.0);
}

TEST(SinkhornDivergence, ZeroWeightsAndUnequalSizes) {
  const Matrix x = uniform_points(12, 2, 29);
  const Matrix y = uniform_points(7, 2, 30);
  Vector wx = random_weights(12, 31);
  wx(3) = 0.0;
  wx /= wx.sum();
  Matrix xr(11, 2);
  Vector wr(11);
  for (Index i = 0, k = 0; i < 12; ++i) {
    if (i == 3) continue;
    xr.row(k) = x.row(i);
    wr(k++) = wx(i);
  }
  SinkhornOptions o = tight(1e-13);
  const double s = sinkhorn_divergence(x, y, 0.1, wx, Vector(), 2.0, o);
  const double sr = sinkhorn_divergence(xr, y, 0.1, wr, Vector(), 2.0, o);
  EXPECT_TRUE(std::isfinite(s));
  // A zero-weight point is absent from the measure: same problems on the support.
  EXPECT_NEAR(s, sr, 1e-12);
  EXPECT_GT(s, 0.0);
}

TEST(SinkhornDivergence, CostMatrixOverloadMatchesPoints) {
  const Matrix x = uniform_points(20, 3, 32);
  const Matrix y = uniform_points(15, 3, 33);
  SinkhornOptions o = tight(1e-13);
  const double s = sinkhorn_divergence(x, y, 0.1, Vector(), Vector(), 1.5, o);
  const double sc = sinkhorn_divergence(Vector(), Vector(), ground_cost(x, y, 1.5), ground_cost(x, x, 1.5),
                                        ground_cost(y, y, 1.5), 0.1, o);
  EXPECT_EQ(s, sc);
}

TEST(SinkhornDivergence, LargeEpsilonApproachesHalfMmd) {
  // As eps -> infinity the plan tends to a b^T, so S_eps -> <ab,C> - <aa,C>/2 - <bb,C>/2 =
  // MMD^2/2 for the kernel -C (Feydy et al. 2019; Ramdas et al. 2017), with an O(1/eps) remainder.
  const Matrix x = uniform_points(25, 2, 34);
  const Matrix y = uniform_points(20, 2, 35, 1.5);
  const Vector a = Vector::Constant(25, 1.0 / 25), b = Vector::Constant(20, 1.0 / 20);
  const Matrix cab = ground_cost(x, y, 1.0), caa = ground_cost(x, x, 1.0), cbb = ground_cost(y, y, 1.0);
  const double half_mmd2 = a.dot(cab * b) - 0.5 * a.dot(caa * a) - 0.5 * b.dot(cbb * b);
  SinkhornOptions o = tight(1e-14);
  const double e2 = std::fabs(sinkhorn_divergence(a, b, cab, caa, cbb, 1e2, o) - half_mmd2);
  const double e3 = std::fabs(sinkhorn_divergence(a, b, cab, caa, cbb, 1e3, o) - half_mmd2);
  EXPECT_LT(e3, 2e-3 * half_mmd2);
  // The remainder is first order in 1/eps: ten times eps, a tenth of the error (within 20%).
  EXPECT_NEAR(e2 / e3, 10.0, 2.0);
}

TEST(SinkhornBadInput, Throws) {
  const Matrix c = ground_cost(uniform_points(4, 2, 36), uniform_points(3, 2, 37));
  const Vector a = Vector::Constant(4, 0.25);
  const Vector b = Vector::Constant(3, 1.0 / 3);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_THROW(sinkhorn(a, b, c, 0.0), InvalidArgument);
  EXPECT_THROW(sinkhorn(a, b, c, -1.0), InvalidArgument);
  EXPECT_THROW(sinkhorn(a, b, c, nan), InvalidArgument);
  EXPECT_THROW(sinkhorn(a, b, c, inf), InvalidArgument);
  Matrix cn = c;
  cn(1, 2) = nan;
  EXPECT_THROW(sinkhorn(a, b, cn, 0.1), InvalidArgument);
  cn(1, 2) = inf;
  EXPECT_THROW(sinkhorn(a, b, cn, 0.1), InvalidArgument);
  EXPECT_THROW(sinkhorn(a, b, Matrix(0, 3), 0.1), InvalidArgument);
  EXPECT_THROW(sinkhorn(b, b, c, 0.1), InvalidArgument);  // wrong length of a
  EXPECT_THROW(sinkhorn(a, a, c, 0.1), InvalidArgument);  // wrong length of b
  Vector neg = a;
  neg(0) = -0.25;
  neg(1) = 0.75;
  EXPECT_THROW(sinkhorn(neg, b, c, 0.1), InvalidArgument);
  EXPECT_THROW(sinkhorn(Vector(a * 2.0), b, c, 0.1), InvalidArgument);
  EXPECT_THROW(sinkhorn(a, Vector::Zero(3), c, 0.1), InvalidArgument);
  Vector an = a;
  an(0) = nan;
  EXPECT_THROW(sinkhorn(an, b, c, 0.1), InvalidArgument);
  SinkhornOptions o;
  o.tolerance = -1.0;
  EXPECT_THROW(sinkhorn(a, b, c, 0.1, o), InvalidArgument);
  o = {};
  o.tolerance = nan;
  EXPECT_THROW(sinkhorn(a, b, c, 0.1, o), InvalidArgument);
  o = {};
  o.max_iterations = 0;
  EXPECT_THROW(sinkhorn(a, b, c, 0.1, o), InvalidArgument);
  for (double factor : {0.0, 1.0, -0.5, 2.0, nan}) {
    o = {};
    o.scaling_factor = factor;
    EXPECT_THROW(sinkhorn(a, b, c, 0.1, o), InvalidArgument) << factor;
  }
  o = {};
  o.scaling_factor = 1.0;
  o.epsilon_scaling = false;  // checked even when unused
  EXPECT_THROW(sinkhorn(a, b, c, 0.1, o), InvalidArgument);
}

TEST(SinkhornBadInput, SymmetricThrows) {
  const Matrix x = uniform_points(4, 2, 51);
  const Matrix c = ground_cost(x, x);
  const Vector a = Vector::Constant(4, 0.25);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THROW(sinkhorn_symmetric(a, c, 0.0), InvalidArgument);
  EXPECT_THROW(sinkhorn_symmetric(a, c, nan), InvalidArgument);
  EXPECT_THROW(sinkhorn_symmetric(a, Matrix(0, 0), 0.1), InvalidArgument);
  EXPECT_THROW(sinkhorn_symmetric(a, ground_cost(x, uniform_points(3, 2, 52)), 0.1), InvalidArgument);
  Matrix bad = c;
  bad(2, 0) += 1e-3;  // not symmetric
  EXPECT_THROW(sinkhorn_symmetric(a, bad, 0.1), InvalidArgument);
  bad = c;
  bad(1, 3) = nan;
  bad(3, 1) = nan;
  EXPECT_THROW(sinkhorn_symmetric(a, bad, 0.1), InvalidArgument);
  EXPECT_THROW(sinkhorn_symmetric(Vector::Constant(3, 1.0 / 3), c, 0.1), InvalidArgument);
  EXPECT_THROW(sinkhorn_symmetric(Vector::Constant(4, 0.3), c, 0.1), InvalidArgument);
  SinkhornOptions o;
  o.max_iterations = 0;
  EXPECT_THROW(sinkhorn_symmetric(a, c, 0.1, o), InvalidArgument);
  o = {};
  o.scaling_factor = 1.5;
  EXPECT_THROW(sinkhorn_symmetric(a, c, 0.1, o), InvalidArgument);
}

TEST(SinkhornBadInput, DivergenceThrows) {
  const Matrix x = uniform_points(4, 2, 38);
  const Matrix y = uniform_points(3, 2, 39);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THROW(sinkhorn_divergence(x, y, 0.0), InvalidArgument);
  EXPECT_THROW(sinkhorn_divergence(x, y, nan), InvalidArgument);
  Matrix xn = x;
  xn(2, 1) = nan;
  EXPECT_THROW(sinkhorn_divergence(xn, y, 0.1), InvalidArgument);
  EXPECT_THROW(sinkhorn_divergence(x, uniform_points(3, 3, 40), 0.1), InvalidArgument);
  EXPECT_THROW(sinkhorn_divergence(Matrix(0, 2), y, 0.1), InvalidArgument);
  EXPECT_THROW(sinkhorn_divergence(x, y, 0.1, Vector::Constant(3, 1.0 / 3)), InvalidArgument);
  EXPECT_THROW(sinkhorn_divergence(x, y, 0.1, Vector::Constant(4, 0.3)), InvalidArgument);
  Vector neg = Vector::Constant(3, 0.5);
  neg(0) = 0.0;
  neg(1) = -0.0 - 0.5;
  neg(2) = 1.5;
  EXPECT_THROW(sinkhorn_divergence(x, y, 0.1, Vector(), neg), InvalidArgument);
  EXPECT_THROW(sinkhorn_divergence(x, y, 0.1, Vector(), Vector(), 0.0), InvalidArgument);
  EXPECT_THROW(sinkhorn_divergence(x, y, 0.1, Vector(), Vector(), nan), InvalidArgument);
  SinkhornOptions o;
  o.max_iterations = -5;
  EXPECT_THROW(sinkhorn_divergence(x, y, 0.1, Vector(), Vector(), 2.0, o), InvalidArgument);
  // Cost-matrix overload: shapes and NaN.
  const Matrix cab = ground_cost(x, y), caa = ground_cost(x, x), cbb = ground_cost(y, y);
  EXPECT_THROW(sinkhorn_divergence(Vector(), Vector(), cab, cbb, cbb, 0.1), InvalidArgument);
  EXPECT_THROW(sinkhorn_divergence(Vector(), Vector(), cab, caa, caa, 0.1), InvalidArgument);
  Matrix cn = caa;
  cn(0, 0) = nan;
  EXPECT_THROW(sinkhorn_divergence(Vector(), Vector(), cab, cn, cbb, 0.1), InvalidArgument);
  EXPECT_THROW(sinkhorn_divergence(Vector(), Vector(), cab, caa, cbb, -0.1), InvalidArgument);
}

}  // namespace
