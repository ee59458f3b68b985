// The entropy term of Maximum Entropy Generators (Kumar et al. 2019, arXiv 1901.08508; seed-gan §3.3):
// the generator's entropy H(G(Z)) is replaced by the mutual information I(G(Z), Z) (the two differ by
// the constant H(G(Z) | Z)), estimated with the Jensen-Shannon bound of Deep InfoMax through a
// statistics network T(x, z).
#pragma once

#include <torch/torch.h>

#include <cstdint>

#include "odyn/gan/models.hpp"

namespace odyn::gan {

// T(x, z) -> (B) scores of (sample, code) pairs.
//   mlp:   concat(x, z) -> [Linear(hidden) -> LeakyReLU(0.2)] x depth -> Linear(1).
//   dcgan: x -> Conv(1 -> C, 4, 2, 1) -> LeakyReLU(0.2) -> Conv(C -> 2C, 4, 2, 1) -> LeakyReLU(0.2)
//          -> Flatten -> Linear(2C*49 -> 128); concat z -> Linear(128 + n_z -> 512) -> LeakyReLU(0.2)
//          -> Linear(512 -> 1) (the shape of the reference code's H network, scaled to MNIST).
// C and hidden are spec.critic_hidden when set, else spec.hidden.
class StatisticsNetworkImpl : public ::torch::nn::Module {
 public:
  explicit StatisticsNetworkImpl(const ModelSpec& spec);
  Tensor forward(const Tensor& x, const Tensor& z);

 private:
  ::torch::nn::Sequential trunk_{nullptr}, head_{nullptr};
  bool images_ = false;
};
// The module holder (TORCH_MODULE spelled out: inside odyn, `torch::` would name odyn::torch).
class StatisticsNetwork : public ::torch::nn::ModuleHolder<StatisticsNetworkImpl> {
 public:
  using ::torch::nn::ModuleHolder<StatisticsNetworkImpl>::ModuleHolder;
  using Impl = StatisticsNetworkImpl;
};

// The Jensen-Shannon mutual-information estimate of Deep InfoMax (Hjelm et al. 2019; P-MEG eq. 7)
//   I_JSD(X, Z) = E_joint[-softplus(-T(x, z))] - E_marginal[softplus(T(x, z'))]
// with joint pairs (x_i, z_i) and marginal pairs (x_i, z_π(i)), π a permutation of the batch drawn
// from `gen` (a CPU generator). Differentiable in T's parameters and in x. x (B, ...), z (B, n_z),
// B >= 2; odyn::InvalidArgument otherwise. Its maximum over T, at T = log p(x, z) / (p(x) p(z)), is
// 2 JS(p(x, z) || p(x) p(z)) - 2 log 2 (natural logarithms): -2 log 2 for independent x and z, up to 0.
Tensor jsd_mutual_information(StatisticsNetwork& statistics, const Tensor& x, const Tensor& z, ::torch::Generator& gen);

}  // namespace odyn::gan
