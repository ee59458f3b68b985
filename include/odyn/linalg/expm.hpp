// The matrix exponential exp(A) = sum_k A^k / k!, its Frechet derivative and condition number.
//
// Scaling and squaring with diagonal Pade approximants r_m = q_m^{-1} p_m and the degree and
// scaling selection of Al-Mohy & Higham, "A new scaling and squaring algorithm for the matrix
// exponential", SIAM J. Matrix Anal. Appl. 31(3), 2009 (Algorithm 3.1). For float and double, the
// Taylor polynomials of Bader, Blanes & Casas (2019) replace Pade where ||A||_1 <= theta_18 (no
// scaling) and, from n = 32 on, with scaling as well (no LU solve). The thresholds theta_m are
// derived at first use from the backward-error series of r_m for the scalar's unit roundoff, so
// every scalar type gets its own: float, double, long double, std::complex of these, ceres::Jet
// (forward-mode derivatives; include <ceres/jet.h> first) and odyn::mp50 (50 digits, which also
// uses Pade degrees above 13). expm first looks for structure with a direct answer: diagonal and
// 2 x 2 matrices in closed form, Hermitian matrices through their eigendecomposition, and
// lower-triangular matrices as transposed upper-triangular ones (exact diagonal).
#pragma once

#include <Eigen/Core>
#include <Eigen/Eigenvalues>
#include <Eigen/LU>
#include <Eigen/SVD>
#include <algorithm>
#include <array>
#include <boost/container/static_vector.hpp>
#include <cmath>
#include <complex>
#include <initializer_list>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "odyn/core/error.hpp"
#include "odyn/linalg/scalar.hpp"

namespace odyn::linalg {

// What an evaluation of expm cost and which approximant it used.
struct ExpmStats {
  int degree = 0;       // degree m of the approximant (0: a closed form was used: A = 0, diagonal or 2 x 2)
  bool taylor = false;  // the approximant is the Taylor polynomial T_m (no solve), else the Pade r_m
  int squarings = 0;    // s: r_m(A / 2^s) was squared s times
  int products = 0;     // n x n matrix products, squarings included (norm estimation excluded)
  int solves = 0;       // LU solves with n right-hand sides
};

namespace detail {

enum class Approximant { pade, taylor };

// The largest t such that the relative backward error of the approximant r of degree m satisfies
// ||h(X)|| / ||X|| <= u for every X with ||X|| <= t, where r(X) = exp(X + h(X)) (Higham 2005,
// eq. (2.5); for Taylor, Al-Mohy & Higham 2011, eq. (3.7)). Computed from 200+ terms of the series
// of h in 150-digit arithmetic; cached. For u = 2^-53 and Pade degrees 3, 5, 7, 9, 13 it reproduces
// Higham's table 1.495585217958292e-2, 2.539398330063230e-1, 9.504178996162932e-1,
// 2.097847961257068, 5.371920351148152.
mp50 backward_error_theta(Approximant kind, int m, const mp50& u);

template <class T>
struct is_complex : std::false_type {};
template <class T>
struct is_complex<std::complex<T>> : std::true_type {};

// The scalar type in which norms and choices are computed: the scalar with any Jet parts dropped.
template <class Scalar>
using plain_t = std::conditional_t<is_complex<Scalar>::value, std::complex<value_t<Scalar>>, value_t<Scalar>>;

template <class Scalar>
plain_t<Scalar> plain_part(const Scalar& x) {
  if constexpr (is_complex<Scalar>::value) {
    return plain_t<Scalar>(value_part(x.real()), value_part(x.imag()));
  } else {
    return value_part(x);
  }
}

template <class Scalar>
bool is_finite_scalar(const Scalar& x) {
  using boost::multiprecision::isfinite;
  using std::isfinite;
  if constexpr (is_complex<Scalar>::value) {
    return isfinite(value_part(x.real())) && isfinite(value_part(x.imag()));
  } else {
    return isfinite(value_part(x));
  }
}

// Whether every entry is finite (vectorised for float, double and long double).
template <class Derived>
bool all_finite(const Eigen::MatrixBase<Derived>& a) {
  using S = typename Derived::Scalar;
  if constexpr (std::is_floating_point_v<S>) {
    return (a.array() * S(0)).sum() == S(0);  // x * 0 is NaN exactly for x = +-inf or NaN
  } else {
    for (Eigen::Index j = 0; j < a.cols(); ++j)
      for (Eigen::Index i = 0; i < a.rows(); ++i)
        if (!is_finite_scalar(a(i, j))) return false;
    return true;
  }
}

template <class Derived>
void require_finite_entries(const Eigen::MatrixBase<Derived>& a, const char* where) {
  if (all_finite(a)) return;
  for (Eigen::Index j = 0; j < a.cols(); ++j)
    for (Eigen::Index i = 0; i < a.rows(); ++i)
      if (!is_finite_scalar(a(i, j)))
        throw InvalidArgument(std::string(where) + ": entry (" + std::to_string(i) + ", " + std::to_string(j) +
                              ") is not finite");
}

template <class Derived>
void require_square_matrix(const Eigen::MatrixBase<Derived>& a, const char* where) {
  if (a.rows() != a.cols())
    throw InvalidArgument(std::string(where) + ": expected a square matrix, got " + std::to_string(a.rows()) + "x" +
                          std::to_string(a.cols()));
}

// Thresholds, degrees and costs of the Pade approximants for a working precision V.
template <class V>
struct PadeTable {
  std::vector<int> degrees;                  // ascending; the last one is used with scaling
  std::vector<V> theta;                      // theta[i] for degrees[i]
  std::vector<double> log2_theta;            // log2 theta[i]
  std::vector<V> c_lead;                     // |c_{2m+1}| = (m!)^2 / ((2m)! (2m+1)!), the leading error coefficient
  std::vector<double> log2_c_lead;           // log2 |c_{2m+1}|
  std::vector<std::vector<V>> coefficients;  // b_0, ..., b_m = 1 of p_m, rounded once to V
  V u;
  double log2_u;

  const std::vector<V>& coefficients_of(int m) const {
    return coefficients[std::find(degrees.begin(), degrees.end(), m) - degrees.begin()];
  }

  static const PadeTable& get() {
    static const PadeTable table;
    return table;
  }

