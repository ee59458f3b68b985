// torch.optim's SGD, Adagrad, RMSprop, Adam and AdamW stepping the parameters of a LibTorch model.
//
// The updates are those of the Eigen steppers in odyn/dynamics/optimizers.hpp (whose option
// structs they take), written as the in-place tensor operations of torch::optim 1.13 in the same
// order, so a run reproduces torch::optim's parameters to the last bit on the same device. With
// set_foreach(true) the same operations run as LibTorch's multi-tensor _foreach_ kernels over the
// parameters of a group that share dtype, device and step count (torch.optim's foreach=True).
#pragma once

#include <torch/torch.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "odyn/dynamics/optimizers.hpp"

namespace odyn::torch {

// Parameters updated with one learning rate and weight decay. The step uses lr * lr_multiplier
// (layer-wise learning rates); weight_decay, when set, replaces the optimizer's option for the group.
struct ParamGroup {
  std::vector<::torch::Tensor> params;
  double lr = 1e-3;
  std::optional<double> weight_decay;
  double lr_multiplier = 1;
  std::string name;
};

// Base of the tensor optimizers: parameter groups, per-parameter state (a step count and named
// buffers) and its serialization. Parameters whose .grad() is undefined are skipped, as in torch.optim.
class TensorOptimizer {
 public:
  virtual ~TensorOptimizer() = default;
  TensorOptimizer(const TensorOptimizer&) = delete;
  TensorOptimizer& operator=(const TensorOptimizer&) = delete;

  // "sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam" or "adamw".
  virtual std::string name() const = 0;
  // One update of every parameter from its .grad(), under torch::NoGradGuard with in-place tensor
  // operations and without synchronizing with the host. Throws odyn::InvalidArgument when a
  // gradient is sparse or differs from its parameter in shape, dtype or device.
  void step();
  // Sets every gradient to zero (detached), or to an undefined tensor with set_to_none.
  void zero_grad(bool set_to_none = false);

  // The groups as constructed (or loaded), with the current base learning rates.
  const std::vector<ParamGroup>& param_groups() const { return groups_; }
  // Sets the base learning rate of group `group` (>= 0; the step uses lr * lr_multiplier).
  void set_lr(std::size_t group, double lr);
  // The number of calls to step().
  int64_t steps() const { return steps_; }
  // A learning-rate schedule: step() number k (from 0, counted by steps()) uses
  // lr * lr_multiplier * factor(k) in every group; an empty function removes it. step() throws
  // odyn::InvalidArgument when the factor is negative or not finite. Not part of the saved state.
  void set_lr_schedule(std::function<double(int64_t)> factor) { schedule_ = std::move(factor); }
  // Selects the multi-tensor path (torch.optim's foreach=True): step() updates the parameters of a
  // group that share dtype, device and step count with one _foreach_ call per operation. The
  // elementwise operations and their order are those of the per-parameter path, so the results
  // and the saved state are the same bit for bit. Off by default; not part of the saved state.
  void set_foreach(bool on) { foreach_ = on; }
  bool uses_foreach() const { return foreach_; }
  // Selects contiguous storage: the parameters of each group, their gradients and the optimizer's
  // buffers become views into one flat tensor each, and step() updates a whole group with the
  // kernels of a single parameter (a handful per step instead of a handful per parameter tensor;
  // on small models the per-kernel overhead is most of the optimizer's time). The elementwise
  // operations are those of the per-parameter path. In this mode a group holds one dtype and one
  // device, and its parameters share one step count; a parameter without a gradient counts as one
  // with a zero gradient; zero_grad() zeroes the flat gradient in place whatever set_to_none says.
  // Storage replaced from outside (parameters loaded into a module, a gradient autograd put in a
  // new tensor, a loaded optimizer state) is copied into the flat tensors at the next step; a
  // parameter moved to another device or reshaped afterwards makes step() throw. Throws
  // odyn::InvalidArgument for a group that mixes dtypes or devices; takes precedence over foreach.
  // Off by default; not part of the saved state.
  void set_contiguous(bool on);
  bool uses_contiguous() const { return !flat_.empty(); }

  // Writes the state (step counts, buffers, each group's lr, lr_multiplier and weight_decay) with
  // torch's serialization to a temporary file renamed to `path`. Throws odyn::IoError on failure.
  void save(const std::string& path) const;
  // Reads a state written by save() of an optimizer of the same name with the same group and
  // parameter layout. Throws odyn::IoError for an unreadable file and odyn::InvalidArgument for a
  // state of another optimizer or layout; the optimizer is unchanged when it throws.
  void load(const std::string& path);

 protected:
  struct ParamState {
    int64_t step = 0;
    std::map<std::string, ::torch::Tensor> buffers;
  };
  // Validates the groups (finite lr, lr_multiplier, weight_decay >= 0; defined floating-point leaf
  // tensors, none in two groups, at least one in all); `where` names the caller in messages.
  TensorOptimizer(std::vector<ParamGroup> groups, double default_weight_decay, const std::string& where);

  // Parameters of one group with the same dtype, device and step count, their gradients and states.
  struct Bucket {
    std::vector<::torch::Tensor> params, grads;
    std::vector<ParamState*> states;
    // The buffers called `key` (created as zeros, or as full_like(p, fill), where undefined).
    std::vector<::torch::Tensor> buffers(const std::string& key, double fill = 0);
  };

