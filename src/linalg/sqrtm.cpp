#include "odyn/linalg/sqrtm.hpp"

#include <Eigen/Eigenvalues>
#include <Eigen/Jacobi>
#include <Eigen/LU>
#include <cmath>
#include <complex>
#include <limits>
#include <sstream>
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

namespace detail {
namespace {

template <class Real>
std::string format_eigenvalue(const Real& re, const Real& im) {
  using std::abs;
  std::ostringstream out;
  out.precision(6);
  out << re;
  if (im != Real(0)) out << (im < 0 ? " - " : " + ") << abs(im) << "i";
  return out.str();
}

// A 2x2 block [[a, b], [c, d]] has the eigenvalues theta +- sqrt(q), theta = (a + d) / 2,
// q = p^2 + b c, p = (a - d) / 2: a complex pair theta +- i sqrt(-q) when q < 0. root = sqrt(|q|)
// is computed with p, b, c scaled by their largest magnitude, so q cannot overflow.
template <class Real>
struct BlockEigen {
  Real theta, p, root;
  bool complex_pair;
};
template <class Real, class Block>
BlockEigen<Real> block_eigen(const Block& b) {
  using std::abs;
  using std::max;
  using std::sqrt;
  const Real p = b(0, 0) / 2 - b(1, 1) / 2, theta = b(0, 0) / 2 + b(1, 1) / 2;
  const Real scale = max(abs(p), max(abs(b(0, 1)), abs(b(1, 0))));
  if (scale == Real(0)) return {theta, p, Real(0), false};
  const Real q = (p / scale) * (p / scale) + (b(1, 0) / scale) * (b(0, 1) / scale);
  return {theta, p, Real(scale * sqrt(abs(q))), q < 0};
}

// RealSchur keeps a 2x2 block only for a complex pair, but it tests the discriminant before its
// final shift; when rounding makes our q >= 0 the pair is real: rotating the eigenvector
// (p +- sqrt(q), c) onto e_1 makes the block upper triangular.
template <class Real>
void split_real_pair(SchurForm<Real>& s, Eigen::Index i, const BlockEigen<Real>& e) {
  Eigen::JacobiRotation<Real> rot;
  rot.makeGivens(e.p >= 0 ? Real(e.p + e.root) : Real(e.p - e.root), s.t(i + 1, i));
  const Eigen::Index n = s.t.rows();
  s.t.rightCols(n - i).applyOnTheLeft(i, i + 1, rot.adjoint());
  s.t.topRows(i + 2).applyOnTheRight(i, i + 1, rot);
  s.t(i + 1, i) = Real(0);
  s.q.applyOnTheRight(i, i + 1, rot);
}

// The principal square root of a diagonal block: sqrt(t) for a 1x1 block; for a 2x2 block B with
// eigenvalues theta +- i mu, alpha I + (B - theta I) / (2 alpha) with alpha = Re sqrt(theta + i mu)
// (Higham, Linear Algebra Appl. 88/89, 1987), since (B - theta I)^2 = -mu^2 I.
template <class Scalar, class Block>
void sqrt_diagonal_block(const Block& b, Eigen::Ref<Dense<Scalar>> r) {
  using std::sqrt;
  if (b.rows() == 1) {
    r(0, 0) = sqrt(b(0, 0));
  } else if constexpr (!Eigen::NumTraits<Scalar>::IsComplex) {
    using std::hypot;
    const BlockEigen<Scalar> e = block_eigen<Scalar>(b);
    const Scalar mu = e.complex_pair ? e.root : Scalar(0);  // a complex pair up to rounding
    const Scalar modulus = hypot(e.theta, mu);
    const Scalar alpha =
        e.theta >= 0 ? Scalar(sqrt(modulus / 2 + e.theta / 2)) : Scalar(mu / (2 * sqrt(modulus / 2 - e.theta / 2)));
    const Scalar scale = 1 / (2 * alpha);  // B - theta I = [[p, b01], [b10, -p]]
    r << alpha + e.p * scale, b(0, 1) * scale, b(1, 0) * scale, alpha - e.p * scale;
  }
}

// Solves A X + X B = C for blocks of order 1 or 2 through the Kronecker form
// (I (x) A + B^T (x) I) vec X = vec C, nonsingular because the eigenvalues of the principal square
// roots A and B lie in the open right half-plane.
template <class Scalar>
using Small = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor, 2, 2>;
template <class Scalar>
Small<Scalar> solve_small_sylvester(const Small<Scalar>& a, const Small<Scalar>& b, const Small<Scalar>& c) {
  const Eigen::Index p = a.rows(), q = b.rows();
  if (p == 1 && q == 1) return Small<Scalar>::Constant(1, 1, c(0, 0) / (a(0, 0) + b(0, 0)));
  using Kron = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor, 4, 4>;
  using Vec = Eigen::Matrix<Scalar, Eigen::Dynamic, 1, Eigen::ColMajor, 4, 1>;
  Kron k = Kron::Zero(p * q, p * q);
  for (Eigen::Index j = 0; j < q; ++j) {
    k.block(j * p, j * p, p, p) += a;
    for (Eigen::Index l = 0; l < q; ++l) k.block(l * p, j * p, p, p).diagonal().array() += b(j, l);
  }
  const Vec x = k.fullPivLu().solve(Vec(Eigen::Map<const Vec>(c.data(), p * q)));
  return Eigen::Map<const Small<Scalar>>(x.data(), p, q);
}

}  // namespace

template <class Scalar>
SchurForm<Scalar> schur_off_negative_axis(const Dense<Scalar>& a, const std::string& where) {
  using Real = typename Eigen::NumTraits<Scalar>::Real;
  using std::abs;
  require_nonempty(a, where);
  require_square(a, where);
  require_finite(a, where);
  const Eigen::Index n = a.rows();
  SchurForm<Scalar> s;
  if constexpr (Eigen::NumTraits<Scalar>::IsComplex) {
    const Eigen::ComplexSchur<Dense<Scalar>> schur(a);
    if (schur.info() != Eigen::Success) throw InvalidArgument(where + ": the Schur decomposition did not converge");
    s.q = schur.matrixU();
    s.t = schur.matrixT().template triangularView<Eigen::Upper>();
    for (Eigen::Index i = 0; i <= n; ++i) s.starts.push_back(i);
  } else {
    const Eigen::RealSchur<Dense<Scalar>> schur(a);
    if (schur.info() != Eigen::Success) throw InvalidArgument(where + ": the Schur decomposition did not converge");
    s.q = schur.matrixU();
    s.t = schur.matrixT();
    for (Eigen::Index i = 0; i < n; ++i) {
      s.starts.push_back(i);
      if (i + 1 < n && s.t(i + 1, i) != Real(0)) {
        const BlockEigen<Real> e = block_eigen<Real>(s.t.block(i, i, 2, 2));
        if (e.complex_pair) {
          ++i;
        } else {
          split_real_pair(s, i, e);
        }
      }
    }
    s.starts.push_back(n);
    for (std::size_t b = 0; b + 1 < s.starts.size(); ++b) {  // exact zeros below the block diagonal
      const Eigen::Index first = s.starts[b], end = s.starts[b + 1];
      s.t.block(end, first, n - end, end - first).setZero();
    }
  }

  // An eigenvalue within n u ||A||_F (the Schur form's backward error) of the closed negative real
  // axis cannot be told apart from one on it.
  const Real largest = a.cwiseAbs().maxCoeff();  // ||A||_F without overflow
  const Real norm = largest == Real(0) ? Real(0) : Real(largest * (a / largest).norm());
  const Real tol = Real(n) * Real(unit_roundoff<Scalar>()) * norm;
  for (std::size_t b = 0; b + 1 < s.starts.size(); ++b) {
    const Eigen::Index i = s.starts[b];
    Real re = Eigen::numext::real(s.t(i, i)), im = Eigen::numext::imag(s.t(i, i));
    if constexpr (!Eigen::NumTraits<Scalar>::IsComplex) {
      if (s.starts[b + 1] - i == 2) {
        const std::complex<Real> lambda = block_eigenvalue(s.t, i);
        re = lambda.real();
        im = lambda.imag();
      }
    }
    if (re == Real(0) && im == Real(0)) throw InvalidArgument(where + ": the matrix is singular (eigenvalue 0)");
    if (re <= 0 && abs(im) <= tol) {
      throw InvalidArgument(where + ": eigenvalue " + format_eigenvalue(re, im) +
                            (im == Real(0) ? " lies on" : " lies within rounding error of") +
                            " the closed negative real axis");
    }
  }
  return s;
}

template <class Real>
std::complex<Real> block_eigenvalue(const Dense<Real>& t, Eigen::Index i) {
  const BlockEigen<Real> e = block_eigen<Real>(t.block(i, i, 2, 2));
  return {e.theta, e.complex_pair ? e.root : Real(0)};
}

template <class Scalar>
Dense<Scalar> sqrtm_quasi_triangular(const Dense<Scalar>& t, const std::vector<Eigen::Index>& starts) {
  const Eigen::Index n = t.rows();
  Dense<Scalar> r = Dense<Scalar>::Zero(n, n);
  for (std::size_t bj = 0; bj + 1 < starts.size(); ++bj) {
    const Eigen::Index j = starts[bj], q = starts[bj + 1] - j;
    sqrt_diagonal_block<Scalar>(t.block(j, j, q, q), r.block(j, j, q, q));
    for (std::size_t bi = bj; bi-- > 0;) {
      const Eigen::Index i = starts[bi], p = starts[bi + 1] - i, k = i + p;
      const Small<Scalar> rhs = t.block(i, j, p, q) - r.block(i, k, p, j - k) * r.block(k, j, j - k, q);
      r.block(i, j, p, q) = solve_small_sylvester<Scalar>(r.block(i, i, p, p), r.block(j, j, q, q), rhs);
    }
  }
  return r;
}

template <class Scalar>
Dense<Scalar> sqrtm_schur(const Dense<Scalar>& a) {
  const SchurForm<Scalar> s = schur_off_negative_axis(a, "sqrtm");
  return s.q * sqrtm_quasi_triangular(s.t, s.starts) * s.q.adjoint();
}

#define ODYN_INSTANTIATE_SQRTM(Scalar)                                                                           \
  template SchurForm<Scalar> schur_off_negative_axis<Scalar>(const Dense<Scalar>&, const std::string&);          \
  template Dense<Scalar> sqrtm_quasi_triangular<Scalar>(const Dense<Scalar>&, const std::vector<Eigen::Index>&); \
  template Dense<Scalar> sqrtm_schur<Scalar>(const Dense<Scalar>&);
ODYN_INSTANTIATE_SQRTM(float)
ODYN_INSTANTIATE_SQRTM(double)
ODYN_INSTANTIATE_SQRTM(std::complex<double>)
ODYN_INSTANTIATE_SQRTM(mp50)
#undef ODYN_INSTANTIATE_SQRTM
template std::complex<float> block_eigenvalue<float>(const Dense<float>&, Eigen::Index);
template std::complex<double> block_eigenvalue<double>(const Dense<double>&, Eigen::Index);
template std::complex<mp50> block_eigenvalue<mp50>(const Dense<mp50>&, Eigen::Index);

}  // namespace detail

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
