#include "odyn/torch/optim.hpp"

#include <c10/util/Exception.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <set>
#include <type_traits>
#include <utility>

#include "checks.hpp"
#include "odyn/core/error.hpp"

namespace odyn::torch {
namespace {

using ::torch::Tensor;

using detail::require;
using detail::shape;

bool finite_nonneg(double v) {
  return std::isfinite(v) && v >= 0;
}

// a * b rounded to double on its own: kept out of a fused multiply-add with a following sum, so the
// scalar coefficients equal those of torch::optim's (unfused) build bit for bit.
double rounded_product(double a, double b) {
  volatile double p = a * b;
  return p;
}

std::string param_name(std::size_t g, std::size_t i) {
  return "parameter " + std::to_string(i) + " of group " + std::to_string(g);
}

std::string state_key(std::size_t g, std::size_t i, const std::string& what) {
  return "state." + std::to_string(g) + "." + std::to_string(i) + "." + what;
}

Tensor read_key(::torch::serialize::InputArchive& ar, const std::string& key, const std::string& path) {
  Tensor t;
  require(ar.try_read(key, t), "TensorOptimizer::load", "'" + path + "' has no entry '" + key + "'");
  return t.to(::torch::kCPU);
}

int64_t read_count(::torch::serialize::InputArchive& ar, const std::string& key, const std::string& path) {
  const Tensor t = read_key(ar, key, path);
  require(t.scalar_type() == ::torch::kLong && t.numel() == 1, "TensorOptimizer::load",
          "'" + path + "': entry '" + key + "' is not an integer");
  const int64_t n = t.item<int64_t>();
  require(n >= 0, "TensorOptimizer::load", "'" + path + "': entry '" + key + "' is negative");
  return n;
}

}  // namespace

TensorOptimizer::TensorOptimizer(std::vector<ParamGroup> groups, double default_weight_decay, const std::string& where)
    : groups_(std::move(groups)), default_weight_decay_(default_weight_decay) {
  require(finite_nonneg(default_weight_decay), where, "weight_decay must be >= 0");
  std::set<const void*> seen;
  std::size_t count = 0;
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    const ParamGroup& group = groups_[g];
    const std::string gname = "group " + std::to_string(g);
    require(finite_nonneg(group.lr), where, gname + ": lr must be >= 0, got " + std::to_string(group.lr));
    require(finite_nonneg(group.lr_multiplier), where, gname + ": lr_multiplier must be >= 0");
    require(!group.weight_decay || finite_nonneg(*group.weight_decay), where, gname + ": weight_decay must be >= 0");
    for (std::size_t i = 0; i < group.params.size(); ++i) {
      const Tensor& p = group.params[i];
      require(p.defined(), where, param_name(g, i) + " is an undefined tensor");
      require(p.is_floating_point(), where, param_name(g, i) + " is not a floating-point tensor");
      require(p.is_leaf(), where, param_name(g, i) + " is not a leaf tensor");
      require(!p.is_sparse(), where, param_name(g, i) + " is sparse");
      require(seen.insert(p.unsafeGetTensorImpl()).second, where, param_name(g, i) + " appears twice");
    }
    count += group.params.size();
    state_.emplace_back(group.params.size());
  }
  require(count > 0, where, "no parameters to optimize");
}

