// Critic-based divergences (WGAN-div's W_{k,p}, GAN-QP's QP-divergence) over a random-Fourier
// critic, maximised with Ceres Solver's L-BFGS. Ceres code lives in this translation unit only.
//
// Both objectives depend on the critic's coefficients alpha = (a, c) concavely: a linear term minus
// a convex penalty that is positively homogeneous of degree s (s = p for W_{k,p}, s = q for QP).
// Before L-BFGS the coefficients are whitened by the Gram matrix A of the degree-2 version of the
// penalty (alpha = B beta with B^T A B = I, directions with tiny curvature left out), so the
// problem L-BFGS sees is well conditioned (for s = 2 it is exactly ||beta||^2), and the start is
// the best point on the ray along the initial gradient.
#include "odyn/transport/critic.hpp"

#include "odyn/config.hpp"

#if ODYN_HAVE_CERES
#include <ceres/ceres.h>

#include "../core/ceres_lbfgs.hpp"
#endif

#include <Eigen/Eigenvalues>
#include <algorithm>
#include <climits>
#include <cmath>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "odyn/core/error.hpp"
#include "odyn/transport/mmd.hpp"

namespace odyn::transport {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kMaxPairs = 2e7;          // QP pairs held in memory (about 0.6 GB)
constexpr double kMaxBinaryEntries = 5e7;  // pairs x features of a binary critic (0.4 GB)

// Portable random numbers (the distributions of <random> differ between standard libraries).
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : engine_(seed) {}
  double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }  // [0, 1)
  double normal() {                                                              // Box-Muller
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u1 = uniform();
    while (u1 <= 0.0) u1 = uniform();
    const double u2 = uniform();
    const double radius = std::sqrt(-2.0 * std::log(u1));
    spare_ = radius * std::sin(2.0 * kPi * u2);
    has_spare_ = true;
    return radius * std::cos(2.0 * kPi * u2);
  }
  // An index drawn with probabilities w (cumulative sums in `cumulative`).
  Eigen::Index pick(const std::vector<double>& cumulative) {
    const double u = uniform() * cumulative.back();
    const auto it = std::upper_bound(cumulative.begin(), cumulative.end(), u);
    const auto i = static_cast<Eigen::Index>(it - cumulative.begin());
    return std::min<Eigen::Index>(i, static_cast<Eigen::Index>(cumulative.size()) - 1);
  }

 private:
  std::mt19937_64 engine_;
  bool has_spare_ = false;
  double spare_ = 0.0;
};

std::vector<double> cumulative_of(const Vector& w) {
  std::vector<double> c(static_cast<std::size_t>(w.size()));
  double total = 0.0;
  for (Eigen::Index i = 0; i < w.size(); ++i) c[static_cast<std::size_t>(i)] = (total += w(i));
  return c;
}

void check_sample_pair(const PointsRef& p, const PointsRef& q, const std::string& where) {
  check_points(p, where, "P");
  check_points(q, where, "Q");
  require(p.cols() == q.cols(), where,
          "P and Q differ in dimension (" + std::to_string(p.cols()) + " and " + std::to_string(q.cols()) + ")");
}

void check_options(const CriticOptions& o, const std::string& where) {
  require(o.features >= 1, where, "options.features must be at least 1");
  require(std::isfinite(o.bandwidth) && o.bandwidth >= 0.0, where,
          "options.bandwidth must be finite and >= 0 (0: median heuristic)");
  require(o.r_points >= 0, where, "options.r_points must be >= 0");
  require(o.max_iterations >= 1, where, "options.max_iterations must be at least 1");
  require(std::isfinite(o.gradient_tolerance) && o.gradient_tolerance >= 0.0, where,
          "options.gradient_tolerance must be finite and >= 0");
  require(std::isfinite(o.function_tolerance) && o.function_tolerance >= 0.0, where,
          "options.function_tolerance must be finite and >= 0");
  require(std::isfinite(o.parameter_tolerance) && o.parameter_tolerance >= 0.0, where,
          "options.parameter_tolerance must be finite and >= 0");
  require(o.lbfgs_rank >= 1, where, "options.lbfgs_rank must be at least 1");
  require(std::isfinite(o.rank_tolerance) && o.rank_tolerance >= 0.0 && o.rank_tolerance < 1.0, where,
          "options.rank_tolerance must lie in [0, 1)");
}

