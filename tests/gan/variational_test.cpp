// Tests of the VAE / VIB layer: the Gaussian identities C1–C7 of seed-math §3 (closed forms against
// Monte Carlo with bounds several standard errors wide and against quadrature), the importance-
// weighted bound, short trainings on MNIST, bad input and bit-identical checkpoint/resume.
#include "odyn/gan/variational.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "../test_util.hpp"
#include "odyn/core/error.hpp"
#include "odyn/gan/models.hpp"
#include "odyn/gan/trainer.hpp"

namespace {

using odyn::test::simpson;

using odyn::gan::Tensor;
namespace gan = odyn::gan;
namespace fs = std::filesystem;

const auto f64 = ::torch::TensorOptions().dtype(::torch::kFloat64);
constexpr double kPi = 3.14159265358979323846;

double log_normal_pdf(double z, double mean, double log_var) {
  const double d = z - mean;
  return -0.5 * (d * d / std::exp(log_var) + log_var + std::log(2 * kPi));
}

// Mean and standard error of the entries of a 1-D tensor.
std::pair<double, double> mean_and_se(const Tensor& v) {
  const Tensor d = v.to(::torch::kFloat64);
  return {d.mean().item<double>(), d.std().item<double>() / std::sqrt(static_cast<double>(d.numel()))};
}

// The message of the odyn::InvalidArgument that f() throws, or "no error".
template <class F>
std::string invalid_argument_of(F&& f) {
  try {
    f();
  } catch (const odyn::InvalidArgument& e) {
    return e.what();
  }
  return "no error";
}

#define EXPECT_INVALID(expr, fragment)                                                \
  do {                                                                                \
    const std::string message = invalid_argument_of([&] { (void)(expr); });           \
    EXPECT_NE(message.find(fragment), std::string::npos) << #expr << ": " << message; \
    EXPECT_EQ(message.rfind("gan::", 0), 0u) << message;                              \
  } while (0)

// ---- C1, C2: the KL divergence to N(0, I) ----------------------------------------------------

const std::vector<double> kMeans = {0.3, -1.2, 2.0, 0.0};
const std::vector<double> kLogVars = {-0.5, 0.7, -2.0, 1.5};

TEST(VariationalMath, GaussianKlMatchesMonteCarlo) {
  // C1: E_{z~q}[ln q(z) − ln p(z)] over 10^6 draws; bound 5 standard errors, which is itself < 1 %.
  const Tensor mean = ::torch::tensor(kMeans, f64), log_var = ::torch::tensor(kLogVars, f64);
  const double kl = gan::gaussian_kl(mean, log_var).item<double>();
  auto gen = gan::cpu_generator(11);
  const int64_t n = 1000000;
  const Tensor u = ::torch::randn({n, 4}, gen, f64);
  const Tensor z = mean + (0.5 * log_var).exp() * u;
  const Tensor log_ratio = (-0.5 * u.square() - 0.5 * log_var + 0.5 * z.square()).sum(1);
  const auto [mc, se] = mean_and_se(log_ratio);
  EXPECT_LT(se, 0.002 * kl);
  EXPECT_NEAR(mc, kl, 5 * se);
}

TEST(VariationalMath, GaussianKlMatchesQuadrature) {
  // C1: per dimension ∫ q ln(q/p) dz by Simpson on μ ± 20σ; the sum agrees to rel 1e-10.
  double total = 0;
  for (std::size_t j = 0; j < kMeans.size(); ++j) {
    const double m = kMeans[j], lv = kLogVars[j], s = std::exp(0.5 * lv);
    const double kl_j = simpson(
        [&](double z) {
          const double lq = log_normal_pdf(z, m, lv);
          return std::exp(lq) * (lq - log_normal_pdf(z, 0, 0));
        },
        m - 20 * s, m + 20 * s, 4000);
    const double closed = gan::gaussian_kl(::torch::tensor({m}, f64), ::torch::tensor({lv}, f64)).item<double>();
    EXPECT_NEAR(kl_j, closed, 1e-10 * std::abs(closed) + 1e-14) << "dimension " << j;
    total += kl_j;
  }
  const double kl = gan::gaussian_kl(::torch::tensor(kMeans, f64), ::torch::tensor(kLogVars, f64)).item<double>();
  EXPECT_NEAR(total, kl, 1e-10 * kl);
}

TEST(VariationalMath, GaussianKlReductions) {
  // C2: zero at the prior; one value per row, summed over K; the batch mean is the Keras layer's.
  EXPECT_TRUE(::torch::equal(gan::gaussian_kl(::torch::zeros({3, 5}), ::torch::zeros({3, 5})), ::torch::zeros({3})));
  auto gen = gan::cpu_generator(3);
  const Tensor mean = ::torch::randn({6, 7}, gen, f64), log_var = ::torch::randn({6, 7}, gen, f64);
  const Tensor kl = gan::gaussian_kl(mean, log_var);
  ASSERT_EQ(kl.sizes(), (std::vector<int64_t>{6}));
  EXPECT_TRUE(kl.gt(0).all().item<bool>());
  const Tensor elementwise = 0.5 * (mean.square() + log_var.exp() - 1 - log_var);
  EXPECT_TRUE(::torch::allclose(kl, elementwise.sum(1), 1e-14, 0));
  // Keras VIB layer: kl = −½ Σ_k mean_batch(1 + logvar − μ² − e^logvar).
  const double keras = (-0.5 * (1 + log_var - mean.square() - log_var.exp()).mean(0).sum()).item<double>();
  EXPECT_NEAR(kl.mean().item<double>(), keras, 1e-13 * keras);
  // Independent blocks of dimensions add.
  const Tensor split = gan::gaussian_kl(mean.slice(1, 0, 3), log_var.slice(1, 0, 3)) +
                       gan::gaussian_kl(mean.slice(1, 3), log_var.slice(1, 3));
  EXPECT_TRUE(::torch::allclose(kl, split, 1e-14, 0));
  // Leading dimensions are kept: (2, 3, 7) -> (2, 3).
  EXPECT_EQ(gan::gaussian_kl(mean.slice(0, 0, 6).reshape({2, 3, 7}), log_var.reshape({2, 3, 7})).sizes(),
            (std::vector<int64_t>{2, 3}));
}

// ---- C3: reparameterisation --------------------------------------------------------------------

TEST(VariationalMath, ReparameterizeMomentsAndTestPhaseMean) {
  const int64_t n = 1000000;
  const Tensor mean = ::torch::tensor({0.5, -2.0, 3.0}, f64), log_var = ::torch::tensor({0.0, -1.0, 1.2}, f64);
  auto gen = gan::cpu_generator(5);
  const Tensor z = gan::reparameterize(mean.expand({n, 3}), log_var.expand({n, 3}), gen);
  ASSERT_EQ(z.sizes(), (std::vector<int64_t>{n, 3}));
  for (int64_t j = 0; j < 3; ++j) {
    const double var = std::exp(log_var[j].item<double>());
    const auto [m, se] = mean_and_se(z.select(1, j));
    EXPECT_NEAR(m, mean[j].item<double>(), 5 * se) << j;
    const double v = z.select(1, j).var().item<double>();
    const double v_se = var * std::sqrt(2.0 / n);  // the standard error of a normal sample's variance
    EXPECT_NEAR(v, var, 5 * v_se) << j;
    EXPECT_NEAR(v, var, 1e-2 * var) << j;
  }
  // The noise comes from the generator: the same seed gives the same z.
  auto a = gan::cpu_generator(9), b = gan::cpu_generator(9);
  EXPECT_TRUE(::torch::equal(gan::reparameterize(mean, log_var, a), gan::reparameterize(mean, log_var, b)));
  // A vanishing variance leaves μ.
  EXPECT_TRUE(::torch::allclose(gan::reparameterize(mean, ::torch::full({3}, -200.0, f64), a), mean, 0, 1e-30));

  // Test phase: vib_predict with samples = 0 is the classifier at z = μ.
  gan::Vib vib(gan::VibSpec{12, 16, 4, 3});
  auto init = gan::cpu_generator(1);
  gan::initialize(*vib, gan::Init::default_, init);
  const Tensor x = ::torch::rand({5, 12}, init);
  const Tensor at_mean = ::torch::softmax(vib->decode(vib->encode(x).first), -1);
  EXPECT_TRUE(::torch::equal(gan::vib_predict(vib, x, 0, gen), at_mean));
  // ... and the 12-sample prediction is a probability vector per row.
  const Tensor p = gan::vib_predict(vib, x, 12, gen);
  EXPECT_TRUE(::torch::allclose(p.sum(1), ::torch::ones({5}), 1e-5, 1e-6));
}

// ---- C4: the information-bottleneck bound, linear-Gaussian case -------------------------------

TEST(VariationalMath, InformationBottleneckBound) {
  // x ~ N(0, s²), z|x ~ N(ax, σ²), q(z) = N(0, 1).
  const double a = 1, s = 1, sigma2 = 0.5;
  const double info = 0.5 * std::log(1 + a * a * s * s / sigma2);
  const double bound = 0.5 * (sigma2 + a * a * s * s - 1 - std::log(sigma2));
  const double c = a * a * s * s + sigma2;  // the variance of the marginal p(z)
  const double gap = gan::gaussian_kl(::torch::zeros({1}, f64), ::torch::full({1}, std::log(c), f64)).item<double>();
  EXPECT_NEAR(info, 0.549306, 1e-6);
  EXPECT_NEAR(bound, 0.596574, 1e-6);
  EXPECT_NEAR(gap, 0.047267, 1e-6);
  EXPECT_NEAR(bound - info, gap, 1e-14);  // I = E KL(p(z|x) ‖ q) − KL(p(z) ‖ q)

  // Monte Carlo through gaussian_kl: E_x KL(N(ax, σ²) ‖ N(0, 1)) = bound, and E_x KL(p(z|x) ‖ p(z)) = I
  // (rescaling z by 1/√c turns p(z) into N(0, 1)).
  auto gen = gan::cpu_generator(17);
  const int64_t n = 1000000;
  const Tensor x = s * ::torch::randn({n, 1}, gen, f64);
  const auto [mc_bound, se_bound] = mean_and_se(gan::gaussian_kl(a * x, ::torch::full({n, 1}, std::log(sigma2), f64)));
  EXPECT_NEAR(mc_bound, bound, 5 * se_bound);
  EXPECT_LT(se_bound, 1e-3);
  const auto [mc_info, se_info] =
      mean_and_se(gan::gaussian_kl(a * x / std::sqrt(c), ::torch::full({n, 1}, std::log(sigma2 / c), f64)));
  EXPECT_NEAR(mc_info, info, 5 * se_info);
}

// ---- C5: the joint-KL identity on a discrete toy ----------------------------------------------

TEST(VariationalMath, JointKlIdentity) {
  // x ∈ {0..3} with p̃(x); encoder p(z|x) = N(m_x, e^{lv_x}); decoder q(x|z) = softmax(w z + b); prior
  // q(z) = N(0, 1). KL(p̃(x)p(z|x) ‖ q(z)q(x|z)) = E_p̃[E_{p(z|x)}(−ln q(x|z)) + KL(p(z|x) ‖ q(z))] + Σ p̃ ln p̃.
  const std::vector<double> pt = {0.1, 0.2, 0.3, 0.4}, m = {-1.5, -0.3, 0.4, 1.2}, lv = {-1.0, -0.5, -1.5, -0.2},
                            w = {-2.0, -0.5, 0.7, 1.8}, b = {0.1, 0.3, -0.2, 0.0};
  auto log_q_x_given_z = [&](int x, double z) {
    double mx = -1e300;
    for (int k = 0; k < 4; ++k) mx = std::max(mx, w[k] * z + b[k]);
    double s = 0;
    for (int k = 0; k < 4; ++k) s += std::exp(w[k] * z + b[k] - mx);
    return w[x] * z + b[x] - mx - std::log(s);
  };
  double joint = 0, vae = 0, entropy_term = 0;
  for (int x = 0; x < 4; ++x) {
    const double sd = std::exp(0.5 * lv[x]), lo = m[x] - 20 * sd, hi = m[x] + 20 * sd;
    joint +=
        pt[x] * simpson(
                    [&](double z) {
                      const double lp = log_normal_pdf(z, m[x], lv[x]);
                      return std::exp(lp) * (std::log(pt[x]) + lp - log_q_x_given_z(x, z) - log_normal_pdf(z, 0, 0));
                    },
                    lo, hi, 4000);
    const double reconstruction = simpson(
        [&](double z) { return -std::exp(log_normal_pdf(z, m[x], lv[x])) * log_q_x_given_z(x, z); }, lo, hi, 4000);
    const double kl = gan::gaussian_kl(::torch::tensor({m[x]}, f64), ::torch::tensor({lv[x]}, f64)).item<double>();
    vae += pt[x] * (reconstruction + kl);
    entropy_term += pt[x] * std::log(pt[x]);
  }
  EXPECT_NEAR(joint, vae + entropy_term, 1e-8 * std::abs(joint));
}

// ---- C6: interpolation -------------------------------------------------------------------------

TEST(VariationalMath, InterpolationVariance) {
  const int64_t d = 512, pairs = 2000, n = 5;
  auto gen = gan::cpu_generator(23);
  const Tensor z1 = ::torch::randn({pairs, d}, gen, f64), z2 = ::torch::randn({pairs, d}, gen, f64);
  Tensor linear = ::torch::zeros({n}, f64), preserving = ::torch::zeros({n}, f64);
  for (int64_t p = 0; p < pairs; ++p) {
    linear += gan::interpolate_latents(z1[p], z2[p], n, false).square().sum(1);
    preserving += gan::interpolate_latents(z1[p], z2[p], n, true).square().sum(1);
  }
  linear /= static_cast<double>(pairs * d);
  preserving /= static_cast<double>(pairs * d);
  for (int64_t i = 0; i < n; ++i) {
    const double alpha = static_cast<double>(i) / (n - 1);
    const double expected = (1 - alpha) * (1 - alpha) + alpha * alpha;  // 0.5 at the midpoint
    EXPECT_NEAR(linear[i].item<double>(), expected, 1e-2 * expected) << "alpha " << alpha;
    EXPECT_NEAR(preserving[i].item<double>(), 1.0, 1e-2) << "alpha " << alpha;
  }
  // End points are z1 and z2 exactly; the path is the stated formula.
  for (bool vp : {false, true}) {
    const Tensor path = gan::interpolate_latents(z1[0], z2[0], 7, vp);
    ASSERT_EQ(path.sizes(), (std::vector<int64_t>{7, d}));
    EXPECT_TRUE(::torch::equal(path[0], z1[0]));
    EXPECT_TRUE(::torch::equal(path[6], z2[0]));
    const double alpha = 2.0 / 6, theta = alpha * kPi / 2;
    const Tensor expected =
        vp ? z1[0] * std::cos(theta) + z2[0] * std::sin(theta) : (1 - alpha) * z1[0] + alpha * z2[0];
    EXPECT_TRUE(::torch::allclose(path[2], expected, 1e-14, 1e-14));
  }
}

// ---- C7: gradients through the reparameterisation ----------------------------------------------

TEST(VariationalMath, ReparameterizationGradients) {
  // d/dμ E[z²] = 2μ and d/dlogvar E[z²] = e^{logvar} for z = μ + e^{logvar/2} u (E[z²] = μ² + e^{logvar}).
  const Tensor mean = ::torch::tensor({1.0, -0.8, 1.5}, f64).requires_grad_(true);
  const Tensor log_var = ::torch::tensor({0.0, -0.5, 0.4}, f64).requires_grad_(true);
  auto gen = gan::cpu_generator(29);
  const int64_t n = 1000000;
  const Tensor z = gan::reparameterize(mean.expand({n, 3}), log_var.expand({n, 3}), gen);
  z.square().mean(0).sum().backward();
  const Tensor want_mean = 2 * mean.detach(), want_log_var = log_var.detach().exp();
  for (int64_t j = 0; j < 3; ++j) {
    EXPECT_NEAR(mean.grad()[j].item<double>(), want_mean[j].item<double>(),
                1e-2 * std::abs(want_mean[j].item<double>()));
    EXPECT_NEAR(log_var.grad()[j].item<double>(), want_log_var[j].item<double>(),
                1e-2 * want_log_var[j].item<double>());
  }
}

// ---- the VAE -----------------------------------------------------------------------------------

TEST(VariationalVae, ParameterCountOfTheDefaultModel) {
  gan::Vae vae;  // 784–500–(20, 20), 20–500–784
  int64_t count = 0;
  for (const auto& p : vae->parameters()) count += p.numel();
  EXPECT_EQ(count, 815824);  // seed-math §6.7
  EXPECT_EQ(vae->spec().activation, gan::Activation::tanh);
}

// A small VAE whose posterior and decoder are far from the prior's, so that the importance weights vary.
gan::Vae tiny_vae() {
  gan::Vae vae(gan::VaeSpec{12, 16, 3, gan::Activation::tanh});
  auto gen = gan::cpu_generator(31);
  gan::initialize(*vae, gan::Init::default_, gen);
  ::torch::NoGradGuard no_grad;
  for (auto& item : vae->named_parameters()) {
    if (item.key().rfind("decoder", 0) == 0) item.value().mul_(4);
    if (item.key() == "log_var.bias") item.value().fill_(-1.5);
  }
  return vae;
}

TEST(VariationalVae, ImportanceWeightedBoundAndElbo) {
  gan::Vae vae = tiny_vae();
  auto gen = gan::cpu_generator(37);
  const Tensor x = gan::binarize(::torch::rand({300, 12}, gen), gen);
  const int reps = 40;
  // Per-image values averaged over repetitions: the spread over images is what matters.
  auto averaged = [&](auto&& draw) {
    Tensor sum = ::torch::zeros({300}, f64);
    for (int r = 0; r < reps; ++r) sum += draw().to(::torch::kFloat64);
    return sum / reps;
  };
  ::torch::NoGradGuard no_grad;
  const Tensor elbo = averaged([&] { return -gan::negative_elbo(vae, x, gen); });
  const Tensor iw1 = averaged([&] { return gan::importance_weighted_log_likelihood(vae, x, 1, gen); });
  const Tensor iw5 = averaged([&] { return gan::importance_weighted_log_likelihood(vae, x, 5, gen); });
  const Tensor iw50 = averaged([&] { return gan::importance_weighted_log_likelihood(vae, x, 50, gen, 777); });
  ASSERT_EQ(iw1.sizes(), (std::vector<int64_t>{300}));
  // k = 1 is the ELBO in expectation (the KL term sampled instead of in closed form): paired differences.
  const auto [d1, se1] = mean_and_se(iw1 - elbo);
  EXPECT_NEAR(d1, 0.0, 5 * se1);
  // The bound rises with k (Burda et al. 2016, theorem 1), well beyond the noise.
  const auto [d5, se5] = mean_and_se(iw5 - iw1);
  const auto [d50, se50] = mean_and_se(iw50 - iw5);
  EXPECT_GT(d5, 5 * se5);
  EXPECT_GT(d50, 5 * se50);
  EXPECT_GT(iw50.mean().item<double>(), elbo.mean().item<double>());
  EXPECT_TRUE(iw50.le(0).all().item<bool>());  // a log-probability of binary data
}

TEST(VariationalVae, EvaluateVaeIsConsistent) {
  gan::Vae vae = tiny_vae();
  auto gen = gan::cpu_generator(41);
  const Tensor x = gan::binarize(::torch::rand({50, 12}, gen), gen);
  const gan::VaeEvaluation e = gan::evaluate_vae(vae, x, 10, 3);
  EXPECT_EQ(e.images, 50);
  EXPECT_EQ(e.iw_samples, 10);
  EXPECT_NEAR(e.negative_elbo, e.distortion + e.rate, 1e-9);
  EXPECT_NEAR(e.rate, gan::gaussian_kl(vae->encode(x).first, vae->encode(x).second).mean().item<double>(), 1e-4);
  EXPECT_GT(e.iw_log_likelihood, -e.negative_elbo - 1.0);  // IW(10) above the ELBO (loose: one sample per image)
  const gan::VaeEvaluation again = gan::evaluate_vae(vae, x, 10, 3);
  EXPECT_EQ(again.iw_log_likelihood, e.iw_log_likelihood);  // seeded
  EXPECT_TRUE(std::isnan(gan::evaluate_vae(vae, x, 0, 3).iw_log_likelihood));
}

TEST(VariationalVae, BinarizationIsSeededAndFixedForTheTestSet) {
  auto gen = gan::cpu_generator(43);
  const Tensor images = ::torch::rand({20, 1, 28, 28}, gen) * 2 - 1;
  const Tensor p = gan::pixel_probabilities(images);
  ASSERT_EQ(p.sizes(), (std::vector<int64_t>{20, 784}));
  EXPECT_TRUE(::torch::allclose(p, (images.reshape({20, 784}) + 1) / 2));
  const Tensor b = gan::binarized_test_set(images);
  EXPECT_TRUE(::torch::equal(b, gan::binarized_test_set(images)));
  EXPECT_TRUE((b.eq(0) | b.eq(1)).all().item<bool>());
  // The frequency of ones follows p: all-white pixels stay 1, all-black ones 0.
  EXPECT_TRUE(gan::binarized_test_set(::torch::ones({2, 784})).eq(1).all().item<bool>());
  EXPECT_TRUE(gan::binarized_test_set(-::torch::ones({2, 784})).eq(0).all().item<bool>());
  const Tensor many = gan::binarize(::torch::full({200000}, 0.3), gen);
  EXPECT_NEAR(many.mean().item<double>(), 0.3, 5 * std::sqrt(0.21 / 200000));
}

// ---- short training runs on MNIST --------------------------------------------------------------

TEST(VariationalVae, TrainsOnAFewHundredMnistImages) {
  ODYN_REQUIRE_MNIST_OR_SKIP();
  const auto train = gan::load_mnist(odyn::io::default_mnist_dir(), odyn::io::MnistSplit::train, 600);
  const auto test = gan::load_mnist(odyn::io::default_mnist_dir(), odyn::io::MnistSplit::test, 300);
  gan::VariationalTraining options;
  options.epochs = 4;
  options.batch = 50;
  std::vector<std::string> lines;
  const gan::VaeRun run = gan::train_vae(train, test, gan::VaeSpec{784, 64, 8, gan::Activation::tanh}, options,
                                         [&](const std::string& line) { lines.push_back(line); });
  ASSERT_EQ(run.history.epochs.size(), 4u);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_NE(lines[0].find("vae epoch 1/4: train loss"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("test -ELBO"), std::string::npos) << lines[0];
  const auto& h = run.history.epochs;
  EXPECT_LT(h.back().train_loss, h.front().train_loss - 50) << h.front().train_loss << " -> " << h.back().train_loss;
  EXPECT_LT(h.back().test_value, h.front().test_value);
  EXPECT_LT(h.front().train_loss, 784 * std::log(2.0) + 50);  // starts near the uniform coder's 543 nats
  gan::Vae model = run.model;
  const gan::VaeEvaluation e = gan::evaluate_vae(model, gan::binarized_test_set(test.images), 20, 0);
  EXPECT_GT(e.iw_log_likelihood, -e.negative_elbo - 0.5);
  EXPECT_GT(e.rate, 0);
}

TEST(VariationalVib, TrainsOnAFewHundredMnistImages) {
  ODYN_REQUIRE_MNIST_OR_SKIP();
  const auto train = gan::load_mnist(odyn::io::default_mnist_dir(), odyn::io::MnistSplit::train, 1000);
  const auto test = gan::load_mnist(odyn::io::default_mnist_dir(), odyn::io::MnistSplit::test, 300);
  gan::VariationalTraining options;
  options.epochs = 6;
  options.batch = 40;
  options.beta = 1e-3;
  const gan::VibRun run = gan::train_vib(train, test, gan::VibSpec{784, 128, 16, 10}, options);
  const auto& h = run.history.epochs;
  ASSERT_EQ(h.size(), 6u);
  EXPECT_LT(h.back().train_loss, 0.5 * h.front().train_loss);
  gan::Vib model = run.model;
  const gan::VibEvaluation e = gan::evaluate_vib(model, gan::pixel_probabilities(test.images), test.labels, 12, 0);
  EXPECT_EQ(e.images, 300);
  EXPECT_LT(e.error, 0.3);  // chance is 0.9
  EXPECT_NEAR(e.error, h.back().test_value, 0.05);
  EXPECT_GT(e.rate, 0);
  EXPECT_LT(e.log_loss, std::log(10.0));
}

// ---- checkpoints -------------------------------------------------------------------------------

gan::ImageSet synthetic_set(int64_t n, uint64_t seed) {
  auto gen = gan::cpu_generator(seed);
  return {::torch::rand({n, 1, 4, 4}, gen) * 2 - 1,
          ::torch::randint(10, {n}, gen, ::torch::TensorOptions().dtype(::torch::kLong))};
}

template <class Module>
void expect_same_parameters(Module& a, Module& b) {
  const auto pa = a->named_parameters(), pb = b->named_parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (const auto& item : pa) EXPECT_TRUE(::torch::equal(item.value(), pb[item.key()])) << item.key();
}

void expect_same_history(const gan::TrainingHistory& a, const gan::TrainingHistory& b) {
  ASSERT_EQ(a.epochs.size(), b.epochs.size());
  for (std::size_t i = 0; i < a.epochs.size(); ++i) {
    EXPECT_EQ(a.epochs[i].epoch, b.epochs[i].epoch);
    EXPECT_EQ(a.epochs[i].train_loss, b.epochs[i].train_loss);
    EXPECT_EQ(a.epochs[i].test_value, b.epochs[i].test_value);
  }
}

TEST(VariationalCheckpoint, VaeResumeIsBitIdentical) {
  const gan::ImageSet train = synthetic_set(200, 1), test = synthetic_set(40, 2);
  const gan::VaeSpec spec{16, 8, 3, gan::Activation::relu};
  gan::VariationalTraining options;
  options.batch = 20;
  options.seed = 4;
  options.epochs = 2;
  options.checkpoint = odyn::test::scratch("straight.pt");
  fs::remove(options.checkpoint);
  gan::VaeRun straight = gan::train_vae(train, test, spec, options);
  EXPECT_TRUE(fs::exists(options.checkpoint));

  options.checkpoint = odyn::test::scratch("resumed.pt");
  fs::remove(options.checkpoint);
  options.epochs = 1;
  gan::train_vae(train, test, spec, options);
  options.epochs = 2;
  options.resume = true;
  gan::VaeRun resumed = gan::train_vae(train, test, spec, options);
  EXPECT_EQ(resumed.history.resumed_from, 1);
  expect_same_parameters(straight.model, resumed.model);
  expect_same_history(straight.history, resumed.history);

  // A checkpoint of other options is refused; so is an unreadable file.
  options.beta = 0.5;
  EXPECT_INVALID(gan::train_vae(train, test, spec, options), "beta");
  options.beta = 1;
  odyn::test::write_file(options.checkpoint, "not a checkpoint");
  EXPECT_THROW(gan::train_vae(train, test, spec, options), odyn::IoError);
  // No temporary files are left beside the checkpoints.
  for (const auto& entry : fs::directory_iterator(fs::path(options.checkpoint).parent_path())) {
    const std::string name = entry.path().filename().string();
    if (name.find("VaeResumeIsBitIdentical") != std::string::npos) {
      EXPECT_TRUE(name.size() > 3 && name.substr(name.size() - 3) == ".pt") << name;
    }
  }
}

TEST(VariationalCheckpoint, VibResumeIsBitIdentical) {
  const gan::ImageSet train = synthetic_set(200, 5), test = synthetic_set(40, 6);
  const gan::VibSpec spec{16, 12, 4, 10};
  gan::VariationalTraining options;
  options.batch = 25;
  options.beta = 1e-2;
  options.lr_decay = 0.5;
  options.decay_every = 1;
  options.seed = 8;
  options.epochs = 3;
  options.checkpoint = odyn::test::scratch("straight.pt");
  fs::remove(options.checkpoint);
  gan::VibRun straight = gan::train_vib(train, test, spec, options);

  options.checkpoint = odyn::test::scratch("resumed.pt");
  fs::remove(options.checkpoint);
  options.epochs = 1;
  gan::train_vib(train, test, spec, options);
  options.epochs = 3;
  options.resume = true;
  gan::VibRun resumed = gan::train_vib(train, test, spec, options);
  EXPECT_EQ(resumed.history.resumed_from, 1);
  expect_same_parameters(straight.model, resumed.model);
  expect_same_history(straight.history, resumed.history);
}

TEST(VariationalCheckpoint, DivergedTrainingWritesNoCheckpoint) {
  const gan::ImageSet train = synthetic_set(100, 7);
  gan::VariationalTraining options;
  options.batch = 10;
  options.lr = 1e30;  // the first Adam step moves every weight by ~1e31: the next forward pass overflows
  options.checkpoint = odyn::test::scratch("diverged.pt");
  fs::remove(options.checkpoint);
  EXPECT_THROW(gan::train_vib(train, {}, gan::VibSpec{16, 12, 4, 10}, options), gan::TrainingDiverged);
  EXPECT_FALSE(fs::exists(options.checkpoint));
}

// ---- bad input ---------------------------------------------------------------------------------

TEST(VariationalBadInput, MathPiecesThrow) {
  auto gen = gan::cpu_generator(0);
  const Tensor m = ::torch::zeros({2, 3});
  EXPECT_INVALID(gan::gaussian_kl(m, ::torch::zeros({2, 4})), "same shape");
  EXPECT_INVALID(gan::gaussian_kl(::torch::zeros({}), ::torch::zeros({})), "0-d");
  EXPECT_INVALID(gan::gaussian_kl(m, ::torch::full({2, 3}, NAN)), "NaN");
  EXPECT_INVALID(gan::gaussian_kl(::torch::zeros({2, 3}, ::torch::kLong), ::torch::zeros({2, 3}, ::torch::kLong)),
                 "floating");
  EXPECT_INVALID(gan::gaussian_kl(Tensor(), m), "defined");
  EXPECT_INVALID(gan::reparameterize(::torch::full({2, 3}, INFINITY), m, gen), "infinite");
  EXPECT_INVALID(gan::interpolate_latents(::torch::zeros({4}), ::torch::zeros({4}), 1, false), "n must be >= 2");
  EXPECT_INVALID(gan::interpolate_latents(::torch::zeros({4}), ::torch::zeros({5}), 3, true), "same size");
  EXPECT_INVALID(gan::interpolate_latents(m, m, 3, true), "1-D");
  EXPECT_INVALID(gan::binarize(::torch::full({3}, 1.5), gen), "[0, 1]");
  EXPECT_INVALID(gan::pixel_probabilities(::torch::full({2, 4}, NAN)), "NaN");
}

TEST(VariationalBadInput, ModelsAndLossesThrow) {
  auto gen = gan::cpu_generator(0);
  EXPECT_INVALID(gan::Vae(gan::VaeSpec{784, 500, 0}), "latent");
  EXPECT_INVALID(gan::Vib(gan::VibSpec{784, 64, 8, 1}), "classes");
  EXPECT_INVALID(gan::parse_activation("sigmoid"), "tanh or relu");
  gan::Vae vae = tiny_vae();
  const Tensor x = ::torch::zeros({4, 12});
  EXPECT_INVALID(gan::negative_elbo(vae, x, gen, -1.0), "beta");
  EXPECT_INVALID(gan::negative_elbo(vae, x, gen, NAN), "beta");
  EXPECT_INVALID(gan::negative_elbo(vae, ::torch::zeros({4, 13}), gen), "12 columns");
  EXPECT_INVALID(gan::negative_elbo(vae, ::torch::zeros({4, 3, 4}), gen), "(B, 12)");
  EXPECT_INVALID(gan::negative_elbo(vae, ::torch::full({4, 12}, NAN), gen), "NaN");
  EXPECT_INVALID(gan::negative_elbo(vae, ::torch::full({4, 12}, 2.0), gen), "[0, 1]");
  EXPECT_INVALID(gan::importance_weighted_log_likelihood(vae, x, 0, gen), "k (samples per image) must be >= 1");
  EXPECT_INVALID(gan::evaluate_vae(vae, x, -1), "iw_samples");
  gan::Vae empty{nullptr};
  EXPECT_INVALID(gan::negative_elbo(empty, x, gen), "empty");

  gan::Vib vib(gan::VibSpec{12, 16, 4, 3});
  const Tensor y = ::torch::zeros({4}, ::torch::kLong);
  EXPECT_INVALID(gan::vib_loss(vib, x, y, gen, -0.1), "beta");
  EXPECT_INVALID(gan::vib_loss(vib, x, ::torch::full({4}, 3, ::torch::kLong), gen, 0.0), "classes 0..2");
  EXPECT_INVALID(gan::vib_loss(vib, x, ::torch::zeros({5}, ::torch::kLong), gen, 0.0), "one per row");
  EXPECT_INVALID(gan::vib_loss(vib, x, ::torch::zeros({4}), gen, 0.0), "int64");
  EXPECT_INVALID(gan::vib_predict(vib, x, -1, gen), "samples");
  EXPECT_INVALID(gan::evaluate_vib(vib, x, y, 0), "samples");
}

TEST(VariationalBadInput, TrainingThrows) {
  const gan::ImageSet train = synthetic_set(50, 9);
  const gan::VaeSpec spec{16, 8, 3};
  const gan::VibSpec vib_spec{16, 8, 3, 10};
  gan::VariationalTraining o;
  o.batch = 10;
  auto with = [&](auto change) {
    gan::VariationalTraining copy = o;
    change(copy);
    return copy;
  };
  EXPECT_INVALID(gan::train_vae(train, {}, spec, with([](auto& c) { c.epochs = 0; })), "epochs must be >= 1");
  EXPECT_INVALID(gan::train_vae(train, {}, spec, with([](auto& c) { c.beta = -1; })), "beta");
  EXPECT_INVALID(gan::train_vae(train, {}, spec, with([](auto& c) { c.lr = 0; })), "lr");
  EXPECT_INVALID(gan::train_vae(train, {}, spec, with([](auto& c) { c.lr_decay = 1.5; })), "lr_decay");
  EXPECT_INVALID(gan::train_vae(train, {}, spec, with([](auto& c) { c.batch = 51; })), "exceeds");
  EXPECT_INVALID(gan::train_vae(train, {}, spec, with([](auto& c) { c.limit = -1; })), "limit");
  EXPECT_INVALID(gan::train_vae(train, {}, gan::VaeSpec{15, 8, 3}, o), "16 values each");
  gan::ImageSet bad = synthetic_set(50, 9);
  bad.images[3][0][1][1] = NAN;
  EXPECT_INVALID(gan::train_vae(bad, {}, spec, o), "NaN");
  EXPECT_INVALID(gan::train_vib(bad, {}, vib_spec, o), "NaN");
  gan::ImageSet unlabelled{train.images, Tensor()};
  EXPECT_INVALID(gan::train_vib(unlabelled, {}, vib_spec, o), "labels");
  gan::ImageSet out_of_range = synthetic_set(50, 9);
  out_of_range.images *= 3;
  EXPECT_INVALID(gan::train_vae(out_of_range, {}, spec, o), "[-1, 1]");
}

}  // namespace
