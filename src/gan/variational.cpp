#include "odyn/gan/variational.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <sstream>

#include <nlohmann/json.hpp>

#include "checks.hpp"
#include "odyn/core/error.hpp"
#include "odyn/gan/models.hpp"
#include "odyn/gan/trainer.hpp"
#include "odyn/io/atomic_file.hpp"

namespace odyn::gan {
namespace nn = ::torch::nn;
namespace fs = std::filesystem;
namespace {

using detail::require;
using detail::shape;

constexpr double kPi = 3.14159265358979323846;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int64_t kEvalChunk = 1000;  // images per forward pass in evaluations

// The random streams of a training run, each a CPU generator seeded by derive_seed(seed, stream).
enum : uint64_t { kInitStream = 1, kSamplerStream = 2, kNoiseStream = 3, kEvalStream = 4 };

// The trainer's splitmix64 of (seed, stream): nearby seeds and streams give unrelated generator seeds.
uint64_t derive_seed(uint64_t seed, uint64_t stream) {
  return stream_seed(seed, static_cast<Stream>(stream));
}

bool all_finite(const Tensor& t) {
  return t.numel() == 0 || ::torch::isfinite(t).all().item<bool>();
}

void check_cpu_generator(const ::torch::Generator& gen, const std::string& where) {
  require(gen.defined() && gen.device().is_cpu(), where, "the generator must be a CPU generator (cpu_generator(seed))");
}

void check_gaussian(const Tensor& mean, const Tensor& log_var, const std::string& where) {
  require(mean.defined() && log_var.defined(), where, "mean and log_var must be defined tensors");
  require(mean.dim() >= 1, where, "mean must be (..., K), got a 0-d tensor");
  require(mean.sizes() == log_var.sizes(), where,
          "mean " + shape(mean) + " and log_var " + shape(log_var) + " must have the same shape");
  require(mean.is_floating_point() && log_var.is_floating_point(), where, "mean and log_var must be floating point");
  require(mean.device() == log_var.device(), where, "mean and log_var must be on the same device");
  require(mean.size(-1) >= 1, where, "the latent dimension K is 0");
  require(all_finite(mean), where, "mean has NaN or infinite entries");
  require(all_finite(log_var), where, "log_var has NaN or infinite entries");
}

// x (B, D) with finite values, B >= 1; unit: values in [0, 1].
void check_rows(const Tensor& x, int64_t d, const std::string& where, bool unit) {
  require(x.defined() && x.dim() == 2, where,
          "x must be (B, " + std::to_string(d) + "), got " + (x.defined() ? shape(x) : std::string("undefined")));
  require(x.size(1) == d, where, "x must have " + std::to_string(d) + " columns, got " + shape(x));
  require(x.size(0) >= 1, where, "x is empty");
  require(x.is_floating_point(), where, "x must be floating point");
  require(all_finite(x), where, "x has NaN or infinite entries");
  if (unit) require(x.min().item<double>() >= 0 && x.max().item<double>() <= 1, where, "x must have values in [0, 1]");
}

void check_beta(double beta, const std::string& where) {
  require(std::isfinite(beta) && beta >= 0, where, "beta must be finite and >= 0, got " + std::to_string(beta));
}

template <class Model>
void check_model(const Model& model, const std::string& where) {
  require(!model.is_empty(), where, "the model is empty (constructed with nullptr)");
}

// Unchecked pieces used inside training loops (no host syncs).
Tensor kl_rows(const Tensor& mean, const Tensor& log_var) {
  return 0.5 * (mean.square() + log_var.exp() - 1.0 - log_var).sum(-1);
}

Tensor standard_normal_like(const Tensor& like, ::torch::Generator& gen) {
  const auto dtype = like.scalar_type() == ::torch::kFloat64 ? ::torch::kFloat64 : ::torch::kFloat32;
  return ::torch::randn(like.sizes(), gen, ::torch::TensorOptions().dtype(dtype)).to(like.device(), like.scalar_type());
}

Tensor sample_rows(const Tensor& mean, const Tensor& log_var, ::torch::Generator& gen) {
  return mean + (0.5 * log_var).exp() * standard_normal_like(mean, gen);
}

Tensor binarize_rows(const Tensor& p, ::torch::Generator& gen) {
  const Tensor u = ::torch::rand(p.sizes(), gen, ::torch::TensorOptions().dtype(::torch::kFloat32)).to(p.device());
  return u.lt(p).to(p.scalar_type());
}

ElboTerms elbo_unchecked(VaeImpl& model, const Tensor& x, ::torch::Generator& gen) {
  const auto [mean, log_var] = model.encode(x);
  const Tensor logits = model.decode(sample_rows(mean, log_var, gen));
  const Tensor distortion = ::torch::binary_cross_entropy_with_logits(logits, x, {}, {}, at::Reduction::None).sum(1);
  return {distortion, kl_rows(mean, log_var)};
}

Tensor vib_loss_unchecked(VibImpl& model, const Tensor& x, const Tensor& labels, ::torch::Generator& gen, double beta) {
  const auto [mean, log_var] = model.encode(x);
  const Tensor logits = model.decode(sample_rows(mean, log_var, gen));
  const Tensor ce = ::torch::cross_entropy_loss(logits, labels, {}, at::Reduction::None);
  return beta == 0 ? ce : ce + beta * kl_rows(mean, log_var);
}

void check_labels(const Tensor& labels, int64_t rows, int64_t classes, const std::string& where) {
  require(labels.defined() && labels.dim() == 1 && labels.size(0) == rows, where,
          "labels must be (" + std::to_string(rows) + "), one per row of x");
  require(labels.scalar_type() == ::torch::kLong, where, "labels must be int64");
  require(labels.min().item<int64_t>() >= 0 && labels.max().item<int64_t>() < classes, where,
          "labels must be classes 0.." + std::to_string(classes - 1));
}

// ---- training ------------------------------------------------------------------------------

// The parts of a run that differ between the VAE and the VIB.
struct Loop {
  std::string kind;       // "vae" | "vib"
  nlohmann::json config;  // what a resumed run must match
  nn::Module* model = nullptr;
  int64_t rows = 0;                                                                 // training examples
  std::function<Tensor(const Tensor& rows, ::torch::Generator& noise)> batch_loss;  // mean loss (scalar)
  std::function<double()> test_value;                                               // empty: no test set
  std::string test_label;  // "test -ELBO %.2f nats" style, formatted with the value
  double test_scale = 1;
};

void check_options(const VariationalTraining& o, const std::string& where) {
  require(o.epochs >= 1, where, "epochs must be >= 1, got " + std::to_string(o.epochs));
  require(o.batch >= 1, where, "batch must be >= 1, got " + std::to_string(o.batch));
  require(std::isfinite(o.lr) && o.lr > 0, where, "lr must be positive and finite");
  require(std::isfinite(o.lr_decay) && o.lr_decay > 0 && o.lr_decay <= 1, where, "lr_decay must be in (0, 1]");
  require(o.decay_every >= 1, where, "decay_every must be >= 1, got " + std::to_string(o.decay_every));
  check_beta(o.beta, where);
  require(o.limit >= 0, where, "limit must be >= 0 (0: all)");
}

// images (N, ...) in [-1, 1] with D values per image; labels (N) when `labelled`.
void check_set(const ImageSet& set, int64_t d, int64_t classes, const std::string& where, const std::string& name) {
  const Tensor& x = set.images;
  require(x.defined() && x.dim() >= 2, where, name + " images must be (N, ...) with N >= 1");
  require(x.size(0) >= 1, where, name + " set is empty");
  require(x.is_floating_point(), where, name + " images must be floating point");
  require(x.numel() / x.size(0) == d, where,
          name + " images have " + std::to_string(x.numel() / x.size(0)) + " values each, the model takes " +
              std::to_string(d));
  require(all_finite(x), where, name + " images have NaN or infinite entries");
  require(x.min().item<double>() >= -1 && x.max().item<double>() <= 1, where, name + " images must be in [-1, 1]");
  if (classes > 0) check_labels(set.labels, x.size(0), classes, where + " (" + name + ")");
}

Tensor string_tensor(const std::string& s) {
  Tensor t = ::torch::empty({static_cast<int64_t>(s.size())}, ::torch::TensorOptions().dtype(::torch::kUInt8));
  if (!s.empty()) std::memcpy(t.data_ptr<uint8_t>(), s.data(), s.size());
  return t;
}

std::string tensor_string(const Tensor& t) {
  const Tensor c = t.to(::torch::kCPU).contiguous();
  return std::string(reinterpret_cast<const char*>(c.data_ptr<uint8_t>()), static_cast<std::size_t>(c.numel()));
}

Tensor history_tensor(const TrainingHistory& h) {
  Tensor t =
      ::torch::empty({static_cast<int64_t>(h.epochs.size()), 4}, ::torch::TensorOptions().dtype(::torch::kFloat64));
  auto a = t.accessor<double, 2>();
  for (std::size_t i = 0; i < h.epochs.size(); ++i) {
    const EpochRecord& r = h.epochs[i];
    a[i][0] = r.epoch;
    a[i][1] = r.train_loss;
    a[i][2] = r.test_value;
    a[i][3] = r.seconds;
  }
  return t;
}

std::vector<EpochRecord> history_records(const Tensor& t) {
  std::vector<EpochRecord> out;
  const Tensor c = t.to(::torch::kCPU, ::torch::kFloat64).contiguous();
  auto a = c.accessor<double, 2>();
  for (int64_t i = 0; i < c.size(0); ++i) out.push_back({static_cast<int>(a[i][0]), a[i][1], a[i][2], a[i][3]});
  return out;
}

TrainingHistory run_loop(Loop& loop, const VariationalTraining& options, const VariationalLog& log) {
  const std::string where = "train_" + loop.kind;
  nn::Module& model = *loop.model;
  ::torch::optim::Adam adam(model.parameters(), ::torch::optim::AdamOptions(options.lr));
  BatchSampler sampler(::torch::arange(loop.rows, ::torch::TensorOptions().dtype(::torch::kLong)), options.batch,
                       derive_seed(options.seed, kSamplerStream));
  ::torch::Generator noise = cpu_generator(derive_seed(options.seed, kNoiseStream));
  const std::string config = loop.config.dump();
  TrainingHistory history;

  if (options.resume && !options.checkpoint.empty() && fs::exists(options.checkpoint)) {
    const std::string& path = options.checkpoint;
    ::torch::serialize::InputArchive root, model_archive, optimizer_archive;
    Tensor config_tensor, sampler_state, noise_state, history_t;
    try {
      const auto params = model.parameters();
      root.load_from(path, params.empty() ? ::torch::Device(::torch::kCPU) : params.front().device());
      root.read("config", config_tensor);
    } catch (const c10::Error& e) {
      throw IoError("gan::" + where + ": cannot read the checkpoint " + path + ": " + e.what_without_backtrace());
    }
    const std::string saved = tensor_string(config_tensor);
    if (saved != config) {
      nlohmann::json old = nlohmann::json::parse(saved, nullptr, /*allow_exceptions=*/false);
      std::string diff;
      if (old.is_object()) {
        for (const auto& item : loop.config.items()) {
          if (!old.contains(item.key()) || old[item.key()] != item.value()) {
            diff = item.key() + " is " + (old.contains(item.key()) ? old[item.key()].dump() : std::string("missing")) +
                   " there, " + item.value().dump() + " here";
            break;
          }
        }
      }
      throw InvalidArgument("gan::" + where + ": the checkpoint " + path + " belongs to another run (" +
                            (diff.empty() ? std::string("different model or options") : diff) + ")");
    }
    try {
      root.read("model", model_archive);
      model.load(model_archive);
      root.read("optimizer", optimizer_archive);
      adam.load(optimizer_archive);
      root.read("sampler", sampler_state);
      root.read("noise", noise_state);
      root.read("history", history_t);
    } catch (const c10::Error& e) {
      throw IoError("gan::" + where + ": cannot read the checkpoint " + path + ": " + e.what_without_backtrace());
    }
    sampler.set_state(sampler_state);
    noise.set_state(noise_state.to(::torch::kCPU).contiguous());
    history.epochs = history_records(history_t);
    history.resumed_from = static_cast<int>(history.epochs.size());
  }

  const int64_t steps = loop.rows / options.batch;
  auto& adam_options = static_cast<::torch::optim::AdamOptions&>(adam.param_groups().front().options());
  double elapsed = history.train_seconds();
  model.train();
  for (int epoch = static_cast<int>(history.epochs.size()); epoch < options.epochs; ++epoch) {
    adam_options.lr(options.lr * std::pow(options.lr_decay, epoch / options.decay_every));
    const auto start = std::chrono::steady_clock::now();
    Tensor loss_sum;
    for (int64_t step = 0; step < steps; ++step) {
      const Tensor loss = loop.batch_loss(sampler.next(), noise);
      adam.zero_grad();
      loss.backward();
      adam.step();
      loss_sum = step == 0 ? loss.detach().to(::torch::kFloat64) : loss_sum + loss.detach();
    }
    const double train_loss = loss_sum.item<double>() / static_cast<double>(steps);
    elapsed += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!std::isfinite(train_loss)) {
      throw TrainingDiverged(
          "gan::" + where + ": the mean training loss of epoch " + std::to_string(epoch + 1) + " is " +
          (std::isnan(train_loss) ? "nan" : "inf") + "; last good checkpoint: " +
          (options.checkpoint.empty() || !fs::exists(options.checkpoint) ? "none" : options.checkpoint));
    }
    double test = kNaN;
    if (loop.test_value) {
      ::torch::NoGradGuard no_grad;
      test = loop.test_value();
    }
    history.epochs.push_back({epoch + 1, train_loss, test, elapsed});

    if (!options.checkpoint.empty()) {
      ::torch::serialize::OutputArchive root, model_archive, optimizer_archive;
      model.save(model_archive);
      adam.save(optimizer_archive);
      root.write("config", string_tensor(config));
      root.write("model", model_archive);
      root.write("optimizer", optimizer_archive);
      root.write("sampler", sampler.state());
      root.write("noise", noise.get_state());
      root.write("history", history_tensor(history));
      const fs::path parent = fs::path(options.checkpoint).parent_path();
      if (!parent.empty()) fs::create_directories(parent);
      io::write_file_atomically(
          options.checkpoint, [&](std::ostream& out) { root.save_to(out); }, /*binary=*/true);
    }
    if (log) {
      char line[256];
      std::snprintf(line, sizeof line, "%s epoch %d/%d: train loss %.4f", loop.kind.c_str(), epoch + 1, options.epochs,
                    train_loss);
      std::string text = line;
      if (loop.test_value) {
        std::snprintf(line, sizeof line, loop.test_label.c_str(), test * loop.test_scale);
        text += std::string(", ") + line;
      }
      std::snprintf(line, sizeof line, ", %.1f s", elapsed);
      log(text + line);
    }
  }
  model.eval();
  return history;
}

int64_t training_rows(const ImageSet& train, int64_t limit) {
  const int64_t n = train.images.size(0);
  return limit > 0 ? std::min(limit, n) : n;
}

}  // namespace