 private:
  PadeTable() {
    u = std::numeric_limits<V>::epsilon() / 2;
    log2_u = static_cast<double>(log2(mp50(u)));
    // Degree 13 is optimal for double (Higham 2005); at 50 digits theta_13 ~ 0.25 and higher
    // degrees cost fewer products per bit of accuracy.
    degrees = {3, 5, 7, 9, 13};
    if (mp50(u) < mp50(1e-25)) degrees = {3, 5, 7, 9, 13, 17, 21, 26, 30};
    for (int m : degrees) {
      mp50 t = backward_error_theta(Approximant::pade, m, mp50(u));
      // At the scaling degree, Al-Mohy & Higham 2009 (Section 3, Table 3.1) lower theta_13 from
      // 5.37 to 4.25 to limit the rounding errors in evaluating r_13; the same ratio is kept for
      // other precisions.
      if (m == degrees.back()) t *= mp50(4.25) / mp50("5.371920351148152");
      theta.push_back(static_cast<V>(t));
      log2_theta.push_back(static_cast<double>(log2(t)));
      mp50 fact_m = 1, fact_2m = 1;  // |c_{2m+1}| = (m!)^2 / ((2m)! (2m+1)!)
      for (int k = 1; k <= m; ++k) fact_m *= k;
      for (int k = 1; k <= 2 * m; ++k) fact_2m *= k;
      const mp50 c_m = fact_m * fact_m / (fact_2m * fact_2m * (2 * m + 1));
      c_lead.push_back(static_cast<V>(c_m));
      log2_c_lead.push_back(static_cast<double>(log2(c_m)));
      // b_j = (2m-j)! / (j! (m-j)!), normalised to b_m = 1 as in Higham 2005: integers, exact in
      // double up to m = 13.
      std::vector<V> b(m + 1);
      mp50 c = 1;
      b[m] = V(1);
      for (int j = m; j >= 1; --j) {  // b_{j-1} / b_j = j (2m-j+1) / (m-j+1)
        c = c * j * (2 * m - j + 1) / (m - j + 1);
        b[j - 1] = static_cast<V>(c);
      }
      coefficients.push_back(std::move(b));
    }
  }
};

// T_m(A) - I, T_m(A) = sum_{k<=m} A^k / k! for m in {1, 2, 4, 8, 12, 18}, from A, A^2 and A^3 (A^3
// used for m >= 12) with 0, 0, 1, 2, 2, 3 further products (Bader, Blanes & Casas, "Computing the
// matrix exponential with an optimized Taylor polynomial approximation", Mathematics 7(12), 2019,
// Section 3): products of linear combinations of I, A, A^2, A^3 (and A^6) whose coefficients solve
// the order conditions. m = 8 has their closed form; for m = 12 and 18 the free parameters are
// chosen for small rounding errors. The identity is left out so that the caller adds it last,
// exactly. `ops` supplies the algebra on M: lin(c0, {{&X, c}, ...}) = c0 I + sum c X, mul(X, Y) = X Y
// and mul_add(R, X, Y): R += X Y (no temporary for the product); shared by odyn::linalg::expm and
// the batched odyn::torch::expm.
template <class M, class Ops>
M taylor_tail(int m, const M& a, const M& a2, const M& a3, const Ops& ops) {
  if (m == 1) return a;
  if (m == 2) return ops.lin(0, {{&a, 1}, {&a2, 0.5}});
  if (m == 4) {
    M r = ops.lin(0, {{&a, 1}});
    ops.mul_add(r, a2, ops.lin(0.5, {{&a, 1.0 / 6}, {&a2, 1.0 / 24}}));
    return r;
  }
  if (m == 8) {
    const double r = std::sqrt(177.0);
    M a4 = ops.mul(a2, ops.lin(0, {{&a, (1 + r) / 132}, {&a2, (1 + r) / 528}}));
    M x = ops.lin(0, {{&a2, (857 - 58 * r) / 630}, {&a, 1}});
    ops.mul_add(x, ops.lin(0, {{&a2, 2.0 / 3}, {&a4, 1}}),
                ops.lin((29 * r - 271) / 210, {{&a, 11 * (r - 1) / 840}, {&a2, 11 * (r - 9) / 3360}, {&a4, (89 - r) / 2240}}));
    return x;
  }
  if (m == 12) {
    const M b4 =
        ops.lin(0, {{&a, 0.13181061013830184016}, {&a2, 0.020278555405892590793}, {&a3, 0.0067595184686308635978}});
    M a6 = ops.lin(0, {{&a, -0.0076405129192040958014}, {&a2, 0.0977159073924750564}, {&a3, 0.0069051621053568787468}});
    ops.mul_add(a6, b4, b4);
    const M b2 = ops.lin(
        5.5, {{&a6, 1}, {&a, 1.3246048988083484785}, {&a2, 0.0033929630357050783773}, {&a3, 0.0094921316524447275116}});
    M x = ops.lin(0, {{&a, 1.0420228210556225269}, {&a2, -0.12293241045176781351}, {&a3, -0.05137802896328095826}});
    ops.mul_add(x, b2, a6);
    return x;
  }
  const M a6 = ops.mul(a3, a3);
  const M b1 =
      ops.lin(0, {{&a, 1.4059892894192666241e-6}, {&a2, 1.1247914315354132993e-7}, {&a3, 1.2497682572615703325e-8}});
  const M b5 = ops.lin(0, {{&a, 38083.5}, {&a2, 17472.375}, {&a6, 1}});
  M a9 = ops.lin(0, {{&a, -0.067640451907138190756},
                     {&a2, 0.014051137073447324129},
                     {&a3, 0.0099730881364726213674},
                     {&a6, 1.1916724786863152079e-6}});
  ops.mul_add(a9, b1, b5);
  const M b3 = ops.lin(-11.148502971774368372, {{&a9, 1},
                                                {&a, 1.6801581387890619718},
                                                {&a2, 0.05717798464788655127},
                                                {&a3, -0.0069821012248805208429},
                                                {&a6, 0.000033497501708607053831}});
  M x = ops.lin(0, {{&a, 0.24591022090110863764},
                    {&a2, 1.362667083208190483},
                    {&a3, 0.49892102569169427267},
                    {&a6, -0.00064092743005853663879}});
  ops.mul_add(x, b3, a9);
  return x;
}

// Products taylor_tail uses, A^2 and A^3 included.
inline int taylor_products(int m) {
  return m == 1 ? 0 : m == 2 ? 1 : m == 4 ? 2 : m == 8 ? 3 : m == 12 ? 4 : 5;
}

// The Taylor degrees of taylor_tail and their thresholds: T_m(A) = exp(A + dA) with ||dA|| <= u ||A||
// whenever ||A|| <= theta_m (Al-Mohy & Higham 2011, eq. (3.7)). Only for float and double: the
// coefficients of taylor_tail carry 20 digits.
template <class V>
struct FastTaylorTable {
  static constexpr std::array<int, 6> degrees = {1, 2, 4, 8, 12, 18};
  std::array<V, 6> theta;

  static const FastTaylorTable& get() {
    static const FastTaylorTable table;
    return table;
  }

