// Variational models of the GAN layer: the VAE of Kingma & Welling (ICLR 2014, seed-math §6.7) on
// binarised MNIST and the Deep Variational Information Bottleneck classifier of Alemi et al. (ICLR
// 2017, seed-math §6.6), with the Gaussian pieces they share (seed-math §3): the KL divergence to
// the N(0, I) prior, the reparameterisation z = μ + σ ⊙ u and latent interpolation.
//
// Notation (Kingma–Welling): encoder q(z|x) = N(μ(x), diag e^{logvar(x)}), prior p(z) = N(0, I),
// decoder p(x|z) (Bernoulli logits for the VAE) or q(y|z) = softmax(Wz + b) (VIB). All log
// probabilities, KLs and losses are in nats. Pixels enter both models in [0, 1]: p = (x + 1) / 2
// of load_mnist's [-1, 1] images, flattened to 784 values.
//
// Training runs write a checkpoint after each epoch (model, Adam state, sampler and noise
// generator, history) atomically into one file, so a resumed run continues bit-identically on the
// CPU at a fixed thread count.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "odyn/gan/data.hpp"

namespace odyn::gan {

// ---------------------------------------------------------------------------------------------
// Gaussian pieces (seed-math §3, tests C1–C7)

// KL( N(mean, diag e^{log_var}) ‖ N(0, I) ) = ½ Σ_k (μ_k² + e^{logvar_k} − 1 − logvar_k), summed
// over the last dimension (Kingma & Welling, appendix B): mean and log_var (..., K) give (...),
// e.g. (B, K) -> (B). Batch reductions are the caller's. Throws odyn::InvalidArgument for
// mismatched shapes, 0-d or integer tensors and non-finite values.
Tensor gaussian_kl(const Tensor& mean, const Tensor& log_var);

// z = mean + exp(log_var / 2) ⊙ u with u ~ N(0, I) drawn on the CPU from `gen` (a CPU generator)
// in mean's dtype and moved to mean's device, so a seed gives the same z on every device.
// Differentiable in mean and log_var. Same checks as gaussian_kl.
Tensor reparameterize(const Tensor& mean, const Tensor& log_var, ::torch::Generator& gen);

// n points on the path from z1 to z2 (both (D)), α_i = i / (n − 1), i = 0..n−1, as rows of an
// (n, D) tensor: linear (1 − α) z1 + α z2, or with variance_preserving z1 cos θ + z2 sin θ,
// θ = α π / 2. For independent z1, z2 ~ N(0, I) the linear path has variance (1 − α)² + α² (½ at
// the midpoint: it leaves the prior); the other keeps variance 1 (Su, seed-math §3). Both start at
// z1 and end at z2. Throws odyn::InvalidArgument for n < 2, shapes that are not equal 1-D, or
// non-finite values.
Tensor interpolate_latents(const Tensor& z1, const Tensor& z2, int64_t n, bool variance_preserving);

// ---------------------------------------------------------------------------------------------
// Data

// MNIST images (N, 1, 28, 28) or any (N, ...) in [-1, 1] -> pixel intensities (N, D) in [0, 1],
// p = (x + 1) / 2, clamped to [0, 1]. Throws odyn::InvalidArgument for an empty or non-finite set.
Tensor pixel_probabilities(const Tensor& images);

// Bernoulli draws x_ij ~ B(p_ij) of probabilities p (N, D) in [0, 1]: 1 where a U(0, 1) number from
// `gen` (drawn on the CPU, then moved to p's device) is below p_ij; the result is float 0/1 on p's
// device. Used for the dynamic binarisation of training batches.
Tensor binarize(const Tensor& probabilities, ::torch::Generator& gen);

// The seed of the one fixed binarisation of a test set (the same digits for every run and β).
inline constexpr uint64_t kTestBinarizationSeed = 20140101;

// binarize(pixel_probabilities(images), cpu_generator(kTestBinarizationSeed)).
Tensor binarized_test_set(const Tensor& images);

// ---------------------------------------------------------------------------------------------
// VAE (Kingma & Welling 2014): encoder D–H–(μ, logvar of size K), decoder K–H–D Bernoulli logits.

enum class Activation { tanh, relu };
Activation parse_activation(const std::string& name);  // "tanh" | "relu"
std::string to_string(Activation activation);

struct VaeSpec {
  int64_t data_dim = 784;
  int64_t hidden = 500;                      // K&W: 500 for MNIST
  int64_t latent = 20;                       // K
  Activation activation = Activation::tanh;  // K&W's hidden units are tanh
};

class VaeImpl : public ::torch::nn::Module {
 public:
  // Linear(D→H) → act → {Linear(H→K) = μ, Linear(H→K) = logvar};  Linear(K→H) → act → Linear(H→D).
  // The default sizes have 815,824 parameters. Throws odyn::InvalidArgument for sizes < 1.
  explicit VaeImpl(const VaeSpec& spec = {});

