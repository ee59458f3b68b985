// The action of the matrix exponential, exp(tA) B, without forming exp(tA).
//
// Al-Mohy & Higham, "Computing the action of the matrix exponential, with an application to
// exponential integrators", SIAM J. Sci. Comput. 33(2), 2011 (Algorithms 3.2 and Code Fragment 3.1):
// a truncated Taylor series of degree m applied s times to B, with (m, s) chosen from estimates
// of ||A^p||_1^{1/p} to minimise the number m s of products with A, the shift A - mu I with
// mu = tr(A) / n, and early termination of each Taylor series once its terms fall below u.
#pragma once

#include <Eigen/Core>
#include <Eigen/SparseCore>
#include <cmath>
#include <string>
#include <type_traits>
#include <vector>

#include "odyn/core/error.hpp"
#include "odyn/linalg/expm.hpp"

namespace odyn::linalg {

struct ExpmMultiplyStats {
  int degree = 0;     // Taylor degree m
  int steps = 0;      // s: exp(tA) B = (exp(tA / s))^s B
  long products = 0;  // products of A with an n x k block, norm estimation excluded
};

namespace detail {

template <class T>
constexpr bool is_sparse_v = std::is_base_of_v<Eigen::SparseMatrixBase<T>, T>;

// Taylor degrees considered and their thresholds theta_m for the unit roundoff of V.
template <class V>
struct TaylorTable {
  std::vector<int> degrees;
  std::vector<V> theta;
  static const TaylorTable& get() {
    static const TaylorTable table;
    return table;
  }

