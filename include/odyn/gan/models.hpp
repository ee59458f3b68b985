// Generator and critic networks of the GAN layer: MLPs for the 2-D toys and a small DCGAN for
// 1 x 28 x 28 MNIST images, with seeded initialisation.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>

namespace odyn::gan {

using Tensor = ::torch::Tensor;

// default_: LibTorch's own rule (weights and biases U(-1/sqrt(fan_in), 1/sqrt(fan_in)));
// normal: weights N(0, 0.02^2), zero biases (DCGAN, Radford et al. 2016);
// glorot: weights U(-sqrt(6/(fan_in+fan_out)), +...), zero biases (Glorot & Bengio 2010).
// Normalisation layers always start at scale 1, shift 0.
enum class Init { default_, normal, glorot };
enum class Norm { none, batch, layer };

struct ModelSpec {
  std::string kind = "mlp";  // "mlp" (vectors of data_dim) | "dcgan" (1 x 28 x 28 images)
  int64_t latent_dim = 2;
  int64_t data_dim = 2;        // mlp only
  int64_t hidden = 256;        // mlp: width; dcgan: base channels C
  int64_t critic_hidden = 0;   // the critic's width or base channels; 0: hidden
  int64_t critic_outputs = 1;  // outputs of the critic's last layer (an O-GAN encoder: latent_dim)
  int64_t depth = 3;           // mlp: hidden layers
  Init init = Init::default_;
  Norm generator_norm = Norm::none;  // usual: mlp none, dcgan batch
  Norm critic_norm = Norm::none;     // batch is rejected (it breaks per-sample gradient penalties)
};

// Generator z (B, latent_dim) -> x.
//   mlp:   [Linear -> norm -> ReLU] x depth -> Linear(hidden -> data_dim), output (B, data_dim).
//   dcgan: Linear(latent -> 2C*7*7) -> (2C,7,7) -> norm -> ReLU -> ConvT(2C -> C, 4, 2, 1) -> norm ->
//          ReLU -> ConvT(C -> 1, 4, 2, 1) -> tanh, output (B, 1, 28, 28) in [-1, 1].
::torch::nn::Sequential make_generator(const ModelSpec& spec);

// Critic x -> (B, critic_outputs): (B, 1) scores (use critic_scores for (B)), real samples scoring
// high, or an O-GAN encoder's codes.
//   mlp:   [Linear -> norm -> LeakyReLU(0.2)] x depth -> Linear(hidden -> outputs), hidden = critic_hidden if set.
//   dcgan: Conv(1 -> C, 4, 2, 1) -> LeakyReLU(0.2) -> Conv(C -> 2C, 4, 2, 1) -> [LayerNorm over
//          (2C, 7, 7)] -> LeakyReLU(0.2) -> Flatten -> Linear(2C*49 -> outputs).
// Throws odyn::InvalidArgument for critic_norm = batch.
::torch::nn::Sequential make_critic(const ModelSpec& spec);

// The critic's output on x as one score per sample, (B).
Tensor critic_scores(::torch::nn::Sequential& critic, const Tensor& x);

// Re-initialises every Linear, Conv2d, ConvTranspose2d, BatchNorm and LayerNorm inside `module`
// (in module order) from `gen` (a CPU generator): the same seed gives the same weights on every
// device.
void initialize(::torch::nn::Module& module, Init init, ::torch::Generator& gen);

Init parse_init(const std::string& name);  // "default" | "normal" | "glorot"
Norm parse_norm(const std::string& name);  // "none" | "batch" | "layer"
std::string to_string(Init init);
std::string to_string(Norm norm);

}  // namespace odyn::gan
