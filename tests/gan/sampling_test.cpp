// Langevin and MALA samplers, latent energies and the replay buffer (include/odyn/gan/sampling.hpp).
#include <gtest/gtest.h>

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <limits>
#include <vector>

#include "../test_util.hpp"
#include "odyn/core/error.hpp"
#include "odyn/gan/data.hpp"
#include "odyn/gan/sampling.hpp"
#include "odyn/torch/tensor.hpp"

namespace {

namespace gan = odyn::gan;
using odyn::InvalidArgument;
using ::torch::Tensor;

const auto kF64 = ::torch::TensorOptions().dtype(::torch::kDouble);

class GanSampling : public ::testing::Test {
 protected:
  void SetUp() override { odyn::torch::set_num_threads(1); }
};

// U(x) = ½ (x - μ)ᵀ P (x - μ): the target is N(μ, P⁻¹).
struct Quadratic {
  Tensor mu = ::torch::tensor({1.0, -0.5}, kF64);
  Tensor precision = ::torch::tensor({2.0, 0.6, 0.6, 1.0}, kF64).view({2, 2});
  gan::EnergyFn energy() const {
    return [mu = mu, p = precision](const Tensor& x) {
      const Tensor d = x - mu;
      return 0.5 * (d.matmul(p) * d).sum(1);
    };
  }
};

Tensor sample_covariance(const Tensor& x) {
  const Tensor d = x - x.mean(0);
  return d.t().matmul(d) / (x.size(0) - 1);
}

// For a quadratic energy both chains reproduce Gaussian moments (seed-gan §3.5, claim 6). Unadjusted
// Langevin x' = (I - εP/2) x + ... has the stationary covariance P⁻¹ (I - εP/4)⁻¹ exactly (solve
// Σ = M Σ M + εI with M = I - εP/2 in P's eigenbasis), which tends to P⁻¹ as ε → 0; MALA removes the
// O(ε) bias and reproduces P⁻¹ at the same ε. 20 000 independent chains after 100 steps (the slowest
// mode contracts by 1 - ελ_min/2 ≈ 0.82 per step at ε = 0.5, so 100 steps leave 2e-9 of the start):
// the standard error of a covariance entry is at most sqrt(2/n)·1.4 ≈ 0.014; bounds are 5 s.e. At this
// ε the ULA bias (0.168 and 0.144 on the diagonal) exceeds the bound (0.099), so the checks tell the
// two samplers apart.
TEST_F(GanSampling, QuadraticEnergyGivesGaussianMoments) {
  const Quadratic q;
  const int64_t n = 20000;
  const double eps = 0.5;
  const gan::LangevinOptions options{100, eps};
  const Tensor x0 = ::torch::zeros({n, 2}, kF64);
  const Tensor target = ::torch::linalg_inv(q.precision);
  const Tensor ula_cov = ::torch::linalg_inv(q.precision.matmul(::torch::eye(2, kF64) - eps / 4 * q.precision));

  auto gen = gan::cpu_generator(1);
  const gan::ChainResult ula = gan::langevin(q.energy(), x0, options, gen);
  EXPECT_EQ(ula.acceptance, 1.0);
  auto gen2 = gan::cpu_generator(2);
  const gan::ChainResult adjusted = gan::mala(q.energy(), x0, options, gen2);
  EXPECT_GT(adjusted.acceptance, 0.5);
  EXPECT_LT(adjusted.acceptance, 1.0);

  const double tol_mean = 5 * std::sqrt(1.4 / n);
  const double tol_cov = 5 * std::sqrt(2.0 / n) * 1.4;
  for (const auto* r : {&ula, &adjusted}) {
    const Tensor mean = r->samples.mean(0);
    for (int i = 0; i < 2; ++i) EXPECT_NEAR(mean[i].item<double>(), q.mu[i].item<double>(), tol_mean);
  }
  const Tensor ula_sample = sample_covariance(ula.samples), mala_sample = sample_covariance(adjusted.samples);
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 2; ++j) {
      EXPECT_NEAR(ula_sample[i][j].item<double>(), ula_cov[i][j].item<double>(), tol_cov) << i << j;
      EXPECT_NEAR(mala_sample[i][j].item<double>(), target[i][j].item<double>(), tol_cov) << i << j;
    }
  for (int i = 0; i < 2; ++i) EXPECT_GT(ula_cov[i][i].item<double>() - target[i][i].item<double>(), tol_cov);
}

