// TOML configuration of a GAN training run (toml++ v3).
#include "odyn/gan/config.hpp"

#include <toml++/toml.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>
#include <utility>
#include <vector>

#include "odyn/core/error.hpp"
#include "odyn/torch/optim.hpp"

namespace odyn::gan {
namespace {

// The kinds with a λ: wgan_gp, gan_qp, energy (the gradient penalty), ogan (λ1) and ebm (the
// squared-energy term).
bool uses_lambda(LossKind kind) {
  return kind == LossKind::wgan_gp || kind == LossKind::gan_qp || kind == LossKind::energy || kind == LossKind::ogan ||
         kind == LossKind::ebm;
}

std::string join(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}

// Reads typed values from the tables of one document, naming the source and key in errors.
class Reader {
 public:
  explicit Reader(std::string source) : source_(std::move(source)) {}

  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    throw InvalidArgument("gan config " + source_ + ": " + key + ": " + what);
  }

  // Rejects keys of `table` (called `prefix`) other than `allowed`.
  void check_keys(const toml::table& table, const std::string& prefix, const std::vector<std::string>& allowed) const {
    for (const auto& [key, node] : table) {
      const std::string k(key.str());
      bool known = false;
      for (const auto& a : allowed) known = known || a == k;
      if (!known) fail(prefix.empty() ? k : prefix + "." + k, "unknown key (expected one of: " + join(allowed) + ")");
    }
  }

  const toml::table* subtable(const toml::table& parent, const std::string& key, const std::string& name) const {
    const toml::node* node = parent.get(key);
    if (!node) return nullptr;
    if (!node->is_table()) fail(name, "expected a table");
    return node->as_table();
  }

  void read(const toml::table* t, const std::string& prefix, const std::string& key, int64_t& value) const {
    const toml::node* node = t ? t->get(key) : nullptr;
    if (!node) return;
    if (!node->is_integer()) fail(prefix + "." + key, "expected an integer");
    value = node->as_integer()->get();
  }
  void read(const toml::table* t, const std::string& prefix, const std::string& key, int& value) const {
    int64_t v = value;
    read(t, prefix, key, v);
    if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max())
      fail(prefix + "." + key, "out of range");
    value = static_cast<int>(v);
  }
  void read(const toml::table* t, const std::string& prefix, const std::string& key, double& value) const {
    const toml::node* node = t ? t->get(key) : nullptr;
    if (!node) return;
    if (node->is_integer()) {
      value = static_cast<double>(node->as_integer()->get());
    } else if (node->is_floating_point()) {
      value = node->as_floating_point()->get();
    } else {
      fail(prefix + "." + key, "expected a number");
    }
    if (!std::isfinite(value)) fail(prefix + "." + key, "must be finite");
  }
  void read(const toml::table* t, const std::string& prefix, const std::string& key, std::string& value) const {
    const toml::node* node = t ? t->get(key) : nullptr;
    if (!node) return;
    if (!node->is_string()) fail(prefix + "." + key, "expected a string");
    value = node->as_string()->get();
  }

 private:
  std::string source_;
};

void read_optimizer(const Reader& r, const toml::table* t, const std::string& prefix, OptimizerConfig& o) {
  if (!t) return;
  r.check_keys(*t, prefix, {"name", "lr", "beta1", "beta2", "eps", "weight_decay", "momentum"});
  r.read(t, prefix, "name", o.name);
  r.read(t, prefix, "lr", o.lr);
  r.read(t, prefix, "beta1", o.beta1);
  r.read(t, prefix, "beta2", o.beta2);
  r.read(t, prefix, "eps", o.eps);
  r.read(t, prefix, "weight_decay", o.weight_decay);
  r.read(t, prefix, "momentum", o.momentum);
}

// "1e-4", "0.5", "3.0": the shortest decimal text that reads back as the same double, as TOML.
std::string number(double v) {
  char buf[40];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  std::string s = buf;
  if (s.find_first_of(".en") == std::string::npos) s += ".0";
  return s;
}

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\u%04x", c);
      out += hex;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

