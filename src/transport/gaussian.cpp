#include "odyn/transport/gaussian.hpp"

#include <Eigen/Cholesky>
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "odyn/core/error.hpp"
#include "odyn/linalg/sqrtm.hpp"

namespace odyn::transport {

namespace {

constexpr double kUnitRoundoff = std::numeric_limits<double>::epsilon() / 2;

void check_vector(const VectorRef& m, const std::string& where, const std::string& name) {
  require(m.size() > 0, where, name + " is empty");
  for (Eigen::Index i = 0; i < m.size(); ++i) {
    require(std::isfinite(m(i)), where, name + " entry " + std::to_string(i) + " is not finite");
  }
}

void check_covariance(const Eigen::Ref<const Matrix>& s, Eigen::Index d, const std::string& where,
                      const std::string& name) {
  require(s.rows() == d && s.cols() == d, where,
          name + " is " + std::to_string(s.rows()) + " x " + std::to_string(s.cols()) + ", expected " +
              std::to_string(d) + " x " + std::to_string(d) + " (the length of the means)");
  for (Eigen::Index j = 0; j < d; ++j) {
    for (Eigen::Index i = 0; i < d; ++i) {
      require(std::isfinite(s(i, j)), where,
              name + " entry (" + std::to_string(i) + ", " + std::to_string(j) + ") is not finite");
    }
  }
}

void check_means(const VectorRef& m1, const VectorRef& m2, const std::string& where) {
  check_vector(m1, where, "m1");
  check_vector(m2, where, "m2");
  require(m1.size() == m2.size(), where,
          "the means differ in length (" + std::to_string(m1.size()) + " and " + std::to_string(m2.size()) + ")");
}

// tr((S1^1/2 S2 S1^1/2)^1/2), reporting linalg's complaints (not symmetric, not PSD) under `where`.
double trace_term(const Matrix& s1, const Matrix& s2, const std::string& where) {
  try {
    return linalg::trace_sqrt_product(s1, s2);
  } catch (const InvalidArgument& e) {
    throw InvalidArgument(where + ": " + e.what());
  }
}

// The Cholesky factor of an SPD matrix, or InvalidArgument naming it.
Matrix cholesky_factor(const Eigen::Ref<const Matrix>& s, const std::string& where, const std::string& name) {
  const Eigen::Index d = s.rows();
  const double scale = s.cwiseAbs().maxCoeff();
  const double asym = (s - s.transpose()).cwiseAbs().maxCoeff();
  require(asym <= 8 * static_cast<double>(d) * kUnitRoundoff * scale, where,
          name + " is not symmetric (max |s_ij - s_ji| = " + std::to_string(asym) + ")");
  const Eigen::LLT<Matrix> llt(s);
  Matrix l = llt.matrixL();
  require(llt.info() == Eigen::Success && (l.diagonal().array() > 0).all() && l.allFinite(), where,
          name + " is not positive definite (Cholesky factorisation failed)");
  return l;
}

}  // namespace

double bures_wasserstein(const VectorRef& m1, const Eigen::Ref<const Matrix>& s1, const VectorRef& m2,
                         const Eigen::Ref<const Matrix>& s2) {
  const std::string where = "bures_wasserstein";
  check_means(m1, m2, where);
  check_covariance(s1, m1.size(), where, "s1");
  check_covariance(s2, m1.size(), where, "s2");
  const double cross = trace_term(s1, s2, where);
  const double squared = (m1 - m2).squaredNorm() + s1.trace() + s2.trace() - 2.0 * cross;
  return std::sqrt(std::max(squared, 0.0));
}

SampleMoments sample_moments(const PointsRef& x) {
  const std::string where = "sample_moments";
  check_points(x, where, "X");
  require(x.rows() >= 2, where, "X needs at least 2 points for an unbiased covariance");
  SampleMoments m;
  m.mean = x.colwise().mean().transpose();
  const Matrix centred = x.rowwise() - m.mean.transpose();
  m.covariance = centred.transpose() * centred / static_cast<double>(x.rows() - 1);
  m.covariance = (m.covariance + m.covariance.transpose()) / 2;  // exactly symmetric
  return m;
}

double frechet_distance(const PointsRef& x, const PointsRef& y) {
  const std::string where = "frechet_distance";
  check_point_pair(x, y, where);
  require(x.rows() >= 2, where, "X needs at least 2 points for an unbiased covariance");
  require(y.rows() >= 2, where, "Y needs at least 2 points for an unbiased covariance");
  const SampleMoments a = sample_moments(x), b = sample_moments(y);
  const double cross = trace_term(a.covariance, b.covariance, where);
  const double value =
      (a.mean - b.mean).squaredNorm() + a.covariance.trace() + b.covariance.trace() - 2.0 * cross;
  return std::max(value, 0.0);
}

double gaussian_kl(const VectorRef& m1, const Eigen::Ref<const Matrix>& s1, const VectorRef& m2,
                   const Eigen::Ref<const Matrix>& s2) {
  const std::string where = "gaussian_kl";
  check_means(m1, m2, where);
  const Eigen::Index d = m1.size();
  check_covariance(s1, d, where, "s1");
  check_covariance(s2, d, where, "s2");
  const Matrix l1 = cholesky_factor(s1, where, "s1");
  const Matrix l2 = cholesky_factor(s2, where, "s2");
  const auto lower = l2.triangularView<Eigen::Lower>();
  const Matrix a = lower.solve(l1);                  // L2^-1 L1
  const Vector z = lower.solve(Vector(m2 - m1));     // L2^-1 (m2 - m1)
  const double log_det_ratio = 2.0 * (l2.diagonal().array().log().sum() - l1.diagonal().array().log().sum());
  const double kl = 0.5 * (a.squaredNorm() + z.squaredNorm() - static_cast<double>(d) + log_det_ratio);
  return std::max(kl, 0.0);
}

}  // namespace odyn::transport