// ---- Gaussian pieces ------------------------------------------------------------------------

Tensor gaussian_kl(const Tensor& mean, const Tensor& log_var) {
  check_gaussian(mean, log_var, "gaussian_kl");
  return kl_rows(mean, log_var);
}

Tensor reparameterize(const Tensor& mean, const Tensor& log_var, ::torch::Generator& gen) {
  check_gaussian(mean, log_var, "reparameterize");
  check_cpu_generator(gen, "reparameterize");
  return sample_rows(mean, log_var, gen);
}

Tensor interpolate_latents(const Tensor& z1, const Tensor& z2, int64_t n, bool variance_preserving) {
  const std::string where = "interpolate_latents";
  require(n >= 2, where, "n must be >= 2 (the two end points), got " + std::to_string(n));
  require(z1.defined() && z2.defined() && z1.dim() == 1 && z1.sizes() == z2.sizes(), where,
          "z1 and z2 must be 1-D tensors of the same size (D)");
  require(z1.numel() >= 1, where, "z1 and z2 are empty");
  require(z1.is_floating_point() && z2.is_floating_point() && z1.scalar_type() == z2.scalar_type(), where,
          "z1 and z2 must be floating point of the same dtype");
  require(z1.device() == z2.device(), where, "z1 and z2 must be on the same device");
  require(all_finite(z1) && all_finite(z2), where, "z1 and z2 must be finite");
  std::vector<double> a(static_cast<std::size_t>(n)), b(static_cast<std::size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const double alpha = static_cast<double>(i) / static_cast<double>(n - 1);
    if (!variance_preserving) {
      a[i] = 1 - alpha;
      b[i] = alpha;
    } else {
      a[i] = std::cos(alpha * kPi / 2);
      b[i] = std::sin(alpha * kPi / 2);
    }
  }
  if (variance_preserving) {  // exact end points (cos(π/2) is 6e-17 in floating point)
    a.back() = 0;
    b.back() = 1;
  }
  const auto opts = ::torch::TensorOptions().dtype(::torch::kFloat64);
  const Tensor ca = ::torch::tensor(a, opts).to(z1.device(), z1.scalar_type()).unsqueeze(1);
  const Tensor cb = ::torch::tensor(b, opts).to(z1.device(), z1.scalar_type()).unsqueeze(1);
  return ca * z1.unsqueeze(0) + cb * z2.unsqueeze(0);
}

