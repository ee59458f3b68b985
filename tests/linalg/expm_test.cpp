// odyn::linalg::expm, expm_frechet, expm_cond and expm_multiply: closed forms, generic scalars,
// 50-digit references, forward-mode derivatives and bad input.
#include "odyn/config.hpp"
#if ODYN_HAVE_CERES
#include <ceres/jet.h>
#endif
#include <gtest/gtest.h>

#include <Eigen/SparseCore>
#include <cmath>
#include <complex>
#include <random>
#include <vector>
#include <unsupported/Eigen/MatrixFunctions>

#include "odyn/core/error.hpp"
#include "odyn/linalg/expm.hpp"
#include "odyn/linalg/expm_multiply.hpp"
#include "odyn/linalg/test_matrices.hpp"

namespace {

using odyn::mp50;
using odyn::linalg::expm;
using odyn::linalg::expm_frechet;
using odyn::linalg::ExpmStats;
using MatrixMp = Eigen::Matrix<mp50, Eigen::Dynamic, Eigen::Dynamic>;
constexpr double u = 0x1p-53;

template <class Derived, class Other>
double rel_error_1(const Eigen::MatrixBase<Derived>& x, const Eigen::MatrixBase<Other>& ref) {
  return static_cast<double>((x - ref).cwiseAbs().colwise().sum().maxCoeff() /
                             ref.cwiseAbs().colwise().sum().maxCoeff());
}

Eigen::MatrixXd reference_exp(const Eigen::MatrixXd& a) {  // 50 digits, rounded to double
  return expm(MatrixMp(a.cast<mp50>())).cast<double>();
}

TEST(Expm, ThresholdsReproducePublishedTables) {
  using odyn::linalg::detail::Approximant;
  using odyn::linalg::detail::backward_error_theta;
  // Higham 2005, Table 2.3 (double)
  const int m[] = {3, 5, 7, 9, 13};
  const double theta[] = {1.495585217958292e-2, 2.539398330063230e-1, 9.504178996162932e-1, 2.097847961257068,
                          5.371920351148152};
  for (int i = 0; i < 5; ++i)
    EXPECT_NEAR(static_cast<double>(backward_error_theta(Approximant::pade, m[i], mp50(u))), theta[i], 2e-15 * theta[i])
        << "m = " << m[i];
  // Single precision, as tabulated in Eigen's MatrixExponential (which agrees to 7 digits)
  const double theta_float[] = {4.258730016922831e-1, 1.880152677804762, 3.925724783138660};
  for (int i = 0; i < 3; ++i)
    EXPECT_NEAR(static_cast<double>(backward_error_theta(Approximant::pade, m[i], mp50(0x1p-24))), theta_float[i],
                1e-7 * theta_float[i]);
  // Truncated Taylor (Al-Mohy & Higham 2011; also torch.linalg.matrix_exp's degrees 1 and 2)
  EXPECT_NEAR(static_cast<double>(backward_error_theta(Approximant::taylor, 1, mp50(u))), 2.220446049250313e-16,
              1e-14 * 2.220446049250313e-16);
  EXPECT_NEAR(static_cast<double>(backward_error_theta(Approximant::taylor, 2, mp50(u))), 2.580956802971767e-08,
              1e-14 * 2.580956802971767e-08);
}

TEST(Expm, ProductCountsMatchHigham2005) {
  const int m[] = {3, 5, 7, 9, 13};
  const int products[] = {2, 3, 4, 5, 6};
  for (int i = 0; i < 5; ++i) EXPECT_EQ(odyn::linalg::detail::pade_products(m[i]), products[i]);
}

// The Bader-Blanes-Casas evaluation is the Taylor polynomial: in 50-digit arithmetic with the
// coefficients as stored (double), T_m(A) - I agrees with sum_{1<=k<=m} A^k / k! to a few units of
// double rounding, with the stated number of products.
TEST(Expm, TaylorEvaluationIsTheTaylorPolynomial) {
  struct Ops {
    mutable int products = 0;
    MatrixMp lin(double c0, std::initializer_list<std::pair<const MatrixMp*, double>> terms) const {
      MatrixMp r = MatrixMp::Identity(terms.begin()->first->rows(), terms.begin()->first->cols()) * mp50(c0);
      for (const auto& t : terms) r += *t.first * mp50(t.second);
      return r;
    }
    MatrixMp mul(const MatrixMp& x, const MatrixMp& y) const {
      ++products;
      return x * y;
    }
    void mul_add(MatrixMp& r, const MatrixMp& x, const MatrixMp& y) const { r += mul(x, y); }
  };
  std::mt19937_64 rng(21);
  Eigen::MatrixXd g = odyn::linalg::gaussian_matrix(5, 5, rng);
  const MatrixMp a = (g / g.cwiseAbs().colwise().sum().maxCoeff()).cast<mp50>();  // ||A||_1 = 1
  const MatrixMp a2 = a * a, a3 = a2 * a;
  for (int m : odyn::linalg::detail::FastTaylorTable<double>::degrees) {
    const Ops ops;
    const MatrixMp tail = odyn::linalg::detail::taylor_tail(m, a, a2, a3, ops);
    MatrixMp want = MatrixMp::Zero(5, 5), term = MatrixMp::Identity(5, 5);
    for (int k = 1; k <= m; ++k) {
      term = term * a / mp50(k);
      want += term;
    }
    EXPECT_LT(rel_error_1(tail, want), 4 * u) << "m = " << m;
    EXPECT_EQ(ops.products + (m >= 2) + (m >= 12), odyn::linalg::detail::taylor_products(m)) << "m = " << m;
  }
}

// ||A||_1 <= theta_18: exp(A) = T_m(A), no scaling and no solve, as accurate as the Pade route
// (errors of a few u), with m the smallest degree with ||A||_1 <= theta_m for matrices on the stack
// (n <= 8) and no larger than it from n = 9 on (TaylorDegreeFromNormsOfPowers); above theta_18 the
// Pade route.
TEST(Expm, TaylorPathBelowTheta18) {
  const auto& table = odyn::linalg::detail::FastTaylorTable<double>::get();
  std::mt19937_64 rng(22);
  for (std::size_t i = 0; i < table.degrees.size(); ++i) {
    for (int n : {3, 9}) {
      Eigen::MatrixXd a = odyn::linalg::gaussian_matrix(n, n, rng);
      a *= 0.9 * table.theta[i] / a.cwiseAbs().colwise().sum().maxCoeff();
      ExpmStats st;
      const Eigen::MatrixXd x = expm(a, &st);
      EXPECT_TRUE(st.taylor);
      if (n <= 8) {
        EXPECT_EQ(st.degree, table.degrees[i]);
      } else {
        EXPECT_LE(st.degree, table.degrees[i]);
      }
      EXPECT_EQ(st.squarings, 0);
      EXPECT_EQ(st.solves, 0);
      EXPECT_EQ(st.products, odyn::linalg::detail::taylor_products(st.degree));
      EXPECT_LT(rel_error_1(x, reference_exp(a)), 4 * n * u) << "m = " << st.degree << ", n = " << n;
    }
  }
  Eigen::MatrixXd a = odyn::linalg::gaussian_matrix(6, 6, rng);
  a *= 1.01 * table.theta.back() / a.cwiseAbs().colwise().sum().maxCoeff();
  ExpmStats st;
  expm(a, &st);
  EXPECT_FALSE(st.taylor);
  EXPECT_EQ(st.solves, 1);
  // float has its own thresholds (theta_18 = 3.01)
  Eigen::MatrixXf f = odyn::linalg::gaussian_matrix(6, 6, rng).cast<float>();
  f *= 2.9f / f.cwiseAbs().colwise().sum().maxCoeff();
  const Eigen::MatrixXf xf = expm(f, &st);
  EXPECT_TRUE(st.taylor);
  EXPECT_EQ(st.degree, 18);
  EXPECT_LT(rel_error_1(xf.cast<double>(), reference_exp(f.cast<double>())), 4 * 6 * 0x1p-24);
  // Upper-triangular input keeps its exact diagonal
  Eigen::MatrixXd t = Eigen::MatrixXd(odyn::linalg::gaussian_matrix(5, 5, rng).triangularView<Eigen::Upper>());
  t *= 0.5 / t.cwiseAbs().colwise().sum().maxCoeff();
  const Eigen::MatrixXd xt = expm(t, &st);
  EXPECT_TRUE(st.taylor);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(xt(i, i), std::exp(t(i, i)));
}

// For n > 8 the Taylor degree comes from alpha_2 = max(||A^2||_1^{1/2}, ||A^3||_1^{1/3}) where that
// is below ||A||_1: a 9 x 9 cyclic shift c P has ||(cP)^k||_1 = c^k, so alpha_2 = ||A||_1 and the degree is
// the smallest with ||A||_1 <= theta_m; a small matrix plus one large entry above the diagonal (its
// square is small) takes degree 12 at ||A||_1 = 1, where the 1-norm alone asks for 18.
TEST(Expm, TaylorDegreeFromNormsOfPowers) {
  const auto& table = odyn::linalg::detail::FastTaylorTable<double>::get();
  Eigen::MatrixXd shift = Eigen::MatrixXd::Zero(9, 9);
  for (int i = 0; i < 9; ++i) shift((i + 1) % 9, i) = 1;
  for (std::size_t i = 2; i < table.degrees.size(); ++i) {
    const Eigen::MatrixXd a = 0.9 * table.theta[i] * shift;
    ExpmStats st;
    const Eigen::MatrixXd x = expm(a, &st);
    EXPECT_EQ(st.degree, table.degrees[i]);
    EXPECT_LT(rel_error_1(x, reference_exp(a)), 4 * 9 * u) << "m = " << st.degree;
  }
  std::mt19937_64 rng(23);
  for (int n : {9, 40}) {
    Eigen::MatrixXd a = odyn::linalg::gaussian_matrix(n, n, rng);
    a *= 1e-3 / a.cwiseAbs().colwise().sum().maxCoeff();
    a(0, n - 1) = 1;
    ExpmStats st;
    const Eigen::MatrixXd x = expm(a, &st);
    EXPECT_TRUE(st.taylor);
    EXPECT_EQ(st.degree, 12) << "n = " << n;
    EXPECT_EQ(st.products, odyn::linalg::detail::taylor_products(12));
    EXPECT_LT(rel_error_1(x, reference_exp(a)), 4 * n * u) << "n = " << n;
  }
}

// Higham 2005's integer coefficients (m = 3: 120, 60, 12, 1; m = 13: b_0 = 64764752532480000,
// b_13 = 1), exact in double, and Al-Mohy & Higham 2009's |c_{2m+1}|.
TEST(Expm, PadeCoefficientsAndLeadingErrorTerms) {
  const auto& table = odyn::linalg::detail::PadeTable<double>::get();
  EXPECT_EQ(table.coefficients_of(3), (std::vector<double>{120, 60, 12, 1}));
  EXPECT_EQ(table.coefficients_of(13)[0], 64764752532480000.0);
  EXPECT_EQ(table.coefficients_of(13)[1], 32382376266240000.0);
  EXPECT_EQ(table.coefficients_of(13)[12], 182.0);
  EXPECT_EQ(table.coefficients_of(13)[13], 1.0);
  EXPECT_DOUBLE_EQ(table.c_lead[0], 1.0 / 100800);
  EXPECT_DOUBLE_EQ(table.c_lead[1], 1.0 / 10059033600);
  EXPECT_DOUBLE_EQ(table.c_lead[4], 1 / 1.1325077560602111e35);
}

TEST(Expm, ZeroEmptyAndScalar) {
  ExpmStats st;
  EXPECT_TRUE(expm(Eigen::MatrixXd::Zero(4, 4), &st).isIdentity(0));
  EXPECT_EQ(st.degree, 0);
  EXPECT_EQ(expm(Eigen::MatrixXd(0, 0)).size(), 0);
  for (double x : {-30.0, -1.0, 1e-8, 0.5, 3.0, 50.0}) {
    Eigen::MatrixXd a(1, 1);
    a << x;
    EXPECT_EQ(expm(a)(0, 0), std::exp(x)) << x;  // triangular: the diagonal is recomputed exactly
  }
}

TEST(Expm, ClosedForms) {
  // A^2 = A: exp A = I + (e - 1) A (Su's example)
  Eigen::Matrix2d idem;
  idem << 1, 0, 1, 0;
  Eigen::Matrix2d want;
  want << std::exp(1.0), 0, std::exp(1.0) - 1, 1;
  EXPECT_LT((expm(idem) - want).cwiseAbs().maxCoeff(), 4 * u * 3);
  // Rotations, including the large-norm [[0, 1e4], [-1e4, 0]] whose exp is bounded; the error is
  // that of reducing the angle mod 2 pi, relative condition ~ |alpha|
  for (double alpha : {0.1, 1.0, 3.0, 100.0, 1e4}) {
    Eigen::Matrix2d s;
    s << 0, alpha, -alpha, 0;
    Eigen::Matrix2d r;
    r << std::cos(alpha), std::sin(alpha), -std::sin(alpha), std::cos(alpha);
    EXPECT_LT((expm(s) - r).cwiseAbs().maxCoeff(), 20 * u * std::max(1.0, alpha)) << alpha;
  }
  // Nilpotent: the series stops
  Eigen::Matrix3d n;
  n << 0, 2, 3, 0, 0, 5, 0, 0, 0;
  Eigen::Matrix3d en = Eigen::Matrix3d::Identity() + n + n * n / 2;
  EXPECT_LT((expm(n) - en).cwiseAbs().maxCoeff(), 8 * u * en.cwiseAbs().maxCoeff());
  // Symmetric: Q diag(e^lambda) Q^T
  std::mt19937_64 rng(7);
  const Eigen::MatrixXd g = odyn::linalg::gaussian_matrix(6, 6, rng);
  const Eigen::MatrixXd sym = (g + g.transpose()) / 2;
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(sym);
  const Eigen::MatrixXd want_sym =
      es.eigenvectors() * es.eigenvalues().array().exp().matrix().asDiagonal() * es.eigenvectors().transpose();
  EXPECT_LT(rel_error_1(expm(sym), want_sym), 1e-13);
}

// exp(A) by its Taylor series in 50 digits (A / 2^s with ||A / 2^s||_1 <= 2^-10, 30 terms, s
// squarings): independent of every route of expm.
MatrixMp taylor_reference(const MatrixMp& a) {
  int s = 0;
  const mp50 norm = a.cwiseAbs().colwise().sum().maxCoeff();
  while (norm > ldexp(mp50(1), s - 10)) ++s;
  const MatrixMp as = a * ldexp(mp50(1), -s);
  MatrixMp term = MatrixMp::Identity(a.rows(), a.cols()), x = term;
  for (int k = 1; k <= 30; ++k) {
    term = MatrixMp(term * as) / mp50(k);
    x += term;
  }
  for (int i = 0; i < s; ++i) x = MatrixMp(x * x);
  return x;
}

// The 2 x 2 closed form e^mu (cosh(delta) I + sinh(delta)/delta (A - mu I)) against the Taylor
// series, with delta^2 = alpha^2 + bc positive, negative, complex and cancelling to nearly zero.
// Its error is a few u relative to ||exp(A)||_1 times 1 + |mu| + |Re delta|, the amplification of
// the rounding of the exponents mu +- delta: a few u even where the condition number of exp is
// large (rotations by 1e4: cond ~ 1e4).
TEST(Expm, TwoByTwoClosedForm) {
  const double cases[][4] = {{0, 1e4, -1e4, 0},                 // rotation, delta^2 = -1e8
                             {0, 1, -39, -40},                  // Laub: delta = 19
                             {0, 5, 5, 0},                      // hyperbolic rotation
                             {1, 1, -1, -1},                    // nilpotent part: delta = 0
                             {1 + 1e-9, 1, -1, -1},             // delta^2 = 1e-9 + 2.5e-19: bc cancels alpha^2
                             {3, 1e8, -1e-8 * (1 - 1e-12), 3},  // delta^2 ~ -1e-12 next to bc = -1
                             {-50, 3e3, -2e-3, 10},             // large spread of the diagonal
                             {700, 1e-300, 1e-300, -800},       // e^mu cosh(delta) overflows, exp(A) does not
                             {0.3, -0.2, 0.7, 0.1}};
  for (const auto& c : cases) {
    Eigen::Matrix2d a;
    a << c[0], c[1], c[2], c[3];
    ExpmStats st;
    const Eigen::Matrix2d x = expm(a, &st);
    EXPECT_EQ(st.degree, 0);
    EXPECT_EQ(st.products, 0);
    const MatrixMp ref = taylor_reference(MatrixMp(a.cast<mp50>()));
    const double mu = (c[0] + c[3]) / 2, alpha = (c[0] - c[3]) / 2;
    const double re_delta = std::sqrt(std::max(0.0, alpha * alpha + c[1] * c[2]));
    EXPECT_LT(rel_error_1(x.cast<mp50>(), ref), 8 * u * (1 + std::abs(mu) + re_delta)) << a;
  }
  // complex, and float
  Eigen::Matrix2cd z;
  z << std::complex<double>(0.5, 2), std::complex<double>(-1, 0.3), std::complex<double>(3, -1),
      std::complex<double>(-0.2, -0.4);
  const Eigen::Matrix2cd xz = expm(z);
  const MatrixMp re = z.real().cast<mp50>(), im = z.imag().cast<mp50>();
  MatrixMp block(4, 4);  // [[Re, -Im], [Im, Re]] represents the complex matrix
  block << re, -im, im, re;
  const MatrixMp rb = taylor_reference(block);
  const Eigen::MatrixXd want_re = rb.topLeftCorner(2, 2).cast<double>(),
                        want_im = rb.bottomLeftCorner(2, 2).cast<double>();
  const Eigen::Matrix2cd want = want_re.cast<std::complex<double>>() + std::complex<double>(0, 1) * want_im;
  EXPECT_LT((xz - want).norm() / want.norm(), 8 * u);
  Eigen::Matrix2f f;
  f << 0.5f, 2.f, -1.f, -0.25f;
  EXPECT_LT(rel_error_1(expm(f).cast<mp50>(), taylor_reference(MatrixMp(f.cast<double>().cast<mp50>()))), 8 * 0x1p-24);
}

// Diagonal matrices in closed form; lower-triangular ones as transposed upper-triangular (exact
// diagonal and subdiagonal); symmetric ones through their eigendecomposition.
TEST(Expm, StructuredMatrices) {
  ExpmStats st;
  const Eigen::Vector3d d(-3, 0.5, 20);
  const Eigen::Matrix3d xd = expm(Eigen::Matrix3d(d.asDiagonal()), &st);
  EXPECT_EQ(st.products, 0);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(xd(i, i), std::exp(d(i)));
  EXPECT_EQ(xd.norm() - xd.diagonal().norm(), 0.0);
  // Lower Pascal matrix: ones on the diagonal, exp(P) has e on its diagonal
  Eigen::MatrixXd pascal = Eigen::MatrixXd::Zero(7, 7);
  for (int i = 0; i < 7; ++i)
    for (int j = 0; j <= i; ++j) pascal(i, j) = j == 0 || j == i ? 1 : pascal(i - 1, j - 1) + pascal(i - 1, j);
  const Eigen::MatrixXd xp = expm(pascal, &st);
  EXPECT_GT(st.squarings, 0);
  for (int i = 0; i < 7; ++i) EXPECT_EQ(xp(i, i), std::exp(1.0));
  for (int i = 0; i + 1 < 7; ++i) EXPECT_NEAR(xp(i + 1, i), (i + 1) * std::exp(1.0), 4 * u * (i + 1) * std::exp(1.0));
  EXPECT_TRUE(xp.triangularView<Eigen::StrictlyUpper>().toDenseMatrix().isZero(0));
  EXPECT_LT(rel_error_1(xp.cast<mp50>(), taylor_reference(MatrixMp(pascal.cast<mp50>()))), 4 * u);
  // Symmetric with eigenvalues up to ~40 (Ward's test 2): through the eigendecomposition
  Eigen::Matrix3d w;
  w << 29.87942128909879, 0.78157508479071591, -2.2895193140339321, 0.78157508479071591, 25.726569455710639,
      8.6807378205401378, -2.2895193140339321, 8.6807378205401378, 34.394009255190539;
  const Eigen::Matrix3d xw = expm(w, &st);
  EXPECT_EQ(st.degree, 0);
  EXPECT_LT(rel_error_1(xw.cast<mp50>(), taylor_reference(MatrixMp(w.cast<mp50>()))), 4 * 40 * u);
}

// Hermitian A = Q diag(lambda) Q^*: an eigensolver's lambda_max is off by about u ||A||_2, a relative
// error u ||A||_2 in e^lambda_max. expm corrects the dominant eigenvalues by their Rayleigh
// quotients in the next wider type, which leaves the error of the eigenvectors, of order
// (n + ||A||_2 / gap) u with gap = lambda_1 - lambda_2, and of the final product.
TEST(Expm, HermitianMatricesAreAccurateAtLargeNorm) {
  const bool wider = std::numeric_limits<long double>::digits > std::numeric_limits<double>::digits;
  const auto bound = [&](const auto& a) {
    Eigen::VectorXd lambda = Eigen::SelfAdjointEigenSolver<std::decay_t<decltype(a)>>(a).eigenvalues();
    const double norm2 = lambda.cwiseAbs().maxCoeff(), n = static_cast<double>(a.rows());
    const double gap = lambda(lambda.size() - 1) - lambda(lambda.size() - 2);
    return wider ? 4 * (n + norm2 / gap) * u : 4 * (n + norm2) * u;
  };
  // The symmetric Pascal matrix of order 6, lambda_max = 461.2 (u ||A||_2 = 5.1e-14)
  Eigen::MatrixXd pascal(6, 6);
  for (int i = 0; i < 6; ++i)
    for (int j = 0; j < 6; ++j) pascal(i, j) = i == 0 || j == 0 ? 1 : pascal(i - 1, j) + pascal(i, j - 1);
  EXPECT_LT(rel_error_1(expm(pascal).cast<mp50>(), taylor_reference(MatrixMp(pascal.cast<mp50>()))), bound(pascal));
  std::mt19937_64 rng(21);
  for (double scale : {30.0, 300.0}) {
    const Eigen::MatrixXd g = odyn::linalg::gaussian_matrix(8, 8, rng);
    Eigen::MatrixXd sym = g + g.transpose();
    sym *= scale / Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(sym).eigenvalues().cwiseAbs().maxCoeff();
    EXPECT_LT(rel_error_1(expm(sym).cast<mp50>(), taylor_reference(MatrixMp(sym.cast<mp50>()))), bound(sym)) << scale;
    // Complex Hermitian H = S + iK: exp(H) from the real embedding [[S, -K], [K, S]] = exp([[Re, -Im], [Im, Re]])
    const Eigen::MatrixXd k0 = odyn::linalg::gaussian_matrix(6, 6, rng), s0 = odyn::linalg::gaussian_matrix(6, 6, rng);
    Eigen::MatrixXcd h(6, 6);
    h.real() = s0 + s0.transpose();
    h.imag() = k0 - k0.transpose();
    h *= scale / Eigen::SelfAdjointEigenSolver<Eigen::MatrixXcd>(h).eigenvalues().cwiseAbs().maxCoeff();
    Eigen::MatrixXd embed(12, 12);
    embed << h.real(), -h.imag(), h.imag(), h.real();
    const MatrixMp ref = taylor_reference(MatrixMp(embed.cast<mp50>()));
    const Eigen::MatrixXcd x = expm(h);
    Eigen::MatrixXd x_embed(12, 12);
    x_embed << x.real(), -x.imag(), x.imag(), x.real();
    EXPECT_LT(rel_error_1(x_embed.cast<mp50>(), ref), 2 * bound(h)) << scale;  // 1-norm of the embedding: <= 2x
  }
}

// The ell correction reads ||B^k||_1 (B = |A| / ||A||_1) from a chain of products of a vector that
// stops once an upper and a lower bound give the same ell. The ell it yields equals the ell of the
// exact norm (from B^k formed in long double) for positive, sparse, reducible and nilpotent B, and on
// positive B the chains take a small part of their k steps in all.
TEST(Expm, EllChainGivesTheExactEll) {
  using odyn::linalg::detail::log2_norm1_normalised_power;
  using Mat = Eigen::MatrixXd;
  using MatL = Eigen::Matrix<long double, Eigen::Dynamic, Eigen::Dynamic>;
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> unif(0, 1);
  std::vector<std::pair<Mat, bool>> cases;  // (B, whether every entry is positive)
  for (int n : {3, 8, 20, 40}) {
    Mat dense(n, n), sparse(n, n), upper(n, n), shift = Mat::Zero(n, n);
    for (int j = 0; j < n; ++j)
      for (int i = 0; i < n; ++i) {
        dense(i, j) = unif(rng) + 0.01;
        sparse(i, j) = unif(rng) < 0.2 ? unif(rng) : 0.0;
        upper(i, j) = i <= j ? unif(rng) : 0.0;
      }
    for (int i = 0; i + 1 < n; ++i) shift(i, i + 1) = unif(rng) + 0.5;  // nilpotent
    sparse.diagonal().array() += 0.1;
    cases.push_back({dense, true});
    cases.push_back({sparse, false});
    cases.push_back({upper, false});
    cases.push_back({shift, false});
  }
  int compared = 0;
  long steps_positive = 0, k_positive = 0;  // enough() is called once per step and once before the first
  for (auto& [b, positive] : cases) {
    b /= b.cwiseAbs().colwise().sum().maxCoeff();
    const Mat bt = b.transpose();
    for (int m : {3, 9, 13, 30}) {
      const int k = 2 * m + 1;
      MatL power = MatL::Identity(b.rows(), b.cols());
      for (int i = 0; i < k; ++i) power = power * b.cast<long double>();
      const long double exact_norm = power.cwiseAbs().colwise().sum().maxCoeff();
      const double exact = exact_norm > 0 ? static_cast<double>(std::log2(exact_norm)) : -INFINITY;
      for (int trial = 0; trial < 20; ++trial) {
        const double excess = 2.0 * m * 6 * unif(rng) - 1;  // ell from 0 to about 6
        const auto ell_from = [&](double log2_power) {
          const double x = (excess + log2_power) / (2.0 * m);
          return x > 0 ? static_cast<int>(std::ceil(x)) : 0;
        };
        int steps = 0;
        const double bound = log2_norm1_normalised_power(bt, k, [&](double lower, double upper) {
          EXPECT_LE(lower, exact + 1e-9);
          EXPECT_GE(upper, exact - 1e-9);
          ++steps;
          return ell_from(lower) == ell_from(upper);
        });
        EXPECT_EQ(ell_from(bound), ell_from(exact)) << "n = " << b.rows() << ", k = " << k;
        if (positive) steps_positive += steps, k_positive += k;
        ++compared;
      }
    }
  }
  EXPECT_EQ(compared, 16 * 4 * 20);
  // Measured: 1277 calls for 9120 steps of the full chains (14%); near an ell boundary a chain runs to the end.
  EXPECT_LT(steps_positive, k_positive / 4);
}

// Moler's badly scaled example: ||A||_1 ~ 2e10 but ||A^k||^{1/k} falls fast. The product-free
// upper bounds on ||A^8||, ||A^10|| alone ask for 11 squarings; the exact norms, formed only
// because lower bounds allow fewer, give Al-Mohy & Higham's choice of 8.
TEST(Expm, MolerExampleNeedsNoExtraSquarings) {
  Eigen::Matrix3d a;
  a << 0, 1e-8, 0, -(2e10 + 4e8 / 6), -3, 2e10, 200.0 / 3, 0, -200.0 / 3;
  ExpmStats st;
  const Eigen::Matrix3d x = expm(a, &st);
  EXPECT_EQ(st.degree, 13);
  EXPECT_EQ(st.squarings, 8);
  EXPECT_LT(rel_error_1(x.cast<mp50>(), taylor_reference(MatrixMp(a.cast<mp50>()))), 1e-11);
}

// Al-Mohy & Higham 2009, Section 1: Higham 2005's scaling overscales [[1, b], [0, -1]] as b
// grows; the exact recomputation of the diagonal and superdiagonal keeps every entry exact.
TEST(Expm, TriangularOverscalingCaseIsExactEntrywise) {
  for (double b : {1e2, 1e4, 1e6, 1e8}) {
    Eigen::Matrix2d a;
    a << 1, b, 0, -1;
    const Eigen::Matrix2d x = expm(a);
    EXPECT_NEAR(x(0, 0), std::exp(1.0), 2 * u * std::exp(1.0));
    EXPECT_NEAR(x(1, 1), std::exp(-1.0), 2 * u * std::exp(-1.0));
    EXPECT_EQ(x(1, 0), 0.0);
    EXPECT_NEAR(x(0, 1), b * std::sinh(1.0), 4 * u * b * std::sinh(1.0)) << b;
  }
  // ||A^k||^{1/k} -> 1 while ||A||_1 = 1e8: Higham 2005 would square ceil(log2(1e8 / 5.37)) = 25
  // times; the ell correction asks for far fewer.
  Eigen::Matrix2d a;
  a << 1, 1e8, 0, -1;
  ExpmStats st;
  expm(a, &st);
  EXPECT_LE(st.squarings, 10);
  // General upper-triangular 2 x 2, including a nearly repeated diagonal
  for (double d : {0.3, 1.0 - 1e-9, 1.0}) {
    Eigen::Matrix2d a;
    a << 1, 3, 0, d;
    const mp50 dm(d), e1 = exp(mp50(1));
    const double want = static_cast<double>(d == 1.0 ? 3 * e1 : 3 * (e1 - exp(dm)) / (1 - dm));
    EXPECT_NEAR(expm(a)(0, 1), want, 4 * u * want) << d;
  }
}

// n = 3 and 4 take kernels compiled for fixed-size matrices (also when expm is called with a
// dynamic-size matrix): the same choices (degree, squarings, products, including the ell correction
// of non-normal matrices) and the same result as the dynamic-size kernel, called directly here, on
// Q T Q^T with a strongly non-normal triangular T.
template <int N>
void expect_fixed_size_matches_dynamic(std::mt19937_64& rng) {
  for (double norm : {3.0, 30.0, 300.0, 3000.0}) {
    double log_ratio_sum = 0;  // at ||A||_1 = 300: sum of log(difference / ((cond + n) u))
    for (int trial = 0; trial < 10; ++trial) {
      Eigen::MatrixXd t = odyn::linalg::gaussian_matrix(N, N, rng).triangularView<Eigen::Upper>();
      t.triangularView<Eigen::StrictlyUpper>() *= 30.0;
      const Eigen::MatrixXd q = odyn::linalg::random_orthogonal(N, rng);
      Eigen::MatrixXd a = q * t * q.transpose();
      a *= norm / a.cwiseAbs().colwise().sum().maxCoeff();
      ExpmStats fixed_stats, library_stats, dynamic_stats;
      const Eigen::Matrix<double, N, N> x = expm(Eigen::Matrix<double, N, N>(a), &fixed_stats);
      const Eigen::MatrixXd x_library = expm(a, &library_stats);  // the kernel compiled in the library
      const Eigen::MatrixXd y = odyn::linalg::detail::expm_structured(a, dynamic_stats);
      for (const ExpmStats& st : {fixed_stats, library_stats}) {
        EXPECT_EQ(st.degree, dynamic_stats.degree) << "n = " << N << ", norm = " << norm;
        EXPECT_EQ(st.squarings, dynamic_stats.squarings) << "n = " << N << ", norm = " << norm;
        EXPECT_EQ(st.products, dynamic_stats.products) << "n = " << N << ", norm = " << norm;
      }
      // The same steps with rounding errors in a different order (the fixed-size kernel solves with
      // Eigen's LU, the dynamic one by row-major elimination): both within the forward error bound
      // 10 (cond + n) u of AgreesWithFiftyDigitsOnRandomMatrices, so within twice that of each other.
      // From ||A||_1 = 300 on (6 to 9 squarings) that bound does not hold on these matrices for any
      // method. Against 50 digits, at ||A||_1 = 300, cond = 8.3e5 (bound 9.3e-10): fixed-size kernel
      // 2.0e-9, dynamic 1.4e-8, Eigen 1.4e-9; at 3000, cond = 4.8e7: odyn 3.2e-5, Eigen 1.3e-5, SciPy
      // 1.8e-5. Over 60 such matrices per case the two kernels' errors have the same geometric mean
      // (ratio 0.91-1.02, n = 3, 4, ||A||_1 = 30, 300). So the results are compared matrix by matrix
      // up to 30, in geometric mean over the ten matrices at 300 (measured: 0.20 (cond + n) u for
      // n = 3 and 0.84 for n = 4, largest single ratios 1.9 and 125), and not at 3000.
      if (norm > 300) continue;
      const double cond = odyn::linalg::expm_cond_frobenius(a);
      if (norm > 30) {
        const double difference = std::max(rel_error_1(x, y), rel_error_1(x_library, y));
        log_ratio_sum += std::log(std::max(difference / ((cond + N) * u), 1e-6));
        continue;
      }
      EXPECT_LT(rel_error_1(x, y), 20 * (cond + N) * u) << "n = " << N << ", norm = " << norm;
      EXPECT_LT(rel_error_1(x_library, y), 20 * (cond + N) * u) << "n = " << N << ", norm = " << norm;
    }
    if (norm == 300) EXPECT_LT(std::exp(log_ratio_sum / 10), 20.0) << "n = " << N;
  }
}

TEST(Expm, FixedSizeKernelsMatchDynamicSize) {
  std::mt19937_64 rng(13);
  expect_fixed_size_matches_dynamic<3>(rng);
  expect_fixed_size_matches_dynamic<4>(rng);
}

TEST(Expm, AgreesWithFiftyDigitsOnRandomMatrices) {
  std::mt19937_64 rng(11);
  for (double norm : {1e-3, 0.1, 1.0, 10.0, 100.0}) {
    for (int n : {2, 5, 12, 20}) {
      Eigen::MatrixXd a = odyn::linalg::gaussian_matrix(n, n, rng);
      a *= norm / a.cwiseAbs().colwise().sum().maxCoeff();
      const double cond = odyn::linalg::expm_cond_frobenius(a);
      // Scaling and squaring is forward stable in practice: error <= c cond u with c = 10 here,
      // plus n u for the rounding of the final matrix (Al-Mohy & Higham 2009, Section 6).
      EXPECT_LT(rel_error_1(expm(a), reference_exp(a)), 10 * (cond + n) * u) << "n = " << n << ", norm = " << norm;
    }
  }
}

// n >= 64 takes the norm-estimate route: for d_8 and d_10 on the Pade path, for d_4 and d_5 on the
// scaled Taylor path that expm takes at this size. Reference: Pade in long double, whose 2^11 times
// smaller unit roundoff makes its own error negligible here.
TEST(Expm, LargeMatricesUseNormEstimates) {
  using Scaling = odyn::linalg::detail::ScalingSquaring<Eigen::MatrixXd>;
  std::mt19937_64 rng(12);
  const int n = 70;
  const double theta13 = 4.25, theta18 = odyn::linalg::detail::FastTaylorTable<double>::get().theta.back();
  for (double norm : {0.5, 10.0, 100.0}) {
    Eigen::MatrixXd a = odyn::linalg::gaussian_matrix(n, n, rng);
    a *= norm / a.cwiseAbs().colwise().sum().maxCoeff();
    const Eigen::MatrixXd ref = expm(Eigen::Matrix<long double, -1, -1>(a.cast<long double>())).cast<double>();
    const double cond = odyn::linalg::expm_cond(a);
    ExpmStats taylor, pade;
    const Eigen::MatrixXd x = expm(a, &taylor);
    const Eigen::MatrixXd y = Scaling(a, nullptr, n + 1).run(nullptr, pade);
    EXPECT_TRUE(taylor.taylor);
    EXPECT_EQ(pade.taylor, norm < theta18);
    // expm_cond is a 1-norm estimate; the Frobenius condition number can exceed it by up to n.
    EXPECT_LT(rel_error_1(x, ref), 10 * (n * cond + n) * u) << "norm = " << norm;
    EXPECT_LT(rel_error_1(y, ref), 10 * (n * cond + n) * u) << "norm = " << norm;
    // Never more squarings than the ||A||_1-based choice (Higham 2005) at theta_13 = 4.25 for Pade
    // and theta_18 = 1.09 for Taylor.
    const auto by_norm = [norm](double theta) { return std::max(0, static_cast<int>(std::ceil(std::log2(norm / theta)))); };
    EXPECT_LE(pade.squarings, by_norm(theta13)) << "norm = " << norm;
    EXPECT_LE(taylor.squarings, by_norm(theta18)) << "norm = " << norm;
  }
}

// Above theta_18, expm takes the Pade path below n = 32 and the scaled Taylor path from n = 32 on.
// On random matrices (n = 40, normal entries and non-normal Q T Q^-1, ||A||_1 = 3, 30, 300; 48 in
// all) the Taylor path's errors are in geometric mean below the Pade path's (measured 0.62), and
// no single one is more than 16 times it (measured 4.5). Reference: Pade in long double.
TEST(Expm, ScaledTaylorPathIsAsAccurateAsPade) {
  using Scaling = odyn::linalg::detail::ScalingSquaring<Eigen::MatrixXd>;
  using MatrixL = Eigen::Matrix<long double, -1, -1>;
  std::mt19937_64 rng(21);
  const int n = 40;
  double log_ratio = 0, worst = 0;
  int count = 0;
  for (double norm : {3.0, 30.0, 300.0}) {
    for (bool nonnormal : {false, true}) {
      for (int t = 0; t < 8; ++t) {
        Eigen::MatrixXd a = odyn::linalg::gaussian_matrix(n, n, rng);
        if (nonnormal) {
          const Eigen::MatrixXd q = odyn::linalg::gaussian_matrix(n, n, rng) + 3 * Eigen::MatrixXd::Identity(n, n);
          a = q * Eigen::MatrixXd(a.triangularView<Eigen::Upper>()) * q.inverse();
        }
        a *= norm / a.cwiseAbs().colwise().sum().maxCoeff();
        const MatrixL ref = expm(MatrixL(a.cast<long double>()));
        ExpmStats taylor, pade;
        const Eigen::MatrixXd x = expm(a, &taylor);
        const Eigen::MatrixXd y = Scaling(a, nullptr, n + 1).run(nullptr, pade);
        ASSERT_TRUE(taylor.taylor && taylor.degree == 18 && !pade.taylor) << "norm = " << norm;
        const double ratio = rel_error_1(MatrixL(x.cast<long double>()), ref) / rel_error_1(MatrixL(y.cast<long double>()), ref);
        log_ratio += std::log(ratio);
        worst = std::max(worst, ratio);
        ++count;
      }
    }
  }
  EXPECT_LT(std::exp(log_ratio / count), 1.0);
  EXPECT_LT(worst, 16.0);
  // below n = 32 the same kind of matrix takes the Pade path
  Eigen::MatrixXd small = odyn::linalg::gaussian_matrix(31, 31, rng);
  small *= 30 / small.cwiseAbs().colwise().sum().maxCoeff();
  ExpmStats stats;
  expm(small, &stats);
  EXPECT_FALSE(stats.taylor);
}

// Norms near overflow on the scaled Taylor path: A^2 and A^3 overflow, so they are formed again from
// 2^-s A (two more products), and exp(A) either underflows to 0 harmlessly or overflows as an error.
TEST(Expm, ScaledTaylorPathAtHugeNorms) {
  std::mt19937_64 rng(22);
  const int n = 40;
  Eigen::MatrixXd a = Eigen::MatrixXd(odyn::linalg::gaussian_matrix(n, n, rng).triangularView<Eigen::StrictlyUpper>());
  a.diagonal().setConstant(-1e160);
  ExpmStats stats;
  const Eigen::MatrixXd x = expm(a, &stats);
  EXPECT_TRUE(stats.taylor);
  EXPECT_GT(stats.squarings, 500);
  EXPECT_EQ(stats.products, 5 + 2 + stats.squarings);
  EXPECT_TRUE(x.isZero(0));
  EXPECT_THROW(expm(Eigen::MatrixXd(Eigen::MatrixXd::Constant(n, n, 1e300))), odyn::OverflowError);
  EXPECT_THROW(expm(Eigen::MatrixXd(a.transpose() * -1.0 + 3.0 * Eigen::MatrixXd::Ones(n, n))), odyn::OverflowError);
}

TEST(Expm, GenericScalars) {
  Eigen::Matrix2d a;
  a << 0.5, 2, -1, -0.25;
  const Eigen::Matrix2d ref = reference_exp(a);
  const double cond = odyn::linalg::expm_cond_frobenius(a);
  EXPECT_LT(rel_error_1(expm(Eigen::Matrix2f(a.cast<float>())).cast<double>(), ref), 10 * cond * 0x1p-24);
  EXPECT_LT(rel_error_1(expm(Eigen::Matrix<long double, 2, 2>(a.cast<long double>())).cast<double>(), ref),
            10 * cond * u);
  // complex: exp(i a) = cos a + i sin a for a real (commuting parts)
  const Eigen::Matrix2cd ia = a.cast<std::complex<double>>() * std::complex<double>(0, 1);
  const Eigen::Matrix2cd want = ia.exp();
  EXPECT_LT((expm(ia) - want).norm() / want.norm(), 1e-14);
  // 50 digits against a 50-digit closed form
  MatrixMp rot(2, 2);
  const mp50 alpha("0.7");
  rot << 0, alpha, -alpha, 0;
  const MatrixMp r = expm(rot);
  EXPECT_LT(static_cast<double>(abs(r(0, 0) - cos(alpha)) + abs(r(0, 1) - sin(alpha))), 1e-48);
}

#if ODYN_HAVE_CERES
// Cross-backend: forward-mode derivatives (ceres::Jet) through expm equal expm_frechet.
TEST(Expm, JetDerivativesEqualFrechetDerivative) {
  std::mt19937_64 rng(3);
  for (double norm : {0.05, 1.0, 8.0, 60.0}) {
    const int n = 5;
    Eigen::MatrixXd a = odyn::linalg::gaussian_matrix(n, n, rng);
    a *= norm / a.cwiseAbs().colwise().sum().maxCoeff();
    const Eigen::MatrixXd e = odyn::linalg::gaussian_matrix(n, n, rng);
    using Jet = ceres::Jet<double, 1>;
    Eigen::Matrix<Jet, Eigen::Dynamic, Eigen::Dynamic> aj(n, n);
    for (Eigen::Index i = 0; i < a.size(); ++i) {
      aj.data()[i] = Jet(a.data()[i]);
      aj.data()[i].v[0] = e.data()[i];  // direction E
    }
    const auto fr = expm_frechet(a, e);
    const auto xj = expm(aj);
    Eigen::MatrixXd value(n, n), deriv(n, n);
    for (Eigen::Index i = 0; i < a.size(); ++i) value.data()[i] = xj.data()[i].a, deriv.data()[i] = xj.data()[i].v[0];
    EXPECT_LT(rel_error_1(value, fr.expm), 1e-14) << norm;
    EXPECT_LT(rel_error_1(deriv, fr.frechet), 1e-12) << norm;
  }
}

#endif

// L(A, E) is the (1,2) block of exp([[A, E], [0, A]]), here in 50 digits.
TEST(Expm, FrechetMatchesFiftyDigitBlockFormula) {
  std::mt19937_64 rng(5);
  for (double norm : {0.01, 0.5, 3.0, 30.0}) {
    const int n = 6;
    Eigen::MatrixXd a = odyn::linalg::gaussian_matrix(n, n, rng);
    a *= norm / a.cwiseAbs().colwise().sum().maxCoeff();
    const Eigen::MatrixXd e = odyn::linalg::gaussian_matrix(n, n, rng);
    MatrixMp big = MatrixMp::Zero(2 * n, 2 * n);
    big.topLeftCorner(n, n) = a.cast<mp50>();
    big.bottomRightCorner(n, n) = a.cast<mp50>();
    big.topRightCorner(n, n) = e.cast<mp50>();
    const Eigen::MatrixXd want = MatrixMp(expm(big).topRightCorner(n, n)).cast<double>();
    const auto fr = expm_frechet(a, e);
    const double cond = odyn::linalg::expm_cond_frobenius(a);
    EXPECT_LT(rel_error_1(fr.frechet, want), 20 * (cond + n) * u) << norm;
    EXPECT_LT(rel_error_1(fr.expm, reference_exp(a)), 10 * (cond + n) * u) << norm;
  }
}

TEST(Expm, ConditionNumbers) {
  // Normal A: ||L(A)|| in the Frobenius operator norm is the largest divided difference of exp on
  // the spectrum, e^{lambda_max} for symmetric A.
  std::mt19937_64 rng(9);
  const Eigen::MatrixXd g = odyn::linalg::gaussian_matrix(5, 5, rng);
  const Eigen::MatrixXd sym = g + g.transpose();
  const double lmax = Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(sym).eigenvalues().maxCoeff();
  const double want = std::exp(lmax) * sym.norm() / expm(sym).norm();
  EXPECT_NEAR(odyn::linalg::expm_cond_frobenius(sym), want, 1e-10 * want);
  // The 1-norm estimate against the exact ||K||_1 of the Kronecker form
  for (int trial = 0; trial < 5; ++trial) {
    const int n = 4;
    const Eigen::MatrixXd a = odyn::linalg::gaussian_matrix(n, n, rng) * (1 + 2 * trial);
    Eigen::MatrixXd k(n * n, n * n);
    for (int c = 0; c < n * n; ++c) {
      Eigen::MatrixXd e = Eigen::MatrixXd::Zero(n, n);
      e.data()[c] = 1;
      k.col(c) = Eigen::Map<const Eigen::VectorXd>(expm_frechet(a, e).frechet.data(), n * n);
    }
    const Eigen::MatrixXd x = expm(a);
    const double exact = k.cwiseAbs().colwise().sum().maxCoeff() * a.cwiseAbs().colwise().sum().maxCoeff() /
                         x.cwiseAbs().colwise().sum().maxCoeff();
    const double est = odyn::linalg::expm_cond(a);
    EXPECT_LE(est, exact * (1 + 1e-10));
    EXPECT_GE(est, exact / 3) << trial;
  }
}

TEST(ExpmMultiply, DenseMatchesExpmTimesB) {
  std::mt19937_64 rng(13);
  for (double norm : {0.0, 0.01, 1.0, 20.0, 200.0}) {
    for (double t : {1.0, -0.5, 2.5}) {
      const int n = 30;
      Eigen::MatrixXd a = odyn::linalg::gaussian_matrix(n, n, rng);
      if (norm > 0)
        a *= norm / a.cwiseAbs().colwise().sum().maxCoeff();
      else
        a.setZero();
      a.diagonal().array() -= norm / 4;  // exercises the trace shift
      const Eigen::MatrixXd b = odyn::linalg::gaussian_matrix(n, 3, rng);
      odyn::linalg::ExpmMultiplyStats st;
      const Eigen::MatrixXd got = odyn::linalg::expm_multiply(a, b, t, &st);
      const Eigen::MatrixXd want = reference_exp(t * a) * b;
      const double cond = odyn::linalg::expm_cond(Eigen::MatrixXd(t * a));
      EXPECT_LT(rel_error_1(got, want), 20 * (cond + n) * u)
          << "norm " << norm << " t " << t << " m " << st.degree << " s " << st.steps;
    }
  }
}

TEST(ExpmMultiply, SparseHeatEquation) {
  // 1-D Laplacian (Dirichlet), n = 400: exp(tL) v against the dense exponential.
  const int n = 400;
  Eigen::SparseMatrix<double> lap(n, n);
  std::vector<Eigen::Triplet<double>> entries;
  for (int i = 0; i < n; ++i) {
    entries.emplace_back(i, i, -2.0);
    if (i > 0) entries.emplace_back(i, i - 1, 1.0);
    if (i + 1 < n) entries.emplace_back(i, i + 1, 1.0);
  }
  lap.setFromTriplets(entries.begin(), entries.end());
  Eigen::VectorXd v(n);
  for (int i = 0; i < n; ++i) v(i) = std::sin(3.14159 * (i + 1) / (n + 1)) + 0.1 * ((i * 7919) % 13 - 6);
  odyn::linalg::ExpmMultiplyStats st;
  const Eigen::MatrixXd got = odyn::linalg::expm_multiply(lap, v, 10.0, &st);
  const Eigen::MatrixXd want = expm(Eigen::MatrixXd(10.0 * Eigen::MatrixXd(lap))) * v;
  EXPECT_LT((got - want).norm() / want.norm(), 1e-13);
  EXPECT_GT(st.products, 0);
  const Eigen::MatrixXd dense = odyn::linalg::expm_multiply(Eigen::MatrixXd(lap), v, 10.0);
  EXPECT_LT((got - dense).norm() / want.norm(), 1e-13);
}

TEST(ExpmMultiply, Complex) {
  std::mt19937_64 rng(17);
  const int n = 12;
  const Eigen::MatrixXcd a =
      odyn::linalg::gaussian_matrix(n, n, rng).cast<std::complex<double>>() * std::complex<double>(0.3, 1.2);
  const Eigen::MatrixXcd b = odyn::linalg::gaussian_matrix(n, 2, rng).cast<std::complex<double>>();
  const Eigen::MatrixXcd want = a.exp() * b;
  EXPECT_LT((odyn::linalg::expm_multiply(a, b) - want).norm() / want.norm(), 1e-12);
}

TEST(Expm, BadInput) {
  Eigen::MatrixXd rect(2, 3);
  rect.setZero();
  EXPECT_THROW(expm(rect), odyn::InvalidArgument);
  Eigen::Matrix2d nan;
  nan << 1, std::nan(""), 0, 1;
  EXPECT_THROW(expm(nan), odyn::InvalidArgument);
  Eigen::Matrix2d inf = Eigen::Matrix2d::Identity() * HUGE_VAL;
  EXPECT_THROW(expm(inf), odyn::InvalidArgument);
  // exp(1000 I) = e^1000 I overflows double: reported, never NaN
  EXPECT_THROW(expm(Eigen::Matrix3d(1000 * Eigen::Matrix3d::Identity())), odyn::OverflowError);
  EXPECT_THROW(expm(Eigen::MatrixXd(Eigen::MatrixXd::Constant(3, 3, 1e300))), odyn::OverflowError);
  Eigen::Matrix2d big;  // 2 x 2 closed form: e^800 overflows
  big << 0, 800, 800, 0;
  EXPECT_THROW(expm(big), odyn::OverflowError);
  big << 800, 1, 0, 1;
  EXPECT_THROW(expm(big), odyn::OverflowError);
  // ... while e^-1000 underflows harmlessly
  EXPECT_TRUE(expm(Eigen::Matrix3d(-1000 * Eigen::Matrix3d::Identity())).isZero(0));
  EXPECT_THROW(expm_frechet(Eigen::MatrixXd::Identity(2, 2), Eigen::MatrixXd::Identity(3, 3)), odyn::InvalidArgument);
  EXPECT_THROW(odyn::linalg::expm_multiply(Eigen::MatrixXd::Identity(3, 3), Eigen::MatrixXd::Ones(4, 1)),
               odyn::InvalidArgument);
  EXPECT_THROW(odyn::linalg::expm_multiply(Eigen::MatrixXd::Identity(3, 3), Eigen::MatrixXd::Ones(3, 1), NAN),
               odyn::InvalidArgument);
  EXPECT_THROW(odyn::linalg::expm_multiply(Eigen::MatrixXd(nan), Eigen::MatrixXd::Ones(2, 1)), odyn::InvalidArgument);
}

}  // namespace
