// Working on a network's parameters around the optimizer step: gradient transforms applied between
// backward() and step(), an exponential moving average of the weights, and layer-wise learning
// rates by reparameterisation (Su, "Layer-wise learning rate by reparameterisation; free gradient
// manipulation", kexue.fm/archives/6418).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <regex>
#include <string>
#include <vector>

namespace odyn::torch {

// Parameters by name, as torch::nn::Module::named_parameters() returns them.
using NamedParameters = ::torch::OrderedDict<std::string, ::torch::Tensor>;

// A sequence of gradient transforms, run in the order they were added on the .grad() of named
// parameters (parameters whose gradient is undefined are skipped). Name patterns are std::regex
// (ECMAScript) matched against the whole parameter name. Transforms change the gradients in
// place, without autograd history; none synchronises with the host.
class GradientPipeline {
 public:
  // A user transform: receives the parameter name and its gradient; it may change the gradient
  // in place or assign a new tensor of the same shape, dtype and device (copied back into .grad()).
  using Transform = std::function<void(const std::string& name, ::torch::Tensor& grad)>;

  // Global-norm clipping (Keras clipnorm, kexue.fm/archives/6418): g <- g c / max(N, c) for every
  // gradient, N = sqrt(sum of ||g||^2) over all gradients at this point of the pipeline. The
  // factor min(1, c/N) is a tensor computed on the gradients' device. Throws odyn::InvalidArgument
  // unless 0 < c < inf; the call throws when the gradients lie on different devices.
  GradientPipeline& clip_global_norm(double max_norm);
  // Per-parameter norm clipping: g <- g c / max(||g||, c) for each matching gradient separately.
  GradientPipeline& clip_norm(double max_norm, const std::string& name_pattern = ".*");
  // Value clipping (Keras clipvalue): each entry of a matching gradient clamped to [-c, c].
  GradientPipeline& clip_value(double max_value, const std::string& name_pattern = ".*");
  // Sets the matching gradients to zero (so that plain SGD, momentum and Adam without weight
  // decay leave those parameters unchanged).
  GradientPipeline& zero(const std::string& name_pattern = ".*");
  // Runs `transform` on each matching gradient (per-layer functions, user lambdas).
  GradientPipeline& apply(const std::string& name_pattern, Transform transform);

  // Number of transforms.
  std::size_t size() const { return stages_.size(); }

  // Runs the transforms on the gradients of `params` and returns the global norm of the
  // gradients as they came in (sqrt of the sum of squared entries, a float64 0-dim tensor on the
  // gradients' device; zero when no gradient is defined). Call .item() only when the value is
  // needed on the host. Throws odyn::InvalidArgument when a user transform returns a tensor of
  // another shape, dtype or device, or the gradients lie on several devices.
  ::torch::Tensor operator()(const NamedParameters& params) const;

 private:
  enum class Kind { global_norm, norm, value, zero, user };
  struct Stage {
    Kind kind;
    double bound;
    std::string pattern_text;
    std::regex pattern;
    Transform transform;
  };
  GradientPipeline& add(Kind kind, double bound, const std::string& name_pattern, Transform transform,
                        const char* where);
  std::vector<Stage> stages_;
};

// Exponential moving average of parameters, θ̄ <- d θ̄ + (1 - d) θ (Su,
// kexue.fm/archives/6583; Polyak averaging with exponential weights). The average starts at a copy
// of the parameters. With warm-up, the decay of the t-th update (t = 0, 1, ...) is
// d_t = min(d, (1 + t) / (10 + t)), the rule of TensorFlow's tf.train.ExponentialMovingAverage
// with num_updates, so that early averages are not dominated by the initial weights.
class WeightEma {
 public:
  // Tracks `params` (tensors sharing storage with the parameters, so later in-place optimizer
  // updates are seen). Throws odyn::InvalidArgument unless 0 <= decay <= 1, for no parameters,
  // or a parameter that is undefined or not floating point.
  WeightEma(const NamedParameters& params, double decay, bool warmup = false);
  // Tracks module.named_parameters() (parameters only, not buffers such as running statistics).
  WeightEma(const ::torch::nn::Module& module, double decay, bool warmup = false);

  // One averaging step with the current parameter values.
  void update();
  // The decay the next update() uses.
  double next_decay() const;
  // Number of update() calls so far.
  std::int64_t num_updates() const { return updates_; }
  // The averages, by the tracked parameter names.
  const NamedParameters& averages() const { return averages_; }

  // Copies the averages into the parameters of the same names in `params` (all tracked names must
  // be present with the same shape; dtype and device are converted). Throws odyn::InvalidArgument
  // for a missing name or another shape.
  void copy_to(const NamedParameters& params) const;
  // Exchanges the values of the averages and the tracked parameters: call once to evaluate with
  // the averaged weights and once more to return to the training weights.
  void swap();

 private:
  NamedParameters params_;
  NamedParameters averages_;
  double decay_;
  bool warmup_;
  std::int64_t updates_ = 0;
};

// Which reparameterisation scale s gives a learning-rate ratio lambda (kexue.fm/archives/6418):
// θ = s φ multiplies the step of SGD and momentum by s^2 (s = sqrt(lambda)) and the step of
// Adam, RMSprop and AdaGrad by s (s = lambda, exact when their epsilon is divided by s).
enum class LrScaling { sgd, adaptive };

// A torch::nn::Linear whose weight and bias are reparameterised as θ = s φ: the trainable
// parameters are φ ("weight_phi", "bias_phi"), initialised to θ0 / s, and each forward uses
// s φ, so that an optimizer with learning rate α on φ moves θ like the layer-wise rate λ α.
class ScaledLinearImpl : public ::torch::nn::Module {
 public:
  // Copies the layer's current weight and bias (θ0). Throws odyn::InvalidArgument unless
  // 0 < lr_ratio < inf and the layer is defined.
  ScaledLinearImpl(const ::torch::nn::Linear& layer, double lr_ratio, LrScaling scaling);

  // x θ_w^T + θ_b with θ = s φ (the wrapped layer's output at initialisation).
  ::torch::Tensor forward(const ::torch::Tensor& input);
  // θ_w = s φ_w and θ_b = s φ_b (with autograd history to φ; θ_b undefined without bias).
  ::torch::Tensor weight() const;
  ::torch::Tensor bias() const;
  // The scale s.
  double scale() const { return scale_; }

 private:
  double scale_;
  ::torch::Tensor weight_phi_;
  ::torch::Tensor bias_phi_;
};
// Shared-pointer holder of a ScaledLinearImpl, as torch::nn::Linear holds a LinearImpl.
class ScaledLinear : public ::torch::nn::ModuleHolder<ScaledLinearImpl> {
 public:
  using ::torch::nn::ModuleHolder<ScaledLinearImpl>::ModuleHolder;
  using Impl = ScaledLinearImpl;
};

}  // namespace odyn::torch
