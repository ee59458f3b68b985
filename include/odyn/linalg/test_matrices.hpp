// Families of random test matrices with known structure, for verifying matrix identities.
#pragma once

#include <Eigen/Core>
#include <random>
#include <string>
#include <vector>

namespace odyn::linalg {

enum class MatrixFamily {
  random,     // entries N(0, scale^2 / n): by the circular law the spectrum fills the disc of radius scale
  normal,     // Q B Q^T, B block diagonal with 2x2 blocks [[a, b], [-b, a]], a, b ~ N(0, scale^2), Q orthogonal
  nilpotent,  // Q N Q^T, N strictly upper triangular with entries N(0, scale^2 / n): exp(A) has det 1
  jordan,     // Q J Q^T, J block diagonal Jordan blocks J_k(l) of sizes 1..4, l ~ N(0, scale^2): not diagonalizable
  rotation,   // skew-symmetric (G - G^T) scale / sqrt(2n): exp(A) is a rotation, det 1
};

// The family names, in declaration order: "random", "normal", "nilpotent", "jordan", "rotation".
const std::vector<std::string>& matrix_family_names();
std::string to_string(MatrixFamily family);
// Throws odyn::InvalidArgument for a name that is not a family.
MatrixFamily parse_matrix_family(const std::string& name);

// A rows x cols matrix of independent N(0, sd^2) entries, drawn in column-major order.
Eigen::MatrixXd gaussian_matrix(int rows, int cols, std::mt19937_64& rng, double sd = 1.0);

// A Haar-distributed random orthogonal n x n matrix (QR of a Gaussian matrix with the signs of R's
// diagonal absorbed into Q; Mezzadri, Notices AMS 54(5), 2007).
Eigen::MatrixXd random_orthogonal(int n, std::mt19937_64& rng);

// Draws an n x n matrix of `family`. Throws odyn::InvalidArgument if n < 1 or scale is not a
// finite non-negative number.
Eigen::MatrixXd make_test_matrix(MatrixFamily family, int n, std::mt19937_64& rng, double scale = 1.0);

}  // namespace odyn::linalg