  // x (B, D) -> (μ, logvar), each (B, K). No input checks (the free functions below check).
  std::pair<Tensor, Tensor> encode(const Tensor& x);
  // z (..., K) -> Bernoulli logits (..., D).
  Tensor decode(const Tensor& z);
  const VaeSpec& spec() const { return spec_; }

 private:
  VaeSpec spec_;
  ::torch::nn::Linear hidden_{nullptr}, mean_{nullptr}, log_var_{nullptr}, decoder_hidden_{nullptr},
      decoder_out_{nullptr};
};
// The module holder (TORCH_MODULE spelled out: inside odyn, `torch::` could name odyn::torch).
class Vae : public ::torch::nn::ModuleHolder<VaeImpl> {
 public:
  using ::torch::nn::ModuleHolder<VaeImpl>::ModuleHolder;
  using Impl = VaeImpl;
};

// The two terms of the one-sample SGVB estimate (K&W estimator B) per image, (B) each:
// distortion −ln p(x|z), z = reparameterize(μ(x), logvar(x)) (binary cross-entropy with logits summed
// over the D pixels) and rate KL(q(z|x) ‖ N(0, I)). x (B, D) with values in [0, 1]. Carries the graph.
struct ElboTerms {
  Tensor distortion;
  Tensor rate;
};
ElboTerms elbo_terms(Vae& model, const Tensor& x, ::torch::Generator& gen);

// distortion + β · rate per image (B), in nats; β = 1 gives −ELBO ≥ −ln p(x). Throws
// odyn::InvalidArgument for β < 0 or non-finite, and for x that is not (B, D) in [0, 1].
Tensor negative_elbo(Vae& model, const Tensor& x, ::torch::Generator& gen, double beta = 1.0);

// Burda et al. (2016): ln (1/k) Σ_{i=1..k} p(x|z_i) p(z_i) / q(z_i|x), z_i ~ q(z|x), per image (B), in
// nats (a lower bound on ln p(x) that rises with k; k = 1 is the one-sample ELBO estimate). The k
// samples of up to `max_rows` / k images go through the decoder in one pass; logsumexp in float64.
// No gradient. Throws odyn::InvalidArgument for k < 1, max_rows < 1 and bad x.
Tensor importance_weighted_log_likelihood(Vae& model, const Tensor& x, int64_t k, ::torch::Generator& gen,
                                          int64_t max_rows = 20000);

// Means over a (binarised) test set x (N, D), all in nats per image: distortion and rate (one
// sample per image), negative_elbo = distortion + rate (β = 1), and the k-sample IW estimate of
// ln p(x) (skipped, NaN, when iw_samples = 0). Random numbers from cpu_generator(seed).
struct VaeEvaluation {
  double negative_elbo = 0, distortion = 0, rate = 0, iw_log_likelihood = 0;
  int64_t iw_samples = 0, images = 0;
};
VaeEvaluation evaluate_vae(Vae& model, const Tensor& x, int64_t iw_samples = 100, uint64_t seed = 0);

// ---------------------------------------------------------------------------------------------
// VIB classifier (Alemi et al. 2017): encoder D–1024–1024 (ReLU) → μ, logvar heads of size K = 256;
// decoder q(y|z) = softmax(Wz + b).

struct VibSpec {
  int64_t data_dim = 784;
  int64_t hidden = 1024;  // both hidden layers
  int64_t latent = 256;   // K
  int64_t classes = 10;
};

class VibImpl : public ::torch::nn::Module {
 public:
  // Throws odyn::InvalidArgument for sizes < 1 (classes < 2).
  explicit VibImpl(const VibSpec& spec = {});

  std::pair<Tensor, Tensor> encode(const Tensor& x);  // x (B, D) -> (μ, logvar) (B, K)
  Tensor decode(const Tensor& z);                     // z (..., K) -> class logits (..., C)
  const VibSpec& spec() const { return spec_; }

