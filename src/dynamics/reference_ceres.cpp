// Reference answers from Ceres Solver: L-BFGS minima of odyn problems and the observed order of an
// integrator by least squares. Ceres code lives in this translation unit only (its logging macros
// clash with LibTorch's).
#include "odyn/dynamics/reference.hpp"

#include "odyn/config.hpp"

#if ODYN_HAVE_CERES
#include <ceres/ceres.h>

#include <boost/math/distributions/students_t.hpp>

#include "../core/ceres_lbfgs.hpp"
#endif

#include <algorithm>
#include <climits>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "odyn/core/error.hpp"

namespace odyn::dynamics {
namespace {

void validate_fit_input(const std::vector<double>& steps, const std::vector<double>& errors, double confidence) {
  const std::string where = "fit_order";
  if (steps.size() != errors.size()) {
    throw InvalidArgument(where + ": " + std::to_string(steps.size()) + " steps but " + std::to_string(errors.size()) +
                          " errors");
  }
  if (steps.size() < 3) {
    throw InvalidArgument(where + ": need at least 3 (step, error) pairs, got " + std::to_string(steps.size()));
  }
  for (std::size_t i = 0; i < steps.size(); ++i) {
    if (!(std::isfinite(steps[i]) && steps[i] > 0)) {
      throw InvalidArgument(where + ": step " + std::to_string(i) + " is not positive and finite (" +
                            std::to_string(steps[i]) + ")");
    }
    if (!(std::isfinite(errors[i]) && errors[i] > 0)) {
      throw InvalidArgument(where + ": error " + std::to_string(i) + " is not positive and finite (" +
                            std::to_string(errors[i]) + ")");
    }
  }
  std::vector<double> sorted = steps;
  std::sort(sorted.begin(), sorted.end());
  if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) {
    throw InvalidArgument(where + ": the steps are not distinct");
  }
  if (!(confidence > 0 && confidence < 1)) {
    throw InvalidArgument(where + ": confidence must lie in (0, 1), got " + std::to_string(confidence));
  }
}

#if ODYN_HAVE_CERES

// The objective and gradient of an odyn problem, as Ceres sees them.
class ProblemFunction final : public ceres::FirstOrderFunction {
 public:
  explicit ProblemFunction(const Problem& problem) : problem_(problem) {}

  bool Evaluate(const double* parameters, double* cost, double* gradient) const override {
    const Vector x = Eigen::Map<const Vector>(parameters, problem_.dim());
    *cost = problem_.value(x);
    if (!std::isfinite(*cost)) return false;  // Ceres shortens the step
    if (gradient != nullptr) {
      Vector g;
      problem_.gradient(x, g);
      if (!g.allFinite()) return false;
      Eigen::Map<Vector>(gradient, problem_.dim()) = g;
    }
    return true;
  }

  int NumParameters() const override { return static_cast<int>(problem_.dim()); }

 private:
  const Problem& problem_;
};

// One point of the order fit in centred, scaled coordinates: log(error) = a + q u.
struct LogErrorResidual {
  double u, log_error;

  template <class T>
  bool operator()(const T* const aq, T* residual) const {
    residual[0] = aq[0] + aq[1] * u - log_error;
    return true;
  }
};

#endif

}  // namespace

Minimum reference_minimum(const Problem& problem, const Vector& x0, const MinimizeOptions& options) {
  const std::string where = "reference_minimum";
  problem.check_point(x0, where);
  if (problem.dim() == 0) throw InvalidArgument(where + ": the problem has no parameters");
  if (problem.dim() > INT_MAX) throw InvalidArgument(where + ": the problem has too many parameters for Ceres");
#if ODYN_HAVE_CERES
  const ceres::GradientProblemSolver::Options solver_options = odyn::detail::lbfgs_options(options, where);

  Minimum result;
  result.x = x0;
  ceres::GradientProblem gradient_problem(new ProblemFunction(problem));  // takes ownership
  ceres::GradientProblemSolver::Summary summary;
  ceres::Solve(solver_options, gradient_problem, result.x.data(), &summary);

  result.value = problem.value(result.x);
  result.gradient_norm = problem.gradient(result.x).norm();
  // Ceres's record starts with iteration 0, the start; BriefReport counts that entry too.
  result.iterations = summary.iterations.empty() ? 0 : summary.iterations.back().iteration;
  result.converged = summary.termination_type == ceres::CONVERGENCE;
  result.message = summary.BriefReport();
  return result;
#else
  (void)options;
  throw Error(where + ": odyn was built without Ceres Solver");
#endif
}