// ---- data -----------------------------------------------------------------------------------

Tensor pixel_probabilities(const Tensor& images) {
  const std::string where = "pixel_probabilities";
  require(images.defined() && images.dim() >= 1 && images.size(0) >= 1, where, "images must be (N, ...) with N >= 1");
  require(images.is_floating_point(), where, "images must be floating point");
  require(all_finite(images), where, "images have NaN or infinite entries");
  return ((images.reshape({images.size(0), -1}) + 1.0) * 0.5).clamp(0.0, 1.0);
}

Tensor binarize(const Tensor& probabilities, ::torch::Generator& gen) {
  const std::string where = "binarize";
  require(probabilities.defined() && probabilities.is_floating_point(), where,
          "probabilities must be a floating-point tensor");
  require(all_finite(probabilities), where, "probabilities have NaN or infinite entries");
  require(probabilities.numel() == 0 ||
              (probabilities.min().item<double>() >= 0 && probabilities.max().item<double>() <= 1),
          where, "probabilities must be in [0, 1]");
  check_cpu_generator(gen, where);
  return binarize_rows(probabilities, gen);
}

Tensor binarized_test_set(const Tensor& images) {
  auto gen = cpu_generator(kTestBinarizationSeed);
  return binarize_rows(pixel_probabilities(images), gen);
}