// MALA's acceptance test, replayed by hand from the same random stream: for U(x) = x⁴/4 in 1-D,
// the proposal x' = x - (ε/2) x³ + sqrt(ε) ξ is accepted iff log u < U(x) - U(x') + log q(x | x') -
// log q(x' | x), log q(b | a) = -(b - a + (ε/2) a³)² / (2ε). The decisions must agree chain by chain.
TEST_F(GanSampling, MalaAcceptanceRatioByHand) {
  const gan::EnergyFn quartic = [](const Tensor& x) { return 0.25 * x.pow(4).sum(1); };
  const int64_t n = 2000;
  const double eps = 0.8;
  auto start_gen = gan::cpu_generator(3);
  const Tensor x = 2 * ::torch::randn({n, 1}, start_gen, kF64);
  auto gen = gan::cpu_generator(4);
  const gan::ChainResult r = gan::mala(quartic, x, {1, eps}, gen);

  auto replay = gan::cpu_generator(4);
  const Tensor xi = ::torch::randn({n, 1}, replay, kF64);
  const Tensor u = ::torch::rand({n}, replay, kF64);
  int64_t agree = 0, accepted = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double a = x[i][0].item<double>();
    const double b = a - 0.5 * eps * a * a * a + std::sqrt(eps) * xi[i][0].item<double>();
    const auto log_q = [eps](double to, double from) {
      const double d = to - from + 0.5 * eps * from * from * from;
      return -d * d / (2 * eps);
    };
    const double log_r = 0.25 * (a * a * a * a - b * b * b * b) + log_q(a, b) - log_q(b, a);
    const bool accept = std::log(u[i].item<double>()) < log_r;
    accepted += accept;
    const bool got = r.accepted[i].item<int64_t>() == 1;
    agree += accept == got;
    EXPECT_NEAR(r.samples[i][0].item<double>(), accept ? b : a, 1e-12) << i;
  }
  EXPECT_EQ(agree, n);
  // Both outcomes occur, so the test exercises the ratio rather than a constant decision.
  EXPECT_GT(accepted, n / 10);
  EXPECT_LT(accepted, n - n / 10);
  EXPECT_NEAR(r.acceptance, static_cast<double>(accepted) / n, 1e-12);
}

