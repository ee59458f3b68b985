// The k-nearest-neighbour estimator of the Kullback-Leibler divergence between two samples (Wang,
// Kulkarni and Verdu, "Divergence estimation for multidimensional densities via k-nearest-neighbor
// distances", IEEE Trans. Inf. Theory 55(5):2392-2405, 2009). X is n x d and Y is m x d, one point
// per row (see common.hpp).
#pragma once

#include "odyn/transport/common.hpp"

namespace odyn::transport {

// D(P || Q) estimated from x ~ P (n points) and y ~ Q (m points) in d dimensions (Wang et al. 2009,
// eq. 5):
//   D = (d/n) sum_i log(nu_k(i) / rho_k(i)) + log(m / (n - 1)),
// rho_k(i) = Euclidean distance from x_i to its k-th nearest neighbour in X without x_i itself (one
// copy of x_i is removed, other points equal to x_i stay), nu_k(i) = distance from x_i to its k-th
// nearest neighbour in Y. Consistent for densities (the estimate may be negative at finite n).
// Neighbours come from k-d trees, O((n + m) log(n + m)) for small d. Requires n >= 2, m >= 1,
// 1 <= k <= n - 1 and k <= m. Throws InvalidArgument naming the point when some rho_k(i) or
// nu_k(i) is 0 (x_i repeated k + 1 or more times in X, or k or more times in Y): log 0 is undefined,
// so samples with repeated points (discrete data) may have no estimate.
double knn_kl_divergence(const PointsRef& x, const PointsRef& y, int k = 1);

}  // namespace odyn::transport