 private:
  // Updates `p` in place from `grad` with learning rate lr and weight decay wd.
  virtual void update(::torch::Tensor& p, const ::torch::Tensor& grad, ParamState& s, double lr, double wd) = 0;
  // update() of every parameter of `b` with _foreach_ kernels.
  virtual void update_foreach(Bucket& b, double lr, double wd) = 0;
  // The per-parameter or multi-tensor update of the parameters of group g that have a gradient.
  void step_group(std::size_t g, double lr, double wd);
  // Names of the buffers update() may create.
  virtual std::vector<std::string> buffer_names() const = 0;

  std::vector<ParamGroup> groups_;
  std::vector<std::vector<ParamState>> state_;
  double default_weight_decay_;
  int64_t steps_ = 0;
  std::function<double(int64_t)> schedule_;
  bool foreach_ = false;

  // One group's flat storage in contiguous mode; the views are those handed to the parameters,
  // their gradients and their per-parameter buffers.
  struct Flat {
    ::torch::Tensor param, grad;
    ParamState state;
    std::vector<::torch::Tensor> param_views, grad_views;
    std::map<std::string, std::vector<::torch::Tensor>> buffer_views;
  };
  // Points the parameters, gradients and buffers of group g at the views of its flat tensors,
  // copying in any that were replaced, and gives every parameter the flat step count.
  void bind(std::size_t g);
  std::vector<Flat> flat_;  // one per group in contiguous mode, else empty
};

// torch.optim.lr_scheduler.StepLR as a factor for set_lr_schedule: gamma^floor(k / step_size) at
// step k. Throws odyn::InvalidArgument for step_size < 1 or gamma negative or not finite.
std::function<double(int64_t)> step_lr_schedule(int64_t step_size, double gamma);

// torch.optim.SGD (dynamics::Sgd): g = grad + wd p; momentum buffer b = g on the first step,
// b = mu b + (1 - dampening) g after; p -= lr (g + mu b) with nesterov, lr b without, lr g with mu = 0.
class TensorSgd final : public TensorOptimizer {
 public:
  TensorSgd(std::vector<ParamGroup> groups, const dynamics::Sgd::Options& options = {});
  std::string name() const override;

 private:
  void update(::torch::Tensor& p, const ::torch::Tensor& grad, ParamState& s, double lr, double wd) override;
  void update_foreach(Bucket& b, double lr, double wd) override;
  std::vector<std::string> buffer_names() const override { return {"momentum_buffer"}; }
  dynamics::Sgd::Options o_;
};

// torch.optim.Adagrad (dynamics::Adagrad): s += g^2 from s_0 = initial_accumulator_value,
// p -= lr / (1 + (k - 1) lr_decay) * g / (sqrt(s) + eps) at step k.
class TensorAdagrad final : public TensorOptimizer {
 public:
  TensorAdagrad(std::vector<ParamGroup> groups, const dynamics::Adagrad::Options& options = {});
  std::string name() const override { return "adagrad"; }

 private:
  void update(::torch::Tensor& p, const ::torch::Tensor& grad, ParamState& s, double lr, double wd) override;
  void update_foreach(Bucket& b, double lr, double wd) override;
  std::vector<std::string> buffer_names() const override { return {"sum"}; }
  dynamics::Adagrad::Options o_;
};

// torch.optim.RMSprop (dynamics::Rmsprop): v = alpha v + (1 - alpha) g^2; centered: m = alpha m +
// (1 - alpha) g and v - m^2 replaces v; d = sqrt(v) + eps (eps_inside: sqrt(v + eps)); with
// momentum b = mu b + g / d and p -= lr b, else p -= lr g / d.
class TensorRmsprop final : public TensorOptimizer {
 public:
  TensorRmsprop(std::vector<ParamGroup> groups, const dynamics::Rmsprop::Options& options = {});
  std::string name() const override { return "rmsprop"; }

 private:
  void update(::torch::Tensor& p, const ::torch::Tensor& grad, ParamState& s, double lr, double wd) override;
  void update_foreach(Bucket& b, double lr, double wd) override;
  std::vector<std::string> buffer_names() const override { return {"square_avg", "grad_avg", "momentum_buffer"}; }
  dynamics::Rmsprop::Options o_;
};

// torch.optim.Adam, and AdamW with options.decoupled (dynamics::Adam): m = b1 m + (1 - b1) g,
// v = b2 v + (1 - b2) g^2, p -= lr / (1 - b1^k) * m / (sqrt(v) / sqrt(1 - b2^k) + eps), with the
// running maximum of v under amsgrad. Adam adds wd p to g; AdamW first multiplies p by 1 - lr wd.
class TensorAdam final : public TensorOptimizer {
 public:
  TensorAdam(std::vector<ParamGroup> groups, const dynamics::Adam::Options& options = {});
  std::string name() const override { return o_.decoupled ? "adamw" : "adam"; }

 private:
  void update(::torch::Tensor& p, const ::torch::Tensor& grad, ParamState& s, double lr, double wd) override;
  void update_foreach(Bucket& b, double lr, double wd) override;
  std::vector<std::string> buffer_names() const override { return {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"}; }
  dynamics::Adam::Options o_;
};

// The tensor optimizer called `name` (sgd, momentum, nesterov, adagrad, rmsprop, adam, adamw) with
// the hyper-parameters and defaults of dynamics::make_optimizer. Throws odyn::InvalidArgument for
// another name or an out-of-range hyper-parameter.
std::unique_ptr<TensorOptimizer> make_tensor_optimizer(const std::string& name, std::vector<ParamGroup> groups,
                                                       const dynamics::OptimizerSettings& settings = {});
std::vector<std::string> tensor_optimizer_names();

}  // namespace odyn::torch
