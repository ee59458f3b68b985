// Cross-checks between odyn::transport's estimators: each pair computes the same quantity by a
// different algorithm, so agreement tests both.
#include <gtest/gtest.h>

#include <Eigen/Cholesky>
#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <vector>

#include "odyn/transport/emd.hpp"
#include "odyn/transport/gaussian.hpp"
#include "odyn/transport/knn_kl.hpp"
#include "odyn/transport/mmd.hpp"
#include "odyn/transport/sinkhorn.hpp"
#include "odyn/transport/sliced.hpp"
#include "odyn/transport/wasserstein_1d.hpp"
#include "transport_test_util.hpp"

namespace ot = odyn::transport;
using odyn::test::random_weights;
using odyn::test::uniform_cloud;
using ot::Matrix;
using ot::Vector;

namespace {

Matrix gaussian_sample(Eigen::Index n, const Vector& mean, const Matrix& cov, std::mt19937_64& rng) {
  std::normal_distribution<double> normal;
  const Matrix l = cov.llt().matrixL();
  Matrix z(n, mean.size());
  for (Eigen::Index i = 0; i < z.size(); ++i) z.data()[i] = normal(rng);
  return (z * l.transpose()).rowwise() + mean.transpose();
}

// N(m1, s1) and N(m2, s2) in 2-D: shifted means, correlated covariances of different shapes.
struct GaussianPair {
  Vector m1 = Vector::Zero(2), m2 = (Vector(2) << 1.0, -0.5).finished();
  Matrix s1 = (Matrix(2, 2) << 1.0, 0.3, 0.3, 0.5).finished();
  Matrix s2 = (Matrix(2, 2) << 0.6, -0.2, -0.2, 1.2).finished();
};

}  // namespace

// The exact 1-D formula (sorted quantile functions) and the network simplex on |x - y|^p solve
// the same linear program: agreement to rounding (1e-12 relative) for weighted, unequal samples.
TEST(TransportCross, OneDimensionalEqualsNetworkSimplex) {
  std::mt19937_64 rng(11);
  for (double p : {1.0, 1.5, 2.0, 3.0}) {
    const Matrix x = uniform_cloud(37, 1, rng) * 3.0;
    const Matrix y = uniform_cloud(23, 1, rng).array() + 1.0;
    const Vector wx = random_weights(37, rng, true), wy = random_weights(23, rng, false);
    const double w1d = ot::wasserstein_1d(x.col(0), y.col(0), p, wx, wy);
    const ot::EmdResult exact = ot::emd(wx, wy, ot::ground_cost(x, y, p));
    ASSERT_EQ(exact.status, ot::EmdStatus::optimal);
    EXPECT_NEAR(std::pow(w1d, p), exact.cost, 1e-12 * exact.cost) << "p = " << p;
  }
}

// Entropic bias bound: with P_eps the Sinkhorn plan and W the exact cost,
// 0 <= <P_eps, C> - W <= eps * KL(P* | a b^T) <= eps * min(H(a), H(b)) (optimality of P_eps for
// the regularised problem; H(P*) >= max(H(a), H(b))). So the gap closes linearly in eps.
TEST(TransportCross, SinkhornApproachesExactAsEpsilonShrinks) {
  std::mt19937_64 rng(12);
  const Eigen::Index n = 60, m = 45;
  const Matrix x = uniform_cloud(n, 2, rng), y = uniform_cloud(m, 2, rng);
  const Vector a = random_weights(n, rng, false), b = random_weights(m, rng, false);
  const Matrix c = ot::ground_cost(x, y, 2.0);
  const double exact = ot::emd2(a, b, c);
  const auto entropy = [](const Vector& w) { return -(w.array() * w.array().log()).sum(); };
  const double h = std::min(entropy(a), entropy(b));
  double previous_gap = INFINITY;
  for (double eps : {1e-1, 3e-2, 1e-2, 3e-3, 1e-3}) {
    const ot::SinkhornResult r = ot::sinkhorn(a, b, c, eps);
    ASSERT_TRUE(r.converged) << eps;
    const double gap = r.transport_cost - exact;
    // the lower bound holds up to the plan's marginal error times the cost range
    EXPECT_GE(gap, -r.marginal_error * c.maxCoeff() - 1e-12) << eps;
    EXPECT_LE(gap, eps * h + r.marginal_error * c.maxCoeff()) << eps;
    EXPECT_LT(gap, previous_gap) << eps;
    previous_gap = gap;
  }
}