void require(bool ok, const Reader& r, const std::string& key, const std::string& what) {
  if (!ok) r.fail(key, what);
}

void validate_optimizer(const Reader& r, const OptimizerConfig& o, const std::string& prefix) {
  const auto names = odyn::torch::tensor_optimizer_names();
  bool known = false;
  for (const auto& n : names) known = known || n == o.name;
  require(known, r, prefix + ".name", "unknown optimizer '" + o.name + "' (expected one of: " + join(names) + ")");
  require(std::isfinite(o.lr) && o.lr > 0, r, prefix + ".lr", "must be > 0, got " + number(o.lr));
  require(o.beta1 >= 0 && o.beta1 < 1, r, prefix + ".beta1", "must be in [0, 1), got " + number(o.beta1));
  require(o.beta2 >= 0 && o.beta2 < 1, r, prefix + ".beta2", "must be in [0, 1), got " + number(o.beta2));
  require(o.eps == -1 || o.eps > 0, r, prefix + ".eps", "must be > 0 (or -1 for the default), got " + number(o.eps));
  require(o.weight_decay == -1 || o.weight_decay >= 0, r, prefix + ".weight_decay",
          "must be >= 0 (or -1 for the default), got " + number(o.weight_decay));
  require(o.momentum == -1 || (o.momentum >= 0 && o.momentum < 1), r, prefix + ".momentum",
          "must be in [0, 1) (or -1 for the default), got " + number(o.momentum));
}

}  // namespace