void TensorOptimizer::step() {
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    for (std::size_t i = 0; i < groups_[g].params.size(); ++i) {
      const Tensor& p = groups_[g].params[i];
      const Tensor& grad = p.grad();
      if (!grad.defined()) continue;
      // The messages are built only on failure: this loop runs for every parameter at every step.
      if (grad.is_sparse())
        require(false, "TensorOptimizer::step", "the gradient of " + param_name(g, i) + " is sparse");
      if (grad.sizes() != p.sizes()) {
        require(false, "TensorOptimizer::step",
                "the gradient of " + param_name(g, i) + " has shape " + shape(grad) + ", the parameter " + shape(p));
      }
      if (grad.scalar_type() != p.scalar_type() || grad.device() != p.device()) {
        require(false, "TensorOptimizer::step",
                "the gradient of " + param_name(g, i) + " differs from the parameter in dtype or device");
      }
    }
  }
  const double factor = schedule_ ? schedule_(steps_) : 1.0;
  require(finite_nonneg(factor), "TensorOptimizer::step",
          "the schedule's factor at step " + std::to_string(steps_) + " is " + std::to_string(factor));
  ::torch::NoGradGuard no_grad;
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    const ParamGroup& group = groups_[g];
    step_group(g, group.lr * group.lr_multiplier * factor, group.weight_decay.value_or(default_weight_decay_));
  }
  ++steps_;
}

void TensorOptimizer::step_group(std::size_t g, double lr, double wd) {
  const std::vector<Tensor>& params = groups_[g].params;
  if (!flat_.empty()) {
    if (params.empty()) return;
    Flat& f = flat_[g];
    bind(g);
    update(f.param, f.grad, f.state, lr, wd);
    bind(g);  // hands out views of buffers the update created
    return;
  }
  if (!foreach_) {
    for (std::size_t i = 0; i < params.size(); ++i) {
      Tensor p = params[i];
      const Tensor grad = p.grad();
      if (grad.defined()) update(p, grad.detach(), state_[g][i], lr, wd);
    }
    return;
  }
  // Buckets in the order of their first parameter; the _foreach_ kernels need one dtype and device,
  // and the step-dependent coefficients (bias corrections, Adagrad's lr decay) one step count.
  std::vector<Bucket> buckets;
  for (std::size_t i = 0; i < params.size(); ++i) {
    const Tensor& p = params[i];
    const Tensor grad = p.grad();
    if (!grad.defined()) continue;
    ParamState* s = &state_[g][i];
    auto same = [&](const Bucket& b) {
      return b.params[0].scalar_type() == p.scalar_type() && b.params[0].device() == p.device() &&
             b.states[0]->step == s->step;
    };
    auto it = std::find_if(buckets.begin(), buckets.end(), same);
    if (it == buckets.end()) it = buckets.insert(buckets.end(), Bucket{});
    it->params.push_back(p);
    it->grads.push_back(grad.detach());
    it->states.push_back(s);
  }
  for (Bucket& b : buckets) update_foreach(b, lr, wd);
}

namespace {

// Views of `flat` shaped like each of `params`, in order.
std::vector<Tensor> views_like(const Tensor& flat, const std::vector<Tensor>& params) {
  std::vector<Tensor> views;
  int64_t offset = 0;
  for (const Tensor& p : params) {
    views.push_back(flat.narrow(0, offset, p.numel()).view(p.sizes()));
    offset += p.numel();
  }
  return views;
}

bool aliases(const Tensor& t, const Tensor& view) {
  return t.defined() && t.data_ptr() == view.data_ptr();
}

}  // namespace

void TensorOptimizer::set_contiguous(bool on) {
  if (!on) {
    flat_.clear();  // the tensors keep their (flat) storage; step() goes back to one update per parameter
    return;
  }
  if (!flat_.empty()) return;
  std::vector<Flat> flats(groups_.size());
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    const std::vector<Tensor>& params = groups_[g].params;
    if (params.empty()) continue;
    int64_t n = 0;
    for (std::size_t i = 0; i < params.size(); ++i) {
      require(
          params[i].scalar_type() == params[0].scalar_type() && params[i].device() == params[0].device(),
          "TensorOptimizer::set_contiguous",
          "group " + std::to_string(g) + " mixes dtypes or devices; contiguous storage needs one of each per group");
      require(state_[g][i].step == state_[g][0].step, "TensorOptimizer::set_contiguous",
              "the parameters of group " + std::to_string(g) + " have different step counts");
      n += params[i].numel();
    }
    Flat& f = flats[g];
    const auto options = ::torch::TensorOptions().dtype(params[0].scalar_type()).device(params[0].device());
    f.param = ::torch::empty({n}, options);
    f.grad = ::torch::zeros({n}, options);
    f.param_views = views_like(f.param, params);
    f.grad_views = views_like(f.grad, params);
    f.state.step = state_[g][0].step;
  }
  flat_ = std::move(flats);
  for (std::size_t g = 0; g < groups_.size(); ++g) bind(g);
}

