#include "odyn/gan/data.hpp"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <utility>

#include "checks.hpp"
#include "odyn/core/error.hpp"

namespace odyn::gan {

::torch::Generator cpu_generator(uint64_t seed) {
  return at::make_generator<at::CPUGeneratorImpl>(seed);
}
namespace {

using detail::require;

constexpr double kPi = 3.14159265358979323846;

// Fixed leading entries of BatchSampler::state(): N, batch, epoch, position, has permutation.
constexpr int64_t kHeader = 5;

}  // namespace

ToyKind parse_toy_kind(const std::string& name) {
  if (name == "ring") return ToyKind::ring;
  if (name == "grid") return ToyKind::grid;
  if (name == "swiss_roll") return ToyKind::swiss_roll;
  throw InvalidArgument("gan::parse_toy_kind: unknown toy distribution '" + name +
                        "' (expected ring, grid or swiss_roll)");
}

std::string to_string(ToyKind kind) {
  switch (kind) {
    case ToyKind::ring:
      return "ring";
    case ToyKind::grid:
      return "grid";
    case ToyKind::swiss_roll:
      return "swiss_roll";
  }
  throw InvalidArgument("gan::to_string: unknown ToyKind");
}

// Mode centres of the PacGAN ring (unit circle, angles 2 pi k / 8) and grid ({-4,...,4}^2, row by row).
Tensor ToyDistribution::modes() const {
  const auto f64 = ::torch::TensorOptions().dtype(::torch::kFloat64);
  switch (kind) {
    case ToyKind::ring: {
      const Tensor angle = ::torch::arange(8, f64) * (2 * kPi / 8);
      return ::torch::stack({angle.cos(), angle.sin()}, 1);
    }
    case ToyKind::grid: {
      const Tensor c = ::torch::arange(-4, 5, 2, f64);
      return ::torch::stack({c.repeat_interleave(5), c.repeat({5})}, 1);
    }
    case ToyKind::swiss_roll:
      return ::torch::zeros({0, 2}, f64);
  }
  throw InvalidArgument("gan::ToyDistribution::modes: unknown ToyKind");
}

double ToyDistribution::sigma() const {
  switch (kind) {
    case ToyKind::ring:
      return 0.01;
    case ToyKind::grid:
      return 0.05;
    case ToyKind::swiss_roll:
      return 0.0;
  }
  throw InvalidArgument("gan::ToyDistribution::sigma: unknown ToyKind");
}

// Mixtures: a uniform mode index, then the centre plus sigma * N(0, I). Swiss roll (sklearn
// make_swiss_roll): t = 1.5 pi (1 + 2u), point (t cos t, t sin t) + 0.25 N(0, I), all divided by 7.5
// (the scaling of Gulrajani et al.'s toy code).
Tensor ToyDistribution::sample(int64_t n, ::torch::Generator& gen) const {
  require(n >= 1, "ToyDistribution::sample", "n must be >= 1, got " + std::to_string(n));
  const auto f64 = ::torch::TensorOptions().dtype(::torch::kFloat64);
  if (kind == ToyKind::swiss_roll) {
    const Tensor t = 1.5 * kPi * (1 + 2 * ::torch::rand({n}, gen, f64));
    const Tensor clean = ::torch::stack({t * t.cos(), t * t.sin()}, 1);
    return ((clean + 0.25 * ::torch::randn({n, 2}, gen, f64)) / 7.5).to(::torch::kFloat32);
  }
  const Tensor centres = modes();
  const Tensor index = ::torch::randint(centres.size(0), {n}, gen, ::torch::TensorOptions().dtype(::torch::kLong));
  const Tensor noise = ::torch::randn({n, 2}, gen, f64);
  return (centres.index_select(0, index) + sigma() * noise).to(::torch::kFloat32);
}

ToyDistribution toy_distribution(ToyKind kind) {
  require(kind == ToyKind::ring || kind == ToyKind::grid || kind == ToyKind::swiss_roll, "toy_distribution",
          "unknown ToyKind");
  return ToyDistribution{kind};
}

ImageSet load_mnist(const std::string& dir, io::MnistSplit split, int64_t limit) {
  require(limit >= 0, "load_mnist", "limit must be >= 0 (0: all), got " + std::to_string(limit));
  io::MnistSet set = io::read_mnist(dir, split);
  const int64_t n = limit > 0 && limit < set.count ? limit : set.count;
  const auto u8 = ::torch::TensorOptions().dtype(::torch::kUInt8);
  const Tensor raw = ::torch::from_blob(set.pixels.data(), {n, 1, set.rows, set.cols}, u8);
  ImageSet out;
  out.images = raw.to(::torch::kFloat32) * (2.0 / 255.0) - 1.0;
  out.labels = ::torch::from_blob(set.labels.data(), {n}, u8).to(::torch::kLong);
  return out;
}

BatchSampler::BatchSampler(Tensor data, int64_t batch_size, uint64_t seed)
    : data_(std::move(data)), batch_(batch_size), gen_(cpu_generator(seed)) {
  require(data_.defined() && data_.dim() >= 1, "BatchSampler", "data must be a tensor with at least one dimension");
  require(batch_ >= 1, "BatchSampler", "batch_size must be >= 1, got " + std::to_string(batch_));
  require(batch_ <= data_.size(0), "BatchSampler",
          "batch_size " + std::to_string(batch_) + " exceeds the " + std::to_string(data_.size(0)) + " rows of data");
}

Tensor BatchSampler::next() {
  const int64_t n = data_.size(0);
  if (!perm_.defined() || position_ + batch_ > n) {
    if (perm_.defined()) ++epoch_;
    perm_ = ::torch::randperm(n, gen_, ::torch::TensorOptions().dtype(::torch::kLong));
    position_ = 0;
  }
  const Tensor rows = perm_.slice(0, position_, position_ + batch_);
  position_ += batch_;
  return data_.index_select(0, rows.to(data_.device()));
}

int64_t BatchSampler::epoch() const {
  return epoch_;
}

// Layout: [N, batch, epoch, position, has_perm, perm (N entries, or none), generator state bytes].
Tensor BatchSampler::state() const {
  const auto i64 = ::torch::TensorOptions().dtype(::torch::kLong);
  const Tensor header = ::torch::tensor({data_.size(0), batch_, epoch_, position_, int64_t{perm_.defined()}}, i64);
  const Tensor perm = perm_.defined() ? perm_ : ::torch::zeros({0}, i64);
  return ::torch::cat({header, perm, gen_.get_state().to(::torch::kLong)});
}

void BatchSampler::set_state(const Tensor& state) {
  const std::string where = "BatchSampler::set_state";
  require(state.defined() && state.dim() == 1 && state.scalar_type() == ::torch::kLong, where,
          "the state must be a 1-D int64 tensor from BatchSampler::state()");
  require(state.size(0) >= kHeader, where, "the state is too short");
  const Tensor s = state.to(::torch::kCPU).contiguous();
  const int64_t* v = s.data_ptr<int64_t>();
  const int64_t n = data_.size(0);
  require(v[0] == n, where, "the state is for " + std::to_string(v[0]) + " rows, the data has " + std::to_string(n));
  require(v[1] == batch_, where,
          "the state is for batch size " + std::to_string(v[1]) + ", the sampler has " + std::to_string(batch_));
  require(v[2] >= 0 && v[3] >= 0 && v[3] <= n && (v[4] == 0 || v[4] == 1), where, "corrupt header");
  const int64_t perm_len = v[4] ? n : 0;
  const int64_t gen_len = gen_.get_state().numel();
  require(s.size(0) == kHeader + perm_len + gen_len, where, "the state has the wrong length");
  const Tensor gen_state = s.slice(0, kHeader + perm_len);
  require(gen_state.min().item<int64_t>() >= 0 && gen_state.max().item<int64_t>() <= 255, where,
          "corrupt generator state");
  Tensor perm;  // stays undefined when no permutation was drawn yet
  if (v[4]) {
    perm = s.slice(0, kHeader, kHeader + n).clone();
    require(perm.min().item<int64_t>() >= 0 && perm.max().item<int64_t>() < n &&
                ::torch::bincount(perm, {}, n).eq(1).all().item<bool>(),
            where, "the stored permutation is not a permutation of the rows");
  }
  gen_.set_state(gen_state.to(::torch::kUInt8).contiguous());
  perm_ = perm;
  epoch_ = v[2];
  position_ = v[3];
}

}  // namespace odyn::gan
