// det(exp A) = exp(tr A) by every route (Su, "恒等式 det(exp(A)) = exp(Tr(A)) 赏析",
// kexue.fm/archives/6377, 2019), and the identities around it: Jacobi's formula, Liouville's
// formula, the limit (I + A/n)^n, ln det B = tr ln B, exp(A) exp(-A) = I, exp(A + B) = exp(A) exp(B)
// for commuting A, B, and det(I + eps X) = 1 + eps tr X + O(eps^2).
//
// Each check compares two computed sides and returns an IdentityCheck whose tolerance is derived
// from the problem's conditioning and the unit roundoff u of the scalar type; docs/identities.md
// gives each error model. The checks are templates instantiated for float, double,
// std::complex<double> and odyn::mp50 (50 digits). They throw odyn::InvalidArgument, naming the
// function, for empty, non-square or non-finite input. Where exp(A) overflows the scalar type
// nothing can be compared: the check is not passed and its note starts with "inconclusive". So does
// a check whose tolerance exceeds kInconclusiveTolerance times the size of the compared quantity.
#pragma once

#include <Eigen/Core>
#include <random>
#include <string>
#include <vector>

#include "odyn/linalg/identities.hpp"
#include "odyn/linalg/scalar.hpp"
#include "odyn/linalg/test_matrices.hpp"

