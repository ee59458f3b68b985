#include "odyn/transport/sinkhorn.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "odyn/core/error.hpp"

namespace odyn::transport {

namespace {

using Index = Eigen::Index;
using CostRef = Eigen::Ref<const Matrix>;

// Scalings are absorbed into the potentials once some |log u_i| or |log v_j| exceeds this: far
// from overflow (e^50 = 5e21) yet rare enough that the exp pass it costs stays rare.
constexpr double kAbsorbLog = 50.0;
// Intermediate epsilon stages stop at this L1 marginal error (or the tolerance when larger): they
// only need to warm-start the next stage.
constexpr double kStageTolerance = 1e-2;
// Over-relaxation factors are kept in [1, kMaxRelaxation] (the iteration diverges at 2).
constexpr double kMaxRelaxation = 1.98;
// Kernel entries k are stored as max(k, kKernelFloor) - kKernelFloor (one vectorised pass): those
// below the floor become 0, as subnormal numbers (and products with them) make every
// matrix-vector product an order of magnitude slower. The change, at most 1e-200 per entry, moves
// a plan entry by at most 1e-200 e^(2 kAbsorbLog) a_i b_j < 1e-156 a_i b_j; products of the kept
// entries with scalings and weights stay normal.
constexpr double kKernelFloor = 1e-200;

bool all_finite(const CostRef& c) {
  for (Index j = 0; j < c.cols(); ++j) {
    for (Index i = 0; i < c.rows(); ++i) {
      if (!std::isfinite(c(i, j))) return false;
    }
  }
  return true;
}

// The positions of the positive weights.
std::vector<Index> support(const Vector& w) {
  std::vector<Index> s;
  for (Index i = 0; i < w.size(); ++i) {
    if (w(i) > 0.0) s.push_back(i);
  }
  return s;
}

// Optimal over-relaxation factor for a plain Sinkhorn contraction rate kappa per iteration
// (successive over-relaxation, Young's formula; Thibault et al., Algorithms 2021).
double optimal_relaxation(double kappa) {
  kappa = std::clamp(kappa, 0.0, 1.0 - 1e-12);
  return std::min(kMaxRelaxation, 2.0 / (1.0 + std::sqrt(1.0 - kappa)));
}

// The increase of the dual objective <a, f> + <b, g> - eps <a b^T, exp((f + g - C) / eps)> when one
// side's scalings move from ratio exp(l_k) = x_k sums_k to exp((1 - omega) l_k), divided by eps:
// sum_k w_k (h(l_k) - h((1 - omega) l_k)), h(t) = e^t - 1 - t. Exact updates (omega = 1) increase
// it; a relaxed step is accepted only if it does too (the Lyapunov check of Thibault et al. 2021,
// §4, which makes the relaxed iteration globally convergent, Lehmann et al. 2022).
double dual_gain(const Vector& w, const Eigen::ArrayXd& l, double omega) {
  double gain = 0.0;
  for (Index k = 0; k < l.size(); ++k) {
    const double t = (1.0 - omega) * l(k);
    gain += w(k) * ((std::expm1(l(k)) - l(k)) - (std::expm1(t) - t));
  }
  return gain;
}

bool positive_finite(const Vector& x) {
  for (Index i = 0; i < x.size(); ++i) {
    if (!(x(i) > 0.0 && x(i) < std::numeric_limits<double>::infinity())) return false;
  }
  return true;
}

// -eps LSE_k z(k) over k < count, shifted by the maximum: the soft minimum of a c-transform.
template <class Exponent>
double soft_min(Index count, const Exponent& z, double eps) {
  double top = -std::numeric_limits<double>::infinity();
  for (Index k = 0; k < count; ++k) top = std::max(top, z(k));
  double sum = 0.0;
  for (Index k = 0; k < count; ++k) sum += std::exp(z(k) - top);
  return -eps * (top + std::log(sum));
}

// -eps LSE_k(log w_k + (h_k - line(idx_k)) / eps), the c-transform of the potential h (on the
// support idx, log weights log_w) at the point whose costs are `line` (full index set).
double c_transform(const Eigen::Ref<const Vector>& line, const std::vector<Index>& idx, const Vector& h,
                   const Vector& log_w, double eps) {
  const auto z = [&](Index k) { return log_w(k) + (h(k) - line(idx[k])) / eps; };
  return soft_min(static_cast<Index>(idx.size()), z, eps);
}

// Fills r's transport cost <P, C>, its L1 column error against b and the dual value <a, f> + <b, g>
// from r.plan, r.f and r.g.
void fill_costs_and_value(SinkhornResult& r, const CostRef& cost, const VectorRef& a, const VectorRef& b) {
  double transport = 0.0;
  double error = 0.0;
  for (Index j = 0; j < cost.cols(); ++j) {
    transport += r.plan.col(j).dot(cost.col(j));
    error += std::abs(r.plan.col(j).sum() - b(j));
  }
  r.transport_cost = transport;
  r.marginal_error = error;
  r.value = a.dot(r.f) + b.dot(r.g);
}

// Sinkhorn on the supports of a and b. The kernel K_ij = exp((f_i + g_j - C_ij) / eps) is formed
// once per absorption; in between, the scalings u, v are updated by matrix-vector products so that
// the current plan is P = diag(a u) K diag(b v).
class Solver {
 public:
  Solver(const Vector& a, const Vector& b, const CostRef& cost)
      : cost_(cost), rows_(support(a)), cols_(support(b)) {
    const Index n = static_cast<Index>(rows_.size());
    const Index m = static_cast<Index>(cols_.size());
    full_ = n == cost.rows() && m == cost.cols();
    a_.resize(n);
    b_.resize(m);
    for (Index i = 0; i < n; ++i) a_(i) = a(rows_[i]);
    for (Index j = 0; j < m; ++j) b_(j) = b(cols_[j]);
    log_a_ = a_.array().log();
    f_ = Vector::Zero(n);
    g_ = Vector::Zero(m);
    u_ = Vector::Ones(n);
    v_ = Vector::Ones(m);
    kernel_.resize(n, m);
  }

