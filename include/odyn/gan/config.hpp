// The settings of one GAN training run, read from a TOML file (see experiments/gan/*.toml).
//
//   [data]     name (grid | ring | swiss_roll | mnist), samples, dir
//   [model]    kind (mlp | dcgan), latent_dim, hidden, critic_hidden, depth, init, generator_norm, critic_norm
//   [loss]     name (sgan | wgan_gp | wgan_div | gan_qp | hinge | energy | ogan | meg | wgan_div_su |
//              wgan_div_official), lambda, k, p, sampling, distance, r1_gamma, entropy, correlation, code
//   [train]    iterations, batch, critic_steps, ema, seed, device, threads, checkpoint_every,
//              log_every, sample_every, eval_every, lr_decay
//   [optimizer.generator], [optimizer.critic]   name, lr, beta1, beta2, eps, weight_decay, momentum
//   [eval]     samples, classifier
//
// Unknown tables or keys, values of the wrong type and out-of-range values are errors.
#pragma once

#include <cstdint>
#include <string>

#include "odyn/gan/losses.hpp"
#include "odyn/gan/models.hpp"

namespace odyn::gan {

struct DataConfig {
  std::string name = "grid";  // grid | ring | swiss_roll | mnist
  int64_t samples = 100000;   // toy: size of the fixed training set drawn once from the seed
  std::string dir;            // mnist: idx directory ("" → io::default_mnist_dir())
  bool is_mnist() const { return name == "mnist"; }
};

struct OptimizerConfig {
  std::string name = "adam";  // a name of odyn::torch::make_tensor_optimizer
  double lr = 1e-4;
  double beta1 = 0.5, beta2 = 0.9;
  double eps = -1;           // -1: the optimizer's default
  double weight_decay = -1;  // -1: the optimizer's default
  double momentum = -1;      // sgd forms; -1: the optimizer's default
};

struct TrainSettings {
  int64_t iterations = 20000;  // generator steps
  int64_t batch = 256;
  int64_t critic_steps = 1;  // critic steps per generator step
  double ema = 0.0;          // generator EMA decay (0: off)
  uint64_t seed = 0;
  std::string device = "cpu";  // cpu | cuda
  int threads = 1;
  int64_t checkpoint_every = 1000;
  int64_t log_every = 100;
  int64_t sample_every = 0;       // 0: a sample image only at the end
  int64_t eval_every = 0;         // toy data: toy metrics and W2 every N steps (0: none)
  std::string lr_decay = "none";  // none | linear (to 0 over the run)
};

// The largest eval.samples for toy data: the exact W2 by the network simplex grows faster than n^2.
constexpr int64_t kMaxToySamples = 10000;

struct EvalConfig {
  int64_t samples = 2000;  // 10000 for mnist unless set
  std::string classifier;  // mnist: the LeNet file of `odyn classifier train`
};

struct TrainConfig {
  DataConfig data;
  ModelSpec model;
  std::string loss_name = "wgan_div";  // as written (may be a preset name)
  LossOptions loss;
  TrainSettings train;
  OptimizerConfig generator_optimizer, critic_optimizer;
  EvalConfig eval;
};

// Parses a configuration; `source_name` names it in messages. Throws odyn::InvalidArgument
// "gan config <source>: <key>: <what>" for a syntax error, an unknown table or key, a value of the
// wrong type or out of range.
TrainConfig parse_config(const std::string& toml_text, const std::string& source_name);
// parse_config of a file; odyn::IoError when it cannot be read.
TrainConfig load_config(const std::string& path);
// The configuration as TOML with every value written out; parse_config(to_toml(c)) == c.
std::string to_toml(const TrainConfig& config);
// Validates every value (ranges, names); parse_config calls it, the trainer calls it again after
// command-line overrides. Throws odyn::InvalidArgument naming `source_name` and the key.
void validate_config(const TrainConfig& config, const std::string& source_name);

}  // namespace odyn::gan
