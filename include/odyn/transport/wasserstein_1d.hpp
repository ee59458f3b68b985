// The p-Wasserstein distance between two weighted samples on the real line, computed exactly from
// their quantile functions (the monotone coupling is optimal on the line for every p >= 1).
#pragma once

#include <Eigen/Core>
#include <cstdint>

#include "odyn/transport/common.hpp"

namespace odyn::transport {

// W_p(mu, nu), the distance (not its p-th power), between mu = sum_i wx_i delta_{x_i} and
// nu = sum_j wy_j delta_{y_j} on the line:
//   W_p^p = int_0^1 |F^-1(t) - G^-1(t)|^p dt
// (Villani, Topics in Optimal Transportation, 2003, Thm 2.18; Peyre & Cuturi, Computational Optimal
// Transport, 2019, Remark 2.30), evaluated exactly by sorting both samples and merging the two
// piecewise-constant quantile functions. O((n + m) log(n + m)). Uniform equal-size samples reduce to
// the mean of |x_(i) - y_(i)|^p over the sorted samples. Weights as in common.hpp (empty = uniform).
// Throws odyn::InvalidArgument for an empty sample, a non-finite value, p < 1 or non-finite, or bad
// weights.
double wasserstein_1d(const VectorRef& x, const VectorRef& y, double p = 1.0, const VectorRef& wx = Vector(),
                      const VectorRef& wy = Vector());

namespace detail {

// The optimal (monotone, "north-west corner") coupling of two sorted measures on the line with
// weights a[0..n) and b[0..m): calls visit(i, j, mass) for each cell of positive mass, in order.
// Cells follow the merged cumulative sums of a and b; if the totals differ (within the weight
// tolerance) the excess of the larger one is left uncoupled.
template <class Visit>
void monotone_coupling(const double* a, Eigen::Index n, const double* b, Eigen::Index m, Visit&& visit) {
  Eigen::Index i = 0, j = 0;
  double ca = a[0], cb = b[0], t = 0.0;
  while (i < n && j < m) {
    const double next = ca < cb ? ca : cb;
    if (next > t) {
      visit(i, j, next - t);
      t = next;
    }
    const bool step_i = ca <= next, step_j = cb <= next;
    if (step_i && ++i < n) ca += a[i];
    if (step_j && ++j < m) cb += b[j];
  }
}

// The same coupling for uniform weights 1/n and 1/m, in exact integer arithmetic: the cumulative
// masses are (i + 1) m and (j + 1) n in units of 1/(n m).
template <class Visit>
void monotone_coupling_uniform(Eigen::Index n, Eigen::Index m, Visit&& visit) {
  const std::int64_t nn = n, mm = m;
  const double unit = 1.0 / (static_cast<double>(n) * static_cast<double>(m));
  std::int64_t i = 0, j = 0, ca = mm, cb = nn, t = 0;
  while (i < nn && j < mm) {
    const std::int64_t next = ca < cb ? ca : cb;
    visit(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j), static_cast<double>(next - t) * unit);
    t = next;
    if (ca == next) {
      ++i;
      ca += mm;
    }
    if (cb == next) {
      ++j;
      cb += nn;
    }
  }
}

// W_p^p between sorted samples u[0..n) and v[0..m) with weights a and b (nullptr = uniform), by the
// monotone coupling; uniform equal sizes take the sorted-differences fast path. No validation.
double sorted_cost(const double* u, const double* a, Eigen::Index n, const double* v, const double* b, Eigen::Index m,
                   double p);

}  // namespace detail

}  // namespace odyn::transport
