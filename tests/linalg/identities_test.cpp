// det(exp A) = exp(tr A) by every route of odyn/linalg/identities/routes.hpp, in float, double,
// complex<double> and mp50: closed forms, random matrices of every family, and checks that each
// tolerance is sharp enough to reject a wrong identity (claims AX-1..AX-5, AX-7, JAC-1, JAC-2 of
// docs/claims.md).
#include "odyn/linalg/identities/routes.hpp"

#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <cmath>
#include <complex>
#include <random>
#include <string>
#include <unsupported/Eigen/MatrixFunctions>

#include "odyn/config.hpp"
#include "odyn/core/error.hpp"
#include "odyn/linalg/expm.hpp"
#include "odyn/linalg/test_matrices.hpp"

namespace id = odyn::linalg::identities;
using Eigen::MatrixXd;
using odyn::linalg::IdentityCheck;
using odyn::linalg::MatrixFamily;

namespace {

double error_of(const IdentityCheck& c) {
  return c.metric == "rel_error" ? c.rel_error : c.abs_error;
}

double detail_of(const IdentityCheck& c, const std::string& name) {
  for (const auto& d : c.details) {
    if (d.name == name) return d.value;
  }
  ADD_FAILURE() << "no detail " << name << " in " << c.name;
  return std::nan("");
}

std::string describe(const IdentityCheck& c) {
  return c.name + ": lhs " + std::to_string(c.lhs) + " rhs " + std::to_string(c.rhs) + " error " +
         std::to_string(error_of(c)) + " tol " + std::to_string(c.tolerance) + " note '" + c.note + "'";
}

// How far off a side may be and still be caught, per scalar: a side off by this much times the
// size of the compared quantity must fail. `exact`: routes at the rounding level; `difference`:
// central differences (error ~ u^(2/3)); `perturbation`: det(I + eps X) (~ u^(1/3)); `ode`: the
// integration at tolerance max(1e-12, 64u).
template <class S>
struct Sharpness;
template <>
struct Sharpness<float> {
  static constexpr double exact = 1e-2, difference = 3e-2, perturbation = 0.5, ode = 5e-2;
};
template <>
struct Sharpness<double> {
  static constexpr double exact = 1e-10, difference = 1e-5, perturbation = 1e-3, ode = 1e-6;
};
template <>
struct Sharpness<std::complex<double>> : Sharpness<double> {};

// Matrix size and spectral scale for the difference, ODE, limit and perturbation routes: in float,
// whose rounding bounds grow with n and ||A||, small matrices keep them conclusive (two digits).
template <class S>
struct Size {
  static constexpr int n = std::is_same_v<S, float> ? 2 : 4;
  static constexpr double scale = std::is_same_v<S, float> ? 0.5 : 1.0;
};

// Closer than `sharp` permits, or than the double the result was rounded to.
double near(double sharp, double value) {
  return std::max(1e3 * sharp, 1e-15 * (1 + std::abs(value)));
}
template <>
struct Sharpness<odyn::mp50> {
  static constexpr double exact = 1e-40, difference = 1e-25, perturbation = 1e-12, ode = 1e-6;
};

// The check passed within its tolerance, and a side off by `wrong` (relative, or absolute times
// max(1, |rhs|)) would have failed it.
void expect_sharp_pass(const IdentityCheck& c, double wrong) {
  EXPECT_TRUE(c.passed) << describe(c);
  EXPECT_LE(error_of(c), c.tolerance) << describe(c);
  const double size = c.metric == "rel_error" ? 1.0 : std::max(1.0, std::hypot(c.rhs, c.rhs_imag));
  EXPECT_LT(c.tolerance + error_of(c), wrong * size) << "tolerance too loose: " << describe(c);
}

template <class S>
id::Matrix<S> cast(const MatrixXd& a) {
  return a.cast<S>();
}

template <class S>
std::complex<double> to_complex(const S& x) {
  if constexpr (std::is_same_v<S, std::complex<double>>) {
    return x;
  } else {
    return {static_cast<double>(x), 0.0};
  }
}

template <class S>
std::complex<double> trace_of(const id::Matrix<S>& a) {
  return to_complex<S>(a.trace());
}

MatrixXd idempotent() {  // A^2 = A: exp(A) = I + (e - 1) A, det = e
  MatrixXd a(2, 2);
  a << 1, 0, 1, 0;
  return a;
}

MatrixXd jordan_block(double a) {
  MatrixXd j(3, 3);
  j << a, 1, 0, 0, a, 1, 0, 0, a;
  return j;
}

MatrixXd rotation_generator(double alpha) {
  MatrixXd j(2, 2);
  j << 0, -alpha, alpha, 0;
  return j;
}

template <class S>
class IdentityRoutes : public ::testing::Test {};
using Scalars = ::testing::Types<float, double, std::complex<double>, odyn::mp50>;
TYPED_TEST_SUITE(IdentityRoutes, Scalars);

// Closed-form matrices (idempotent, Jordan block, rotation) and random matrices of every family:
// the routes that compare exact quantities pass with tolerances at the rounding level.
TYPED_TEST(IdentityRoutes, ExactRoutesOnClosedFormsAndRandomMatrices) {
  using S = TypeParam;
  std::vector<id::Matrix<S>> matrices = {cast<S>(idempotent()), cast<S>(jordan_block(-0.7)),
                                         cast<S>(rotation_generator(0.8))};
  std::mt19937_64 rng(6377);
  for (const std::string& family : odyn::linalg::matrix_family_names()) {
    matrices.push_back(id::test_matrix<S>(odyn::linalg::parse_matrix_family(family), 5, rng));
  }
  for (const id::Matrix<S>& a : matrices) {
    for (const id::Route route :
         {id::Route::direct, id::Route::eigen, id::Route::schur, id::Route::log_trace, id::Route::inverse}) {
      SCOPED_TRACE(id::to_string(route));
      expect_sharp_pass(id::check<S>(route, a), Sharpness<S>::exact);
    }
  }
}

// A2 by the direct route: det exp([[1, 0], [1, 0]]) = e; A3: a Jordan block's eigenvalues are
// ill-conditioned but their sum is not, so `eigen` stays at the rounding level.
TYPED_TEST(IdentityRoutes, DirectAndEigenOnClosedForms) {
  using S = TypeParam;
  const IdentityCheck c = id::direct<S>(cast<S>(idempotent()));
  EXPECT_NEAR(c.lhs, std::exp(1.0), near(Sharpness<S>::exact, c.lhs));
  const IdentityCheck j = id::eigen<S>(cast<S>(jordan_block(0.4)));
  EXPECT_NEAR(j.rhs, std::exp(1.2), near(Sharpness<S>::exact, j.rhs));
  EXPECT_LE(j.condition, 3.0);  // ||J||_F: the tolerance does not see the eigenvalues' sensitivity
}

// AX-5 (Liouville): X' = (A0 + t A1) X, X(0) = I gives det X(1) = exp(tr A0 + tr A1 / 2); without
// the 1/2 the tolerance rejects it. With A1 = 0, X(1) = exp(A) (A9).
TYPED_TEST(IdentityRoutes, LiouvilleTimeDependent) {
  using S = TypeParam;
  std::mt19937_64 rng(5);
  const id::Matrix<S> a0 = id::test_matrix<S>(MatrixFamily::random, Size<S>::n, rng, Size<S>::scale);
  const id::Matrix<S> a1 = id::test_matrix<S>(MatrixFamily::random, Size<S>::n, rng, Size<S>::scale);
  const IdentityCheck c = id::liouville<S>(a0, a1);
  expect_sharp_pass(c, Sharpness<S>::ode);
  const std::complex<double> det(c.lhs, c.lhs_imag);
  const std::complex<double> tr0 = trace_of<S>(a0), tr1 = trace_of<S>(a1);
  EXPECT_GT(std::abs(det - std::exp(tr0 + tr1)) / std::abs(det), 10 * c.tolerance);

  const IdentityCheck constant = id::liouville<S>(a0);
  expect_sharp_pass(constant, Sharpness<S>::ode);
  EXPECT_LE(detail_of(constant, "expm_rel_diff"), (std::is_same_v<S, float> ? 1e-4 : 1e-9));
  EXPECT_GT(detail_of(constant, "steps"), 5);
}

// A10 / the post's main proof: f(t) = det exp(tA) has f' = tr(A) f on [0, 2]; a slope off by
// Sharpness::difference (1 + |tr A|) is rejected.
TYPED_TEST(IdentityRoutes, DeterminantOde) {
  using S = TypeParam;
  std::mt19937_64 rng(10);
  for (const MatrixFamily family : {MatrixFamily::random, MatrixFamily::jordan, MatrixFamily::nilpotent}) {
    const id::Matrix<S> a = id::test_matrix<S>(family, Size<S>::n, rng, Size<S>::scale);
    const IdentityCheck c = id::det_ode<S>(a);
    expect_sharp_pass(c, Sharpness<S>::difference);
    const double shift = std::max(Sharpness<S>::difference, 1e-12);  // representable in the double lhs
    const std::complex<double> wrong = trace_of<S>(a) + shift * (1 + std::abs(trace_of<S>(a)));
    EXPECT_GT(std::abs(std::complex<double>(c.lhs, c.lhs_imag) - wrong), c.tolerance) << describe(c);
  }
}

// A11, Jacobi's formula (Magnus & Neudecker): forward-mode AD (ceres::Jet) and central differences
// on X(t) = exp(tA) and on X0 + t X1 + t^2 X2. JAC-1: with X(t) = A + t E_ij the derivative is
// d det A / d a_ij / det A = (A^-1)_ji.
TYPED_TEST(IdentityRoutes, JacobiFormula) {
  using S = TypeParam;
  std::mt19937_64 rng(11);
  constexpr int n = Size<S>::n;
  const id::Matrix<S> a = id::test_matrix<S>(MatrixFamily::random, n, rng, Size<S>::scale);
  const id::Matrix<S> x0 = id::test_matrix<S>(MatrixFamily::random, n, rng, 0.5) + id::Matrix<S>::Identity(n, n) * S(2);
  const id::Matrix<S> x1 = id::test_matrix<S>(MatrixFamily::random, n, rng, Size<S>::scale);
  const id::Matrix<S> x2 = id::test_matrix<S>(MatrixFamily::random, n, rng, Size<S>::scale);
  for (const odyn::linalg::real_t<S>& t : {odyn::linalg::real_t<S>(-0.5), odyn::linalg::real_t<S>(0.3)}) {
    expect_sharp_pass(id::jacobi_fd<S>(x0, x1, x2, t), Sharpness<S>::difference);
    if (ODYN_HAVE_CERES) expect_sharp_pass(id::jacobi_jet<S>(x0, x1, x2, t), Sharpness<S>::exact);
  }
  expect_sharp_pass(id::jacobi_fd<S>(a), Sharpness<S>::difference);
  if (!ODYN_HAVE_CERES) {
    EXPECT_THROW(id::jacobi_jet<S>(a), odyn::InvalidArgument);
    return;
  }
  const IdentityCheck jet = id::jacobi_jet<S>(a);
  expect_sharp_pass(jet, Sharpness<S>::exact);
  EXPECT_LE(detail_of(jet, "jet_derivative_rel_diff"), 1e3 * Sharpness<S>::exact);  // AD through expm

  // JAC-1: the gradient of det, entry by entry.
  const id::Matrix<S> a_inv = x0.inverse();
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < n; ++j) {
      id::Matrix<S> e = id::Matrix<S>::Zero(n, n);
      e(i, j) = S(1);
      const std::complex<double> expected = to_complex<S>(a_inv(j, i));
      const IdentityCheck g = id::jacobi_jet<S>(x0, e, id::Matrix<S>::Zero(n, n), 0);
      expect_sharp_pass(g, Sharpness<S>::exact);
      EXPECT_NEAR(g.lhs, expected.real(), near(Sharpness<S>::exact, g.lhs));
      EXPECT_NEAR(g.lhs_imag, expected.imag(), near(Sharpness<S>::exact, g.lhs_imag));
      const IdentityCheck fd = id::jacobi_fd<S>(x0, e, id::Matrix<S>::Zero(n, n), 0);
      expect_sharp_pass(fd, Sharpness<S>::difference);
      EXPECT_NEAR(fd.lhs, expected.real(), fd.tolerance + near(Sharpness<S>::exact, fd.lhs));
    }
  }
}

