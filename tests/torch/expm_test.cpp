// odyn::torch::expm against odyn::linalg::expm in long double, slice by slice.
//
// Error model: both methods are backward stable in practice, exp(A + dA) with ||dA|| <= c n u ||A||
// (the truncation error is below u ||A|| by the choice of the thresholds; rounding in the
// polynomial and the squarings adds a few n u), so the relative forward error is at most about
// kappa(A) c n u, where kappa(A) = ||L(A)|| ||A|| / ||exp(A)|| is the relative condition number
// (Higham, Functions of Matrices, SIAM 2008, section 10.2). kappa is estimated from the Frechet
// derivative L(A, E_ij) on the unit matrices (a lower bound within a factor n of the 1-norm one),
// and the tests allow c = 50: the largest ratio of error to n u kappa seen here is below 5.
#include "odyn/torch/expm.hpp"

#include <gtest/gtest.h>

#include <Eigen/Core>
#include <Eigen/Eigenvalues>
#include <cmath>
#include <complex>
#include <random>
#include <string>
#include <vector>

#include "odyn/core/error.hpp"
#include "odyn/linalg/expm.hpp"

namespace {

using odyn::torch::ExpmMethod;
using LongMatrix = Eigen::Matrix<long double, Eigen::Dynamic, Eigen::Dynamic>;
using LongComplexMatrix = Eigen::Matrix<std::complex<long double>, Eigen::Dynamic, Eigen::Dynamic>;

constexpr ExpmMethod kMethods[] = {ExpmMethod::per_slice, ExpmMethod::batched};

std::string name(ExpmMethod m) {
  return m == ExpmMethod::per_slice ? "per_slice" : m == ExpmMethod::batched ? "batched" : "automatic";
}

double unit_roundoff(torch::ScalarType t) {
  return t == torch::kFloat || t == torch::kComplexFloat ? std::ldexp(1.0, -24) : std::ldexp(1.0, -53);
}

// Slice i of a [B, n, n] tensor as a long double (or complex) matrix.
template <class M>
M slice(const torch::Tensor& t, int64_t i) {
  const torch::Tensor s = t[i].to(torch::kCPU);
  const int64_t n = s.size(0);
  M m(n, n);
  if constexpr (std::is_same_v<M, LongComplexMatrix>) {
    const torch::Tensor c = s.to(torch::kComplexDouble).contiguous();
    const auto* p = c.data_ptr<c10::complex<double>>();
    for (int64_t r = 0; r < n; ++r)
      for (int64_t k = 0; k < n; ++k) m(r, k) = {p[r * n + k].real(), p[r * n + k].imag()};
  } else {
    const torch::Tensor d = s.to(torch::kDouble).contiguous();
    for (int64_t r = 0; r < n; ++r)
      for (int64_t k = 0; k < n; ++k) m(r, k) = d.data_ptr<double>()[r * n + k];
  }
  return m;
}

template <class M>
long double norm1(const M& m) {
  return m.cwiseAbs().colwise().sum().maxCoeff();
}

// kappa(A) from L(A, E_ij), the upper right block of exp([[A, E_ij], [0, A]]).
template <class M>
long double condition(const M& a) {
  const Eigen::Index n = a.rows();
  const long double exp_norm = norm1(M(odyn::linalg::expm(a)));
  long double frechet = 0;
  for (Eigen::Index i = 0; i < n; ++i) {
    for (Eigen::Index j = 0; j < n; ++j) {
      M big = M::Zero(2 * n, 2 * n);
      big.topLeftCorner(n, n) = a;
      big.bottomRightCorner(n, n) = a;
      big(i, n + j) = 1;
      const M e = odyn::linalg::expm(big);
      frechet = std::max(frechet, norm1(M(e.topRightCorner(n, n))));
    }
  }
  return frechet * norm1(a) / exp_norm;
}

// Checks every slice of expm(a) against the long double reference within 50 n u max(kappa, 1).
template <class M = LongMatrix>
void expect_accurate(const torch::Tensor& a, ExpmMethod method) {
  const torch::Tensor e = odyn::torch::expm(a, method);
  ASSERT_EQ(e.sizes(), a.sizes());
  ASSERT_EQ(e.scalar_type(), a.scalar_type());
  const int64_t n = a.size(-1);
  const torch::Tensor x = a.reshape({-1, n, n}), y = e.reshape({-1, n, n});
  const double u = unit_roundoff(a.scalar_type());
  for (int64_t i = 0; i < x.size(0); ++i) {
    const M ai = slice<M>(x, i);
    const M reference = odyn::linalg::expm(ai);
    const long double error = norm1(M(slice<M>(y, i) - reference)) / norm1(reference);
    const long double kappa = condition(ai);
    EXPECT_LE(error, 50 * n * u * std::max(kappa, 1.0L))
        << name(method) << " " << a.scalar_type() << " matrix " << i << " norm " << norm1(ai) << " kappa " << kappa;
  }
}

// n x n matrices with standard normal entries, each scaled to the given 1-norm.
torch::Tensor random_batch(const std::vector<double>& norms, int64_t n, torch::ScalarType type, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  torch::Tensor a = torch::empty({int64_t(norms.size()), n, n}, torch::kDouble);
  for (size_t i = 0; i < norms.size(); ++i) {
    Eigen::MatrixXd m(n, n);
    for (Eigen::Index k = 0; k < m.size(); ++k) m.data()[k] = normal(rng);
    m *= norms[i] / m.cwiseAbs().colwise().sum().maxCoeff();
    for (int64_t r = 0; r < n; ++r)
      for (int64_t c = 0; c < n; ++c) a[i][r][c] = m(r, c);
  }
  return a.to(type);
}

TEST(TorchExpm, MatchesEigenSliceBySlice) {
  for (const auto type : {torch::kFloat, torch::kDouble}) {
    for (const int64_t n : {2, 3, 4, 5, 8, 9, 12}) {
      const torch::Tensor a = random_batch({0.05, 0.5, 1, 3, 8}, n, type, 10 + n);
      for (const auto method : kMethods) expect_accurate(a, method);
    }
    const torch::Tensor b = random_batch({0.1, 0.3, 1, 2, 4, 6}, 3, type, 7).reshape({2, 3, 3, 3});
    for (const auto method : kMethods) expect_accurate(b, method);
  }
}

// The per-slice method is odyn::linalg::expm on each matrix, bit for bit.
TEST(TorchExpm, PerSliceIsLinalgExpm) {
  const torch::Tensor a = random_batch({0.5, 2, 7}, 4, torch::kDouble, 3);
  const torch::Tensor e = odyn::torch::expm(a, ExpmMethod::per_slice);
  for (int64_t i = 0; i < 3; ++i) {
    Eigen::Matrix4d m;
    for (int r = 0; r < 4; ++r)
      for (int c = 0; c < 4; ++c) m(r, c) = a[i][r][c].item<double>();
    const Eigen::Matrix4d x = odyn::linalg::expm(m);
    for (int r = 0; r < 4; ++r)
      for (int c = 0; c < 4; ++c) EXPECT_EQ(e[i][r][c].item<double>(), x(r, c));
  }
}

// Norms from 1e-3 to 1e3 in one shuffled batch: every scaling group, and the batched method's
// sorting and unsorting. Skew-symmetric matrices (exp orthogonal) keep exp finite at any norm.
TEST(TorchExpm, MixedNormsInOneBatch) {
  std::vector<double> norms;
  for (int k = 0; k <= 24; ++k) norms.push_back(std::pow(10.0, -3 + 0.25 * k));
  std::shuffle(norms.begin(), norms.end(), std::mt19937_64(5));
  for (const auto type : {torch::kFloat, torch::kDouble}) {
    const torch::Tensor g = random_batch(norms, 4, torch::kDouble, 11);
    const torch::Tensor skew = (g - g.transpose(1, 2)) * 0.5;
    const torch::Tensor a =
        (skew * (torch::tensor(norms, torch::kDouble) / skew.abs().sum(1).amax(1)).view({-1, 1, 1})).to(type);
    for (const auto method : kMethods) expect_accurate(a, method);
    // Non-normal ones up to norm 10 as well.
    std::vector<double> small(norms.begin(), norms.begin() + 12);
    for (double& v : small) v = std::min(v, 10.0);
    for (const auto method : kMethods) expect_accurate(random_batch(small, 4, type, 12), method);
  }
}

// Norms in every band of the Taylor degrees 1, 2, 4, 8, 12, 18 (double and float thresholds).
TEST(TorchExpm, EveryTaylorDegree) {
  const std::vector<double> norms = {1e-17, 1e-10, 1e-7, 1e-5, 1e-3, 1e-2, 0.2, 0.5, 1, 1.4, 2.5, 40};
  for (const auto type : {torch::kFloat, torch::kDouble}) {
    expect_accurate(random_batch(norms, 5, type, 13), ExpmMethod::batched);
  }
}

// The Taylor thresholds theta_m shared by odyn::linalg::expm and odyn::torch::expm, recomputed from
// the backward-error series for u = 2^-53 and 2^-24 (Bader, Blanes & Casas 2019 tabulate them).
TEST(TorchExpm, TaylorThresholds) {
  const double theta_double[] = {2.220446049250313e-16, 2.580956802971767e-08, 3.397168839976962e-04,
                                 4.991228871115323e-02, 2.996158913811580e-01, 1.090863719290036};
  const double theta_float[] = {1.192092800768788e-07, 5.978858893805233e-04, 5.116619363445086e-02,
                                5.800524627688768e-01, 1.461661507209034,     3.010066362817634};
  const auto& table_double = odyn::linalg::detail::FastTaylorTable<double>::get();
  const auto& table_float = odyn::linalg::detail::FastTaylorTable<float>::get();
  for (int j = 0; j < 6; ++j) {
    const int m = table_double.degrees[j];
    EXPECT_NEAR(table_double.theta[j], theta_double[j], 1e-15 * theta_double[j]) << "m = " << m;
    EXPECT_NEAR(table_float.theta[j], theta_float[j], 1e-7 * theta_float[j]) << "m = " << m;
  }
}

TEST(TorchExpm, OneByOne) {
  const torch::Tensor a = torch::tensor({-3.0, 0.0, 1e-9, 2.5}, torch::kDouble).reshape({4, 1, 1});
  for (const auto method : kMethods) {
    const torch::Tensor e = odyn::torch::expm(a, method);
    ASSERT_EQ(e.sizes(), a.sizes());
    for (int64_t i = 0; i < 4; ++i) EXPECT_DOUBLE_EQ(e[i][0][0].item<double>(), std::exp(a[i][0][0].item<double>()));
  }
  EXPECT_FLOAT_EQ(odyn::torch::expm(torch::full({1, 1}, 2.0f)).item<float>(), std::exp(2.0f));
}

TEST(TorchExpm, ZeroMatricesGiveIdentity) {
  for (const auto type : {torch::kFloat, torch::kDouble}) {
    const torch::Tensor a = torch::zeros({3, 5, 5}, type);
    for (const auto method : kMethods) {
      EXPECT_TRUE(torch::equal(odyn::torch::expm(a, method), torch::eye(5, type).expand({3, 5, 5})));
    }
  }
}

TEST(TorchExpm, NonContiguousInput) {
  const torch::Tensor base = random_batch({0.3, 1, 3, 5, 0.01, 2}, 3, torch::kDouble, 17);
  const torch::Tensor transposed = base.transpose(1, 2);     // strided matrices
  const torch::Tensor every_other = base.slice(0, 0, 6, 2);  // strided batch
  const torch::Tensor expanded = base[1].expand({4, 3, 3});  // zero batch stride
  for (const auto method : kMethods) {
    for (const auto& view : {transposed, every_other, expanded}) {
      ASSERT_FALSE(view.is_contiguous());
      EXPECT_TRUE(torch::equal(odyn::torch::expm(view, method), odyn::torch::expm(view.contiguous(), method)));
    }
    expect_accurate(transposed, method);
  }
}

// exp(t [[0, -1], [1, 0]]) is the rotation by t.
TEST(TorchExpm, Rotations) {
  const std::vector<double> angles = {1e-6, 0.1, 1, 3, 10, 100};
  torch::Tensor a = torch::zeros({int64_t(angles.size()), 2, 2}, torch::kDouble);
  for (size_t i = 0; i < angles.size(); ++i) {
    a[i][0][1] = -angles[i];
    a[i][1][0] = angles[i];
  }
  for (const auto method : kMethods) {
    const torch::Tensor e = odyn::torch::expm(a, method);
    for (size_t i = 0; i < angles.size(); ++i) {
      // kappa is about t for this normal matrix (n = 2).
      const double tol = 50 * 2 * std::ldexp(1.0, -53) * std::max(1.0, angles[i]);
      EXPECT_NEAR(e[i][0][0].item<double>(), std::cos(angles[i]), tol) << name(method);
      EXPECT_NEAR(e[i][1][0].item<double>(), std::sin(angles[i]), tol) << name(method);
      EXPECT_NEAR(e[i][0][1].item<double>(), -std::sin(angles[i]), tol) << name(method);
    }
  }
}

// A strictly upper triangular N (N^4 = 0): exp(N) = I + N + N^2/2 + N^3/6.
TEST(TorchExpm, Nilpotent) {
  const torch::Tensor n =
      torch::tensor({0.0, 2.0, -4.0, 8.0, 0.0, 0.0, 1.0, 0.5, 0.0, 0.0, 0.0, -2.0, 0.0, 0.0, 0.0, 0.0}, torch::kDouble)
          .reshape({4, 4}) *
      torch::tensor({1.0, 1e3}, torch::kDouble).view({2, 1, 1});
  const torch::Tensor n2 = torch::matmul(n, n);
  const torch::Tensor expected = torch::eye(4, torch::kDouble) + n + n2 / 2 + torch::matmul(n2, n) / 6;
  for (const auto method : kMethods) {
    const torch::Tensor e = odyn::torch::expm(n, method);
    const double scale = expected.abs().max().item<double>();
    EXPECT_LE((e - expected).abs().max().item<double>(), 1e-14 * scale) << name(method);
  }
}

// Al-Mohy & Higham 2009, section 1: A = [[1, b], [0, -1]], exp(A) = [[e, b sinh 1], [0, 1/e]]. The
// diagonal of exp(2^-s A) has a relative error near u, which the s squarings multiply by 2^s.
// Scaling by ||A||_1 = 1 + b would take s = ceil(log2((1 + b) / theta_18)); scaling by
// alpha(A) = max(||A^2||^(1/2), ||A^3||^(1/3)) = b^(1/3) takes s = 9 instead of 27 at b = 1e8. The
// per-slice method (Pade 13, Al-Mohy & Higham's own choice) needs fewer still.
TEST(TorchExpm, NonNormalWithoutOverscaling) {
  const double u = std::ldexp(1.0, -53);
  for (const double b : {1e2, 1e4, 1e6, 1e8}) {
    const torch::Tensor a = torch::tensor({1.0, b, 0.0, -1.0}, torch::kDouble).reshape({1, 2, 2});
    const double s = std::max(0.0, std::ceil(std::log2(std::cbrt(b) / 1.090863719290036)));
    const double tol = 4 * std::ldexp(u, int(s));
    for (const auto method : kMethods) {
      const torch::Tensor e = odyn::torch::expm(a, method);
      EXPECT_NEAR(e[0][0][0].item<double>() / std::exp(1.0), 1, tol) << name(method) << " b = " << b;
      EXPECT_NEAR(e[0][1][1].item<double>() * std::exp(1.0), 1, tol) << name(method) << " b = " << b;
      EXPECT_NEAR(e[0][0][1].item<double>() / (b * std::sinh(1.0)), 1, tol) << name(method) << " b = " << b;
      EXPECT_EQ(e[0][1][0].item<double>(), 0.0);
    }
  }
}

// The message of the odyn::Error that expm(a, method) throws, or "no error".
template <class E>
std::string error_of(const torch::Tensor& a, ExpmMethod method = ExpmMethod::automatic) {
  try {
    odyn::torch::expm(a, method);
  } catch (const E& e) {
    return e.what();
  }
  return "no error";
}

TEST(TorchExpm, ComplexMatchesEigen) {
  for (const auto type : {torch::kComplexFloat, torch::kComplexDouble}) {
    const torch::Tensor re = random_batch({0.2, 1, 4}, 3, torch::kDouble, 21);
    const torch::Tensor im = random_batch({0.5, 2, 3}, 3, torch::kDouble, 22);
    const torch::Tensor a = torch::complex(re, im).to(type);
    expect_accurate<LongComplexMatrix>(a, ExpmMethod::automatic);
    EXPECT_EQ(error_of<odyn::InvalidArgument>(a, ExpmMethod::per_slice),
              std::string("torch::expm: the per-slice method needs a real CPU tensor, got ") + c10::toString(type) +
                  " on cpu");
  }
}

TEST(TorchExpm, EmptyBatch) {
  for (const auto method : kMethods) {
    EXPECT_EQ(odyn::torch::expm(torch::zeros({0, 3, 3}), method).sizes(), (std::vector<int64_t>{0, 3, 3}));
    EXPECT_EQ(odyn::torch::expm(torch::zeros({2, 0, 0}), method).sizes(), (std::vector<int64_t>{2, 0, 0}));
  }
}

TEST(TorchExpm, RejectsBadInput) {
  using odyn::InvalidArgument;
  EXPECT_EQ(error_of<InvalidArgument>(torch::zeros({3})),
            "torch::expm: expected a tensor of shape [..., n, n], got rank 1");
  EXPECT_EQ(error_of<InvalidArgument>(torch::zeros({})),
            "torch::expm: expected a tensor of shape [..., n, n], got rank 0");
  EXPECT_EQ(error_of<InvalidArgument>(torch::zeros({4, 2, 3})), "torch::expm: expected square matrices, got 2x3");
  EXPECT_EQ(error_of<InvalidArgument>(torch::zeros({2, 2}, torch::kInt64)),
            "torch::expm: expected float32, float64, complex64 or complex128 entries, got Long");
  EXPECT_EQ(error_of<InvalidArgument>(torch::zeros({2, 2}, torch::kHalf)),
            "torch::expm: expected float32, float64, complex64 or complex128 entries, got Half");
  EXPECT_EQ(error_of<InvalidArgument>(torch::zeros({2, 2}, torch::requires_grad())),
            "torch::expm: no autograd support; use torch::linalg::matrix_exp for gradients");
  for (const double bad : {NAN, INFINITY}) {
    for (const auto method : kMethods) {
      torch::Tensor a = torch::zeros({2, 3, 4, 4}, torch::kDouble);
      a[1][2][3][0] = bad;
      EXPECT_EQ(error_of<InvalidArgument>(a, method), "torch::expm: matrix [1, 2] has a non-finite entry");
      torch::Tensor b = torch::zeros({3, 3});
      b[0][1] = bad;
      EXPECT_EQ(error_of<InvalidArgument>(b, method), "torch::expm: the matrix has a non-finite entry");
      EXPECT_EQ(error_of<InvalidArgument>(torch::full({2, 1, 1}, bad), method),
                "torch::expm: matrix [0] has a non-finite entry");
    }
  }
}

TEST(TorchExpm, Overflow) {
  for (const auto method : kMethods) {
    torch::Tensor a = torch::zeros({3, 3, 3}, torch::kDouble);
    a[2] = torch::eye(3, torch::kDouble) * 800;  // e^800 > 1.8e308
    EXPECT_EQ(error_of<odyn::OverflowError>(a, method), "torch::expm: exp of matrix [2] overflows Double");
    EXPECT_EQ(error_of<odyn::OverflowError>(torch::full({2, 2}, 60.0f), method),
              "torch::expm: exp of the matrix overflows Float");
    EXPECT_EQ(error_of<odyn::OverflowError>(torch::full({1, 1, 1}, 100.0f), method),
              "torch::expm: exp of matrix [0] overflows Float");
  }
}

// Large non-normal matrices with exp(A) of moderate size: A = M - Re(lambda_max(M)) I puts the
// rightmost eigenvalue on the imaginary axis, so exp(A) neither overflows nor underflows.
TEST(TorchExpm, LargeNorms) {
  torch::Tensor a = random_batch({30, 300, 3000}, 4, torch::kDouble, 23);
  for (int64_t i = 0; i < a.size(0); ++i) {
    const double shift =
        Eigen::EigenSolver<Eigen::MatrixXd>(slice<LongMatrix>(a, i).cast<double>()).eigenvalues().real().maxCoeff();
    a[i] -= shift * torch::eye(4, torch::kDouble);
  }
  for (const auto type : {torch::kFloat, torch::kDouble}) {
    for (const auto method : kMethods) expect_accurate(a.to(type), method);
  }
}

// Runs where LibTorch sees a CUDA device (scripts/gpu-run.sh); skipped on CPU-only machines.
TEST(TorchExpm, CudaMatchesEigen) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  std::vector<double> norms;
  for (int k = 0; k <= 20; ++k) norms.push_back(std::pow(10.0, -3 + 0.2 * k));
  const bool tf32 = at::globalContext().allowTF32CuBLAS();
  at::globalContext().setAllowTF32CuBLAS(true);  // expm must not use it
  for (const auto type : {torch::kFloat, torch::kDouble}) {
    const torch::Tensor a = random_batch(norms, 6, type, 31).to(torch::kCUDA);
    const torch::Tensor e = odyn::torch::expm(a);
    EXPECT_TRUE(e.is_cuda());
    expect_accurate(a, ExpmMethod::batched);
    EXPECT_THROW(odyn::torch::expm(a, ExpmMethod::per_slice), odyn::InvalidArgument);
  }
  at::globalContext().setAllowTF32CuBLAS(tf32);
}

}  // namespace