// ---- VAE ------------------------------------------------------------------------------------

Activation parse_activation(const std::string& name) {
  if (name == "tanh") return Activation::tanh;
  if (name == "relu") return Activation::relu;
  throw InvalidArgument("gan::parse_activation: unknown activation '" + name + "' (expected tanh or relu)");
}

std::string to_string(Activation activation) {
  switch (activation) {
    case Activation::tanh:
      return "tanh";
    case Activation::relu:
      return "relu";
  }
  throw InvalidArgument("gan::to_string: unknown Activation");
}

VaeImpl::VaeImpl(const VaeSpec& spec) : spec_(spec) {
  const std::string where = "Vae";
  require(spec.data_dim >= 1 && spec.hidden >= 1 && spec.latent >= 1, where,
          "data_dim, hidden and latent must be >= 1");
  require(spec.activation == Activation::tanh || spec.activation == Activation::relu, where, "unknown activation");
  hidden_ = register_module("hidden", nn::Linear(spec.data_dim, spec.hidden));
  mean_ = register_module("mean", nn::Linear(spec.hidden, spec.latent));
  log_var_ = register_module("log_var", nn::Linear(spec.hidden, spec.latent));
  decoder_hidden_ = register_module("decoder_hidden", nn::Linear(spec.latent, spec.hidden));
  decoder_out_ = register_module("decoder_out", nn::Linear(spec.hidden, spec.data_dim));
}

