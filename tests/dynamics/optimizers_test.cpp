// Optimizers as odeint steppers: agreement with torch.optim, the part-one momentum forms and the
// part-two error-controlled step (tests B1-5, B1-6, B2-1 ... B2-6 of the dynamics series).
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <map>

#include "odyn/core/error.hpp"
#include "odyn/dynamics/flows.hpp"
#include "odyn/dynamics/odeint.hpp"
#include "odyn/dynamics/optimizers.hpp"

using namespace odyn::dynamics;
namespace ode = odyn::dynamics::odeint;

namespace {

Vector vec(std::initializer_list<double> v) {
  Vector x(static_cast<Eigen::Index>(v.size()));
  Eigen::Index i = 0;
  for (double e : v) x[i++] = e;
  return x;
}

// n steps of `opt` with learning rate lr on the gradient field of `p` from x0.
template <class Opt>
Vector run(Opt& opt, const Problem& p, Vector x, double lr, std::size_t n) {
  ode::integrate_n_steps(std::ref(opt), GradientFlow(p), x, 0.0, lr, n, [](const Vector&, double) {});
  return x;
}

// The field of L = c/2 |x|^2.
struct ScaledSquare {
  double c = 1;
  void operator()(const Vector& x, Vector& d, double) const { d = -c * x; }
};

}  // namespace

// Final points after 30 steps on Rosenbrock from (-1.2, 1), printed by
// tests/dynamics/torch_optim_reference.py (torch.optim, float64).
TEST(Optimizers, MatchTorchOptimOnRosenbrock) {
  const std::map<std::string, std::array<double, 2>> torch_result = {
      {"sgd", {-1.0056433831434763, 1.0193127989026176}},
      {"momentum", {-0.29661059207810392, 0.013582069911406551}},
      {"momentum-damped", {-0.30328113114099392, 0.063092187907493533}},
      {"nesterov", {-0.63568397448101066, 0.4115430698827216}},
      {"adagrad", {-1.0456637520674859, 1.0996869081835949}},
      {"adagrad-options", {-1.0479305516755406, 1.1044315528989548}},
      {"rmsprop", {-1.0441577410322673, 1.0965382522993485}},
      {"rmsprop-centered", {-1.0222630825494248, 1.0513647558750665}},
      {"adam", {-1.0360739764665643, 1.1574979473585463}},
      {"adam-amsgrad", {-1.0558212295446481, 1.1392388899888684}},
      {"adamw", {-1.0336769165533612, 1.1531891152824369}},
      {"adamw-amsgrad", {-1.0123284710204707, 1.1149966437889665}},
  };
  struct Case {
    std::string name;
    std::function<std::unique_ptr<Optimizer>()> make;
    double lr;
  };
  const std::vector<Case> cases = {
      {"sgd", [] { return std::make_unique<Sgd>(); }, 1e-3},
      {"momentum",
       [] {
         return std::make_unique<Sgd>(Sgd::Options{0.9, 0, 0, false});
       },
       1e-3},
      {"momentum-damped",
       [] {
         return std::make_unique<Sgd>(Sgd::Options{0.9, 0.1, 0.01, false});
       },
       1e-3},
      {"nesterov",
       [] {
         return std::make_unique<Sgd>(Sgd::Options{0.9, 0, 0, true});
       },
       1e-3},
      {"adagrad", [] { return std::make_unique<Adagrad>(); }, 0.1},
      {"adagrad-options",
       [] {
         return std::make_unique<Adagrad>(Adagrad::Options{0.01, 0.01, 0.1, 1e-10});
       },
       0.1},
      {"rmsprop", [] { return std::make_unique<Rmsprop>(); }, 0.01},
      {"rmsprop-centered",
       [] {
         return std::make_unique<Rmsprop>(Rmsprop::Options{0.99, 1e-8, 0.01, 0.5, true, false});
       },
       0.01},
      {"adam", [] { return std::make_unique<Adam>(); }, 0.01},
      {"adam-amsgrad",
       [] {
         return std::make_unique<Adam>(Adam::Options{0.8, 0.99, 1e-8, 0.01, true, false});
       },
       0.01},
      {"adamw", [] { return std::make_unique<Adam>(Adam::adamw()); }, 0.01},
      {"adamw-amsgrad",
       [] {
         return std::make_unique<Adam>(Adam::Options{0.9, 0.999, 1e-8, 0.1, true, true});
       },
       0.01},
  };
  const Rosenbrock rosen;
  for (const auto& c : cases) {
    auto opt = c.make();
    const Vector x = run(*opt, rosen, vec({-1.2, 1.0}), c.lr, 30);
    const auto& want = torch_result.at(c.name);
    // The same operations in a different order round differently (a few ulps per step); over 30
    // steps Rosenbrock's curvature (up to ~1000) amplifies such differences to ~1e-13 at most.
    for (int i = 0; i < 2; ++i) EXPECT_NEAR(x[i], want[static_cast<std::size_t>(i)], 1e-12) << c.name;
  }
}

