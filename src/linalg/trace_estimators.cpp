#include "odyn/linalg/trace_estimators.hpp"

#include <Eigen/Eigenvalues>
#include <Eigen/QR>
#include <cmath>
#include <limits>
#include <string>

#include "odyn/core/error.hpp"
#include "odyn/core/validate.hpp"

namespace odyn::linalg {
namespace {

Eigen::MatrixXd probes_block(Eigen::Index n, int k, std::mt19937_64& rng, Probe probe) {
  Eigen::MatrixXd z(n, k);
  if (probe == Probe::gaussian) {
    std::normal_distribution<double> normal(0.0, 1.0);
    for (Eigen::Index i = 0; i < z.size(); ++i) z.data()[i] = normal(rng);
  } else {
    std::bernoulli_distribution coin(0.5);
    for (Eigen::Index i = 0; i < z.size(); ++i) z.data()[i] = coin(rng) ? 1.0 : -1.0;
  }
  return z;
}

// A X with the shape and finiteness of the result checked.
Eigen::MatrixXd apply(const MatVec& a, const Eigen::MatrixXd& x, const char* where) {
  Eigen::MatrixXd y = a(x);
  if (y.rows() != x.rows() || y.cols() != x.cols()) {
    throw InvalidArgument(std::string(where) + ": the mat-vec returned " + std::to_string(y.rows()) + "x" +
                          std::to_string(y.cols()) + " for a " + std::to_string(x.rows()) + "x" +
                          std::to_string(x.cols()) + " block");
  }
  require_finite(y, std::string(where) + ": mat-vec result");
  return y;
}

void check_sizes(Eigen::Index n, int count, int least, const char* where, const char* what) {
  if (n < 1) throw InvalidArgument(std::string(where) + ": expected n >= 1, got " + std::to_string(n));
  if (count < least) {
    throw InvalidArgument(std::string(where) + ": expected " + what + " >= " + std::to_string(least) + ", got " +
                          std::to_string(count));
  }
}

// Mean of independent per-probe estimates and its standard error (NaN for a single probe).
TraceEstimate mean_of_terms(const Eigen::ArrayXd& terms, int matvecs) {
  const double l = static_cast<double>(terms.size());
  TraceEstimate e;
  e.value = terms.mean();
  e.std_error = terms.size() > 1 ? std::sqrt((terms - e.value).square().sum() / (l - 1) / l)
                                 : std::numeric_limits<double>::quiet_NaN();
  e.matvecs = matvecs;
  return e;
}

// Hutchinson's per-probe terms z_i^T (A z_i), averaged.
TraceEstimate mean_of_quadratic_forms(const Eigen::MatrixXd& z, const Eigen::MatrixXd& az) {
  return mean_of_terms((z.array() * az.array()).colwise().sum().transpose(), static_cast<int>(z.cols()));
}

MatVec dense(const Eigen::MatrixXd& a, const char* where) {
  require_square(a, where);
  require_finite(a, where);
  return [&a](const Eigen::MatrixXd& x) -> Eigen::MatrixXd { return a * x; };
}

}  // namespace

TraceEstimate hutchinson(const MatVec& a, Eigen::Index n, int probes, std::mt19937_64& rng, Probe probe) {
  check_sizes(n, probes, 1, "hutchinson", "probes");
  const Eigen::MatrixXd z = probes_block(n, probes, rng, probe);
  return mean_of_quadratic_forms(z, apply(a, z, "hutchinson"));
}

TraceEstimate hutchinson(const Eigen::MatrixXd& a, int probes, std::mt19937_64& rng, Probe probe) {
  return hutchinson(dense(a, "hutchinson"), a.rows(), probes, rng, probe);
}

TraceEstimate hutch_plus_plus(const MatVec& a, Eigen::Index n, int matvecs, std::mt19937_64& rng, Probe probe) {
  check_sizes(n, matvecs, 3, "hutch_plus_plus", "matvecs");
  const int k = matvecs / 3;
  const Eigen::MatrixXd s = probes_block(n, k, rng, probe);
  const Eigen::MatrixXd as = apply(a, s, "hutch_plus_plus");
  const Eigen::HouseholderQR<Eigen::MatrixXd> qr(as);
  const Eigen::MatrixXd q = qr.householderQ() * Eigen::MatrixXd::Identity(n, std::min<Eigen::Index>(k, n));
  const double top = (q.transpose() * apply(a, q, "hutch_plus_plus")).trace();

  Eigen::MatrixXd g = probes_block(n, k, rng, probe);
  g -= q * (q.transpose() * g);  // project the probes off range(Q)
  TraceEstimate rest = mean_of_quadratic_forms(g, apply(a, g, "hutch_plus_plus"));
  rest.value += top;
  rest.matvecs = 2 * k + static_cast<int>(q.cols());
  return rest;
}

TraceEstimate hutch_plus_plus(const Eigen::MatrixXd& a, int matvecs, std::mt19937_64& rng, Probe probe) {
  return hutch_plus_plus(dense(a, "hutch_plus_plus"), a.rows(), matvecs, rng, probe);
}

TraceEstimate xtrace(const MatVec& a, Eigen::Index n, int matvecs, std::mt19937_64& rng, Probe probe) {
  check_sizes(n, matvecs, 4, "xtrace", "matvecs");
  const int k = matvecs / 2;
  const bool normalize = probe == Probe::gaussian;
  Eigen::MatrixXd omega = probes_block(n, k, rng, probe);
  if (normalize) omega = std::sqrt(static_cast<double>(n)) * omega.colwise().normalized();  // uniform on the sphere
  const Eigen::MatrixXd y = apply(a, omega, "xtrace");
  const Eigen::ColPivHouseholderQR<Eigen::MatrixXd> qr(y);  // Y P = Q R
  const Eigen::Index r = qr.rank();
  const Eigen::MatrixXd q = qr.householderQ() * Eigen::MatrixXd::Identity(n, r);
  const Eigen::MatrixXd z = apply(a, q, "xtrace");
  const Eigen::MatrixXd h = q.transpose() * z;  // Q^T A Q
  const Eigen::MatrixXd w = q.transpose() * omega;

  // Q s_i, with s_i the normalized i-th column of (R P^T)^-T = R^-T P^T, is orthogonal to every
  // column of Y but the i-th, so Q_i Q_i^T = Q Q^T - Q s_i s_i^T Q^T. If Y is rank deficient the
  // other columns already span range(Y): s_i = 0.
  Eigen::MatrixXd s = Eigen::MatrixXd::Zero(r, k);
  if (r == k) {
    const Eigen::MatrixXd pt = qr.colsPermutation().transpose() * Eigen::MatrixXd::Identity(k, k);
    s = qr.matrixR().topLeftCorner(k, k).triangularView<Eigen::Upper>().transpose().solve(pt);
    s.colwise().normalize();
  }
  // (I - Q_i Q_i^T) w_i = w_i - Q (Q^T w_i - (s_i^T Q^T w_i) s_i), and A times it from Y and A Q.
  const Eigen::RowVectorXd c = (s.array() * w.array()).colwise().sum();
  const Eigen::MatrixXd coefficients = w - s * c.asDiagonal();
  const Eigen::MatrixXd v = omega - q * coefficients;
  const Eigen::MatrixXd av = y - z * coefficients;

  const double dimension = static_cast<double>(n - (r == k ? k - 1 : r));  // of range(I - Q_i Q_i^T)
  const Eigen::MatrixXd hs = h * s;
  Eigen::ArrayXd terms(k);
  for (int i = 0; i < k; ++i) {
    double tail = v.col(i).dot(av.col(i));
    const double norm2 = v.col(i).squaredNorm();
    if (normalize) tail = norm2 > 0 ? tail * dimension / norm2 : 0.0;
    terms(i) = h.trace() - s.col(i).dot(hs.col(i)) + tail;
  }
  return mean_of_terms(terms, k + static_cast<int>(r));
}

TraceEstimate xtrace(const Eigen::MatrixXd& a, int matvecs, std::mt19937_64& rng, Probe probe) {
  return xtrace(dense(a, "xtrace"), a.rows(), matvecs, rng, probe);
}

TraceEstimate slq_trace(const MatVec& a, Eigen::Index n, const std::function<double(double)>& f, int probes, int steps,
                        std::mt19937_64& rng) {
  check_sizes(n, probes, 1, "slq_trace", "probes");
  check_sizes(n, steps, 1, "slq_trace", "steps");
  const Eigen::Index m = std::min<Eigen::Index>(steps, n);
  const Eigen::MatrixXd v = probes_block(n, probes, rng, Probe::rademacher);
  Eigen::ArrayXd terms(probes);
  int matvecs = 0;
  for (int p = 0; p < probes; ++p) {
    Eigen::MatrixXd q(n, m);  // orthonormal Lanczos basis
    Eigen::VectorXd alpha(m), beta(m);
    q.col(0) = v.col(p) / std::sqrt(static_cast<double>(n));
    Eigen::Index k = 0;  // steps taken
    for (; k < m; ++k) {
      Eigen::VectorXd w = apply(a, q.col(k), "slq_trace");
      ++matvecs;
      alpha(k) = q.col(k).dot(w);
      for (int pass = 0; pass < 2; ++pass) w -= q.leftCols(k + 1) * (q.leftCols(k + 1).transpose() * w);
      if (k + 1 == m) {
        ++k;
        break;
      }
      beta(k) = w.norm();
      if (beta(k) <= 1e-12 * std::max(std::abs(alpha(k)), 1.0)) {  // invariant subspace: quadrature is exact
        ++k;
        break;
      }
      q.col(k + 1) = w / beta(k);
    }
    Eigen::MatrixXd t = Eigen::MatrixXd::Zero(k, k);
    for (Eigen::Index i = 0; i < k; ++i) {
      t(i, i) = alpha(i);
      if (i + 1 < k) t(i, i + 1) = t(i + 1, i) = beta(i);
    }
    const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(t);
    double sum = 0;
    for (Eigen::Index i = 0; i < k; ++i) {
      const double tau = eig.eigenvectors()(0, i);
      sum += tau * tau * f(eig.eigenvalues()(i));
    }
    terms(p) = static_cast<double>(n) * sum;
  }
  const TraceEstimate e = mean_of_terms(terms, matvecs);
  if (!std::isfinite(e.value)) throw InvalidArgument("slq_trace: f is not finite at a Ritz value");
  return e;
}

TraceEstimate slq_logdet(const MatVec& a, Eigen::Index n, int probes, int steps, std::mt19937_64& rng) {
  const auto log_positive = [](double x) {
    if (!(x > 0))
      throw InvalidArgument("slq_logdet: matrix is not positive definite (Ritz value " + std::to_string(x) + ")");
    return std::log(x);
  };
  return slq_trace(a, n, log_positive, probes, steps, rng);
}

TraceEstimate slq_logdet(const Eigen::MatrixXd& a, int probes, int steps, std::mt19937_64& rng) {
  return slq_logdet(dense(a, "slq_logdet"), a.rows(), probes, steps, rng);
}

}  // namespace odyn::linalg