void TensorOptimizer::bind(std::size_t g) {
  Flat& f = flat_[g];
  std::vector<Tensor>& params = groups_[g].params;
  ::torch::NoGradGuard no_grad;
  for (std::size_t i = 0; i < params.size(); ++i) {
    Tensor& p = params[i];
    if (!aliases(p, f.param_views[i])) {
      require(p.device() == f.param.device() && p.sizes() == f.param_views[i].sizes(), "TensorOptimizer::step",
              "parameter " + std::to_string(i) + " of group " + std::to_string(g) +
                  " changed device or shape after set_contiguous");
      f.param_views[i].copy_(p.detach());
      p.set_data(f.param_views[i]);
    }
    Tensor& grad = p.mutable_grad();
    if (!aliases(grad, f.grad_views[i])) {
      if (grad.defined()) {
        f.grad_views[i].copy_(grad.detach());
      } else {
        f.grad_views[i].zero_();
      }
      grad = f.grad_views[i];
    }
    state_[g][i].step = f.state.step;
  }
  for (const std::string& key : buffer_names()) {
    const auto flat_it = f.state.buffers.find(key);
    if (flat_it == f.state.buffers.end() || !flat_it->second.defined()) {
      // No flat buffer yet: gather the per-parameter ones (a loaded state) when there are any.
      std::size_t defined = 0;
      for (const ParamState& s : state_[g]) {
        const auto it = s.buffers.find(key);
        defined += it != s.buffers.end() && it->second.defined();
      }
      if (defined == 0) continue;
      require(defined == params.size(), "TensorOptimizer::step",
              "contiguous storage needs buffer " + key + " for every parameter of group " + std::to_string(g) +
                  " or for none");
      f.state.buffers[key] = ::torch::empty_like(f.param);
      f.buffer_views.erase(key);
    }
    const Tensor& flat = f.state.buffers[key];
    auto views_it = f.buffer_views.find(key);
    if (views_it == f.buffer_views.end()) views_it = f.buffer_views.emplace(key, views_like(flat, params)).first;
    for (std::size_t i = 0; i < params.size(); ++i) {
      Tensor& b = state_[g][i].buffers[key];
      const Tensor& view = views_it->second[i];
      if (aliases(b, view)) continue;
      if (b.defined()) view.copy_(b);
      b = view;
    }
  }
}

std::vector<Tensor> TensorOptimizer::Bucket::buffers(const std::string& key, double fill) {
  std::vector<Tensor> out;
  out.reserve(params.size());
  for (std::size_t i = 0; i < params.size(); ++i) {
    Tensor& b = states[i]->buffers[key];
    if (!b.defined()) b = ::torch::full_like(params[i], fill);
    out.push_back(b);
  }
  return out;
}

void TensorOptimizer::zero_grad(bool set_to_none) {
  if (!flat_.empty()) {
    for (std::size_t g = 0; g < groups_.size(); ++g) {
      Flat& f = flat_[g];
      if (!f.grad.defined()) continue;
      f.grad.zero_();
      for (std::size_t i = 0; i < groups_[g].params.size(); ++i) groups_[g].params[i].mutable_grad() = f.grad_views[i];
    }
    return;
  }
  for (ParamGroup& group : groups_) {
    for (Tensor& p : group.params) {
      Tensor& grad = p.mutable_grad();
      if (!grad.defined()) continue;
      if (set_to_none) {
        grad = Tensor();
      } else {
        grad.detach_();
        grad.zero_();
      }
    }
  }
}