 private:
  FastTaylorTable() {
    const mp50 u(std::numeric_limits<V>::epsilon() / 2);
    for (std::size_t i = 0; i < degrees.size(); ++i)
      theta[i] = static_cast<V>(backward_error_theta(Approximant::taylor, degrees[i], u));
  }
};

// The number of powers B, B^2, ..., B^p of B = A^2 to form for the Paterson-Stockmeyer evaluation of
// the even and odd parts of p_m (polynomials of degree floor(m/2) in B) with the fewest products:
// p products for the powers, 2 per Horner step in B^p, one for U = A W. Gives 2, 3, 4, 5, 6
// products for m = 3, 5, 7, 9, 13, as in Higham 2005.
inline int pade_power_count(int m) {
  const int k = m / 2;
  int best_p = 1, best_cost = 1 << 30;
  for (int p = 1; p <= std::max(1, k); ++p) {
    const int steps = std::max(0, (k - p + p - 1) / p);
    const int cost = p + 2 * steps + 1;
    if (cost < best_cost) best_cost = cost, best_p = p;
  }
  return best_p;
}
inline int pade_products(int m) {
  const int p = pade_power_count(m), k = m / 2;
  return p + 2 * std::max(0, (k - p + p - 1) / p) + 1;
}

// 1-norm (max column sum) of a matrix of plain scalars.
template <class Derived>
auto norm1(const Eigen::MatrixBase<Derived>& a) {
  using std::abs;
  using R = typename Eigen::NumTraits<typename Derived::Scalar>::Real;
  if constexpr (std::is_floating_point_v<typename Derived::Scalar>) {
    if (a.size() == 0) return R(0);
    return a.cwiseAbs().colwise().sum().maxCoeff();
  }
  R best(0);
  for (Eigen::Index j = 0; j < a.cols(); ++j) {
    R s(0);
    for (Eigen::Index i = 0; i < a.rows(); ++i) s += abs(a(i, j));
    if (s > best) best = s;
  }
  return best;
}

// Estimates ||B||_1 of an n x n operator given by x -> B x and x -> B^* x (Hager 1984; Higham,
// ACM TOMS 14(4), 1988, Algorithm 4.1, with the alternating-sign safeguard): a lower bound that is
// usually within a factor 3 and costs about 4 to 10 products with vectors.
template <class Vec, class Apply, class ApplyAdjoint>
auto onenorm_estimate(Eigen::Index n, Apply&& apply, ApplyAdjoint&& apply_adjoint) {
  using S = typename Vec::Scalar;
  using R = typename Eigen::NumTraits<S>::Real;
  using std::abs;
  Vec x = Vec::Constant(n, S(R(1) / R(static_cast<double>(n))));
  R est(0);
  Eigen::Index last = -1;
  for (int it = 0; it < 5; ++it) {
    const Vec y = apply(x);
    R ny(0);
    for (Eigen::Index i = 0; i < n; ++i) ny += abs(y(i));
    if (it > 0 && ny <= est) break;
    est = ny;
    Vec xi(n);
    for (Eigen::Index i = 0; i < n; ++i) {
      const R ay = abs(y(i));
      xi(i) = ay == R(0) ? S(1) : S(y(i) / ay);
    }
    const Vec z = apply_adjoint(xi);
    Eigen::Index j = 0;
    R zmax(-1);
    for (Eigen::Index i = 0; i < n; ++i)
      if (abs(z(i)) > zmax) zmax = abs(z(i)), j = i;
    if (j == last) break;
    last = j;
    x.setZero();
    x(j) = S(1);
  }
  Vec alt(n);  // alternating signs catch matrices the iteration underestimates
  for (Eigen::Index i = 0; i < n; ++i)
    alt(i) = S(R((i % 2 ? -1.0 : 1.0) *
                 (1.0 + static_cast<double>(i) / static_cast<double>(std::max<Eigen::Index>(1, n - 1)))));
  const Vec y = apply(alt);
  R ny(0);
  for (Eigen::Index i = 0; i < n; ++i) ny += abs(y(i));
  return std::max(est, R(2) * ny / R(3 * static_cast<double>(n)));
}

// log2 of x as a double, for any real scalar.
template <class R>
double log2_value(const R& x) {
  using std::log2;
  return static_cast<double>(log2(x));
}

// log2 ||B^k||_1 for B = |A| / ||A||_1, as the largest entry of (B^T)^k 1: k products of a vector
// with B^T, whose entries never exceed 1 (rescaled when they all fall below 2^-64, so they cannot
// underflow). After i steps the value lies between two bounds. Upper: with the exact norms
// beta_j = ||B^j||_1, j <= i, ||B^k||_1 <= beta_i^q beta_r for k = q i + r (submultiplicativity).
// Lower: ||B^k||_1 >= rho(B)^k, and rho(B) >= min_j (B^T v)_j / v_j over v_j > 0 for any v >= 0
// (Collatz-Wielandt). The chain stops as soon as enough(lower, upper) holds and returns the upper
// bound; at i = k both are exact. For B with rho(B) < 1 the bounds close in a few steps, not k.
template <class RealMat, class Enough>
double log2_norm1_normalised_power(const RealMat& bt, int k, Enough&& enough) {
  using R = typename RealMat::Scalar;
  using Vec = Eigen::Matrix<R, RealMat::RowsAtCompileTime, 1, 0, RealMat::MaxRowsAtCompileTime, 1>;
  constexpr double kMinusInfinity = -std::numeric_limits<double>::infinity();
  const R tiny = R(5.421010862427522e-20);  // 2^-64
  constexpr int kMaxPower = 64;             // k = 2m + 1 <= 61 for the Pade degrees m <= 30
  if (k > kMaxPower) throw std::logic_error("log2_norm1_normalised_power: power above 64");
  std::array<double, kMaxPower + 1> log2_beta;
  log2_beta[0] = 0;
  Vec v = Vec::Ones(bt.rows()), next(bt.rows());
  double log_shrink = 0, upper = 0, lower = kMinusInfinity;
  for (int i = 1; i <= k && !enough(lower, upper); ++i) {
    next.noalias() = bt * v;
    const R big = next.maxCoeff();
    if (!(big > R(0))) return kMinusInfinity;  // B^i = 0
    const R rho_low = (v.array() > R(0)).select(next.array() / v.array(), R(1)).minCoeff();
    if (rho_low > R(0)) lower = std::max(lower, k * log2_value(rho_low));
    double log2_big = log2_value(big);
    if (big < tiny) {
      next /= big;
      log_shrink += log2_big;
      log2_big = 0;
    }
    v.swap(next);
    log2_beta[i] = log_shrink + log2_big;
    upper = std::min(upper, (k / i) * log2_beta[i] + log2_beta[k % i]);
    if (i == k) lower = upper;
  }
  return upper;
}

// Solves A X = B for small n, overwriting B with X: Gaussian elimination with partial pivoting on
// the row-major [A | B], so that each elimination and substitution step updates a contiguous row
// segment. The operations are those of an LU factorisation with partial pivoting followed by the
// two triangular solves; for n up to a few dozen they take a fraction of the time of Eigen's
// blocked routines, which are tuned for large n.
template <class Mat>
void solve_small(const Mat& a, Mat& b) {
  using S = typename Mat::Scalar;
  constexpr int kMaxRows = Mat::MaxRowsAtCompileTime;
  using Augmented = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor, kMaxRows,
                                  kMaxRows == Eigen::Dynamic ? Eigen::Dynamic : 2 * kMaxRows>;
  using std::abs;
  const Eigen::Index n = a.rows(), width = 2 * n;
  Augmented w(n, width);
  w.leftCols(n) = a;
  w.rightCols(n) = b;
  for (Eigen::Index k = 0; k < n; ++k) {
    Eigen::Index p = k;
    auto best = abs(w(k, k));
    for (Eigen::Index i = k + 1; i < n; ++i)
      if (abs(w(i, k)) > best) best = abs(w(i, k)), p = i;
    if (p != k) std::swap_ranges(&w(k, k), &w(k, 0) + width, &w(p, k));
    const S* pivot_row = &w(k, 0);
    for (Eigen::Index i = k + 1; i < n; ++i) {
      S* row = &w(i, 0);
      const S l = row[k] / pivot_row[k];
      for (Eigen::Index j = k + 1; j < width; ++j) row[j] -= l * pivot_row[j];
    }
  }
  for (Eigen::Index k = n - 1; k >= 0; --k) {
    S* xk = &w(k, n);
    const S pivot = w(k, k);
    for (Eigen::Index j = 0; j < n; ++j) xk[j] /= pivot;
    for (Eigen::Index i = 0; i < k; ++i) {
      S* row = &w(i, n);
      const S u = w(i, k);
      for (Eigen::Index j = 0; j < n; ++j) row[j] -= u * xk[j];
    }
  }
  b = w.rightCols(n);
}

// sinh(z) / z, accurate near 0 and for any scalar.
template <class S>
S sinch(const S& z) {
  using std::abs;
  using std::pow;
  using std::sinh;
  using V = value_t<S>;
  static const V cutoff = V(pow(V(39916800) * (std::numeric_limits<V>::epsilon() / 2), V(0.1)));
  if (value_part(abs(plain_part(z))) < cutoff) {  // Taylor series to z^8: error below u
    const S z2 = z * z;
    return S(1) + z2 / V(6) * (S(1) + z2 / V(20) * (S(1) + z2 / V(42) * (S(1) + z2 / V(72))));
  }
  return sinh(z) / z;
}

// exp of the 2x2 upper-triangular [[l1, t], [0, l2]]: the (1,2) entry
// t (e^l1 - e^l2) / (l1 - l2) = t e^{(l1+l2)/2} sinch((l1-l2)/2) (Al-Mohy & Higham 2009, eq. (2.2)).
template <class S>
S exp_superdiagonal(const S& l1, const S& l2, const S& t) {
  using std::abs;
  using std::exp;
  const S half_diff = (l1 - l2) / value_t<S>(2);
  if (value_part(abs(plain_part(half_diff))) > value_t<S>(1)) return t * (exp(l1) - exp(l2)) / (l1 - l2);
  return t * exp((l1 + l2) / value_t<S>(2)) * sinch(half_diff);
}

// Whether every entry below the diagonal is exactly zero; exits at the first nonzero one.
template <class Derived>
bool zero_below_diagonal(const Eigen::MatrixBase<Derived>& a) {
  for (Eigen::Index j = 0; j < a.cols(); ++j)
    for (Eigen::Index i = j + 1; i < a.rows(); ++i)
      if (a(i, j) != typename Derived::Scalar(0)) return false;
  return true;
}

template <class Derived>
[[noreturn]] void throw_overflow(const Eigen::MatrixBase<Derived>& a) {
  const double norm = static_cast<double>(norm1(a));
  throw OverflowError("expm: the result overflows the scalar type (||A||_1 = " + std::to_string(norm) + ")");
}

// alpha^2 + b c; for float, double and long double with the rounding error of b c added back
// (fma), so that the cancellation alpha^2 ~ -b c loses nothing beyond one rounding of the sum.
template <class S>
S square_plus_product(const S& alpha, const S& b, const S& c) {
  if constexpr (std::is_floating_point_v<S>) {
    const S bc = b * c;
    return std::fma(alpha, alpha, bc) + std::fma(b, c, -bc);
  } else {
    return alpha * alpha + b * c;
  }
}

// exp of a 2 x 2 matrix in closed form (Bernstein & So, IEEE Trans. Automat. Control 38(8), 1993).
// With mu = tr(A)/2 and M = A - mu I = [[alpha, b], [c, -alpha]], M^2 = delta^2 I with
// delta^2 = alpha^2 + bc, so exp(A) = e^mu (cosh(delta) I + sinh(delta)/delta M). cosh and sinh/delta
// are even in delta: power series in delta^2 for |delta^2| <= 1, cos and sin for real delta^2 < -1,
// and for real delta > 1 the exponentials e^{mu +- delta} with the diagonal written as
// (e^{mu+delta} (delta +- alpha) + e^{mu-delta} (delta -+ alpha)) / (2 delta), delta - |alpha| =
// bc / (delta + |alpha|), which neither overflows early nor cancels.
template <class Mat>
Mat exp_2x2(const Mat& a) {
  using S = typename Mat::Scalar;
  using V = value_t<S>;
  using std::abs;
  using std::cos;
  using std::cosh;
  using std::exp;
  using std::sin;
  using std::sinh;
  using std::sqrt;
  const S b = a(0, 1), c = a(1, 0);
  const S mu = (a(0, 0) + a(1, 1)) / V(2), alpha = (a(0, 0) - a(1, 1)) / V(2);
  const S z = square_plus_product(alpha, b, c);
  Mat x(2, 2);
  const auto assemble = [&](const S& ch, const S& sh) {  // e^mu cosh(delta), e^mu sinh(delta)/delta
    x(0, 0) = ch + sh * alpha;
    x(1, 1) = ch - sh * alpha;
    x(0, 1) = sh * b;
    x(1, 0) = sh * c;
    return x;
  };
  if (value_part(abs(plain_part(z))) <= V(1)) {
    S ch(1), sh(1), term(1);
    const V tiny = std::numeric_limits<V>::epsilon() / V(8);
    for (int k = 1; k <= 60; ++k) {  // term = z^k / (2k)!
      term = term * z / V((2 * k - 1) * (2 * k));
      ch += term;
      sh += term / V(2 * k + 1);
      if (value_part(abs(plain_part(term))) <= tiny) break;
    }
    const S e = exp(mu);
    return assemble(e * ch, e * sh);
  }
  if constexpr (is_complex<S>::value) {
    const S delta = sqrt(z);
    if (abs(delta.real()) <= V(1)) {
      const S e = exp(mu);
      return assemble(e * cosh(delta), e * sinh(delta) / delta);
    }
    const S ep = exp(mu + delta), em = exp(mu - delta);
    return assemble((ep + em) / V(2), (ep - em) / (V(2) * delta));
  } else {
    if (value_part(z) < V(0)) {
      const S w = sqrt(-z), e = exp(mu);
      return assemble(e * cos(w), e * sin(w) / w);
    }
    const S delta = sqrt(z);
    const S ep = exp(mu + delta), em = exp(mu - delta);
    const S big = delta + abs(alpha), small = b * c / big;  // delta + |alpha|, delta - |alpha|
    const bool positive = value_part(alpha) >= V(0);
    const S plus = positive ? big : small, minus = positive ? small : big;  // delta + alpha, delta - alpha
    const S two_delta = V(2) * delta;
    x(0, 0) = (ep * plus + em * minus) / two_delta;
    x(1, 1) = (ep * minus + em * plus) / two_delta;
    x(0, 1) = (ep - em) / two_delta * b;
    x(1, 0) = (ep - em) / two_delta * c;
    return x;
  }
}

// Scaling and squaring for exp(A) and, when `e` is given, L(A, E) (Al-Mohy & Higham 2009b,
// Algorithm 6.4, with the degree and scaling choice of Al-Mohy & Higham 2009, Algorithm 3.1).
template <class Mat>
class ScalingSquaring {
 public:
  using S = typename Mat::Scalar;
  using V = value_t<S>;
  using P = plain_t<S>;
  using PlainMat = Eigen::Matrix<P, Mat::RowsAtCompileTime, Mat::ColsAtCompileTime, 0, Mat::MaxRowsAtCompileTime,
                                 Mat::MaxColsAtCompileTime>;
  using PlainVec = Eigen::Matrix<P, Mat::RowsAtCompileTime, 1, 0, Mat::MaxRowsAtCompileTime, 1>;
  using RealMat = Eigen::Matrix<V, Mat::RowsAtCompileTime, Mat::ColsAtCompileTime, 0, Mat::MaxRowsAtCompileTime,
                                Mat::MaxColsAtCompileTime>;

