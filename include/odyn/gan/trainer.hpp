// Training a GAN from a TrainConfig: the alternating critic / generator loop (O-GAN: one joint
// encoder-generator step), MEG's entropy term, generator EMA, checkpoints that resume
// bit-identically on the CPU, a metrics log and sample images. An ebm run trains the critic alone
// as an energy U = -D on Langevin negatives from a replay buffer and samples by the same chains.
//
// Run directory layout:
//   RUN/config.toml                 the configuration (to_toml), so that a run describes itself
//   RUN/metrics.jsonl               one JSON object per logged step
//   RUN/samples/step-<N>.png        sample images
//   RUN/checkpoints/step-<N>/       generator.pt, critic.pt, ema.pt, generator_optimizer.pt,
//                                   critic_optimizer.pt, rng.pt (random states), state.json, and with
//                                   loss.entropy > 0 statistics.pt, statistics_optimizer.pt (ebm: no
//                                   generator files; the replay buffer is in rng.pt)
//   RUN/checkpoints/latest          the name of the newest complete checkpoint directory
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "odyn/core/error.hpp"
#include "odyn/gan/config.hpp"
#include "odyn/gan/data.hpp"
#include "odyn/gan/losses.hpp"
#include "odyn/gan/meg.hpp"
#include "odyn/gan/models.hpp"
#include "odyn/gan/sampling.hpp"
#include "odyn/torch/gradients.hpp"
#include "odyn/torch/optim.hpp"

namespace odyn::gan {

// A loss became NaN or infinite; nothing of the bad state was saved.
class TrainingDiverged : public Error {
 public:
  using Error::Error;
};

// Progress lines ("step 1200/20000 (6.0%) 83.1 it/s ETA 3m46s d_loss ... g_loss ...").
using ProgressFn = std::function<void(const std::string&)>;

// The losses of one generator iteration: the last critic step's and the generator step's.
struct TrainStep {
  int64_t iteration = 0;  // generator steps done after this one
  double d_loss = 0, g_loss = 0;
  std::map<std::string, Tensor> d_parts, g_parts;  // detached, on the training device
};

// The random streams of a run, each a CPU generator seeded from train.seed: initialisation, the
// data set and sampler, the latent codes and the penalty points.
enum class Stream : uint64_t { init = 1, data = 2, sampler = 3, latent = 4, penalty = 5, eval = 6, eval_data = 7 };
// The seed of stream `s` of a run with seed `seed` (distinct streams give unrelated numbers).
uint64_t stream_seed(uint64_t seed, Stream s);

// The device of train.device; throws odyn::InvalidArgument for cuda when CUDA is not available.
::torch::Device training_device(const std::string& device);

// A sample image: toy data → a scatter of `samples` (coloured) over `real` (grey) with the modes
// marked; mnist → an 8×8 grid of the first 64 images, each pixel drawn 2×2.
void write_sample_image(const std::string& path, const TrainConfig& config, const Tensor& samples, const Tensor& real);
// MNIST-size images (N, 1, 28, 28) in [-1, 1] as a PNG grid of `columns` columns, each pixel drawn 2×2.
void write_image_grid(const std::string& path, const Tensor& images, int64_t columns);

class Trainer {
 public:
  // Builds the data, models, loss and optimizers of `config` (validated again) for the run
  // directory `run_dir` (created when missing). Nothing is written until run() or
  // save_checkpoint(). MNIST is read from data.dir; odyn::IoError when it is missing.
  Trainer(TrainConfig config, std::string run_dir);
  ~Trainer();
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  // Trains up to train.iterations generator steps, with progress lines to `progress` (none when
  // empty), checkpoints, metrics and sample images. With `resume` it first continues from
  // RUN/checkpoints/latest (starting afresh when there is none); without it a run directory
  // that already holds a checkpoint is refused (odyn::InvalidArgument). A NaN or infinite loss
  // throws TrainingDiverged naming the last good checkpoint.
  void run(bool resume, const ProgressFn& progress = {});

