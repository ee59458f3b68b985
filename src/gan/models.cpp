#include "odyn/gan/models.hpp"

#include <cmath>
#include <vector>

#include "checks.hpp"
#include "odyn/core/error.hpp"

namespace odyn::gan {
namespace nn = ::torch::nn;
namespace {

using detail::require;

void check_spec(const ModelSpec& spec, const std::string& where) {
  require(spec.kind == "mlp" || spec.kind == "dcgan", where, "kind must be mlp or dcgan, got '" + spec.kind + "'");
  require(spec.latent_dim >= 1, where, "latent_dim must be >= 1, got " + std::to_string(spec.latent_dim));
  require(spec.hidden >= 1, where, "hidden must be >= 1, got " + std::to_string(spec.hidden));
  require(spec.critic_hidden >= 0, where, "critic_hidden must be >= 0, got " + std::to_string(spec.critic_hidden));
  require(spec.critic_outputs >= 1, where, "critic_outputs must be >= 1, got " + std::to_string(spec.critic_outputs));
  if (spec.kind == "mlp") {
    require(spec.data_dim >= 1, where, "data_dim must be >= 1, got " + std::to_string(spec.data_dim));
    require(spec.depth >= 1, where, "depth must be >= 1, got " + std::to_string(spec.depth));
  }
  for (const Norm n : {spec.generator_norm, spec.critic_norm}) {
    require(n == Norm::none || n == Norm::batch || n == Norm::layer, where, "unknown Norm");
  }
  require(spec.init == Init::default_ || spec.init == Init::normal || spec.init == Init::glorot, where, "unknown Init");
}

// A normalisation layer over `features` (vectors) or over (channels, side, side) images when side > 0.
void push_norm(nn::Sequential& net, Norm norm, int64_t features, int64_t side) {
  if (norm == Norm::batch) {
    if (side > 0) {
      net->push_back(nn::BatchNorm2d(features));
    } else {
      net->push_back(nn::BatchNorm1d(features));
    }
  } else if (norm == Norm::layer) {
    std::vector<int64_t> shape{features};
    if (side > 0) shape = {features, side, side};
    net->push_back(nn::LayerNorm(nn::LayerNormOptions(shape)));
  }
}

nn::Conv2dOptions down(int64_t in, int64_t out) {
  return nn::Conv2dOptions(in, out, 4).stride(2).padding(1);
}
nn::ConvTranspose2dOptions up(int64_t in, int64_t out) {
  return nn::ConvTranspose2dOptions(in, out, 4).stride(2).padding(1);
}

// fan_in and fan_out of a weight as torch.nn.init computes them: dims 1 and 0 times the kernel size.
std::pair<double, double> fans(const Tensor& w) {
  const double receptive = w.dim() > 2 ? static_cast<double>(w[0][0].numel()) : 1.0;
  return {static_cast<double>(w.size(1)) * receptive, static_cast<double>(w.size(0)) * receptive};
}

// Overwrites t with U(-bound, bound) drawn on the CPU from gen.
void fill_uniform(Tensor& t, double bound, ::torch::Generator& gen) {
  const Tensor u = ::torch::rand(t.sizes(), gen, ::torch::TensorOptions().dtype(::torch::kFloat32));
  t.copy_((u * 2 - 1) * bound);
}

void init_affine(Tensor weight, Tensor bias, Init init, ::torch::Generator& gen) {
  const auto [fan_in, fan_out] = fans(weight);
  switch (init) {
    case Init::default_: {
      // kaiming_uniform(a = sqrt 5) for the weight and U(+-1/sqrt(fan_in)) for the bias (torch.nn).
      const double bound = 1.0 / std::sqrt(fan_in);
      fill_uniform(weight, bound, gen);
      if (bias.defined()) fill_uniform(bias, bound, gen);
      return;
    }
    case Init::normal:
      weight.copy_(0.02 * ::torch::randn(weight.sizes(), gen, ::torch::TensorOptions().dtype(::torch::kFloat32)));
      break;
    case Init::glorot:
      fill_uniform(weight, std::sqrt(6.0 / (fan_in + fan_out)), gen);
      break;
  }
  if (bias.defined()) bias.zero_();
}

}  // namespace

nn::Sequential make_generator(const ModelSpec& spec) {
  check_spec(spec, "make_generator");
  nn::Sequential net;
  const int64_t h = spec.hidden;
  if (spec.kind == "mlp") {
    int64_t in = spec.latent_dim;
    for (int64_t i = 0; i < spec.depth; ++i) {
      net->push_back(nn::Linear(in, h));
      push_norm(net, spec.generator_norm, h, 0);
      net->push_back(nn::ReLU());
      in = h;
    }
    net->push_back(nn::Linear(in, spec.data_dim));
    return net;
  }
  net->push_back(nn::Linear(spec.latent_dim, 2 * h * 7 * 7));
  net->push_back(nn::Unflatten(nn::UnflattenOptions(1, {2 * h, 7, 7})));
  push_norm(net, spec.generator_norm, 2 * h, 7);
  net->push_back(nn::ReLU());
  net->push_back(nn::ConvTranspose2d(up(2 * h, h)));
  push_norm(net, spec.generator_norm, h, 14);
  net->push_back(nn::ReLU());
  net->push_back(nn::ConvTranspose2d(up(h, 1)));
  net->push_back(nn::Tanh());
  return net;
}

nn::Sequential make_critic(const ModelSpec& spec) {
  check_spec(spec, "make_critic");
  require(spec.critic_norm != Norm::batch, "make_critic",
          "batch norm in a critic couples the samples of a batch and breaks per-sample gradient penalties; "
          "use none or layer");
  nn::Sequential net;
  const int64_t h = spec.critic_hidden > 0 ? spec.critic_hidden : spec.hidden;
  const auto lrelu = nn::LeakyReLUOptions().negative_slope(0.2);
  if (spec.kind == "mlp") {
    int64_t in = spec.data_dim;
    for (int64_t i = 0; i < spec.depth; ++i) {
      net->push_back(nn::Linear(in, h));
      push_norm(net, spec.critic_norm, h, 0);
      net->push_back(nn::LeakyReLU(lrelu));
      in = h;
    }
    net->push_back(nn::Linear(in, spec.critic_outputs));
    return net;
  }
  net->push_back(nn::Conv2d(down(1, h)));
  net->push_back(nn::LeakyReLU(lrelu));
  net->push_back(nn::Conv2d(down(h, 2 * h)));
  push_norm(net, spec.critic_norm, 2 * h, 7);
  net->push_back(nn::LeakyReLU(lrelu));
  net->push_back(nn::Flatten());
  net->push_back(nn::Linear(2 * h * 7 * 7, spec.critic_outputs));
  return net;
}

Tensor critic_scores(nn::Sequential& critic, const Tensor& x) {
  require(x.defined() && x.dim() >= 2 && x.size(0) >= 1, "critic_scores", "x must be a batch (B, ...) with B >= 1");
  const Tensor out = critic->forward(x);
  require(out.dim() == 2 && out.size(0) == x.size(0) && out.size(1) == 1, "critic_scores",
          "the critic must return (B, 1) scores");
  return out.reshape({x.size(0)});
}

void initialize(nn::Module& module, Init init, ::torch::Generator& gen) {
  require(init == Init::default_ || init == Init::normal || init == Init::glorot, "initialize", "unknown Init");
  ::torch::NoGradGuard no_grad;
  for (const auto& m : module.modules(/*include_self=*/true)) {
    if (auto* l = m->as<nn::Linear>()) {
      init_affine(l->weight, l->bias, init, gen);
    } else if (auto* c = m->as<nn::Conv2d>()) {
      init_affine(c->weight, c->bias, init, gen);
    } else if (auto* t = m->as<nn::ConvTranspose2d>()) {
      init_affine(t->weight, t->bias, init, gen);
    } else if (auto* b1 = m->as<nn::BatchNorm1d>()) {
      b1->reset_parameters();
    } else if (auto* b2 = m->as<nn::BatchNorm2d>()) {
      b2->reset_parameters();
    } else if (auto* ln = m->as<nn::LayerNorm>()) {
      ln->reset_parameters();
    }
  }
}

Init parse_init(const std::string& name) {
  if (name == "default") return Init::default_;
  if (name == "normal") return Init::normal;
  if (name == "glorot") return Init::glorot;
  throw InvalidArgument("gan::parse_init: unknown init '" + name + "' (expected default, normal or glorot)");
}

Norm parse_norm(const std::string& name) {
  if (name == "none") return Norm::none;
  if (name == "batch") return Norm::batch;
  if (name == "layer") return Norm::layer;
  throw InvalidArgument("gan::parse_norm: unknown norm '" + name + "' (expected none, batch or layer)");
}

std::string to_string(Init init) {
  switch (init) {
    case Init::default_:
      return "default";
    case Init::normal:
      return "normal";
    case Init::glorot:
      return "glorot";
  }
  throw InvalidArgument("gan::to_string: unknown Init");
}

std::string to_string(Norm norm) {
  switch (norm) {
    case Norm::none:
      return "none";
    case Norm::batch:
      return "batch";
    case Norm::layer:
      return "layer";
  }
  throw InvalidArgument("gan::to_string: unknown Norm");
}

}  // namespace odyn::gan