  // At most 8 powers (degree 30 uses 5): fixed capacity, no heap allocation for small matrices.
  template <class T>
  using Few = boost::container::static_vector<T, 9>;
  // The even or odd coefficients of p_m (m <= 30).
  using Coefficients = boost::container::static_vector<V, 16>;

  // Up to this order exp(A) with ||A||_1 > theta_18 uses Pade r_13 with scaling, from it on Taylor T_18
  // with scaling: from n = 32 on it took 0.46 to 0.78 of the Pade time, at n = 16 the same (measured,
  // n = 16 ... 512, on random matrices with norms 10 and 100; see scaled_taylor).
  static constexpr Eigen::Index kScaledTaylorFrom = 32;

  // `scaled_taylor_from`: the order from which the scaled Taylor path replaces the scaled Pade one.
  ScalingSquaring(const Mat& a, const Mat* e, Eigen::Index scaled_taylor_from = kScaledTaylorFrom)
      : a_(a), e_(e), n_(a.rows()), table_(PadeTable<V>::get()), scaled_taylor_from_(scaled_taylor_from) {}

  // Returns exp(A); stores L(A, E) in *frechet when a direction was given.
  Mat run(Mat* frechet, ExpmStats& stats) {
    stats = ExpmStats{};
    if (n_ == 0 || exactly_zero_below(0)) {
      if (frechet) *frechet = *e_;
      return Mat::Identity(n_, n_);
    }
    PlainMat pa_copy;
    norm_a_ = V(norm1(plain_ref(a_, pa_copy)));
    if constexpr (kHasTaylor) {
      if (!frechet && norm_a_ <= FastTaylorTable<V>::get().theta.back()) return taylor(stats);
      if constexpr (std::is_same_v<S, P>) {
        if (!frechet && n_ >= scaled_taylor_from_) return scaled_taylor(stats);
      }
    }
    choose(stats);
    const int m = stats.degree, s = stats.squarings;
    const V scale = ldexp_value(V(1), -s);
    const int p = pade_power_count(m);
    // Powers of B = As^2, scaled in place from the unscaled ones when these are finite and stay
    // nonzero after scaling.
    Few<Mat>& powers = raw_powers_;
    Few<Mat> dpowers;
    const int formed = raw_powers_ok_ ? static_cast<int>(raw_count_) : 1;
    powers.resize(p + 1);
    for (int k = 1; k <= p; ++k) {
      const V factor = ldexp_value(V(1), -2 * k * s);
      if (k < formed && factor > V(0)) {
        if (s > 0) powers[k] = powers[k] * factor;
      } else {
        powers[k] = k == 1 ? Mat(Mat(a_ * scale) * Mat(a_ * scale)) : Mat(powers[k - 1] * powers[1]);
        ++stats.products;
      }
    }
    Mat as, es;
    if (frechet) {  // derivatives of the powers: d(B^k) = B d(B^{k-1}) + dB B^{k-1}
      as = a_ * scale;
      es = *e_ * scale;
      dpowers.resize(p + 1);
      dpowers[1] = as * es + es * as;
      stats.products += 2;
      for (int k = 2; k <= p; ++k) {
        dpowers[k] = powers[1] * dpowers[k - 1] + dpowers[1] * powers[k - 1];
        stats.products += 2;
      }
    }
    const std::vector<V>& b = table_.coefficients_of(m);
    const int kmax = m / 2;
    Coefficients even(kmax + 1), odd(kmax + 1);
    for (int k = 0; k <= kmax; ++k) {
      even[k] = b[2 * k];
      odd[k] = 2 * k + 1 <= m ? b[2 * k + 1] : V(0);
    }
    // One n x n workspace serves the Horner steps, the LU factors and the squarings: with few
    // allocations, large matrices do not return memory to the system between calls.
    Mat ws(n_, n_), dv, dw;
    const Mat v = horner(even, powers, dpowers, frechet ? &dv : nullptr, ws, stats);
    const Mat w = horner(odd, powers, dpowers, frechet ? &dw : nullptr, ws, stats);
    Mat u = std::move(powers[1]);  // B's storage, no longer needed
    if (s > 0) {
      ws = a_ * scale;
      u.noalias() = ws * w;
    } else {
      u.noalias() = a_ * w;
    }
    ++stats.products;
    // r_m = (V - U)^{-1} (V + U) = I + 2 (V - U)^{-1} U: the identity is added exactly, so rounding
    // errors of the solve are relative to the part r_m - I, which is small when ||As|| is.
    ws = v - u;
    Mat x = std::move(u);  // x <- (V - U)^{-1} U, in place
    std::optional<Eigen::PartialPivLU<Eigen::Ref<Mat>>> lu;  // kept for the Frechet derivative
    if (frechet || Mat::RowsAtCompileTime != Eigen::Dynamic || n_ > kSmallSolveUpTo) {
      lu.emplace(ws);  // factorised in place
      x = lu->permutationP() * x;
      lu->matrixLU().template triangularView<Eigen::UnitLower>().solveInPlace(x);
      lu->matrixLU().template triangularView<Eigen::Upper>().solveInPlace(x);
    } else {
      solve_small(ws, x);
    }
    x = x * V(2);
    x.diagonal().array() += S(1);
    ++stats.solves;
    Mat l;
    if (frechet) {
      const Mat du = as * dw + es * w;
      stats.products += 3;  // du (2) and (dv - du) x (1)
      l = lu->solve(Mat(du + dv + (du - dv) * x));
      ++stats.solves;
    }
    // Exact diagonal recomputation needs A exactly upper triangular (for Jets, derivatives too).
    const bool triangular = !frechet && exactly_zero_below(1);
    if (triangular) fix_triangular(x, s);
    square_up(x, ws, s, triangular, frechet ? &l : nullptr, stats);  // the LU factors are no longer needed
    check_overflow(x, frechet ? &l : nullptr);
    if (frechet) *frechet = l;
    return x;
  }

 private:
  // k = 0: whether A = 0 exactly; k = 1: whether A is exactly upper triangular. Always false for
  // Jets, whose derivative parts a comparison would ignore.
  bool exactly_zero_below(Eigen::Index k) const {
    if constexpr (!std::is_same_v<S, P>) {
      return false;
    } else {
      return k == 0 ? a_.isZero(0) : zero_below_diagonal(a_);
    }
  }

  static V ldexp_value(const V& x, int e) {
    using boost::multiprecision::ldexp;
    using std::ldexp;
    return V(ldexp(x, e));
  }

  // x <- x^(2^s) and l <- its Frechet derivative (if given), with `square` as workspace; for
  // triangular A the diagonal and superdiagonal are recomputed exactly after each squaring.
  void square_up(Mat& x, Mat& square, int s, bool triangular, Mat* l, ExpmStats& stats) const {
    for (int i = s - 1; i >= 0; --i) {
      if (l) {
        *l = Mat(x * *l + *l * x);
        stats.products += 2;
      }
      square.noalias() = x * x;
      x.swap(square);
      ++stats.products;
      if (triangular) fix_triangular(x, i);
    }
  }

