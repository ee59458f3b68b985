// Reference answers from Ceres Solver: the minimum of a problem (L-BFGS) and the observed order of
// an integrator from errors over step sizes (least squares with a confidence interval).
// See docs/dynamics.md.
#pragma once

#include <string>
#include <vector>

#include "odyn/dynamics/problems.hpp"

namespace odyn::dynamics {

struct MinimizeOptions {
  int max_iterations = 10000;
  double gradient_tolerance = 1e-12;   // Ceres: max-norm of the gradient, relative to the start's
  double function_tolerance = 1e-16;   // Ceres: relative decrease of the objective
  double parameter_tolerance = 1e-16;  // Ceres: relative step size
  int lbfgs_rank = 20;
};

struct Minimum {
  Vector x;                  // the minimiser found
  double value = 0;          // L(x)
  double gradient_norm = 0;  // ||grad L(x)||_2
  int iterations = 0;
  bool converged = false;  // Ceres stopped on a tolerance, not on the iteration limit or a failure
  std::string message;     // Ceres's summary line
};

// Minimises `problem` from x0 with Ceres's GradientProblemSolver (L-BFGS, Wolfe line search).
// Throws odyn::InvalidArgument for a start of the wrong size or with non-finite entries, and
// odyn::Error when odyn was built without Ceres.
Minimum reference_minimum(const Problem& problem, const Vector& x0, const MinimizeOptions& options = {});

// The fit log(error) = log(C) + p log(h) by Ceres least squares: p is the observed order, with
// a two-sided `confidence` interval from Student's t with n - 2 degrees of freedom and the
// covariance of the estimate (residual variance times (J^T J)^{-1}).
struct OrderFit {
  double order = 0;
  double lower = 0, upper = 0;  // the confidence interval of the order
  double constant = 0;          // C
  double confidence = 0.95;
  int points = 0;
  double residual_std = 0;  // standard deviation of the log-residuals
};

// Throws odyn::InvalidArgument unless there are >= 3 pairs (h, error), all h > 0 and distinct,
// all errors > 0 and finite, and 0 < confidence < 1.
OrderFit fit_order(const std::vector<double>& steps, const std::vector<double>& errors, double confidence = 0.95);

}  // namespace odyn::dynamics
