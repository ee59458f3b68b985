// Uses the installed odyn::core: det(exp A) = exp(tr A) for A = [[1, 0], [1, 0]], where
// exp(A) = [[e, 0], [e - 1, 1]] and both sides equal e.
#include <cmath>
#include <cstdio>
#include <odyn/config.hpp>
#include <odyn/linalg/expm.hpp>
#include <odyn/linalg/identities.hpp>

int main() {
  Eigen::MatrixXd a(2, 2);
  a << 1, 0, 1, 0;
  const Eigen::MatrixXd x = odyn::linalg::expm(a);
  const double e = std::exp(1.0);
  const bool expm_ok = std::abs(x(0, 0) - e) < 1e-13 && std::abs(x(1, 0) - (e - 1)) < 1e-13 &&
                       std::abs(x(0, 1)) < 1e-13 && std::abs(x(1, 1) - 1) < 1e-13;
  const odyn::linalg::IdentityCheck c = odyn::linalg::check_det_exp_trace(a);
  std::printf("odyn %s: det(exp A) = %.16g, exp(tr A) = %.16g, %s\n", ODYN_VERSION_STRING, c.lhs, c.rhs,
              c.passed && expm_ok ? "ok" : "FAILED");
  return c.passed && expm_ok ? 0 : 1;
}