  // max |C_ij| on the supports, the starting epsilon of the annealing.
  double cost_scale() const {
    double s = 0.0;
    for (Index j = 0; j < b_.size(); ++j) {
      for (Index i = 0; i < a_.size(); ++i) s = std::max(s, std::abs(c(i, j)));
    }
    return s;
  }

  // Absorbs u, v into f, g and forms the kernel for epsilon e with an exact log-domain column
  // update g_j = -e LSE_i(log a_i + (f_i - C_ij) / e), so that sum_i a_i K_ij = 1 and u = v = 1.
  void form_kernel(double e) {
    absorb();
    eps_ = e;
    const Index n = a_.size();
    for (Index j = 0; j < b_.size(); ++j) {
      auto col = kernel_.col(j).array();
      if (full_) {
        col = (f_.array() - cost_.col(j).array()) / e;
      } else {
        const Index cj = cols_[j];
        for (Index i = 0; i < n; ++i) col(i) = (f_(i) - cost_(rows_[i], cj)) / e;
      }
      const double top = (col + log_a_.array()).maxCoeff();
      col = (col - top).exp().max(kKernelFloor) - kKernelFloor;
      const double sum = a_.dot(kernel_.col(j));
      col *= 1.0 / sum;
      g_(j) = -e * (top + std::log(sum));
    }
  }

  // Moves to the next epsilon stage e. When e is half the current epsilon (scaling factor 1/2),
  // the new kernel is the square of the current one with u, v absorbed, exp((f+g-C)/e) =
  // exp((f+g-C)/(2e))^2, a multiplication instead of an exp per entry, followed by the column
  // normalisation of form_kernel; otherwise (and should a column sum leave (0, inf)) form_kernel.
  // Rounding grows by a few ulps per squaring; the last stage is always formed by form_kernel.
  void next_stage(double e, bool last) {
    if (last || eps_ != 2.0 * e) {
      form_kernel(e);
      return;
    }
    for (Index j = 0; j < b_.size(); ++j) {
      auto col = kernel_.col(j).array();
      col = (col * u_.array() * v_(j)).square().max(kKernelFloor) - kKernelFloor;
    }
    absorb();
    eps_ = e;
    for (Index j = 0; j < b_.size(); ++j) {
      const double sum = a_.dot(kernel_.col(j));
      if (!(sum > 0.0 && sum < std::numeric_limits<double>::infinity())) {
        form_kernel(e);
        return;
      }
      kernel_.col(j) *= 1.0 / sum;
      g_(j) -= e * std::log(sum);
    }
  }