namespace {
Tensor activate(const Tensor& x, Activation a) {
  return a == Activation::tanh ? ::torch::tanh(x) : ::torch::relu(x);
}
}  // namespace

std::pair<Tensor, Tensor> VaeImpl::encode(const Tensor& x) {
  const Tensor h = activate(hidden_->forward(x), spec_.activation);
  return {mean_->forward(h), log_var_->forward(h)};
}

Tensor VaeImpl::decode(const Tensor& z) {
  return decoder_out_->forward(activate(decoder_hidden_->forward(z), spec_.activation));
}

ElboTerms elbo_terms(Vae& model, const Tensor& x, ::torch::Generator& gen) {
  check_model(model, "elbo_terms");
  check_rows(x, model->spec().data_dim, "elbo_terms", /*unit=*/true);
  check_cpu_generator(gen, "elbo_terms");
  return elbo_unchecked(*model, x, gen);
}

Tensor negative_elbo(Vae& model, const Tensor& x, ::torch::Generator& gen, double beta) {
  check_beta(beta, "negative_elbo");
  check_model(model, "negative_elbo");
  check_rows(x, model->spec().data_dim, "negative_elbo", /*unit=*/true);
  check_cpu_generator(gen, "negative_elbo");
  const ElboTerms t = elbo_unchecked(*model, x, gen);
  return t.distortion + beta * t.rate;
}

