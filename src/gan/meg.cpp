// MEG's mutual-information term (see include/odyn/gan/meg.hpp; seed-gan §3.3).
#include "odyn/gan/meg.hpp"

#include <string>

#include "checks.hpp"

namespace odyn::gan {
namespace nn = ::torch::nn;
using detail::require;
using detail::shape;

StatisticsNetworkImpl::StatisticsNetworkImpl(const ModelSpec& spec) {
  require(spec.kind == "mlp" || spec.kind == "dcgan", "StatisticsNetwork",
          "kind must be mlp or dcgan, got '" + spec.kind + "'");
  require(spec.latent_dim >= 1 && spec.hidden >= 1 && spec.depth >= 1, "StatisticsNetwork",
          "latent_dim, hidden and depth must be >= 1");
  const int64_t h = spec.critic_hidden > 0 ? spec.critic_hidden : spec.hidden;
  const auto lrelu = nn::LeakyReLUOptions().negative_slope(0.2);
  images_ = spec.kind == "dcgan";
  trunk_ = nn::Sequential();
  head_ = nn::Sequential();
  if (!images_) {
    int64_t in = spec.data_dim + spec.latent_dim;
    for (int64_t i = 0; i < spec.depth; ++i) {
      head_->push_back(nn::Linear(in, h));
      head_->push_back(nn::LeakyReLU(lrelu));
      in = h;
    }
    head_->push_back(nn::Linear(in, 1));
  } else {
    trunk_->push_back(nn::Conv2d(nn::Conv2dOptions(1, h, 4).stride(2).padding(1)));
    trunk_->push_back(nn::LeakyReLU(lrelu));
    trunk_->push_back(nn::Conv2d(nn::Conv2dOptions(h, 2 * h, 4).stride(2).padding(1)));
    trunk_->push_back(nn::LeakyReLU(lrelu));
    trunk_->push_back(nn::Flatten());
    trunk_->push_back(nn::Linear(2 * h * 7 * 7, 128));
    head_->push_back(nn::Linear(128 + spec.latent_dim, 512));
    head_->push_back(nn::LeakyReLU(lrelu));
    head_->push_back(nn::Linear(512, 1));
  }
  register_module("trunk", trunk_);
  register_module("head", head_);
}

Tensor StatisticsNetworkImpl::forward(const Tensor& x, const Tensor& z) {
  const std::string where = "StatisticsNetwork";
  require(x.defined() && z.defined() && x.dim() >= 2 && z.dim() == 2 && x.size(0) == z.size(0), where,
          "x (B, ...) and z (B, n_z) must have one row per pair, got x " + shape(x) + " and z " + shape(z));
  const Tensor features = images_ ? trunk_->forward(x) : x.reshape({x.size(0), -1});
  return head_->forward(::torch::cat({features, z}, 1)).reshape({x.size(0)});
}

Tensor jsd_mutual_information(StatisticsNetwork& statistics, const Tensor& x, const Tensor& z,
                              ::torch::Generator& gen) {
  const std::string where = "jsd_mutual_information";
  require(x.defined() && z.defined() && x.dim() >= 2 && z.dim() == 2 && x.size(0) == z.size(0), where,
          "x (B, ...) and z (B, n_z) must have one row per pair");
  require(x.size(0) >= 2, where, "the batch needs >= 2 pairs to form marginal pairs");
  const int64_t b = x.size(0);
  const Tensor perm = ::torch::randperm(b, gen, ::torch::TensorOptions().dtype(::torch::kLong)).to(z.device());
  // Joint and marginal pairs in one pass of the network.
  const Tensor scores = statistics->forward(::torch::cat({x, x}, 0), ::torch::cat({z, z.index_select(0, perm)}, 0));
  const Tensor joint = scores.narrow(0, 0, b), marginal = scores.narrow(0, b, b);
  return -::torch::softplus(-joint).mean() - ::torch::softplus(marginal).mean();
}

}  // namespace odyn::gan