 private:
  TaylorTable() {
    const mp50 u(std::numeric_limits<V>::epsilon() / 2);
    for (int m = 1; m <= 55; m += m < 12 ? 1 : m < 30 ? 2 : 5) {
      degrees.push_back(m);
      theta.push_back(static_cast<V>(backward_error_theta(Approximant::taylor, m, u)));
    }
  }
};

template <class Derived>
auto inf_norm(const Eigen::MatrixBase<Derived>& x) {
  return x.cwiseAbs().rowwise().sum().maxCoeff();
}

}  // namespace detail

// exp(tA) B for a square dense or sparse (Eigen::SparseMatrix) A and an n x k block B, of
// double or std::complex<double> entries. Costs about m s products of A with B; exp(tA) is never
// formed. Throws odyn::InvalidArgument for shape mismatches and non-finite input, and
// odyn::OverflowError if the result overflows.
template <class MatA, class DerivedB>
Eigen::Matrix<typename DerivedB::Scalar, Eigen::Dynamic, Eigen::Dynamic> expm_multiply(
    const MatA& a, const Eigen::MatrixBase<DerivedB>& b, double t = 1.0, ExpmMultiplyStats* stats = nullptr) {
  using S = typename DerivedB::Scalar;
  using V = value_t<S>;
  using Block = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>;
  using Vec = Eigen::Matrix<S, Eigen::Dynamic, 1>;
  static_assert(std::is_same_v<typename MatA::Scalar, S>, "expm_multiply: A and B must have the same scalar type");
  const char* where = "expm_multiply";
  const Eigen::Index n = a.rows();
  if (a.cols() != n)
    throw InvalidArgument(std::string(where) + ": expected a square A, got " + std::to_string(a.rows()) + "x" +
                          std::to_string(a.cols()));
  if (b.rows() != n)
    throw InvalidArgument(std::string(where) + ": B has " + std::to_string(b.rows()) + " rows, A has " +
                          std::to_string(n));
  if (!std::isfinite(t)) throw InvalidArgument(std::string(where) + ": t is not finite");
  detail::require_finite_entries(b, where);

  // A - mu I with mu = tr(A) / n (the shift of Section 3.1), and the checks on A.
  S trace(0);
  using Shifted = std::conditional_t<detail::is_sparse_v<MatA>, Eigen::SparseMatrix<S>, Block>;
  Shifted as = a;
  if constexpr (detail::is_sparse_v<MatA>) {
    for (Eigen::Index k = 0; k < as.outerSize(); ++k)
      for (typename Shifted::InnerIterator it(as, k); it; ++it)
        if (!detail::is_finite_scalar(it.value())) throw InvalidArgument(std::string(where) + ": A is not finite");
  } else {
    detail::require_finite_entries(as, where);
  }
  for (Eigen::Index i = 0; i < n; ++i) trace += as.coeff(i, i);
  const S mu = n > 0 ? S(trace / V(n)) : S(0);
  const auto norm1_of = [&](const Shifted& m) {
    if constexpr (detail::is_sparse_v<MatA>) {
      V best(0);
      for (Eigen::Index k = 0; k < m.outerSize(); ++k) {
        V col(0);
        for (typename Shifted::InnerIterator it(m, k); it; ++it) col += std::abs(it.value());
        best = std::max(best, col);  // column-major: outer index = column
      }
      return best;
    } else {
      return V(detail::norm1(m));
    }
  };
  const V norm_unshifted = norm1_of(as);
  Shifted shifted = as;
  if constexpr (detail::is_sparse_v<MatA>) {
    for (Eigen::Index i = 0; i < n; ++i) shifted.coeffRef(i, i) -= mu;
  } else {
    shifted.diagonal().array() -= mu;
  }
  const bool shift = norm1_of(shifted) < norm_unshifted;
  if (shift) as = shifted;
  const S eta_mu = shift ? mu : S(0);

  ExpmMultiplyStats local;
  ExpmMultiplyStats& st = stats ? *stats : local;
  st = ExpmMultiplyStats{};
  Block f = b;
  if (n == 0 || b.cols() == 0) return f;
  const V norm = std::abs(t) * norm1_of(as);
  const auto& table = detail::TaylorTable<V>::get();
  const int m_max = table.degrees.back(), p_max = 8;
  const auto cost = [&](V alpha, std::size_t i) {
    return table.degrees[i] * std::max<double>(1.0, std::ceil(static_cast<double>(alpha / table.theta[i])));
  };
  int m = 0, s = 1;
  if (norm > V(0)) {
    double best = std::numeric_limits<double>::infinity();
    const double n0 = static_cast<double>(b.cols());
    if (static_cast<double>(norm) <=
        4.0 * static_cast<double>(table.theta.back()) * p_max * (p_max + 3) / (m_max * n0)) {
      for (std::size_t i = 0; i < table.degrees.size(); ++i)  // cheap: bound by ||A||_1 (eq. (3.13))
        if (cost(norm, i) < best) best = cost(norm, i), m = table.degrees[i];
    } else {
      // d_p = ||(tA)^p||_1^{1/p}, estimated; alpha_p = max(d_p, d_{p+1}) (Theorem 4.2)
      std::vector<V> d(p_max + 2, V(0));
      for (int p = 2; p <= p_max + 1; ++p) {
        const auto apply = [&](const Vec& x) {
          Vec y = x;
          for (int k = 0; k < p; ++k) y = Vec(as * y) * S(t);
          return y;
        };
        const auto apply_adjoint = [&](const Vec& x) {
          Vec y = x;
          for (int k = 0; k < p; ++k) y = Vec(as.adjoint() * y) * S(t);
          return y;
        };
        d[p] = std::pow(detail::onenorm_estimate<Vec>(n, apply, apply_adjoint), V(1) / V(p));
      }
      for (int p = 2; p <= p_max; ++p) {
        const V alpha = std::min(norm, std::max(d[p], d[p + 1]));
        for (std::size_t i = 0; i < table.degrees.size(); ++i)
          if (table.degrees[i] >= p * (p - 1) - 1 && cost(alpha, i) < best) best = cost(alpha, i), m = table.degrees[i];
      }
    }
    s = static_cast<int>(best / m);
  }
  st.degree = m;
  st.steps = s;
  const V tol = unit_roundoff<S>();
  const S eta = std::exp(S(t) * eta_mu / V(s));
  Block bb = f;
  for (int i = 0; i < s; ++i) {
    V c1 = detail::inf_norm(bb);
    for (int j = 1; j <= m; ++j) {
      bb = Block(as * bb) * S(t / (static_cast<double>(s) * j));
      ++st.products;
      const V c2 = detail::inf_norm(bb);
      f += bb;
      if (c1 + c2 <= tol * detail::inf_norm(f)) break;
      c1 = c2;
    }
    f *= eta;
    bb = f;
  }
  if (!f.allFinite()) throw OverflowError(std::string(where) + ": the result overflows");
  return f;
}

}  // namespace odyn::linalg