void TensorOptimizer::set_lr(std::size_t group, double lr) {
  require(group < groups_.size(), "TensorOptimizer::set_lr",
          "group " + std::to_string(group) + " out of range (" + std::to_string(groups_.size()) + " groups)");
  require(finite_nonneg(lr), "TensorOptimizer::set_lr", "lr must be >= 0, got " + std::to_string(lr));
  groups_[group].lr = lr;
}

void TensorOptimizer::save(const std::string& path) const {
  ::torch::serialize::OutputArchive ar;
  const std::string n = name();
  ar.write("optimizer", ::torch::tensor(std::vector<int64_t>(n.begin(), n.end()), ::torch::kLong));
  ar.write("steps", ::torch::full({}, steps_, ::torch::kLong));
  std::vector<int64_t> layout;
  for (const ParamGroup& group : groups_) layout.push_back(static_cast<int64_t>(group.params.size()));
  ar.write("layout", ::torch::tensor(layout, ::torch::kLong));
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    const ParamGroup& group = groups_[g];
    const double wd = group.weight_decay ? *group.weight_decay : std::numeric_limits<double>::quiet_NaN();
    ar.write("group." + std::to_string(g),
             ::torch::tensor(std::vector<double>{group.lr, group.lr_multiplier, wd}, ::torch::kDouble));
    for (std::size_t i = 0; i < state_[g].size(); ++i) {
      const ParamState& s = state_[g][i];
      ar.write(state_key(g, i, "step"), ::torch::full({}, s.step, ::torch::kLong));
      for (const auto& [key, buffer] : s.buffers) ar.write(state_key(g, i, key), buffer.detach());
    }
  }
  const std::string tmp = path + ".tmp";
  try {
    ar.save_to(tmp);
  } catch (const c10::Error& e) {
    std::remove(tmp.c_str());
    throw IoError("torch::TensorOptimizer::save: cannot write '" + tmp + "': " + e.what_without_backtrace());
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw IoError("torch::TensorOptimizer::save: cannot rename '" + tmp + "' to '" + path + "'");
  }
}

void TensorOptimizer::load(const std::string& path) {
  const std::string where = "TensorOptimizer::load";
  ::torch::serialize::InputArchive ar;
  try {
    ar.load_from(path);
  } catch (const c10::Error& e) {
    throw IoError("torch::TensorOptimizer::load: cannot read '" + path + "': " + e.what_without_backtrace());
  }
  const Tensor saved_name = read_key(ar, "optimizer", path).contiguous();
  require(saved_name.scalar_type() == ::torch::kLong && saved_name.dim() == 1, where, "malformed optimizer name");
  const int64_t* chars = saved_name.data_ptr<int64_t>();
  const std::string n(chars, chars + saved_name.numel());
  require(n == name(), where, "'" + path + "' holds the state of " + n + ", not " + name());
  const Tensor layout = read_key(ar, "layout", path).contiguous();
  bool same_layout = layout.scalar_type() == ::torch::kLong && layout.dim() == 1 &&
                     layout.numel() == static_cast<int64_t>(groups_.size());
  for (std::size_t g = 0; same_layout && g < groups_.size(); ++g) {
    same_layout = layout.data_ptr<int64_t>()[g] == static_cast<int64_t>(groups_[g].params.size());
  }
  require(same_layout, where, "'" + path + "' has another layout of groups and parameters");

  std::vector<ParamGroup> groups = groups_;
  std::vector<std::vector<ParamState>> state(groups_.size());
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    const Tensor h = read_key(ar, "group." + std::to_string(g), path).to(::torch::kDouble).contiguous();
    require(h.numel() == 3, where, "malformed hyper-parameters of group " + std::to_string(g));
    const double* v = h.data_ptr<double>();
    require(finite_nonneg(v[0]) && finite_nonneg(v[1]) && (std::isnan(v[2]) || finite_nonneg(v[2])), where,
            "invalid hyper-parameters of group " + std::to_string(g));
    groups[g].lr = v[0];
    groups[g].lr_multiplier = v[1];
    groups[g].weight_decay = std::isnan(v[2]) ? std::nullopt : std::optional<double>(v[2]);
    for (std::size_t i = 0; i < groups_[g].params.size(); ++i) {
      const Tensor& p = groups_[g].params[i];
      ParamState s;
      s.step = read_count(ar, state_key(g, i, "step"), path);
      for (const std::string& key : buffer_names()) {
        Tensor b;
        if (!ar.try_read(state_key(g, i, key), b)) continue;
        require(b.sizes() == p.sizes() && b.scalar_type() == p.scalar_type(), where,
                "buffer " + key + " of " + param_name(g, i) + " does not match the parameter's shape and dtype");
        s.buffers[key] = b.to(p.device());
      }
      state[g].push_back(std::move(s));
    }
  }
  const int64_t steps = read_count(ar, "steps", path);
  if (!flat_.empty()) {
    for (std::size_t g = 0; g < state.size(); ++g) {
      for (const ParamState& s : state[g])
        require(s.step == state[g][0].step, where,
                "'" + path + "': the parameters of group " + std::to_string(g) +
                    " have different step counts, which contiguous storage cannot hold");
    }
  }
  groups_ = std::move(groups);
  steps_ = steps;
  state_ = std::move(state);
  // The loaded buffers are copied into the flat ones at the next step.
  for (std::size_t g = 0; g < flat_.size(); ++g) {
    if (state_[g].empty()) continue;
    flat_[g].state.buffers.clear();
    flat_[g].buffer_views.clear();
    flat_[g].state.step = state_[g][0].step;
  }
}