void validate_config(const TrainConfig& c, const std::string& source_name) {
  const Reader r(source_name);
  const auto& d = c.data;
  require(d.name == "grid" || d.name == "ring" || d.name == "swiss_roll" || d.name == "mnist", r, "data.name",
          "unknown data set '" + d.name + "' (expected one of: grid, ring, swiss_roll, mnist)");
  require(d.samples >= 1, r, "data.samples", "must be >= 1, got " + std::to_string(d.samples));

  const auto& m = c.model;
  require(m.kind == "mlp" || m.kind == "dcgan", r, "model.kind",
          "unknown model '" + m.kind + "' (expected mlp or dcgan)");
  require(d.is_mnist() == (m.kind == "dcgan"), r, "model.kind",
          d.is_mnist() ? "mnist needs the dcgan model" : "toy data needs the mlp model");
  require(m.latent_dim >= 1 && m.latent_dim <= 4096, r, "model.latent_dim",
          "must be in [1, 4096], got " + std::to_string(m.latent_dim));
  require(m.hidden >= 1 && m.hidden <= 8192, r, "model.hidden",
          "must be in [1, 8192], got " + std::to_string(m.hidden));
  require(m.critic_hidden >= 0 && m.critic_hidden <= 8192, r, "model.critic_hidden",
          "must be in [0, 8192] (0: hidden), got " + std::to_string(m.critic_hidden));
  require(m.depth >= 1 && m.depth <= 64, r, "model.depth", "must be in [1, 64], got " + std::to_string(m.depth));
  require(m.critic_norm != Norm::batch, r, "model.critic_norm",
          "batch norm is not allowed in the critic (it breaks per-sample gradient penalties)");

  const auto& l = c.loss;
  require(l.lambda > 0, r, "loss.lambda", "must be > 0, got " + number(l.lambda));
  require(l.k > 0, r, "loss.k", "must be > 0, got " + number(l.k));
  require(l.p > 1, r, "loss.p", "must be > 1, got " + number(l.p));
  require(l.r1_gamma >= 0, r, "loss.r1_gamma", "must be >= 0, got " + number(l.r1_gamma));
  require(l.entropy >= 0, r, "loss.entropy", "must be >= 0, got " + number(l.entropy));
  require(l.correlation >= 0, r, "loss.correlation", "must be >= 0, got " + number(l.correlation));
  require(l.langevin_steps >= 1 && l.langevin_steps <= 100000, r, "loss.langevin_steps",
          "must be in [1, 100000], got " + std::to_string(l.langevin_steps));
  require(l.langevin_step_size > 0, r, "loss.langevin_step_size", "must be > 0, got " + number(l.langevin_step_size));
  require(l.buffer_size >= 1, r, "loss.buffer_size", "must be >= 1, got " + std::to_string(l.buffer_size));
  require(l.buffer_reuse >= 0 && l.buffer_reuse <= 1, r, "loss.buffer_reuse",
          "must be in [0, 1], got " + number(l.buffer_reuse));
  if (l.kind == LossKind::ebm) {
    require(c.train.ema == 0, r, "train.ema", "must be 0 for ebm (it has no generator)");
    require(c.train.critic_steps == 1, r, "train.critic_steps",
            "must be 1 for ebm (one energy step per iteration), got " + std::to_string(c.train.critic_steps));
  }
  if (l.kind == LossKind::ogan) {
    require(l.r1_gamma == 0 && l.entropy == 0, r, "loss", "ogan takes neither r1_gamma nor entropy");
    require(c.train.critic_steps == 1, r, "train.critic_steps",
            "must be 1 for ogan (one joint encoder-generator step), got " + std::to_string(c.train.critic_steps));
    require(m.latent_dim >= 3, r, "model.latent_dim",
            "must be >= 3 for ogan (avg, std and the standardised code need n_z >= 3), got " +
                std::to_string(m.latent_dim));
  }

  const auto& t = c.train;
  require(t.iterations >= 1 && t.iterations <= 1000000000, r, "train.iterations",
          "must be in [1, 10^9], got " + std::to_string(t.iterations));
  require(t.batch >= 2, r, "train.batch", "must be >= 2, got " + std::to_string(t.batch));
  require(d.is_mnist() || t.batch <= d.samples, r, "train.batch",
          "must be <= data.samples (" + std::to_string(d.samples) + "), got " + std::to_string(t.batch));
  require(t.critic_steps >= 1 && t.critic_steps <= 100, r, "train.critic_steps",
          "must be in [1, 100], got " + std::to_string(t.critic_steps));
  require(t.ema >= 0 && t.ema < 1, r, "train.ema", "must be in [0, 1), got " + number(t.ema));
  require(t.seed <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()), r, "train.seed",
          "must be in [0, 2^63 - 1]");
  require(t.device == "cpu" || t.device == "cuda", r, "train.device", "expected cpu or cuda, got '" + t.device + "'");
  require(t.threads >= 1 && t.threads <= 1024, r, "train.threads",
          "must be in [1, 1024], got " + std::to_string(t.threads));
  require(t.checkpoint_every >= 1, r, "train.checkpoint_every",
          "must be >= 1, got " + std::to_string(t.checkpoint_every));
  require(t.log_every >= 1, r, "train.log_every", "must be >= 1, got " + std::to_string(t.log_every));
  require(t.sample_every >= 0, r, "train.sample_every", "must be >= 0, got " + std::to_string(t.sample_every));
  require(t.eval_every >= 0, r, "train.eval_every", "must be >= 0, got " + std::to_string(t.eval_every));
  require(t.lr_decay == "none" || t.lr_decay == "linear", r, "train.lr_decay",
          "expected none or linear, got '" + t.lr_decay + "'");

  validate_optimizer(r, c.generator_optimizer, "optimizer.generator");
  validate_optimizer(r, c.critic_optimizer, "optimizer.critic");
  require(c.eval.samples >= 2, r, "eval.samples", "must be >= 2, got " + std::to_string(c.eval.samples));
  require(d.is_mnist() || c.eval.samples <= kMaxToySamples, r, "eval.samples",
          "must be <= " + std::to_string(kMaxToySamples) + " for toy data, got " + std::to_string(c.eval.samples));
}