Tensor importance_weighted_log_likelihood(Vae& model, const Tensor& x, int64_t k, ::torch::Generator& gen,
                                          int64_t max_rows) {
  const std::string where = "importance_weighted_log_likelihood";
  require(k >= 1, where, "k (samples per image) must be >= 1, got " + std::to_string(k));
  require(max_rows >= 1, where, "max_rows must be >= 1");
  check_model(model, where);
  check_rows(x, model->spec().data_dim, where, /*unit=*/true);
  check_cpu_generator(gen, where);
  ::torch::NoGradGuard no_grad;
  const int64_t n = x.size(0), d = x.size(1);
  const int64_t chunk = std::max<int64_t>(1, max_rows / k);
  std::vector<Tensor> parts;
  for (int64_t i = 0; i < n; i += chunk) {
    const Tensor xc = x.slice(0, i, std::min(n, i + chunk));
    const int64_t b = xc.size(0);
    const auto [mean, log_var] = model->encode(xc);
    const int64_t latent = mean.size(1);
    const Tensor u = ::torch::randn({b, k, latent}, gen, ::torch::TensorOptions().dtype(::torch::kFloat32))
                         .to(mean.device(), mean.scalar_type());
    const Tensor z = mean.unsqueeze(1) + (0.5 * log_var).exp().unsqueeze(1) * u;  // (b, k, K)
    const Tensor logits = model->decode(z.reshape({b * k, latent})).reshape({b, k, d});
    const Tensor log_px = -::torch::binary_cross_entropy_with_logits(logits, xc.unsqueeze(1).expand({b, k, d}), {}, {},
                                                                     at::Reduction::None)
                               .sum(2);
    // ln p(z) − ln q(z|x) = −½ Σ z² + ½ Σ (u² + logvar): the ln 2π terms cancel.
    const Tensor log_ratio = 0.5 * (u.square() + log_var.unsqueeze(1) - z.square()).sum(2);
    const Tensor w = (log_px + log_ratio).to(::torch::kFloat64);
    parts.push_back(::torch::logsumexp(w, 1) - std::log(static_cast<double>(k)));
  }
  return ::torch::cat(parts);
}

VaeEvaluation evaluate_vae(Vae& model, const Tensor& x, int64_t iw_samples, uint64_t seed) {
  const std::string where = "evaluate_vae";
  require(iw_samples >= 0, where, "iw_samples must be >= 0 (0: skip), got " + std::to_string(iw_samples));
  check_model(model, where);
  check_rows(x, model->spec().data_dim, where, /*unit=*/true);
  ::torch::NoGradGuard no_grad;
  auto gen = cpu_generator(seed);
  const int64_t n = x.size(0);
  double distortion = 0, rate = 0;
  for (int64_t i = 0; i < n; i += kEvalChunk) {
    const ElboTerms t = elbo_unchecked(*model, x.slice(0, i, std::min(n, i + kEvalChunk)), gen);
    distortion += t.distortion.sum().item<double>();
    rate += t.rate.sum().item<double>();
  }
  VaeEvaluation e;
  e.images = n;
  e.distortion = distortion / static_cast<double>(n);
  e.rate = rate / static_cast<double>(n);
  e.negative_elbo = e.distortion + e.rate;
  e.iw_samples = iw_samples;
  e.iw_log_likelihood =
      iw_samples > 0 ? importance_weighted_log_likelihood(model, x, iw_samples, gen).mean().item<double>() : kNaN;
  return e;
}

// ---- VIB ------------------------------------------------------------------------------------

VibImpl::VibImpl(const VibSpec& spec) : spec_(spec) {
  require(spec.data_dim >= 1 && spec.hidden >= 1 && spec.latent >= 1, "Vib",
          "data_dim, hidden and latent must be >= 1");
  require(spec.classes >= 2, "Vib", "classes must be >= 2");
  hidden1_ = register_module("hidden1", nn::Linear(spec.data_dim, spec.hidden));
  hidden2_ = register_module("hidden2", nn::Linear(spec.hidden, spec.hidden));
  mean_ = register_module("mean", nn::Linear(spec.hidden, spec.latent));
  log_var_ = register_module("log_var", nn::Linear(spec.hidden, spec.latent));
  classifier_ = register_module("classifier", nn::Linear(spec.latent, spec.classes));
}

std::pair<Tensor, Tensor> VibImpl::encode(const Tensor& x) {
  const Tensor h = ::torch::relu(hidden2_->forward(::torch::relu(hidden1_->forward(x))));
  return {mean_->forward(h), log_var_->forward(h)};
}

Tensor VibImpl::decode(const Tensor& z) {
  return classifier_->forward(z);
}

Tensor vib_loss(Vib& model, const Tensor& x, const Tensor& labels, ::torch::Generator& gen, double beta) {
  const std::string where = "vib_loss";
  check_beta(beta, where);
  check_model(model, where);
  check_rows(x, model->spec().data_dim, where, /*unit=*/true);
  check_labels(labels, x.size(0), model->spec().classes, where);
  check_cpu_generator(gen, where);
  return vib_loss_unchecked(*model, x, labels.to(x.device()), gen, beta);
}

