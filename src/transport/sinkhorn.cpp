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
constexpr double kMaxRelaxation = 1.9;

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
      col = (col - top).exp();
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
    for (Index j = 0; j < b_.size(); ++j) kernel_.col(j).array() = (kernel_.col(j).array() * u_.array() * v_(j)).square();
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

  // One Sinkhorn iteration with relaxation omega: the row update, the marginal error of the plan
  // (new u, old v), then (unless it is at most stop) the column update. Returns the error, or a
  // negative number after a rescue.
  double iterate(double omega, double stop) {
    bv_ = b_.cwiseProduct(v_);
    s_.noalias() = kernel_ * bv_;
    if (!positive_finite(s_)) {
      rescue();
      return -1.0;
    }
    if (omega == 1.0) {
      u_ = s_.cwiseInverse();
    } else {
      u_.array() *= (1.0 / (u_.array() * s_.array())).pow(omega);
    }
    const double row_error = omega == 1.0 ? 0.0 : a_.dot((u_.array() * s_.array() - 1.0).abs().matrix());
    au_ = a_.cwiseProduct(u_);
    t_.noalias() = kernel_.transpose() * au_;
    const double error = row_error + b_.dot((v_.array() * t_.array() - 1.0).abs().matrix());
    if (error <= stop) return error;
    if (!positive_finite(t_)) {
      rescue();
      return -1.0;
    }
    if (omega == 1.0) {
      v_ = t_.cwiseInverse();
    } else {
      v_.array() *= (1.0 / (v_.array() * t_.array())).pow(omega);
    }
    const double big = std::exp(kAbsorbLog);
    const double small = 1.0 / big;
    if (u_.maxCoeff() > big || u_.minCoeff() < small || v_.maxCoeff() > big || v_.minCoeff() < small) {
      form_kernel(eps_);
    }
    return error;
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
        if (!in_rows[i]) r.f(i) = c_transform(cost_.row(i).transpose(), cols_, g_, log_b());
      }
      for (Index j = 0; j < m; ++j) {
        if (!in_cols[j]) r.g(j) = c_transform(cost_.col(j), rows_, f_, log_a_);
      }
    }
    // <P, C> and the column marginal error.
    double cost = 0.0;
    double error = 0.0;
    for (Index j = 0; j < m; ++j) {
      cost += r.plan.col(j).dot(cost_.col(j));
      error += std::abs(r.plan.col(j).sum() - b(j));
    }
    r.transport_cost = cost;
    r.marginal_error = error;
    r.value = a.dot(r.f) + b.dot(r.g);
  }

 private:
  double c(Index i, Index j) const { return cost_(rows_[i], cols_[j]); }

  Vector log_b() const { return b_.array().log(); }

  static bool positive_finite(const Vector& x) {
    for (Index i = 0; i < x.size(); ++i) {
      if (!(x(i) > 0.0 && x(i) < std::numeric_limits<double>::infinity())) return false;
    }
    return true;
  }

  void absorb() {
    if (eps_ > 0.0) {
      f_.array() += eps_ * u_.array().log();
      g_.array() += eps_ * v_.array().log();
    }
    u_.setOnes();
    v_.setOnes();
  }

  // -eps LSE_k(log w_k + (h_k - line(idx_k)) / eps), the c-transform of the potential h (on the
  // support idx, log weights log_w) at the point whose costs are `line` (full index set).
  double c_transform(const Eigen::Ref<const Vector>& line, const std::vector<Index>& idx, const Vector& h,
                     const Vector& log_w) const {
    double top = -std::numeric_limits<double>::infinity();
    for (std::size_t k = 0; k < idx.size(); ++k) {
      top = std::max(top, log_w(k) + (h(k) - line(idx[k])) / eps_);
    }
    double sum = 0.0;
    for (std::size_t k = 0; k < idx.size(); ++k) sum += std::exp(log_w(k) + (h(k) - line(idx[k])) / eps_ - top);
    return -eps_ * (top + std::log(sum));
  }

  double c_transform_row(Index i) const {
    const Vector lb = log_b();
    double top = -std::numeric_limits<double>::infinity();
    for (Index j = 0; j < b_.size(); ++j) top = std::max(top, lb(j) + (g_(j) - c(i, j)) / eps_);
    double sum = 0.0;
    for (Index j = 0; j < b_.size(); ++j) sum += std::exp(lb(j) + (g_(j) - c(i, j)) / eps_ - top);
    return -eps_ * (top + std::log(sum));
  }

  const CostRef& cost_;
  std::vector<Index> rows_, cols_;
  bool full_ = true;
  Vector a_, b_, log_a_;
  Vector f_, g_, u_, v_;
  Vector bv_, au_, s_, t_;
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
    // Adaptive over-relaxation (Lehmann et al., Optim. Lett. 2022): a plain phase measures the contraction
    // rate kappa per iteration, which sets omega by Young's formula; while relaxed, a rate rho
    // slower than omega - 1 re-estimates kappa from the SOR relation (rho + omega - 1)^2 =
    // rho omega^2 kappa. The theory is local: a relaxed rate clearly slower than the measured
    // plain rate (above (1 + kappa) / 2: kappa is measured early and underestimates) returns to
    // plain iterations for a doubled phase, and divergence also halves the admissible excess
    // omega - 1 for the rest of the stage.
    double omega = 1.0;
    double cap = kMaxRelaxation;
    double kappa = 0.0;        // largest plain rate measured in this stage
    double kappa_sor = 0.0;    // plain rate implied by the relaxed rate
    long plain_length = 10;
    std::vector<double> history;
    long window_start = 0;
    bool done = false;
    while (iterations < o.max_iterations) {
      const double error = solver.iterate(omega, stop);
      ++iterations;
      if (error < 0.0) {  // rescued: plain iterations from here
        omega = 1.0;
        cap = 1.0 + 0.5 * (cap - 1.0);
        history.clear();
        window_start = 0;
        continue;
      }
      history.push_back(error);
      if (error <= stop) {
        done = true;
        break;
      }
      const long k = static_cast<long>(history.size()) - 1;
      if (omega == 1.0) {
        if (k - window_start >= plain_length && cap > 1.01) {
          const double rate = std::pow(history[k] / history[k - 5], 1.0 / 5.0);
          if (rate < 1.0) {
            kappa = std::max(kappa, rate);
            omega = std::min(cap, optimal_relaxation(std::max(kappa, kappa_sor)));
            window_start = k;
          }
        }
      } else if (k - window_start >= 15 && (k - window_start - 15) % 10 == 0) {
        // Rates over relaxed iterations only, after a transient of 5 (the row error of the plan
        // jumps from 0 when relaxation starts).
        const double rho = std::pow(history[k] / history[k - 10], 1.0 / 10.0);
        if (!(rho < 1.0) || rho > 0.5 * (1.0 + kappa)) {
          if (!(rho < 1.0)) cap = 1.0 + 0.5 * (cap - 1.0);
          omega = 1.0;
          plain_length *= 2;
          window_start = k;
        } else if (rho > omega - 1.0 + 0.02) {
          kappa_sor = (rho + omega - 1.0) * (rho + omega - 1.0) / (rho * omega * omega);
          omega = std::min(cap, optimal_relaxation(kappa_sor));
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
  const double ab = solve(wa, wb, cost_ab, eps, options).value;
  const double aa = solve(wa, wa, cost_aa, eps, options).value;
  const double bb = solve(wb, wb, cost_bb, eps, options).value;
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
  const double ab = solve(a, b, cab, eps, options).value;
  double aa = 0.0;
  {
    const Matrix caa = ground_cost(x, x, p);
    aa = solve(a, a, caa, eps, options).value;
  }
  const Matrix cbb = ground_cost(y, y, p);
  const double bb = solve(b, b, cbb, eps, options).value;
  return ab - 0.5 * (aa + bb);
}

}  // namespace odyn::transport