OrderFit fit_order(const std::vector<double>& steps, const std::vector<double>& errors, double confidence) {
  const std::string where = "fit_order";
  validate_fit_input(steps, errors, confidence);
  const std::size_t n = steps.size();

  // The fit is done in the coordinate u = (log h - mean) / scale, which makes J^T J = diag(n, 1)
  // (well conditioned however close the steps are); the order is p = q / scale, and the variance of
  // p is that of q over scale^2, the same as from the uncentred model.
  std::vector<double> log_h(n), log_e(n);
  double mean = 0;
  for (std::size_t i = 0; i < n; ++i) {
    log_h[i] = std::log(steps[i]);
    log_e[i] = std::log(errors[i]);
    mean += log_h[i] / static_cast<double>(n);
  }
  double sxx = 0;
  for (double l : log_h) sxx += (l - mean) * (l - mean);
  const double scale = std::sqrt(sxx);
  if (!(scale > 0 && std::isfinite(scale))) {
    throw InvalidArgument(where + ": the logarithms of the steps do not spread (steps too close together)");
  }
#if ODYN_HAVE_CERES
  double aq[2] = {0, 0};
  ceres::Problem lsq;
  for (std::size_t i = 0; i < n; ++i) {
    auto* cost = new ceres::AutoDiffCostFunction<LogErrorResidual, 1, 2>(
        new LogErrorResidual{(log_h[i] - mean) / scale, log_e[i]});
    lsq.AddResidualBlock(cost, nullptr, aq);
  }
  ceres::Solver::Options solver_options;
  solver_options.linear_solver_type = ceres::DENSE_QR;
  solver_options.initial_trust_region_radius = 1e16;  // the model is linear: take the Gauss-Newton step
  solver_options.max_num_iterations = 100;
  solver_options.function_tolerance = 1e-16;
  solver_options.gradient_tolerance = 1e-16;
  solver_options.parameter_tolerance = 1e-16;
  solver_options.minimizer_progress_to_stdout = false;
  solver_options.logging_type = ceres::SILENT;
  ceres::Solver::Summary summary;
  ceres::Solve(solver_options, &lsq, &summary);
  if (!summary.IsSolutionUsable()) throw Error(where + ": Ceres failed: " + summary.BriefReport());

  // (J^T J)^{-1} at the solution; Ceres does not scale it by the residual variance.
  ceres::Covariance::Options covariance_options;
  covariance_options.algorithm_type = ceres::DENSE_SVD;
  ceres::Covariance covariance(covariance_options);
  const std::vector<std::pair<const double*, const double*>> blocks = {{aq, aq}};
  double jtj_inverse[4];
  if (!covariance.Compute(blocks, &lsq) || !covariance.GetCovarianceBlock(aq, aq, jtj_inverse)) {
    throw Error(where + ": Ceres could not compute the covariance of the fit");
  }

  double rss = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double r = aq[0] + aq[1] * (log_h[i] - mean) / scale - log_e[i];
    rss += r * r;
  }
  const double dof = static_cast<double>(n - 2);
  const double variance = rss / dof;  // residual variance s^2
  const double var_order = variance * jtj_inverse[3] / (scale * scale);
  const boost::math::students_t t_dist(dof);
  const double t = boost::math::quantile(t_dist, (1 + confidence) / 2);
  const double half_width = t * std::sqrt(var_order);

  OrderFit fit;
  fit.order = aq[1] / scale;
  fit.lower = fit.order - half_width;
  fit.upper = fit.order + half_width;
  fit.constant = std::exp(aq[0] - fit.order * mean);
  fit.confidence = confidence;
  fit.points = static_cast<int>(n);
  fit.residual_std = std::sqrt(variance);
  return fit;
#else
  throw Error(where + ": odyn was built without Ceres Solver");
#endif
}

}  // namespace odyn::dynamics