namespace odyn::linalg::identities {

template <class Scalar>
using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;

// The safety factor over first-order rounding-error models (the measured constants stay below
// it; docs/identities.md). Truncation bounds that are rigorous are not multiplied by it.
inline constexpr double kSafety = 8.0;

// direct: det(expm A) by LU with partial pivoting against exp(tr A) (logarithms where either side
// leaves the scalar's range: |Re tr A| or |log det| above log(max) - 10). For double this is
// check_det_exp_trace. tol = 8 u (sqrt(n) kappa + 32 ||A||_1 + n sum|a_ii| + 1),
// kappa = ||e^A||_F ||e^-A||_F (see check_det_exp_trace).
template <class Scalar>
IdentityCheck direct(const Matrix<Scalar>& a);

// eigen: prod_i exp(lambda_i), lambda from Eigen::EigenSolver (real) or ComplexEigenSolver
// (complex), against exp(tr A). The computed eigenvalues are exact for A + E with
// ||E||_F <= n u ||A||_F (backward stability of the QR algorithm), so |sum lambda - tr A| <=
// |tr E| <= n^{3/2} u ||A||_F however ill-conditioned single eigenvalues are (Jordan blocks): the
// trace is linear. tol = 8 u (2 n^{3/2} ||A||_F + n sum|a_ii| + 4n + 1), the second n^{3/2} term
// covering the summation of the eigenvalues (sum|lambda| <= sqrt(n) ||A||_F), 4n the n complex
// exponentials and products. condition = ||A||_F.
template <class Scalar>
IdentityCheck eigen(const Matrix<Scalar>& a);

// schur: complex Schur form A = Q T Q* (Eigen::ComplexSchur); prod_i exp(t_ii) against exp(tr A).
// Same backward-error model and tolerance as `eigen`. Detail: the backward error
// ||A - Q T Q*||_F / ||A||_F.
template <class Scalar>
IdentityCheck schur(const Matrix<Scalar>& a);

// liouville: integrates X' = A(t) X, X(0) = I, with A(t) = A0 + t A1 to t = 1 by Dormand-Prince
// 5(4) (controlled, absolute and relative tolerance eps = max(1e-12, 64 u)) and compares det X(1)
// with exp(tr A0 + tr A1 / 2) (Liouville's formula). The controller keeps each step's error
// estimate below eps (1 + |x_ij| + h |x_ij'|) per entry (h <= 1; 8u more for rounding), and an
// error made at time s grows by at most exp(mu (1 - s)) until t = 1 (mu = max(0, mu(A0)) +
// max(0, mu(A1)), mu the logarithmic 2-norm), so over N steps with ||X(t)||_F <= M
// ||X(1) - X_exact||_F <= N (eps + 8u)(n + (1 + ||A0||_F + ||A1||_F) M) e^mu, and the relative error
// of the determinant is at most ||X(1)^-1||_F times that. tol = that bound
// + 8 u (sqrt(n) kappa(X(1)) + n sum(|a0_ii| + |a1_ii|) + 1). Details: steps, ode_tolerance.
template <class Scalar>
IdentityCheck liouville(const Matrix<Scalar>& a0, const Matrix<Scalar>& a1);
// The constant-coefficient case A1 = 0: X(1) = exp(A). Detail: ||X(1) - expm A||_F / ||expm A||_F.
template <class Scalar>
IdentityCheck liouville(const Matrix<Scalar>& a);

// det-ode: f(t) = det exp(tA) satisfies f' = tr(A) f. At t = 0, 0.25, ..., 2 the central difference
// (f(t + h) - f(t - h)) / (2h f(t)) (ratios from slogdet, so nothing overflows) is compared with
// tr A. Truncation: g(s) = f(t + s) / f(t) = det exp(sA) is entire with |g(s)| <= exp(nu |s|),
// nu = n ||A||_F, so by Cauchy's estimate on |s| = r = 3 / nu the difference errs by at most
// (G / r) q^2 / (1 - q^2), G = e^3, q = h / r. Rounding: f(t +- h) carry relative errors delta =
// u (sqrt(n) kappa_t e^{2h||A||_F} + 32 ||(t + h) A||_1 + 1) (the `direct` model), giving
// delta e^{nu h} / h. h minimizes the sum: h = (delta r^3 / (2 G))^{1/3} (the u^{1/3} scaling),
// capped at r / 4. tol = truncation + 8 (rounding + delta_t |tr A| + n u sum|a_ii|). The reported
// sample is the one with the largest error / tolerance. Details: t, h.
template <class Scalar>
IdentityCheck det_ode(const Matrix<Scalar>& a);

// jacobi-jet: Jacobi's formula d/dt det X = det X tr(X^-1 X') (Magnus & Neudecker) with the
// derivative by forward-mode automatic differentiation (ceres::Jet): X(t) = expm(tA) at t = 1 is
// evaluated on Jets (for complex A, X' = X A is seeded), Gaussian elimination with partial
// pivoting on the Jet matrix gives d/dt ln det X = sum_i u_ii' / u_ii, which is compared with
// tr(X^-1 X') from an LU solve (both sides divided by det X, so nothing overflows). Both sides are
// exact for X and X' perturbed by sqrt(n) u relative to their norms, and
// |d tr(X^-1 X')| <= ||X^-1||_F ||X'||_F (kappa_F ||dX|| / ||X|| + ||dX'|| / ||X'||), so
// tol = 8 * 2 sqrt(n) u (kappa_F + 1) ||X^-1||_F ||X'||_F, kappa_F = ||X||_F ||X^-1||_F.
// Detail: ||X'_jet - X A||_F / ||X A||_F (the Jet derivative of expm). Needs Ceres (ODYN_HAVE_CERES);
// without it throws odyn::InvalidArgument.
template <class Scalar>
IdentityCheck jacobi_jet(const Matrix<Scalar>& a);
// The same on the polynomial path X(t) = X0 + t X1 + t^2 X2 at t.
template <class Scalar>
IdentityCheck jacobi_jet(const Matrix<Scalar>& x0, const Matrix<Scalar>& x1, const Matrix<Scalar>& x2,
                         const real_t<Scalar>& t);

// jacobi-fd: Jacobi's formula with a central difference: (det X(t + h) - det X(t - h)) / (2h det X(t))
// against tr(X^-1 X'), on X(t) = expm(tA) at t = 1 (X' = X A). With M1 = X^-1 X', M2 = X^-1 X2,
// g(s) = det X(t + s) / det X(t) = det(I + s M1 + s^2 M2) obeys |g(s)| <= exp(n (|s| ||M1||_F +
// |s|^2 ||M2||_F)); Cauchy's estimate bounds the truncation as in det-ode (r minimizes G / r^3), the
// rounding of det X(t +- h) is delta = kappa_F (sqrt(n) u + eta), eta the relative error of the
// computed X (32 ||tA||_1 u for expm, 3u (||X0|| + |t| ||X1|| + t^2 ||X2||) / ||X|| for the
// polynomial), and the right side errs by ||X^-1||_F ||X'||_F (kappa_F eta_X + eta_X'), as for
// jacobi-jet. Details: h.
template <class Scalar>
IdentityCheck jacobi_fd(const Matrix<Scalar>& a);
template <class Scalar>
IdentityCheck jacobi_fd(const Matrix<Scalar>& x0, const Matrix<Scalar>& x1, const Matrix<Scalar>& x2,
                        const real_t<Scalar>& t);

// limit: det((I + A/n)^n) = prod_i (1 + lambda_i / n)^n -> exp(tr A), n = 10^3 and 10^4 (10^2 and 10^3
// in float, where the rounding n u would swamp the O(1/n) term). The relative
// error e_n = det((I + A/n)^n) / exp(tr A) - 1 is computed as expm1(sum_i n log(1 + lambda_i / n) -
// tr A) with an accurate log(1 + z); lhs = n e_n is compared with its limit rhs = -tr(A^2) / 2.
// Exactly, n log(1 + z) - lambda = -lambda^2 / (2n) + R with |R| <= |lambda|^3 / (3 n^2 (1 - rho)),
// rho = max|lambda| / n, and |expm1(x) - x| <= x^2 e^{|x|} / 2, so
// tol = n (sum|lambda|^3 / (3 n^2 (1 - rho)) + x^2 e^{|x|} / 2)
//     + 8 u (n (4 sum|lambda| + 2 N^{3/2} ||A||_F + N sum|a_ii|) + N ||A||_F^2), N the matrix size,
// the second line the rounding of x (the eigen route's error of sum lambda included) amplified by n,
// and of tr(A^2). Both n must pass; the worse is reported. Details: e_n / e_10n (-> 10),
// max |n e_n / rhs - 1| over both n.
template <class Scalar>
IdentityCheck limit(const Matrix<Scalar>& a);

// log-trace: ln det B = tr ln B (the post's corollary) for B = expm(A): slogdet(B) against the trace
// of the principal logarithm (Eigen's MatrixBase::log() for float, double and complex; for mp50
// an inverse scaling and squaring on the complex Schur form with a Gregory series, Higham,
// Functions of Matrices, ch. 11). For real B only the real parts are compared (tr of the principal
// logarithm's imaginary part is a multiple of 2 pi; a real B = exp(A) has det > 0), for complex B
// the imaginary parts modulo 2 pi. The logarithm is exact for B + dB, ||dB||_F <= n u ||B||_F, and
// d tr ln B = tr(B^-1 dB), so tol = 8 u ((sqrt(n) + n) kappa + n sum|(ln B)_ii| + 1),
// kappa = ||B||_F ||B^-1||_F.
template <class Scalar>
IdentityCheck log_trace(const Matrix<Scalar>& a);
// The same for a symmetric (Hermitian) positive definite B, with log det B from Cholesky.
template <class Scalar>
IdentityCheck log_trace_spd(const Matrix<Scalar>& b);

// inverse: ||expm(A) expm(-A) - I||_F against 0. Each exponential has normwise relative error
// eta = u (32 ||A||_1 + 1) and the product adds n u ||X||_F ||Y||_F, so
// tol = 8 u (2 (32 ||A||_1 + 1) + n) kappa, kappa = ||e^A||_F ||e^-A||_F.
template <class Scalar>
IdentityCheck inverse(const Matrix<Scalar>& a);

// commuting: exp(A + B) = exp(A) exp(B) for B = 0.3 A^2 - 0.5 A + 0.2 I (a polynomial in A, so AB =
// BA): the relative difference ||e^{A+B} - e^A e^B||_F / ||e^{A+B}||_F must stay below
// tol = 8 u ((32 ||A + B||_1 + 1) + (32 (||A||_1 + ||B||_1) + 2 + n) ||e^A||_F ||e^B||_F / ||e^{A+B}||_F).
// The same with C = D + N (D = diag(1..n)/n, N the upper shift scaled to ||A||_F), which does not
// commute with A in general, must NOT hold: its difference must exceed 10 times its own tolerance
// (the identity is found to fail), unless ||[A, C]||_F is at rounding level (then A commutes with
// C and that half is skipped). Details: the non-commuting difference and tolerance,
// ||[A, B]||_F, ||[A, C]||_F.
template <class Scalar>
IdentityCheck commuting(const Matrix<Scalar>& a);

// det-perturbation: det(I + eps X) = 1 + eps tr X + c2 eps^2 + O(eps^3), c2 = (tr(X)^2 - tr(X^2)) / 2.
// det(I + eps X) = sum_k e_k(lambda) eps^k with |e_k(lambda)| = |tr C_k(X)| <= e_k(sigma) <=
// C(n, k) (nu / n)^k (C_k the k-th compound matrix, Maclaurin's inequality), nu = ||X||_* the nuclear
// norm. For eps = 10^(-k/2) / max(1, nu), k = 2 .. 2 (ceil(-log10(u) / 3) + 1),
// r(eps) = (det(I + eps X) - 1 - eps tr X) / eps^2 must equal c2 within
// tol(eps) = sum_{k=3}^{n} C(n, k) (nu / n)^k eps^(k-2)                    (the rest of the series)
//          + 8 u (((sqrt(n) + 1) kappa + 2n) |det(I + eps X)| + 1 + n eps sum|x_ii|) / eps^2  (rounding)
//          + 8 u n ||X||_F^2                                              (rounding of c2).
// Every eps must pass; the one with the smallest tolerance is reported. Details: eps, eps_values.
template <class Scalar>
IdentityCheck det_perturbation(const Matrix<Scalar>& x);

// ---- running the checks by name ----------------------------------------------------------------

enum class Route {
  direct,
  eigen,
  schur,
  liouville,
  det_ode,
  jacobi_jet,
  jacobi_fd,
  limit,
  log_trace,
  inverse,
  commuting,
  det_perturbation,
};

struct RouteInfo {
  Route route;
  std::string name;     // as on the command line: "direct", "det-ode", ...
  std::string summary;  // one line
};

// Every route, in the order above.
const std::vector<RouteInfo>& routes();
const std::string& to_string(Route route);
// Throws odyn::InvalidArgument for a name that is not a route.
Route parse_route(const std::string& name);

// Runs one route on A.
template <class Scalar>
IdentityCheck check(Route route, const Matrix<Scalar>& a);

// The scalar names accepted by scalar_name / the CLI: "float", "double", "complex", "mp50".
const std::vector<std::string>& scalar_names();
template <class Scalar>
std::string scalar_name();

// A test matrix of `family` (see test_matrices.hpp) in the scalar type. For complex scalars it is
// e^{i theta} U A U* with U Haar-unitary and theta uniform, which keeps the family's structure
// (nilpotent, Jordan blocks, normal, skew-Hermitian times a phase) and gives a complex trace.
template <class Scalar>
Matrix<Scalar> test_matrix(MatrixFamily family, int n, std::mt19937_64& rng, double scale = 1.0);

}  // namespace odyn::linalg::identities
