// Random test data shared by the transport tests: point clouds (n x d, one point per row) and
// weights drawn from std::mt19937_64, entries filled in column-major order, so that a seed fixes
// the data.
#pragma once

#include <Eigen/QR>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "odyn/transport/common.hpp"

namespace odyn::test {

// n x d points, each coordinate scale * N(0, 1), the first one shifted by `shift`.
inline transport::Matrix normal_cloud(Eigen::Index n, Eigen::Index d, std::mt19937_64& rng, double shift = 0.0,
                                      double scale = 1.0) {
  std::normal_distribution<double> normal;
  transport::Matrix x(n, d);
  for (Eigen::Index j = 0; j < d; ++j) {
    for (Eigen::Index i = 0; i < n; ++i) x(i, j) = scale * normal(rng);
  }
  x.col(0).array() += shift;
  return x;
}

// The same from a fresh generator seeded with `seed`.
inline transport::Matrix normal_cloud(Eigen::Index n, Eigen::Index d, std::uint64_t seed, double shift = 0.0,
                                      double scale = 1.0) {
  std::mt19937_64 rng(seed);
  return normal_cloud(n, d, rng, shift, scale);
}

// n x d points with coordinates uniform on [lo, hi).
inline transport::Matrix uniform_cloud(Eigen::Index n, Eigen::Index d, std::mt19937_64& rng, double lo = 0.0,
                                       double hi = 1.0) {
  std::uniform_real_distribution<double> uniform(lo, hi);
  transport::Matrix x(n, d);
  for (Eigen::Index j = 0; j < d; ++j) {
    for (Eigen::Index i = 0; i < n; ++i) x(i, j) = uniform(rng);
  }
  return x;
}

// Weights uniform on [0.1, 1), normalised to sum 1; with_zeros sets entries 1, 5, 9, ... to 0
// (without drawing for them).
inline transport::Vector random_weights(Eigen::Index n, std::mt19937_64& rng, bool with_zeros = false) {
  std::uniform_real_distribution<double> uniform(0.1, 1.0);
  transport::Vector w(n);
  for (Eigen::Index i = 0; i < n; ++i) w(i) = with_zeros && i % 4 == 1 ? 0.0 : uniform(rng);
  return w / w.sum();
}

// A random d x d orthogonal matrix: the Q factor of a d x d standard normal matrix.
inline transport::Matrix random_rotation(Eigen::Index d, std::uint64_t seed) {
  const Eigen::HouseholderQR<transport::Matrix> qr(normal_cloud(d, d, seed));
  return qr.householderQ() * transport::Matrix::Identity(d, d);
}

// The mean of v (a std::vector<double> or an Eigen vector of at least 2 values) and its standard
// error sqrt(sample variance / size).
struct MeanAndError {
  double mean, standard_error;
};
template <class Values>
MeanAndError mean_and_standard_error(const Values& v) {
  const double size = static_cast<double>(v.size());
  double mean = 0.0;
  for (double e : v) mean += e / size;
  double variance = 0.0;
  for (double e : v) variance += (e - mean) * (e - mean) / (size - 1.0);
  return {mean, std::sqrt(variance / size)};
}

}  // namespace odyn::test