// Empirical W_2 between samples of two Gaussians converges to the Bures closed form as n grows;
// its bias decays like n^(-1/2) in 2-D (Fournier & Guillin 2015, up to a log factor), so the mean
// error over seeds shrinks from n = 100 to n = 900 and is small at 900.
TEST(TransportCross, GaussianClosedFormAgainstExactOnSamples) {
  const auto [m1, m2, s1, s2] = GaussianPair();
  const double truth = ot::bures_wasserstein(m1, s1, m2, s2);
  std::vector<double> mean_error;
  for (Eigen::Index n : {100, 300, 900}) {
    double error = 0.0;
    const int seeds = 4;
    for (int s = 0; s < seeds; ++s) {
      std::mt19937_64 rng(100 + s);
      const Matrix x = gaussian_sample(n, m1, s1, rng), y = gaussian_sample(n, m2, s2, rng);
      error += std::abs(std::sqrt(ot::emd_points(x, y).cost) - truth) / seeds;
    }
    mean_error.push_back(error);
  }
  EXPECT_LT(mean_error[1], mean_error[0]);
  EXPECT_LT(mean_error[2], mean_error[1]);
  EXPECT_LT(mean_error[2], 0.1 * truth);
}

// The projections of N(m, S) on theta are N(theta.m, theta'S theta), so SW_2^2 between two
// Gaussians is the mean over the circle of (theta.dm)^2 + (sqrt(theta'S1 theta) - sqrt(theta'S2 theta))^2,
// here by a 4096-point quadrature (spectrally accurate for this smooth periodic integrand). Samples of
// 20000 points and 2000 directions estimate it within a few percent (sampling error of each 1-D W_2
// about n^(-1/2) relative, direction error 1/sqrt(2000) of the spread of the integrand).
TEST(TransportCross, SlicedAgainstGaussianQuadrature) {
  const auto [m1, m2, s1, s2] = GaussianPair();
  double integral = 0.0;
  const int q = 4096;
  for (int i = 0; i < q; ++i) {
    const double t = 2.0 * M_PI * i / q;
    Vector theta(2);
    theta << std::cos(t), std::sin(t);
    const double dm = theta.dot(m2 - m1);
    const double ds = std::sqrt(theta.dot(s1 * theta)) - std::sqrt(theta.dot(s2 * theta));
    integral += (dm * dm + ds * ds) / q;
  }
  std::mt19937_64 rng(5);
  const Matrix x = gaussian_sample(20000, m1, s1, rng), y = gaussian_sample(20000, m2, s2, rng);
  const double sw = ot::sliced_wasserstein(x, y, 2.0, 2000, 3);
  EXPECT_NEAR(sw * sw, integral, 0.03 * integral);
  // and SW_2 <= W_2 (projection is 1-Lipschitz), with the Gaussian W_2 as the large-sample W_2
  EXPECT_LT(sw, ot::bures_wasserstein(m1, s1, m2, s2));
}

