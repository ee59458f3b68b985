// Ceres Solver's L-BFGS settings shared by the library's gradient-problem solves (the reference
// minimiser of src/dynamics/reference_ceres.cpp and the critic fits of
// src/transport/critic_ceres.cpp). Private to the library (not installed): include it only from a
// .cpp file, inside #if ODYN_HAVE_CERES, so that Ceres stays out of the public headers.
#pragma once

#include <ceres/ceres.h>

#include <string>

#include "odyn/core/error.hpp"

namespace odyn::detail {

// Line-search L-BFGS with a Wolfe line search and no output, taking lbfgs_rank, max_iterations,
// gradient_tolerance, function_tolerance and parameter_tolerance from `options` (any struct with
// those fields). Throws odyn::InvalidArgument, naming `where`, when Ceres rejects the settings.
template <class Options>
ceres::GradientProblemSolver::Options lbfgs_options(const Options& options, const std::string& where) {
  ceres::GradientProblemSolver::Options solver;
  solver.line_search_direction_type = ceres::LBFGS;
  solver.line_search_type = ceres::WOLFE;
  solver.max_lbfgs_rank = options.lbfgs_rank;
  solver.max_num_iterations = options.max_iterations;
  solver.gradient_tolerance = options.gradient_tolerance;
  solver.function_tolerance = options.function_tolerance;
  solver.parameter_tolerance = options.parameter_tolerance;
  solver.minimizer_progress_to_stdout = false;
  solver.logging_type = ceres::SILENT;
  std::string invalid;
  if (!solver.IsValid(&invalid)) throw InvalidArgument(where + ": invalid options: " + invalid);
  return solver;
}

}  // namespace odyn::detail
