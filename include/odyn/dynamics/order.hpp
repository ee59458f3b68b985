// Optimizers as integrators of their continuous-time flows: the flow an optimizer discretises with
// a given step, sampled at the optimizer's times, and the observed order of the optimizer against it
// over a range of step sizes. See docs/cli.md (odyn dynamics).
//
// Time axis. The optimizer's time is the odeint time t = n h after n steps of size h (what
// integrate_n_steps and a Recorder see). The flow time is t for every optimizer except torch-form
// momentum (momentum, nesterov, or sgd with momentum beta > 0), whose n-th iterate follows the
// gradient flow at time n h / (1 - beta) (Kovachki & Stuart 2021): FlowMatch::time_scale = 1 / (1 - beta).
#pragma once

#include <string>
#include <vector>

#include "odyn/dynamics/optimizers.hpp"
#include "odyn/dynamics/problems.hpp"
#include "odyn/dynamics/reference.hpp"

namespace odyn::dynamics {

// The plain continuous limit, or (gradient descent only) the modified flow of Barrett & Dherin with
// the step h, which gradient descent follows to second order.
enum class FlowKind { plain, modified };
std::string to_string(FlowKind kind);
// "plain" or "modified"; throws odyn::InvalidArgument otherwise.
FlowKind parse_flow_kind(const std::string& name);

// The flow an optimizer with step `lr` discretises:
//   sgd (no momentum)            gradient flow, or ModifiedGradientFlow(p, lr) for FlowKind::modified
//   momentum, nesterov, sgd with momentum beta
//                                gradient flow at flow time t / (1 - beta) (no dampening)
//   heavy-ball, nesterov-midpoint  HeavyBallFlow(p, friction) from velocity 0
//   nesterov-accelerated         NesterovFlow(p, r), started at t0 = 1e-6 T by its series
//   adam, adamw (no weight decay, no amsgrad)
//                                AdamFlow(p, (1 - beta1) / lr, (1 - beta2) / lr, eps)
//   rmsprop (no momentum, not centered)
//                                RmspropFlow(p, (1 - alpha) / lr, eps, eps_inside)
// L2 weight decay of sgd, momentum, nesterov, adam and rmsprop is the flow of L + (wd/2) |x|^2.
// adagrad, error-controlled, adamw with weight decay and the modified flow of any other optimizer have
// no flow here: odyn::InvalidArgument says so.
struct FlowMatch {
  std::string description;  // e.g. "gradient flow at t / (1 - beta), beta = 0.9"
  double time_scale = 1;    // flow time = time_scale * optimizer time
};
FlowMatch describe_matching_flow(const std::string& optimizer, const OptimizerSettings& settings, double lr,
                                 FlowKind kind = FlowKind::plain);

// The positions x(flow time) of the matching flow from x0 at the optimizer times `times` (t = n lr;
// finite, >= 0 and nondecreasing), integrated by adaptive Dormand-Prince 5(4) with tolerance 1e-12.
// Throws odyn::InvalidArgument for a combination without a flow, lr <= 0, a bad x0 or bad times.
std::vector<Vector> matching_flow(const std::string& optimizer, const OptimizerSettings& settings,
                                  const Problem& problem, const Vector& x0, double lr, const std::vector<double>& times,
                                  FlowKind kind = FlowKind::plain);

// The global error of an optimizer against its flow at flow time `time`, for each step h of `steps`:
// n = round(time / (h time_scale)) steps (1 <= n <= 1e7), error = |x_n - x(n h time_scale)|_2.
// Adam's betas and RMSprop's alpha are taken as given at the largest step H and rescaled to
// 1 - (1 - beta) h / H at the others, so that every run has the same flow; the modified flow is
// that of each h. `fit` is fit_order over (steps, errors) when there are >= 3 steps, all errors are
// finite and > 0 and odyn has Ceres; otherwise fit.points is 0.
struct OrderStudy {
  std::vector<double> steps, errors;
  std::vector<long> iterations;  // n for each step
  OrderFit fit;
  std::string flow;  // FlowMatch::description at the largest step
};
// Throws odyn::InvalidArgument for an empty `steps`, a step that is not finite and > 0, repeated
// steps, a time that is not finite and > 0, a step count outside [1, 1e7], a bad x0 or a combination
// without a flow.
OrderStudy order_study(const std::string& optimizer, const OptimizerSettings& settings, const Problem& problem,
                       const Vector& x0, double time, const std::vector<double>& steps,
                       FlowKind kind = FlowKind::plain);

}  // namespace odyn::dynamics