// M = [[0.3, 0.8], [-0.5, 0.2]]: tr M = 0.5, tr(M^2) = -0.67, so tr(M)^2 and tr(M^2) differ clearly.
MatrixXd fixed_matrix() {
  MatrixXd m(2, 2);
  m << 0.3, 0.8, -0.5, 0.2;
  return m;
}

// A12: n (det((I + A/n)^n) / e^{tr A} - 1) -> -tr(A^2) / 2: within 5% at n = 1e3 and 1e4 (1e2, 1e3
// in float), the error shrinks tenfold per decade, and the wrong limit -tr(A)^2 / 2 is rejected.
TYPED_TEST(IdentityRoutes, LimitRoute) {
  using S = TypeParam;
  std::mt19937_64 rng(12);
  for (const MatrixFamily family : {MatrixFamily::random, MatrixFamily::normal, MatrixFamily::rotation}) {
    const id::Matrix<S> a = id::test_matrix<S>(family, 4, rng, 1.5);
    const IdentityCheck c = id::limit<S>(a);
    if (std::is_same_v<S, float>) {  // n u ~ 1e-4: float decides the O(1/n) term only for small A
      EXPECT_TRUE(c.passed || c.note.rfind("inconclusive", 0) == 0) << describe(c);
      continue;
    }
    expect_sharp_pass(c, 0.05);
    EXPECT_LE(detail_of(c, "max_rel_deviation_from_leading_term"), 0.05);
    EXPECT_NEAR(detail_of(c, "ratio_e_n_e_10n"), 10.0, 1.0);
  }
  const IdentityCheck c = id::limit<S>(cast<S>(fixed_matrix()));
  expect_sharp_pass(c, 0.05);
  EXPECT_LE(detail_of(c, "max_rel_deviation_from_leading_term"), 0.05);
  EXPECT_NEAR(detail_of(c, "ratio_e_n_e_10n"), 10.0, 1.0);
  EXPECT_NEAR(c.rhs, 0.67 / 2, 1e-6);
  EXPECT_GT(std::abs(c.lhs + 0.5 * 0.5 / 2), 10 * c.tolerance) << describe(c);  // -tr(M)^2 / 2
  // Nilpotent A: det((I + A/n)^n) = 1 = e^0 exactly, n e_n = 0 = -tr(A^2) / 2.
  expect_sharp_pass(id::limit<S>(id::test_matrix<S>(MatrixFamily::nilpotent, 4, rng)), 0.05);
}

