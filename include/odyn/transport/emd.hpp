// Exact discrete optimal transport (the earth mover's distance) by a primal network simplex
// specialised for the dense transportation problem: min <P, C> over P >= 0 with P 1 = a and
// P^T 1 = b (Kantorovich 1942; Peyre & Cuturi 2019, eq. 2.11; Ahuja, Magnanti & Orlin 1993, ch. 11),
// as used for OT by Bonneel et al. 2011. Arcs are implicit; pricing is block search (Kelly &
// O'Neill 1991; LEMON's default rule) over contiguous columns of the cost; the leaving arc keeps the
// tree strongly feasible (Cunningham 1976).
#pragma once

#include <Eigen/Core>
#include <Eigen/SparseCore>

#include "odyn/transport/common.hpp"

namespace odyn::transport {

enum class EmdStatus { optimal, max_iterations };

struct EmdOptions {
  // Cap on simplex pivots; 0 picks 100000 + 1000 (n + m). On hitting it the current basic solution
  // is returned with status max_iterations (its plan may then miss the marginals and its
  // potentials need not be dual feasible).
  long max_iterations = 0;
  // |sum a - sum b| <= mass_tolerance * max(sum a, sum b), else InvalidArgument.
  double mass_tolerance = 1e-9;
};

struct EmdResult {
  double cost = 0.0;                 // <P, C>
  Eigen::SparseMatrix<double> plan;  // n x m, at most n + m - 1 nonzeros (a spanning-tree basis)
  // Dual potentials: f_i + g_j <= C_ij (up to rounding), equality on the plan's support, and
  // cost = <a, f> + <b, g>. Normalised so that <a, f> = <b, g> = cost / 2. Rows and columns of
  // zero weight get the largest feasible value (f_i = min_j C_ij - g_j over the weighted j, then
  // g_j = min_i C_ij - f_i over all i).
  Vector f, g;
  EmdStatus status = EmdStatus::optimal;
  long iterations = 0;  // simplex pivots
};

// Optimal transport between histograms a (length n) and b (length m) for the cost matrix C (n x m):
// returns the optimal cost, a basic optimal plan and the dual potentials. a and b are nonnegative
// and finite with positive totals that agree within options.mass_tolerance (they need not sum to
// 1); an empty vector means uniform weights summing to 1. b is rescaled internally to a's total,
// so the plan's column sums are b * sum(a) / sum(b). Zero weights, n = 1 and m = 1 are allowed.
EmdResult emd(const VectorRef& a, const VectorRef& b, const Eigen::Ref<const Matrix>& cost,
              const EmdOptions& options = {});

// The optimal cost of emd(a, b, cost, options) alone.
double emd2(const VectorRef& a, const VectorRef& b, const Eigen::Ref<const Matrix>& cost,
            const EmdOptions& options = {});

// emd between weighted point clouds X (n x d) and Y (m x d) with cost C_ij = ||x_i - y_j||_2^p,
// computed on the fly from exact coordinate differences and never stored (memory O((n + m) d)
// besides the plan). Weights follow common.hpp (empty = uniform, else they must sum to 1); p > 0.
EmdResult emd_points(const PointsRef& x, const PointsRef& y, const VectorRef& wx = Vector(),
                     const VectorRef& wy = Vector(), double p = 2.0, const EmdOptions& options = {});

}  // namespace odyn::transport