  // One generator iteration: critic_steps critic steps, one generator step (with the entropy term
  // when loss.entropy > 0, stepping the statistics network too), the EMA update. For ogan: one
  // joint step of encoder and generator on ogan_loss (d_loss = g_loss = the joint loss). For ebm: one
  // step of the energy on Langevin negatives (g_loss = 0).
  // Throws TrainingDiverged when a loss is not finite, before the step on that loss; earlier critic
  // steps of the iteration may have been applied, so the trainer must not be stepped again after it.
  // With with_parts false the loss parts of the result are empty (run() asks for them on the
  // iterations it logs only).
  TrainStep step(bool with_parts = true);
  // Generator steps done.
  int64_t iteration() const { return iteration_; }

  // Writes RUN/checkpoints/step-<iteration>/ and points `latest` at it; returns its path.
  std::string save_checkpoint();
  // Loads RUN/checkpoints/latest; false when there is none.
  bool load_latest_checkpoint();

  // The generator being trained, and the generator to evaluate: a copy holding the EMA weights
  // (with the trained generator's buffers) when train.ema > 0, else the generator itself. An ebm run
  // has no generator: evaluation_generator() throws odyn::InvalidArgument.
  bool has_generator() const { return config_.loss.kind != LossKind::ebm; }
  ::torch::nn::Sequential& generator() { return generator_; }
  // The critic; for ogan the encoder, (B, latent_dim) codes whose mean is the score.
  ::torch::nn::Sequential& critic() { return critic_; }
  // The critic's score per sample, (B): critic_scores, or the mean code for ogan.
  Tensor scores(const Tensor& x);
  ::torch::nn::Sequential evaluation_generator();
  bool uses_ema() const { return ema_ != nullptr; }
  // n samples of the evaluation generator (eval mode, no grad) on the CPU, latent codes from `gen`;
  // for ebm, n chains of loss.langevin_steps from the replay buffer (starts and noise from `gen`).
  Tensor sample(int64_t n, ::torch::Generator& gen);

  const TrainConfig& config() const { return config_; }
  const std::string& run_dir() const { return run_dir_; }
  // The real training data (toy: the fixed set; mnist: the training images), on the CPU.
  const Tensor& training_data() const { return data_; }

 private:
  TrainStep ogan_step(bool with_parts);
  TrainStep ebm_step(bool with_parts);
  // ebm: Langevin chains on U = -D from replay-buffer starts (uniform noise over the data's box).
  Tensor energy_chains(int64_t n, ::torch::Generator& gen, bool store);
  // The loss's value as a double; throws TrainingDiverged when it is NaN or infinite.
  double checked(const Tensor& loss, const char* name) const;
  // n latent codes from the latent stream, on the training device.
  Tensor latent(int64_t n);
  // The path of the newest complete checkpoint, or "none".
  std::string last_checkpoint() const;

  TrainConfig config_;
  std::string run_dir_;
  ::torch::Device device_;
  Tensor data_;
  std::optional<ToyDistribution> toy_;
  std::unique_ptr<BatchSampler> sampler_;
  ::torch::nn::Sequential generator_, critic_, ema_generator_;
  StatisticsNetwork statistics_{nullptr};  // loss.entropy > 0
  std::unique_ptr<ReplayBuffer> replay_;   // ebm
  Tensor box_low_, box_high_;              // ebm: the per-coordinate range of the training data
  std::unique_ptr<odyn::torch::WeightEma> ema_;
  std::unique_ptr<odyn::torch::TensorOptimizer> generator_optimizer_, critic_optimizer_, statistics_optimizer_;
  GanLoss loss_;
  ::torch::Generator latent_gen_, penalty_gen_;
  int64_t iteration_ = 0;
  double elapsed_s_ = 0;  // training time before this process (from the checkpoint)
};

}  // namespace odyn::gan
