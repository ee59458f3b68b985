#include "odyn/transport/common.hpp"

#include <cmath>

#include "odyn/core/error.hpp"

namespace odyn::transport {

void require(bool ok, const std::string& where, const std::string& message) {
  if (!ok) throw InvalidArgument(where + ": " + message);
}

void check_points(const PointsRef& x, const std::string& where, const std::string& name) {
  require(x.rows() > 0, where, name + " has no points");
  require(x.cols() > 0, where, name + " has points of dimension 0");
  for (Eigen::Index j = 0; j < x.cols(); ++j) {
    for (Eigen::Index i = 0; i < x.rows(); ++i) {
      if (!std::isfinite(x(i, j))) {
        throw InvalidArgument(where + ": " + name + " point " + std::to_string(i) + " coordinate " +
                              std::to_string(j) + " is not finite");
      }
    }
  }
}

void check_point_pair(const PointsRef& x, const PointsRef& y, const std::string& where) {
  check_points(x, where, "X");
  check_points(y, where, "Y");
  require(x.cols() == y.cols(), where,
          "X and Y differ in dimension (" + std::to_string(x.cols()) + " and " + std::to_string(y.cols()) + ")");
}

Vector measure_weights(const VectorRef& w, Eigen::Index n, const std::string& where, const std::string& name) {
  require(n > 0, where, name + ": the measure has no points");
  if (w.size() == 0) return Vector::Constant(n, 1.0 / static_cast<double>(n));
  require(w.size() == n, where,
          name + " has " + std::to_string(w.size()) + " weights for " + std::to_string(n) + " points");
  double total = 0.0;
  for (Eigen::Index i = 0; i < n; ++i) {
    require(std::isfinite(w(i)), where, name + " weight " + std::to_string(i) + " is not finite");
    require(w(i) >= 0.0, where, name + " weight " + std::to_string(i) + " is negative");
    total += w(i);
  }
  require(total > 0.0, where, name + " has total weight 0");
  require(std::abs(total - 1.0) <= kWeightSumTolerance, where,
          name + " sums to " + std::to_string(total) + ", not 1 (normalise the weights)");
  return w;
}

Matrix ground_cost(const PointsRef& x, const PointsRef& y, double p) {
  const std::string where = "ground_cost";
  check_point_pair(x, y, where);
  require(std::isfinite(p) && p > 0.0, where, "p must be positive and finite");
  if (p == 2.0) {
    // Centring both clouds on X's mean keeps the cancellation in |x|^2 + |y|^2 - 2 x.y at the
    // scale of the clouds' spread rather than their distance from the origin.
    const Eigen::RowVectorXd centre = x.colwise().mean();
    const Matrix xc = x.rowwise() - centre;
    const Matrix yc = y.rowwise() - centre;
    const Vector xx = xc.rowwise().squaredNorm();
    const Vector yy = yc.rowwise().squaredNorm();
    Matrix c = -2.0 * (xc * yc.transpose());
    c.colwise() += xx;
    c.rowwise() += yy.transpose();
    return c.cwiseMax(0.0);
  }
  Matrix c(x.rows(), y.rows());
  for (Eigen::Index j = 0; j < y.rows(); ++j) {
    for (Eigen::Index i = 0; i < x.rows(); ++i) {
      const double r = (x.row(i) - y.row(j)).norm();
      c(i, j) = p == 1.0 ? r : std::pow(r, p);
    }
  }
  return c;
}

}  // namespace odyn::transport
