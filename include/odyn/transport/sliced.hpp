// Sliced and max-sliced Wasserstein distances between point clouds (n x d, one point per row):
// one-dimensional Wasserstein distances between the clouds' projections on directions theta of the
// unit sphere S^{d-1}.
#pragma once

#include <Eigen/Core>
#include <cstdint>

#include "odyn/transport/common.hpp"

namespace odyn::transport {

// n_projections directions on S^{d-1} as the columns of a d x n_projections matrix, reproducible
// from the seed on every platform: a std::mt19937_64(seed) stream turned into standard normal
// pairs by Box-Muller (u1 = (k1 + 1) 2^-53 and u2 = k2 2^-53 with k = (next output) >> 11;
// z1 = r cos(2 pi u2), z2 = r sin(2 pi u2), r = sqrt(-2 ln u1)), filled column by column
// (direction 0 coordinates 0..d-1, then direction 1, ...), each column then divided by its
// Euclidean norm. The normalised Gaussian is uniform on the sphere (Muller 1959). Throws
// odyn::InvalidArgument if d < 1 or n_projections < 1.
Matrix sliced_directions(Eigen::Index d, int n_projections, std::uint64_t seed = 0);

// The sliced p-Wasserstein distance (Rabin, Peyre, Delon & Bernot 2011; Bonneel, Rabin, Peyre &
// Pfister 2015; the definition of POT's ot.sliced_wasserstein_distance)
//   SW_p(mu, nu) = (E_theta W_p^p(theta#mu, theta#nu))^(1/p),  theta uniform on S^{d-1},
// estimated by Monte Carlo over the n_projections directions of sliced_directions(d, n_projections,
// seed): the clouds are projected by one matrix product per block of directions and each
// projection is sorted; W_p^p on the line as in wasserstein_1d (sorted differences for uniform
// equal-size clouds, the quantile merge otherwise). Cost O(L (n + m)(d + log(n + m))) for L
// directions, memory O((n + m) min(L, 2^20 / max(n, m))) beyond the inputs. Weights as in
// common.hpp (empty = uniform). Throws odyn::InvalidArgument for invalid clouds (empty,
// non-finite, dimensions differ), p < 1 or non-finite, n_projections < 1, or bad weights.
double sliced_wasserstein(const PointsRef& x, const PointsRef& y, double p = 2.0, int n_projections = 100,
                          std::uint64_t seed = 0, const VectorRef& wx = Vector(), const VectorRef& wy = Vector());

struct MaxSlicedResult {
  double value;      // max-SW_p, the distance W_p(theta#mu, theta#nu) at the best direction found
  Vector direction;  // that direction, a unit vector of length d (theta and -theta are equivalent)
};

// The max-sliced p-Wasserstein distance (Deshpande, Hu, Sun, Pyrros, Siddiqui, Koyejo, Zhao,
// Forsyth & Schwing, "Max-Sliced Wasserstein Distance and its use for GANs", CVPR 2019)
//   max-SW_p(mu, nu) = max_{theta in S^{d-1}} W_p(theta#mu, theta#nu),
// a non-concave maximisation solved locally: the best of the directions of sliced_directions(d,
// n_projections, seed), then projected (geodesic) gradient ascent on the sphere with an adaptive
// step accepted only when W_p^p increases. The gradient of W_p^p(theta) is
// sum_ij pi_ij p |theta.(x_i - y_j)|^(p-1) sign(theta.(x_i - y_j)) (x_i - y_j) for the optimal
// (monotone) 1-D coupling pi of the projections. The value is therefore a lower bound on the true
// maximum, never below the best sampled direction, so sliced_wasserstein(...) <= value <= W_p for
// the same arguments. Validation as in sliced_wasserstein.
MaxSlicedResult max_sliced_wasserstein(const PointsRef& x, const PointsRef& y, double p = 2.0, int n_projections = 100,
                                       std::uint64_t seed = 0, const VectorRef& wx = Vector(),
                                       const VectorRef& wy = Vector());

}  // namespace odyn::transport
