#include "odyn/torch/gradients.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "checks.hpp"
#include "odyn/core/error.hpp"

namespace odyn::torch {
namespace {

using ::torch::Tensor;

using detail::require;
using detail::shape;

// sqrt(sum ||g||^2) over the defined gradients, as a float64 0-dim tensor on their device.
Tensor global_norm(const NamedParameters& params, const char* where) {
  Tensor sum;
  for (const auto& item : params) {
    const Tensor& g = item.value().grad();
    if (!g.defined()) continue;
    Tensor sq = g.to(::torch::kDouble).square().sum();
    if (!sum.defined()) {
      sum = sq;
    } else {
      require(g.device() == sum.device(), where,
              "gradients on several devices (" + sum.device().str() + " and " + g.device().str() + ")");
      sum = sum + sq;
    }
  }
  if (!sum.defined()) return ::torch::zeros({}, ::torch::kDouble);
  return sum.sqrt();
}

// g <- g c / max(norm, c), the factor computed on the device.
void scale_by_clip(Tensor& g, const Tensor& norm, double c) {
  const Tensor factor = c / norm.clamp_min(c);
  g.mul_(factor.to(g.scalar_type()));
}

}  // namespace

GradientPipeline& GradientPipeline::add(Kind kind, double bound, const std::string& name_pattern,
                                        Transform transform, const char* where) {
  Stage stage{kind, bound, name_pattern, std::regex(), std::move(transform)};
  try {
    stage.pattern = std::regex(name_pattern, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    throw InvalidArgument(std::string("torch::") + where + ": bad name pattern '" + name_pattern + "' (" +
                          e.what() + ")");
  }
  stages_.push_back(std::move(stage));
  return *this;
}

GradientPipeline& GradientPipeline::clip_global_norm(double max_norm) {
  require(std::isfinite(max_norm) && max_norm > 0, "GradientPipeline::clip_global_norm",
          "max_norm must be positive and finite, got " + std::to_string(max_norm));
  return add(Kind::global_norm, max_norm, ".*", nullptr, "GradientPipeline::clip_global_norm");
}

GradientPipeline& GradientPipeline::clip_norm(double max_norm, const std::string& name_pattern) {
  require(std::isfinite(max_norm) && max_norm > 0, "GradientPipeline::clip_norm",
          "max_norm must be positive and finite, got " + std::to_string(max_norm));
  return add(Kind::norm, max_norm, name_pattern, nullptr, "GradientPipeline::clip_norm");
}

GradientPipeline& GradientPipeline::clip_value(double max_value, const std::string& name_pattern) {
  require(std::isfinite(max_value) && max_value > 0, "GradientPipeline::clip_value",
          "max_value must be positive and finite, got " + std::to_string(max_value));
  return add(Kind::value, max_value, name_pattern, nullptr, "GradientPipeline::clip_value");
}

GradientPipeline& GradientPipeline::zero(const std::string& name_pattern) {
  return add(Kind::zero, 0.0, name_pattern, nullptr, "GradientPipeline::zero");
}

GradientPipeline& GradientPipeline::apply(const std::string& name_pattern, Transform transform) {
  require(static_cast<bool>(transform), "GradientPipeline::apply", "empty transform");
  return add(Kind::user, 0.0, name_pattern, std::move(transform), "GradientPipeline::apply");
}

Tensor GradientPipeline::operator()(const NamedParameters& params) const {
  const char* where = "GradientPipeline";
  ::torch::NoGradGuard no_grad;
  const Tensor incoming = global_norm(params, where);
  for (std::size_t i = 0; i < stages_.size(); ++i) {
    const Stage& stage = stages_[i];
    Tensor norm;
    if (stage.kind == Kind::global_norm) norm = i == 0 ? incoming : global_norm(params, where);
    for (const auto& item : params) {
      Tensor g = item.value().grad();
      if (!g.defined()) continue;
      if (stage.kind != Kind::global_norm && !std::regex_match(item.key(), stage.pattern)) continue;
      switch (stage.kind) {
        case Kind::global_norm:
          scale_by_clip(g, norm, stage.bound);
          break;
        case Kind::norm:
          scale_by_clip(g, g.to(::torch::kDouble).norm(), stage.bound);
          break;
        case Kind::value:
          g.clamp_(-stage.bound, stage.bound);
          break;
        case Kind::zero:
          g.zero_();
          break;
        case Kind::user: {
          Tensor out = g;
          stage.transform(item.key(), out);
          if (out.is_same(g)) break;
          require(out.defined() && out.sizes() == g.sizes() && out.scalar_type() == g.scalar_type() &&
                      out.device() == g.device(),
                  where,
                  "transform '" + stage.pattern_text + "' returned for '" + item.key() +
                      "' a tensor unlike the gradient " + shape(g));
          g.copy_(out);
          break;
        }
      }
    }
  }
  return incoming;
}

WeightEma::WeightEma(const NamedParameters& params, double decay, bool warmup)
    : params_(params), decay_(decay), warmup_(warmup) {
  require(decay >= 0 && decay <= 1, "WeightEma", "decay must lie in [0, 1], got " + std::to_string(decay));
  require(!params.is_empty(), "WeightEma", "no parameters");
  ::torch::NoGradGuard no_grad;
  for (const auto& item : params) {
    const Tensor& p = item.value();
    require(p.defined(), "WeightEma", "parameter '" + item.key() + "' is undefined");
    require(p.is_floating_point(), "WeightEma", "parameter '" + item.key() + "' is not floating point");
    averages_.insert(item.key(), p.detach().clone());
  }
}

WeightEma::WeightEma(const ::torch::nn::Module& module, double decay, bool warmup)
    : WeightEma(module.named_parameters(), decay, warmup) {}

double WeightEma::next_decay() const {
  if (!warmup_) return decay_;
  const double t = static_cast<double>(updates_);
  return std::min(decay_, (1.0 + t) / (10.0 + t));
}

void WeightEma::update() {
  ::torch::NoGradGuard no_grad;
  const double d = next_decay();
  for (const auto& item : params_) {
    Tensor avg = averages_[item.key()];
    avg.mul_(d).add_(item.value(), 1.0 - d);
  }
  ++updates_;
}

void WeightEma::copy_to(const NamedParameters& params) const {
  ::torch::NoGradGuard no_grad;
  for (const auto& item : averages_) {
    const Tensor* target = params.find(item.key());
    require(target != nullptr, "WeightEma::copy_to", "no parameter named '" + item.key() + "'");
    require(target->sizes() == item.value().sizes(), "WeightEma::copy_to",
            "parameter '" + item.key() + "' has shape " + shape(*target) + ", the average " +
                shape(item.value()));
  }
  for (const auto& item : averages_) params[item.key()].copy_(item.value());
}

void WeightEma::swap() {
  ::torch::NoGradGuard no_grad;
  for (const auto& item : params_) {
    Tensor p = item.value();
    Tensor avg = averages_[item.key()];
    const Tensor saved = p.detach().clone();
    p.copy_(avg);
    avg.copy_(saved);
  }
}

ScaledLinearImpl::ScaledLinearImpl(const ::torch::nn::Linear& layer, double lr_ratio, LrScaling scaling) {
  require(!layer.is_empty(), "ScaledLinear", "undefined layer");
  require(std::isfinite(lr_ratio) && lr_ratio > 0, "ScaledLinear",
          "lr_ratio must be positive and finite, got " + std::to_string(lr_ratio));
  scale_ = scaling == LrScaling::sgd ? std::sqrt(lr_ratio) : lr_ratio;
  ::torch::NoGradGuard no_grad;
  weight_phi_ = register_parameter("weight_phi", layer->weight.detach() / scale_);
  if (layer->bias.defined()) bias_phi_ = register_parameter("bias_phi", layer->bias.detach() / scale_);
}

Tensor ScaledLinearImpl::weight() const { return scale_ * weight_phi_; }

Tensor ScaledLinearImpl::bias() const { return bias_phi_.defined() ? scale_ * bias_phi_ : Tensor(); }

Tensor ScaledLinearImpl::forward(const Tensor& input) {
  return ::torch::nn::functional::linear(input, weight(), bias());
}

}  // namespace odyn::torch
