// jacobi-jet: Jacobi's formula with forward-mode automatic differentiation by ceres::Jet. Ceres code
// lives in this translation unit only (its logging macros clash with LibTorch's).
#include "odyn/config.hpp"

#if ODYN_HAVE_CERES
#include <ceres/jet.h>
#endif

#include <Eigen/LU>
#include <cmath>
#include <complex>
#include <string>
#include <vector>

#include "common.hpp"
#include "odyn/linalg/expm.hpp"

namespace odyn::linalg::identities {

using detail::Complex;

#if ODYN_HAVE_CERES

namespace {

template <class Scalar>
using Jet = ceres::Jet<real_t<Scalar>, 1>;
// The entry type of a matrix with entries X + eps X': a Jet, or a complex number of Jets.
template <class Scalar>
using Dual = std::conditional_t<detail::is_complex_v<Scalar>, std::complex<Jet<Scalar>>, Jet<Scalar>>;

// The entry x + eps dx.
template <class Scalar>
Dual<Scalar> make_dual(const Scalar& x, const Scalar& dx) {
  const auto jet = [](const real_t<Scalar>& value, const real_t<Scalar>& derivative) {
    Jet<Scalar> j(value);
    j.v[0] = derivative;
    return j;
  };
  if constexpr (detail::is_complex_v<Scalar>) {
    return Dual<Scalar>(jet(x.real(), dx.real()), jet(x.imag(), dx.imag()));
  } else {
    return jet(x, dx);
  }
}

template <class Scalar>
Scalar value_of(const Dual<Scalar>& d) {
  if constexpr (detail::is_complex_v<Scalar>) {
    return Scalar(d.real().a, d.imag().a);
  } else {
    return d.a;
  }
}

template <class Scalar>
Scalar derivative_of(const Dual<Scalar>& d) {
  if constexpr (detail::is_complex_v<Scalar>) {
    return Scalar(d.real().v[0], d.imag().v[0]);
  } else {
    return d.v[0];
  }
}

// d/dt ln det X = sum_i u_ii' / u_ii from Gaussian elimination with partial pivoting (pivots chosen
// by the value parts) carried out on dual numbers: forward-mode differentiation of the determinant.
// False if a pivot is zero.
template <class Scalar>
bool log_det_derivative(std::vector<Dual<Scalar>> m, Eigen::Index n, Complex<Scalar>& result) {
  using std::abs;
  const auto at = [&](Eigen::Index i, Eigen::Index j) -> Dual<Scalar>& {
    return m[static_cast<std::size_t>(j * n + i)];
  };
  Complex<Scalar> sum(0);
  for (Eigen::Index k = 0; k < n; ++k) {
    Eigen::Index pivot = k;
    for (Eigen::Index i = k + 1; i < n; ++i) {
      if (abs(value_of<Scalar>(at(i, k))) > abs(value_of<Scalar>(at(pivot, k)))) pivot = i;
    }
    if (abs(value_of<Scalar>(at(pivot, k))) == real_t<Scalar>(0)) return false;
    if (pivot != k) {
      for (Eigen::Index j = k; j < n; ++j) std::swap(at(k, j), at(pivot, j));
    }
    for (Eigen::Index i = k + 1; i < n; ++i) {
      const Dual<Scalar> factor = at(i, k) / at(k, k);
      for (Eigen::Index j = k + 1; j < n; ++j) at(i, j) = at(i, j) - factor * at(k, j);
    }
    sum += detail::as_complex<Scalar>(derivative_of<Scalar>(at(k, k))) /
           detail::as_complex<Scalar>(value_of<Scalar>(at(k, k)));
  }
  result = sum;
  return true;
}

// Compares the Jet derivative with tr(X^-1 X'); tolerance as in routes.hpp.
template <class Scalar>
IdentityCheck compare_jacobi(const std::string& name, const std::vector<Dual<Scalar>>& dual, const Matrix<Scalar>& x,
                             const Matrix<Scalar>& dx) {
  using Real = real_t<Scalar>;
  using std::sqrt;
  const Eigen::Index n = x.rows();
  Complex<Scalar> lhs;
  if (!log_det_derivative<Scalar>(dual, n, lhs)) return detail::inconclusive_check(name, "abs_error", "X is singular");
  const Eigen::PartialPivLU<Matrix<Scalar>> lu(x);
  const Real inv_norm = detail::norm_fro(Matrix<Scalar>(lu.inverse()));
  const Real kappa = detail::norm_fro(x) * inv_norm;
  const Real scale = inv_norm * detail::norm_fro(dx);
  const Real u = unit_roundoff<Scalar>();
  IdentityCheck c;
  c.name = name;
  c.condition = detail::to_double(kappa);
  c.tolerance = detail::to_double(Real(Real(kSafety) * Real(2) * sqrt(Real(n)) * u * (kappa + Real(1)) * scale));
  detail::set_sides(c, lhs, detail::as_complex<Scalar>(Matrix<Scalar>(lu.solve(dx)).trace()), "abs_error");
  detail::decide(c, detail::to_double(Real(Real(1) + scale)),
                 "X too ill-conditioned for " + detail::precision_name<Scalar>() +
                     " precision (kappa = " + detail::format_g(c.condition) + ")");
  return c;
}

template <class Scalar>
std::vector<Dual<Scalar>> dual_matrix(const Matrix<Scalar>& x, const Matrix<Scalar>& dx) {
  std::vector<Dual<Scalar>> m(static_cast<std::size_t>(x.size()));
  for (Eigen::Index j = 0; j < x.cols(); ++j) {
    for (Eigen::Index i = 0; i < x.rows(); ++i)
      m[static_cast<std::size_t>(j * x.rows() + i)] = make_dual(x(i, j), dx(i, j));
  }
  return m;
}

}  // namespace

template <class Scalar>
IdentityCheck jacobi_jet(const Matrix<Scalar>& a) {
  using Real = real_t<Scalar>;
  detail::require_input(a, "identities::jacobi_jet");
  const std::string name = "d/dt det X = det X tr(X^-1 X'), X = exp(tA), t = 1 (Jet)";
  const Eigen::Index n = a.rows();
  Matrix<Scalar> x, dx;
  try {
    if constexpr (detail::is_complex_v<Scalar>) {
      // Complex Jets are not Eigen scalars: exp(A) in complex arithmetic, X' = X A seeded.
      x = expm(a);
      dx = x * a;
    } else {
      // exp(tA) on Jets at t = 1 + eps: the entries t a_ij carry the derivative a_ij.
      Matrix<Jet<Scalar>> ta(n, n);
      for (Eigen::Index j = 0; j < n; ++j) {
        for (Eigen::Index i = 0; i < n; ++i) {
          ta(i, j) = make_dual(a(i, j), a(i, j));
        }
      }
      const Matrix<Jet<Scalar>> e = expm(ta);
      x = e.unaryExpr([](const Jet<Scalar>& j) { return j.a; });
      dx = e.unaryExpr([](const Jet<Scalar>& j) { return Scalar(j.v[0]); });
    }
  } catch (const OverflowError&) {
    return detail::inconclusive_check(name, "abs_error",
                                      "exp(A) overflows " + detail::precision_name<Scalar>() + " precision");
  }
  if (!detail::all_finite(x) || !detail::all_finite(dx)) {
    return detail::inconclusive_check(name, "abs_error",
                                      "exp(A) overflows " + detail::precision_name<Scalar>() + " precision");
  }
  IdentityCheck c = compare_jacobi(name, dual_matrix(x, dx), x, dx);
  const Matrix<Scalar> exact = x * a;
  const Real exact_size = detail::norm_fro(exact);
  detail::add_detail(
      c, "jet_derivative_rel_diff",
      detail::to_double(exact_size > Real(0) ? Real(detail::norm_fro(Matrix<Scalar>(dx - exact)) / exact_size)
                                             : detail::norm_fro(dx)));
  return c;
}

template <class Scalar>
IdentityCheck jacobi_jet(const Matrix<Scalar>& x0, const Matrix<Scalar>& x1, const Matrix<Scalar>& x2,
                         const real_t<Scalar>& t) {
  const std::string where = "identities::jacobi_jet";
  detail::require_input(x0, where);
  detail::require_input(x1, where);
  detail::require_input(x2, where);
  if (x1.rows() != x0.rows() || x2.rows() != x0.rows()) throw InvalidArgument(where + ": X0, X1, X2 differ in size");
  if (!(Eigen::numext::isfinite)(t)) throw InvalidArgument(where + ": t is not finite");
  const Matrix<Scalar> x = x0 + Scalar(t) * x1 + Scalar(t * t) * x2;
  const Matrix<Scalar> dx = x1 + Scalar(real_t<Scalar>(2) * t) * x2;
  return compare_jacobi("d/dt det X = det X tr(X^-1 X'), X = X0 + t X1 + t^2 X2 (Jet)", dual_matrix(x, dx), x, dx);
}

#else  // without Ceres

template <class Scalar>
IdentityCheck jacobi_jet(const Matrix<Scalar>&) {
  throw InvalidArgument("identities::jacobi_jet: odyn was built without Ceres (ceres::Jet)");
}

template <class Scalar>
IdentityCheck jacobi_jet(const Matrix<Scalar>&, const Matrix<Scalar>&, const Matrix<Scalar>&, const real_t<Scalar>&) {
  throw InvalidArgument("identities::jacobi_jet: odyn was built without Ceres (ceres::Jet)");
}

#endif

#define ODYN_INSTANTIATE(S)                                                                           \
  template IdentityCheck jacobi_jet<S>(const Matrix<S>& a);                                           \
  template IdentityCheck jacobi_jet<S>(const Matrix<S>& x0, const Matrix<S>& x1, const Matrix<S>& x2, \
                                       const real_t<S>& t);
ODYN_FOR_EACH_IDENTITY_SCALAR(ODYN_INSTANTIATE)
#undef ODYN_INSTANTIATE

}  // namespace odyn::linalg::identities