// The median-heuristic bandwidth: median_heuristic(P, Q, 1000, seed) (mmd.hpp), or 1 when it is 0
// (most pooled points coincide).
double median_bandwidth(const PointsRef& p, const PointsRef& q, std::uint64_t seed) {
  const double median = median_heuristic(p, q, 1000, seed);
  return median > 0.0 ? median : 1.0;
}

// A fresh dictionary in dimension dim: w_k ~ N(0, I / bandwidth^2), b_k ~ U[0, 2 pi).
FourierCritic make_dictionary(Eigen::Index dim, int features, double bandwidth, std::uint64_t seed) {
  Rng rng(seed ^ 0x66656174757265ULL);
  FourierCritic t;
  t.frequencies.resize(features, dim);
  for (Eigen::Index k = 0; k < features; ++k)
    for (Eigen::Index j = 0; j < dim; ++j) t.frequencies(k, j) = rng.normal() / bandwidth;
  t.phases.resize(features);
  for (Eigen::Index k = 0; k < features; ++k) t.phases(k) = 2.0 * kPi * rng.uniform();
  t.coefficients = Vector::Zero(features);
  t.linear = Vector::Zero(dim);
  return t;
}

// Arguments w_k . z_i + b_k, an n x F matrix.
Matrix arguments(const FourierCritic& t, const PointsRef& z) {
  Matrix a = z * t.frequencies.transpose();
  a.rowwise() += t.phases.transpose();
  return a;
}

// The dictionary evaluated at z: n x (F + L), L = D with linear terms, else 0.
Matrix feature_matrix(const FourierCritic& t, const PointsRef& z, bool linear) {
  const Eigen::Index f = t.frequencies.rows(), dim = t.frequencies.cols();
  Matrix phi(z.rows(), f + (linear ? dim : 0));
  phi.leftCols(f) = arguments(t, z).array().cos().matrix();
  if (linear) phi.rightCols(dim) = z;
  return phi;
}

// alpha = (a, c) into the critic.
void set_coefficients(FourierCritic& t, const Vector& alpha, bool linear) {
  const Eigen::Index f = t.frequencies.rows(), dim = t.frequencies.cols();
  t.coefficients = alpha.head(f);
  t.linear = linear ? Vector(alpha.tail(dim)) : Vector::Zero(dim);
}

// A concave objective J(alpha) = linear(alpha) - penalty(alpha), penalty convex and positively
// homogeneous of degree `degree`.
class Objective {
 public:
  virtual ~Objective() = default;
  // J(alpha); the gradient into *gradient when not null; the linear part into *linear_part.
  virtual double evaluate(const Vector& alpha, Vector* gradient, double* linear_part) const = 0;
  // The Gram matrix of the degree-2 version of the penalty (the whitening metric).
  virtual Matrix gram() const = 0;
  virtual double degree() const = 0;
  virtual Eigen::Index size() const = 0;
};

// W_{k,p}: J = m . alpha - k sum_j wr_j ||grad T(r_j)||^p.
class WdivObjective final : public Objective {
 public:
  WdivObjective(const FourierCritic& t, bool linear, const PointsRef& p, const PointsRef& q, const Vector& wp,
                const Vector& wq, const PointsRef& r, const Vector& wr, double k, double power)
      : w_(t.frequencies), wr_(wr), k_(k), power_(power), linear_(linear) {
    mean_ = feature_matrix(t, p, linear).transpose() * wp - feature_matrix(t, q, linear).transpose() * wq;
    s_ = -arguments(t, r).array().sin().matrix();  // d cos(w.x + b) / dx = -sin(w.x + b) w
  }

