#include "odyn/gan/metrics.hpp"

#include <cmath>

#include "checks.hpp"
#include "odyn/core/error.hpp"
#include "odyn/torch/tensor.hpp"
#include "odyn/transport/emd.hpp"
#include "odyn/transport/gaussian.hpp"
#include "odyn/transport/mmd.hpp"

namespace odyn::gan {
namespace {

using detail::require;

void check_points(const Tensor& x, const std::string& where, const std::string& name) {
  require(x.defined() && x.dim() == 2 && x.size(1) == 2 && x.size(0) >= 1, where, name + " must be (n, 2) with n >= 1");
  require(x.is_floating_point(), where, name + " must be floating point");
  require(::torch::isfinite(x).all().item<bool>(), where, name + " has a non-finite entry");
}

void check_images(const Tensor& x, const std::string& where) {
  require(x.defined() && x.dim() == 4 && x.size(1) == 1 && x.size(2) == 28 && x.size(3) == 28, where,
          "images must be (N, 1, 28, 28)");
  require(x.is_floating_point(), where, "images must be floating point");
}

// KL(q || uniform over q's length) = sum q_k log(K q_k), 0 log 0 = 0; q sums to 1.
double kl_to_uniform(const Tensor& q) {
  const Tensor positive = q.masked_select(q > 0);
  return (positive * (positive * static_cast<double>(q.size(0))).log()).sum().item<double>();
}

}  // namespace

ToyMetrics toy_metrics(const Tensor& samples, const ToyDistribution& dist) {
  const std::string where = "toy_metrics";
  check_points(samples, where, "samples");
  const Tensor modes = dist.modes();
  require(modes.size(0) >= 1, where, "the " + to_string(dist.kind) + " distribution has no modes");
  const Tensor x = samples.to(::torch::kCPU, ::torch::kFloat64);
  const Tensor d2 = (x.unsqueeze(1) - modes.unsqueeze(0)).square().sum(2);  // (n, K)
  const auto [nearest_d2, nearest] = d2.min(1);
  const double radius = 3 * dist.sigma();
  const Tensor hq = nearest_d2 <= radius * radius;
  const int64_t k = modes.size(0);
  const Tensor counts = ::torch::bincount(nearest.masked_select(hq), {}, k);
  ToyMetrics m;
  m.modes_total = static_cast<int>(k);
  m.mode_counts.assign(counts.data_ptr<int64_t>(), counts.data_ptr<int64_t>() + k);
  const int64_t hq_total = counts.sum().item<int64_t>();
  m.modes_covered = static_cast<int>((counts > 0).sum().item<int64_t>());
  m.high_quality = static_cast<double>(hq_total) / static_cast<double>(x.size(0));
  m.reverse_kl = hq_total > 0 ? kl_to_uniform(counts.to(::torch::kFloat64) / static_cast<double>(hq_total))
                              : std::log(static_cast<double>(k));
  return m;
}

double exact_w2(const Tensor& a, const Tensor& b) {
  check_points(a, "exact_w2", "a");
  check_points(b, "exact_w2", "b");
  const auto r = transport::emd_points(odyn::torch::to_eigen(a), odyn::torch::to_eigen(b));
  require(r.status == transport::EmdStatus::optimal, "exact_w2", "the network simplex hit its pivot limit");
  return std::sqrt(std::max(r.cost, 0.0));
}

Tensor lenet_features(Lenet& net, const Tensor& images, int64_t batch) {
  check_images(images, "lenet_features");
  require(images.size(0) >= 1, "lenet_features", "no images");
  require(batch >= 1, "lenet_features", "batch must be >= 1, got " + std::to_string(batch));
  ::torch::NoGradGuard no_grad;
  net->eval();
  const ::torch::Device device = net->parameters().front().device();
  std::vector<Tensor> parts;
  for (int64_t i = 0; i < images.size(0); i += batch) {
    const Tensor part = images.slice(0, i, std::min(images.size(0), i + batch));
    parts.push_back(net->features(part.to(device, ::torch::kFloat32)));
  }
  return ::torch::cat(parts);
}

ImageMetrics image_metrics(Lenet& net, const Tensor& images, const Tensor& reference_features) {
  const std::string where = "image_metrics";
  check_images(images, where);
  require(images.size(0) >= 2, where, "need at least 2 images");
  require(reference_features.defined() && reference_features.dim() == 2 && reference_features.size(0) >= 2 &&
              reference_features.size(1) == LenetImpl::kFeatures,
          where, "reference_features must be (M, " + std::to_string(LenetImpl::kFeatures) + ") with M >= 2");
  require(::torch::isfinite(images).all().item<bool>(), where, "images have a non-finite entry");

  ImageMetrics m;
  const Tensor features = lenet_features(net, images);
  Tensor log_p;
  {
    ::torch::NoGradGuard no_grad;
    log_p = ::torch::log_softmax(net->logits(features).to(::torch::kFloat64), 1).to(::torch::kCPU);
  }
  const Tensor p = log_p.exp();
  const double n = static_cast<double>(images.size(0));
  m.confident = (p.amax(1) > 0.9).sum().item<double>() / n;
  const Tensor histogram = ::torch::bincount(p.argmax(1), {}, 10).to(::torch::kFloat64) / n;
  m.class_kl = kl_to_uniform(histogram);
  // E_x KL(p(y|x) || p(y)) with p(y) the mean of p(y|x) (Salimans et al. 2016).
  const Tensor log_marginal = ::torch::logsumexp(log_p, 0) - std::log(n);
  m.classifier_score = std::exp((p * (log_p - log_marginal.unsqueeze(0))).sum(1).mean().item<double>());

  const Eigen::MatrixXd x = odyn::torch::to_eigen(features);
  const Eigen::MatrixXd y = odyn::torch::to_eigen(reference_features);
  m.fld = transport::frechet_distance(x, y);
  m.kid = transport::mmd2_unbiased(x, y, transport::Kernel{transport::KernelKind::polynomial, 0.0});
  return m;
}

}  // namespace odyn::gan