// Detailed balance in distribution: on the 1-D double well U(x) = (x² - 1)², MALA keeps exp(-U)
// invariant, so chains started from the exact target stay there; the moments E x² and E x⁴ come from
// numerical quadrature. 20 000 chains, 20 steps of ε = 0.1; bounds 5 s.e. of the estimates.
// Unadjusted Langevin at the same step drifts away from them (E x² 0.788 against 0.833, about 10
// s.e.; a larger ε makes its tails unstable).
TEST_F(GanSampling, MalaKeepsDoubleWellInvariant) {
  const gan::EnergyFn well = [](const Tensor& x) { return (x.pow(2) - 1).pow(2).sum(1); };
  // Quadrature on [-4, 4] (exp(-U) < 1e-90 beyond), composite Simpson with 40 000 panels.
  const auto density = [](double x) { return std::exp(-std::pow(x * x - 1, 2)); };
  const double z = odyn::test::simpson(density, -4, 4, 40000);
  const double m2 = odyn::test::simpson([&](double x) { return x * x * density(x); }, -4, 4, 40000) / z;
  const double m4 = odyn::test::simpson([&](double x) { return std::pow(x, 4) * density(x); }, -4, 4, 40000) / z;
  // Exact draws from the target by rejection from N(0, 1.2²) (exp(-U) ≤ e^{1/4}·φ-envelope).
  const int64_t n = 20000;
  auto gen = gan::cpu_generator(5);
  std::vector<double> draws;
  while (static_cast<int64_t>(draws.size()) < n) {
    const Tensor c = 1.2 * ::torch::randn({4 * n}, gen, kF64);
    const Tensor u = ::torch::rand({4 * n}, gen, kF64);
    // exp(-U(x)) / (M · exp(-x² / (2·1.44))) with M = max of the ratio (found on the grid below).
    const Tensor ratio = ::torch::exp(-(c.pow(2) - 1).pow(2) + c.pow(2) / 2.88);
    static const double bound = [] {
      double b = 0;
      for (double x = -5; x <= 5; x += 1e-4) b = std::max(b, std::exp(-std::pow(x * x - 1, 2) + x * x / 2.88));
      return b * 1.001;
    }();
    const Tensor keep = u < ratio / bound;
    const Tensor kept = c.masked_select(keep);
    for (int64_t i = 0; i < kept.size(0) && static_cast<int64_t>(draws.size()) < n; ++i)
      draws.push_back(kept[i].item<double>());
  }
  const Tensor x0 = ::torch::tensor(draws, kF64).view({n, 1});
  const double se2 = std::sqrt((m4 - m2 * m2) / n);
  const double m8 = [&] {
    double s = 0;
    for (double d : draws) s += std::pow(d, 8);
    return s / n;
  }();
  const double se4 = std::sqrt((m8 - m4 * m4) / n);
  ASSERT_NEAR(x0.pow(2).mean().item<double>(), m2, 5 * se2);  // the start is the target

  const gan::LangevinOptions options{20, 0.1};
  auto g1 = gan::cpu_generator(6);
  const gan::ChainResult adjusted = gan::mala(well, x0, options, g1);
  EXPECT_NEAR(adjusted.samples.pow(2).mean().item<double>(), m2, 5 * se2);
  EXPECT_NEAR(adjusted.samples.pow(4).mean().item<double>(), m4, 5 * se4);
  EXPECT_GT(adjusted.acceptance, 0.5);
  EXPECT_LT(adjusted.acceptance, 1.0);
  auto g2 = gan::cpu_generator(6);
  const gan::ChainResult ula = gan::langevin(well, x0, options, g2);
  EXPECT_GT(std::abs(ula.samples.pow(2).mean().item<double>() - m2), 5 * se2);
}

TEST_F(GanSampling, LatentEnergyComposesGeneratorAndPrior) {
  const Tensor a = ::torch::tensor({1.0, 2.0, 0.0, 1.0, -1.0, 3.0}, kF64).view({2, 3});  // z (B, 2) -> x (B, 3)
  const auto generator = [a](const Tensor& z) { return z.matmul(a); };
  const gan::EnergyFn energy = [](const Tensor& x) { return x.pow(2).sum(1); };
  const Tensor z = ::torch::tensor({0.5, -1.0, 2.0, 0.25}, kF64).view({2, 2});
  const Tensor x = z.matmul(a);
  const Tensor u = x.pow(2).sum(1);
  EXPECT_TRUE(::torch::allclose(gan::latent_energy(generator, energy)(z), u));
  EXPECT_TRUE(::torch::allclose(gan::latent_energy(generator, energy, 0.5)(z), 2 * u));
  EXPECT_TRUE(::torch::allclose(gan::latent_energy(generator, energy, 1, true)(z), u + 0.5 * z.pow(2).sum(1)));
  // Its gradient, as the samplers take it: ∇_z = 2 A (A^T z) per row.
  const auto [value, grad] = gan::energy_and_gradient(gan::latent_energy(generator, energy), z);
  EXPECT_TRUE(::torch::allclose(value, u));
  EXPECT_TRUE(::torch::allclose(grad, 2 * x.matmul(a.t())));
  EXPECT_THROW(gan::latent_energy(generator, energy, 0), InvalidArgument);
  EXPECT_THROW(gan::latent_energy(generator, energy, std::nan("")), InvalidArgument);
  EXPECT_THROW(gan::latent_energy({}, energy), InvalidArgument);
}

