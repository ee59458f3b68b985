// Two-player games as dynamics: the Dirac GAN of part four of the dynamics series (Mescheder,
// Geiger & Nowozin 2018), its Jacobian at the equilibrium, and weight averaging (EMA).
// See docs/dynamics.md.
#pragma once

#include <Eigen/Core>
#include <complex>
#include <string>
#include <vector>

#include "odyn/dynamics/problems.hpp"

namespace odyn::dynamics {

// The Dirac GAN in d dimensions: real data at 0, the generator's single sample at theta, a linear
// critic D(x) = phi . x. Simultaneous gradient play (phi', theta') on the state [phi; theta] of size
// 2d, each player descending its own loss:
//   non-saturating  phi' = -s(theta.phi) theta,  theta' = (1 - s(theta.phi)) phi   (s = logistic)
//   wgan            phi' = -theta/|phi| + (theta.phi) phi/|phi|^3,  theta' = phi/|phi|
//   wgan-gp         phi' = -theta - 2 lambda (1 - c/|phi|) phi,  theta' = phi      (center c in {0, 1})
//   gan-qp          phi' = -theta - (theta.phi) theta / (lambda n),  theta' = phi
//                   with n = |theta| (the post) or |phi| (the published code: qp_norm = phi)
// and an optional L2 penalty on the critic, phi' -= l2 phi.
struct DiracGan {
  enum class Model { non_saturating, wgan, wgan_gp, gan_qp };
  enum class QpNorm { theta, phi };
  Model model = Model::non_saturating;
  double lambda = 0.1;  // wgan-gp penalty weight, gan-qp's lambda
  double center = 0;    // wgan-gp: the norm the penalty pulls |phi| to (0 is zero-centred)
  double l2 = 0;        // weight decay on the critic
  QpNorm qp_norm = QpNorm::phi;
  Eigen::Index dim = 2;

  // Validates and returns the game named `name`: non-saturating, wgan, wgan-gp, gan-qp.
  static DiracGan named(const std::string& name);
  void operator()(const Vector& s, Vector& dsdt, double t) const;
  // The Jacobian of the vector field at s (central differences, step 1e-6 scaled to |s|).
  Matrix jacobian(const Vector& s) const;
  // Eigenvalues of the Jacobian at s.
  std::vector<std::complex<double>> eigenvalues(const Vector& s) const;
};
std::string to_string(DiracGan::Model m);

// Exponential moving average of weights, avg <- decay avg + (1 - decay) x, starting from the first
// x. With warm_up, step k (from 1) uses min(decay, (1 + k) / (10 + k)) so early averages forget the
// initialisation quickly. EMA leaves the optimizer's trajectory unchanged; for an oscillation it
// approaches the centre.
class Ema {
 public:
  explicit Ema(double decay = 0.999, bool warm_up = false);
  void update(const Vector& x);
  const Vector& average() const { return avg_; }
  long count() const { return count_; }

 private:
  double decay_;
  bool warm_up_;
  Vector avg_;
  long count_ = 0;
};

}  // namespace odyn::dynamics
