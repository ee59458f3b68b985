#include "odyn/gan/data.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <set>

#include "../test_util.hpp"
#include "odyn/core/error.hpp"

namespace {

using odyn::InvalidArgument;
using odyn::gan::BatchSampler;
using odyn::gan::Tensor;
using odyn::gan::ToyKind;

using odyn::gan::cpu_generator;

// Per-mode counts, means and variances of a mixture sample against the PacGAN parameters: counts
// Binomial(n, 1/K) within 5 s.d., each coordinate's mean within 5 s.e. (sigma / sqrt(count)) of the
// centre, its variance within 5 s.e. (sigma^2 sqrt(2 / (count - 1))) of sigma^2.
void check_mixture(ToyKind kind, int64_t n, uint64_t seed) {
  const auto dist = odyn::gan::toy_distribution(kind);
  auto gen = cpu_generator(seed);
  const Tensor x = dist.sample(n, gen);
  ASSERT_EQ(x.sizes(), (std::vector<int64_t>{n, 2}));
  ASSERT_EQ(x.scalar_type(), ::torch::kFloat32);
  const Tensor modes = dist.modes();
  const int64_t k = modes.size(0);
  const double sigma = dist.sigma();
  const Tensor xd = x.to(::torch::kFloat64);
  const auto [d2, nearest] = (xd.unsqueeze(1) - modes.unsqueeze(0)).square().sum(2).min(1);
  // 6 sigma in 2-D: P = exp(-18) ~ 1.5e-8 per sample.
  EXPECT_LT(d2.max().item<double>(), 36 * sigma * sigma);
  const double p = 1.0 / static_cast<double>(k);
  for (int64_t m = 0; m < k; ++m) {
    const Tensor rows = xd.index_select(0, (nearest == m).nonzero().squeeze(1));
    const double count = static_cast<double>(rows.size(0));
    ASSERT_GT(count, 1) << "mode " << m << " missing";
    EXPECT_NEAR(count, n * p, 5 * std::sqrt(n * p * (1 - p))) << "mode " << m;
    for (int c = 0; c < 2; ++c) {
      const Tensor col = rows.select(1, c);
      EXPECT_NEAR(col.mean().item<double>(), modes[m][c].item<double>(), 5 * sigma / std::sqrt(count));
      EXPECT_NEAR(col.var().item<double>(), sigma * sigma, 5 * sigma * sigma * std::sqrt(2 / (count - 1)));
    }
  }
}

TEST(GanData, RingIsEightGaussiansOnTheUnitCircle) {
  const Tensor modes = odyn::gan::toy_distribution(ToyKind::ring).modes();
  ASSERT_EQ(modes.sizes(), (std::vector<int64_t>{8, 2}));
  EXPECT_EQ(modes.scalar_type(), ::torch::kFloat64);
  for (int k = 0; k < 8; ++k) {
    EXPECT_NEAR(modes[k][0].item<double>(), std::cos(2 * M_PI * k / 8), 1e-15);
    EXPECT_NEAR(modes[k][1].item<double>(), std::sin(2 * M_PI * k / 8), 1e-15);
  }
  EXPECT_EQ(odyn::gan::toy_distribution(ToyKind::ring).sigma(), 0.01);
  check_mixture(ToyKind::ring, 40000, 1);
}

TEST(GanData, GridIsTwentyFiveGaussians) {
  const Tensor modes = odyn::gan::toy_distribution(ToyKind::grid).modes();
  ASSERT_EQ(modes.sizes(), (std::vector<int64_t>{25, 2}));
  std::set<std::pair<int, int>> centres;
  for (int k = 0; k < 25; ++k) {
    centres.insert({static_cast<int>(modes[k][0].item<double>()), static_cast<int>(modes[k][1].item<double>())});
  }
  for (int a = -4; a <= 4; a += 2) {
    for (int b = -4; b <= 4; b += 2) EXPECT_TRUE(centres.count({a, b})) << a << ", " << b;
  }
  EXPECT_EQ(odyn::gan::toy_distribution(ToyKind::grid).sigma(), 0.05);
  check_mixture(ToyKind::grid, 50000, 2);
}

// Swiss roll: 25 |x|^2 = t^2 + 0.25^2 |e|^2 with t ~ U[1.5 pi, 4.5 pi], so E 25|x|^2 =
// (a^2 + ab + b^2) / 3 + 2 * 0.0625; the sample mean within 5 s.e.
TEST(GanData, SwissRollHasTheSklearnRadius) {
  const auto dist = odyn::gan::toy_distribution(ToyKind::swiss_roll);
  EXPECT_EQ(dist.modes().sizes(), (std::vector<int64_t>{0, 2}));
  EXPECT_EQ(dist.sigma(), 0.0);
  auto gen = cpu_generator(3);
  const Tensor x = dist.sample(20000, gen).to(::torch::kFloat64);
  const Tensor r2 = 56.25 * x.square().sum(1);  // (7.5 x)^2
  const double a = 1.5 * M_PI, b = 4.5 * M_PI;
  const double expected = (a * a + a * b + b * b) / 3 + 2 * 0.0625;
  EXPECT_NEAR(r2.mean().item<double>(), expected, 5 * r2.std().item<double>() / std::sqrt(20000.0));
  EXPECT_LT(x.abs().max().item<double>(), (b + 2) / 7.5);
}

TEST(GanData, ToySamplesAreReproducibleFromTheSeed) {
  for (const auto kind : {ToyKind::ring, ToyKind::grid, ToyKind::swiss_roll}) {
    const auto dist = odyn::gan::toy_distribution(kind);
    auto g1 = cpu_generator(7), g2 = cpu_generator(7), g3 = cpu_generator(8);
    const Tensor a = dist.sample(100, g1), b = dist.sample(100, g2), c = dist.sample(100, g3);
    EXPECT_TRUE(a.equal(b));
    EXPECT_FALSE(a.equal(c));
  }
}

TEST(GanData, ParsesNamesAndRejectsBadInput) {
  for (const auto kind : {ToyKind::ring, ToyKind::grid, ToyKind::swiss_roll}) {
    EXPECT_EQ(odyn::gan::parse_toy_kind(odyn::gan::to_string(kind)), kind);
  }
  EXPECT_THROW(odyn::gan::parse_toy_kind("rings"), InvalidArgument);
  auto gen = cpu_generator(0);
  EXPECT_THROW(odyn::gan::toy_distribution(ToyKind::ring).sample(0, gen), InvalidArgument);
  EXPECT_THROW(odyn::gan::load_mnist(odyn::io::default_mnist_dir(), odyn::io::MnistSplit::test, -1), InvalidArgument);
  EXPECT_THROW(odyn::gan::load_mnist("/nonexistent-odyn-dir", odyn::io::MnistSplit::test), odyn::IoError);
}

TEST(GanData, LoadsMnistInMinusOneToOne) {
  ODYN_REQUIRE_MNIST_OR_SKIP();
  const auto set = odyn::gan::load_mnist(odyn::io::default_mnist_dir(), odyn::io::MnistSplit::test, 200);
  ASSERT_EQ(set.images.sizes(), (std::vector<int64_t>{200, 1, 28, 28}));
  EXPECT_EQ(set.images.scalar_type(), ::torch::kFloat32);
  EXPECT_EQ(set.labels.sizes(), (std::vector<int64_t>{200}));
  EXPECT_EQ(set.labels.scalar_type(), ::torch::kLong);
  EXPECT_EQ(set.images.min().item<float>(), -1.0f);  // background 0
  EXPECT_EQ(set.images.max().item<float>(), 1.0f);   // full strokes 255
  EXPECT_EQ(set.labels[0].item<int64_t>(), 7);       // the first test digit is a 7
  EXPECT_GE(set.labels.min().item<int64_t>(), 0);
  EXPECT_LE(set.labels.max().item<int64_t>(), 9);
  const auto all = odyn::gan::load_mnist(odyn::io::default_mnist_dir(), odyn::io::MnistSplit::test);
  EXPECT_EQ(all.images.size(0), 10000);
  EXPECT_TRUE(all.images.slice(0, 0, 200).equal(set.images));
}

// Rows of an (N, 1) int64 sample as a vector.
std::vector<int64_t> values(const Tensor& t) {
  const Tensor c = t.reshape({-1}).contiguous();
  return {c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel()};
}

TEST(GanData, BatchSamplerShufflesEpochsAndDropsTheRest) {
  const Tensor data = ::torch::arange(10, ::torch::kLong).reshape({10, 1});
  BatchSampler sampler(data, 3, 5);
  EXPECT_EQ(sampler.epoch(), 0);
  for (int epoch = 0; epoch < 4; ++epoch) {
    std::set<int64_t> seen;
    for (int b = 0; b < 3; ++b) {
      const Tensor batch = sampler.next();
      ASSERT_EQ(batch.sizes(), (std::vector<int64_t>{3, 1}));
      for (const int64_t v : values(batch)) seen.insert(v);
      EXPECT_EQ(sampler.epoch(), epoch);
    }
    EXPECT_EQ(seen.size(), 9u) << "rows repeat within an epoch";
  }
  // Two samplers with one seed agree; another seed differs.
  BatchSampler a(data, 4, 9), b(data, 4, 9), c(data, 4, 10);
  bool differ = false;
  for (int i = 0; i < 6; ++i) {
    const Tensor x = a.next();
    EXPECT_TRUE(x.equal(b.next()));
    differ = differ || !x.equal(c.next());
  }
  EXPECT_TRUE(differ);
}

TEST(GanData, BatchSamplerStateRoundTripContinuesIdentically) {
  const Tensor data = ::torch::randn({23, 2, 3});
  for (const int before : {0, 4, 5, 13}) {
    BatchSampler a(data, 5, 11);
    for (int i = 0; i < before; ++i) a.next();
    const Tensor state = a.state();
    EXPECT_EQ(state.scalar_type(), ::torch::kLong);
    BatchSampler b(data, 5, 99);
    b.set_state(state);
    EXPECT_EQ(b.epoch(), a.epoch());
    for (int i = 0; i < 10; ++i) EXPECT_TRUE(a.next().equal(b.next())) << "after " << before << ", step " << i;
    EXPECT_EQ(b.epoch(), a.epoch());
  }
}

TEST(GanData, BatchSamplerRejectsBadInput) {
  const Tensor data = ::torch::zeros({10, 2});
  EXPECT_THROW(BatchSampler(data, 0, 0), InvalidArgument);
  EXPECT_THROW(BatchSampler(data, 11, 0), InvalidArgument);
  EXPECT_THROW(BatchSampler(Tensor(), 1, 0), InvalidArgument);
  BatchSampler s(data, 2, 0);
  s.next();
  const Tensor state = s.state();
  EXPECT_THROW(BatchSampler(::torch::zeros({12, 2}), 2, 0).set_state(state), InvalidArgument);
  EXPECT_THROW(BatchSampler(data, 3, 0).set_state(state), InvalidArgument);
  EXPECT_THROW(s.set_state(state.slice(0, 0, 20)), InvalidArgument);
  EXPECT_THROW(s.set_state(state.to(::torch::kFloat64)), InvalidArgument);
}

}  // namespace
