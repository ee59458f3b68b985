#include "odyn/gan/classifier.hpp"

#include <ATen/CPUGeneratorImpl.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "checks.hpp"
#include "odyn/core/error.hpp"
#include "odyn/gan/models.hpp"
#include "odyn/io/atomic_file.hpp"

namespace odyn::gan {
namespace nn = ::torch::nn;
namespace {

using detail::require;

void check_labelled(const ImageSet& set, const std::string& where) {
  const Tensor& x = set.images;
  require(x.defined() && x.dim() == 4 && x.size(1) == 1 && x.size(2) == 28 && x.size(3) == 28, where,
          "images must be (N, 1, 28, 28)");
  require(x.is_floating_point(), where, "images must be floating point");
  require(set.labels.defined() && set.labels.dim() == 1 && set.labels.size(0) == x.size(0), where,
          "labels must be (N) with one label per image");
  require(set.labels.scalar_type() == ::torch::kLong, where, "labels must be int64");
  require(x.size(0) >= 1, where, "the set is empty");
  require(set.labels.min().item<int64_t>() >= 0 && set.labels.max().item<int64_t>() <= 9, where,
          "labels must be digits 0..9");
}

}  // namespace

LenetImpl::LenetImpl() {
  conv1_ = register_module("conv1", nn::Conv2d(nn::Conv2dOptions(1, 16, 5).padding(2)));
  conv2_ = register_module("conv2", nn::Conv2d(nn::Conv2dOptions(16, 32, 5)));
  fc1_ = register_module("fc1", nn::Linear(32 * 5 * 5, kFeatures));
  fc2_ = register_module("fc2", nn::Linear(kFeatures, 10));
}

Tensor LenetImpl::features(const Tensor& x) {
  Tensor h = ::torch::max_pool2d(::torch::relu(conv1_->forward(x)), 2);  // (B, 16, 14, 14)
  h = ::torch::max_pool2d(::torch::relu(conv2_->forward(h)), 2);         // (B, 32, 5, 5)
  return ::torch::relu(fc1_->forward(h.flatten(1)));
}

Tensor LenetImpl::logits(const Tensor& features) {
  return fc2_->forward(features);
}

Tensor LenetImpl::forward(const Tensor& x) {
  return logits(features(x));
}

Lenet train_classifier(const ImageSet& train, const ClassifierTraining& options,
                       const std::function<void(const std::string&)>& log) {
  const std::string where = "train_classifier";
  check_labelled(train, where);
  require(options.epochs >= 1, where, "epochs must be >= 1, got " + std::to_string(options.epochs));
  require(options.batch >= 1, where, "batch must be >= 1, got " + std::to_string(options.batch));
  require(std::isfinite(options.lr) && options.lr > 0, where, "lr must be positive and finite");
  require(options.limit >= 0, where, "limit must be >= 0 (0: all)");
  const int64_t n = options.limit > 0 ? std::min(options.limit, train.images.size(0)) : train.images.size(0);
  require(options.batch <= n, where, "batch exceeds the number of training images");
  const Tensor images = train.images.slice(0, 0, n);
  const Tensor labels = train.labels.slice(0, 0, n).to(images.device());

  Lenet net;
  auto gen = cpu_generator(options.seed);
  initialize(*net, Init::default_, gen);
  net->to(images.device());
  net->train();
  ::torch::optim::Adam adam(net->parameters(), ::torch::optim::AdamOptions(options.lr));
  BatchSampler sampler(::torch::arange(n, ::torch::TensorOptions().dtype(::torch::kLong)), options.batch,
                       options.seed + 1);
  const int64_t steps = n / options.batch;
  const double total_steps = static_cast<double>(steps) * options.epochs;
  auto& adam_options = static_cast<::torch::optim::AdamOptions&>(adam.param_groups().front().options());
  const auto start = std::chrono::steady_clock::now();
  for (int epoch = 0; epoch < options.epochs; ++epoch) {
    Tensor loss_sum = ::torch::zeros({}, images.options());
    for (int64_t step = 0; step < steps; ++step) {
      adam_options.lr(options.lr * (1.0 - static_cast<double>(epoch * steps + step) / total_steps));
      const Tensor rows = sampler.next().to(images.device());
      const Tensor loss =
          ::torch::cross_entropy_loss(net->forward(images.index_select(0, rows)), labels.index_select(0, rows));
      adam.zero_grad();
      loss.backward();
      adam.step();
      loss_sum += loss.detach();
    }
    if (options.progress && log) {
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      char line[128];
      std::snprintf(line, sizeof line, "classifier epoch %d/%d: mean loss %.4f, %.1f s", epoch + 1, options.epochs,
                    loss_sum.item<double>() / static_cast<double>(steps), seconds);
      log(line);
    }
  }
  net->eval();
  return net;
}

double classifier_accuracy(Lenet& net, const ImageSet& set) {
  check_labelled(set, "classifier_accuracy");
  ::torch::NoGradGuard no_grad;
  net->eval();
  const int64_t n = set.images.size(0);
  int64_t correct = 0;
  for (int64_t i = 0; i < n; i += 1000) {
    const int64_t end = std::min(n, i + 1000);
    const Tensor predicted = net->forward(set.images.slice(0, i, end)).argmax(1);
    correct += predicted.eq(set.labels.slice(0, i, end).to(predicted.device())).sum().item<int64_t>();
  }
  return static_cast<double>(correct) / static_cast<double>(n);
}

void save_classifier(Lenet& net, const std::string& path) {
  require(!path.empty(), "save_classifier", "the path is empty");
  io::write_file_atomically(
      path, [&](std::ostream& out) { ::torch::save(net, out); }, /*binary=*/true);
}

Lenet load_classifier(const std::string& path) {
  if (!std::filesystem::is_regular_file(path)) throw IoError("gan::load_classifier: no file " + path);
  Lenet net;
  try {
    ::torch::load(net, path, ::torch::kCPU);
  } catch (const c10::Error& e) {
    throw IoError("gan::load_classifier: " + path + " is not a saved LeNet classifier (" +
                  std::string(e.what_without_backtrace()) + ")");
  }
  net->eval();
  return net;
}

}  // namespace odyn::gan