// JAC-2: (det(I + eps X) - 1 - eps tr X) / eps^2 -> (tr(X)^2 - tr(X^2)) / 2 for every eps; the
// second-order coefficient of exp(eps tr X), tr(X)^2 / 2, is rejected.
TYPED_TEST(IdentityRoutes, DeterminantPerturbation) {
  using S = TypeParam;
  std::mt19937_64 rng(2);
  expect_sharp_pass(id::det_perturbation<S>(id::test_matrix<S>(MatrixFamily::random, Size<S>::n, rng, Size<S>::scale)),
                    Sharpness<S>::perturbation);
  const IdentityCheck c = id::det_perturbation<S>(cast<S>(fixed_matrix()));
  expect_sharp_pass(c, Sharpness<S>::perturbation);
  EXPECT_NEAR(c.rhs, (0.25 + 0.67) / 2, 1e-6);
  EXPECT_GT(std::abs(c.lhs - 0.25 / 2), 10 * c.tolerance) << describe(c);  // e^{eps tr M}'s tr(M)^2 / 2
}

// AX-2 and A6: exp(A + B) = exp(A) exp(B) for B a polynomial in A, and the identity is found to
// fail for the non-commuting C; A7: exp(A) exp(-A) = I.
TYPED_TEST(IdentityRoutes, CommutingAndInverse) {
  using S = TypeParam;
  std::mt19937_64 rng(7);
  for (const MatrixFamily family : {MatrixFamily::random, MatrixFamily::jordan, MatrixFamily::rotation}) {
    const id::Matrix<S> a = id::test_matrix<S>(family, 4, rng);
    const IdentityCheck c = id::commuting<S>(a);
    expect_sharp_pass(c, Sharpness<S>::exact);
    EXPECT_GT(detail_of(c, "commutator_AC"), 0.1);
    EXPECT_GT(detail_of(c, "noncommuting_difference"), 10 * detail_of(c, "noncommuting_tolerance"));
    EXPECT_LE(detail_of(c, "commutator_AB"), 1e3 * Sharpness<S>::exact);
    expect_sharp_pass(id::inverse<S>(a), Sharpness<S>::exact);
  }
}

