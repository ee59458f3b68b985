#include "odyn/linalg/test_matrices.hpp"

#include <Eigen/QR>
#include <cmath>

#include "odyn/core/error.hpp"

namespace odyn::linalg {

Eigen::MatrixXd gaussian_matrix(int rows, int cols, std::mt19937_64& rng, double sd) {
  std::normal_distribution<double> normal(0.0, 1.0);
  Eigen::MatrixXd g(rows, cols);
  for (Eigen::Index i = 0; i < g.size(); ++i) g.data()[i] = sd * normal(rng);
  return g;
}

const std::vector<std::string>& matrix_family_names() {
  static const std::vector<std::string> names = {"random", "normal", "nilpotent", "jordan", "rotation"};
  return names;
}

std::string to_string(MatrixFamily family) {
  return matrix_family_names().at(static_cast<std::size_t>(family));
}

MatrixFamily parse_matrix_family(const std::string& name) {
  const auto& names = matrix_family_names();
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i] == name) return static_cast<MatrixFamily>(i);
  }
  std::string list;
  for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
  throw InvalidArgument("unknown matrix family '" + name + "' (expected one of: " + list + ")");
}

Eigen::MatrixXd random_orthogonal(int n, std::mt19937_64& rng) {
  if (n < 1) throw InvalidArgument("random_orthogonal: expected n >= 1, got " + std::to_string(n));
  Eigen::HouseholderQR<Eigen::MatrixXd> qr(gaussian_matrix(n, n, rng, 1.0));
  Eigen::MatrixXd q = qr.householderQ();
  const Eigen::MatrixXd& r = qr.matrixQR();
  for (int j = 0; j < n; ++j) {
    if (r(j, j) < 0) q.col(j) = -q.col(j);
  }
  return q;
}

Eigen::MatrixXd make_test_matrix(MatrixFamily family, int n, std::mt19937_64& rng, double scale) {
  if (n < 1) throw InvalidArgument("make_test_matrix: expected n >= 1, got " + std::to_string(n));
  if (!std::isfinite(scale) || scale < 0) {
    throw InvalidArgument("make_test_matrix: scale must be finite and >= 0, got " + std::to_string(scale));
  }
  const double rn = std::sqrt(static_cast<double>(n));
  switch (family) {
    case MatrixFamily::random:
      return gaussian_matrix(n, n, rng, scale / rn);
    case MatrixFamily::rotation: {
      const Eigen::MatrixXd g = gaussian_matrix(n, n, rng, 1.0);
      return (g - g.transpose()) * (scale / std::sqrt(2.0 * n));
    }
    case MatrixFamily::normal: {
      std::normal_distribution<double> normal(0.0, scale);
      Eigen::MatrixXd b = Eigen::MatrixXd::Zero(n, n);
      int i = 0;
      for (; i + 1 < n; i += 2) {
        const double re = normal(rng), im = normal(rng);
        b(i, i) = b(i + 1, i + 1) = re;
        b(i, i + 1) = im;
        b(i + 1, i) = -im;
      }
      if (i < n) b(i, i) = normal(rng);
      const Eigen::MatrixXd q = random_orthogonal(n, rng);
      return q * b * q.transpose();
    }
    case MatrixFamily::nilpotent: {
      Eigen::MatrixXd nil = gaussian_matrix(n, n, rng, scale / rn).triangularView<Eigen::StrictlyUpper>();
      const Eigen::MatrixXd q = random_orthogonal(n, rng);
      return q * nil * q.transpose();
    }
    case MatrixFamily::jordan: {
      std::normal_distribution<double> normal(0.0, scale);
      std::uniform_int_distribution<int> size(1, 4);
      Eigen::MatrixXd j = Eigen::MatrixXd::Zero(n, n);
      for (int start = 0; start < n;) {
        const int k = std::min(size(rng), n - start);
        const double lambda = normal(rng);
        for (int i = 0; i < k; ++i) {
          j(start + i, start + i) = lambda;
          if (i + 1 < k) j(start + i, start + i + 1) = 1.0;
        }
        start += k;
      }
      const Eigen::MatrixXd q = random_orthogonal(n, rng);
      return q * j * q.transpose();
    }
  }
  throw InvalidArgument("make_test_matrix: unknown family");
}

}  // namespace odyn::linalg
