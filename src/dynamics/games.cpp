#include "odyn/dynamics/games.hpp"

#include <Eigen/Eigenvalues>
#include <algorithm>
#include <cmath>

#include "odyn/core/error.hpp"

namespace odyn::dynamics {
namespace {

using detail::logistic;
using detail::require;

}  // namespace

std::string to_string(DiracGan::Model m) {
  switch (m) {
    case DiracGan::Model::non_saturating:
      return "non-saturating";
    case DiracGan::Model::wgan:
      return "wgan";
    case DiracGan::Model::wgan_gp:
      return "wgan-gp";
    case DiracGan::Model::gan_qp:
      return "gan-qp";
  }
  return "?";
}

DiracGan DiracGan::named(const std::string& name) {
  DiracGan g;
  if (name == "non-saturating") {
    g.model = Model::non_saturating;
  } else if (name == "wgan") {
    g.model = Model::wgan;
  } else if (name == "wgan-gp") {
    g.model = Model::wgan_gp;
  } else if (name == "gan-qp") {
    g.model = Model::gan_qp;
    g.lambda = 1;
  } else {
    throw InvalidArgument("DiracGan: unknown model '" + name + "' (known: non-saturating, wgan, wgan-gp, gan-qp)");
  }
  return g;
}

void DiracGan::operator()(const Vector& s, Vector& dsdt, double) const {
  require(s.size() == 2 * dim, "DiracGan: the state must be [phi; theta] with 2 * dim entries");
  const auto phi = s.head(dim);
  const auto theta = s.tail(dim);
  dsdt.resize(2 * dim);
  auto dphi = dsdt.head(dim);
  auto dtheta = dsdt.tail(dim);
  const double tp = theta.dot(phi);
  switch (model) {
    case Model::non_saturating: {
      const double sg = logistic(tp);
      dphi = -sg * theta;
      dtheta = (1 - sg) * phi;
      break;
    }
    case Model::wgan: {
      const double n = phi.norm();
      dphi = -theta / n + (tp / (n * n * n)) * phi;
      dtheta = phi / n;
      break;
    }
    case Model::wgan_gp: {
      const double n = phi.norm();
      dphi = -theta - (2 * lambda * (center == 0 ? 1.0 : 1 - center / n)) * phi;
      dtheta = phi;
      break;
    }
    case Model::gan_qp: {
      const double n = qp_norm == QpNorm::theta ? theta.norm() : phi.norm();
      dphi = -theta - (tp / (lambda * n)) * theta;
      dtheta = phi;
      break;
    }
  }
  if (l2 != 0) dphi -= l2 * phi;
}

Matrix DiracGan::jacobian(const Vector& s) const {
  const Eigen::Index n = s.size();
  const double h = 1e-6 * std::max(1.0, s.norm());
  Matrix j(n, n);
  Vector fp, fm, sp = s, sm = s;
  for (Eigen::Index k = 0; k < n; ++k) {
    sp[k] = s[k] + h;
    sm[k] = s[k] - h;
    (*this)(sp, fp, 0);
    (*this)(sm, fm, 0);
    j.col(k) = (fp - fm) / (2 * h);
    sp[k] = sm[k] = s[k];
  }
  return j;
}

std::vector<std::complex<double>> DiracGan::eigenvalues(const Vector& s) const {
  const Matrix j = jacobian(s);
  require(j.allFinite(), "DiracGan::eigenvalues: the vector field is not differentiable at this point");
  Eigen::EigenSolver<Matrix> es(j, false);
  const Eigen::VectorXcd ev = es.eigenvalues();
  std::vector<std::complex<double>> out(ev.data(), ev.data() + ev.size());
  std::sort(out.begin(), out.end(),
            [](auto a, auto b) { return a.real() != b.real() ? a.real() < b.real() : a.imag() < b.imag(); });
  return out;
}

Ema::Ema(double decay, bool warm_up) : decay_(decay), warm_up_(warm_up) {
  require(std::isfinite(decay) && decay >= 0 && decay < 1, "Ema: decay must be in [0, 1)");
}

void Ema::update(const Vector& x) {
  ++count_;
  if (count_ == 1) {
    avg_ = x;
    return;
  }
  const double k = static_cast<double>(count_);
  const double d = warm_up_ ? std::min(decay_, (1 + k) / (10 + k)) : decay_;
  avg_ = d * avg_ + (1 - d) * x;
}

}  // namespace odyn::dynamics
