#include "odyn/linalg/logm.hpp"

#include <Eigen/Eigenvalues>
#include <Eigen/LU>
#include <algorithm>
#include <boost/math/constants/constants.hpp>
#include <boost/multiprecision/cpp_bin_float.hpp>
#include <cmath>
#include <complex>
#include <limits>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "odyn/core/error.hpp"
#include "odyn/core/validate.hpp"

namespace odyn::linalg::detail {
namespace {

// A precision at least twice the working one, for the constants of the Pade approximants.
template <class Real>
using Wide = std::conditional_t<(std::numeric_limits<Real>::digits <= 80), boost::multiprecision::cpp_bin_float_50,
                                boost::multiprecision::cpp_bin_float_100>;

// The m-point Gauss-Legendre rule on [0, 1]: nodes (1 + z_i) / 2 and weights 1 / ((1 - z_i^2) P_m'(z_i)^2)
// from the roots z_i of the Legendre polynomial P_m, found by Newton's method.
template <class W>
void gauss_legendre(int m, std::vector<W>& nodes, std::vector<W>& weights) {
  using std::abs;
  using std::cos;
  using std::sqrt;
  nodes.assign(m, W(0));
  weights.assign(m, W(0));
  const auto legendre = [m](const W& z, W& p, W& derivative) {  // P_m(z) and P_m'(z)
    W p_prev(1);
    p = z;
    for (int k = 2; k <= m; ++k) {
      const W next = ((2 * k - 1) * z * p - (k - 1) * p_prev) / k;
      p_prev = p;
      p = next;
    }
    derivative = m * (z * p - p_prev) / (z * z - 1);
  };
  const W pi = boost::math::constants::pi<W>();
  const W tol = sqrt(std::numeric_limits<W>::epsilon());  // the next Newton step squares the error
  for (int i = 0; i < (m + 1) / 2; ++i) {
    W z = cos(pi * (i + 0.75) / (m + 0.5));  // close to the (i+1)-th largest root
    W p, derivative;
    for (int iteration = 0; iteration < 100; ++iteration) {
      legendre(z, p, derivative);
      const W step = p / derivative;
      z -= step;
      if (abs(step) <= tol) break;
    }
    legendre(z, p, derivative);
    const W weight = 1 / ((1 - z * z) * derivative * derivative);
    nodes[i] = (1 + z) / 2;
    nodes[m - 1 - i] = (1 - z) / 2;
    weights[i] = weights[m - 1 - i] = weight;
  }
}

// Pade approximants r_m(x) = sum_j w_j x / (1 + s_j x) to log(1 + x) for m = 1..m_max: the m-point
// Gauss-Legendre rule applied to log(1 + x) = int_0^1 x / (1 + t x) dt. With
// log(1 + x) - r_m(x) = sum_{k>2m} c_k x^k, every c_k (-1)^(k+1) is the rule's (positive) error on
// t^(k-1), so ||log(I + X) - r_m(X)|| <= f_m(a) = sum_{k>2m} |c_k| a^k = r_m(-a) - log(1 - a) with
// a = ||X|| (Kenney & Laub, Int. J. Control 50(3), 1989) or a = max(||X^p||^(1/p),
// ||X^(p+1)||^(1/(p+1))) for p (p - 1) <= 2m + 1 (Al-Mohy & Higham, SIAM J. Matrix Anal. Appl.
// 31(3), 2009, Thm. 4.2). theta[m-1] is the largest a with f_m(a) <= u a. f_m is computed
// in twice the working precision (it is a difference of two numbers of size a). m_max grows with
// the precision: 16 for double, as in Higham (Functions of Matrices, SIAM 2008, Sec. 11.5).
template <class Real>
struct PadeLog {
  std::vector<std::vector<Real>> nodes, weights;
  std::vector<Real> theta;
};

template <class Real>
PadeLog<Real> make_pade_log() {
  using W = Wide<Real>;
  using std::log1p;
  const int digits = std::numeric_limits<Real>::digits;
  const int m_max = (16 * digits + 52) / 53;
  const W u = W(unit_roundoff<Real>());
  PadeLog<Real> table;
  for (int m = 1; m <= m_max; ++m) {
    std::vector<W> s, w;
    gauss_legendre(m, s, w);
    const auto excess = [&](const W& a) {  // f_m(a) - u a
      W r(0);
      for (int j = 0; j < m; ++j) r += w[j] * a / (1 - s[j] * a);
      return W(-log1p(-a) - r - u * a);
    };
    W lo(0), hi(1);
    for (int step = 0; step < 60; ++step) {
      const W mid = (lo + hi) / 2;
      (excess(mid) <= 0 ? lo : hi) = mid;
    }
    table.nodes.emplace_back(s.begin(), s.end());
    table.weights.emplace_back(w.begin(), w.end());
    table.theta.push_back(Real(lo));
  }
  return table;
}

template <class Real>
const PadeLog<Real>& pade_log() {
  static const PadeLog<Real> table = make_pade_log<Real>();
  return table;
}

// z^(1/2^s) - 1 = (z - 1) / prod_{k=1..s} (1 + z^(1/2^k)): no cancellation, since every principal
// root has a positive real part (Al-Mohy & Higham, SIAM J. Sci. Comput. 34(4), 2012).
template <class Z>
Z root_minus_one(Z z, int s) {
  using std::sqrt;
  const Z numerator = z - Z(1);
  Z denominator(1);
  for (int k = 0; k < s; ++k) {
    z = sqrt(z);
    denominator *= Z(1) + z;
  }
  return numerator / denominator;
}

// (b^(1/2^s) - a^(1/2^s)) / (b - a) = 1 / prod_{k=1..s} (a^(1/2^k) + b^(1/2^k)), the divided
// difference that gives the first superdiagonal of T^(1/2^s).
template <class Z>
Z root_divided_difference(Z a, Z b, int s) {
  using std::sqrt;
  Z product(1);
  for (int k = 0; k < s; ++k) {
    a = sqrt(a);
    b = sqrt(b);
    product *= a + b;
  }
  return Z(1) / product;
}

// (log b - log a) / (b - a). Close arguments use log(b / a) = log1p((b - a) / a) plus 2 pi i times
// the unwinding number, which is nonzero when a and b straddle the negative real axis (Higham
// 2008, Ch. 11).
template <class Z>
Z log_divided_difference(const Z& a, const Z& b) {
  using std::abs;
  using std::log;
  using std::log1p;
  using std::min;
  if (a == b) return Z(1) / a;
  const Z d = b - a;
  if (abs(d) > min(abs(a), abs(b)) / 2) return (log(b) - log(a)) / d;
  if constexpr (Eigen::NumTraits<Z>::IsComplex) {
    using Real = typename Z::value_type;
    using std::arg;
    using std::atan2;
    using std::round;
    const Z z = d / a;
    const Real two_pi = 2 * boost::math::constants::pi<Real>();
    const Real re = log1p(Real(2 * z.real() + std::norm(z))) / 2, im = atan2(z.imag(), Real(1 + z.real()));
    const Real unwinding = round(Real((arg(b) - arg(a) - im) / two_pi));
    return Z(re, im + two_pi * unwinding) / d;
  } else {
    return log1p(d / a) / d;
  }
}

template <class Scalar>
typename Eigen::NumTraits<Scalar>::Real norm1(const Dense<Scalar>& x) {
  return x.cwiseAbs().colwise().sum().maxCoeff();
}

// f(B) for a 2x2 real block B with eigenvalues lambda = theta +- i mu, given f(lambda) for a real
// function f: Re f(lambda) I + (Im f(lambda) / mu) (B - theta I), since (B - theta I)^2 = -mu^2 I.
template <class Real>
Dense<Real> block_function(const Dense<Real>& b, const std::complex<Real>& lambda, const std::complex<Real>& f) {
  const Real scale = f.imag() / lambda.imag(), p = (b(0, 0) - b(1, 1)) / 2;  // B - theta I = [[p, b01], [b10, -p]]
  Dense<Real> r(2, 2);
  r << f.real() + scale * p, scale * b(0, 1), scale * b(1, 0), f.real() - scale * p;
  return r;
}

// log T for T in the form SchurForm::t with no eigenvalue on the closed negative real axis: inverse
// scaling and squaring (Higham 2008, Sec. 11.5, with the refinements of Al-Mohy & Higham 2012).
template <class Scalar>
Dense<Scalar> logm_quasi_triangular(const Dense<Scalar>& t0, const std::vector<Eigen::Index>& starts) {
  using Real = typename Eigen::NumTraits<Scalar>::Real;
  using std::abs;
  using std::max;
  using std::min;
  using std::pow;
  const PadeLog<Real>& pade = pade_log<Real>();
  const int m_max = static_cast<int>(pade.theta.size());
  const Eigen::Index n = t0.rows();
  const std::size_t blocks = starts.size() - 1;
  const auto size = [&](std::size_t b) { return starts[b + 1] - starts[b]; };
  const auto eigenvalue = [&](const Dense<Scalar>& t, std::size_t b) -> std::complex<Real> {
    if constexpr (Eigen::NumTraits<Scalar>::IsComplex) {
      return t(starts[b], starts[b]);
    } else {
      return size(b) == 1 ? std::complex<Real>(t(starts[b], starts[b])) : block_eigenvalue(t, starts[b]);
    }
  };

  // Square roots T <- T^(1/2) until some degree m <= m_max has alpha_m(T - I) <= theta_m, and then
  // while one more root would save more than one term (at most once more).
  constexpr int max_roots = 100;
  Dense<Scalar> t = t0;
  int roots = 0, degree = 0, chances = 0;
  for (;;) {
    Real spectral_radius(0);  // of T - I, a lower bound for every alpha_m
    for (std::size_t b = 0; b < blocks; ++b)
      spectral_radius = max(spectral_radius, Real(abs(eigenvalue(t, b) - Real(1))));
    if (spectral_radius <= pade.theta.back()) {
      Dense<Scalar> x = t;
      x.diagonal().array() -= Scalar(1);
      Real d[6];  // d[k] = ||X^k||_1^(1/k)
      Dense<Scalar> power = x;
      for (int k = 2; k <= 5; ++k) {
        power = (power * x).eval();
        d[k] = pow(norm1(power), Real(1) / k);
      }
      // alpha_p = max(d_p, d_{p+1}) bounds sum_{k>2m} |c_k| ||X^k|| when p (p - 1) <= 2m + 1.
      const auto alpha = [&](int m) {
        Real a = max(d[2], d[3]);
        if (m >= 3) a = min(a, max(d[3], d[4]));
        if (m >= 6) a = min(a, max(d[4], d[5]));
        return a;
      };
      const auto smallest_degree = [&](const Real& shrink) {
        for (int m = 1; m <= m_max; ++m) {
          if (shrink * alpha(m) <= pade.theta[m - 1]) return m;
        }
        return 0;
      };
      const int now = smallest_degree(Real(1)), after_root = smallest_degree(Real(0.5));
      if (now > 0 && (now - after_root <= 1 || ++chances == 2)) {
        degree = now;
        break;
      }
    }
    if (roots == max_roots) throw Error("logm: no convergence after " + std::to_string(max_roots) + " square roots");
    t = sqrtm_quasi_triangular(t, starts);
    ++roots;
  }

  // X = T^(1/2^s) - I, with its diagonal blocks and first superdiagonal recomputed from T0.
  Dense<Scalar> x = t;
  x.diagonal().array() -= Scalar(1);
  for (std::size_t b = 0; b < blocks; ++b) {
    const Eigen::Index i = starts[b];
    if (size(b) == 1) {
      x(i, i) = root_minus_one(t0(i, i), roots);
      if (b + 1 < blocks && size(b + 1) == 1) {
        x(i, i + 1) = t0(i, i + 1) * root_divided_difference(t0(i, i), t0(i + 1, i + 1), roots);
      }
    } else if constexpr (!Eigen::NumTraits<Scalar>::IsComplex) {
      const std::complex<Real> lambda = eigenvalue(t0, b);
      x.block(i, i, 2, 2) = block_function<Real>(t0.block(i, i, 2, 2), lambda, root_minus_one(lambda, roots));
    }
  }

  // log T = 2^s r_m(X), r_m(X) = sum_j w_j (I + s_j X)^-1 X.
  Dense<Scalar> u = Dense<Scalar>::Zero(n, n);
  const bool triangular = blocks == static_cast<std::size_t>(n);
  for (int j = 0; j < degree; ++j) {
    Dense<Scalar> shifted = pade.nodes[degree - 1][j] * x;
    shifted.diagonal().array() += Scalar(1);
    if (triangular) {
      u += pade.weights[degree - 1][j] * shifted.template triangularView<Eigen::Upper>().solve(x);
    } else {
      u += pade.weights[degree - 1][j] * shifted.partialPivLu().solve(x);
    }
  }
  u *= Real(std::ldexp(1.0, roots));

  // Diagonal blocks and first superdiagonal of log T directly from T0.
  for (std::size_t b = 0; b < blocks; ++b) {
    using std::log;
    const Eigen::Index i = starts[b];
    if (size(b) == 1) {
      u(i, i) = log(t0(i, i));
      if (b + 1 < blocks && size(b + 1) == 1) {
        u(i, i + 1) = t0(i, i + 1) * log_divided_difference(t0(i, i), t0(i + 1, i + 1));
      }
    } else if constexpr (!Eigen::NumTraits<Scalar>::IsComplex) {
      const std::complex<Real> lambda = eigenvalue(t0, b);
      u.block(i, i, 2, 2) = block_function<Real>(t0.block(i, i, 2, 2), lambda, std::log(lambda));
    }
  }
  return u;
}

}  // namespace

template <class Real>
const std::vector<Real>& logm_pade_thresholds() {
  return pade_log<Real>().theta;
}

template <class Scalar>
Dense<Scalar> logm_schur(const Dense<Scalar>& a) {
  const SchurForm<Scalar> s = schur_off_negative_axis(a, "logm");
  return s.q * logm_quasi_triangular(s.t, s.starts) * s.q.adjoint();
}

template <class Scalar>
Dense<Scalar> logm_spd_eigen(const Dense<Scalar>& s) {
  using Real = typename Eigen::NumTraits<Scalar>::Real;
  using std::log;
  require_nonempty(s, "logm_spd");
  require_square(s, "logm_spd");
  require_finite(s, "logm_spd");
  const Real scale = s.cwiseAbs().maxCoeff();
  const Real asymmetry = (s - s.adjoint()).cwiseAbs().maxCoeff();
  if (asymmetry > 8 * Real(s.rows()) * Real(unit_roundoff<Scalar>()) * scale) {
    std::ostringstream out;
    out << "logm_spd: matrix is not symmetric (max |s_ij - conj(s_ji)| = " << asymmetry << ")";
    throw InvalidArgument(out.str());
  }
  const Eigen::SelfAdjointEigenSolver<Dense<Scalar>> eig(s);
  if (!(eig.eigenvalues().minCoeff() > 0)) {
    std::ostringstream out;
    out << "logm_spd: matrix is not positive definite (eigenvalue " << eig.eigenvalues().minCoeff() << ")";
    throw InvalidArgument(out.str());
  }
  const Dense<Scalar> x = eig.eigenvectors() *
                          eig.eigenvalues().unaryExpr([](const Real& l) { return Real(log(l)); }).asDiagonal() *
                          eig.eigenvectors().adjoint();
  return (x + x.adjoint()) / Real(2);
}

template Dense<float> logm_schur<float>(const Dense<float>&);
template Dense<double> logm_schur<double>(const Dense<double>&);
template Dense<std::complex<double>> logm_schur<std::complex<double>>(const Dense<std::complex<double>>&);
template Dense<mp50> logm_schur<mp50>(const Dense<mp50>&);
template const std::vector<float>& logm_pade_thresholds<float>();
template const std::vector<double>& logm_pade_thresholds<double>();
template const std::vector<mp50>& logm_pade_thresholds<mp50>();
// Eigen's SelfAdjointEigenSolver needs NumTraits<mp50>::infinity(), which Boost 1.74 lacks.
template Dense<float> logm_spd_eigen<float>(const Dense<float>&);
template Dense<double> logm_spd_eigen<double>(const Dense<double>&);
template Dense<std::complex<double>> logm_spd_eigen<std::complex<double>>(const Dense<std::complex<double>>&);

}  // namespace odyn::linalg::detail