  // Exact log-domain row update f_i = -e LSE_j(log b_j + (g_j - C_ij) / e) of every row, then the
  // kernel again: the rescue when a kernel row or column sum under- or overflows.
  void rescue() {
    absorb();
    for (Index i = 0; i < a_.size(); ++i) f_(i) = c_transform_row(i);
    form_kernel(eps_);
  }

  // One Sinkhorn iteration with relaxation omega: the row update, the marginal errors, then
  // (unless one is at most stop) the column update. Returns the L1 column error of the plan that
  // finish would return now (exact rows u = 1 / s, old v) when omega = 1 or measure (for omega != 1
  // that costs a second product with the kernel's columns, while they are in cache), otherwise NaN;
  // bound receives an upper bound of it: the L1 error of the relaxed plan (new u, old v), rows
  // plus columns (an exact row update moves the column sums by at most the row error in L1).
  // Returns a negative number after a rescue.
  double iterate(double omega, double stop, bool measure, double& bound) {
    bv_ = b_.cwiseProduct(v_);
    s_.noalias() = kernel_ * bv_;
    if (!update_scaling(u_, s_, a_, omega)) return -1.0;
    au_ = a_.cwiseProduct(u_);
    double error = std::numeric_limits<double>::quiet_NaN();
    if (omega == 1.0) {
      t_.noalias() = kernel_.transpose() * au_;
      error = b_.dot((v_.array() * t_.array() - 1.0).abs().matrix());
      bound = error;
    } else {
      if (measure) {
        as_ = a_.cwiseQuotient(s_);
        t_.resize(b_.size());
        error = 0.0;
        for (Index j = 0; j < b_.size(); ++j) {
          const auto col = kernel_.col(j);
          t_(j) = col.dot(au_);
          error += b_(j) * std::abs(v_(j) * col.dot(as_) - 1.0);
        }
      } else {
        t_.noalias() = kernel_.transpose() * au_;
      }
      bound = a_.dot((u_.array() * s_.array() - 1.0).abs().matrix()) +
              b_.dot((v_.array() * t_.array() - 1.0).abs().matrix());
    }
    if (bound <= stop || error <= stop) return error;
    if (!update_scaling(v_, t_, b_, omega)) return -1.0;
    const double big = std::exp(kAbsorbLog);
    const double small = 1.0 / big;
    if (u_.maxCoeff() > big || u_.minCoeff() < small || v_.maxCoeff() > big || v_.minCoeff() < small) {
      form_kernel(eps_);
    }
    return error;
  }

  // The scaling update x <- 1 / sums (sums: the kernel times the other side's weighted scalings),
  // relaxed to x <- x^(1 - omega) (1 / sums)^omega, with omega - 1 halved (down to omega = 1)
  // until the step does not decrease the dual objective (dual_gain; w: this side's weights).
  // False, after a rescue, when a sum is 0 or inf.
  bool update_scaling(Vector& x, const Vector& sums, const Vector& w, double omega) {
    if (!positive_finite(sums)) {
      rescue();
      return false;
    }
    if (omega == 1.0) {
      x = sums.cwiseInverse();
      return true;
    }
    log_ratio_ = (x.array() * sums.array()).log();
    while (omega > 1.0 && dual_gain(w, log_ratio_, omega) < 0.0) {
      omega = omega < 1.01 ? 1.0 : 1.0 + 0.5 * (omega - 1.0);
    }
    x.array() *= (-omega * log_ratio_).exp();
    return true;
  }