TrainConfig parse_config(const std::string& toml_text, const std::string& source_name) {
  const Reader r(source_name);
  toml::table doc;
  try {
    doc = toml::parse(toml_text, source_name);
  } catch (const toml::parse_error& e) {
    const auto& at = e.source().begin;
    r.fail("line " + std::to_string(at.line) + ", column " + std::to_string(at.column), std::string(e.description()));
  }
  r.check_keys(doc, "", {"data", "model", "loss", "train", "optimizer", "eval"});
  TrainConfig c;

  if (const auto* t = r.subtable(doc, "data", "data")) {
    r.check_keys(*t, "data", {"name", "samples", "dir"});
    r.read(t, "data", "name", c.data.name);
    r.read(t, "data", "samples", c.data.samples);
    r.read(t, "data", "dir", c.data.dir);
  }

  // Model defaults depend on the data: an MLP for the 2-D toys, the DCGAN pair for MNIST.
  const bool mnist = c.data.is_mnist();
  c.model.kind = mnist ? "dcgan" : "mlp";
  c.model.latent_dim = mnist ? 128 : 2;
  c.model.hidden = mnist ? 64 : 256;
  c.model.generator_norm = mnist ? Norm::batch : Norm::none;
  if (const auto* t = r.subtable(doc, "model", "model")) {
    r.check_keys(*t, "model",
                 {"kind", "latent_dim", "hidden", "critic_hidden", "depth", "init", "generator_norm", "critic_norm"});
    r.read(t, "model", "kind", c.model.kind);
    r.read(t, "model", "latent_dim", c.model.latent_dim);
    r.read(t, "model", "hidden", c.model.hidden);
    r.read(t, "model", "critic_hidden", c.model.critic_hidden);
    r.read(t, "model", "depth", c.model.depth);
    const std::vector<std::pair<std::string, std::string>> enums = {
        {"init", to_string(c.model.init)},
        {"generator_norm", to_string(c.model.generator_norm)},
        {"critic_norm", to_string(c.model.critic_norm)}};
    for (const auto& [key, fallback] : enums) {
      std::string value = fallback;
      r.read(t, "model", key, value);
      try {
        if (key == "init") {
          c.model.init = parse_init(value);
        } else {
          (key == "generator_norm" ? c.model.generator_norm : c.model.critic_norm) = parse_norm(value);
        }
      } catch (const InvalidArgument&) {
        r.fail("model." + key, "unknown value '" + value + "'");
      }
    }
  }
  c.model.data_dim = 2;

  if (const auto* t = r.subtable(doc, "loss", "loss")) {
    r.check_keys(*t, "loss",
                 {"name", "lambda", "k", "p", "sampling", "distance", "r1_gamma", "entropy", "correlation", "code",
                  "langevin_steps", "langevin_step_size", "buffer_size", "buffer_reuse"});
    r.read(t, "loss", "name", c.loss_name);
  }
  // A kind name or a WGAN-div preset (loss_preset); explicit keys override its values.
  try {
    c.loss = loss_preset(c.loss_name);
  } catch (const InvalidArgument&) {
    r.fail("loss.name",
           "unknown loss '" + c.loss_name +
               "' (expected one of: sgan, wgan_gp, wgan_div, gan_qp, hinge, energy, ogan, ebm, meg, wgan_div_su, "
               "wgan_div_official)");
  }
  if (const auto* t = r.subtable(doc, "loss", "loss")) {
    // A key the chosen loss does not read is an error, not a silent no-op.
    const LossKind kind = c.loss.kind;
    const std::pair<const char*, bool> used[] = {{"lambda", uses_lambda(kind)},
                                                 {"k", kind == LossKind::wgan_div},
                                                 {"p", kind == LossKind::wgan_div},
                                                 {"sampling", kind == LossKind::wgan_div},
                                                 {"distance", kind == LossKind::gan_qp},
                                                 {"r1_gamma", kind != LossKind::ogan},
                                                 {"entropy", kind != LossKind::ogan && kind != LossKind::ebm},
                                                 {"correlation", kind == LossKind::ogan},
                                                 {"code", kind == LossKind::ogan},
                                                 {"langevin_steps", kind == LossKind::ebm},
                                                 {"langevin_step_size", kind == LossKind::ebm},
                                                 {"buffer_size", kind == LossKind::ebm},
                                                 {"buffer_reuse", kind == LossKind::ebm}};
    for (const auto& [key, ok] : used) {
      if (!ok && t->contains(key)) r.fail(std::string("loss.") + key, "is not used by loss " + c.loss_name);
    }
    r.read(t, "loss", "lambda", c.loss.lambda);
    r.read(t, "loss", "k", c.loss.k);
    r.read(t, "loss", "p", c.loss.p);
    r.read(t, "loss", "r1_gamma", c.loss.r1_gamma);
    r.read(t, "loss", "entropy", c.loss.entropy);
    r.read(t, "loss", "correlation", c.loss.correlation);
    r.read(t, "loss", "langevin_steps", c.loss.langevin_steps);
    r.read(t, "loss", "langevin_step_size", c.loss.langevin_step_size);
    r.read(t, "loss", "buffer_size", c.loss.buffer_size);
    r.read(t, "loss", "buffer_reuse", c.loss.buffer_reuse);
    std::string code = to_string(c.loss.code);
    r.read(t, "loss", "code", code);
    if (code != "pearson" && code != "mse") r.fail("loss.code", "expected pearson or mse, got '" + code + "'");
    c.loss.code = parse_code_loss(code);
    std::string sampling = to_string(c.loss.sampling);
    r.read(t, "loss", "sampling", sampling);
    try {
      c.loss.sampling = parse_critic_sampling(sampling);
    } catch (const InvalidArgument&) {
      r.fail("loss.sampling", "unknown value '" + sampling +
                                  "' (expected one of: real_fake_interpolates, real_real_fake_fake_interpolates, "
                                  "pooled_interpolates, pooled, fake, real)");
    }
    std::string distance = to_string(c.loss.distance);
    r.read(t, "loss", "distance", distance);
    if (distance != "l1" && distance != "l2") r.fail("loss.distance", "expected l1 or l2, got '" + distance + "'");
    c.loss.distance = parse_qp_distance(distance);
  }

  c.eval.samples = mnist ? 10000 : 2000;
  if (const auto* t = r.subtable(doc, "train", "train")) {
    r.check_keys(*t, "train",
                 {"iterations", "batch", "critic_steps", "ema", "seed", "device", "threads", "checkpoint_every",
                  "log_every", "sample_every", "eval_every", "lr_decay"});
    auto& s = c.train;
    r.read(t, "train", "iterations", s.iterations);
    r.read(t, "train", "batch", s.batch);
    r.read(t, "train", "critic_steps", s.critic_steps);
    r.read(t, "train", "ema", s.ema);
    int64_t seed = 0;
    r.read(t, "train", "seed", seed);
    if (seed < 0) r.fail("train.seed", "must be >= 0, got " + std::to_string(seed));
    s.seed = static_cast<uint64_t>(seed);
    r.read(t, "train", "device", s.device);
    r.read(t, "train", "threads", s.threads);
    r.read(t, "train", "checkpoint_every", s.checkpoint_every);
    r.read(t, "train", "log_every", s.log_every);
    r.read(t, "train", "sample_every", s.sample_every);
    r.read(t, "train", "eval_every", s.eval_every);
    r.read(t, "train", "lr_decay", s.lr_decay);
  }
  if (const auto* t = r.subtable(doc, "optimizer", "optimizer")) {
    r.check_keys(*t, "optimizer", {"generator", "critic"});
    read_optimizer(r, r.subtable(*t, "generator", "optimizer.generator"), "optimizer.generator", c.generator_optimizer);
    read_optimizer(r, r.subtable(*t, "critic", "optimizer.critic"), "optimizer.critic", c.critic_optimizer);
  }
  if (const auto* t = r.subtable(doc, "eval", "eval")) {
    r.check_keys(*t, "eval", {"samples", "classifier"});
    r.read(t, "eval", "samples", c.eval.samples);
    r.read(t, "eval", "classifier", c.eval.classifier);
  }
  validate_config(c, source_name);
  return c;
}