namespace {
// Log of the averaged class probabilities, ln (1/S) Σ_s softmax(decode(z_s)), (B, C), plus the
// log-probabilities of the first sample (B, C) for the one-sample error.
std::pair<Tensor, Tensor> averaged_log_probs(VibImpl& model, const Tensor& mean, const Tensor& log_var, int64_t s,
                                             ::torch::Generator& gen) {
  const Tensor u =
      ::torch::randn({s, mean.size(0), mean.size(1)}, gen, ::torch::TensorOptions().dtype(::torch::kFloat32))
          .to(mean.device(), mean.scalar_type());
  const Tensor z = mean.unsqueeze(0) + (0.5 * log_var).exp().unsqueeze(0) * u;
  const Tensor log_p = ::torch::log_softmax(model.decode(z), -1);  // (S, B, C)
  return {::torch::logsumexp(log_p, 0) - std::log(static_cast<double>(s)), log_p[0]};
}
}  // namespace

Tensor vib_predict(Vib& model, const Tensor& x, int64_t samples, ::torch::Generator& gen) {
  const std::string where = "vib_predict";
  require(samples >= 0, where, "samples must be >= 0 (0: z = mean), got " + std::to_string(samples));
  check_model(model, where);
  check_rows(x, model->spec().data_dim, where, /*unit=*/true);
  check_cpu_generator(gen, where);
  ::torch::NoGradGuard no_grad;
  const auto [mean, log_var] = model->encode(x);
  if (samples == 0) return ::torch::softmax(model->decode(mean), -1);
  return averaged_log_probs(*model, mean, log_var, samples, gen).first.exp();
}

VibEvaluation evaluate_vib(Vib& model, const Tensor& x, const Tensor& labels, int64_t samples, uint64_t seed) {
  const std::string where = "evaluate_vib";
  require(samples >= 1, where, "samples must be >= 1, got " + std::to_string(samples));
  check_model(model, where);
  check_rows(x, model->spec().data_dim, where, /*unit=*/true);
  check_labels(labels, x.size(0), model->spec().classes, where);
  ::torch::NoGradGuard no_grad;
  auto gen = cpu_generator(seed);
  const int64_t n = x.size(0);
  const Tensor y_all = labels.to(x.device());
  double wrong = 0, wrong_one = 0, wrong_mean = 0, rate = 0, log_loss = 0;
  for (int64_t i = 0; i < n; i += kEvalChunk) {
    const int64_t end = std::min(n, i + kEvalChunk);
    const Tensor xc = x.slice(0, i, end), y = y_all.slice(0, i, end);
    const auto [mean, log_var] = model->encode(xc);
    const auto [avg, first] = averaged_log_probs(*model, mean, log_var, samples, gen);
    wrong += avg.argmax(1).ne(y).sum().item<double>();
    wrong_one += first.argmax(1).ne(y).sum().item<double>();
    wrong_mean += model->decode(mean).argmax(1).ne(y).sum().item<double>();
    rate += kl_rows(mean, log_var).sum().item<double>();
    log_loss -= avg.gather(1, y.unsqueeze(1)).sum().item<double>();
  }
  const double count = static_cast<double>(n);
  VibEvaluation e;
  e.samples = samples;
  e.images = n;
  e.error = wrong / count;
  e.error_one_sample = wrong_one / count;
  e.error_mean = wrong_mean / count;
  e.rate = rate / count;
  e.log_loss = log_loss / count;
  return e;
}

// ---- training -------------------------------------------------------------------------------

