// The routes by name, the scalar names, and test matrices in every scalar type.
#include <Eigen/QR>
#include <complex>
#include <random>
#include <string>

#include "common.hpp"

namespace odyn::linalg::identities {

const std::vector<RouteInfo>& routes() {
  static const std::vector<RouteInfo> list = {
      {Route::direct, "direct", "det(expm A) by LU against exp(tr A)"},
      {Route::eigen, "eigen", "prod exp(lambda_i) over the eigenvalues against exp(tr A)"},
      {Route::schur, "schur", "prod exp(t_ii) over the complex Schur form A = QTQ* against exp(tr A)"},
      {Route::liouville, "liouville", "dopri5 on X' = AX, X(0) = I: det X(1) against exp(tr A) (Liouville)"},
      {Route::det_ode, "det-ode", "f(t) = det exp(tA): central difference f'(t) against tr(A) f(t), t in [0, 2]"},
      {Route::jacobi_jet, "jacobi-jet", "Jacobi's formula d det X = det X tr(X^-1 dX) by ceres::Jet, X = exp(tA)"},
      {Route::jacobi_fd, "jacobi-fd", "Jacobi's formula with a central difference, X = exp(tA)"},
      {Route::limit, "limit", "det((I + A/n)^n) -> exp(tr A): n times the relative error -> -tr(A^2)/2"},
      {Route::log_trace, "log-trace", "ln det B = tr ln B for B = exp(A) (slogdet against logm)"},
      {Route::inverse, "inverse", "exp(A) exp(-A) = I"},
      {Route::commuting, "commuting", "exp(A+B) = exp(A) exp(B) for B = p(A); must fail for a non-commuting C"},
      {Route::det_perturbation, "det-perturbation",
       "det(I + eps A) = 1 + eps tr A + eps^2 (tr(A)^2 - tr(A^2))/2 + O(eps^3)"},
  };
  return list;
}

const std::string& to_string(Route route) {
  return routes().at(static_cast<std::size_t>(route)).name;
}

Route parse_route(const std::string& name) {
  std::string known;
  for (const RouteInfo& r : routes()) {
    if (r.name == name) return r.route;
    known += (known.empty() ? "" : ", ") + r.name;
  }
  throw InvalidArgument("identities::parse_route: unknown check '" + name + "' (expected one of: " + known + ")");
}

template <class Scalar>
IdentityCheck check(Route route, const Matrix<Scalar>& a) {
  switch (route) {
    case Route::direct:
      return direct(a);
    case Route::eigen:
      return eigen(a);
    case Route::schur:
      return schur(a);
    case Route::liouville:
      return liouville(a);
    case Route::det_ode:
      return det_ode(a);
    case Route::jacobi_jet:
      return jacobi_jet(a);
    case Route::jacobi_fd:
      return jacobi_fd(a);
    case Route::limit:
      return limit(a);
    case Route::log_trace:
      return log_trace(a);
    case Route::inverse:
      return inverse(a);
    case Route::commuting:
      return commuting(a);
    case Route::det_perturbation:
      return det_perturbation(a);
  }
  throw InvalidArgument("identities::check: unknown route");
}

const std::vector<std::string>& scalar_names() {
  static const std::vector<std::string> names = {"float", "double", "complex", "mp50"};
  return names;
}

template <class Scalar>
std::string scalar_name() {
  if constexpr (std::is_same_v<Scalar, float>) {
    return "float";
  } else if constexpr (std::is_same_v<Scalar, double>) {
    return "double";
  } else if constexpr (std::is_same_v<Scalar, std::complex<double>>) {
    return "complex";
  } else {
    return "mp50";
  }
}

template <class Scalar>
Matrix<Scalar> test_matrix(MatrixFamily family, int n, std::mt19937_64& rng, double scale) {
  const Eigen::MatrixXd a = make_test_matrix(family, n, rng, scale);
  if constexpr (detail::is_complex_v<Scalar>) {
    // U Haar-unitary: QR of a complex Gaussian matrix, the phases of R's diagonal moved into Q
    // (Mezzadri, Notices AMS 54(5), 2007).
    const Eigen::MatrixXcd g = gaussian_matrix(n, n, rng).cast<std::complex<double>>() +
                               std::complex<double>(0, 1) * gaussian_matrix(n, n, rng).cast<std::complex<double>>();
    const Eigen::HouseholderQR<Eigen::MatrixXcd> qr(g);
    Eigen::MatrixXcd q = qr.householderQ();
    for (int j = 0; j < n; ++j) {
      const std::complex<double> d = qr.matrixQR()(j, j);
      if (std::abs(d) > 0) q.col(j) *= d / std::abs(d);
    }
    const double theta = std::uniform_real_distribution<double>(0, 2 * M_PI)(rng);
    return (std::polar(1.0, theta) * q * a.cast<std::complex<double>>() * q.adjoint()).template cast<Scalar>();
  } else {
    return a.template cast<Scalar>();
  }
}

#define ODYN_INSTANTIATE(S)                                         \
  template IdentityCheck check<S>(Route route, const Matrix<S>& a); \
  template std::string scalar_name<S>();                            \
  template Matrix<S> test_matrix<S>(MatrixFamily family, int n, std::mt19937_64& rng, double scale);
ODYN_FOR_EACH_IDENTITY_SCALAR(ODYN_INSTANTIATE)
#undef ODYN_INSTANTIATE

}  // namespace odyn::linalg::identities