// kNN-KL on Gaussian samples against the closed-form Gaussian KL: the estimator is consistent
// (Wang, Kulkarni & Verdu 2009); with n = m = 4000 in 2-D its standard deviation over seeds is a
// few hundredths, so 0.1 absolute is several standard deviations.
TEST(TransportCross, KnnKlAgainstGaussianClosedForm) {
  Vector m1(2), m2(2);
  m1 << 0.0, 0.0;
  m2 << 0.8, 0.0;
  Matrix s1 = Matrix::Identity(2, 2), s2(2, 2);
  s2 << 1.5, 0.4, 0.4, 0.8;
  std::mt19937_64 rng(21);
  const Matrix x = gaussian_sample(4000, m1, s1, rng), y = gaussian_sample(4000, m2, s2, rng);
  EXPECT_NEAR(ot::knn_kl_divergence(x, y, 1), ot::gaussian_kl(m1, s1, m2, s2), 0.1);
  EXPECT_NEAR(ot::knn_kl_divergence(y, x, 5), ot::gaussian_kl(m2, s2, m1, s1), 0.1);
}

// The Frechet distance of two samples is the squared Bures distance between their fitted Gaussians.
TEST(TransportCross, FrechetIsSquaredBuresOfSampleMoments) {
  std::mt19937_64 rng(4);
  const Matrix x = uniform_cloud(50, 3, rng), y = uniform_cloud(70, 3, rng) * 2.0;
  const auto moments = [](const Matrix& s) {
    const Vector mean = s.colwise().mean().transpose();
    const Matrix c = s.rowwise() - mean.transpose();
    return std::make_pair(mean, Matrix((c.transpose() * c) / (s.rows() - 1.0)));
  };
  const auto [mx, sx] = moments(x);
  const auto [my, sy] = moments(y);
  const double w = ot::bures_wasserstein(mx, sx, my, sy);
  EXPECT_NEAR(ot::frechet_distance(x, y), w * w, 1e-12 * w * w);
}

// Every distance is unchanged when both clouds move by the same vector (all costs depend on
// differences only) and when the points of a cloud are permuted together with their weights.
// Tolerances: rounding of the p = 2 Gram-form costs at the clouds' scale; for the Sinkhorn
// divergence, its stopping tolerance (1e-9 marginal error) times the cost scale.
TEST(TransportCross, TranslationAndPermutationInvariance) {
  std::mt19937_64 rng(8);
  const Matrix x = uniform_cloud(40, 2, rng), y = uniform_cloud(30, 2, rng).array() + 0.5;
  Eigen::RowVector2d shift(10.0, -7.0);
  const Matrix xs = x.rowwise() + shift, ys = y.rowwise() + shift;
  Eigen::PermutationMatrix<Eigen::Dynamic> perm(40);
  perm.setIdentity();
  std::shuffle(perm.indices().data(), perm.indices().data() + 40, rng);
  const Matrix xp = perm * x;

  const auto exact = [](const Matrix& u, const Matrix& v) { return ot::emd_points(u, v).cost; };
  const auto divergence = [](const Matrix& u, const Matrix& v) { return ot::sinkhorn_divergence(u, v, 0.05); };
  const auto sliced = [](const Matrix& u, const Matrix& v) { return ot::sliced_wasserstein(u, v, 2.0, 50, 1); };
  const auto mmd = [](const Matrix& u, const Matrix& v) {
    return ot::mmd2_unbiased(u, v, ot::Kernel{ot::KernelKind::gaussian, 0.5});
  };
  const auto knn = [](const Matrix& u, const Matrix& v) { return ot::knn_kl_divergence(u, v, 2); };
  const auto frechet = [](const Matrix& u, const Matrix& v) { return ot::frechet_distance(u, v); };
  using Estimator = std::function<double(const Matrix&, const Matrix&)>;
  const std::vector<std::pair<Estimator, double>> estimators = {
      {exact, 1e-10}, {divergence, 1e-7}, {sliced, 1e-10}, {mmd, 1e-10}, {knn, 1e-10}, {frechet, 1e-10}};
  for (std::size_t i = 0; i < estimators.size(); ++i) {
    const auto& [f, tol] = estimators[i];
    const double base = f(x, y);
    EXPECT_NEAR(f(xs, ys), base, tol * (1.0 + std::abs(base))) << "estimator " << i;
    EXPECT_NEAR(f(xp, y), base, tol * (1.0 + std::abs(base))) << "estimator " << i;
  }
}
