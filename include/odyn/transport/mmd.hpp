// Maximum mean discrepancy (MMD) between two samples: the unbiased quadratic-time and the linear-time
// estimators of MMD^2, the median-heuristic bandwidth and a permutation test of P = Q (Gretton,
// Borgwardt, Rasch, Schoelkopf and Smola, "A kernel two-sample test", JMLR 13:723-773, 2012).
// X is n x d and Y is m x d, one point per row (see common.hpp).
#pragma once

#include <cstdint>

#include "odyn/transport/common.hpp"

namespace odyn::transport {

// The kernels; all but the polynomial one are functions of r = ||x - y||_2 and the bandwidth s:
//   gaussian   exp(-r^2 / (2 s^2))
//   laplacian  exp(-r / s)
//   imq        (1 + r^2 / s^2)^(-1/2)   (inverse multiquadric)
//   energy     -r                       (distance-induced; no bandwidth. MMD^2 is then the energy
//                                        distance 2 E|X-Y| - E|X-X'| - E|Y-Y'|, Sejdinovic,
//                                        Sriperumbudur, Gretton and Fukumizu, Ann. Stat. 41, 2013)
//   polynomial (x.y / d + c)^degree     (d the dimension; no bandwidth. With degree 3 and c = 1 it is
//                                        the kernel of the Kernel Inception Distance, Binkowski,
//                                        Sutherland, Arbel and Gretton, "Demystifying MMD GANs", 2018)
enum class KernelKind { gaussian, laplacian, imq, energy, polynomial };

// A kernel and its bandwidth s >= 0; s = 0 asks for the median heuristic on the pooled sample
// (median_heuristic(x, y) with its defaults). The bandwidth is ignored for the energy and polynomial
// kernels; degree (>= 1) and offset c (finite, >= 0) are used by the polynomial kernel only.
struct Kernel {
  KernelKind kind = KernelKind::gaussian;
  double bandwidth = 0.0;
  int degree = 3;
  double offset = 1.0;
};

// The median of the pairwise distances ||z_i - z_j||_2, i < j, of the pooled sample Z = [X; Y]
// (Gretton et al. 2012, section 8). When n + m > max_points it is taken over a random subset of
// max_points pooled points drawn without replacement with std::mt19937_64(seed), reproducibly on
// every platform. For an even number of pairs it is the mean of the two middle distances.
// Requires max_points >= 2 and n + m >= 2.
double median_heuristic(const PointsRef& x, const PointsRef& y, Eigen::Index max_points = 1000,
                        std::uint64_t seed = 0);

// The unbiased quadratic-time estimate MMD_u^2 (Gretton et al. 2012, eq. 3):
//   1/(n(n-1)) sum_{i!=j} k(x_i,x_j) + 1/(m(m-1)) sum_{i!=j} k(y_i,y_j) - 2/(nm) sum_{i,j} k(x_i,y_j).
// It may be negative when P = Q. Requires n, m >= 2. O((n+m)^2 d) time with kernel values formed
// and summed in 256 x 256 tiles: no n x n matrix (for d > 8, where squared distances come from the
// Gram identity, also a centred copy of the clouds).
double mmd2_unbiased(const PointsRef& x, const PointsRef& y, const Kernel& kernel = {});

// The linear-time estimate MMD_l^2 (Gretton et al. 2012, Lemma 14) on the first L = floor(min(n,m)/2)
// disjoint pairs: (1/L) sum_{l<L} h(l) with
//   h(l) = k(x_{2l},x_{2l+1}) + k(y_{2l},y_{2l+1}) - k(x_{2l},y_{2l+1}) - k(x_{2l+1},y_{2l})
// (0-based rows). Requires n, m >= 2. A bandwidth of 0 still runs the median heuristic, on at most
// 1000 points.
double mmd2_linear(const PointsRef& x, const PointsRef& y, const Kernel& kernel = {});

// The result of mmd_permutation_test.
struct MmdTest {
  double statistic;   // MMD_u^2 of (X, Y), from the pooled kernel matrix (equals mmd2_unbiased
                      // up to rounding)
  double p_value;     // (1 + #{b : MMD_u^2 of permutation b >= statistic}) / (1 + permutations)
  long permutations;  // the number of random permutations drawn
  double bandwidth;   // the bandwidth used (the median heuristic's when kernel.bandwidth = 0;
                      // 0 for the energy and polynomial kernels)
};

// The permutation test of H0: P = Q with the unbiased statistic (Gretton et al. 2012, section 5;
// the p-value counts the observed statistic among the permutations, so P(p <= a) <= a under H0 for
// every level a). The pooled (n+m) x (n+m) kernel matrix is formed once and each permutation's
// statistic is a sum of its entries over index sets, in O(min(n,m)^2 + n + m) time. Permutations
// come from a Fisher-Yates shuffle driven by std::mt19937_64(seed) with a rejection-sampled uniform
// integer, so the p-value is the same on every platform. A permuted statistic counts as >= the
// observed one within 1e-12 times the largest |kernel value| (sums in different orders), which can
// only make the test more conservative. Memory: 8 (n+m)^2 bytes. Requires n, m >= 2 and
// permutations >= 1.
MmdTest mmd_permutation_test(const PointsRef& x, const PointsRef& y, const Kernel& kernel = {},
                             long permutations = 1000, std::uint64_t seed = 0);

}  // namespace odyn::transport
