// O-GAN (Su 2019, arXiv 1903.01931; seed-gan §4): the critic is an encoder E: x -> R^{n_z} whose
// mean avg E(x) is the score, and one extra term, the Pearson correlation ρ(z, E(G(z))), makes it
// an encoder of the generator's latent codes. Sign convention as in losses.hpp: the score of real
// samples is HIGH (Su's code uses the negation).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>

#include "odyn/gan/losses.hpp"

namespace odyn::gan {

// An encoder: x (B, ...) -> codes (B, n_z).
using Encoder = std::function<Tensor(const Tensor&)>;

// ρ(a_i, b_i) row by row for a, b (B, D), D >= 2: the cosine of the centred rows, each normalised
// as x / sqrt(max(||x||^2, 1e-12)) (Keras l2_normalize), so a constant row gives 0, not NaN. (B).
Tensor pearson_correlation(const Tensor& a, const Tensor& b);

// N(e) = (e - avg e) / std e row by row (std with divisor D), the code a reconstruction decodes:
// x̂ = G(N(E(x))). A constant row gives 0. (B, D).
Tensor standardize_codes(const Tensor& codes);

// The joint O-GAN objective of one step (bojone/o-gan, seed-gan §4.2 and §5b), for real (B, ...),
// latent codes z (B, n_z) and fake = G(z) carrying the generator's graph:
//   s(x) = avg E(x); s_r = s(x_r), s_f = s(G(z)), s_ng = s(sg(G(z))) (sg: stop-gradient)
//   L = mean(s_ng - s_r) + mean(s_ng - s_f) - λ2 mean ρ(z, E(G(z)))
//       + λ1 mean (s_r - s_ng)^2 / mean_pixels (x_r - sg(G(z)))^2
// with λ1 = options.lambda and λ2 = options.correlation. The encoder's gradient comes from the first
// term (s_f - s_ng has value 0 and cancels for E), the quadratic term and ρ; the generator's from
// -s_f and ρ. With options.code = mse the ρ term is replaced by + λ2 mean (z - E(G(z)))^2. Minimise
// L over the encoder's and the generator's parameters together. Parts: "score_real", "score_fake",
// "z_corr" (mean ρ), "penalty" (the quadratic term), and for mse "code_mse".
// Throws odyn::InvalidArgument for kinds other than ogan, mismatched shapes or an encoder whose
// codes are not (B, n_z).
LossValue ogan_loss(const Encoder& encoder, const Tensor& real, const Tensor& z, const Tensor& fake,
                    const LossOptions& options, bool with_parts = true);

}  // namespace odyn::gan
