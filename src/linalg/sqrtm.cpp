#include "odyn/linalg/sqrtm.hpp"

#include <Eigen/Eigenvalues>
#include <cmath>
#include <limits>
#include <string>

#include "odyn/core/error.hpp"
#include "odyn/core/validate.hpp"

namespace odyn::linalg {
namespace {

constexpr double kUnitRoundoff = std::numeric_limits<double>::epsilon() / 2;

void require_symmetric(const Eigen::MatrixXd& s, const std::string& where) {
  require_nonempty(s, where);
  require_square(s, where);
  require_finite(s, where);
  const double scale = s.cwiseAbs().maxCoeff();
  const double asym = (s - s.transpose()).cwiseAbs().maxCoeff();
  if (asym > 8 * s.rows() * kUnitRoundoff * scale) {
    throw InvalidArgument(where + ": matrix is not symmetric (max |s_ij - s_ji| = " + std::to_string(asym) + ")");
  }
}

// Eigenvalues of a symmetric PSD matrix with those within rounding of zero (|l| <= n u max|l|)
// set to exactly zero: their computed values are noise, and sqrt would amplify noise of size
// u max|l| to sqrt(u max|l|). Throws for clearly negative eigenvalues.
Eigen::VectorXd psd_eigenvalues(const Eigen::VectorXd& l, Eigen::Index n, const std::string& where) {
  const double tol = n * kUnitRoundoff * std::max(l.cwiseAbs().maxCoeff(), std::numeric_limits<double>::min());
  if (l.minCoeff() < -tol) {
    throw InvalidArgument(where + ": matrix is not positive semidefinite (eigenvalue " + std::to_string(l.minCoeff()) +
                          ")");
  }
  return l.unaryExpr([tol](double v) { return v <= tol ? 0.0 : v; });
}

}  // namespace

Eigen::MatrixXd sqrtm_spd(const Eigen::MatrixXd& s) {
  require_symmetric(s, "sqrtm_spd");
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(s);
  const Eigen::VectorXd root = psd_eigenvalues(eig.eigenvalues(), s.rows(), "sqrtm_spd").cwiseSqrt();
  const Eigen::MatrixXd r = eig.eigenvectors() * root.asDiagonal() * eig.eigenvectors().transpose();
  return (r + r.transpose()) / 2;  // exactly symmetric
}

double trace_sqrt_product(const Eigen::MatrixXd& s1, const Eigen::MatrixXd& s2) {
  require_symmetric(s1, "trace_sqrt_product");
  require_symmetric(s2, "trace_sqrt_product");
  if (s1.rows() != s2.rows()) {
    throw InvalidArgument("trace_sqrt_product: sizes differ, " + std::to_string(s1.rows()) + " and " +
                          std::to_string(s2.rows()));
  }
  psd_eigenvalues(Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(s2, Eigen::EigenvaluesOnly).eigenvalues(), s2.rows(),
                  "trace_sqrt_product");  // S2 must be PSD as well
  const Eigen::MatrixXd r = sqrtm_spd(s1);
  Eigen::MatrixXd m = r * s2 * r;
  m = (m + m.transpose()) / 2;  // symmetric up to rounding; make it exactly so
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(m, Eigen::EigenvaluesOnly);
  return psd_eigenvalues(eig.eigenvalues(), m.rows(), "trace_sqrt_product").cwiseSqrt().sum();
}

}  // namespace odyn::linalg
