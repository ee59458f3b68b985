#include "odyn/linalg/identities.hpp"

#include "odyn/core/validate.hpp"
#include "odyn/linalg/identities/routes.hpp"

namespace odyn::linalg {

IdentityCheck check_det_exp_trace(const Eigen::MatrixXd& a) {
  const std::string where = "check_det_exp_trace";
  require_nonempty(a, where);
  require_square(a, where);
  require_finite(a, where);
  return identities::direct<double>(a);
}

}  // namespace odyn::linalg