  // Paterson-Stockmeyer: sum_i coef[i] B^i = c_0(B) + B^p (c_1(B) + B^p (c_2(B) + ...)) with
  // c_0 = sum_{i<=p} coef[i] B^i and, for j >= 1, c_j = sum_{1<=i<=p} coef[jp+i] B^i: the layout of
  // Higham 2005, eq. (2.3), constant and B^p terms added outside the products.
  Mat horner(const Coefficients& coef, const Few<Mat>& powers, const Few<Mat>& dpowers, Mat* d, Mat& next,
             ExpmStats& stats) const {
    const int k = static_cast<int>(coef.size()) - 1;
    const int p = static_cast<int>(powers.size()) - 1;
    const int steps = std::max(0, (k - p + p - 1) / p);
    // Terms are added from the highest power down and the identity last: the terms coef[i] B^i
    // shrink with i, so each sum starts from its smallest terms. Adding them in the reverse order
    // gave forward errors up to 2x larger on random matrices with ||A||_1 = 300.
    // One pass over the entries, three terms at a time.
    const auto add_chunk = [&](Mat& c, int j, const Few<Mat>& basis, bool with_identity) {
      int i = std::min(p, k - j * p);
      for (; i >= 3; i -= 3)
        c = ((c + basis[i] * coef[j * p + i]) + basis[i - 1] * coef[j * p + i - 1]) +
            basis[i - 2] * coef[j * p + i - 2];
      if (i == 2) c = (c + basis[2] * coef[j * p + 2]) + basis[1] * coef[j * p + 1];
      if (i == 1) c += basis[1] * coef[j * p + 1];
      if (j == 0 && with_identity) c.diagonal().array() += S(coef[0]);
    };
    const auto chunk = [&](int j, const Few<Mat>& basis, bool with_identity) {
      Mat c = Mat::Zero(n_, n_);
      add_chunk(c, j, basis, with_identity);
      return c;
    };
    Mat r = chunk(steps, powers, true);
    Mat dr;
    if (d) dr = chunk(steps, dpowers, false);
    for (int j = steps - 1; j >= 0; --j) {
      if (d) {
        dr = Mat(chunk(j, dpowers, false) + dpowers[p] * r + powers[p] * dr);
        stats.products += 2;
      }
      next.noalias() = powers[p] * r;
      add_chunk(next, j, powers, true);
      r.swap(next);
      ++stats.products;
    }
    if (d) *d = dr;
    return r;
  }

  // Scratch matrices for the Taylor paths. Where Mat lives on the heap they are carved out of one
  // allocation: separate n x n temporaries add up past glibc's trim threshold, so every return hands
  // them back to the system and the next call faults them in again page by page, which cost 25-30%
  // of the time of expm at n = 512 (measured). A single block raises glibc's dynamic mmap threshold
  // to its size and is then reused from the heap (up to 32 MiB: n = 682 for double).
  class Scratch {
   public:
    static constexpr bool kPooled = Mat::MaxRowsAtCompileTime == Eigen::Dynamic;
    using Slot = std::conditional_t<kPooled, Eigen::Map<Mat>, Mat>;

    Scratch(Eigen::Index n, int count) : n_(n) {
      if constexpr (kPooled) block_.resize(n * n * count);
    }
    Slot take() {
      if constexpr (kPooled) {
        if (next_ + n_ * n_ > block_.size()) throw std::logic_error("expm: Taylor scratch exhausted");
        Slot slot(block_.data() + next_, n_, n_);
        next_ += n_ * n_;
        return slot;
      } else {
        return Mat(n_, n_);
      }
    }
    // x as a Slot, for reading only (taylor_tail does not write to its inputs).
    Slot view(const Mat& x) const {
      if constexpr (kPooled) {
        return Slot(const_cast<S*>(x.data()), n_, n_);
      } else {
        return x;
      }
    }

   private:
    Eigen::Index n_, next_ = 0;
    Eigen::Matrix<S, Eigen::Dynamic, 1> block_;
  };
  using Slot = typename Scratch::Slot;
  // Slots taylor_tail may take (m = 18), plus A^2, A^3 and 2^-s A.
  static constexpr int kTaylorSlots = 9;

  // The algebra taylor_tail needs, on scratch slots. A linear combination is formed column by
  // column, so that each term is read once and the column being summed stays in cache.
  struct TaylorOps {
    Scratch& scratch;
    Slot lin(double c0, std::initializer_list<std::pair<const Slot*, double>> terms) const {
      Slot r = scratch.take();
      for (Eigen::Index j = 0; j < r.cols(); ++j) {
        auto col = r.col(j);
        auto t = terms.begin();
        col = t->first->col(j) * V(t->second);
        for (++t; t != terms.end(); ++t) col += t->first->col(j) * V(t->second);
        if (c0 != 0) col(j) += S(V(c0));
      }
      return r;
    }
    Slot mul(const Slot& x, const Slot& y) const {
      Slot r = scratch.take();
      r.noalias() = x * y;
      return r;
    }
    void mul_add(Slot& r, const Slot& x, const Slot& y) const { r.noalias() += x * y; }
  };

  // exp(A) as T_m(A): no scaling, no solve, and 0 to 5 products where the Pade approximant of the
  // same accuracy needs 2 to 6 and a solve. m is the smallest degree with min(||A||_1, alpha_2) <=
  // theta_m, alpha_2 = max(d_2, d_3), d_j = ||A^j||_1^{1/j} (Al-Mohy & Higham 2009, Thm 4.2, for the
  // backward error of T_m, a series starting at A^{m+1}). d_2 comes from A^2, which every m >= 2
  // needs; d_3 from A^3 once T_12 or T_18 is still in question (both use A^3), before that from the
  // bound ||A^3||_1 <= ||A^2||_1 ||A||_1. Where ||A^2||_1 is well below ||A||_1^2 this saves one or
  // two products (T_8 instead of T_12 at ||A||_1 = 0.1 for a random 512 x 512 matrix).
  Mat taylor(ExpmStats& stats) const {
    using std::max;
    const auto& table = FastTaylorTable<V>::get();
    // The smallest index j < upto with alpha_2 <= theta_j, tested without roots (cbrt alone took
    // a third of the time at n = 3): ||A^2||_1 <= theta^2 and ||A^3||_1 (or its bound) <= theta^3.
    const auto first_admissible = [&](std::size_t upto, V norm2, V norm3) {
      std::size_t j = 0;
      for (; j < upto; ++j) {
        const V t = table.theta[j];
        if (norm2 <= t * t && norm3 <= t * t * t) break;
      }
      return j;
    };
    constexpr std::size_t kIndex2 = 1, kIndex12 = 4;  // the first degrees using A^2 and A^3
    static_assert(FastTaylorTable<V>::degrees[kIndex2] == 2 && FastTaylorTable<V>::degrees[kIndex12] == 12);
    std::size_t i = 0;
    while (norm_a_ > table.theta[i]) ++i;
    Scratch scratch(n_, kTaylorSlots);
    const Slot a = scratch.view(a_);
    Slot a2 = scratch.take(), a3 = scratch.take();
    if (i >= kIndex2) a2.noalias() = a * a;
    bool have_a3 = false;
    // Matrices on the stack (n <= 8) skip the test: it cost more than the product it could save
    // (n = 3: 105 instead of 136 ns per call).
    if constexpr (std::is_same_v<S, P> && Scratch::kPooled) {
      if (i > kIndex2) {
        const V norm2 = V(norm1(a2));
        i = max(kIndex2, first_admissible(i, norm2, norm2 * norm_a_));
        if (i >= kIndex12) {
          a3.noalias() = a2 * a;
          have_a3 = true;
          i = max(kIndex12, first_admissible(i, norm2, V(norm1(a3))));
        }
      }
    }
    const int m = table.degrees[i];
    if (m >= 12 && !have_a3) a3.noalias() = a2 * a;
    Mat x = taylor_tail(m, a, a2, a3, TaylorOps{scratch});
    x.diagonal().array() += S(1);
    stats.degree = m;
    stats.taylor = true;
    stats.products = taylor_products(m);
    if (exactly_zero_below(1)) fix_triangular(x, 0);
    return x;
  }

