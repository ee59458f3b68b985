#include "odyn/gan/models.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <cmath>

#include "odyn/core/error.hpp"
#include "odyn/gan/data.hpp"

namespace {

using odyn::InvalidArgument;
using odyn::gan::Init;
using odyn::gan::ModelSpec;
using odyn::gan::Norm;
using odyn::gan::Tensor;

using odyn::gan::cpu_generator;

int64_t parameter_count(const ::torch::nn::Module& m) {
  int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

ModelSpec small_dcgan(Norm generator_norm, Norm critic_norm) {
  ModelSpec spec;
  spec.kind = "dcgan";
  spec.latent_dim = 16;
  spec.hidden = 8;
  spec.generator_norm = generator_norm;
  spec.critic_norm = critic_norm;
  return spec;
}

TEST(GanModels, MlpShapesAndParameterCounts) {
  const ModelSpec spec;  // 2 -> [256] x 3 -> 2
  auto g = odyn::gan::make_generator(spec);
  auto d = odyn::gan::make_critic(spec);
  // 3 hidden layers of 256: (2*256 + 256) + 2 (256*256 + 256) + (256*k + k), k = 2 outputs or 1 score.
  EXPECT_EQ(parameter_count(*g), 768 + 2 * 65792 + 514);
  EXPECT_EQ(parameter_count(*d), 768 + 2 * 65792 + 257);
  const Tensor z = ::torch::randn({5, 2});
  const Tensor x = g->forward(z);
  EXPECT_EQ(x.sizes(), (std::vector<int64_t>{5, 2}));
  EXPECT_EQ(d->forward(x).sizes(), (std::vector<int64_t>{5, 1}));
  EXPECT_EQ(odyn::gan::critic_scores(d, x).sizes(), (std::vector<int64_t>{5}));
  ModelSpec wide;
  wide.data_dim = 7;
  wide.latent_dim = 3;
  wide.hidden = 10;
  wide.depth = 1;
  wide.critic_norm = Norm::layer;
  EXPECT_EQ(odyn::gan::make_generator(wide)->forward(::torch::randn({4, 3})).sizes(), (std::vector<int64_t>{4, 7}));
  auto dl = odyn::gan::make_critic(wide);
  EXPECT_EQ(parameter_count(*dl), 7 * 10 + 10 + 20 + 11);  // Linear, LayerNorm(10), Linear(10 -> 1)
  // A critic narrower than the generator: 2 -> [64] x 3 -> 1, the generator keeps 256.
  ModelSpec narrow;
  narrow.critic_hidden = 64;
  EXPECT_EQ(parameter_count(*odyn::gan::make_critic(narrow)), (2 * 64 + 64) + 2 * (64 * 64 + 64) + 65);
  EXPECT_EQ(parameter_count(*odyn::gan::make_generator(narrow)), 768 + 2 * 65792 + 514);
}

TEST(GanModels, DcganShapesAndParameterCounts) {
  auto g = odyn::gan::make_generator(small_dcgan(Norm::batch, Norm::none));
  auto d = odyn::gan::make_critic(small_dcgan(Norm::batch, Norm::none));
  auto dl = odyn::gan::make_critic(small_dcgan(Norm::none, Norm::layer));
  // G: Linear(16 -> 2C*49 = 784), BN(16), ConvT(16 -> 8, 4x4), BN(8), ConvT(8 -> 1, 4x4).
  EXPECT_EQ(parameter_count(*g), (16 * 784 + 784) + 32 + (16 * 8 * 16 + 8) + 16 + (8 * 16 + 1));
  // D: Conv(1 -> 8), Conv(8 -> 16), [LayerNorm(16, 7, 7)], Linear(784 -> 1).
  EXPECT_EQ(parameter_count(*d), (8 * 16 + 8) + (8 * 16 * 16 + 16) + 785);
  EXPECT_EQ(parameter_count(*dl), parameter_count(*d) + 2 * 784);
  const Tensor x = g->forward(::torch::randn({3, 16}));
  ASSERT_EQ(x.sizes(), (std::vector<int64_t>{3, 1, 28, 28}));
  EXPECT_LE(x.abs().max().item<float>(), 1.0f);
  EXPECT_EQ(odyn::gan::critic_scores(d, x).sizes(), (std::vector<int64_t>{3}));
  EXPECT_EQ(odyn::gan::critic_scores(dl, x).sizes(), (std::vector<int64_t>{3}));
  // The default width C = 64.
  ModelSpec full = small_dcgan(Norm::batch, Norm::none);
  full.hidden = 64;
  EXPECT_EQ(odyn::gan::make_generator(full)->forward(::torch::randn({2, 16})).sizes(),
            (std::vector<int64_t>{2, 1, 28, 28}));
}

TEST(GanModels, InitIsReproducibleFromTheGenerator) {
  for (const Init init : {Init::default_, Init::normal, Init::glorot}) {
    auto a = odyn::gan::make_critic(small_dcgan(Norm::none, Norm::layer));
    auto b = odyn::gan::make_critic(small_dcgan(Norm::none, Norm::layer));
    auto c = odyn::gan::make_critic(small_dcgan(Norm::none, Norm::layer));
    auto ga = cpu_generator(4), gb = cpu_generator(4), gc = cpu_generator(5);
    odyn::gan::initialize(*a, init, ga);
    odyn::gan::initialize(*b, init, gb);
    odyn::gan::initialize(*c, init, gc);
    const auto pa = a->parameters(), pb = b->parameters(), pc = c->parameters();
    bool differ = false;
    for (size_t i = 0; i < pa.size(); ++i) {
      EXPECT_TRUE(pa[i].equal(pb[i])) << odyn::gan::to_string(init) << " parameter " << i;
      differ = differ || !pa[i].equal(pc[i]);
    }
    EXPECT_TRUE(differ) << odyn::gan::to_string(init);
  }
}

// N(0, 0.02^2) on a 256 x 256 weight: the sample s.d. has s.e. 0.02 / sqrt(2 * 65536); 5 s.e. bounds.
TEST(GanModels, InitDistributions) {
  auto net = odyn::gan::make_generator(ModelSpec{});
  auto gen = cpu_generator(6);
  odyn::gan::initialize(*net, Init::normal, gen);
  const auto hidden = net->ptr(2)->as<::torch::nn::Linear>();  // Linear, ReLU, Linear(256 -> 256)
  ASSERT_NE(hidden, nullptr);
  const double n = 65536;
  EXPECT_NEAR(hidden->weight.std().item<double>(), 0.02, 5 * 0.02 / std::sqrt(2 * n));
  EXPECT_NEAR(hidden->weight.mean().item<double>(), 0.0, 5 * 0.02 / std::sqrt(n));
  EXPECT_EQ(hidden->bias.abs().max().item<float>(), 0.0f);

  odyn::gan::initialize(*net, Init::glorot, gen);
  const double glorot = std::sqrt(6.0 / 512);  // U(-b, b): max near b, s.d. b / sqrt 3
  EXPECT_LE(hidden->weight.abs().max().item<double>(), glorot);
  EXPECT_GT(hidden->weight.abs().max().item<double>(), 0.99 * glorot);
  // s.e. of the sample s.d. of U(-b, b): sqrt(mu4 - sigma^4) / (2 sigma sqrt n) = b sqrt(12 / 45) / (2 sqrt n).
  EXPECT_NEAR(hidden->weight.std().item<double>(), glorot / std::sqrt(3.0),
              5 * glorot * std::sqrt(12.0 / 45) / (2 * std::sqrt(n)));
  EXPECT_EQ(hidden->bias.abs().max().item<float>(), 0.0f);

  odyn::gan::initialize(*net, Init::default_, gen);
  const double bound = 1.0 / 16;  // 1 / sqrt(fan_in = 256)
  EXPECT_LE(hidden->weight.abs().max().item<double>(), bound);
  EXPECT_GT(hidden->weight.abs().max().item<double>(), 0.99 * bound);
  EXPECT_LE(hidden->bias.abs().max().item<double>(), bound);
  EXPECT_GT(hidden->bias.abs().max().item<double>(), 0.0);
}

TEST(GanModels, RejectsBadSpecs) {
  EXPECT_THROW(odyn::gan::make_critic(small_dcgan(Norm::none, Norm::batch)), InvalidArgument);
  ModelSpec mlp_bn;
  mlp_bn.critic_norm = Norm::batch;
  EXPECT_THROW(odyn::gan::make_critic(mlp_bn), InvalidArgument);
  ModelSpec bad;
  bad.kind = "resnet";
  EXPECT_THROW(odyn::gan::make_generator(bad), InvalidArgument);
  bad = ModelSpec{};
  bad.latent_dim = 0;
  EXPECT_THROW(odyn::gan::make_generator(bad), InvalidArgument);
  bad = ModelSpec{};
  bad.depth = 0;
  EXPECT_THROW(odyn::gan::make_critic(bad), InvalidArgument);
  // A critic that does not end in one score per sample.
  ::torch::nn::Sequential two(::torch::nn::Linear(2, 2));
  EXPECT_THROW(odyn::gan::critic_scores(two, ::torch::randn({3, 2})), InvalidArgument);
  for (const auto* name : {"default", "normal", "glorot"}) {
    EXPECT_EQ(odyn::gan::to_string(odyn::gan::parse_init(name)), name);
  }
  for (const auto* name : {"none", "batch", "layer"}) {
    EXPECT_EQ(odyn::gan::to_string(odyn::gan::parse_norm(name)), name);
  }
  EXPECT_THROW(odyn::gan::parse_init("xavier"), InvalidArgument);
  EXPECT_THROW(odyn::gan::parse_norm("instance"), InvalidArgument);
}

}  // namespace
