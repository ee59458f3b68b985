// Tests of odyn/transport/emd.hpp: brute force on tiny assignment problems, the monotone coupling
// in 1-D, the optimality certificate (strong duality, dual feasibility, complementary slackness,
// marginals) on random problems, invariances, degenerate inputs and bad input.
#include "odyn/transport/emd.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

#include "odyn/core/error.hpp"
#include "transport_test_util.hpp"

namespace {

using odyn::InvalidArgument;
using odyn::test::uniform_cloud;
using odyn::transport::emd;
using odyn::transport::emd2;
using odyn::transport::emd_points;
using odyn::transport::EmdOptions;
using odyn::transport::EmdResult;
using odyn::transport::EmdStatus;
using odyn::transport::ground_cost;
using odyn::transport::Matrix;
using odyn::transport::Vector;

// Weights 0.1 + U[0, 1), each set to 0 with probability zero_fraction, normalised to sum 1 (unlike
// odyn::test::random_weights, the zeros fall at random places).
Vector random_weights(Eigen::Index n, std::mt19937_64& rng, double zero_fraction = 0.0) {
  std::uniform_real_distribution<double> u(0.0, 1.0);
  Vector w(n);
  for (Eigen::Index i = 0; i < n; ++i) w(i) = u(rng) < zero_fraction ? 0.0 : 0.1 + u(rng);
  if (w.sum() == 0.0) w(0) = 1.0;
  return w / w.sum();
}

// Checks the optimality certificate of r for (a, b, C): plan >= 0 with marginals a and b, at most
// n + m - 1 nonzeros, f_i + g_j <= C_ij, equality on the support, and cost = <P, C> = <a,f> + <b,g>.
// Every quantity is a sum of at most n + m terms of size scale = max|C| (or of potentials of that
// size), so 1e-12 * scale leaves a margin of about 10^3 over the rounding of such sums.
void expect_certificate(const Vector& a, const Vector& b, const Matrix& c, const EmdResult& r) {
  const Eigen::Index n = c.rows();
  const Eigen::Index m = c.cols();
  ASSERT_EQ(r.status, EmdStatus::optimal);
  ASSERT_EQ(r.plan.rows(), n);
  ASSERT_EQ(r.plan.cols(), m);
  ASSERT_EQ(r.f.size(), n);
  ASSERT_EQ(r.g.size(), m);
  const double scale = std::max(1.0, c.cwiseAbs().maxCoeff());
  const double tol = 1e-12 * scale;
  EXPECT_LE(r.plan.nonZeros(), n + m - 1);
  const Matrix p = Matrix(r.plan);
  EXPECT_GE(p.minCoeff(), 0.0);
  EXPECT_LE((p.rowwise().sum() - a).cwiseAbs().maxCoeff(), 1e-12);
  EXPECT_LE((p.colwise().sum().transpose() - b).cwiseAbs().maxCoeff(), 1e-12);
  EXPECT_NEAR(r.cost, (p.array() * c.array()).sum(), tol);
  EXPECT_NEAR(r.cost, a.dot(r.f) + b.dot(r.g), tol);
  for (Eigen::Index j = 0; j < m; ++j) {
    for (Eigen::Index i = 0; i < n; ++i) {
      const double slack = c(i, j) - r.f(i) - r.g(j);
      EXPECT_GE(slack, -tol) << "dual infeasible at " << i << ", " << j;
      if (p(i, j) > 0.0) {
        EXPECT_NEAR(slack, 0.0, tol) << "slack on the support at " << i << ", " << j;
      }
    }
  }
}

// min over permutations s of sum_i C(i, s(i)) / n, in long double.
double brute_force_assignment(const Matrix& c) {
  const auto n = static_cast<int>(c.rows());
  std::vector<int> s(n);
  std::iota(s.begin(), s.end(), 0);
  long double best = std::numeric_limits<long double>::infinity();
  do {
    long double t = 0.0L;
    for (int i = 0; i < n; ++i) t += c(i, s[i]);
    best = std::min(best, t);
  } while (std::next_permutation(s.begin(), s.end()));
  return static_cast<double>(best / n);
}

// The cost of the monotone coupling of (x, a) and (y, b) on the line, sum over the north-west corner
// of the sorted CDFs of mass * |x - y|^p, in long double: the optimum for p >= 1.
double monotone_cost(const Vector& x, const Vector& a, const Vector& y, const Vector& b, double p) {
  std::vector<Eigen::Index> ix(x.size());
  std::vector<Eigen::Index> iy(y.size());
  std::iota(ix.begin(), ix.end(), 0);
  std::iota(iy.begin(), iy.end(), 0);
  std::sort(ix.begin(), ix.end(), [&](auto u, auto v) { return x(u) < x(v); });
  std::sort(iy.begin(), iy.end(), [&](auto u, auto v) { return y(u) < y(v); });
  std::size_t i = 0;
  std::size_t j = 0;
  long double ra = a(ix[0]);
  long double rb = b(iy[0]);
  long double total = 0.0L;
  while (i < ix.size() && j < iy.size()) {
    const long double mass = std::min(ra, rb);
    total += mass * std::pow(std::abs(static_cast<long double>(x(ix[i])) - y(iy[j])), static_cast<long double>(p));
    ra -= mass;
    rb -= mass;
    if (ra <= rb) {
      if (++i < ix.size()) ra += a(ix[i]);
    } else {
      if (++j < iy.size()) rb += b(iy[j]);
    }
  }
  return static_cast<double>(total);
}

TEST(EmdTiny, MatchesBruteForceAssignment) {
  std::mt19937_64 rng(11);
  for (int n = 1; n <= 7; ++n) {
    for (int rep = 0; rep < 3; ++rep) {
      const Matrix c = uniform_cloud(n, n, rng);
      const EmdResult r = emd(Vector(), Vector(), c);
      // Both are sums of n terms of size <= 1: the gap is rounding, far below 1e-12.
      EXPECT_NEAR(r.cost, brute_force_assignment(c), 1e-12 * std::max(1e-3, r.cost)) << "n = " << n;
      EXPECT_NEAR(emd2(Vector(), Vector(), c), r.cost, 1e-15);
      expect_certificate(Vector::Constant(n, 1.0 / n), Vector::Constant(n, 1.0 / n), c, r);
    }
  }
}

TEST(EmdDuality, RandomWeightsUnequalSizes) {
  std::mt19937_64 rng(12);
  const int shapes[][2] = {{1, 1}, {1, 6}, {6, 1}, {2, 9}, {13, 7}, {30, 45}, {64, 50}, {120, 90}};
  for (const auto& shape : shapes) {
    const Vector a = random_weights(shape[0], rng);
    const Vector b = random_weights(shape[1], rng);
    const Matrix c = uniform_cloud(shape[0], shape[1], rng, -2.0, 5.0);
    const EmdResult r = emd(a, b, c);
    expect_certificate(a, b, c, r);
  }
}

TEST(EmdDuality, UnnormalisedEqualMass) {
  std::mt19937_64 rng(13);
  const Vector a = random_weights(20, rng);
  const Vector b = random_weights(15, rng);
  const Matrix c = uniform_cloud(20, 15, rng);
  const EmdResult r1 = emd(a, b, c);
  const EmdResult r3 = emd(3.0 * a, 3.0 * b, c);
  // The problem is linear in the mass: a sum of <= 34 terms of size <= 3, rounding only.
  EXPECT_NEAR(r3.cost, 3.0 * r1.cost, 1e-13);
  expect_certificate(3.0 * a, 3.0 * b, c, r3);
  // A block of a larger matrix (outer stride != rows) gives the same as its copy.
  const Matrix big = uniform_cloud(31, 40, rng);
  const Matrix sub = big.block(4, 9, 20, 15);
  EXPECT_EQ(emd2(a, b, big.block(4, 9, 20, 15)), emd2(a, b, sub));
  // A mismatch inside the tolerance is accepted; b is rescaled to a's total.
  const EmdResult rs = emd(a, b * (1.0 + 1e-12), c);
  EXPECT_NEAR(rs.cost, r1.cost, 1e-12);
}

TEST(EmdOneDim, MatchesMonotoneCoupling) {
  std::mt19937_64 rng(14);
  for (const double p : {1.0, 1.5, 2.0, 3.0}) {
    const Eigen::Index n = 40;
    const Eigen::Index m = 27;
    const Matrix x = uniform_cloud(n, 1, rng, -3.0, 3.0);
    const Matrix y = uniform_cloud(m, 1, rng, -1.0, 4.0);
    const Vector a = random_weights(n, rng, 0.2);
    const Vector b = random_weights(m, rng, 0.2);
    const Matrix c = ground_cost(x, y, p);
    const double expected = monotone_cost(x.col(0), a, y.col(0), b, p);
    const EmdResult r = emd(a, b, c);
    // Costs are <= 7^3 = 343; the sums have < 70 terms: 1e-12 relative is ample for rounding.
    EXPECT_NEAR(r.cost, expected, 1e-12 * expected) << "p = " << p;
    const EmdResult rp = emd_points(x, y, a, b, p);
    EXPECT_NEAR(rp.cost, expected, 1e-12 * expected) << "p = " << p;
  }
}

TEST(EmdPoints, MatchesDenseCost) {
  std::mt19937_64 rng(15);
  const Matrix x = uniform_cloud(35, 3, rng, -1.0, 2.0);
  const Matrix y = uniform_cloud(50, 3, rng, 0.0, 3.0);
  const Vector a = random_weights(35, rng, 0.1);
  const Vector b = random_weights(50, rng, 0.1);
  for (const double p : {1.0, 1.5, 2.0}) {
    const Matrix c = ground_cost(x, y, p);
    const EmdResult rd = emd(a, b, c);
    const EmdResult rp = emd_points(x, y, a, b, p);
    // ground_cost's p = 2 formula (Gram identity) differs from exact differences by ~1e-15
    // absolute per entry; the costs are O(10).
    EXPECT_NEAR(rp.cost, rd.cost, 1e-12 * rd.cost) << "p = " << p;
    expect_certificate(a, b, c, rp);
  }
}

TEST(EmdDegenerate, ZeroWeights) {
  std::mt19937_64 rng(16);
  const Vector a = random_weights(25, rng, 0.4);
  const Vector b = random_weights(18, rng, 0.4);
  const Matrix c = uniform_cloud(25, 18, rng);
  const EmdResult r = emd(a, b, c);
  expect_certificate(a, b, c, r);
  // Same as the problem without the zero-weight rows and columns.
  std::vector<Eigen::Index> rows;
  std::vector<Eigen::Index> cols;
  for (Eigen::Index i = 0; i < a.size(); ++i) {
    if (a(i) > 0.0) rows.push_back(i);
  }
  for (Eigen::Index j = 0; j < b.size(); ++j) {
    if (b(j) > 0.0) cols.push_back(j);
  }
  Matrix cc(rows.size(), cols.size());
  Vector ac(rows.size());
  Vector bc(cols.size());
  for (std::size_t i = 0; i < rows.size(); ++i) ac(i) = a(rows[i]);
  for (std::size_t j = 0; j < cols.size(); ++j) bc(j) = b(cols[j]);
  for (std::size_t j = 0; j < cols.size(); ++j) {
    for (std::size_t i = 0; i < rows.size(); ++i) cc(i, j) = c(rows[i], cols[j]);
  }
  EXPECT_NEAR(emd2(ac, bc, cc), r.cost, 1e-14);
}

TEST(EmdDegenerate, DuplicatePointsAndSingletons) {
  std::mt19937_64 rng(17);
  Matrix x = uniform_cloud(12, 2, rng);
  x.middleRows(6, 6) = x.topRows(6);  // every point twice
  const Matrix y = uniform_cloud(9, 2, rng);
  const EmdResult r = emd_points(x, y);
  expect_certificate(Vector::Constant(12, 1.0 / 12), Vector::Constant(9, 1.0 / 9), ground_cost(x, y), r);
  // Identical clouds: cost 0.
  EXPECT_NEAR(emd_points(x, x).cost, 0.0, 1e-15);
  // n = 1: everything moves from the single source; the cost is the b-weighted mean cost.
  const Vector b = random_weights(9, rng);
  const Matrix c1 = uniform_cloud(1, 9, rng);
  EXPECT_NEAR(emd2(Vector(), b, c1), c1.row(0).dot(b), 1e-15);
  const Matrix c2 = uniform_cloud(9, 1, rng);
  EXPECT_NEAR(emd2(b, Vector(), c2), c2.col(0).dot(b), 1e-15);
  expect_certificate(b, Vector::Ones(1), c2, emd(b, Vector(), c2));
  const Matrix c11 = Matrix::Constant(1, 1, 2.5);
  EXPECT_EQ(emd2(Vector(), Vector(), c11), 2.5);
}

TEST(EmdDegenerate, IntegerGridTies) {
  // Points of a 2 x 4 integer grid against another integer cloud with L1 costs: many equal costs
  // and degenerate bases. Brute force over the 8! assignments.
  Matrix x(8, 2);
  Matrix y(8, 2);
  for (int i = 0; i < 8; ++i) {
    x.row(i) << i % 4, i / 4;
    y.row(i) << (i * 3) % 5, (i * 7) % 3;
  }
  const Matrix c = ground_cost(x, y, 1.0);
  Matrix c1(8, 8);
  for (int i = 0; i < 8; ++i) {
    for (int j = 0; j < 8; ++j) c1(i, j) = std::abs(x(i, 0) - y(j, 0)) + std::abs(x(i, 1) - y(j, 1));
  }
  const EmdResult r = emd(Vector(), Vector(), c1);
  // Integer costs over 8: exact up to rounding of 8-term sums.
  EXPECT_NEAR(r.cost, brute_force_assignment(c1), 1e-14);
  expect_certificate(Vector::Constant(8, 0.125), Vector::Constant(8, 0.125), c1, r);
  EXPECT_LE(r.cost, emd2(Vector(), Vector(), c) + 1e-12);  // L1 >= L2 distance, sanity
  // A 12 x 12 grid to itself with squared costs: optimum 0 through a highly degenerate basis.
  Matrix g(144, 2);
  for (int i = 0; i < 144; ++i) g.row(i) << i % 12, i / 12;
  const Matrix gp = g.colwise().reverse();
  const EmdResult rg = emd_points(g, gp);
  EXPECT_EQ(rg.status, EmdStatus::optimal);
  EXPECT_NEAR(rg.cost, 0.0, 1e-14);
}

TEST(EmdDegenerate, RandomDegenerateProblemsCertified) {
  // Costs and weights that are small integers (weights then scaled to a total of 12) make ties in
  // costs and in partial sums of the marginals (degenerate pivots) the rule; each solution must
  // carry a full certificate.
  std::mt19937_64 rng(21);
  std::uniform_int_distribution<int> size(1, 12);
  std::uniform_int_distribution<int> level(0, 3);
  for (int rep = 0; rep < 300; ++rep) {
    const int n = size(rng);
    const int m = size(rng);
    Matrix c(n, m);
    for (int j = 0; j < m; ++j) {
      for (int i = 0; i < n; ++i) c(i, j) = level(rng);
    }
    Vector a(n);
    Vector b(m);
    for (int i = 0; i < n; ++i) a(i) = level(rng);
    for (int j = 0; j < m; ++j) b(j) = level(rng);
    if (a.sum() == 0.0) a(0) = 1.0;
    if (b.sum() == 0.0) b(0) = 1.0;
    // Equal totals of 12 units (up to rounding, which emd absorbs by rescaling b).
    a *= 12.0 / a.sum();
    b *= 12.0 / b.sum();
    b *= a.sum() / b.sum();
    const EmdResult r = emd(a, b, c);
    SCOPED_TRACE("rep " + std::to_string(rep));
    expect_certificate(a, b * (a.sum() / b.sum()), c, r);
  }
}

TEST(EmdInvariance, PermutationAndConstantShift) {
  std::mt19937_64 rng(18);
  const Eigen::Index n = 30;
  const Eigen::Index m = 22;
  const Matrix x = uniform_cloud(n, 2, rng);
  const Matrix y = uniform_cloud(m, 2, rng);
  const Vector a = random_weights(n, rng);
  const Vector b = random_weights(m, rng);
  const EmdResult r = emd_points(x, y, a, b);
  std::vector<Eigen::Index> px(n);
  std::vector<Eigen::Index> py(m);
  std::iota(px.begin(), px.end(), 0);
  std::iota(py.begin(), py.end(), 0);
  std::shuffle(px.begin(), px.end(), rng);
  std::shuffle(py.begin(), py.end(), rng);
  Matrix xp(n, 2);
  Matrix yp(m, 2);
  Vector ap(n);
  Vector bp(m);
  for (Eigen::Index i = 0; i < n; ++i) {
    xp.row(i) = x.row(px[i]);
    ap(i) = a(px[i]);
  }
  for (Eigen::Index j = 0; j < m; ++j) {
    yp.row(j) = y.row(py[j]);
    bp(j) = b(py[j]);
  }
  const EmdResult rp = emd_points(xp, yp, ap, bp);
  // Same problem reordered: random costs have a unique optimal plan, so the plan is permuted too.
  EXPECT_NEAR(rp.cost, r.cost, 1e-14);
  const Matrix plan = Matrix(r.plan);
  const Matrix planp = Matrix(rp.plan);
  for (Eigen::Index i = 0; i < n; ++i) {
    for (Eigen::Index j = 0; j < m; ++j) EXPECT_NEAR(planp(i, j), plan(px[i], py[j]), 1e-14);
  }
  // C + k costs k more per unit of mass (mass 1 here).
  const Matrix c = ground_cost(x, y);
  const double k = 3.75;
  const Matrix ck = c.array() + k;
  EXPECT_NEAR(emd2(a, b, ck), emd2(a, b, c) + k, 1e-13);
  EXPECT_NEAR(emd2(2.0 * a, 2.0 * b, ck), emd2(2.0 * a, 2.0 * b, c) + 2.0 * k, 1e-13);
  // Scaling C scales the cost, for tiny and huge scales and a large offset (tolerances relative to
  // the scale: the solver's tolerances are relative to max |C|).
  const double base = emd2(a, b, c);
  for (const double s : {1e-200, 1e-12, 1e12, 1e200}) {
    EXPECT_NEAR(emd2(a, b, s * c) / s, base, 1e-13 * base) << "scale " << s;
  }
  const Matrix cbig = c.array() + 1e6;
  EXPECT_NEAR(emd2(a, b, cbig) - 1e6, base, 1e-9);  // 1e6 * 1e-16 rounding per term, ~50 terms
}

TEST(EmdIterations, MaxIterationsReturnsStatus) {
  std::mt19937_64 rng(19);
  const Matrix c = uniform_cloud(40, 40, rng);
  EmdOptions options;
  options.max_iterations = 5;
  EmdResult r;
  EXPECT_NO_THROW(r = emd(Vector(), Vector(), c, options));
  EXPECT_EQ(r.status, EmdStatus::max_iterations);
  EXPECT_EQ(r.iterations, 5);
  const EmdResult full = emd(Vector(), Vector(), c);
  EXPECT_EQ(full.status, EmdStatus::optimal);
  EXPECT_GT(full.iterations, 5);
}

TEST(EmdInvalid, RejectsBadInput) {
  const Matrix c = Matrix::Ones(3, 4);
  const Vector a = Vector::Constant(3, 1.0 / 3);
  const Vector b = Vector::Constant(4, 0.25);
  Matrix cnan = c;
  cnan(1, 2) = std::nan("");
  EXPECT_THROW(emd(a, b, cnan), InvalidArgument);
  Matrix cinf = c;
  cinf(0, 0) = std::numeric_limits<double>::infinity();
  EXPECT_THROW(emd2(a, b, cinf), InvalidArgument);
  Vector aneg = a;
  aneg(0) = -0.1;
  aneg(1) += 0.1;
  EXPECT_THROW(emd(aneg, b, c), InvalidArgument);
  Vector anan = a;
  anan(2) = std::nan("");
  EXPECT_THROW(emd(anan, b, c), InvalidArgument);
  EXPECT_THROW(emd(a, b * 1.01, c), InvalidArgument);             // mass mismatch
  EXPECT_THROW(emd(Vector::Zero(3), Vector::Zero(4), c), InvalidArgument);  // zero mass
  EXPECT_THROW(emd(b, b, c), InvalidArgument);                     // wrong length of a
  EXPECT_THROW(emd(a, a, c), InvalidArgument);                     // wrong length of b
  EXPECT_THROW(emd(Vector(), Vector(), Matrix(0, 3)), InvalidArgument);
  EXPECT_THROW(emd(Vector(), Vector(), Matrix(3, 0)), InvalidArgument);
  EmdOptions bad;
  bad.max_iterations = -1;
  EXPECT_THROW(emd(a, b, c, bad), InvalidArgument);
  bad = EmdOptions();
  bad.mass_tolerance = std::nan("");
  EXPECT_THROW(emd(a, b, c, bad), InvalidArgument);

  const Matrix x = Matrix::Random(5, 2);
  const Matrix y = Matrix::Random(4, 2);
  Matrix xnan = x;
  xnan(3, 1) = std::nan("");
  EXPECT_THROW(emd_points(xnan, y), InvalidArgument);
  EXPECT_THROW(emd_points(x, Matrix::Random(4, 3)), InvalidArgument);  // dimensions differ
  EXPECT_THROW(emd_points(Matrix(0, 2), y), InvalidArgument);
  EXPECT_THROW(emd_points(x, y, Vector(), Vector(), 0.0), InvalidArgument);
  EXPECT_THROW(emd_points(x, y, Vector(), Vector(), -1.0), InvalidArgument);
  EXPECT_THROW(emd_points(x, y, Vector::Constant(5, 0.3)), InvalidArgument);  // sums to 1.5
  Vector wneg = Vector::Constant(4, 0.25);
  wneg(0) = -0.25;
  wneg(1) = 0.75;
  EXPECT_THROW(emd_points(x, y, Vector(), wneg), InvalidArgument);
  EXPECT_THROW(emd_points(x, y, Vector::Constant(4, 0.25)), InvalidArgument);  // wrong length
}

TEST(EmdLarger, CertificateOnUniformClouds) {
  // A mid-size problem exercising many pivots, deep trees and the block search over many blocks.
  std::mt19937_64 rng(20);
  const Matrix x = uniform_cloud(300, 2, rng);
  const Matrix y = uniform_cloud(260, 2, rng);
  const Matrix c = ground_cost(x, y);
  const EmdResult r = emd(Vector(), Vector(), c);
  expect_certificate(Vector::Constant(300, 1.0 / 300), Vector::Constant(260, 1.0 / 260), c, r);
  EXPECT_NEAR(emd_points(x, y).cost, r.cost, 1e-12 * r.cost);
}

}  // namespace
