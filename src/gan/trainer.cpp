// The GAN training loop (seed-gan §5b, C-QP order), checkpoints, metrics log and sample images.
#include "odyn/gan/trainer.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>
#include <vector>

#include "odyn/gan/evaluate.hpp"
#include "odyn/gan/ogan.hpp"
#include "odyn/io/atomic_file.hpp"
#include "odyn/io/mnist.hpp"
#include "odyn/io/plot.hpp"
#include "odyn/io/png.hpp"
#include "odyn/torch/tensor.hpp"

namespace odyn::gan {
namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError("gan::Trainer: cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Copies the parameters and buffers of `from` into those of `to` (same architecture) in place, so
// that optimizers and the EMA that hold `to`'s tensors keep seeing them.
void copy_module_state(const ::torch::nn::Module& from, ::torch::nn::Module& to) {
  ::torch::NoGradGuard no_grad;
  const auto src_params = from.named_parameters();
  for (auto& item : to.named_parameters()) item.value().copy_(src_params[item.key()]);
  const auto src_buffers = from.named_buffers();
  for (auto& item : to.named_buffers()) item.value().copy_(src_buffers[item.key()]);
}

// Reads a module saved with ::torch::save into `target` (copying in place).
template <typename Holder>
void load_module(const std::string& path, const Holder& fresh, Holder& target) {
  if (!fs::exists(path)) throw IoError("gan::Trainer: checkpoint file " + path + " is missing");
  Holder loaded = fresh;
  try {
    ::torch::load(loaded, path, ::torch::kCPU);  // a run saved on a GPU loads anywhere
  } catch (const c10::Error& e) {
    throw IoError("gan::Trainer: cannot read " + path + ": " + e.what_without_backtrace());
  }
  copy_module_state(*loaded, *target);
}

template <typename Holder>
void save_module(const Holder& module, const std::string& path) {
  try {
    ::torch::save(module, path);
  } catch (const c10::Error& e) {
    throw IoError("gan::Trainer: cannot write " + path + ": " + e.what_without_backtrace());
  }
}

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto s = static_cast<int64_t>(std::llround(seconds));
  char buf[48];
  if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(s / 3600),
                  static_cast<long long>(s / 60 % 60));
  } else if (s >= 60) {
    std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(s / 60), static_cast<long long>(s % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(s));
  }
  return buf;
}

std::string checkpoint_name(int64_t iteration) {
  return "step-" + std::to_string(iteration);
}

// The iteration of a checkpoint directory name "step-<N>", or -1.
int64_t checkpoint_iteration(const std::string& name) {
  if (name.rfind("step-", 0) != 0 || name.size() == 5) return -1;
  for (std::size_t i = 5; i < name.size(); ++i)
    if (name[i] < '0' || name[i] > '9') return -1;
  return std::stoll(name.substr(5));
}

std::vector<double> column(const Tensor& t, int64_t j) {
  const Tensor c = t.select(1, j).to(::torch::kCPU, ::torch::kFloat64).contiguous();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

}  // namespace