std::function<double(int64_t)> step_lr_schedule(int64_t step_size, double gamma) {
  require(step_size >= 1, "step_lr_schedule", "step_size must be >= 1");
  require(finite_nonneg(gamma), "step_lr_schedule", "gamma must be >= 0");
  return [step_size, gamma](int64_t k) { return std::pow(gamma, static_cast<double>(k / step_size)); };
}

// ---- SGD ----

TensorSgd::TensorSgd(std::vector<ParamGroup> groups, const dynamics::Sgd::Options& o)
    : TensorOptimizer(std::move(groups), o.weight_decay, "TensorSgd"), o_(o) {
  require(finite_nonneg(o.momentum), "TensorSgd", "momentum must be >= 0");
  require(std::isfinite(o.dampening), "TensorSgd", "dampening must be finite");
  require(!o.nesterov || (o.momentum > 0 && o.dampening == 0), "TensorSgd",
          "nesterov needs momentum > 0 and zero dampening");
}

std::string TensorSgd::name() const {
  if (o_.momentum == 0) return "sgd";
  return o_.nesterov ? "nesterov" : "momentum";
}

void TensorSgd::update(Tensor& p, const Tensor& grad, ParamState& s, double lr, double wd) {
  Tensor d = grad;
  if (wd != 0) d = d.add(p, wd);
  if (o_.momentum != 0) {
    Tensor& buf = s.buffers["momentum_buffer"];
    if (!buf.defined()) {
      buf = d.clone();
    } else {
      buf.mul_(o_.momentum).add_(d, 1 - o_.dampening);
    }
    d = o_.nesterov ? d.add(buf, o_.momentum) : buf;
  }
  ++s.step;
  p.add_(d, -lr);
}