 private:
  VibSpec spec_;
  ::torch::nn::Linear hidden1_{nullptr}, hidden2_{nullptr}, mean_{nullptr}, log_var_{nullptr}, classifier_{nullptr};
};
// The module holder (TORCH_MODULE spelled out: inside odyn, `torch::` could name odyn::torch).
class Vib : public ::torch::nn::ModuleHolder<VibImpl> {
 public:
  using ::torch::nn::ModuleHolder<VibImpl>::ModuleHolder;
  using Impl = VibImpl;
};

// Alemi's eq. 17 per image (B): −ln q(y|z) + β KL(p(z|x) ‖ N(0, I)) with one reparameterised z.
// x (B, D) in [0, 1], labels (B) int64 in [0, C). β = 0 is the noise-injection baseline: the same
// network and noise, but nothing stops the encoder from shrinking the variance towards zero, so
// it may become (nearly) a deterministic 784–1024–1024–256–10 net. Throws odyn::InvalidArgument for
// β < 0, bad shapes, labels out of range and non-finite input.
Tensor vib_loss(Vib& model, const Tensor& x, const Tensor& labels, ::torch::Generator& gen, double beta);

// Class probabilities (B, C): the average of softmax(decode(z_s)) over `samples` draws z_s ~ p(z|x)
// (Alemi: 12), or with samples = 0 the softmax at z = μ (the test-phase output of the Keras layer).
// No gradient. Throws odyn::InvalidArgument for samples < 0 and bad x.
Tensor vib_predict(Vib& model, const Tensor& x, int64_t samples, ::torch::Generator& gen);

// Test errors (fractions) with the `samples`-sample average, one sample and z = μ; the mean rate
// KL (nats per image); the log loss −ln p̄(y|x) of the averaged prediction. From cpu_generator(seed).
struct VibEvaluation {
  double error = 0, error_one_sample = 0, error_mean = 0, rate = 0, log_loss = 0;
  int64_t samples = 0, images = 0;
};
VibEvaluation evaluate_vib(Vib& model, const Tensor& x, const Tensor& labels, int64_t samples = 12, uint64_t seed = 0);

// ---------------------------------------------------------------------------------------------
// Training (both models): Adam, shuffled drop-last mini-batches, checkpoint after every epoch.

struct VariationalTraining {
  int epochs = 10;
  int64_t batch = 100;
  double lr = 1e-3;
  double lr_decay = 1.0;  // the rate is lr · lr_decay^floor(epoch / decay_every) (Alemi: 0.97 every 2)
  int decay_every = 2;
  double beta = 1.0;  // weight of the KL term (VAE: 1 = the ELBO)
  uint64_t seed = 0;  // initialisation, batch order, binarisation and reparameterisation noise
  int64_t limit = 0;  // > 0: train on the first `limit` images only
  // After each epoch the run's state is written here atomically (temporary file + rename); empty:
  // no checkpoints. With resume, an existing file is loaded and training continues from it up to
  // `epochs` (odyn::InvalidArgument when it belongs to another model or options; only epochs may
  // change; odyn::IoError when unreadable); without resume an existing file is overwritten.
  std::string checkpoint;
  bool resume = false;
};

struct EpochRecord {
  int epoch = 0;          // 1-based
  double train_loss = 0;  // mean batch loss of the epoch (VAE: distortion + β rate; VIB: CE + β KL)
  double test_value = 0;  // VAE: test −ELBO (one sample, β = 1); VIB: test error (12 samples); NaN without a test set
  double seconds = 0;     // training time so far, this epoch included (evaluations excluded)
};

struct TrainingHistory {
  std::vector<EpochRecord> epochs;
  int resumed_from = 0;  // epochs loaded from the checkpoint
  double train_seconds() const { return epochs.empty() ? 0.0 : epochs.back().seconds; }
};

// Training log lines (one per epoch: "vae epoch 3/10: train loss ..., test -ELBO ... nats, 12.3 s").
using VariationalLog = std::function<void(const std::string&)>;

struct VaeRun {
  Vae model{nullptr};
  TrainingHistory history;
};
struct VibRun {
  Vib model{nullptr};
  TrainingHistory history;
};

// Trains a VAE on train.images ((N, ...) in [-1, 1], D values per image) on their device: each batch
// is binarised afresh (dynamic binarisation) and the loss is mean negative_elbo(β). `test` (may be
// empty: images undefined) gives the per-epoch test −ELBO on binarized_test_set(test.images).
// Throws odyn::InvalidArgument for bad options or data, TrainingDiverged (odyn/gan/trainer.hpp) when
// an epoch's loss is not finite (its checkpoint is not written; the last good one stays).
VaeRun train_vae(const ImageSet& train, const ImageSet& test, const VaeSpec& spec, const VariationalTraining& options,
                 const VariationalLog& log = {});

// Trains a VIB classifier on (train.images, train.labels) with the mean vib_loss(β), one z sample per
// image; `test` (may be empty) gives the per-epoch 12-sample test error. Same errors as train_vae.
VibRun train_vib(const ImageSet& train, const ImageSet& test, const VibSpec& spec, const VariationalTraining& options,
                 const VariationalLog& log = {});

}  // namespace odyn::gan