uint64_t stream_seed(uint64_t seed, Stream s) {
  // splitmix64 of seed and stream number: nearby seeds and streams give unrelated generator seeds.
  uint64_t z = seed + 0x9e3779b97f4a7c15ULL * (static_cast<uint64_t>(s) + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

::torch::Device training_device(const std::string& device) {
  if (device == "cpu") return ::torch::kCPU;
  if (device == "cuda") {
    if (!::torch::cuda::is_available())
      throw InvalidArgument("gan: device cuda requested but CUDA is not available (LibTorch sees no GPU)");
    return ::torch::kCUDA;
  }
  throw InvalidArgument("gan: unknown device '" + device + "' (expected cpu or cuda)");
}

void write_sample_image(const std::string& path, const TrainConfig& config, const Tensor& samples, const Tensor& real) {
  fs::create_directories(fs::path(path).parent_path());
  if (!config.data.is_mnist()) {
    io::Plot plot(640, 640);
    plot.set_title(config.data.name + ": " + config.loss_name);
    // Modes first, so that the samples are drawn over them.
    const Tensor modes = toy_distribution(parse_toy_kind(config.data.name)).modes();
    for (int64_t k = 0; k < modes.size(0); ++k)
      plot.add_marker(modes[k][0].item<double>(), modes[k][1].item<double>(), io::Color{255, 200, 200},
                      k == 0 ? "modes" : "");
    const Tensor truth = real.slice(0, 0, std::min<int64_t>(real.size(0), 2000));
    plot.add_points(column(truth, 0), column(truth, 1), io::Color{150, 150, 150}, "true");
    plot.add_points(column(samples, 0), column(samples, 1), io::default_color(0), "generated");
    plot.save(path);
    return;
  }
  write_image_grid(path, samples.slice(0, 0, std::min<int64_t>(samples.size(0), 64)), 8);
}

void write_image_grid(const std::string& path, const Tensor& images, int64_t columns) {
  if (!images.defined() || images.numel() % 784 != 0 || images.numel() == 0 || columns < 1)
    throw InvalidArgument("gan::write_image_grid: expected (N, 1, 28, 28) images and columns >= 1");
  fs::create_directories(fs::path(path).parent_path());
  // 28×28 digits, each pixel drawn 2×2, 2-pixel gaps.
  constexpr int kScale = 2, kGap = 2, kCell = 28 * kScale;
  const int64_t n = images.numel() / 784;
  const int64_t rows = (n + columns - 1) / columns;
  const Tensor pixels = ((images.reshape({n, 28, 28}).to(::torch::kCPU, ::torch::kFloat32) + 1) * 127.5)
                            .clamp(0, 255)
                            .round()
                            .to(::torch::kUInt8)
                            .contiguous();
  const int width = static_cast<int>(columns * kCell + (columns + 1) * kGap);
  const int height = static_cast<int>(rows * kCell + (rows + 1) * kGap);
  io::Image image(width, height, io::Color{40, 40, 40});
  const uint8_t* p = pixels.data_ptr<uint8_t>();
  for (int64_t i = 0; i < n; ++i) {
    const int x0 = kGap + static_cast<int>(i % columns) * (kCell + kGap);
    const int y0 = kGap + static_cast<int>(i / columns) * (kCell + kGap);
    for (int y = 0; y < kCell; ++y)
      for (int x = 0; x < kCell; ++x) {
        const uint8_t v = p[i * 784 + (y / kScale) * 28 + x / kScale];
        image.set(x0 + x, y0 + y, io::Color{v, v, v});
      }
  }
  io::write_png(path, image);
}

Trainer::Trainer(TrainConfig config, std::string run_dir)
    : config_(std::move(config)),
      run_dir_(std::move(run_dir)),
      device_(training_device(config_.train.device)),
      loss_(config_.loss),
      latent_gen_(cpu_generator(stream_seed(config_.train.seed, Stream::latent))),
      penalty_gen_(cpu_generator(stream_seed(config_.train.seed, Stream::penalty))) {
  validate_config(config_, run_dir_ + "/config.toml");
  if (run_dir_.empty()) throw InvalidArgument("gan::Trainer: the run directory is empty");
  // O-GAN's critic is an encoder onto the latent space.
  config_.model.critic_outputs = config_.loss.kind == LossKind::ogan ? config_.model.latent_dim : 1;
  odyn::torch::set_num_threads(config_.train.threads);
  const auto& t = config_.train;

  // Data: a fixed toy training set drawn once (PacGAN: 100k points), or the MNIST training images.
  if (config_.data.is_mnist()) {
    const std::string dir = config_.data.dir.empty() ? io::default_mnist_dir() : config_.data.dir;
    data_ = load_mnist(dir, io::MnistSplit::train).images;
  } else {
    toy_ = toy_distribution(parse_toy_kind(config_.data.name));
    auto gen = cpu_generator(stream_seed(t.seed, Stream::data));
    data_ = toy_->sample(config_.data.samples, gen);
  }
  if (t.batch > data_.size(0))
    throw InvalidArgument("gan::Trainer: train.batch " + std::to_string(t.batch) + " exceeds the " +
                          std::to_string(data_.size(0)) + " training samples");
  sampler_ = std::make_unique<BatchSampler>(data_.to(device_), t.batch, stream_seed(t.seed, Stream::sampler));

  // Models, initialised from the init stream on the CPU, then moved.
  generator_ = make_generator(config_.model);
  critic_ = make_critic(config_.model);
  {
    auto gen = cpu_generator(stream_seed(t.seed, Stream::init));
    initialize(*generator_, config_.model.init, gen);
    initialize(*critic_, config_.model.init, gen);
    if (config_.loss.entropy > 0) {
      statistics_ = StatisticsNetwork(config_.model);
      initialize(*statistics_, config_.model.init, gen);
    }
  }
  generator_->to(device_);
  critic_->to(device_);
  if (statistics_) statistics_->to(device_);
  if (t.ema > 0) {
    ema_ = std::make_unique<odyn::torch::WeightEma>(*generator_, t.ema);
    ema_generator_ = make_generator(config_.model);
    ema_generator_->to(device_);
  }

  const auto make_optimizer = [&](const OptimizerConfig& o, const ::torch::nn::Module& module, int64_t steps) {
    dynamics::OptimizerSettings settings;
    settings.beta1 = o.beta1;
    settings.beta2 = o.beta2;
    settings.eps = o.eps;
    settings.weight_decay = o.weight_decay;
    settings.momentum = o.momentum;
    odyn::torch::ParamGroup group;
    group.params = module.parameters();
    group.lr = o.lr;
    auto optimizer = odyn::torch::make_tensor_optimizer(o.name, {group}, settings);
    // Every parameter gets a gradient at every step, so flat storage changes nothing but the kernel
    // count: a handful per step instead of a handful per weight and bias.
    optimizer->set_contiguous(true);
    // Linear decay to 0 over the run: step k of `steps` uses lr (1 − k / steps).
    if (t.lr_decay == "linear")
      optimizer->set_lr_schedule([steps](int64_t k) { return std::max(0.0, 1.0 - static_cast<double>(k) / steps); });
    return optimizer;
  };
  if (has_generator()) generator_optimizer_ = make_optimizer(config_.generator_optimizer, *generator_, t.iterations);
  if (config_.loss.kind == LossKind::ebm) {
    replay_ = std::make_unique<ReplayBuffer>(config_.loss.buffer_size, config_.loss.buffer_reuse);
    const Tensor flat = data_.reshape({data_.size(0), -1});
    box_low_ = std::get<0>(flat.min(0)).to(device_);
    box_high_ = std::get<0>(flat.max(0)).to(device_);
  }
  critic_optimizer_ = make_optimizer(config_.critic_optimizer, *critic_, t.iterations * t.critic_steps);
  // The statistics network steps with the generator, with the generator's optimizer settings (as in
  // the MEG reference code).
  if (statistics_) statistics_optimizer_ = make_optimizer(config_.generator_optimizer, *statistics_, t.iterations);
}

Trainer::~Trainer() = default;

std::string Trainer::last_checkpoint() const {
  const fs::path latest = fs::path(run_dir_) / "checkpoints" / "latest";
  if (!fs::exists(latest)) return "none";
  std::string name = read_text(latest.string());
  while (!name.empty() && (name.back() == '\n' || name.back() == '\r')) name.pop_back();
  return (fs::path(run_dir_) / "checkpoints" / name).string();
}

double Trainer::checked(const Tensor& loss, const char* name) const {
  const double v = loss.item<double>();
  if (!std::isfinite(v)) {
    throw TrainingDiverged(std::string("loss ") + name + " is " + (std::isnan(v) ? "nan" : "inf") + " at iteration " +
                           std::to_string(iteration_ + 1) + "; last good checkpoint: " + last_checkpoint());
  }
  return v;
}

Tensor Trainer::latent(int64_t n) {
  return ::torch::randn({n, config_.model.latent_dim}, latent_gen_, ::torch::kFloat32).to(device_);
}

Tensor Trainer::scores(const Tensor& x) {
  if (config_.loss.kind == LossKind::ogan) return critic_->forward(x).mean(1);
  return critic_scores(critic_, x);
}

TrainStep Trainer::ogan_step(bool with_parts) {
  generator_->train();
  critic_->train();
  const Tensor real = sampler_->next();
  const Tensor z = latent(config_.train.batch);
  const Encoder encoder = [this](const Tensor& x) { return critic_->forward(x); };
  critic_optimizer_->zero_grad(/*set_to_none=*/true);
  generator_optimizer_->zero_grad(/*set_to_none=*/true);
  LossValue value = ogan_loss(encoder, real, z, generator_->forward(z), config_.loss, with_parts);
  TrainStep result;
  result.d_loss = result.g_loss = checked(value.loss, "loss");
  value.loss.backward();
  critic_optimizer_->step();
  generator_optimizer_->step();
  result.d_parts = std::move(value.parts);
  if (ema_) ema_->update();
  result.iteration = ++iteration_;
  return result;
}

Tensor Trainer::energy_chains(int64_t n, ::torch::Generator& gen, bool store) {
  std::vector<int64_t> shape = data_.sizes().vec();
  const auto fresh = [&](int64_t rows) {
    shape[0] = rows;
    const Tensor u = ::torch::rand({rows, box_low_.size(0)}, gen, ::torch::kFloat32).to(device_);
    return (box_low_ + u * (box_high_ - box_low_)).reshape(shape);
  };
  const Tensor start = replay_->initial(n, fresh, gen);
  const EnergyFn energy = [this](const Tensor& x) { return -critic_scores(critic_, x); };
  const Tensor negatives =
      langevin(energy, start, {config_.loss.langevin_steps, config_.loss.langevin_step_size}, gen).samples;
  if (store) replay_->push(negatives);
  return negatives;
}

TrainStep Trainer::ebm_step(bool with_parts) {
  critic_->train();
  const Critic critic = [this](const Tensor& x) { return critic_scores(critic_, x); };
  const Tensor real = sampler_->next();
  const Tensor negatives = energy_chains(config_.train.batch, penalty_gen_, /*store=*/true);
  critic_optimizer_->zero_grad(/*set_to_none=*/true);
  LossValue value = loss_.critic_loss(critic, real, negatives, penalty_gen_, with_parts);
  TrainStep result;
  result.d_loss = checked(value.loss, "d_loss");
  value.loss.backward();
  critic_optimizer_->step();
  result.d_parts = std::move(value.parts);
  result.iteration = ++iteration_;
  return result;
}

TrainStep Trainer::step(bool with_parts) {
  if (config_.loss.kind == LossKind::ogan) return ogan_step(with_parts);
  if (config_.loss.kind == LossKind::ebm) return ebm_step(with_parts);
  const int64_t batch = config_.train.batch;
  const Critic critic = [this](const Tensor& x) { return critic_scores(critic_, x); };
  generator_->train();
  critic_->train();
  TrainStep result;

  // Critic steps, each with a new real batch and new latent codes; the fakes carry no graph.
  for (int64_t c = 0; c < config_.train.critic_steps; ++c) {
    const Tensor real = sampler_->next();
    Tensor fake;
    {
      ::torch::NoGradGuard no_grad;
      fake = generator_->forward(latent(batch));
    }
    critic_optimizer_->zero_grad(/*set_to_none=*/true);
    LossValue value = loss_.critic_loss(critic, real, fake, penalty_gen_, with_parts);
    result.d_loss = checked(value.loss, "d_loss");
    value.loss.backward();
    critic_optimizer_->step();
    result.d_parts = std::move(value.parts);
  }

  // Generator step; the critic's parameters are frozen so that no gradient reaches them.
  const Tensor real = sampler_->next();
  const Tensor z = latent(batch);
  struct Freeze {
    std::vector<Tensor> params;
    explicit Freeze(std::vector<Tensor> p) : params(std::move(p)) {
      for (auto& t : params) t.requires_grad_(false);
    }
    ~Freeze() {
      for (auto& t : params) t.requires_grad_(true);
    }
  } freeze(critic_->parameters());
  generator_optimizer_->zero_grad(/*set_to_none=*/true);
  const Tensor fake = generator_->forward(z);
  LossValue value = loss_.generator_loss(critic, real, fake, with_parts);
  if (statistics_) {
    // MEG: the generator (and the statistics network) maximise the mutual information I(G(z), z).
    statistics_optimizer_->zero_grad(/*set_to_none=*/true);
    const Tensor mi = jsd_mutual_information(statistics_, fake, z, penalty_gen_);
    value.loss = value.loss - config_.loss.entropy * mi;
    if (with_parts) value.parts["mi"] = mi.detach();
  }
  result.g_loss = checked(value.loss, "g_loss");
  value.loss.backward();
  generator_optimizer_->step();
  if (statistics_) statistics_optimizer_->step();
  result.g_parts = std::move(value.parts);
  if (ema_) ema_->update();

  result.iteration = ++iteration_;
  return result;
}

::torch::nn::Sequential Trainer::evaluation_generator() {
  if (!has_generator()) throw InvalidArgument("gan::Trainer: an ebm run has no generator");
  if (!ema_) return generator_;
  copy_module_state(*generator_, *ema_generator_);  // buffers (batch-norm statistics) of the trained one
  ema_->copy_to(ema_generator_->named_parameters());
  return ema_generator_;
}

Tensor Trainer::sample(int64_t n, ::torch::Generator& gen) {
  if (n < 1) throw InvalidArgument("gan::Trainer::sample: n must be >= 1, got " + std::to_string(n));
  if (!has_generator()) {
    critic_->eval();
    std::vector<Tensor> parts;
    for (int64_t start = 0; start < n; start += 1000)
      parts.push_back(energy_chains(std::min<int64_t>(1000, n - start), gen, /*store=*/false).cpu());
    critic_->train();
    return ::torch::cat(parts);
  }
  ::torch::nn::Sequential g = evaluation_generator();
  ::torch::NoGradGuard no_grad;
  g->eval();
  std::vector<Tensor> parts;
  for (int64_t start = 0; start < n; start += 1000) {
    const int64_t m = std::min<int64_t>(1000, n - start);
    const Tensor z = ::torch::randn({m, config_.model.latent_dim}, gen, ::torch::kFloat32).to(device_);
    parts.push_back(g->forward(z).to(::torch::kCPU));
  }
  g->train();
  return ::torch::cat(parts);
}

std::string Trainer::save_checkpoint() {
  // A step with a finite loss can still leave non-finite weights; such a state is never saved.
  {
    ::torch::NoGradGuard no_grad;
    std::vector<Tensor> params = critic_->parameters();
    if (has_generator())
      for (const Tensor& p : generator_->parameters()) params.push_back(p);
    if (statistics_)
      for (const Tensor& p : statistics_->parameters()) params.push_back(p);
    {
      for (const Tensor& p : params) {
        if (!::torch::isfinite(p).all().item<bool>())
          throw TrainingDiverged("gan::Trainer: non-finite weights at iteration " + std::to_string(iteration_) +
                                 "; last good checkpoint: " + last_checkpoint());
      }
    }
  }
  const fs::path dir = fs::path(run_dir_) / "checkpoints";
  const std::string name = checkpoint_name(iteration_);
  const fs::path partial = dir / (name + ".partial");
  fs::create_directories(dir);
  fs::remove_all(partial);
  fs::create_directories(partial);

  if (has_generator()) {
    save_module(generator_, (partial / "generator.pt").string());
    generator_optimizer_->save((partial / "generator_optimizer.pt").string());
  }
  save_module(critic_, (partial / "critic.pt").string());
  if (ema_) save_module(evaluation_generator(), (partial / "ema.pt").string());
  critic_optimizer_->save((partial / "critic_optimizer.pt").string());
  if (statistics_) {
    save_module(statistics_, (partial / "statistics.pt").string());
    statistics_optimizer_->save((partial / "statistics_optimizer.pt").string());
  }
  try {
    std::vector<Tensor> states{latent_gen_.get_state(), penalty_gen_.get_state(), sampler_->state()};
    if (replay_)
      for (const Tensor& t : replay_->state()) states.push_back(t);
    ::torch::save(states, (partial / "rng.pt").string());
  } catch (const c10::Error& e) {
    throw IoError("gan::Trainer: cannot write " + (partial / "rng.pt").string() + ": " + e.what_without_backtrace());
  }
  nlohmann::json state = {{"iteration", iteration_}, {"elapsed_s", elapsed_s_}};
  io::write_file_atomically((partial / "state.json").string(),
                            [&](std::ostream& out) { out << state.dump(2) << '\n'; });

  // The directory is complete: move it into place, then switch `latest` atomically.
  const fs::path final_dir = dir / name;
  fs::remove_all(final_dir);
  fs::rename(partial, final_dir);
  io::write_file_atomically((dir / "latest").string(), [&](std::ostream& out) { out << name << '\n'; });

  // Keep this checkpoint and the one before it.
  std::vector<int64_t> steps;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string entry_name = entry.path().filename().string();
    const int64_t n = checkpoint_iteration(entry_name);
    if (n >= 0 && entry.is_directory())
      steps.push_back(n);
    else if (entry_name.size() > 8 && entry_name.substr(entry_name.size() - 8) == ".partial")
      fs::remove_all(entry.path());
  }
  std::sort(steps.begin(), steps.end());
  for (std::size_t i = 0; i + 2 < steps.size(); ++i)
    if (steps[i] != iteration_) fs::remove_all(dir / checkpoint_name(steps[i]));
  return final_dir.string();
}

bool Trainer::load_latest_checkpoint() {
  const std::string path = last_checkpoint();
  if (path == "none") return false;
  if (!fs::is_directory(path)) throw IoError("gan::Trainer: checkpoints/latest names " + path + ", which is missing");
  const fs::path dir(path);

  // The EMA starts from the saved averages: load them into the generator, build the EMA from it,
  // then load the generator's own weights (the averages are a copy, so they stay).
  if (ema_) {
    load_module((dir / "ema.pt").string(), make_generator(config_.model), generator_);
    ema_ = std::make_unique<odyn::torch::WeightEma>(*generator_, config_.train.ema);
  }
  if (has_generator()) {
    load_module((dir / "generator.pt").string(), make_generator(config_.model), generator_);
    generator_optimizer_->load((dir / "generator_optimizer.pt").string());
  }
  load_module((dir / "critic.pt").string(), make_critic(config_.model), critic_);
  critic_optimizer_->load((dir / "critic_optimizer.pt").string());
  if (statistics_) {
    load_module((dir / "statistics.pt").string(), StatisticsNetwork(config_.model), statistics_);
    statistics_optimizer_->load((dir / "statistics_optimizer.pt").string());
  }
  std::vector<Tensor> states;
  try {
    ::torch::load(states, (dir / "rng.pt").string(), ::torch::kCPU);
  } catch (const c10::Error& e) {
    throw IoError("gan::Trainer: cannot read " + (dir / "rng.pt").string() + ": " + e.what_without_backtrace());
  }
  if (states.size() < 3 || (states.size() > 3) != static_cast<bool>(replay_))
    throw IoError("gan::Trainer: " + (dir / "rng.pt").string() + " is not a checkpoint's random state");
  latent_gen_.set_state(states[0]);
  penalty_gen_.set_state(states[1]);
  sampler_->set_state(states[2]);
  if (replay_) {
    try {
      replay_->set_state(std::vector<Tensor>(states.begin() + 3, states.end()));
    } catch (const InvalidArgument& e) {
      throw IoError("gan::Trainer: " + (dir / "rng.pt").string() + ": " + e.what());
    }
  }
  nlohmann::json state;
  try {
    state = nlohmann::json::parse(read_text((dir / "state.json").string()));
    iteration_ = state.at("iteration").get<int64_t>();
    elapsed_s_ = state.at("elapsed_s").get<double>();
  } catch (const nlohmann::json::exception& e) {
    throw IoError("gan::Trainer: " + (dir / "state.json").string() + ": " + e.what());
  }
  return true;
}

void Trainer::run(bool resume, const ProgressFn& progress) {
  const fs::path run(run_dir_);
  fs::create_directories(run);
  const std::string config_path = (run / "config.toml").string();
  const std::string metrics_path = (run / "metrics.jsonl").string();
  const auto& t = config_.train;

  if (resume) {
    // The stored configuration must describe the same run (the length, device and threads may change).
    if (fs::exists(config_path)) {
      TrainConfig stored = load_config(config_path), current = config_;
      // The linear decay's length is that of the run, so with it the length is fixed too.
      for (TrainConfig* c : {&stored, &current}) {
        if (c->train.lr_decay == "none") c->train.iterations = 1;
        c->train.device = "cpu";
        c->train.threads = 1;
      }
      if (to_toml(stored) != to_toml(current))
        throw InvalidArgument("gan::Trainer: the configuration differs from the run's " + config_path +
                              " (only device, threads and, without lr_decay, train.iterations may change on --resume)");
    }
    const bool resumed = load_latest_checkpoint();
    if (progress)
      progress(resumed ? "resuming " + run_dir_ + " at step " + std::to_string(iteration_)
                       : "no checkpoint in " + run_dir_ + "; starting afresh");
  } else if (fs::exists(run / "checkpoints" / "latest")) {
    throw InvalidArgument("gan::Trainer: " + run_dir_ +
                          " already holds a run (checkpoints/latest); resume it or choose another output directory");
  }
  if (iteration_ > t.iterations)
    throw InvalidArgument("gan::Trainer: the checkpoint is at step " + std::to_string(iteration_) +
                          ", past train.iterations = " + std::to_string(t.iterations));
  const std::string text = to_toml(config_);
  io::write_file_atomically(config_path, [&](std::ostream& out) { out << text; });

  // metrics.jsonl: after a resume keep the lines up to the checkpoint's step (a crashed run may
  // have logged beyond it), rewritten atomically; then append.
  {
    std::string kept;
    if (fs::exists(metrics_path) && iteration_ > 0) {
      std::istringstream lines(read_text(metrics_path));
      for (std::string line; std::getline(lines, line);) {
        try {
          if (nlohmann::json::parse(line).at("step").get<int64_t>() <= iteration_) kept += line + "\n";
        } catch (const nlohmann::json::exception&) {
          // a line cut short by a crash
        }
      }
    }
    io::write_file_atomically(metrics_path, [&](std::ostream& out) { out << kept; });
  }
  std::ofstream metrics(metrics_path, std::ios::app);
  if (!metrics) throw IoError("gan::Trainer: cannot append to " + metrics_path);

  const auto start = Clock::now();
  const auto seconds_since = [](Clock::time_point a) {
    return std::chrono::duration<double>(Clock::now() - a).count();
  };
  auto window_start = start;
  int64_t window_iteration = iteration_;
  const auto sample_image = [&](const std::string& path) {
    auto gen = cpu_generator(stream_seed(t.seed, Stream::eval));
    write_sample_image(path, config_,
                       sample(config_.data.is_mnist() ? 64 : std::min<int64_t>(config_.eval.samples, 2000), gen),
                       data_);
  };

  while (iteration_ < t.iterations) {
    const int64_t next = iteration_ + 1;
    const bool log_now = next % t.log_every == 0 || next == t.iterations;
    const bool eval_now = t.eval_every > 0 && next % t.eval_every == 0 && !config_.data.is_mnist();
    const TrainStep s = step(/*with_parts=*/log_now || eval_now);
    if (log_now || eval_now) {
      nlohmann::json line = {{"step", iteration_},
                             {"time_s", elapsed_s_ + seconds_since(start)},
                             {"d_loss", s.d_loss},
                             {"g_loss", s.g_loss}};
      for (const auto& [name, value] : s.d_parts) line["d_" + name] = value.item<double>();
      for (const auto& [name, value] : s.g_parts) line["g_" + name] = value.item<double>();
      if (eval_now) {
        auto gen = cpu_generator(stream_seed(t.seed, Stream::eval));
        auto truth_gen = cpu_generator(stream_seed(t.seed, Stream::eval_data));
        const Tensor generated = sample(config_.eval.samples, gen);
        line["eval"] = toy_evaluation(generated, toy_->sample(config_.eval.samples, truth_gen), toy_->kind);
      }
      metrics << line.dump() << '\n' << std::flush;
      if (!metrics) throw IoError("gan::Trainer: cannot append to " + metrics_path);
    }
    if (log_now && progress) {
      const double window_s = seconds_since(window_start);
      const double rate = window_s > 0 ? static_cast<double>(iteration_ - window_iteration) / window_s : 0;
      char buf[256];
      std::snprintf(buf, sizeof buf, "step %lld/%lld (%.1f%%) %.1f it/s ETA %s d_loss %.4f g_loss %.4f",
                    static_cast<long long>(iteration_), static_cast<long long>(t.iterations),
                    100.0 * static_cast<double>(iteration_) / static_cast<double>(t.iterations), rate,
                    format_duration(rate > 0 ? static_cast<double>(t.iterations - iteration_) / rate : NAN).c_str(),
                    s.d_loss, s.g_loss);
      progress(buf);
      window_start = Clock::now();
      window_iteration = iteration_;
    }
    if (t.sample_every > 0 && iteration_ % t.sample_every == 0)
      sample_image((run / "samples" / (checkpoint_name(iteration_) + ".png")).string());
    if (iteration_ % t.checkpoint_every == 0 || iteration_ == t.iterations) {
      const double before = elapsed_s_;
      elapsed_s_ += seconds_since(start);
      save_checkpoint();
      elapsed_s_ = before;
    }
  }
  const fs::path final_image = run / "samples" / (checkpoint_name(iteration_) + ".png");
  if (!fs::exists(final_image)) sample_image(final_image.string());
}

}  // namespace odyn::gan