VaeRun train_vae(const ImageSet& train, const ImageSet& test, const VaeSpec& spec, const VariationalTraining& options,
                 const VariationalLog& log) {
  const std::string where = "train_vae";
  check_options(options, where);
  VaeRun run;
  run.model = Vae(spec);  // checks the sizes
  check_set(train, spec.data_dim, 0, where, "training");
  const bool with_test = test.images.defined();
  if (with_test) check_set(test, spec.data_dim, 0, where, "test");
  const int64_t n = training_rows(train, options.limit);
  require(options.batch <= n, where,
          "batch " + std::to_string(options.batch) + " exceeds the " + std::to_string(n) + " training images");

  const ::torch::Device device = train.images.device();
  auto init = cpu_generator(derive_seed(options.seed, kInitStream));
  initialize(*run.model, Init::default_, init);
  run.model->to(device);
  const Tensor p = pixel_probabilities(train.images.slice(0, 0, n));
  const Tensor x_test = with_test ? binarized_test_set(test.images).to(device) : Tensor();
  VaeImpl& model = *run.model;

  Loop loop;
  loop.kind = "vae";
  loop.config = {{"model", "vae"},
                 {"data_dim", spec.data_dim},
                 {"hidden", spec.hidden},
                 {"latent", spec.latent},
                 {"activation", to_string(spec.activation)},
                 {"batch", options.batch},
                 {"lr", options.lr},
                 {"lr_decay", options.lr_decay},
                 {"decay_every", options.decay_every},
                 {"beta", options.beta},
                 {"seed", options.seed},
                 {"training_images", n}};
  loop.model = &model;
  loop.rows = n;
  const double beta = options.beta;
  loop.batch_loss = [&](const Tensor& rows, ::torch::Generator& noise) {
    const Tensor x = binarize_rows(p.index_select(0, rows.to(device)), noise);
    const ElboTerms t = elbo_unchecked(model, x, noise);
    return (t.distortion + beta * t.rate).mean();
  };
  if (with_test) {
    loop.test_value = [&] {
      auto gen = cpu_generator(derive_seed(options.seed, kEvalStream));
      double sum = 0;
      const int64_t m = x_test.size(0);
      for (int64_t i = 0; i < m; i += kEvalChunk) {
        const ElboTerms t = elbo_unchecked(model, x_test.slice(0, i, std::min(m, i + kEvalChunk)), gen);
        sum += (t.distortion + t.rate).sum().item<double>();
      }
      return sum / static_cast<double>(m);
    };
    loop.test_label = "test -ELBO %.2f nats";
  }
  run.history = run_loop(loop, options, log);
  return run;
}

VibRun train_vib(const ImageSet& train, const ImageSet& test, const VibSpec& spec, const VariationalTraining& options,
                 const VariationalLog& log) {
  const std::string where = "train_vib";
  check_options(options, where);
  VibRun run;
  run.model = Vib(spec);
  check_set(train, spec.data_dim, spec.classes, where, "training");
  const bool with_test = test.images.defined();
  if (with_test) check_set(test, spec.data_dim, spec.classes, where, "test");
  const int64_t n = training_rows(train, options.limit);
  require(options.batch <= n, where,
          "batch " + std::to_string(options.batch) + " exceeds the " + std::to_string(n) + " training images");

  const ::torch::Device device = train.images.device();
  auto init = cpu_generator(derive_seed(options.seed, kInitStream));
  initialize(*run.model, Init::default_, init);
  run.model->to(device);
  const Tensor x = pixel_probabilities(train.images.slice(0, 0, n));
  const Tensor y = train.labels.slice(0, 0, n).to(device);
  const Tensor x_test = with_test ? pixel_probabilities(test.images).to(device) : Tensor();
  const Tensor y_test = with_test ? test.labels.to(device) : Tensor();
  VibImpl& model = *run.model;

  Loop loop;
  loop.kind = "vib";
  loop.config = {{"model", "vib"},        {"data_dim", spec.data_dim},    {"hidden", spec.hidden},
                 {"latent", spec.latent}, {"classes", spec.classes},      {"batch", options.batch},
                 {"lr", options.lr},      {"lr_decay", options.lr_decay}, {"decay_every", options.decay_every},
                 {"beta", options.beta},  {"seed", options.seed},         {"training_images", n}};
  loop.model = &model;
  loop.rows = n;
  const double beta = options.beta;
  loop.batch_loss = [&](const Tensor& rows, ::torch::Generator& noise) {
    const Tensor r = rows.to(device);
    return vib_loss_unchecked(model, x.index_select(0, r), y.index_select(0, r), noise, beta).mean();
  };
  if (with_test) {
    loop.test_value = [&] {
      auto gen = cpu_generator(derive_seed(options.seed, kEvalStream));
      double wrong = 0;
      const int64_t m = x_test.size(0);
      for (int64_t i = 0; i < m; i += kEvalChunk) {
        const int64_t end = std::min(m, i + kEvalChunk);
        const auto [mean, log_var] = model.encode(x_test.slice(0, i, end));
        const Tensor avg = averaged_log_probs(model, mean, log_var, 12, gen).first;
        wrong += avg.argmax(1).ne(y_test.slice(0, i, end)).sum().item<double>();
      }
      return wrong / static_cast<double>(m);
    };
    loop.test_label = "test error %.2f %%";
    loop.test_scale = 100;
  }
  run.history = run_loop(loop, options, log);
  return run;
}

}  // namespace odyn::gan