TEST(Optimizers, TemplateAndVirtualPathsAgreeBitwise) {
  const Rosenbrock rosen;
  for (const auto& name : optimizer_names()) {
    auto a = make_optimizer(name);
    auto b = a->clone();
    Vector xa = vec({-1.2, 1.0}), xb = xa;
    const GradientField field = [&](const Vector& x, Vector& d, double t) { GradientFlow{rosen}(x, d, t); };
    for (int k = 0; k < 20; ++k) {
      a->step(field, xa, k * 1e-3, 1e-3);
      b->do_step(GradientFlow(rosen), xb, k * 1e-3, 1e-3);
    }
    EXPECT_EQ((xa - xb).cwiseAbs().maxCoeff(), 0.0) << name;
  }
}

TEST(Optimizers, SgdIsExplicitEulerOnTheGradientFlow) {
  const Beale beale;
  Sgd sgd;
  EulerStepper euler;
  Vector xe = beale.default_start();
  ode::integrate_n_steps(euler, GradientFlow(beale), xe, 0.0, 0.01, 100);
  EXPECT_EQ((run(sgd, beale, beale.default_start(), 0.01, 100) - xe).cwiseAbs().maxCoeff(), 0.0);
}

TEST(Optimizers, ResetForgetsState) {
  const Rosenbrock rosen;
  Adam adam;
  const Vector first = run(adam, rosen, vec({-1.2, 1.0}), 0.01, 10);
  adam.reset();
  EXPECT_EQ((run(adam, rosen, vec({-1.2, 1.0}), 0.01, 10) - first).norm(), 0.0);
}

// B1-6: from beta ~ 1 - lambda sqrt(alpha), alpha -> r alpha keeps lambda with beta -> 1 - (1 - beta) sqrt(r).
TEST(Optimizers, MomentumRetuningRule) {
  EXPECT_NEAR(retuned_momentum(0.9, 0.25), 0.95, 1e-15);
  EXPECT_NEAR(retuned_momentum(0.9, 0.01), 0.99, 1e-15);
  EXPECT_NEAR(retuned_momentum(0.99, 0.1), 0.996837722339831, 1e-15);
  EXPECT_THROW(retuned_momentum(0.9, -1), odyn::InvalidArgument);
}

TEST(Optimizers, LeapfrogMappingRoundTrips) {
  for (double lambda : {0.1, 1.0, 3.0})
    for (double gamma : {0.01, 0.1, 0.5}) {
      const MomentumCoefficients c = leapfrog_coefficients(lambda, gamma);
      const FrictionAndStep back = leapfrog_parameters(c);
      // lambda comes from 1 - beta ~ lambda gamma, whose relative rounding error is eps / (1 - beta)
      const double eps = std::numeric_limits<double>::epsilon();
      EXPECT_NEAR(back.friction, lambda, 4 * eps / (1 - c.beta) * lambda);
      EXPECT_NEAR(back.gamma, gamma, 4 * eps * gamma);
    }
  const MomentumCoefficients c = implicit_coefficients(2.0, 0.1);
  EXPECT_DOUBLE_EQ(c.beta, 0.8);
  EXPECT_DOUBLE_EQ(c.alpha, 0.01);
  EXPECT_THROW(leapfrog_parameters({1.0, 0.1}), odyn::InvalidArgument);
}