  // exp(A) = T_18(2^-s A)^(2^s) for ||A||_1 > theta_18: five products for T_18 (Bader, Blanes &
  // Casas 2019) and s squarings, no solve. The scaling follows Al-Mohy & Higham 2009, Thm 4.2,
  // applied to the backward error of T_18, a series in A starting at A^19: it is at most u when
  // 2^-s alpha_p <= theta_18, alpha_p = max(d_p, d_{p+1}), d_j = ||A^j||_1^{1/j}, for every p with
  // p (p - 1) <= 19; the smallest of alpha_1 ... alpha_4 is used. d_2 and d_3 come from A^2 and A^3,
  // which T_18 needs anyway; d_4 and d_5 are 1-norm estimates, capped by bounds from ||A^2||_1,
  // ||A^3||_1 and ||A||_1. No ell correction: the analogue of Pade's for the leading term A^19 / 19!
  // added 1 to 3 squarings on random matrices and made the errors larger, not smaller (measured).
  // theta_18 = 1.09 against theta_13 = 4.25 costs about two more squarings than r_13 (6 products
  // and a solve), so both do about the same flops; this path avoids the LU factorisation and
  // triangular solves, which run at a fraction of the product's speed for large n.
  Mat scaled_taylor(ExpmStats& stats) {
    using std::max;
    using std::min;
    constexpr int m = 18;
    const auto& table = FastTaylorTable<V>::get();
    if (!is_finite_scalar(norm_a_)) throw OverflowError("expm: ||A||_1 overflows the scalar type");
    const double log2_norm = log2_value(norm_a_), log2_theta = log2_value(table.theta.back());
    Scratch scratch(n_, kTaylorSlots);
    Slot a2 = scratch.take(), a3 = scratch.take();
    a2.noalias() = a_ * a_;
    a3.noalias() = a2 * a_;
    // Column sums of |A^2|, |A^3|: their maxima are the norms, and they are all finite exactly when
    // the powers are (or a sum overflows: then the powers are formed again below, harmlessly).
    const auto sums2 = a2.cwiseAbs().colwise().sum().eval(), sums3 = a3.cwiseAbs().colwise().sum().eval();
    const bool powers_finite = sums2.allFinite() && sums3.allFinite();
    double log2_alpha = log2_norm;
    if (powers_finite) {  // log2 d_j
      const double l2 = log2_value(V(sums2.maxCoeff())), l3 = log2_value(V(sums3.maxCoeff()));
      const auto estimate = [&](const Mat& left) {  // log2 ||left A^2||_1
        const auto apply = [&](const PlainVec& x) { return PlainVec(left * PlainVec(a2 * x)); };
        const auto apply_adjoint = [&](const PlainVec& x) { return PlainVec(a2.adjoint() * PlainVec(left.adjoint() * x)); };
        return log2_value(V(onenorm_estimate<PlainVec>(n_, apply, apply_adjoint)));
      };
      const double l4 = min(estimate(a2), min(2 * l2, log2_norm + l3)), l5 = min(estimate(a3), l2 + l3);
      const double d2 = l2 / 2, d3 = l3 / 3, d4 = l4 / 4, d5 = l5 / 5;
      log2_alpha = min({log2_norm, max(d2, d3), max(d3, d4), max(d4, d5)});
    }
    int s = log2_alpha > log2_theta ? static_cast<int>(std::ceil(log2_alpha - log2_theta)) : 0;
    const V f = ldexp_value(V(1), -s), f2 = ldexp_value(V(1), -2 * s), f3 = ldexp_value(V(1), -3 * s);
    Slot as = s > 0 ? scratch.take() : scratch.view(a_);  // (assigning to a Map copies entries)
    if (s > 0) as = a_ * f;
    stats.products = taylor_products(m);
    if (powers_finite && f3 > V(0)) {
      if (s > 0) {
        a2 *= f2;
        a3 *= f3;
      }
    } else {  // the powers overflowed, or scaling them would underflow: form them from 2^-s A
      a2.noalias() = as * as;
      a3.noalias() = a2 * as;
      stats.products += 2;
    }
    Mat x = taylor_tail(m, as, a2, a3, TaylorOps{scratch});
    x.diagonal().array() += S(1);
    stats.degree = m;
    stats.taylor = true;
    stats.squarings = s;
    const bool triangular = exactly_zero_below(1);
    if (triangular) fix_triangular(x, s);
    Mat square;
    square_up(x, square, s, triangular, nullptr, stats);
    check_overflow(x, nullptr);
    return x;
  }

  // ell(2^-s A, m) of Al-Mohy & Higham 2009 (Section 5) for the Pade degree table_.degrees[idx]:
  // the extra squarings that keep alpha = |c_{2m+1}| ||(|2^-s A|)^{2m+1}||_1 / ||2^-s A||_1 below u
  // for non-normal A. With B = |A| / ||A||_1, log2(alpha / u) is `excess` + log2 ||B^{2m+1}||_1, and
  // ||B^{2m+1}||_1 <= 1: ell = 0 when excess <= 0. Otherwise the chain of products of a vector with
  // B^T brackets ||B^{2m+1}||_1 more tightly at each step and stops once both ends give the same
  // ell, so ell is always exact.
  int ell(std::size_t idx, int s) {
    const int k = 2 * table_.degrees[idx] + 1;
    const double log2_c = table_.log2_c_lead[idx];
    const double log2_norm = log2_value(norm_a_);
    const double excess = log2_c + (k - 1) * (log2_norm - s) - table_.log2_u;
    if (excess <= 0) return 0;
    if (!have_bt_) {
      PlainMat pa_copy;
      bt_ = plain_ref(a_, pa_copy).cwiseAbs().transpose() * (V(1) / norm_a_);
      have_bt_ = true;
    }
    const auto ell_from = [excess, k](double log2_power) {
      const double x = (excess + log2_power) / (k - 1);
      return x > 0 ? static_cast<int>(std::ceil(x)) : 0;
    };
    return ell_from(log2_norm1_normalised_power(
        bt_, k, [&](double lower, double upper) { return ell_from(lower) == ell_from(upper); }));
  }

  // Below this order a 1-norm estimate of a power (5 to 10 products of a vector with each formed
  // power, and their overhead) costs as much as the squaring it might save; product-free bounds
  // are used instead (measured on the benchmark matrices, n = 3 ... 512).
  static constexpr Eigen::Index kEstimateFrom = 64;
  // Up to this order (V - U) X = U is solved by solve_small, above by Eigen's blocked LU (measured,
  // n = 3 ... 64). Fixed-size matrices keep Eigen's LU, which is unrolled for them.
  static constexpr Eigen::Index kSmallSolveUpTo = 48;
  static constexpr double kNotComputed = -1e300;
  static constexpr double kInfinity = std::numeric_limits<double>::infinity();

  // m itself for plain scalars; otherwise its plain part, stored in `copy`.
  static const PlainMat& plain_ref(const Mat& m, PlainMat& copy) {
    if constexpr (std::is_same_v<S, P>) {
      return m;
    } else {
      copy = m.unaryExpr([](const S& x) { return plain_part(x); });
      return copy;
    }
  }

  PlainMat plain(const Mat& m) const {
    if constexpr (std::is_same_v<S, P>) {
      return m;
    } else {
      return m.unaryExpr([](const S& x) { return plain_part(x); });
    }
  }