  double evaluate(const Vector& alpha, Vector* gradient, double* linear_part) const override {
    const Eigen::Index f = w_.rows(), dim = w_.cols();
    Matrix g = s_ * (alpha.head(f).asDiagonal() * w_);  // grad T at r_j, row j
    if (linear_) g.rowwise() += alpha.tail(dim).transpose();
    const Vector norms = g.rowwise().norm();
    double penalty = 0.0;
    Vector h(norms.size());  // d(k wr_j ||g_j||^p) / d g_j = h_j g_j
    for (Eigen::Index j = 0; j < norms.size(); ++j) {
      const double s = norms(j);
      penalty += wr_(j) * std::pow(s, power_);
      h(j) = s > 0.0 ? k_ * power_ * wr_(j) * std::pow(s, power_ - 2.0) : 0.0;
    }
    const double lin = mean_.dot(alpha);
    if (linear_part != nullptr) *linear_part = lin;
    if (gradient != nullptr) {
      const Matrix hg = h.asDiagonal() * g;
      gradient->resize(alpha.size());
      gradient->head(f) = mean_.head(f) - s_.cwiseProduct(hg * w_.transpose()).colwise().sum().transpose();
      if (linear_) gradient->tail(dim) = mean_.tail(dim) - hg.colwise().sum().transpose();
    }
    return lin - k_ * penalty;
  }

  Matrix gram() const override {
    const Eigen::Index f = w_.rows(), dim = w_.cols();
    Matrix a(size(), size());
    a.topLeftCorner(f, f) = (s_.transpose() * wr_.asDiagonal() * s_).cwiseProduct(w_ * w_.transpose());
    if (linear_) {
      const Matrix cross = (s_.transpose() * wr_).asDiagonal() * w_;  // F x D
      a.topRightCorner(f, dim) = cross;
      a.bottomLeftCorner(dim, f) = cross.transpose();
      a.bottomRightCorner(dim, dim) = wr_.sum() * Matrix::Identity(dim, dim);
    }
    return a;
  }
  double degree() const override { return power_; }
  Eigen::Index size() const override { return mean_.size(); }

 private:
  Matrix w_;     // F x D frequencies
  Matrix s_;     // N_r x F: -sin(w_k . r_j + b_k)
  Vector wr_;    // weights of r
  Vector mean_;  // E_P phi - E_Q phi
  double k_, power_;
  bool linear_;
};

// A list of (x_r, x_f) pairs with weights and distances.
struct Pairs {
  std::vector<Eigen::Index> i, j;
  std::vector<double> weight, distance;
  void add(Eigen::Index a, Eigen::Index b, double w, double d) {
    i.push_back(a);
    j.push_back(b);
    weight.push_back(w);
    distance.push_back(d);
  }
  std::size_t size() const { return i.size(); }
};

// QP: J = sum_pairs w (z - |z|^q / (q (lambda d)^{q-1})), z = Delta T linear in alpha.
class QpObjective final : public Objective {
 public:
  // Unary critic: z = phi(x_i) . alpha - phi(y_j) . alpha.
  QpObjective(const Matrix& phi_p, const Matrix& phi_q, Pairs pairs, double lambda, double power)
      : phi_p_(phi_p), phi_q_(phi_q), pairs_(std::move(pairs)), power_(power), binary_(false) {
    scale_.resize(pairs_.size());
    for (std::size_t n = 0; n < pairs_.size(); ++n) scale_[n] = std::pow(lambda * pairs_.distance[n], power_ - 1.0);
  }
  // Binary critic: z = (phi(x_i, y_j) - phi(y_j, x_i)) . alpha, the rows of `differences`.
  QpObjective(Matrix differences, Pairs pairs, double lambda, double power)
      : diff_(std::move(differences)), pairs_(std::move(pairs)), power_(power), binary_(true) {
    scale_.resize(pairs_.size());
    for (std::size_t n = 0; n < pairs_.size(); ++n) scale_[n] = std::pow(lambda * pairs_.distance[n], power_ - 1.0);
  }