// B1-5: standard Nesterov, v <- beta v - alpha grad L(x + beta v), x <- x + v, and the framework
// (Keras / torch) form have the same iterates X_n = x_n + beta v_n.
TEST(Optimizers, NesterovLookaheadMatchesFrameworkForm) {
  const double beta = 0.9, alpha = 0.01;
  NesterovMomentum nag(MomentumRule::constant(beta, alpha), 1.0);
  Sgd torch_form(Sgd::Options{beta, 0, 0, true});
  const ScaledSquare field{1.0};
  Vector x = vec({1.0}), big_x = x;
  double worst = 0;
  for (int n = 0; n < 50; ++n) {
    nag.do_step(field, x, 0, 1.0);
    torch_form.do_step(field, big_x, 0, alpha);
    worst = std::max(worst, std::abs(x[0] + beta * nag.velocity()[0] - big_x[0]));
  }
  EXPECT_LE(worst, 1e-15);
}

// B2-1 and B2-2: with decay 0 and eps 0 the error-controlled step is a sign step per coordinate and
// a normalised gradient step in the scalar variant.
TEST(Optimizers, ErrorControlledLimits) {
  const double step = 0.1;
  struct Fixed {
    Vector g;
    void operator()(const Vector&, Vector& d, double) const { d = -g; }
  } field{vec({3.0, -0.5, 0.0, 1e-300})};
  ErrorControlled per(ErrorControlled::Options{0, 0, true});
  Vector x = Vector::Zero(4);
  per.do_step(field, x, 0, step);
  EXPECT_EQ(x, vec({-0.1, 0.1, 0.0, -0.1}));
  ErrorControlled scalar(ErrorControlled::Options{0, 0, false});
  Vector y = Vector::Zero(4);
  scalar.do_step(field, y, 0, step);
  EXPECT_NEAR((y + step * field.g.normalized()).norm(), 0, 1e-16);
}

// B2-3: for a constant gradient g, G_n = (1 - lambda^n) g^2 and the n-th step is dt g / sqrt(G_n + eps).
TEST(Optimizers, ErrorControlledConstantGradient) {
  const double lambda = 0.9, eps = 1e-3, dt = 0.01, g = 2.0;
  ErrorControlled opt(ErrorControlled::Options{lambda, eps, true});
  struct Constant {
    void operator()(const Vector& x, Vector& d, double) const { d = Vector::Constant(x.size(), -2.0); }
  } field;
  Vector x = Vector::Zero(1);
  for (int n = 1; n <= 60; ++n) {
    const double before = x[0];
    opt.do_step(field, x, 0, dt);
    const double gn = (1 - std::pow(lambda, n)) * g * g;
    EXPECT_NEAR(before - x[0], dt * g / std::sqrt(gn + eps), 1e-15) << n;
  }
  // the step tends to dt g / sqrt(g^2 + eps) (lambda^400 = 5e-19)
  for (int n = 0; n < 340; ++n) opt.do_step(field, x, 0, dt);
  const double before = x[0];
  opt.do_step(field, x, 0, dt);
  EXPECT_NEAR(before - x[0], dt * g / std::sqrt(g * g + eps), 1e-15);
}

