#include "odyn/linalg/test_matrices.hpp"

#include <gtest/gtest.h>

#include <Eigen/Eigenvalues>

#include "odyn/core/error.hpp"
#include "odyn/linalg/expm.hpp"

using Eigen::MatrixXd;
using odyn::linalg::make_test_matrix;
using odyn::linalg::MatrixFamily;

TEST(TestMatrices, NamesRoundTripAndUnknownNamesAreRejected) {
  for (const auto& name : odyn::linalg::matrix_family_names()) {
    EXPECT_EQ(odyn::linalg::to_string(odyn::linalg::parse_matrix_family(name)), name);
  }
  try {
    odyn::linalg::parse_matrix_family("hermitian");
    FAIL();
  } catch (const odyn::InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("expected one of: random, normal, nilpotent, jordan, rotation"),
              std::string::npos);
  }
}

TEST(TestMatrices, SameSeedSameMatrix) {
  std::mt19937_64 a(5), b(5);
  EXPECT_EQ(make_test_matrix(MatrixFamily::jordan, 7, a), make_test_matrix(MatrixFamily::jordan, 7, b));
}

TEST(TestMatrices, RandomOrthogonal) {
  std::mt19937_64 rng(1);
  const MatrixXd q = odyn::linalg::random_orthogonal(6, rng);
  EXPECT_LE((q.transpose() * q - MatrixXd::Identity(6, 6)).cwiseAbs().maxCoeff(), 1e-14);
}

// Circular law: the eigenvalues of G / sqrt(n) fill the unit disc, so the spectral radius of the
// random family is close to `scale` for large n (within 15% at n = 300).
TEST(TestMatrices, RandomFamilySpectralRadius) {
  std::mt19937_64 rng(2);
  const MatrixXd a = make_test_matrix(MatrixFamily::random, 300, rng, 2.0);
  const double radius = Eigen::EigenSolver<MatrixXd>(a, false).eigenvalues().cwiseAbs().maxCoeff();
  EXPECT_NEAR(radius, 2.0, 0.3);
}

TEST(TestMatrices, StructureOfEachFamily) {
  std::mt19937_64 rng(3);
  const int n = 9;
  const MatrixXd normal = make_test_matrix(MatrixFamily::normal, n, rng);
  EXPECT_LE((normal * normal.transpose() - normal.transpose() * normal).cwiseAbs().maxCoeff(), 1e-13);

  const MatrixXd nil = make_test_matrix(MatrixFamily::nilpotent, n, rng, 1.0);
  MatrixXd power = MatrixXd::Identity(n, n);
  for (int k = 0; k < n; ++k) power = power * nil;
  EXPECT_LE(power.cwiseAbs().maxCoeff(), 1e-13);
  EXPECT_NEAR(nil.trace(), 0.0, 1e-14);

  const MatrixXd rot = make_test_matrix(MatrixFamily::rotation, n, rng);
  EXPECT_EQ(rot, -rot.transpose());
  const MatrixXd r = odyn::linalg::expm(rot);
  EXPECT_LE((r.transpose() * r - MatrixXd::Identity(n, n)).cwiseAbs().maxCoeff(), 1e-13);

  // Jordan family: Q J Q^T with blocks of size <= 4; (A - l I)^4 vanishes on each block, so the
  // minimal polynomial has repeated roots whenever a block is larger than 1. Check that some
  // eigenvalue is defective: A - l I has rank > n - (algebraic multiplicity).
  std::mt19937_64 seeded(11);
  const MatrixXd j = make_test_matrix(MatrixFamily::jordan, 12, seeded);
  Eigen::FullPivLU<MatrixXd> lu(j);
  EXPECT_EQ(lu.rank(), 12);  // eigenvalues are nonzero almost surely
  const Eigen::VectorXcd ev = Eigen::EigenSolver<MatrixXd>(j, false).eigenvalues();
  int defective = 0;
  for (Eigen::Index i = 0; i < ev.size(); ++i) {
    int close = 0;
    for (Eigen::Index k = 0; k < ev.size(); ++k) close += std::abs(ev(k) - ev(i)) < 1e-3;
    if (close > 1) {
      Eigen::FullPivLU<MatrixXd> shifted(j - ev(i).real() * MatrixXd::Identity(12, 12));
      shifted.setThreshold(1e-6);
      defective += 12 - shifted.rank() < close;  // geometric < algebraic multiplicity
    }
  }
  EXPECT_GT(defective, 0);
}

TEST(TestMatrices, RejectsBadArguments) {
  std::mt19937_64 rng(4);
  EXPECT_THROW(make_test_matrix(MatrixFamily::random, 0, rng), odyn::InvalidArgument);
  EXPECT_THROW(make_test_matrix(MatrixFamily::random, 3, rng, -1.0), odyn::InvalidArgument);
  EXPECT_THROW(make_test_matrix(MatrixFamily::random, 3, rng, std::nan("")), odyn::InvalidArgument);
}