  // Degree m and scaling s (Al-Mohy & Higham 2009, Algorithm 3.1, for any precision). The norms
  // d_j = ||A^j||_1^{1/j} and eta are compared as log2 values, which costs no pow().
  void choose(ExpmStats& stats) {
    using std::max;
    using std::min;
    PlainMat pa_copy;
    const PlainMat& pa = plain_ref(a_, pa_copy);
    const V norm_a = norm_a_;
    if (!is_finite_scalar(norm_a)) throw OverflowError("expm: ||A||_1 overflows the scalar type");
    const double log2_norm = log2_value(norm_a);
    // Powers of A formed here are reused by the evaluation: raw_powers_[k] = A^{2k}.
    raw_powers_.assign(1, Mat());  // index 0 (the identity) is never read
    raw_powers_.push_back(a_ * a_);
    ++stats.products;
    Few<PlainMat> plain_copies(6);  // plain parts of raw_powers_ (unused for plain scalars)
    const auto plain_power = [&](int k) -> const PlainMat& { return plain_ref(raw_powers_[k], plain_copies[k]); };
    plain_power(1);
    std::array<double, 6> log2_power_norms;  // log2 ||A^{2k}||_1 of the formed powers
    log2_power_norms.fill(kNotComputed);
    const auto log2_power_norm = [&](int k) {
      if (log2_power_norms[k] == kNotComputed) log2_power_norms[k] = log2_value(V(norm1(plain_power(k))));
      return log2_power_norms[k];
    };
    const auto power = [&](int k) {  // forms A^{2k} (k <= 5) exactly
      while (static_cast<int>(raw_powers_.size()) <= k) {
        raw_powers_.push_back(raw_powers_.back() * raw_powers_[1]);
        plain_power(static_cast<int>(raw_powers_.size()) - 1);
        ++stats.products;
      }
    };
    // A^j x or (A^j)^* x from the formed powers.
    const auto apply_power = [&](int j, const PlainVec& x, bool adjoint) {
      const int formed = static_cast<int>(raw_powers_.size()) - 1;
      PlainVec y = x;
      for (int left = j; left > 0;) {
        const int k = std::min(left / 2, formed);
        const PlainMat& f = k >= 1 ? plain_power(k) : pa;
        y = adjoint ? PlainVec(f.adjoint() * y) : PlainVec(f * y);
        left -= k >= 1 ? 2 * k : 1;
      }
      return y;
    };
    // log2 d_j, d_j = ||A^j||_1^{1/j}: exact when the power was formed, estimated otherwise; j <= 10.
    std::array<double, 11> log2_d_cache;
    log2_d_cache.fill(kNotComputed);
    const auto log2_d = [&](int j) {
      if (log2_d_cache[j] != kNotComputed) return log2_d_cache[j];
      double l;                                                     // log2 ||A^j||_1
      const int formed = static_cast<int>(raw_powers_.size()) - 1;  // A^2 ... A^{2 formed} exist
      if (j % 2 == 0 && j / 2 <= formed) {
        l = log2_power_norm(j / 2);
      } else if (n_ < kEstimateFrom && j % 2 == 0 && j / 2 <= 2 * formed) {
        // n < kEstimateFrom: ||A^j|| <= ||A^{2a}|| ||A^{2b}||, 2a + 2b = j, from the formed powers. An upper
        // bound keeps the backward-error bound valid and costs no product; an estimate would
        // cost more than the product it might save.
        l = kInfinity;
        for (int a = j / 2 - formed; a <= j / 4; ++a) l = min(l, log2_power_norm(a) + log2_power_norm(j / 2 - a));
      } else {
        const auto apply = [&](const PlainVec& x) { return apply_power(j, x, false); };
        const auto apply_adjoint = [&](const PlainVec& x) { return apply_power(j, x, true); };
        l = log2_value(V(onenorm_estimate<PlainVec>(n_, apply, apply_adjoint)));
      }
      l /= j;
      return log2_d_cache[j] = l < log2_norm ? l : log2_norm;  // d_j <= ||A||_1 always (also for NaN)
    };
    const std::size_t top = table_.degrees.size() - 1;
    const auto accept = [&](std::size_t idx, int s) {
      stats.degree = table_.degrees[idx];
      stats.squarings = s;
      bool finite = true;  // for plain scalars a power is finite exactly when its norm is
      for (std::size_t k = 1; k < raw_powers_.size() && finite; ++k)
        finite = std::is_same_v<S, P> ? log2_power_norm(static_cast<int>(k)) < kInfinity : all_finite(raw_powers_[k]);
      finish_powers(stats.degree, finite);
    };
    // Below the top degree: ||A||_1 <= theta_m settles it (then eta <= theta_m and ell = 0, as in
    // Higham 2005); for n above kEstimateFrom, where a norm estimate costs less than the product it
    // may save, the sharper eta = max(d_j, d_{j+2}) of Al-Mohy & Higham 2009 is tried first.
    double log2_eta1 = kNotComputed, log2_eta3 = kNotComputed;
    for (std::size_t i = 0; i < top; ++i) {
      const int m = table_.degrees[i];
      if (norm_a <= table_.theta[i]) return accept(i, 0);
      if (n_ < kEstimateFrom) continue;
      if (m < 7) {
        if (log2_eta1 == kNotComputed) log2_eta1 = max(log2_d(4), log2_d(6));
        if (log2_eta1 <= table_.log2_theta[i] && ell(i, 0) == 0) return accept(i, 0);
      } else {
        if (log2_eta3 == kNotComputed) {
          power(3);  // A^4, A^6: needed by r_7 and above anyway
          log2_eta3 = max(log2_d(6), log2_d(8));
        }
        if (log2_eta3 <= table_.log2_theta[i] && ell(i, 0) == 0) return accept(i, 0);
      }
    }
    const double log2_theta = table_.log2_theta[top];
    int s = 0;
    if (norm_a > table_.theta[top]) {
      power(3);
      const auto squarings = [&](double log2_eta) {
        return log2_eta > log2_theta ? static_cast<int>(std::ceil(log2_eta - log2_theta)) : 0;
      };
      const auto eta5 = [&](double l8, double l10) { return min(log2_norm, min(max(log2_d(6), l8), max(l8, l10))); };
      s = squarings(eta5(log2_d(8), log2_d(10)));
      // For n < kEstimateFrom, d_8 and d_10 are upper bounds. Where the lower bounds ||A^j e_c||_1^{1/j}
      // (c: the largest column of A^6) allow fewer squarings, A^8 and then A^10 are formed for the
      // exact norms: one product, only when it may save one.
      if (n_ < kEstimateFrom && s > 0) {
        Eigen::Index c = 0;
        plain_power(3).cwiseAbs().colwise().sum().maxCoeff(&c);
        const PlainVec e_c = PlainVec::Unit(n_, c);
        const auto lower = [&](int j) {  // exact once A^j is formed
          if (2 * (static_cast<int>(raw_powers_.size()) - 1) >= j) return log2_d(j);
          return log2_value(V(norm1(apply_power(j, e_c, false)))) / j;
        };
        for (int k = 4; k <= 5 && s > squarings(eta5(lower(8), lower(10))); ++k) {
          power(k);
          log2_d_cache[8] = log2_d_cache[10] = kNotComputed;
          s = squarings(eta5(log2_d(8), log2_d(10)));
        }
      }
    }
    accept(top, s + ell(top, s));
  }

  // `finite`: whether every formed power is finite (its derivative parts too).
  void finish_powers(int m, bool finite) {
    raw_powers_ok_ = finite;
    raw_powers_.resize(std::min<std::size_t>(raw_powers_.size(), pade_power_count(m) + 1));
    raw_count_ = raw_powers_.size();
  }

  // Exact diagonal and superdiagonal of exp(2^-i A) for upper-triangular A (Al-Mohy & Higham 2009,
  // Code Fragment 2.1).
  void fix_triangular(Mat& x, int i) const {
    using std::exp;
    const V f = ldexp_value(V(1), -i);
    for (Eigen::Index k = 0; k < n_; ++k) x(k, k) = exp(a_(k, k) * f);
    for (Eigen::Index k = 0; k + 1 < n_; ++k)
      x(k, k + 1) = exp_superdiagonal(S(a_(k, k) * f), S(a_(k + 1, k + 1) * f), S(a_(k, k + 1) * f));
  }

  void check_overflow(const Mat& x, const Mat* l) const {
    if (!all_finite(x) || (l && !all_finite(*l))) throw_overflow(plain(a_));
  }

  static constexpr bool kHasTaylor = std::is_same_v<V, double> || std::is_same_v<V, float>;