  double evaluate(const Vector& alpha, Vector* gradient, double* linear_part) const override {
    Vector t, u, z;
    if (binary_) {
      z = diff_ * alpha;
    } else {
      t = phi_p_ * alpha;
      u = phi_q_ * alpha;
    }
    Vector gt, gu, gz;
    if (gradient != nullptr) {
      if (binary_)
        gz.resize(static_cast<Eigen::Index>(pairs_.size()));
      else {
        gt = Vector::Zero(t.size());
        gu = Vector::Zero(u.size());
      }
    }
    double lin = 0.0, value = 0.0;
    const bool quadratic = power_ == 2.0;
    for (std::size_t n = 0; n < pairs_.size(); ++n) {
      const auto e = static_cast<Eigen::Index>(n);
      const double zn = binary_ ? z(e) : t(pairs_.i[n]) - u(pairs_.j[n]);
      const double w = pairs_.weight[n];
      const double az = std::abs(zn);
      const double az_q1 = quadratic ? az : std::pow(az, power_ - 1.0);  // |z|^{q-1}
      lin += w * zn;
      value += w * (zn - az_q1 * az / (power_ * scale_[n]));
      if (gradient != nullptr) {
        const double dz = w * (1.0 - std::copysign(az_q1, zn) / scale_[n]);
        if (binary_)
          gz(e) = dz;
        else {
          gt(pairs_.i[n]) += dz;
          gu(pairs_.j[n]) -= dz;
        }
      }
    }
    if (linear_part != nullptr) *linear_part = lin;
    if (gradient != nullptr) {
      *gradient = binary_ ? Vector(diff_.transpose() * gz) : Vector(phi_p_.transpose() * gt + phi_q_.transpose() * gu);
    }
    return value;
  }

  Matrix gram() const override {
    if (binary_) {
      Vector c(static_cast<Eigen::Index>(pairs_.size()));
      for (std::size_t n = 0; n < pairs_.size(); ++n)
        c(static_cast<Eigen::Index>(n)) = pairs_.weight[n] / pairs_.distance[n];
      return diff_.transpose() * c.asDiagonal() * diff_;
    }
    // sum c (phi_i - psi_j)(phi_i - psi_j)^T = Phi^T diag(rho) Phi + Psi^T diag(kappa) Psi - X - X^T,
    // X = Phi^T (C Psi), C the sparse n x m matrix of c = w / d.
    Vector rho = Vector::Zero(phi_p_.rows()), kappa = Vector::Zero(phi_q_.rows());
    const Matrix psi_t = phi_q_.transpose();  // columns are contiguous: the loop below is axpy
    Matrix cpsi_t = Matrix::Zero(phi_p_.cols(), phi_p_.rows());
    for (std::size_t n = 0; n < pairs_.size(); ++n) {
      const double c = pairs_.weight[n] / pairs_.distance[n];
      rho(pairs_.i[n]) += c;
      kappa(pairs_.j[n]) += c;
      cpsi_t.col(pairs_.i[n]) += c * psi_t.col(pairs_.j[n]);
    }
    const Matrix x = phi_p_.transpose() * cpsi_t.transpose();
    Matrix a = phi_p_.transpose() * rho.asDiagonal() * phi_p_ + phi_q_.transpose() * kappa.asDiagonal() * phi_q_;
    a -= x + x.transpose();
    return a;
  }
  double degree() const override { return power_; }
  Eigen::Index size() const override { return binary_ ? diff_.cols() : phi_p_.cols(); }

 private:
  Matrix phi_p_, phi_q_, diff_;
  Pairs pairs_;
  std::vector<double> scale_;  // (lambda d)^{q-1}
  double power_;
  bool binary_;
};

#if ODYN_HAVE_CERES

// The whitened problem as Ceres sees it: minimise -J(B beta).
class WhitenedFunction final : public ceres::FirstOrderFunction {
 public:
  WhitenedFunction(const Objective& objective, const Matrix& b) : objective_(objective), b_(b) {}

  bool Evaluate(const double* parameters, double* cost, double* gradient) const override {
    const Vector alpha = b_ * Eigen::Map<const Vector>(parameters, b_.cols());
    Vector g;
    const double value = objective_.evaluate(alpha, gradient != nullptr ? &g : nullptr, nullptr);
    if (!std::isfinite(value)) return false;  // Ceres shortens the step
    *cost = -value;
    if (gradient != nullptr) {
      const Vector gb = -(b_.transpose() * g);
      if (!gb.allFinite()) return false;
      Eigen::Map<Vector>(gradient, b_.cols()) = gb;
    }
    return true;
  }
  int NumParameters() const override { return static_cast<int>(b_.cols()); }

 private:
  const Objective& objective_;
  const Matrix& b_;
};

