// Conventions shared by odyn::transport. A point cloud is an n x d matrix, one point per row (the
// layout of NumPy, POT and SciPy). A measure on it is a weight vector of length n, entries >= 0,
// summing to 1; an empty vector means uniform weights 1/n. See docs/transport.md.
#pragma once

#include <Eigen/Core>
#include <string>

namespace odyn::transport {

using Matrix = Eigen::MatrixXd;
using Vector = Eigen::VectorXd;
using PointsRef = Eigen::Ref<const Matrix>;
using VectorRef = Eigen::Ref<const Vector>;

// Weights must sum to 1 within this relative tolerance (about n eps for n up to 10^7, so NumPy's
// float64 normalisation always passes and a forgotten normalisation never does).
inline constexpr double kWeightSumTolerance = 1e-9;

// Throws odyn::InvalidArgument(where + ": " + message) unless ok.
void require(bool ok, const std::string& where, const std::string& message);

// Checks a point cloud: at least one point, at least one coordinate, every entry finite. `name`
// says which argument ("X", "Y") in the message.
void check_points(const PointsRef& x, const std::string& where, const std::string& name);

// Checks that X and Y are valid point clouds of the same dimension.
void check_point_pair(const PointsRef& x, const PointsRef& y, const std::string& where);

// The weights of a measure on n points: uniform 1/n when w is empty; otherwise w itself after
// checking its length, finiteness, non-negativity, a positive total and sum 1 within
// kWeightSumTolerance. `name` says which argument ("wx", "a").
Vector measure_weights(const VectorRef& w, Eigen::Index n, const std::string& where, const std::string& name);

// The ground-cost matrix C_ij = ||x_i - y_j||_2^p (p > 0). For p = 2 it uses the Gram identity
// |x|^2 + |y|^2 - 2 x.y on clouds centred at X's mean (a matrix product; negative rounding clamped
// to 0), absolute error about eps * spread^2; other p are formed from exact differences.
Matrix ground_cost(const PointsRef& x, const PointsRef& y, double p = 2.0);

}  // namespace odyn::transport
