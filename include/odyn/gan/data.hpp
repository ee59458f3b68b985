// Data for the GAN layer: the 2-D toy mixtures of the PacGAN / VEEGAN / WGAN-GP protocols, MNIST as
// tensors, and a seeded mini-batch sampler that can be checkpointed.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>

#include "odyn/io/mnist.hpp"

namespace odyn::gan {

using Tensor = ::torch::Tensor;

// A CPU random generator seeded with `seed`: every random stream of the layer (data, sampler,
// initialisation, latent codes, penalty points, evaluation) is one of these.
::torch::Generator cpu_generator(uint64_t seed);

enum class ToyKind { ring, grid, swiss_roll };

// "ring" | "grid" | "swiss_roll"; anything else throws odyn::InvalidArgument.
ToyKind parse_toy_kind(const std::string& name);
std::string to_string(ToyKind kind);

// PacGAN protocol (Lin et al. 2018, anchors.md 4.7): ring = 8 Gaussians on the unit circle at
// angles 2 pi k / 8, sigma = 0.01; grid = 25 Gaussians at {-4,-2,0,2,4}^2, sigma = 0.05. Swiss roll:
// the (x, z) coordinates of sklearn's make_swiss_roll with noise 0.25, scaled by 1/7.5 (WGAN-GP's
// toy code); it has no modes (modes() is (0, 2), sigma() is 0).
struct ToyDistribution {
  ToyKind kind = ToyKind::ring;

  Tensor modes() const;  // (K, 2) float64, K = 8 or 25
  double sigma() const;
  // n points, (n, 2) float32 on the CPU, each mode drawn with probability 1/K.
  Tensor sample(int64_t n, ::torch::Generator& gen) const;
};

ToyDistribution toy_distribution(ToyKind kind);

// MNIST as tensors: images (N, 1, 28, 28) float32 in [-1, 1] (x / 255 * 2 - 1), labels (N) int64.
struct ImageSet {
  Tensor images;
  Tensor labels;
};

// Reads a split with odyn::io::read_mnist (odyn::IoError when files are missing or malformed);
// limit > 0 keeps the first `limit` images, 0 keeps all.
ImageSet load_mnist(const std::string& dir, io::MnistSplit split, int64_t limit = 0);

// Draws mini-batches of rows of `data` (dim 0) in shuffled epochs: each epoch takes a new randperm
// of N from the sampler's own CPU generator and yields floor(N / batch) batches; the incomplete
// rest is dropped. state() packs (N, batch, epoch, position, permutation, generator state) into an
// int64 tensor; set_state() restores it so that the following batches are bit-identical.
class BatchSampler {
 public:
  BatchSampler(Tensor data, int64_t batch_size, uint64_t seed);

  Tensor next();  // (batch, ...) rows of data, on data's device
  Tensor state() const;
  void set_state(const Tensor& state);
  int64_t epoch() const;  // completed epochs (0 while the first permutation is in use)
  int64_t batch_size() const { return batch_; }

 private:
  Tensor data_;
  int64_t batch_;
  ::torch::Generator gen_;
  Tensor perm_;           // CPU int64, undefined before the first batch
  int64_t position_ = 0;  // next row of perm_ to use
  int64_t epoch_ = 0;
};

}  // namespace odyn::gan