TEST_F(GanSampling, RejectsBadInput) {
  const Quadratic q;
  const Tensor x0 = ::torch::zeros({4, 2}, kF64);
  auto gen = gan::cpu_generator(0);
  EXPECT_THROW(gan::langevin(q.energy(), x0, {-1, 0.1}, gen), InvalidArgument);
  EXPECT_THROW(gan::mala(q.energy(), x0, {10, 0}, gen), InvalidArgument);
  EXPECT_THROW(gan::mala(q.energy(), x0, {10, std::numeric_limits<double>::infinity()}, gen), InvalidArgument);
  Tensor nan_start = x0.clone();
  nan_start[1][0] = std::nan("");
  EXPECT_THROW(gan::langevin(q.energy(), nan_start, {1, 0.1}, gen), InvalidArgument);
  EXPECT_THROW(gan::langevin(q.energy(), Tensor(), {1, 0.1}, gen), InvalidArgument);
  const gan::EnergyFn wrong_shape = [](const Tensor& x) { return x.sum(); };
  EXPECT_THROW(gan::mala(wrong_shape, x0, {1, 0.1}, gen), InvalidArgument);
  // An energy that overflows stops the chain with a message rather than returning NaN samples.
  const gan::EnergyFn steep = [](const Tensor& x) { return x.pow(2).sum(1) * 1e200 * 1e200; };
  EXPECT_THROW(gan::langevin(steep, x0 + 1, {3, 0.1}, gen), InvalidArgument);
  // Zero steps return the start.
  EXPECT_TRUE(::torch::equal(gan::mala(q.energy(), x0, {0, 0.1}, gen).samples, x0));
}

TEST_F(GanSampling, ReplayBufferRingReuseAndState) {
  gan::ReplayBuffer buffer(5, 0.95);
  auto gen = gan::cpu_generator(7);
  const auto fresh = [](int64_t n) { return ::torch::full({n, 2}, -1.0, kF64); };
  EXPECT_TRUE(::torch::equal(buffer.initial(3, fresh, gen), fresh(3)));  // empty: all fresh
  buffer.push(::torch::arange(6, kF64).view({3, 2}));                    // rows 0, 1, 2
  EXPECT_EQ(buffer.size(), 3);
  buffer.push(::torch::arange(6, 14, kF64).view({4, 2}));  // rows 3..6: 5 and 6 overwrite 0 and 1
  EXPECT_EQ(buffer.size(), 5);
  const Tensor stored = buffer.samples().select(1, 0);
  EXPECT_TRUE(::torch::equal(stored, ::torch::tensor({10.0, 12.0, 4.0, 6.0, 8.0}, kF64)));

  // About 95 % of the starting rows come from the buffer: n = 20000, s.e. 0.0015, bound 5 s.e.
  const int64_t n = 20000;
  const Tensor start = buffer.initial(n, fresh, gen);
  const double reused = start.select(1, 0).ge(0).to(::torch::kDouble).mean().item<double>();
  EXPECT_NEAR(reused, 0.95, 5 * std::sqrt(0.95 * 0.05 / n));
  // Reused rows are stored rows.
  const Tensor first = start.select(1, 0);
  const Tensor is_stored = (first.unsqueeze(1) == stored.unsqueeze(0)).any(1) | first.eq(-1);
  EXPECT_TRUE(is_stored.all().item<bool>());

  // State round trip: the same generator stream gives the same starts.
  gan::ReplayBuffer copy(5, 0.95);
  copy.set_state(buffer.state());
  auto ga = gan::cpu_generator(8), gb = gan::cpu_generator(8);
  EXPECT_TRUE(::torch::equal(buffer.initial(50, fresh, ga), copy.initial(50, fresh, gb)));
  gan::ReplayBuffer other(6);
  EXPECT_THROW(other.set_state(buffer.state()), InvalidArgument);
  EXPECT_THROW(gan::ReplayBuffer(0), InvalidArgument);
  EXPECT_THROW(gan::ReplayBuffer(4, 1.5), InvalidArgument);
  EXPECT_THROW(buffer.push(::torch::zeros({2, 3}, kF64)), InvalidArgument);
}

}  // namespace