// B2-4: scaling the loss by c leaves the eps = 0 iterates unchanged; with eps > 0 the run on c L with
// eps equals the run on L with eps / c^2 (eps inside the root) or eps / c (outside, torch form).
TEST(Optimizers, LossScalingInvariance) {
  const double c = 100;
  const Rosenbrock rosen;
  const GradientFlow base(rosen);
  const auto scaled = [&](const Vector& x, Vector& d, double t) {
    base(x, d, t);
    d *= c;
  };
  const auto run_field = [](Optimizer& opt, const GradientField& f) {
    Vector x = vec({-1.2, 1.0});
    for (int k = 0; k < 50; ++k) opt.step(f, x, 0, 1e-3);
    return x;
  };
  const GradientField plain = [&](const Vector& x, Vector& d, double t) { base(x, d, t); };
  {
    ErrorControlled a(ErrorControlled::Options{0.9, 0, true}), b = a;
    const Vector xa = run_field(a, plain), xb = run_field(b, scaled);
    EXPECT_LE((xa - xb).norm(), 1e-14 * xa.norm());
  }
  {
    ErrorControlled a(ErrorControlled::Options{0.9, 1e-2 / (c * c), true}),
        b(ErrorControlled::Options{0.9, 1e-2, true});
    const Vector xa = run_field(a, plain), xb = run_field(b, scaled);
    EXPECT_LE((xa - xb).norm(), 1e-13 * xa.norm());
  }
  {
    Rmsprop a(Rmsprop::Options{0.9, 1e-2 / c, 0, 0, false, false}), b(Rmsprop::Options{0.9, 1e-2, 0, 0, false, false});
    const Vector xa = run_field(a, plain), xb = run_field(b, scaled);
    EXPECT_LE((xa - xb).norm(), 1e-13 * xa.norm());
  }
}

// B2-5: sign descent on L = theta^2 / 2 from 0.35 with step 0.1 never converges: 0.25, 0.15, 0.05,
// -0.05, 0.05, ... (a limit cycle of amplitude 0.05).
TEST(Optimizers, SignDescentLimitCycle) {
  ErrorControlled sign_gd(ErrorControlled::Options{0, 0, true});
  Vector x = vec({0.35});
  const std::vector<double> want = {0.25, 0.15, 0.05, -0.05, 0.05, -0.05, 0.05};
  for (double w : want) {
    sign_gd.do_step(ScaledSquare{1.0}, x, 0, 0.1);
    EXPECT_NEAR(x[0], w, 1e-15);
  }
}

// B2-6: the Adagrad sum of squares makes the step decay like 1/sqrt(n) for a constant gradient.
TEST(Optimizers, AdagradStepDecaysLikeInverseSqrt) {
  Adagrad adagrad(Adagrad::Options{0, 0, 0, 0});
  struct Constant {
    void operator()(const Vector& x, Vector& d, double) const { d = Vector::Constant(x.size(), -3.0); }
  } field;
  Vector x = Vector::Zero(1);
  for (int n = 1; n <= 100; ++n) {
    const double before = x[0];
    adagrad.do_step(field, x, 0, 0.5);
    EXPECT_NEAR(before - x[0], 0.5 / std::sqrt(n), 1e-15) << n;
  }
}

TEST(Optimizers, FactoryAndValidation) {
  for (const auto& name : optimizer_names()) EXPECT_NO_THROW(make_optimizer(name)) << name;
  EXPECT_EQ(make_optimizer("adamw")->name(), "adamw");
  EXPECT_EQ(make_optimizer("nesterov")->name(), "nesterov");
  EXPECT_EQ(make_optimizer("heavy-ball")->order(), 2);
  EXPECT_THROW(make_optimizer("lion"), odyn::InvalidArgument);
  OptimizerSettings bad;
  bad.beta1 = 1.0;
  EXPECT_THROW(make_optimizer("adam", bad), odyn::InvalidArgument);
  bad = {};
  bad.alpha = -0.1;
  EXPECT_THROW(make_optimizer("rmsprop", bad), odyn::InvalidArgument);
  EXPECT_THROW(Sgd(Sgd::Options{0, 0, 0, true}), odyn::InvalidArgument);
  EXPECT_THROW(HeavyBall(MomentumRule::leapfrog(-1)), odyn::InvalidArgument);
}
