// Markov-chain samplers of energy models q(x) ∝ exp(-U(x)) (seed-gan §3.2-3.4): unadjusted Langevin,
// Metropolis-adjusted Langevin (MALA), latent-space energies U(G(z)) of a trained GAN, and the replay
// buffer of Du & Mordatch's persistent chains.
//
// One step convention throughout (Su's, seed-gan §3.2): with step size ε, the Langevin proposal is
//   x' = x - (ε/2) ∇U(x) + sqrt(ε) ξ,   ξ ~ N(0, I),
// i.e. P-MEG's α = ε/2. MALA accepts x' with probability min(1, r),
//   log r = U(x) - U(x') + log q(x | x') - log q(x' | x),  log q(b | a) = -||b - a + (ε/2)∇U(a)||^2 / (2ε),
// each chain of the batch independently.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include "odyn/gan/data.hpp"

namespace odyn::gan {

// An energy: x (B, ...) -> U (B), differentiable in x.
using EnergyFn = std::function<Tensor(const Tensor&)>;

struct LangevinOptions {
  int64_t steps = 100;
  double step_size = 0.01;  // ε > 0
};

struct ChainResult {
  Tensor samples;         // the chains' last states, detached, the shape of x0
  double acceptance = 1;  // MALA: accepted proposals / (steps · chains); Langevin: 1
  Tensor accepted;        // MALA: accepted proposals per chain (B) int64; Langevin: undefined
};

// U(x) and ∇U(x) of a batch (the gradient of sum_i U(x_i), which is row by row for energies
// without cross-sample coupling). Throws odyn::InvalidArgument unless U returns (B) finite values.
std::pair<Tensor, Tensor> energy_and_gradient(const EnergyFn& energy, const Tensor& x);

// Unadjusted Langevin from x0 (B, ...): `steps` proposals, all accepted. Noise from `gen` (a CPU
// generator), moved to x0's device. Throws odyn::InvalidArgument for steps < 0, ε <= 0 (or not
// finite), a non-finite x0, or when a chain reaches a non-finite energy (naming the step: lower ε).
ChainResult langevin(const EnergyFn& energy, const Tensor& x0, const LangevinOptions& options, ::torch::Generator& gen);

// MALA from x0 (B, ...): the Langevin proposal, accepted or rejected per chain (uniforms from gen).
// The chain leaves exp(-U) invariant for every ε (detailed balance).
ChainResult mala(const EnergyFn& energy, const Tensor& x0, const LangevinOptions& options, ::torch::Generator& gen);

// The latent energy of a generator and an energy on its samples: z ↦ U(G(z)) / temperature, plus
// ||z||^2 / 2 when `prior` is set (the N(0, I) prior of the codes; P-MEG's sampler leaves it out).
// The generator is used as given (the caller puts it in eval mode); temperature > 0.
EnergyFn latent_energy(std::function<Tensor(const Tensor&)> generator, EnergyFn energy, double temperature = 1,
                       bool prior = false);

// The sample replay buffer of Du & Mordatch (2019; seed-gan §3.4): persistent chains start from
// stored samples with probability `reuse` (0.95) and from fresh noise otherwise. Holds at most
// `capacity` samples; once full, push() overwrites the oldest (a ring, as in the reference code).
class ReplayBuffer {
 public:
  ReplayBuffer(int64_t capacity, double reuse = 0.95);
  // n starting points (n, ...): each row a uniformly drawn stored sample with probability reuse,
  // else the corresponding row of fresh(n); all fresh while the buffer is empty.
  Tensor initial(int64_t n, const std::function<Tensor(int64_t)>& fresh, ::torch::Generator& gen);
  // Stores the rows of x (detached, on x's device).
  void push(const Tensor& x);
  int64_t size() const { return size_; }
  int64_t capacity() const { return capacity_; }
  const Tensor& samples() const { return storage_; }  // (size, ...) or undefined when empty
  // The stored samples and counters, and their restore (checkpoints).
  std::vector<Tensor> state() const;
  void set_state(const std::vector<Tensor>& state);

 private:
  int64_t capacity_;
  double reuse_;
  Tensor storage_;  // (capacity, ...) once the first batch arrives
  int64_t size_ = 0;
  int64_t next_ = 0;  // the ring position the next row is written to
};

}  // namespace odyn::gan