  const Mat& a_;
  const Mat* e_;
  V norm_a_ = V(0);  // ||A||_1 (of the plain part)
  Eigen::Index n_;
  const PadeTable<V>& table_;
  Few<Mat> raw_powers_;  // I, A^2, A^4, A^6 as formed by choose()
  bool raw_powers_ok_ = false;
  std::size_t raw_count_ = 0;  // how many of raw_powers_ the evaluation may reuse
  Eigen::Index scaled_taylor_from_;
  RealMat bt_;  // |A|^T / ||A||_1 for ell, formed on first use (a fixed-size matrix has no empty state)
  bool have_bt_ = false;
};

// The next wider floating type, or R itself where there is none (long double; double where long
// double is no wider).
template <class R>
using wider_t =
    std::conditional_t<std::is_same_v<R, float>, double, std::conditional_t<std::is_same_v<R, double>, long double, R>>;

// e^{lambda_i} for the computed eigenpairs (lambda_i, q_i) of a Hermitian A. An eigensolver returns
// lambda_i with an absolute error of order u ||A||_2, which becomes a relative error u ||A||_2 in
// e^{lambda_i}. Where that matters (e^{lambda_i - lambda_max} ||A||_2 > 1) the eigenvalue is
// corrected by the Rayleigh quotient, lambda_i + delta_i with delta_i = q_i^* (A q_i - lambda_i q_i)
// accumulated in the next wider type: the error of lambda_i + delta_i is of order
// u_wide ||A|| + ||A q_i - lambda_i q_i||^2 / gap_i, and e^{lambda_i} e^{delta_i} avoids rounding
// lambda_i + delta_i back to working precision.
template <class Mat, class Values, class Vectors>
Eigen::Matrix<typename Values::Scalar, Eigen::Dynamic, 1> exp_eigenvalues(const Mat& a, const Values& lambda,
                                                                          const Vectors& q) {
  using R = typename Values::Scalar;
  using std::exp;
  using std::log;
  const Eigen::Index n = lambda.size();
  Eigen::Matrix<R, Eigen::Dynamic, 1> w = lambda.array().exp();
  using W = wider_t<R>;
  if constexpr (std::numeric_limits<W>::digits > std::numeric_limits<R>::digits) {
    if (n == 0) return w;
    const R top = lambda.maxCoeff(), spread = lambda.cwiseAbs().maxCoeff();  // ||A||_2
    using SW = std::conditional_t<is_complex<typename Mat::Scalar>::value, std::complex<W>, W>;
    for (Eigen::Index i = 0; i < n; ++i) {
      if (!(lambda(i) - top + log(spread) > R(0))) continue;
      W delta(0);
      for (Eigen::Index j = 0; j < n; ++j) {
        SW r = -SW(q(j, i)) * W(lambda(i));
        for (Eigen::Index k = 0; k < n; ++k) r += SW(a(j, k)) * SW(q(k, i));
        delta += Eigen::numext::real(Eigen::numext::conj(SW(q(j, i))) * r);
      }
      w(i) *= exp(static_cast<R>(delta));
    }
  }
  return w;
}

template <class Derived>
using SquareOf = Eigen::Matrix<typename Derived::Scalar, Derived::RowsAtCompileTime, Derived::ColsAtCompileTime, 0,
                               Derived::MaxRowsAtCompileTime, Derived::MaxColsAtCompileTime>;

// exp(A) with the closed forms first: diagonal A, 2 x 2 A, and lower-triangular A through
// exp(A) = exp(A^T)^T, which gives it the exact diagonal of the upper-triangular case. Structure is
// read from exact zeros, so only for scalars without derivative parts.
template <class Mat>
Mat expm_structured(const Mat& a, ExpmStats& stats) {
  using S = typename Mat::Scalar;
  stats = ExpmStats{};
  const Eigen::Index n = a.rows();
  bool upper = false;
  if constexpr (std::is_same_v<S, plain_t<S>>) {
    upper = zero_below_diagonal(a);
    const bool lower = zero_below_diagonal(a.transpose());
    if (upper && lower) {
      using std::exp;
      Mat x = Mat::Zero(n, n);
      for (Eigen::Index i = 0; i < n; ++i) x(i, i) = exp(a(i, i));
      if (!all_finite(x)) throw_overflow(a);
      return x;
    }
    if (lower) return Mat(expm_structured(Mat(a.transpose()), stats).transpose());
    if constexpr (std::is_arithmetic_v<value_t<S>>) {
      // Hermitian A = Q diag(lambda) Q^*: exp(A) = Q diag(e^lambda) Q^*, backward stable, with errors
      // of order u ||A||_2, the condition number of exp at a normal matrix (Higham 2008, Thm 3.24).
      const auto hermitian = [&] {
        for (Eigen::Index j = 0; j < n; ++j)
          for (Eigen::Index i = j; i < n; ++i)
            if (a(i, j) != Eigen::numext::conj(a(j, i))) return false;
        return true;
      };
      if (n > 2 && hermitian()) {
        const Eigen::SelfAdjointEigenSolver<Mat> eig(a);
        if (eig.info() == Eigen::Success) {
          const auto w = exp_eigenvalues(a, eig.eigenvalues(), eig.eigenvectors());
          Mat x = eig.eigenvectors() * w.asDiagonal() * eig.eigenvectors().adjoint();
          if (!all_finite(x)) throw_overflow(a);
          return x;
        }
      }
    }
  }
  if (n != 2) return ScalingSquaring<Mat>(a, nullptr).run(nullptr, stats);
  Mat x(2, 2);
  if (upper) {
    using std::exp;
    x << exp(a(0, 0)), exp_superdiagonal(a(0, 0), a(1, 1), a(0, 1)), S(0), exp(a(1, 1));
  } else {
    x = exp_2x2(a);
  }
  if (!all_finite(x)) throw_overflow(a.unaryExpr([](const S& v) { return plain_part(v); }));
  return x;
}

// Square matrices of at most 8 rows, stored on the stack.
template <class S>
using SmallMatrix = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, 0, 8, 8>;

// The scalars whose 3 x 3 and 4 x 4 exponentials run on fixed-size matrices, whose unrolled
// products take a fraction of the time of dynamic-size ones. Compiled once, in the library.
template <class S>
inline constexpr bool kFixedSizeExpm =
    std::is_same_v<S, float> || std::is_same_v<S, double> || std::is_same_v<S, std::complex<float>> ||
    std::is_same_v<S, std::complex<double>>;

// expm_structured for a 3 x 3 or 4 x 4 matrix, evaluated with fixed-size matrices.
template <class S>
SmallMatrix<S> expm_fixed_size(const SmallMatrix<S>& a, ExpmStats& stats);

}  // namespace detail

// exp(A) for a square matrix. Throws odyn::InvalidArgument if A is not square or has a
// non-finite entry, and odyn::OverflowError if exp(A) overflows the scalar type. `stats`, if
// given, receives the degree, scaling and number of products used.
template <class Derived>
detail::SquareOf<Derived> expm(const Eigen::MatrixBase<Derived>& a, ExpmStats* stats = nullptr) {
  detail::require_square_matrix(a, "expm");
  detail::require_finite_entries(a, "expm");
  using Mat = detail::SquareOf<Derived>;
  using S = typename Derived::Scalar;
  ExpmStats local;
  ExpmStats& st = stats ? *stats : local;
  if constexpr (Derived::RowsAtCompileTime == Eigen::Dynamic && std::is_arithmetic_v<value_t<S>> &&
                std::is_same_v<S, detail::plain_t<S>>) {
    if (a.rows() <= 8) {  // small matrices live on the stack
      using Small = detail::SmallMatrix<S>;
      if constexpr (detail::kFixedSizeExpm<S>) {
        if (a.rows() == 3 || a.rows() == 4) return Mat(detail::expm_fixed_size(Small(a), st));
      }
      return Mat(detail::expm_structured(Small(a), st));
    }
  }
  if constexpr (std::is_same_v<Derived, Mat>) {
    return detail::expm_structured(a.derived(), st);
  } else {
    return detail::expm_structured(Mat(a), st);
  }
}

// exp(A) and its Frechet derivative L(A, E) = d/dh exp(A + hE) at h = 0.
template <class Mat>
struct ExpmFrechet {
  Mat expm;
  Mat frechet;
  ExpmStats stats;
};

// exp(A) and L(A, E), evaluated together by scaling and squaring (Al-Mohy & Higham, "Computing the
// Frechet derivative of the matrix exponential, with an application to condition number
// estimation", SIAM J. Matrix Anal. Appl. 30(4), 2009). Same errors as expm, plus a shape check on E.
template <class DerivedA, class DerivedE>
ExpmFrechet<detail::SquareOf<DerivedA>> expm_frechet(const Eigen::MatrixBase<DerivedA>& a,
                                                     const Eigen::MatrixBase<DerivedE>& e) {
  detail::require_square_matrix(a, "expm_frechet");
  if (e.rows() != a.rows() || e.cols() != a.cols())
    throw InvalidArgument("expm_frechet: E must have the shape of A (" + std::to_string(a.rows()) + "x" +
                          std::to_string(a.cols()) + "), got " + std::to_string(e.rows()) + "x" +
                          std::to_string(e.cols()));
  detail::require_finite_entries(a, "expm_frechet");
  detail::require_finite_entries(e, "expm_frechet");
  using Mat = detail::SquareOf<DerivedA>;
  const Mat am = a, em = e.template cast<typename DerivedA::Scalar>();
  ExpmFrechet<Mat> out;
  out.expm = detail::ScalingSquaring<Mat>(am, &em).run(&out.frechet, out.stats);
  return out;
}

// The relative condition number of exp at A in the 1-norm,
//   kappa(A) = ||L(A)||_1 ||A||_1 / ||exp(A)||_1,  ||L(A)||_1 = max_E ||L(A, E)||_1 / ||E||_1,
// estimated by applying the 1-norm estimator to the n^2 x n^2 Kronecker form K of L(A, .), whose
// adjoint is L(A^*, .) (Al-Mohy & Higham 2009b, Section 7). Costs about 4 to 10 evaluations of
// expm_frechet. ||K||_1 is within a factor n of ||L(A)||_1 and the estimate is a lower bound of
// ||K||_1 that is usually within a factor 3. Errors as for expm_frechet.
template <class Derived>
value_t<typename Derived::Scalar> expm_cond(const Eigen::MatrixBase<Derived>& a) {
  detail::require_square_matrix(a, "expm_cond");
  detail::require_finite_entries(a, "expm_cond");
  using Mat = Eigen::Matrix<typename Derived::Scalar, Eigen::Dynamic, Eigen::Dynamic>;
  using Vec = Eigen::Matrix<typename Derived::Scalar, Eigen::Dynamic, 1>;
  using V = value_t<typename Derived::Scalar>;
  const Eigen::Index n = a.rows();
  if (n == 0) return V(0);
  const Mat am = a, ah = am.adjoint();
  const Mat x = expm(am);
  const auto apply_with = [n](const Mat& base) {
    return [&base, n](const Vec& v) {
      const Mat e = Eigen::Map<const Mat>(v.data(), n, n);
      const Mat l = expm_frechet(base, e).frechet;
      return Vec(Eigen::Map<const Vec>(l.data(), n * n));
    };
  };
  const V norm_l = V(detail::onenorm_estimate<Vec>(n * n, apply_with(am), apply_with(ah)));
  return norm_l * V(detail::norm1(am)) / V(detail::norm1(x));
}

// The relative condition number of exp at A in the Frobenius norm, computed exactly:
// ||K||_2 ||A||_F / ||exp(A)||_F with K the n^2 x n^2 Kronecker form of L(A, .), built column by
// column from n^2 Frechet derivatives (scipy.linalg.expm_cond computes the same quantity). Costs
// O(n^5); meant for n up to a few dozen.
template <class Derived>
value_t<typename Derived::Scalar> expm_cond_frobenius(const Eigen::MatrixBase<Derived>& a) {
  detail::require_square_matrix(a, "expm_cond_frobenius");
  detail::require_finite_entries(a, "expm_cond_frobenius");
  using S = typename Derived::Scalar;
  using Mat = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>;
  using V = value_t<S>;
  const Eigen::Index n = a.rows();
  if (n == 0) return V(0);
  const Mat am = a;
  Mat k(n * n, n * n), x;
  for (Eigen::Index j = 0; j < n; ++j) {
    for (Eigen::Index i = 0; i < n; ++i) {
      Mat e = Mat::Zero(n, n);
      e(i, j) = S(1);
      const auto r = expm_frechet(am, e);
      k.col(j * n + i) = Eigen::Map<const Eigen::Matrix<S, Eigen::Dynamic, 1>>(r.frechet.data(), n * n);
      if (x.size() == 0) x = r.expm;
    }
  }
  const V norm_k = V(Eigen::BDCSVD<Mat>(k).singularValues()(0));
  return norm_k * V(am.stableNorm()) / V(x.stableNorm());  // overflow-safe Frobenius norms
}

}  // namespace odyn::linalg
