#include "odyn/transport/knn_kl.hpp"

#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

#include <nanoflann.hpp>

#include "odyn/core/error.hpp"

namespace odyn::transport {
namespace {

using Eigen::Index;

// A row-major copy of a point cloud, in the form nanoflann's k-d tree reads.
struct Cloud {
  Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> points;

  explicit Cloud(const PointsRef& x) : points(x) {}
  std::size_t kdtree_get_point_count() const { return static_cast<std::size_t>(points.rows()); }
  double kdtree_get_pt(std::size_t i, std::size_t dim) const {
    return points(static_cast<Index>(i), static_cast<Index>(dim));
  }
  // No precomputed bounding box: the tree computes it.
  template <class Box>
  bool kdtree_get_bbox(Box&) const {
    return false;
  }
  const double* row(Index i) const { return points.data() + i * points.cols(); }
};

// Squared Euclidean distances, summed over coordinates in order.
using Metric = nanoflann::L2_Simple_Adaptor<double, Cloud, double, std::size_t>;
using Tree = nanoflann::KDTreeSingleIndexAdaptor<Metric, Cloud, -1, std::size_t>;
constexpr std::size_t kLeafSize = 16;

}  // namespace

double knn_kl_divergence(const PointsRef& x, const PointsRef& y, int k) {
  const std::string where = "knn_kl_divergence";
  check_point_pair(x, y, where);
  const Index n = x.rows(), m = y.rows(), d = x.cols();
  require(n >= 2, where, "X needs at least 2 points, got " + std::to_string(n));
  require(k >= 1, where, "k must be >= 1, got " + std::to_string(k));
  require(k <= n - 1, where, "k = " + std::to_string(k) + " exceeds n - 1 = " + std::to_string(n - 1));
  require(k <= m, where, "k = " + std::to_string(k) + " exceeds the " + std::to_string(m) + " points of Y");

  const Cloud cx(x), cy(y);
  const Tree tx(static_cast<Tree::Dimension>(d), cx, nanoflann::KDTreeSingleIndexAdaptorParams(kLeafSize));
  const Tree ty(static_cast<Tree::Dimension>(d), cy, nanoflann::KDTreeSingleIndexAdaptorParams(kLeafSize));
  const auto kk = static_cast<std::size_t>(k);
  std::vector<std::size_t> index(kk + 1);
  std::vector<double> dist2(kk + 1);
  double sum = 0.0;
  for (Index i = 0; i < n; ++i) {
    const double* q = cx.row(i);
    // k + 1 neighbours in X, then one entry for x_i itself dropped (only that one: other copies of
    // x_i are neighbours at distance 0). When x_i is absent from the list, all k + 1 are at
    // distance 0 and so is rho_k.
    tx.knnSearch(q, kk + 1, index.data(), dist2.data());
    std::size_t self = kk + 1;
    for (std::size_t j = 0; j <= kk; ++j) {
      if (index[j] == static_cast<std::size_t>(i)) {
        self = j;
        break;
      }
    }
    const double rho2 = self <= kk - 1 ? dist2[kk] : dist2[kk - 1];
    ty.knnSearch(q, kk, index.data(), dist2.data());
    const double nu2 = dist2[kk - 1];
    // (the message is built only on failure: this loop runs n times)
    if (!(rho2 > 0.0)) {
      throw InvalidArgument(where + ": X point " + std::to_string(i) +
                            " has its k-th nearest neighbour in X at distance 0 (repeated points; log 0)");
    }
    if (!(nu2 > 0.0)) {
      throw InvalidArgument(where + ": X point " + std::to_string(i) +
                            " has its k-th nearest neighbour in Y at distance 0 (repeated points; log 0)");
    }
    sum += 0.5 * (std::log(nu2) - std::log(rho2));
  }
  const double dn = static_cast<double>(n);
  return static_cast<double>(d) / dn * sum + std::log(static_cast<double>(m) / (dn - 1.0));
}

}  // namespace odyn::transport