// A14 extended: ln det B = tr ln B for SPD B, with log det from Cholesky.
TYPED_TEST(IdentityRoutes, LogTraceSpd) {
  using S = TypeParam;
  std::mt19937_64 rng(14);
  const id::Matrix<S> g = id::test_matrix<S>(MatrixFamily::random, 5, rng);
  const id::Matrix<S> b = g * g.adjoint() + id::Matrix<S>::Identity(5, 5) * S(0.5);
  expect_sharp_pass(id::log_trace_spd<S>(b), Sharpness<S>::exact);
  EXPECT_THROW(id::log_trace_spd<S>(g), odyn::InvalidArgument);  // not symmetric
}

// Every route on every family through the registry: none fails; inconclusive results are allowed
// only in float.
TYPED_TEST(IdentityRoutes, EveryRouteOnEveryFamily) {
  using S = TypeParam;
  std::mt19937_64 rng(42);
  int checks = 0, conclusive = 0;
  for (const std::string& family : odyn::linalg::matrix_family_names()) {
    const id::Matrix<S> a = id::test_matrix<S>(odyn::linalg::parse_matrix_family(family), 6, rng);
    for (const id::RouteInfo& r : id::routes()) {
      if (r.route == id::Route::jacobi_jet && !ODYN_HAVE_CERES) continue;
      const IdentityCheck c = id::check<S>(r.route, a);
      ++checks;
      if (std::is_same_v<S, float> && c.note.rfind("inconclusive", 0) == 0) continue;
      EXPECT_TRUE(c.passed) << family << " " << r.name << ": " << describe(c);
      ++conclusive;
    }
  }
  // float cannot decide the difference, ODE, limit and perturbation routes at n = 6 (docs).
  EXPECT_GE(conclusive, (std::is_same_v<S, float> ? checks / 2 : checks));
}

}  // namespace