#endif

// Maximises the objective over alpha; fills everything but critic coefficients' bookkeeping.
Vector maximise(const Objective& objective, const CriticOptions& options, CriticResult& result,
                const std::string& where) {
  const Eigen::Index size = objective.size();
  Vector alpha = Vector::Zero(size);
  Vector g0;
  objective.evaluate(alpha, &g0, nullptr);  // the gradient at 0 is the linear term

  const Eigen::SelfAdjointEigenSolver<Matrix> eig(objective.gram());
  if (eig.info() != Eigen::Success) throw Error(where + ": the eigendecomposition of the Gram matrix failed");
  const Vector& lam = eig.eigenvalues();  // ascending
  const double top = lam.size() > 0 ? lam(lam.size() - 1) : 0.0;
  Eigen::Index first = lam.size();
  if (top > 0.0) {
    const double floor = options.rank_tolerance * top;
    first = 0;
    while (first < lam.size() && !(lam(first) > floor)) ++first;
  }
  const Eigen::Index kept = lam.size() - first;
  result.directions = kept;
  const Matrix v = eig.eigenvectors().rightCols(kept);
  const Vector g_left_out = g0 - v * (v.transpose() * g0);
  result.left_out = g0.norm() > 0.0 ? g_left_out.norm() / g0.norm() : 0.0;
  if (kept == 0 || g0.norm() == 0.0) {
    result.converged = true;
    result.message = "trivial problem: the optimum is the zero critic";
    return alpha;
  }
  if (kept > INT_MAX) throw InvalidArgument(where + ": too many parameters for Ceres");
  const Matrix b = v * lam.tail(kept).cwiseInverse().cwiseSqrt().asDiagonal();

  // Start: the best point t u on the ray along the whitened gradient u. There J(t u) = t a - t^s c
  // with a = g0 . B u and c = a - J(B u), so t* = (a / (s c))^{1/(s-1)}.
  Vector beta = b.transpose() * g0;
  if (beta.norm() > 0.0) {
    beta /= beta.norm();
    const Vector dir = b * beta;
    const double a = g0.dot(dir);
    const double c = a - objective.evaluate(dir, nullptr, nullptr);
    const double s = objective.degree();
    if (a > 0.0 && c > 0.0 && std::isfinite(c))
      beta *= std::pow(a / (s * c), 1.0 / (s - 1.0));
    else
      beta.setZero();
  }

#if ODYN_HAVE_CERES
  const ceres::GradientProblemSolver::Options solver_options = odyn::detail::lbfgs_options(options, where);
  ceres::GradientProblem problem(new WhitenedFunction(objective, b));  // takes ownership
  ceres::GradientProblemSolver::Summary summary;
  ceres::Solve(solver_options, problem, beta.data(), &summary);
  result.iterations = summary.iterations.empty() ? 0 : summary.iterations.back().iteration;
  result.converged = summary.termination_type == ceres::CONVERGENCE;
  result.message = summary.BriefReport();
  alpha = b * beta;
  // The zero critic scores exactly 0; never return less (rounding on problems whose optimum is 0).
  if (!(objective.evaluate(alpha, nullptr, nullptr) >= 0.0)) alpha.setZero();
  return alpha;
#else
  (void)beta;
  throw Error(where + ": odyn was built without Ceres Solver");
#endif
}

// Throws odyn::Error when odyn was built without Ceres (called once the input is validated).
void require_ceres(const std::string& where) {
#if !ODYN_HAVE_CERES
  throw Error(where + ": odyn was built without Ceres Solver");
#else
  (void)where;
#endif
}

void finish(const Objective& objective, const Vector& alpha, bool linear, CriticResult& result) {
  double lin = 0.0;
  result.value = objective.evaluate(alpha, nullptr, &lin);
  result.mean_difference = lin;
  result.penalty = lin - result.value;
  set_coefficients(result.critic, alpha, linear);
}

}  // namespace

Vector FourierCritic::values(const PointsRef& z) const {
  const std::string where = "FourierCritic::values";
  check_points(z, where, "z");
  require(z.cols() == frequencies.cols(), where,
          "z has dimension " + std::to_string(z.cols()) + ", the critic " + std::to_string(frequencies.cols()));
  return arguments(*this, z).array().cos().matrix() * coefficients + z * linear;
}

