// Evaluation metrics of the GAN layer: the PacGAN/VEEGAN toy metrics, the exact W2 between 2-D
// samples, and LeNet-feature metrics of MNIST images (FLD, KID, classifier score).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "odyn/gan/classifier.hpp"
#include "odyn/gan/data.hpp"

namespace odyn::gan {

struct ToyMetrics {
  int modes_covered = 0;
  int modes_total = 0;
  double high_quality = 0;  // fraction of samples in [0, 1]
  double reverse_kl = 0;
  std::vector<int64_t> mode_counts;  // high-quality samples per mode
};

// PacGAN / VEEGAN protocol (anchors.md 4.7): a sample is high quality if it lies within 3 sigma of
// its nearest mode (Euclidean, isotropic sigma); a mode is covered if it receives >= 1 high-quality
// sample; reverse_kl = KL(q || uniform over K) of the mode histogram q of the high-quality samples
// (0 log 0 = 0; log K, the value for a single mode, when no sample is high quality). Samples (n, 2),
// finite; the distribution must have modes (not the swiss roll).
ToyMetrics toy_metrics(const Tensor& samples, const ToyDistribution& dist);

// Exact W2 = sqrt(min_P <P, |x - y|^2>) with uniform weights between samples a (n, 2) and b (m, 2),
// by the network simplex of transport::emd_points.
double exact_w2(const Tensor& a, const Tensor& b);

struct ImageMetrics {
  double confident = 0;         // fraction with max softmax probability > 0.9
  double class_kl = 0;          // KL(histogram of argmax classes || uniform over 10), in [0, log 10]
  double classifier_score = 0;  // exp(E_x KL(p(y|x) || p(y))), the Inception Score analogue, in [1, 10]
  double fld = 0;               // Frechet distance of LeNet features to the reference features
  double kid = 0;               // unbiased MMD^2 with k(x, y) = (x.y / F + 1)^3 (Binkowski et al. 2018)
};

// LeNet features (N, F) float32 of images (N, 1, 28, 28), moved batch by batch to the network's
// device, in evaluation mode without gradients; the result is on the network's device.
Tensor lenet_features(Lenet& net, const Tensor& images, int64_t batch = 500);

// The metrics of `images` (N >= 2) against reference features (M >= 2, F) from lenet_features, e.g.
// of real test images. FLD by transport::frechet_distance and KID by transport::mmd2_unbiased, on
// float64 copies.
ImageMetrics image_metrics(Lenet& net, const Tensor& images, const Tensor& reference_features);

}  // namespace odyn::gan