void TensorSgd::update_foreach(Bucket& b, double lr, double wd) {
  std::vector<Tensor> d = wd != 0 ? at::_foreach_add(b.grads, b.params, wd) : b.grads;
  if (o_.momentum != 0) {
    std::vector<Tensor> bufs, old_bufs, old_d;
    for (std::size_t i = 0; i < b.params.size(); ++i) {
      Tensor& buf = b.states[i]->buffers["momentum_buffer"];
      if (!buf.defined()) {
        buf = d[i].clone();
      } else {
        old_bufs.push_back(buf);
        old_d.push_back(d[i]);
      }
      bufs.push_back(buf);
    }
    if (!old_bufs.empty()) {
      at::_foreach_mul_(old_bufs, o_.momentum);
      at::_foreach_add_(old_bufs, old_d, 1 - o_.dampening);
    }
    d = o_.nesterov ? at::_foreach_add(d, bufs, o_.momentum) : bufs;
  }
  for (ParamState* s : b.states) ++s->step;
  at::_foreach_add_(b.params, d, -lr);
}

// ---- Adagrad ----

TensorAdagrad::TensorAdagrad(std::vector<ParamGroup> groups, const dynamics::Adagrad::Options& o)
    : TensorOptimizer(std::move(groups), o.weight_decay, "TensorAdagrad"), o_(o) {
  require(finite_nonneg(o.lr_decay), "TensorAdagrad", "lr_decay must be >= 0");
  require(finite_nonneg(o.initial_accumulator_value), "TensorAdagrad", "initial_accumulator_value must be >= 0");
  require(finite_nonneg(o.eps), "TensorAdagrad", "eps must be >= 0");
}

void TensorAdagrad::update(Tensor& p, const Tensor& grad, ParamState& s, double lr, double wd) {
  Tensor& sum = s.buffers["sum"];
  if (!sum.defined()) sum = ::torch::full_like(p, o_.initial_accumulator_value);
  ++s.step;
  const Tensor g = wd != 0 ? grad.add(p, wd) : grad;
  const double clr = lr / (1 + rounded_product(static_cast<double>(s.step - 1), o_.lr_decay));
  sum.addcmul_(g, g, 1.0);
  const Tensor denom = sum.sqrt().add_(o_.eps);
  p.addcdiv_(g, denom, -clr);
}

void TensorAdagrad::update_foreach(Bucket& b, double lr, double wd) {
  const std::vector<Tensor> sum = b.buffers("sum", o_.initial_accumulator_value);
  for (ParamState* s : b.states) ++s->step;
  const std::vector<Tensor> g = wd != 0 ? at::_foreach_add(b.grads, b.params, wd) : b.grads;
  const double clr = lr / (1 + rounded_product(static_cast<double>(b.states[0]->step - 1), o_.lr_decay));
  at::_foreach_addcmul_(sum, g, g, 1.0);
  const std::vector<Tensor> denom = at::_foreach_sqrt(sum);
  at::_foreach_add_(denom, o_.eps);
  at::_foreach_addcdiv_(b.params, g, denom, -clr);
}

// ---- RMSprop ----

TensorRmsprop::TensorRmsprop(std::vector<ParamGroup> groups, const dynamics::Rmsprop::Options& o)
    : TensorOptimizer(std::move(groups), o.weight_decay, "TensorRmsprop"), o_(o) {
  require(std::isfinite(o.alpha) && o.alpha >= 0 && o.alpha < 1, "TensorRmsprop", "alpha must be in [0, 1)");
  require(finite_nonneg(o.eps), "TensorRmsprop", "eps must be >= 0");
  require(finite_nonneg(o.momentum), "TensorRmsprop", "momentum must be >= 0");
}

void TensorRmsprop::update(Tensor& p, const Tensor& grad, ParamState& s, double lr, double wd) {
  Tensor& square_avg = s.buffers["square_avg"];
  if (!square_avg.defined()) square_avg = ::torch::zeros_like(p);
  ++s.step;
  const Tensor g = wd != 0 ? grad.add(p, wd) : grad;
  square_avg.mul_(o_.alpha).addcmul_(g, g, 1 - o_.alpha);
  Tensor avg;
  if (o_.centered) {
    Tensor& grad_avg = s.buffers["grad_avg"];
    if (!grad_avg.defined()) grad_avg = ::torch::zeros_like(p);
    grad_avg.mul_(o_.alpha).add_(g, 1 - o_.alpha);
    avg = square_avg.addcmul(grad_avg, grad_avg, -1);
  } else {
    avg = square_avg;
  }
  avg = o_.eps_inside ? avg.add(o_.eps).sqrt_() : avg.sqrt().add_(o_.eps);
  if (o_.momentum > 0) {
    Tensor& buf = s.buffers["momentum_buffer"];
    if (!buf.defined()) buf = ::torch::zeros_like(p);
    buf.mul_(o_.momentum).addcdiv_(g, avg);
    p.add_(buf, -lr);
  } else {
    p.addcdiv_(g, avg, -lr);
  }
}

