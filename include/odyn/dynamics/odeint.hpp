// Boost.Odeint on Eigen vectors: the includes and stepper types odyn's flows and optimizers use.
// Odeint's Eigen adapter supplies the max-norm its error-controlled steppers need.
#pragma once

#include <Eigen/Core>
#include <boost/numeric/odeint.hpp>
#include <boost/numeric/odeint/external/eigen/eigen.hpp>

namespace odyn::dynamics {

namespace odeint = boost::numeric::odeint;
using EulerStepper = odeint::euler<Eigen::VectorXd, double, Eigen::VectorXd, double, odeint::vector_space_algebra>;
using Rk4Stepper = odeint::runge_kutta4<Eigen::VectorXd, double, Eigen::VectorXd, double, odeint::vector_space_algebra>;
using Dopri5Stepper =
    odeint::runge_kutta_dopri5<Eigen::VectorXd, double, Eigen::VectorXd, double, odeint::vector_space_algebra>;

// x(t1) of the system from x(t0) = x by adaptive Dormand-Prince 5(4) with absolute and relative
// tolerance `tol`.
template <class System>
Eigen::VectorXd integrate_flow(const System& system, Eigen::VectorXd x, double t0, double t1, double tol = 1e-12) {
  odeint::integrate_adaptive(odeint::make_controlled(tol, tol, Dopri5Stepper()), system, x, t0, t1, (t1 - t0) / 1000);
  return x;
}

}  // namespace odyn::dynamics