Matrix FourierCritic::gradients(const PointsRef& z) const {
  const std::string where = "FourierCritic::gradients";
  check_points(z, where, "z");
  require(z.cols() == frequencies.cols(), where,
          "z has dimension " + std::to_string(z.cols()) + ", the critic " + std::to_string(frequencies.cols()));
  Matrix g = -arguments(*this, z).array().sin().matrix() * (coefficients.asDiagonal() * frequencies);
  g.rowwise() += linear.transpose();
  return g;
}

WeightedPoints critic_sampling_points(const PointsRef& p_sample, const PointsRef& q_sample, CriticSampling sampling,
                                      Eigen::Index r_points, std::uint64_t seed, const VectorRef& wp,
                                      const VectorRef& wq) {
  const std::string where = "critic_sampling_points";
  check_sample_pair(p_sample, q_sample, where);
  const Vector a = measure_weights(wp, p_sample.rows(), where, "wp");
  const Vector b = measure_weights(wq, q_sample.rows(), where, "wq");
  require(r_points >= 0, where, "r_points must be >= 0");
  const Eigen::Index n = p_sample.rows(), m = q_sample.rows(), dim = p_sample.cols();
  WeightedPoints r;
  switch (sampling) {
    case CriticSampling::real:
      r.points = p_sample;
      r.weights = a;
      return r;
    case CriticSampling::fake:
      r.points = q_sample;
      r.weights = b;
      return r;
    case CriticSampling::pooled:
      r.points.resize(n + m, dim);
      r.points << p_sample, q_sample;
      r.weights.resize(n + m);
      r.weights << 0.5 * a, 0.5 * b;
      return r;
    case CriticSampling::real_fake_interpolates:
    case CriticSampling::real_real_fake_fake_interpolates:
    case CriticSampling::pooled_interpolates:
      break;
    default:
      throw InvalidArgument(where + ": unknown sampling strategy");
  }
  // Many more points than the samples: r must cover the region between them densely at the
  // dictionary's length scale, or the critic can vary freely between the r points.
  const Eigen::Index count =
      r_points > 0 ? r_points : std::max<Eigen::Index>(4096, std::min<Eigen::Index>(n + m, 65536));
  const std::vector<double> ca = cumulative_of(a), cb = cumulative_of(b);
  Rng rng(seed ^ 0x73616d706c65ULL);
  auto draw = [&](bool from_p) -> Eigen::RowVectorXd {
    return from_p ? Eigen::RowVectorXd(p_sample.row(rng.pick(ca))) : Eigen::RowVectorXd(q_sample.row(rng.pick(cb)));
  };
  r.points.resize(count, dim);
  for (Eigen::Index s = 0; s < count; ++s) {
    Eigen::RowVectorXd x, y;
    if (sampling == CriticSampling::real_fake_interpolates) {
      x = draw(true);
      y = draw(false);
    } else if (sampling == CriticSampling::real_real_fake_fake_interpolates) {
      const bool from_p = 2 * s < count;  // first half real-real, second half fake-fake
      x = draw(from_p);
      y = draw(from_p);
    } else {
      x = draw(rng.uniform() < 0.5);
      y = draw(rng.uniform() < 0.5);
    }
    const double u = rng.uniform();
    r.points.row(s) = x + u * (y - x);
  }
  r.weights = Vector::Constant(count, 1.0 / static_cast<double>(count));
  return r;
}

namespace {

CriticResult wdiv_impl(const PointsRef& p, const PointsRef& q, const Vector& a, const Vector& b, const PointsRef& r,
                       const Vector& wr, double k, double power, const CriticOptions& options,
                       const std::string& where) {
  CriticResult result;
  result.bandwidth = options.bandwidth > 0.0 ? options.bandwidth : median_bandwidth(p, q, options.seed);
  result.critic = make_dictionary(p.cols(), options.features, result.bandwidth, options.seed);
  const WdivObjective objective(result.critic, options.linear_terms, p, q, a, b, r, wr, k, power);
  const Vector alpha = maximise(objective, options, result, where);
  finish(objective, alpha, options.linear_terms, result);
  return result;
}

void check_wdiv_parameters(double k, double power, const std::string& where) {
  require(std::isfinite(k) && k > 0.0, where, "k must be positive and finite");
  require(std::isfinite(power) && power > 1.0, where, "the power p must be finite and > 1");
}

}  // namespace