// AX-3 and AX-4 for double across sizes and scales: the eigenvalue and Schur routes agree with the
// direct one wherever that can decide.
TEST(Identities, EigenAndSchurAcrossFamilies) {
  std::mt19937_64 rng(34);
  for (const std::string& family : odyn::linalg::matrix_family_names()) {
    for (int n : {1, 3, 10, 30}) {
      for (double scale : {0.1, 1.0, 5.0}) {
        const MatrixXd a = odyn::linalg::make_test_matrix(odyn::linalg::parse_matrix_family(family), n, rng, scale);
        for (const IdentityCheck& c : {id::eigen<double>(a), id::schur<double>(a)}) {
          EXPECT_TRUE(c.passed) << family << " n=" << n << " scale=" << scale << ": " << describe(c);
          EXPECT_LE(c.tolerance, 1e-11 * n) << describe(c);
        }
      }
    }
  }
}

// AX-1 (corrected form): ln(I + P L P^-1) = P ln(I + L) P^-1 with ln(I + L) = diag(ln(1 + l_i)).
TEST(Identities, AX1_LogOfDiagonalizable) {
  std::mt19937_64 rng(1);
  const MatrixXd p = odyn::linalg::gaussian_matrix(4, 4, rng) + 3 * MatrixXd::Identity(4, 4);
  const Eigen::VectorXd lambda = (Eigen::VectorXd(4) << -0.5, 0.2, 1.0, 3.0).finished();
  const MatrixXd a = p * lambda.asDiagonal() * p.inverse();
  const MatrixXd lhs = MatrixXd(MatrixXd::Identity(4, 4) + a).log();
  const MatrixXd rhs = p * Eigen::VectorXd(lambda.array().log1p()).asDiagonal() * p.inverse();
  const double cond = p.norm() * p.inverse().norm();
  EXPECT_LE((lhs - rhs).norm() / rhs.norm(), 1e-14 * cond * cond);
}

