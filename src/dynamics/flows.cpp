#include "odyn/dynamics/flows.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "odyn/core/error.hpp"

namespace odyn::dynamics {
namespace {

using detail::require;

double sign(double v) {
  return v > 0 ? 1.0 : (v < 0 ? -1.0 : 0.0);
}

// 1 - e^{-k t}: Adam's bias correction in continuous time
double bias_correction(double k, double t) {
  return -std::expm1(-k * t);
}

}  // namespace

void GradientFlow::operator()(const Vector& x, Vector& dxdt, double) const {
  p_->gradient(x, dxdt);
  dxdt = -dxdt;
}

ModifiedGradientFlow::ModifiedGradientFlow(const Problem& p, double h) : p_(&p), h_(h) {
  require(std::isfinite(h) && h >= 0, "ModifiedGradientFlow: the step h must be >= 0");
}

void ModifiedGradientFlow::operator()(const Vector& x, Vector& dxdt, double) const {
  p_->gradient(x, g_);
  p_->hessian_vector(x, g_, hg_);
  dxdt = -(g_ + (0.5 * h_) * hg_);
}

HeavyBallFlow::HeavyBallFlow(const Problem& p, double friction) : p_(&p), friction_(friction) {
  require(std::isfinite(friction) && friction >= 0, "HeavyBallFlow: the friction must be >= 0");
}

void HeavyBallFlow::operator()(const Vector& s, Vector& dsdt, double) const {
  const Eigen::Index d = p_->dim();
  p_->gradient(s.head(d), g_);
  dsdt.resize(2 * d);
  dsdt.head(d) = s.tail(d);
  dsdt.tail(d) = -friction_ * s.tail(d) - g_;
}

Vector HeavyBallFlow::initial_state(const Vector& x0, const Vector& eta0) {
  require(eta0.size() == 0 || eta0.size() == x0.size(), "HeavyBallFlow::initial_state: eta0 must match x0");
  Vector s(2 * x0.size());
  s << x0, (eta0.size() ? eta0 : Vector::Zero(x0.size()));
  return s;
}

NesterovFlow::NesterovFlow(const Problem& p, double r) : p_(&p), r_(r) {
  require(std::isfinite(r) && r > 0, "NesterovFlow: r must be positive");
}

void NesterovFlow::operator()(const Vector& s, Vector& dsdt, double t) const {
  const Eigen::Index d = p_->dim();
  p_->gradient(s.head(d), g_);
  dsdt.resize(2 * d);
  dsdt.head(d) = s.tail(d);
  dsdt.tail(d) = -(r_ / t) * s.tail(d) - g_;
}

Vector NesterovFlow::initial_state(const Vector& x0, double t0) const {
  require(std::isfinite(t0) && t0 > 0, "NesterovFlow::initial_state: t0 must be positive");
  const Vector g = p_->gradient(x0);
  Vector s(2 * x0.size());
  s << x0 - g * (t0 * t0 / (2 * (1 + r_))), -g * (t0 / (1 + r_));
  return s;
}

void SignFlow::operator()(const Vector& x, Vector& dxdt, double) const {
  p_->gradient(x, g_);
  dxdt = -g_.unaryExpr([](double v) { return sign(v); });
}

LossNormalisedFlow::LossNormalisedFlow(const Problem& p, double cap, double loss_floor)
    : p_(&p), cap_(cap), floor_(loss_floor) {
  require(cap > 0, "LossNormalisedFlow: the cap M must be positive");
  require(std::isfinite(loss_floor), "LossNormalisedFlow: the loss floor must be finite");
}

void LossNormalisedFlow::operator()(const Vector& x, Vector& dxdt, double) const {
  p_->gradient(x, dxdt);
  const double gn = dxdt.norm();
  if (gn == 0) return;  // a critical point is a fixed point
  const double scale = (p_->value(x) - floor_) * std::min(1 / gn, cap_) / gn;
  dxdt *= -scale;
}

RmspropFlow::RmspropFlow(const Problem& p, double kappa, double eps, bool eps_inside)
    : p_(&p), kappa_(kappa), eps_(eps), eps_inside_(eps_inside) {
  require(std::isfinite(kappa) && kappa > 0, "RmspropFlow: kappa must be positive");
  require(std::isfinite(eps) && eps >= 0, "RmspropFlow: eps must be >= 0");
}

void RmspropFlow::operator()(const Vector& s, Vector& dsdt, double) const {
  const Eigen::Index d = p_->dim();
  p_->gradient(s.head(d), g_);
  dsdt.resize(2 * d);
  const auto v = s.tail(d).array().max(0.0);
  if (eps_inside_) {
    dsdt.head(d) = -(g_.array() / (v + eps_).sqrt()).matrix();
  } else {
    dsdt.head(d) = -(g_.array() / (v.sqrt() + eps_)).matrix();
  }
  dsdt.tail(d) = kappa_ * (g_.array().square() - s.tail(d).array()).matrix();
}

Vector RmspropFlow::initial_state(const Vector& x0) {
  Vector s = Vector::Zero(2 * x0.size());
  s.head(x0.size()) = x0;
  return s;
}

AdamFlow::AdamFlow(const Problem& p, double k1, double k2, double eps) : p_(&p), k1_(k1), k2_(k2), eps_(eps) {
  require(std::isfinite(k1) && k1 > 0 && std::isfinite(k2) && k2 > 0, "AdamFlow: k1 and k2 must be positive");
  require(std::isfinite(eps) && eps >= 0, "AdamFlow: eps must be >= 0");
}

void AdamFlow::operator()(const Vector& s, Vector& dsdt, double t) const {
  const Eigen::Index d = p_->dim();
  p_->gradient(s.head(d), g_);
  dsdt.resize(3 * d);
  const auto m = s.segment(d, d).array();
  const auto v = s.tail(d).array().max(0.0);
  if (t > 0) {
    const double c1 = bias_correction(k1_, t), c2 = bias_correction(k2_, t);
    dsdt.head(d) = -((m / c1) / ((v / c2).sqrt() + eps_)).matrix();
  } else {  // the limits mhat -> g, vhat -> g (.) g
    dsdt.head(d) = -(g_.array() / (g_.array().abs() + eps_))
                        .unaryExpr([](double q) { return std::isfinite(q) ? q : 0.0; })
                        .matrix();
  }
  dsdt.segment(d, d) = k1_ * (g_ - s.segment(d, d));
  dsdt.tail(d) = k2_ * (g_.array().square() - s.tail(d).array()).matrix();
}

Vector AdamFlow::initial_state(const Vector& x0) {
  Vector s = Vector::Zero(3 * x0.size());
  s.head(x0.size()) = x0;
  return s;
}

MinibatchGradient::MinibatchGradient(const FiniteSumProblem& p, Eigen::Index batch, std::uint64_t seed,
                                     bool with_replacement)
    : p_(&p), batch_(batch), with_replacement_(with_replacement), rng_(seed) {
  require(batch >= 1, "MinibatchGradient: the batch size must be >= 1");
  require(with_replacement || batch <= p.num_samples(),
          "MinibatchGradient: a batch without replacement cannot exceed the number of samples");
  idx_.resize(static_cast<std::size_t>(batch));
  if (!with_replacement) {
    pool_.resize(static_cast<std::size_t>(p.num_samples()));
    std::iota(pool_.begin(), pool_.end(), Eigen::Index(0));
  }
}

void MinibatchGradient::operator()(const Vector& x, Vector& dxdt, double) const {
  const Eigen::Index n = p_->num_samples();
  if (with_replacement_) {
    std::uniform_int_distribution<Eigen::Index> pick(0, n - 1);
    for (auto& i : idx_) i = pick(rng_);
  } else {
    // partial Fisher-Yates: the first `batch` entries of the pool become a uniform random subset
    for (Eigen::Index k = 0; k < batch_; ++k) {
      std::uniform_int_distribution<Eigen::Index> pick(k, n - 1);
      std::swap(pool_[static_cast<std::size_t>(k)], pool_[static_cast<std::size_t>(pick(rng_))]);
      idx_[static_cast<std::size_t>(k)] = pool_[static_cast<std::size_t>(k)];
    }
  }
  p_->batch_gradient(idx_, x, dxdt);
  dxdt = -dxdt;
}

NoisyGradient::NoisyGradient(const Problem& p, double noise, std::uint64_t seed) : p_(&p), noise_(noise), rng_(seed) {
  require(std::isfinite(noise) && noise >= 0, "NoisyGradient: the noise scale must be >= 0");
}

void NoisyGradient::operator()(const Vector& x, Vector& dxdt, double) const {
  p_->gradient(x, dxdt);
  std::normal_distribution<double> normal;
  for (Eigen::Index i = 0; i < dxdt.size(); ++i) dxdt[i] = -(dxdt[i] + noise_ * normal(rng_));
}

LangevinSde::LangevinSde(const Problem& p, double sigma) : p_(&p), sigma_(sigma) {
  require(std::isfinite(sigma) && sigma >= 0, "LangevinSde: sigma must be >= 0");
}
void LangevinSde::drift(const Vector& x, double, Vector& a) const {
  p_->gradient(x, a);
  a = -a;
}
void LangevinSde::diffusion(const Vector& x, double, Vector& b) const {
  b = Vector::Constant(x.size(), sigma_);
}

KramersSde::KramersSde(const Problem& p, double friction, double sigma) : p_(&p), friction_(friction), sigma_(sigma) {
  require(std::isfinite(friction) && friction >= 0, "KramersSde: the friction must be >= 0");
  require(std::isfinite(sigma) && sigma >= 0, "KramersSde: sigma must be >= 0");
}
void KramersSde::drift(const Vector& s, double, Vector& a) const {
  const Eigen::Index d = p_->dim();
  p_->gradient(s.head(d), g_);
  a.resize(2 * d);
  a.head(d) = s.tail(d);
  a.tail(d) = -friction_ * s.tail(d) - g_;
}
void KramersSde::diffusion(const Vector& s, double, Vector& b) const {
  const Eigen::Index d = p_->dim();
  b.resize(s.size());
  b.head(d).setZero();
  b.tail(d).setConstant(sigma_);
}

void EulerMaruyama::do_step(const DiagonalSde& sde, Vector& x, double t, double dt) {
  sde.drift(x, t, a_);
  sde.diffusion(x, t, b_);
  const double sq = std::sqrt(dt);
  std::normal_distribution<double> normal;
  for (Eigen::Index i = 0; i < x.size(); ++i) x[i] += a_[i] * dt + b_[i] * sq * normal(rng_);
}

}  // namespace odyn::dynamics
