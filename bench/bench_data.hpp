// Data of the transport benchmarks (bench/*_bench.cpp) and its hand-over to their Python peers
// (bench/peers/*_peer.py): two 2-D point clouds drawn from a seeded std::mt19937_64, written as
// .npy files that the peer reads.
#pragma once

#include <cstdint>
#include <random>
#include <string>

#include "odyn/io/npy.hpp"
#include "odyn/transport/common.hpp"

namespace odyn::bench {

struct Clouds {
  transport::Matrix x, y;  // n x 2 each
};

// X then Y, n points each, from std::mt19937_64(seed) and the one `distribution` object (e.g.
// std::uniform_real_distribution<double>(0, 1) or std::normal_distribution<double>()): each row
// draws its first coordinate, then its second; Y's first coordinate is shifted by y_shift.
template <class Distribution>
Clouds random_clouds(long n, std::uint64_t seed, Distribution distribution, double y_shift = 0.0) {
  std::mt19937_64 rng(seed);
  Clouds c{transport::Matrix(n, 2), transport::Matrix(n, 2)};
  for (long i = 0; i < n; ++i) {
    c.x(i, 0) = distribution(rng);
    c.x(i, 1) = distribution(rng);
  }
  for (long i = 0; i < n; ++i) {
    c.y(i, 0) = y_shift + distribution(rng);
    c.y(i, 1) = distribution(rng);
  }
  return c;
}

// Writes the clouds as <dir>/x_<n>.npy and <dir>/y_<n>.npy (float64, n x 2) for the peer.
inline void write_clouds(const std::string& dir, long n, const Clouds& c) {
  io::write_npy(dir + "/x_" + std::to_string(n) + ".npy", c.x);
  io::write_npy(dir + "/y_" + std::to_string(n) + ".npy", c.y);
}

}  // namespace odyn::bench