// AX-7: for the linear flow z' = Az the Jacobian of the flow map is J(t) = exp(tA) and
// d/dt ln det J = tr A (det-ode, liouville), so the log-density of N(0, I) pushed forward is
// ln p_t(z(t)) = ln p_0(z(0)) - t tr A (the continuous-normalizing-flow formula, Chen et al. 2018).
// Checked against the Gaussian N(0, J J^T) evaluated directly.
TEST(Identities, AX7_LinearFlowLogDensity) {
  std::mt19937_64 rng(7);
  const MatrixXd a = odyn::linalg::gaussian_matrix(3, 3, rng, 0.5);
  const Eigen::VectorXd z0 = odyn::linalg::gaussian_matrix(3, 1, rng);
  const double log_2pi = std::log(2 * M_PI);
  const double log_p0 = -0.5 * z0.squaredNorm() - 1.5 * log_2pi;
  for (double t : {0.5, 1.0, 2.0}) {
    const MatrixXd j = odyn::linalg::expm(MatrixXd(t * a));
    const Eigen::VectorXd z = j * z0;
    const Eigen::LLT<MatrixXd> cov(j * j.transpose());
    const double log_det_cov = 2 * MatrixXd(cov.matrixL()).diagonal().array().log().sum();
    const double log_pt = -0.5 * z.dot(cov.solve(z)) - 0.5 * log_det_cov - 1.5 * log_2pi;
    EXPECT_NEAR(log_pt, log_p0 - t * a.trace(), 1e-12 * (1 + std::abs(log_pt)));
  }
  EXPECT_TRUE(id::det_ode<double>(a).passed);
  EXPECT_TRUE(id::liouville<double>(a).passed);
}

// Where exp(A) overflows there is nothing to compare: inconclusive, not an error.
TEST(Identities, OverflowIsInconclusive) {
  const MatrixXd a = 800 * MatrixXd::Identity(2, 2);
  for (const id::Route route : {id::Route::direct, id::Route::inverse, id::Route::log_trace, id::Route::commuting}) {
    const IdentityCheck c = id::check<double>(route, a);
    EXPECT_FALSE(c.passed) << id::to_string(route);
    EXPECT_EQ(c.note.rfind("inconclusive", 0), 0u) << id::to_string(route) << ": " << c.note;
  }
  const IdentityCheck f = id::direct<float>(Eigen::MatrixXf::Identity(2, 2) * 100.0f);
  EXPECT_FALSE(f.passed);
  EXPECT_EQ(f.note.rfind("inconclusive", 0), 0u) << f.note;
}

TEST(Identities, NamesAndBadInput) {
  for (const id::RouteInfo& r : id::routes()) {
    EXPECT_EQ(id::parse_route(r.name), r.route);
    EXPECT_EQ(id::to_string(r.route), r.name);
    EXPECT_FALSE(r.summary.empty());
  }
  EXPECT_EQ(id::routes().size(), 12u);
  EXPECT_THROW(id::parse_route("frobnicate"), odyn::InvalidArgument);
  EXPECT_EQ(id::scalar_name<odyn::mp50>(), "mp50");
  MatrixXd nan = MatrixXd::Identity(2, 2);
  nan(0, 1) = std::nan("");
  for (const id::RouteInfo& r : id::routes()) {
    if (r.route == id::Route::jacobi_jet && !ODYN_HAVE_CERES) continue;
    EXPECT_THROW(id::check<double>(r.route, MatrixXd(0, 0)), odyn::InvalidArgument) << r.name;
    EXPECT_THROW(id::check<double>(r.route, MatrixXd::Ones(2, 3)), odyn::InvalidArgument) << r.name;
    EXPECT_THROW(id::check<double>(r.route, nan), odyn::InvalidArgument) << r.name;
  }
  EXPECT_THROW(id::liouville<double>(MatrixXd::Identity(2, 2), MatrixXd::Identity(3, 3)), odyn::InvalidArgument);
}