  // A last exact row update, then the plan written over the kernel (moved out), the potentials
  // and the values into r (on the full index sets).
  void finish(const Vector& a, const Vector& b, SinkhornResult& r) {
    bv_ = b_.cwiseProduct(v_);
    s_.noalias() = kernel_ * bv_;
    if (!positive_finite(s_)) {
      rescue();
      bv_ = b_;
      s_.noalias() = kernel_ * bv_;
    }
    u_ = s_.cwiseInverse();
    // P = diag(a u) K diag(b v), in place.
    au_ = a_.cwiseProduct(u_);
    for (Index j = 0; j < kernel_.cols(); ++j) kernel_.col(j).array() *= au_.array() * bv_(j);
    absorb();
    const Index n = cost_.rows();
    const Index m = cost_.cols();
    r.f.resize(n);
    r.g.resize(m);
    if (full_) {
      r.plan = std::move(kernel_);
      r.f = f_;
      r.g = g_;
    } else {
      r.plan = Matrix::Zero(n, m);
      for (Index j = 0; j < b_.size(); ++j) {
        for (Index i = 0; i < a_.size(); ++i) r.plan(rows_[i], cols_[j]) = kernel_(i, j);
      }
      kernel_.resize(0, 0);
      // Zero-weight points: the c-transforms of the other side's potential.
      std::vector<bool> in_rows(n, false), in_cols(m, false);
      for (Index i = 0; i < a_.size(); ++i) {
        in_rows[rows_[i]] = true;
        r.f(rows_[i]) = f_(i);
      }
      for (Index j = 0; j < b_.size(); ++j) {
        in_cols[cols_[j]] = true;
        r.g(cols_[j]) = g_(j);
      }
      for (Index i = 0; i < n; ++i) {
        if (!in_rows[i]) r.f(i) = c_transform(cost_.row(i).transpose(), cols_, g_, log_b(), eps_);
      }
      for (Index j = 0; j < m; ++j) {
        if (!in_cols[j]) r.g(j) = c_transform(cost_.col(j), rows_, f_, log_a_, eps_);
      }
    }
    fill_costs_and_value(r, cost_, a, b);
  }

 private:
  double c(Index i, Index j) const { return cost_(rows_[i], cols_[j]); }

  Vector log_b() const { return b_.array().log(); }

  void absorb() {
    if (eps_ > 0.0) {
      f_.array() += eps_ * u_.array().log();
      g_.array() += eps_ * v_.array().log();
    }
    u_.setOnes();
    v_.setOnes();
  }

  double c_transform_row(Index i) const {
    const Vector lb = log_b();
    return soft_min(b_.size(), [&](Index j) { return lb(j) + (g_(j) - c(i, j)) / eps_; }, eps_);
  }

  const CostRef& cost_;
  std::vector<Index> rows_, cols_;
  bool full_ = true;
  Vector a_, b_, log_a_;
  Vector f_, g_, u_, v_;
  Vector bv_, au_, s_, t_;
  Eigen::ArrayXd log_ratio_;
  Vector as_;
  Matrix kernel_;
  double eps_ = 0.0;
};

// Sinkhorn for a symmetric problem (b = a, C symmetric) on the support of a, where the potentials
// coincide, f = g, and f is the fixed point of the averaged soft-c-transform f <- (f + T(f)) / 2,
// T(f)_i = -eps LSE_j(log a_j + (f_j - C_ij) / eps) (Feydy et al., AISTATS 2019, §3). Only the
// lower triangle of C is read. As in Solver, f is kept with a scaling u and the symmetric kernel
// K_ij = exp((f_i + f_j - C_ij) / eps) (lower triangle stored), so that the potential is
// f + eps log u, T of it is f - eps log(K (a u)), and the averaged update is u <- sqrt(u / K(a u)):
// one symmetric matrix-vector product per iteration.
class SymmetricSolver {
 public:
  SymmetricSolver(const Vector& a, const CostRef& cost) : cost_(cost), idx_(support(a)) {
    const Index n = static_cast<Index>(idx_.size());
    full_ = n == cost.rows();
    a_.resize(n);
    for (Index i = 0; i < n; ++i) a_(i) = a(idx_[i]);
    log_a_ = a_.array().log();
    f_ = Vector::Zero(n);
    u_ = Vector::Ones(n);
    kernel_.resize(n, n);
  }

  double cost_scale() const {
    double s = 0.0;
    for (Index j = 0; j < a_.size(); ++j) {
      for (Index i = j; i < a_.size(); ++i) s = std::max(s, std::abs(c(i, j)));
    }
    return s;
  }