void TensorRmsprop::update_foreach(Bucket& b, double lr, double wd) {
  const std::vector<Tensor> square_avg = b.buffers("square_avg");
  for (ParamState* s : b.states) ++s->step;
  const std::vector<Tensor> g = wd != 0 ? at::_foreach_add(b.grads, b.params, wd) : b.grads;
  at::_foreach_mul_(square_avg, o_.alpha);
  at::_foreach_addcmul_(square_avg, g, g, 1 - o_.alpha);
  std::vector<Tensor> avg;
  if (o_.centered) {
    const std::vector<Tensor> grad_avg = b.buffers("grad_avg");
    at::_foreach_mul_(grad_avg, o_.alpha);
    at::_foreach_add_(grad_avg, g, 1 - o_.alpha);
    avg = at::_foreach_addcmul(square_avg, grad_avg, grad_avg, -1);
  } else {
    avg = square_avg;
  }
  if (o_.eps_inside) {
    avg = at::_foreach_add(avg, o_.eps);
    at::_foreach_sqrt_(avg);
  } else {
    avg = at::_foreach_sqrt(avg);
    at::_foreach_add_(avg, o_.eps);
  }
  if (o_.momentum > 0) {
    const std::vector<Tensor> buf = b.buffers("momentum_buffer");
    at::_foreach_mul_(buf, o_.momentum);
    at::_foreach_addcdiv_(buf, g, avg);
    at::_foreach_add_(b.params, buf, -lr);
  } else {
    at::_foreach_addcdiv_(b.params, g, avg, -lr);
  }
}

// ---- Adam and AdamW ----

TensorAdam::TensorAdam(std::vector<ParamGroup> groups, const dynamics::Adam::Options& o)
    : TensorOptimizer(std::move(groups), o.weight_decay, o.decoupled ? "TensorAdam (adamw)" : "TensorAdam"), o_(o) {
  const std::string where = o.decoupled ? "TensorAdam (adamw)" : "TensorAdam";
  require(std::isfinite(o.beta1) && o.beta1 >= 0 && o.beta1 < 1, where, "beta1 must be in [0, 1)");
  require(std::isfinite(o.beta2) && o.beta2 >= 0 && o.beta2 < 1, where, "beta2 must be in [0, 1)");
  require(finite_nonneg(o.eps), where, "eps must be >= 0");
}

void TensorAdam::update(Tensor& p, const Tensor& grad, ParamState& s, double lr, double wd) {
  Tensor& exp_avg = s.buffers["exp_avg"];
  Tensor& exp_avg_sq = s.buffers["exp_avg_sq"];
  if (!exp_avg.defined()) exp_avg = ::torch::zeros_like(p);
  if (!exp_avg_sq.defined()) exp_avg_sq = ::torch::zeros_like(p);
  ++s.step;
  Tensor g = grad;
  if (o_.decoupled) {
    if (wd != 0) p.mul_(1 - rounded_product(lr, wd));
  } else if (wd != 0) {
    g = g.add(p, wd);
  }
  const double k = static_cast<double>(s.step);
  const double bias_correction1 = 1 - std::pow(o_.beta1, k);
  const double bias_correction2 = 1 - std::pow(o_.beta2, k);
  exp_avg.mul_(o_.beta1).add_(g, 1 - o_.beta1);
  exp_avg_sq.mul_(o_.beta2).addcmul_(g, g, 1 - o_.beta2);
  Tensor v = exp_avg_sq;
  if (o_.amsgrad) {
    Tensor& max_exp_avg_sq = s.buffers["max_exp_avg_sq"];
    if (!max_exp_avg_sq.defined()) max_exp_avg_sq = ::torch::zeros_like(p);
    ::torch::max_out(max_exp_avg_sq, exp_avg_sq, max_exp_avg_sq);
    v = max_exp_avg_sq;
  }
  // torch::optim divides out of place here; in place is the same kernel without a second temporary.
  const Tensor denom = v.sqrt().div_(std::sqrt(bias_correction2)).add_(o_.eps);
  p.addcdiv_(exp_avg, denom, -(lr / bias_correction1));
}