CriticResult wasserstein_divergence(const PointsRef& p_sample, const PointsRef& q_sample, double k, double power,
                                    CriticSampling sampling, const CriticOptions& options, const VectorRef& wp,
                                    const VectorRef& wq) {
  const std::string where = "wasserstein_divergence";
  check_sample_pair(p_sample, q_sample, where);
  const Vector a = measure_weights(wp, p_sample.rows(), where, "wp");
  const Vector b = measure_weights(wq, q_sample.rows(), where, "wq");
  check_wdiv_parameters(k, power, where);
  check_options(options, where);
  require(static_cast<int>(sampling) >= static_cast<int>(CriticSampling::real_fake_interpolates) &&
              static_cast<int>(sampling) <= static_cast<int>(CriticSampling::real),
          where, "unknown sampling strategy");
  require_ceres(where);
  const WeightedPoints r = critic_sampling_points(p_sample, q_sample, sampling, options.r_points, options.seed, a, b);
  return wdiv_impl(p_sample, q_sample, a, b, r.points, r.weights, k, power, options, where);
}

CriticResult wasserstein_divergence(const PointsRef& p_sample, const PointsRef& q_sample, const PointsRef& r_sample,
                                    double k, double power, const CriticOptions& options, const VectorRef& wp,
                                    const VectorRef& wq, const VectorRef& wr) {
  const std::string where = "wasserstein_divergence";
  check_sample_pair(p_sample, q_sample, where);
  check_points(r_sample, where, "r");
  require(r_sample.cols() == p_sample.cols(), where,
          "r has dimension " + std::to_string(r_sample.cols()) + ", P and Q " + std::to_string(p_sample.cols()));
  const Vector a = measure_weights(wp, p_sample.rows(), where, "wp");
  const Vector b = measure_weights(wq, q_sample.rows(), where, "wq");
  const Vector c = measure_weights(wr, r_sample.rows(), where, "wr");
  check_wdiv_parameters(k, power, where);
  check_options(options, where);
  require_ceres(where);
  return wdiv_impl(p_sample, q_sample, a, b, r_sample, c, k, power, options, where);
}