  // Absorbs u into f and forms the kernel for epsilon e.
  void form_kernel(double e) {
    absorb();
    eps_ = e;
    const Index n = a_.size();
    for (Index j = 0; j < n; ++j) {
      auto col = kernel_.col(j).segment(j, n - j).array();
      if (full_) {
        col = (f_.segment(j, n - j).array() + f_(j) - cost_.col(j).segment(j, n - j).array()) / e;
      } else {
        for (Index i = j; i < n; ++i) col(i - j) = (f_(i) + f_(j) - c(i, j)) / e;
      }
      col = col.exp().max(kKernelFloor) - kKernelFloor;
    }
  }

  // The next epsilon stage e: the squared kernel with u absorbed when e is half the current
  // epsilon (as Solver::next_stage), otherwise (and always for the last stage) form_kernel.
  void next_stage(double e, bool last) {
    if (last || eps_ != 2.0 * e) {
      form_kernel(e);
      return;
    }
    const Index n = a_.size();
    for (Index j = 0; j < n; ++j) {
      auto col = kernel_.col(j).segment(j, n - j).array();
      col = (col * u_.segment(j, n - j).array() * u_(j)).square().max(kKernelFloor) - kKernelFloor;
    }
    absorb();
    eps_ = e;
  }

  // One averaged update. Returns the L1 marginal error sum_i a_i |u_i (K(a u))_i - 1| of the
  // symmetric plan P = diag(a u) K diag(a u) before the update (no update when it is at most stop),
  // or a negative number after a rescue.
  double iterate(double stop) {
    if (!kernel_sums()) return -1.0;
    const double error = a_.dot((u_.array() * s_.array() - 1.0).abs().matrix());
    if (error <= stop) return error;
    u_ = (u_.array() / s_.array()).sqrt();
    const double big = std::exp(kAbsorbLog);
    if (u_.maxCoeff() > big || u_.minCoeff() < 1.0 / big) form_kernel(eps_);
    return error;
  }

  // OT_eps(a, a) = <a, f> + <a, T(f)> for the current potential f (the dual value of the pair
  // f, g = T(f), whose plan has exact column sums; Feydy et al.'s final extrapolation).
  double value() {
    if (!kernel_sums()) kernel_sums();
    return 2.0 * a_.dot(f_) + eps_ * a_.dot((u_.array() / s_.array()).log().matrix());
  }

  // The result in the form of Solver::finish for the potentials f = T(h), g = h of the current
  // potential h: exact rows, plan P = diag(a / K(a u)) K diag(a u), on the full index sets.
  void finish(const Vector& a, SinkhornResult& r) {
    if (!kernel_sums()) kernel_sums();
    const Index n = a_.size();
    const Vector f = f_.array() - eps_ * s_.array().log();
    const Vector g = f_.array() + eps_ * u_.array().log();
    const Vector row = a_.cwiseQuotient(s_);
    const Vector col = a_.cwiseProduct(u_);
    for (Index j = 0; j < n; ++j) {
      for (Index i = 0; i < j; ++i) kernel_(i, j) = kernel_(j, i);
    }
    for (Index j = 0; j < n; ++j) kernel_.col(j).array() *= row.array() * col(j);
    const Index m = cost_.rows();
    if (full_) {
      r.plan = std::move(kernel_);
      r.f = f;
      r.g = g;
    } else {
      r.plan = Matrix::Zero(m, m);
      for (Index j = 0; j < n; ++j) {
        for (Index i = 0; i < n; ++i) r.plan(idx_[i], idx_[j]) = kernel_(i, j);
      }
      kernel_.resize(0, 0);
      std::vector<bool> inside(m, false);
      r.f.resize(m);
      r.g.resize(m);
      for (Index i = 0; i < n; ++i) {
        inside[idx_[i]] = true;
        r.f(idx_[i]) = f(i);
        r.g(idx_[i]) = g(i);
      }
      for (Index i = 0; i < m; ++i) {
        if (inside[i]) continue;
        r.f(i) = c_transform(cost_.row(i).transpose(), idx_, g, log_a_, eps_);
        r.g(i) = c_transform(cost_.col(i), idx_, f, log_a_, eps_);
      }
    }
    fill_costs_and_value(r, cost_, a, a);
  }

 private:
  // C on the support, read from the lower triangle.
  double c(Index i, Index j) const { return i >= j ? cost_(idx_[i], idx_[j]) : cost_(idx_[j], idx_[i]); }

