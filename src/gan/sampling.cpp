// Langevin and MALA samplers, latent energies and the replay buffer (see include/odyn/gan/sampling.hpp).
#include "odyn/gan/sampling.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "checks.hpp"

namespace odyn::gan {
namespace {

using detail::require;
using detail::shape;

void check_options(const Tensor& x0, const LangevinOptions& options, const std::string& where) {
  require(x0.defined() && x0.dim() >= 1 && x0.size(0) >= 1, where, "x0 must be a non-empty batch (B, ...)");
  require(x0.is_floating_point(), where, "x0 must be floating point");
  require(::torch::isfinite(x0).all().item<bool>(), where, "x0 has NaN or infinite entries");
  require(options.steps >= 0, where, "steps must be >= 0, got " + std::to_string(options.steps));
  require(std::isfinite(options.step_size) && options.step_size > 0, where,
          "step_size must be finite and > 0, got " + std::to_string(options.step_size));
}

Tensor gaussian_like(const Tensor& x, ::torch::Generator& gen) {
  return ::torch::randn(
             x.sizes(), gen,
             ::torch::TensorOptions().dtype(x.scalar_type() == ::torch::kDouble ? ::torch::kDouble : ::torch::kFloat))
      .to(x.device(), x.scalar_type());
}

// log q(b | a) up to its constant, per chain: -||b - a + (ε/2) ∇U(a)||^2 / (2ε).
Tensor log_proposal(const Tensor& b, const Tensor& a, const Tensor& grad_a, double eps) {
  return -(b - a + 0.5 * eps * grad_a).pow(2).reshape({b.size(0), -1}).sum(1) / (2 * eps);
}

void require_finite_energy(const Tensor& u, const std::string& where, int64_t step) {
  require(::torch::isfinite(u).all().item<bool>(), where,
          "the energy is not finite at step " + std::to_string(step) + " (the step size may be too large)");
}

}  // namespace

std::pair<Tensor, Tensor> energy_and_gradient(const EnergyFn& energy, const Tensor& x) {
  const std::string where = "energy_and_gradient";
  require(static_cast<bool>(energy), where, "the energy is empty");
  const Tensor input = x.detach().requires_grad_(true);
  Tensor u;
  {
    ::torch::AutoGradMode grad_mode(true);
    u = energy(input);
    require(u.defined() && u.dim() == 1 && u.size(0) == x.size(0), where,
            "the energy must return (B) = (" + std::to_string(x.size(0)) + "), got " +
                (u.defined() ? shape(u) : std::string("undefined")));
    if (!u.requires_grad()) return {u.detach(), ::torch::zeros_like(x)};
    Tensor grad = ::torch::autograd::grad({u.sum()}, {input}, {}, /*retain_graph=*/false, /*create_graph=*/false,
                                          /*allow_unused=*/true)[0];
    if (!grad.defined()) grad = ::torch::zeros_like(x);
    return {u.detach(), grad.detach()};
  }
}

ChainResult langevin(const EnergyFn& energy, const Tensor& x0, const LangevinOptions& options,
                     ::torch::Generator& gen) {
  const std::string where = "langevin";
  check_options(x0, options, where);
  const double eps = options.step_size;
  Tensor x = x0.detach().clone();
  for (int64_t k = 0; k < options.steps; ++k) {
    auto [u, grad] = energy_and_gradient(energy, x);
    require_finite_energy(u, where, k);
    x = x - 0.5 * eps * grad + std::sqrt(eps) * gaussian_like(x, gen);
  }
  return {x, 1.0, Tensor()};
}

ChainResult mala(const EnergyFn& energy, const Tensor& x0, const LangevinOptions& options, ::torch::Generator& gen) {
  const std::string where = "mala";
  check_options(x0, options, where);
  const double eps = options.step_size;
  const int64_t b = x0.size(0);
  std::vector<int64_t> row_shape(static_cast<size_t>(x0.dim()), 1);
  row_shape[0] = b;
  Tensor x = x0.detach().clone();
  auto [u, grad] = energy_and_gradient(energy, x);
  require_finite_energy(u, where, 0);
  Tensor accepted = ::torch::zeros({b}, ::torch::TensorOptions().dtype(::torch::kLong).device(x.device()));
  for (int64_t k = 0; k < options.steps; ++k) {
    const Tensor proposal = x - 0.5 * eps * grad + std::sqrt(eps) * gaussian_like(x, gen);
    auto [u_new, grad_new] = energy_and_gradient(energy, proposal);
    // A proposal with a non-finite energy is rejected (its log r is -inf or NaN).
    const Tensor log_r = (u - u_new) + log_proposal(x, proposal, grad_new, eps) - log_proposal(proposal, x, grad, eps);
    const Tensor uniform = ::torch::rand({b}, gen, ::torch::TensorOptions().dtype(::torch::kDouble)).to(x.device());
    const Tensor accept = ::torch::isfinite(log_r) & (uniform.log() < log_r.to(::torch::kDouble));
    const Tensor accept_rows = accept.view(row_shape);
    x = ::torch::where(accept_rows, proposal, x);
    grad = ::torch::where(accept_rows, grad_new, grad);
    u = ::torch::where(accept, u_new, u);
    accepted += accept.to(::torch::kLong);
  }
  const double total = static_cast<double>(options.steps) * static_cast<double>(b);
  const double rate = options.steps > 0 ? static_cast<double>(accepted.sum().item<int64_t>()) / total : 1.0;
  return {x, rate, accepted.cpu()};
}

EnergyFn latent_energy(std::function<Tensor(const Tensor&)> generator, EnergyFn energy, double temperature,
                       bool prior) {
  require(static_cast<bool>(generator) && static_cast<bool>(energy), "latent_energy",
          "the generator and the energy must be set");
  require(std::isfinite(temperature) && temperature > 0, "latent_energy",
          "temperature must be finite and > 0, got " + std::to_string(temperature));
  return [generator = std::move(generator), energy = std::move(energy), temperature, prior](const Tensor& z) {
    Tensor u = energy(generator(z)) / temperature;
    if (prior) u = u + 0.5 * z.pow(2).reshape({z.size(0), -1}).sum(1);
    return u;
  };
}

ReplayBuffer::ReplayBuffer(int64_t capacity, double reuse) : capacity_(capacity), reuse_(reuse) {
  require(capacity >= 1, "ReplayBuffer", "capacity must be >= 1, got " + std::to_string(capacity));
  require(std::isfinite(reuse) && reuse >= 0 && reuse <= 1, "ReplayBuffer",
          "reuse must be in [0, 1], got " + std::to_string(reuse));
}

Tensor ReplayBuffer::initial(int64_t n, const std::function<Tensor(int64_t)>& fresh, ::torch::Generator& gen) {
  const std::string where = "ReplayBuffer::initial";
  require(n >= 1, where, "n must be >= 1, got " + std::to_string(n));
  require(static_cast<bool>(fresh), where, "the fresh-sample function is empty");
  Tensor start = fresh(n);
  require(start.defined() && start.dim() >= 1 && start.size(0) == n, where, "fresh(n) must return n rows");
  if (size_ == 0) return start;
  require(start.sizes().slice(1) == storage_.sizes().slice(1), where,
          "fresh samples " + shape(start) + " do not match the stored " + shape(storage_));
  const auto cpu_double = ::torch::TensorOptions().dtype(::torch::kDouble);
  const Tensor reuse = (::torch::rand({n}, gen, cpu_double) < reuse_).to(start.device());
  const Tensor rows =
      ::torch::randint(size_, {n}, gen, ::torch::TensorOptions().dtype(::torch::kLong)).to(storage_.device());
  const Tensor stored = storage_.index_select(0, rows).to(start.device(), start.scalar_type());
  std::vector<int64_t> row_shape(static_cast<size_t>(start.dim()), 1);
  row_shape[0] = n;
  return ::torch::where(reuse.view(row_shape), stored, start);
}

void ReplayBuffer::push(const Tensor& x) {
  const std::string where = "ReplayBuffer::push";
  require(x.defined() && x.dim() >= 1, where, "x must be a batch (B, ...)");
  if (x.size(0) == 0) return;
  const Tensor rows = x.detach();
  if (!storage_.defined()) {
    std::vector<int64_t> sizes = rows.sizes().vec();
    sizes[0] = capacity_;
    storage_ = ::torch::zeros(sizes, rows.options());
  }
  require(rows.sizes().slice(1) == storage_.sizes().slice(1), where,
          "x " + shape(rows) + " does not match the stored " + shape(storage_));
  ::torch::NoGradGuard no_grad;
  // The last `capacity` rows of x, written around the ring.
  const int64_t n = std::min(rows.size(0), capacity_);
  const Tensor kept = rows.narrow(0, rows.size(0) - n, n);
  const Tensor index =
      (::torch::arange(n, ::torch::TensorOptions().dtype(::torch::kLong)) + next_).remainder(capacity_);
  storage_.index_copy_(0, index.to(storage_.device()), kept.to(storage_.device(), storage_.scalar_type()));
  next_ = (next_ + n) % capacity_;
  size_ = std::min(capacity_, size_ + n);
}

std::vector<Tensor> ReplayBuffer::state() const {
  const Tensor counters = ::torch::tensor({capacity_, size_, next_}, ::torch::TensorOptions().dtype(::torch::kLong));
  if (!storage_.defined()) return {counters};
  return {counters, storage_.cpu()};
}

void ReplayBuffer::set_state(const std::vector<Tensor>& state) {
  const std::string where = "ReplayBuffer::set_state";
  require(!state.empty() && state[0].defined() && state[0].numel() == 3 && state[0].scalar_type() == ::torch::kLong,
          where, "not a replay buffer's state");
  const Tensor c = state[0].cpu();
  require(c[0].item<int64_t>() == capacity_, where, "the state's capacity differs from this buffer's");
  const int64_t size = c[1].item<int64_t>(), next = c[2].item<int64_t>();
  require(size >= 0 && size <= capacity_ && next >= 0 && next < capacity_, where, "corrupt counters");
  require((size == 0) == (state.size() == 1), where, "the stored samples are missing");
  if (size > 0) {
    require(state[1].dim() >= 1 && state[1].size(0) == capacity_, where, "the stored samples have the wrong shape");
    storage_ = state[1].clone();
  } else {
    storage_ = Tensor();
  }
  size_ = size;
  next_ = next;
}

}  // namespace odyn::gan
