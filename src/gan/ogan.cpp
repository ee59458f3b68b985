// O-GAN's objective (see include/odyn/gan/ogan.hpp; seed-gan §4).
#include "odyn/gan/ogan.hpp"

#include <string>

#include "checks.hpp"

namespace odyn::gan {
namespace {

using detail::require;
using detail::shape;

// x / sqrt(max(||x||^2, 1e-12)) per row (Keras l2_normalize).
Tensor l2_normalize_rows(const Tensor& x) {
  return x * ::torch::rsqrt(x.pow(2).sum(1, /*keepdim=*/true).clamp_min(1e-12));
}

void check_codes(const Tensor& t, const std::string& where, const std::string& name) {
  require(t.defined() && t.dim() == 2 && t.size(0) >= 1 && t.size(1) >= 2, where,
          name + " must be (B, D) with B >= 1 and D >= 2, got " + (t.defined() ? shape(t) : std::string("undefined")));
  require(t.is_floating_point(), where, name + " must be floating point");
}

}  // namespace

Tensor pearson_correlation(const Tensor& a, const Tensor& b) {
  const std::string where = "pearson_correlation";
  check_codes(a, where, "a");
  check_codes(b, where, "b");
  require(a.sizes() == b.sizes(), where, "a " + shape(a) + " and b " + shape(b) + " must have the same shape");
  const Tensor ca = l2_normalize_rows(a - a.mean(1, /*keepdim=*/true));
  const Tensor cb = l2_normalize_rows(b - b.mean(1, /*keepdim=*/true));
  return (ca * cb).sum(1);
}

Tensor standardize_codes(const Tensor& codes) {
  check_codes(codes, "standardize_codes", "codes");
  const Tensor centred = codes - codes.mean(1, /*keepdim=*/true);
  // std with divisor D (numpy's default ddof 0, as in the reference's reconstruction code).
  const Tensor std = centred.pow(2).mean(1, /*keepdim=*/true).sqrt();
  return ::torch::where(std > 0, centred / std.clamp_min(1e-12), ::torch::zeros_like(centred));
}

LossValue ogan_loss(const Encoder& encoder, const Tensor& real, const Tensor& z, const Tensor& fake,
                    const LossOptions& options, bool with_parts) {
  const std::string where = "ogan_loss";
  require(options.kind == LossKind::ogan, where, "the options are not of kind ogan");
  require(static_cast<bool>(encoder), where, "the encoder is empty");
  require(real.defined() && fake.defined() && real.sizes() == fake.sizes() && real.dim() >= 2, where,
          "real and fake must be batches of one shape");
  check_codes(z, where, "z");
  require(z.size(0) == real.size(0), where, "z must have one row per sample");
  const int64_t b = real.size(0);
  const Tensor fake_ng = fake.detach();
  const auto encode = [&](const Tensor& x) {
    Tensor e = encoder(x);
    require(e.defined() && e.dim() == 2 && e.size(0) == b && e.size(1) == z.size(1), where,
            "the encoder must return (B, n_z) = (" + std::to_string(b) + ", " + std::to_string(z.size(1)) +
                ") codes, got " + (e.defined() ? shape(e) : std::string("undefined")));
    return e;
  };
  // Three passes, as in the reference: the stop-gradient pass gives the encoder the fake score's
  // gradient while the generator's score term keeps its own sign.
  const Tensor e_real = encode(real), e_fake = encode(fake), e_ng = encode(fake_ng);
  const Tensor s_real = e_real.mean(1), s_fake = e_fake.mean(1), s_ng = e_ng.mean(1);
  const Tensor t1 = s_real - s_ng;
  const Tensor sq_distance = (real.detach() - fake_ng).pow(2).reshape({b, -1}).mean(1);
  const Tensor quadratic = options.lambda * t1.pow(2) / sq_distance.clamp_min(1e-12);
  LossValue value;
  Tensor code_term;
  Tensor rho;
  if (options.code == CodeLoss::pearson) {
    rho = pearson_correlation(z, e_fake);
    code_term = -options.correlation * rho.mean();
  } else {
    const Tensor mse = (z - e_fake).pow(2).mean();
    code_term = options.correlation * mse;
    if (with_parts) value.parts["code_mse"] = mse.detach();
  }
  value.loss = (s_ng - s_real).mean() + (s_ng - s_fake).mean() + code_term + quadratic.mean();
  if (with_parts) {
    value.parts["score_real"] = s_real.detach().mean();
    value.parts["score_fake"] = s_ng.detach().mean();
    value.parts["penalty"] = quadratic.detach().mean();
    value.parts["z_corr"] = (rho.defined() ? rho : pearson_correlation(z, e_fake)).detach().mean();
  }
  return value;
}

}  // namespace odyn::gan
