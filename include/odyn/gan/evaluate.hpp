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
};

// Loads RUN/config.toml and the latest checkpoint, draws the samples from the EMA generator when
// the run has one (else the generator; "generator" says which) with latent codes and true samples
// seeded from the run's seed, and computes toy: toy_evaluation (its keys at the top level beside
// "run", "step", "generator", "samples", "data", "loss"); mnist: "generated" image_metrics
// against LeNet features of as many test images, and "real_baseline", the same metrics of the
// test images against training images. Writes RUN/eval.json (atomically) and RUN/samples/eval.png.
// Throws odyn::InvalidArgument when the run has no checkpoint or mnist has no classifier.
nlohmann::json evaluate_run(const std::string& run_dir, const EvalOptions& options = {});

}  // namespace odyn::gan
