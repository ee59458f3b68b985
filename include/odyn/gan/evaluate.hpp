// Evaluating a trained GAN: toy metrics and exact W2 for the 2-D mixtures, LeNet-feature metrics
// (FLD, KID, classifier score) for MNIST, with the real-data baseline (anchors.md §4).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

#include "odyn/gan/data.hpp"

namespace odyn::gan {

// Metrics of generated toy samples (n, 2) against true samples (m, 2): "w2" (exact_w2), and for
// the mixtures with modes "modes_covered", "modes_total", "high_quality", "reverse_kl" (toy_metrics,
// PacGAN protocol).
nlohmann::json toy_evaluation(const Tensor& samples, const Tensor& truth, ToyKind kind);

struct EvalOptions {
  int64_t samples = 0;     // generated (and true) samples; 0: the run's eval.samples (toy: at most 10000)
  std::string classifier;  // mnist: the LeNet file; "": the run's eval.classifier
  std::string device;      // "": the run's train.device
  int threads = 0;         // LibTorch threads; 0: the run's train.threads
  // > 0: also evaluates samples refined by that many steps of a Markov chain (sampling.hpp) on the
  // critic's energy U = -D / temperature, started from the plain samples: in the latent space
  // (target exp(-U(G(z)))) or in the data space (target exp(-U(x))).
  int64_t refine_steps = 0;
  std::string sampler = "mala";  // mala | langevin
  std::string space = "latent";  // latent | data
  double step_size = 0.01;       // ε
  double temperature = 1;
};

// Loads RUN/config.toml and the latest checkpoint, draws the samples from the EMA generator when
// the run has one (else the generator; ebm: Langevin chains; "generator" says which) with latent codes and true samples
// seeded from the run's seed, and computes toy: toy_evaluation (its keys at the top level beside
// "run", "step", "generator", "samples", "data", "loss"); mnist: "generated" image_metrics
// against LeNet features of as many test images, and "real_baseline", the same metrics of the
// test images against training images. With refine_steps > 0, "refined" holds the sampler's
// settings, its acceptance rate (1 for langevin) and the same metrics of the refined samples
// (RUN/samples/eval-refined.png). For
// ogan runs, "ogan" holds "z_corr" (mean ρ(z, E(G(z))) over the samples), "reconstruction_mse"
// (per pixel, test images against G(N(E(x)))), "reconstruction_mse_raw" (against G(E(x))) and for mnist
// "reconstruction_accuracy" (the classifier's accuracy on the reconstructions of labelled test images), with
// RUN/samples/reconstruction.png (rows of test images above their reconstructions) and
// RUN/samples/interpolation.png (linear paths between the codes of test-image pairs).
// Writes RUN/eval.json (atomically) and RUN/samples/eval.png.
// Throws odyn::InvalidArgument when the run has no checkpoint or mnist has no classifier.
nlohmann::json evaluate_run(const std::string& run_dir, const EvalOptions& options = {});

}  // namespace odyn::gan