void TensorAdam::update_foreach(Bucket& b, double lr, double wd) {
  const std::vector<Tensor> exp_avg = b.buffers("exp_avg");
  const std::vector<Tensor> exp_avg_sq = b.buffers("exp_avg_sq");
  for (ParamState* s : b.states) ++s->step;
  std::vector<Tensor> g = b.grads;
  if (o_.decoupled) {
    if (wd != 0) at::_foreach_mul_(b.params, 1 - rounded_product(lr, wd));
  } else if (wd != 0) {
    g = at::_foreach_add(b.grads, b.params, wd);
  }
  const double k = static_cast<double>(b.states[0]->step);
  const double bias_correction1 = 1 - std::pow(o_.beta1, k);
  const double bias_correction2 = 1 - std::pow(o_.beta2, k);
  at::_foreach_mul_(exp_avg, o_.beta1);
  at::_foreach_add_(exp_avg, g, 1 - o_.beta1);
  at::_foreach_mul_(exp_avg_sq, o_.beta2);
  at::_foreach_addcmul_(exp_avg_sq, g, g, 1 - o_.beta2);
  std::vector<Tensor> v = exp_avg_sq;
  if (o_.amsgrad) {
    v = b.buffers("max_exp_avg_sq");
    at::_foreach_maximum_(v, exp_avg_sq);
  }
  const std::vector<Tensor> denom = at::_foreach_sqrt(v);
  at::_foreach_div_(denom, std::sqrt(bias_correction2));
  at::_foreach_add_(denom, o_.eps);
  at::_foreach_addcdiv_(b.params, exp_avg, denom, -(lr / bias_correction1));
}

// ---- factory ----

std::vector<std::string> tensor_optimizer_names() {
  return {"sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw"};
}

std::unique_ptr<TensorOptimizer> make_tensor_optimizer(const std::string& name, std::vector<ParamGroup> groups,
                                                       const dynamics::OptimizerSettings& s) {
  if (const auto options = dynamics::torch_form_options(name, s)) {
    return std::visit(
        [&](const auto& o) -> std::unique_ptr<TensorOptimizer> {
          using O = std::decay_t<decltype(o)>;
          if constexpr (std::is_same_v<O, dynamics::Sgd::Options>)
            return std::make_unique<TensorSgd>(std::move(groups), o);
          if constexpr (std::is_same_v<O, dynamics::Adagrad::Options>)
            return std::make_unique<TensorAdagrad>(std::move(groups), o);
          if constexpr (std::is_same_v<O, dynamics::Rmsprop::Options>)
            return std::make_unique<TensorRmsprop>(std::move(groups), o);
          if constexpr (std::is_same_v<O, dynamics::Adam::Options>)
            return std::make_unique<TensorAdam>(std::move(groups), o);
        },
        *options);
  }
  std::string names;
  for (const auto& n : tensor_optimizer_names()) names += (names.empty() ? "" : ", ") + n;
  throw InvalidArgument("torch::make_tensor_optimizer: unknown optimizer '" + name + "' (known: " + names + ")");
}

}  // namespace odyn::torch