CriticResult qp_divergence(const PointsRef& p_sample, const PointsRef& q_sample, double lambda, const QpOptions& qp,
                           const CriticOptions& options, const VectorRef& wp, const VectorRef& wq) {
  const std::string where = "qp_divergence";
  check_sample_pair(p_sample, q_sample, where);
  const Vector a = measure_weights(wp, p_sample.rows(), where, "wp");
  const Vector b = measure_weights(wq, q_sample.rows(), where, "wq");
  require(std::isfinite(lambda) && lambda > 0.0, where, "lambda must be positive and finite");
  require(std::isfinite(qp.power) && qp.power > 1.0, where, "qp.power must be finite and > 1");
  require(qp.distance == QpDistance::l2 || qp.distance == QpDistance::l1, where, "unknown qp.distance");
  require(qp.critic == QpCritic::unary || qp.critic == QpCritic::binary, where, "unknown qp.critic");
  require(qp.pairs >= 0, where, "qp.pairs must be >= 0");
  check_options(options, where);
  const Eigen::Index n = p_sample.rows(), m = q_sample.rows();
  require(qp.pairing != QpPairing::all || static_cast<double>(n) * static_cast<double>(m) <= kMaxPairs, where,
          "all pairs of " + std::to_string(n) + " x " + std::to_string(m) + " points exceed " +
              std::to_string(static_cast<long>(kMaxPairs)) + " pairs; use QpPairing::random");
  require(qp.pairing != QpPairing::random || static_cast<double>(qp.pairs) <= kMaxPairs, where,
          "qp.pairs exceeds " + std::to_string(static_cast<long>(kMaxPairs)));
  if (qp.pairing == QpPairing::index) {
    require(n == m, where,
            "index pairing needs samples of equal size (" + std::to_string(n) + " and " + std::to_string(m) + ")");
    require(wp.size() == 0 && wq.size() == 0, where, "index pairing takes uniform weights only");
  }
  const bool binary = qp.critic == QpCritic::binary;
  const double pairs_bound = qp.pairing == QpPairing::all ? static_cast<double>(n) * static_cast<double>(m)
                             : qp.pairing == QpPairing::random
                                 ? static_cast<double>(qp.pairs > 0 ? qp.pairs : std::max(n, m))
                                 : static_cast<double>(n);
  require(!binary || pairs_bound * (options.features + 2.0 * static_cast<double>(p_sample.cols())) <= kMaxBinaryEntries,
          where,
          "the binary critic would store more than " + std::to_string(static_cast<long>(kMaxBinaryEntries)) +
              " feature differences (pairs x features); use fewer pairs or features");
  require_ceres(where);

  auto distance = [&](Eigen::Index i, Eigen::Index j) {
    const auto diff = p_sample.row(i) - q_sample.row(j);
    return qp.distance == QpDistance::l2 ? diff.norm() : diff.cwiseAbs().sum();
  };
  Pairs pairs;
  switch (qp.pairing) {
    case QpPairing::all:
      for (Eigen::Index i = 0; i < n; ++i)
        for (Eigen::Index j = 0; j < m; ++j) {
          const double d = distance(i, j);
          if (d > 0.0 && a(i) * b(j) > 0.0) pairs.add(i, j, a(i) * b(j), d);
        }
      break;
    case QpPairing::random: {
      const Eigen::Index count = qp.pairs > 0 ? qp.pairs : std::max(n, m);
      const std::vector<double> ca = cumulative_of(a), cb = cumulative_of(b);
      Rng rng(options.seed ^ 0x7061697273ULL);
      for (Eigen::Index s = 0; s < count; ++s) {
        const Eigen::Index i = rng.pick(ca), j = rng.pick(cb);
        const double d = distance(i, j);
        if (d > 0.0) pairs.add(i, j, 1.0 / static_cast<double>(count), d);
      }
      break;
    }
    case QpPairing::index:
      for (Eigen::Index i = 0; i < n; ++i) {
        const double d = distance(i, i);
        if (d > 0.0) pairs.add(i, i, 1.0 / static_cast<double>(n), d);
      }
      break;
    default:
      throw InvalidArgument(where + ": unknown qp.pairing");
  }

  CriticResult result;
  const double median =
      options.bandwidth > 0.0 ? options.bandwidth : median_bandwidth(p_sample, q_sample, options.seed);
  // A binary critic sees (x_r, x_f) in R^{2d}, where distances are about sqrt(2) times larger.
  result.bandwidth = binary && options.bandwidth <= 0.0 ? std::sqrt(2.0) * median : median;
  const Eigen::Index dim = binary ? 2 * p_sample.cols() : p_sample.cols();
  result.critic = make_dictionary(dim, options.features, result.bandwidth, options.seed);

  std::unique_ptr<QpObjective> objective;
  if (binary) {
    Matrix forward(static_cast<Eigen::Index>(pairs.size()), dim), backward(forward.rows(), dim);
    for (std::size_t s = 0; s < pairs.size(); ++s) {
      const auto e = static_cast<Eigen::Index>(s);
      forward.row(e) << p_sample.row(pairs.i[s]), q_sample.row(pairs.j[s]);
      backward.row(e) << q_sample.row(pairs.j[s]), p_sample.row(pairs.i[s]);
    }
    Matrix diff = feature_matrix(result.critic, forward, options.linear_terms) -
                  feature_matrix(result.critic, backward, options.linear_terms);
    objective = std::make_unique<QpObjective>(std::move(diff), std::move(pairs), lambda, qp.power);
  } else {
    objective = std::make_unique<QpObjective>(feature_matrix(result.critic, p_sample, options.linear_terms),
                                              feature_matrix(result.critic, q_sample, options.linear_terms),
                                              std::move(pairs), lambda, qp.power);
  }
  const Vector alpha = maximise(*objective, options, result, where);
  finish(*objective, alpha, options.linear_terms, result);
  return result;
}

}  // namespace odyn::transport