  void absorb() {
    if (eps_ > 0.0) f_.array() += eps_ * u_.array().log();
    u_.setOnes();
  }

  // s = K (a u); false, after a rescue (u = 1 then), when some entry is 0 or infinite.
  bool kernel_sums() {
    au_ = a_.cwiseProduct(u_);
    s_.noalias() = kernel_.selfadjointView<Eigen::Lower>() * au_;
    if (positive_finite(s_)) return true;
    rescue();
    return false;
  }

  // An exact log-domain averaged update f <- (f + T(f)) / 2, then the kernel again. Afterwards
  // K_ij <= 1 / sqrt(a_i a_j) (T(f)_i + f_j - C_ij <= -eps log a_j), so no kernel entry overflows.
  void rescue() {
    absorb();
    const Index n = a_.size();
    Vector t(n);
    for (Index i = 0; i < n; ++i) {
      t(i) = soft_min(n, [&](Index j) { return log_a_(j) + (f_(j) - c(i, j)) / eps_; }, eps_);
    }
    f_ = 0.5 * (f_ + t);
    form_kernel(eps_);
  }

  const CostRef& cost_;
  std::vector<Index> idx_;
  bool full_ = true;
  Vector a_, log_a_, f_, u_, au_, s_;
  Matrix kernel_;
  double eps_ = 0.0;
};

void check_options(double eps, const SinkhornOptions& o, const std::string& where) {
  require(std::isfinite(eps) && eps > 0.0, where, "eps must be positive and finite");
  require(std::isfinite(o.tolerance) && o.tolerance >= 0.0, where, "tolerance must be finite and >= 0");
  require(o.max_iterations >= 1, where, "max_iterations must be at least 1");
  require(std::isfinite(o.scaling_factor) && o.scaling_factor > 0.0 && o.scaling_factor < 1.0, where,
          "scaling_factor must lie in (0, 1)");
}

SinkhornResult solve(const Vector& a, const Vector& b, const CostRef& cost, double eps, const SinkhornOptions& o) {
  Solver solver(a, b, cost);
  SinkhornResult r;
  double e = eps;
  if (o.epsilon_scaling) e = std::max(eps, solver.cost_scale());
  solver.form_kernel(e);
  long iterations = 0;
  bool converged = false;
  for (;;) {
    const bool last = e == eps;
    const double stop = last ? o.tolerance : std::max(o.tolerance, kStageTolerance);
    // Adaptive over-relaxation (Thibault et al. 2021; Lehmann et al., Optim. Lett. 2022): a plain
    // phase measures the contraction rate kappa per iteration, which sets omega by Young's formula
    // 2 / (1 + sqrt(1 - kappa)); while relaxed, a rate rho slower than omega - 1 means that kappa
    // was underestimated (it is measured early), and the SOR relation (rho + omega - 1)^2 =
    // rho omega^2 kappa gives a larger one. Every relaxed step passes the dual-ascent check of
    // update_scaling, so the iteration cannot diverge. Rates are those of the error of the plan
    // with exact rows (the relaxed plan's own error jumps when relaxation starts), measured where
    // the rates need it (offsets 8, 9, 10 mod 10 in a relaxed phase) and near the end; they are
    // taken over 10 iterations between maxima of 3 (the error oscillates for omega above the
    // optimum). An error still above the peak of the first 10 relaxed iterations after 20 more
    // returns to a longer plain phase, with omega - 1 halved for the rest of the stage.
    double omega = 1.0;
    double cap = kMaxRelaxation;
    double kappa = 0.0;  // plain rate: the largest measured or implied by a relaxed rate
    long plain_length = 10;
    std::vector<double> history;  // errors (NaN where not measured)
    long window_start = 0;
    double bound = std::numeric_limits<double>::infinity();
    bool done = false;
    // (max of errors k - 2 .. k / max of errors k - w - 2 .. k - w)^(1 / w).
    const auto rate = [&](long k, long w) {
      const double now = std::max({history[k], history[k - 1], history[k - 2]});
      const double then = std::max({history[k - w], history[k - w - 1], history[k - w - 2]});
      return std::pow(now / then, 1.0 / static_cast<double>(w));
    };
    while (iterations < o.max_iterations) {
      const long offset = (static_cast<long>(history.size()) - window_start) % 10;
      const bool measure = offset == 0 || offset >= 8 || bound <= 1e3 * stop;
      const double error = solver.iterate(omega, stop, measure, bound);
      ++iterations;
      if (error < 0.0) {  // rescued: plain iterations from here
        omega = 1.0;
        history.clear();
        window_start = 0;
        bound = std::numeric_limits<double>::infinity();
        continue;
      }
      history.push_back(error);
      if (bound <= stop || error <= stop) {
        done = true;
        break;
      }
      const long k = static_cast<long>(history.size()) - 1;
      if (omega == 1.0) {
        if (k - window_start >= plain_length && cap > 1.01) {
          const double r = rate(k, 5);
          if (r < 1.0) {
            kappa = std::max(kappa, r);
            omega = std::min(cap, optimal_relaxation(kappa));
            window_start = k;
          }
        }
      } else if (k - window_start >= 20 && (k - window_start) % 10 == 0) {
        const double rho = rate(k, 10);
        const double peak = std::max({history[window_start + 8], history[window_start + 9], history[window_start + 10]});
        if (!(rho < 1.0) && history[k] > peak) {
          cap = 1.0 + 0.5 * (omega - 1.0);
          omega = 1.0;
          plain_length *= 2;
          window_start = k;
        } else if (rho < 1.0 && rho > omega - 1.0 + 0.02) {
          kappa = std::max(kappa, (rho + omega - 1.0) * (rho + omega - 1.0) / (rho * omega * omega));
          omega = std::min(cap, optimal_relaxation(kappa));
        }
      }
    }
    if (last) {
      converged = done;
      break;
    }
    e = done ? std::max(eps, o.scaling_factor * e) : eps;
    solver.next_stage(e, e == eps);
    if (!done) break;  // out of iterations: finish at the target epsilon
  }
  solver.finish(a, b, r);
  r.iterations = iterations;
  r.converged = converged;
  return r;
}

// OT_eps(a, a) for a symmetric cost (lower triangle read) by SymmetricSolver, with the epsilon
// stages of solve(); r, when given, receives the full result.
double solve_symmetric(const Vector& a, const CostRef& cost, double eps, const SinkhornOptions& o,
                       SinkhornResult* r = nullptr) {
  SymmetricSolver solver(a, cost);
  double e = eps;
  if (o.epsilon_scaling) e = std::max(eps, solver.cost_scale());
  solver.form_kernel(e);
  long iterations = 0;
  bool converged = false;
  for (;;) {
    const bool last = e == eps;
    // The returned plan (rows made exact) has at most twice the error of the symmetric plan.
    const double stop = last ? 0.5 * o.tolerance : std::max(o.tolerance, kStageTolerance);
    bool done = false;
    while (iterations < o.max_iterations) {
      const double error = solver.iterate(stop);
      ++iterations;
      if (error >= 0.0 && error <= stop) {
        done = true;
        break;
      }
    }
    if (last) {
      converged = done;
      break;
    }
    e = done ? std::max(eps, o.scaling_factor * e) : eps;
    solver.next_stage(e, e == eps);
    if (!done) break;
  }
  if (r == nullptr) return solver.value();
  solver.finish(a, *r);
  r->iterations = iterations;
  r->converged = converged;
  return r->value;
}

// Whether the square matrix c is symmetric up to rounding, |C_ij - C_ji| <= 1e-12 max |C| (in
// tiles, to read the transpose cache-friendly).
bool nearly_symmetric(const CostRef& c) {
  if (c.rows() != c.cols()) return false;
  const Index n = c.rows();
  const double bound = 1e-12 * c.cwiseAbs().maxCoeff();
  constexpr Index kTile = 64;
  for (Index j0 = 0; j0 < n; j0 += kTile) {
    for (Index i0 = j0; i0 < n; i0 += kTile) {
      const Index jn = std::min(n, j0 + kTile), in = std::min(n, i0 + kTile);
      for (Index j = j0; j < jn; ++j) {
        for (Index i = std::max(i0, j + 1); i < in; ++i) {
          if (std::abs(c(i, j) - c(j, i)) > bound) return false;
        }
      }
    }
  }
  return true;
}

// OT_eps(a, b) for the divergence: the symmetric solver when the problem is symmetric (b = a and
// C symmetric up to rounding), otherwise the general one.
double divergence_term(const Vector& a, const Vector& b, const CostRef& cost, double eps, const SinkhornOptions& o) {
  if (a.size() == b.size() && a == b && nearly_symmetric(cost)) return solve_symmetric(a, cost, eps, o);
  return solve(a, b, cost, eps, o).value;
}

}  // namespace

SinkhornResult sinkhorn(const VectorRef& a, const VectorRef& b, const Eigen::Ref<const Matrix>& cost, double eps,
                        const SinkhornOptions& options) {
  const std::string where = "sinkhorn";
  check_options(eps, options, where);
  require(cost.rows() > 0 && cost.cols() > 0, where, "the cost matrix is empty");
  require(all_finite(cost), where, "the cost matrix has a non-finite entry");
  const Vector wa = measure_weights(a, cost.rows(), where, "a");
  const Vector wb = measure_weights(b, cost.cols(), where, "b");
  return solve(wa, wb, cost, eps, options);
}

SinkhornResult sinkhorn_symmetric(const VectorRef& a, const Eigen::Ref<const Matrix>& cost, double eps,
                                  const SinkhornOptions& options) {
  const std::string where = "sinkhorn_symmetric";
  check_options(eps, options, where);
  require(cost.rows() > 0, where, "the cost matrix is empty");
  require(cost.rows() == cost.cols(), where, "the cost matrix must be square");
  require(all_finite(cost), where, "the cost matrix has a non-finite entry");
  require(nearly_symmetric(cost), where, "the cost matrix must be symmetric");
  const Vector wa = measure_weights(a, cost.rows(), where, "a");
  SinkhornResult r;
  solve_symmetric(wa, cost, eps, options, &r);
  return r;
}

double sinkhorn_divergence(const VectorRef& a, const VectorRef& b, const Eigen::Ref<const Matrix>& cost_ab,
                           const Eigen::Ref<const Matrix>& cost_aa, const Eigen::Ref<const Matrix>& cost_bb,
                           double eps, const SinkhornOptions& options) {
  const std::string where = "sinkhorn_divergence";
  check_options(eps, options, where);
  const Index n = cost_ab.rows();
  const Index m = cost_ab.cols();
  require(n > 0 && m > 0, where, "the cost matrix C_ab is empty");
  require(cost_aa.rows() == n && cost_aa.cols() == n, where, "C_aa must be n x n for an n x m C_ab");
  require(cost_bb.rows() == m && cost_bb.cols() == m, where, "C_bb must be m x m for an n x m C_ab");
  require(all_finite(cost_ab) && all_finite(cost_aa) && all_finite(cost_bb), where,
          "a cost matrix has a non-finite entry");
  const Vector wa = measure_weights(a, n, where, "a");
  const Vector wb = measure_weights(b, m, where, "b");
  const double ab = divergence_term(wa, wb, cost_ab, eps, options);
  const double aa = divergence_term(wa, wa, cost_aa, eps, options);
  const double bb = divergence_term(wb, wb, cost_bb, eps, options);
  return ab - 0.5 * (aa + bb);
}

double sinkhorn_divergence(const PointsRef& x, const PointsRef& y, double eps, const VectorRef& wx,
                           const VectorRef& wy, double p, const SinkhornOptions& options) {
  const std::string where = "sinkhorn_divergence";
  check_point_pair(x, y, where);
  require(std::isfinite(p) && p > 0.0, where, "p must be positive and finite");
  check_options(eps, options, where);
  const Vector a = measure_weights(wx, x.rows(), where, "wx");
  const Vector b = measure_weights(wy, y.rows(), where, "wy");
  const Matrix cab = ground_cost(x, y, p);
  const double ab = divergence_term(a, b, cab, eps, options);
  double aa = 0.0;
  {
    const Matrix caa = ground_cost(x, x, p);
    aa = divergence_term(a, a, caa, eps, options);
  }
  const Matrix cbb = ground_cost(y, y, p);
  const double bb = divergence_term(b, b, cbb, eps, options);
  return ab - 0.5 * (aa + bb);
}

}  // namespace odyn::transport
