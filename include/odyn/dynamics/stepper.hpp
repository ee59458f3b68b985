// The member types of Boost.Odeint's Stepper concept for steppers on Eigen vectors.
#pragma once

#include <Eigen/Core>
#include <boost/numeric/odeint/stepper/stepper_categories.hpp>

namespace odyn::dynamics {

struct VectorStepperTypes {
  using state_type = Eigen::VectorXd;
  using deriv_type = Eigen::VectorXd;
  using value_type = double;
  using time_type = double;
  using order_type = unsigned short;
  using stepper_category = boost::numeric::odeint::stepper_tag;
};

}  // namespace odyn::dynamics