TrainConfig load_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError("gan config " + path + ": cannot open the file");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw IoError("gan config " + path + ": cannot read the file");
  return parse_config(text.str(), path);
}

std::string to_toml(const TrainConfig& c) {
  std::ostringstream s;
  const auto optimizer = [&](const char* table, const OptimizerConfig& o) {
    s << "\n[" << table << "]\nname = " << quoted(o.name) << "\nlr = " << number(o.lr)
      << "\nbeta1 = " << number(o.beta1) << "\nbeta2 = " << number(o.beta2) << "\neps = " << number(o.eps)
      << "\nweight_decay = " << number(o.weight_decay) << "\nmomentum = " << number(o.momentum) << "\n";
  };
  s << "[data]\nname = " << quoted(c.data.name) << "\nsamples = " << c.data.samples << "\ndir = " << quoted(c.data.dir)
    << "\n";
  s << "\n[model]\nkind = " << quoted(c.model.kind) << "\nlatent_dim = " << c.model.latent_dim
    << "\nhidden = " << c.model.hidden << "\ncritic_hidden = " << c.model.critic_hidden << "\ndepth = " << c.model.depth
    << "\ninit = " << quoted(to_string(c.model.init))
    << "\ngenerator_norm = " << quoted(to_string(c.model.generator_norm))
    << "\ncritic_norm = " << quoted(to_string(c.model.critic_norm)) << "\n";
  // Only the keys the loss reads (parse_config refuses the others).
  const LossKind kind = c.loss.kind;
  s << "\n[loss]\nname = " << quoted(c.loss_name);
  if (uses_lambda(kind)) s << "\nlambda = " << number(c.loss.lambda);
  if (kind == LossKind::wgan_div)
    s << "\nk = " << number(c.loss.k) << "\np = " << number(c.loss.p)
      << "\nsampling = " << quoted(to_string(c.loss.sampling));
  if (kind == LossKind::gan_qp) s << "\ndistance = " << quoted(to_string(c.loss.distance));
  if (kind == LossKind::ogan) {
    s << "\ncorrelation = " << number(c.loss.correlation) << "\ncode = " << quoted(to_string(c.loss.code)) << "\n";
  } else if (kind == LossKind::ebm) {
    s << "\nlangevin_steps = " << c.loss.langevin_steps
      << "\nlangevin_step_size = " << number(c.loss.langevin_step_size) << "\nbuffer_size = " << c.loss.buffer_size
      << "\nbuffer_reuse = " << number(c.loss.buffer_reuse) << "\nr1_gamma = " << number(c.loss.r1_gamma) << "\n";
  } else {
    s << "\nr1_gamma = " << number(c.loss.r1_gamma) << "\nentropy = " << number(c.loss.entropy) << "\n";
  }
  const auto& t = c.train;
  s << "\n[train]\niterations = " << t.iterations << "\nbatch = " << t.batch << "\ncritic_steps = " << t.critic_steps
    << "\nema = " << number(t.ema) << "\nseed = " << t.seed << "\ndevice = " << quoted(t.device)
    << "\nthreads = " << t.threads << "\ncheckpoint_every = " << t.checkpoint_every << "\nlog_every = " << t.log_every
    << "\nsample_every = " << t.sample_every << "\neval_every = " << t.eval_every
    << "\nlr_decay = " << quoted(t.lr_decay) << "\n";
  optimizer("optimizer.generator", c.generator_optimizer);
  optimizer("optimizer.critic", c.critic_optimizer);
  s << "\n[eval]\nsamples = " << c.eval.samples << "\nclassifier = " << quoted(c.eval.classifier) << "\n";
  return s.str();
}

}  // namespace odyn::gan
