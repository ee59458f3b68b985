// GAN objectives and gradient penalties (see include/odyn/gan/losses.hpp; seed-gan §1, §2, §6).
#include "odyn/gan/losses.hpp"

#include <cmath>
#include <string>
#include <vector>

#include "checks.hpp"
#include "odyn/core/error.hpp"

namespace odyn::gan {

namespace {

using detail::require;
using detail::shape;

using transport::CriticSampling;

// Throws odyn::InvalidArgument("gan::" + where + ": " + message) unless ok.
// A defined floating-point batch (B, ...) with B >= 1 and, on the CPU, finite entries.
void check_batch(const Tensor& x, const std::string& where, const std::string& name) {
  require(x.defined(), where, name + " is undefined");
  require(x.dim() >= 1 && x.size(0) >= 1, where, name + " must be a non-empty batch (B, ...), got " + shape(x));
  require(x.is_floating_point(), where, name + " must be floating point");
  // A finite sum proves every entry finite with one kernel; only a non-finite sum (a NaN or an
  // infinity, or finite entries whose sum overflows) needs the entry-wise test.
  if (x.device().is_cpu() && !std::isfinite(x.detach().sum().item<double>()))
    require(::torch::isfinite(x.detach()).all().item<bool>(), where, name + " has NaN or infinite entries");
}

// Two batches of one shape on one device, paired by index.
void check_pair(const Tensor& real, const Tensor& fake, const std::string& where) {
  check_batch(real, where, "real");
  check_batch(fake, where, "fake");
  require(real.sizes() == fake.sizes(), where,
          "real " + shape(real) + " and fake " + shape(fake) + " must have the same shape");
  require(real.device() == fake.device(), where, "real and fake lie on different devices");
}

// The critic's scores of a batch of B samples, required to be (B).
Tensor scores(const Critic& critic, const Tensor& x, const std::string& where) {
  require(static_cast<bool>(critic), where, "the critic is empty");
  Tensor s = critic(x);
  require(s.defined() && s.dim() == 1 && s.size(0) == x.size(0), where,
          "the critic must return one score per sample, shape (" + std::to_string(x.size(0)) + "), got " +
              (s.defined() ? shape(s) : std::string("an undefined tensor")));
  return s;
}

void require_positive(double value, const std::string& where, const std::string& name) {
  require(std::isfinite(value) && value > 0, where, name + " must be finite and > 0, got " + std::to_string(value));
}

// α ~ U[0, 1], one per row of x, drawn on the CPU from gen (in float64 for float64 data, else in
// float32) and shaped (B, 1, ..., 1) in x's dtype on x's device.
Tensor uniform_per_row(const Tensor& x, int64_t rows, ::torch::Generator& gen) {
  std::vector<int64_t> alpha_shape(static_cast<size_t>(x.dim()), 1);
  alpha_shape[0] = rows;
  const auto draw_type = x.scalar_type() == ::torch::kDouble ? ::torch::kDouble : ::torch::kFloat;
  const Tensor alpha = ::torch::rand({rows}, gen, ::torch::TensorOptions().dtype(draw_type));
  return alpha.view(alpha_shape).to(x.device(), x.scalar_type());
}

// A random permutation of 0..n-1 drawn on the CPU from gen, moved to `device`.
Tensor permutation(int64_t n, ::torch::Generator& gen, const ::torch::Device& device) {
  return ::torch::randperm(n, gen, ::torch::TensorOptions().dtype(::torch::kLong)).to(device);
}

// a + α (b - a) row by row.
Tensor interpolate(const Tensor& a, const Tensor& b, ::torch::Generator& gen) {
  return a + uniform_per_row(a, a.size(0), gen) * (b - a);
}

Tensor mean_detached(const Tensor& t) {
  return t.detach().mean();
}

}  // namespace

Tensor per_sample_gradients(const Critic& critic, const Tensor& x) {
  const std::string where = "per_sample_gradients";
  check_batch(x, where, "x");
  const Tensor input = x.requires_grad() ? x : x.detach().requires_grad_(true);
  const Tensor s = scores(critic, input, where);
  if (!s.requires_grad()) return ::torch::zeros({x.size(0), x.numel() / x.size(0)}, x.options());
  // grad of sum_i D(x_i): sample i's scores depend only on its own row, so row i of the result is
  // ∇D(x_i) (true for critics without cross-sample layers such as batch norm).
  const Tensor grad = ::torch::autograd::grad({s.sum()}, {input}, {}, /*retain_graph=*/true,
                                              /*create_graph=*/true, /*allow_unused=*/true)[0];
  if (!grad.defined()) return ::torch::zeros({x.size(0), x.numel() / x.size(0)}, x.options());
  return grad.reshape({x.size(0), -1});
}

Tensor per_sample_gradient_norms(const Critic& critic, const Tensor& x) {
  // linalg_vector_norm's backward is 0 (not NaN) where a norm is 0.
  return ::torch::linalg_vector_norm(per_sample_gradients(critic, x), 2, {1});
}

LossKind parse_loss_kind(const std::string& name) {
  if (name == "sgan") return LossKind::sgan;
  if (name == "wgan_gp") return LossKind::wgan_gp;
  if (name == "wgan_div") return LossKind::wgan_div;
  if (name == "gan_qp") return LossKind::gan_qp;
  if (name == "hinge") return LossKind::hinge;
  if (name == "energy") return LossKind::energy;
  if (name == "ogan") return LossKind::ogan;
  if (name == "ebm") return LossKind::ebm;
  throw InvalidArgument("gan::parse_loss_kind: unknown loss '" + name +
                        "' (expected sgan, wgan_gp, wgan_div, gan_qp, hinge, energy, ogan or ebm)");
}

std::string to_string(LossKind kind) {
  switch (kind) {
    case LossKind::sgan:
      return "sgan";
    case LossKind::wgan_gp:
      return "wgan_gp";
    case LossKind::wgan_div:
      return "wgan_div";
    case LossKind::gan_qp:
      return "gan_qp";
    case LossKind::hinge:
      return "hinge";
    case LossKind::energy:
      return "energy";
    case LossKind::ogan:
      return "ogan";
    case LossKind::ebm:
      return "ebm";
  }
  throw InvalidArgument("gan::to_string: invalid LossKind");
}

CodeLoss parse_code_loss(const std::string& name) {
  if (name == "pearson") return CodeLoss::pearson;
  if (name == "mse") return CodeLoss::mse;
  throw InvalidArgument("gan::parse_code_loss: unknown code loss '" + name + "' (expected pearson or mse)");
}

std::string to_string(CodeLoss code) {
  return code == CodeLoss::pearson ? "pearson" : "mse";
}

QpDistance parse_qp_distance(const std::string& name) {
  if (name == "l1") return QpDistance::l1;
  if (name == "l2") return QpDistance::l2;
  throw InvalidArgument("gan::parse_qp_distance: unknown distance '" + name + "' (expected l1 or l2)");
}

std::string to_string(QpDistance distance) {
  return distance == QpDistance::l1 ? "l1" : "l2";
}

transport::CriticSampling parse_critic_sampling(const std::string& name) {
  for (auto s :
       {CriticSampling::real_fake_interpolates, CriticSampling::real_real_fake_fake_interpolates,
        CriticSampling::pooled_interpolates, CriticSampling::pooled, CriticSampling::fake, CriticSampling::real})
    if (name == to_string(s)) return s;
  throw InvalidArgument("gan::parse_critic_sampling: unknown sampling '" + name +
                        "' (expected real_fake_interpolates, real_real_fake_fake_interpolates, "
                        "pooled_interpolates, pooled, fake or real)");
}

std::string to_string(transport::CriticSampling sampling) {
  switch (sampling) {
    case CriticSampling::real_fake_interpolates:
      return "real_fake_interpolates";
    case CriticSampling::real_real_fake_fake_interpolates:
      return "real_real_fake_fake_interpolates";
    case CriticSampling::pooled_interpolates:
      return "pooled_interpolates";
    case CriticSampling::pooled:
      return "pooled";
    case CriticSampling::fake:
      return "fake";
    case CriticSampling::real:
      return "real";
  }
  throw InvalidArgument("gan::to_string: invalid CriticSampling");
}

LossOptions loss_preset(const std::string& name) {
  LossOptions options;
  if (name == "wgan_div_su") {
    options.kind = LossKind::wgan_div;
    options.k = 2;
    options.p = 6;
    options.sampling = CriticSampling::pooled;
  } else if (name == "wgan_div_official") {
    options.kind = LossKind::wgan_div;
    options.k = 10;
    options.p = 6;
    options.sampling = CriticSampling::real_fake_interpolates;
  } else if (name == "meg") {
    options.kind = LossKind::energy;
    options.lambda = 0.1;
    options.entropy = 1;
  } else {
    try {
      options.kind = parse_loss_kind(name);
    } catch (const InvalidArgument&) {
      throw InvalidArgument("gan::loss_preset: unknown loss '" + name +
                            "' (expected sgan, wgan_gp, wgan_div, gan_qp, hinge, energy, ogan, ebm, meg, wgan_div_su "
                            "or wgan_div_official)");
    }
    if (options.kind == LossKind::energy || options.kind == LossKind::ebm) options.lambda = 0.1;
    if (options.kind == LossKind::ogan) options.lambda = 0.25;
  }
  return options;
}

Tensor penalty_points(const Tensor& real, const Tensor& fake, transport::CriticSampling sampling,
                      ::torch::Generator& gen) {
  check_pair(real, fake, "penalty_points");
  const int64_t b = real.size(0);
  const auto device = real.device();
  switch (sampling) {
    case CriticSampling::real_fake_interpolates:
      return interpolate(real, fake, gen);
    case CriticSampling::real_real_fake_fake_interpolates: {
      const int64_t from_fake = b / 2, from_real = b - from_fake;
      const Tensor real_partner = real.index_select(0, permutation(b, gen, device));
      const Tensor fake_partner = fake.index_select(0, permutation(b, gen, device));
      const Tensor real_part = interpolate(real.narrow(0, 0, from_real), real_partner.narrow(0, 0, from_real), gen);
      const Tensor fake_part =
          interpolate(fake.narrow(0, from_real, from_fake), fake_partner.narrow(0, from_real, from_fake), gen);
      return ::torch::cat({real_part, fake_part}, 0);
    }
    case CriticSampling::pooled_interpolates: {
      const Tensor pool = ::torch::cat({real, fake}, 0);
      const Tensor first = pool.index_select(0, permutation(2 * b, gen, device).narrow(0, 0, b));
      const Tensor second = pool.index_select(0, permutation(2 * b, gen, device).narrow(0, 0, b));
      return interpolate(first, second, gen);
    }
    case CriticSampling::pooled:
      return ::torch::cat({real, fake}, 0);
    case CriticSampling::fake:
      return fake;
    case CriticSampling::real:
      return real;
  }
  throw InvalidArgument("gan::penalty_points: invalid CriticSampling");
}

Tensor wgan_gp_penalty(const Critic& critic, const Tensor& real, const Tensor& fake, double lambda,
                       ::torch::Generator& gen) {
  require_positive(lambda, "wgan_gp_penalty", "lambda");
  const Tensor points = penalty_points(real, fake, CriticSampling::real_fake_interpolates, gen);
  return lambda * (per_sample_gradient_norms(critic, points) - 1).pow(2).mean();
}

Tensor wgan_div_penalty(const Critic& critic, const Tensor& points, double k, double p) {
  require_positive(k, "wgan_div_penalty", "k");
  require(std::isfinite(p) && p > 1, "wgan_div_penalty", "p must be finite and > 1, got " + std::to_string(p));
  // ||g||^p through the norm (whose backward is 0 at g = 0), so that 1 < p < 2 stays finite there.
  return k * per_sample_gradient_norms(critic, points).pow(p).mean();
}

Tensor r1_penalty(const Critic& critic, const Tensor& real, double gamma) {
  require(std::isfinite(gamma) && gamma >= 0, "r1_penalty",
          "gamma must be finite and >= 0, got " + std::to_string(gamma));
  return 0.5 * gamma * per_sample_gradients(critic, real).pow(2).sum(1).mean();
}

Tensor qp_distance(const Tensor& real, const Tensor& fake, QpDistance distance) {
  check_pair(real, fake, "qp_distance");
  const Tensor diff = (real - fake).reshape({real.size(0), -1});
  if (distance == QpDistance::l1) return diff.abs().mean(1);
  return diff.pow(2).mean(1).sqrt();
}

GanLoss::GanLoss(LossOptions options) : options_(options) {
  const std::string where = "GanLoss";
  require_positive(options_.lambda, where, "lambda");
  require_positive(options_.k, where, "k");
  require(std::isfinite(options_.p) && options_.p > 1, where,
          "p must be finite and > 1, got " + std::to_string(options_.p));
  require(std::isfinite(options_.r1_gamma) && options_.r1_gamma >= 0, where,
          "r1_gamma must be finite and >= 0, got " + std::to_string(options_.r1_gamma));
  require(std::isfinite(options_.entropy) && options_.entropy >= 0, where,
          "entropy must be finite and >= 0, got " + std::to_string(options_.entropy));
  require(std::isfinite(options_.correlation) && options_.correlation >= 0, where,
          "correlation must be finite and >= 0, got " + std::to_string(options_.correlation));
  require(options_.kind != LossKind::ogan || (options_.r1_gamma == 0 && options_.entropy == 0), where,
          "ogan takes neither r1_gamma nor entropy");
  require(options_.kind != LossKind::ebm || options_.entropy == 0, where, "ebm has no generator, so no entropy");
  require(options_.langevin_steps >= 1, where,
          "langevin_steps must be >= 1, got " + std::to_string(options_.langevin_steps));
  require_positive(options_.langevin_step_size, where, "langevin_step_size");
  require(options_.buffer_size >= 1, where, "buffer_size must be >= 1, got " + std::to_string(options_.buffer_size));
  require(std::isfinite(options_.buffer_reuse) && options_.buffer_reuse >= 0 && options_.buffer_reuse <= 1, where,
          "buffer_reuse must be in [0, 1], got " + std::to_string(options_.buffer_reuse));
}

LossValue GanLoss::critic_loss(const Critic& critic, const Tensor& real, const Tensor& fake, ::torch::Generator& gen,
                               bool with_parts) const {
  const std::string where = "GanLoss::critic_loss";
  require(options_.kind != LossKind::ogan, where, "ogan trains encoder and generator in one step: use ogan_loss");
  check_pair(real, fake, where);
  const Tensor d_real = scores(critic, real, where);
  const Tensor d_fake = scores(critic, fake, where);
  LossValue value;
  switch (options_.kind) {
    case LossKind::sgan:
      // -log σ(D_r) - log(1 - σ(D_f)) = softplus(-D_r) + softplus(D_f).
      value.loss = ::torch::softplus(-d_real).mean() + ::torch::softplus(d_fake).mean();
      break;
    case LossKind::wgan_gp: {
      const Tensor penalty = wgan_gp_penalty(critic, real, fake, options_.lambda, gen);
      value.loss = d_fake.mean() - d_real.mean() + penalty;
      if (with_parts) value.parts["penalty"] = penalty.detach();
      break;
    }
    case LossKind::wgan_div: {
      const Tensor points = penalty_points(real, fake, options_.sampling, gen);
      const Tensor penalty = wgan_div_penalty(critic, points, options_.k, options_.p);
      value.loss = d_fake.mean() - d_real.mean() + penalty;
      if (with_parts) value.parts["penalty"] = penalty.detach();
      break;
    }
    case LossKind::gan_qp: {
      // d_i is a fixed weight of the critic objective: no gradient flows through it.
      const Tensor d = qp_distance(real.detach(), fake.detach(), options_.distance);
      const Tensor delta = d_real - d_fake;
      // Pairs with d_i = 0 (x_r = x_f, so Δ_i = 0 for a unary critic) contribute no quadratic term;
      // the safe denominator keeps their gradient 0 rather than 0 · inf.
      const Tensor positive = d > 0;
      const Tensor safe_d = ::torch::where(positive, d, ::torch::ones_like(d));
      const Tensor quadratic =
          ::torch::where(positive, delta.pow(2) / (2 * options_.lambda * safe_d), ::torch::zeros_like(delta));
      value.loss = (quadratic - delta).mean();
      if (with_parts) value.parts["penalty"] = quadratic.detach().mean();
      break;
    }
    case LossKind::hinge:
      value.loss = ::torch::relu(1 - d_real).mean() + ::torch::relu(1 + d_fake).mean();
      break;
    case LossKind::energy: {
      // λ mean ||∇D(x_r)||^2 is R1 with γ = 2λ.
      const Tensor penalty = r1_penalty(critic, real, 2 * options_.lambda);
      value.loss = d_fake.mean() - d_real.mean() + penalty;
      if (with_parts) value.parts["penalty"] = penalty.detach();
      break;
    }
    case LossKind::ebm: {
      const Tensor penalty = options_.lambda * (d_real.pow(2).mean() + d_fake.pow(2).mean());
      value.loss = d_fake.mean() - d_real.mean() + penalty;
      if (with_parts) value.parts["penalty"] = penalty.detach();
      break;
    }
    case LossKind::ogan:
      break;
  }
  if (options_.r1_gamma > 0) {
    const Tensor r1 = r1_penalty(critic, real, options_.r1_gamma);
    value.loss = value.loss + r1;
    if (with_parts) value.parts["r1"] = r1.detach();
  }
  if (with_parts) {
    value.parts["score_real"] = mean_detached(d_real);
    value.parts["score_fake"] = mean_detached(d_fake);
    value.parts["w_estimate"] = value.parts["score_real"] - value.parts["score_fake"];
  }
  return value;
}

LossValue GanLoss::generator_loss(const Critic& critic, const Tensor& real, const Tensor& fake, bool with_parts) const {
  const std::string where = "GanLoss::generator_loss";
  require(options_.kind != LossKind::ogan, where, "ogan trains encoder and generator in one step: use ogan_loss");
  require(options_.kind != LossKind::ebm, where, "ebm has no generator");
  const bool needs_real = options_.kind == LossKind::gan_qp;
  if (needs_real || real.defined()) {
    check_pair(real, fake, where);
  } else {
    check_batch(fake, where, "fake");
  }
  const Tensor d_fake = scores(critic, fake, where);
  LossValue value;
  switch (options_.kind) {
    case LossKind::sgan:
      // Non-saturating: -log σ(D_f).
      value.loss = ::torch::softplus(-d_fake).mean();
      break;
    case LossKind::wgan_gp:
    case LossKind::wgan_div:
    case LossKind::hinge:
    case LossKind::energy:
    case LossKind::ogan:
    case LossKind::ebm:
      value.loss = -d_fake.mean();
      break;
    case LossKind::gan_qp: {
      // mean(D_r - D_f) without the quadratic term (seed-gan §2.1); only D_f depends on G.
      const Tensor d_real = scores(critic, real, where);
      value.loss = (d_real - d_fake).mean();
      if (with_parts) value.parts["score_real"] = mean_detached(d_real);
      break;
    }
  }
  if (with_parts) {
    value.parts["score_fake"] = mean_detached(d_fake);
    if (value.parts.count("score_real"))
      value.parts["w_estimate"] = value.parts["score_real"] - value.parts["score_fake"];
  }
  return value;
}

}  // namespace odyn::gan
