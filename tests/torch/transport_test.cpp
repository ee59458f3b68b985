// odyn::torch transport distances against long double reimplementations of the textbook formulas
// inside this file, and against the Eigen versions in odyn::transport.
//
// Tolerances: float64 results of closed formulas (sliced, MMD) agree with the long double ones to
// a few hundred ulps of the largest term (sums of n^2 kernel values and sorts: 1e-12 absolute on
// O(1) data). Sinkhorn results depend on the stopping tolerance: the potentials are off by about
// eps * (marginal error), the value by its square (the value is stationary in the potentials), so
// runs at tolerance 1e-13 are compared at 1e-10. Gradients are compared with central differences
// of step h = 1e-5, whose truncation error is h^2 |f'''| ~ 1e-10 and rounding error u |f| / h ~
// 1e-11: 1e-7 leaves room for third derivatives up to 10^3.
#include "odyn/torch/transport.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "odyn/core/error.hpp"
#include "odyn/transport/mmd.hpp"
#include "odyn/transport/sinkhorn.hpp"
#include "odyn/transport/sliced.hpp"
#include "odyn/transport/wasserstein_1d.hpp"

namespace {

using odyn::InvalidArgument;
using odyn::torch::MmdKernel;
using odyn::torch::SinkhornTensorOptions;
using LongMatrix = std::vector<std::vector<long double>>;

constexpr MmdKernel kKernels[] = {MmdKernel::gaussian, MmdKernel::laplacian, MmdKernel::imq, MmdKernel::energy};

std::string name(MmdKernel k) {
  return k == MmdKernel::gaussian ? "gaussian" : k == MmdKernel::laplacian ? "laplacian" : k == MmdKernel::imq ? "imq" : "energy";
}

struct OneThread {
  OneThread() { torch::set_num_threads(1); }
};
const OneThread one_thread;

// n x d standard normal points (shifted by `shift`) from a fixed seed, as a float64 tensor.
torch::Tensor normal_cloud(int64_t n, int64_t d, uint64_t seed, double shift = 0.0, double scale = 1.0) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  torch::Tensor t = torch::empty({n, d}, torch::kDouble);
  double* p = t.data_ptr<double>();
  for (int64_t i = 0; i < n * d; ++i) p[i] = shift + scale * normal(rng);
  return t;
}

// A 2-D tensor as a long double matrix.
LongMatrix to_long(const torch::Tensor& t) {
  const torch::Tensor c = t.detach().to(torch::kCPU, torch::kDouble).contiguous();
  LongMatrix m(c.size(0), std::vector<long double>(c.size(1)));
  for (int64_t i = 0; i < c.size(0); ++i)
    for (int64_t j = 0; j < c.size(1); ++j) m[i][j] = c.data_ptr<double>()[i * c.size(1) + j];
  return m;
}

std::vector<long double> to_long_vector(const torch::Tensor& t) {
  const torch::Tensor c = t.detach().to(torch::kCPU, torch::kDouble).contiguous().reshape({-1});
  return std::vector<long double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

long double distance(const std::vector<long double>& u, const std::vector<long double>& v) {
  long double s = 0;
  for (size_t k = 0; k < u.size(); ++k) s += (u[k] - v[k]) * (u[k] - v[k]);
  return std::sqrt(s);
}

LongMatrix cost_matrix(const LongMatrix& x, const LongMatrix& y, double p) {
  LongMatrix c(x.size(), std::vector<long double>(y.size()));
  for (size_t i = 0; i < x.size(); ++i)
    for (size_t j = 0; j < y.size(); ++j) c[i][j] = std::pow(distance(x[i], y[j]), (long double)p);
  return c;
}

// ---- reference Sinkhorn: scaling iterations u = a / K v, v = b / K^T u in long double ----------

struct LongSinkhorn {
  std::vector<long double> f, g;
  long double value = 0, transport_cost = 0;
  LongMatrix plan;
};

LongSinkhorn long_sinkhorn(const std::vector<long double>& a, const std::vector<long double>& b, const LongMatrix& c,
                           long double eps) {
  const size_t n = a.size(), m = b.size();
  LongMatrix k(n, std::vector<long double>(m));
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < m; ++j) k[i][j] = std::exp(-c[i][j] / eps);
  std::vector<long double> u(n, 1), v(m, 1);
  for (int it = 0; it < 200000; ++it) {
    for (size_t i = 0; i < n; ++i) {
      long double s = 0;
      for (size_t j = 0; j < m; ++j) s += k[i][j] * v[j];
      u[i] = a[i] / s;
    }
    long double error = 0;
    for (size_t j = 0; j < m; ++j) {
      long double s = 0;
      for (size_t i = 0; i < n; ++i) s += k[i][j] * u[i];
      v[j] = b[j] / s;
    }
    for (size_t i = 0; i < n; ++i) {
      long double s = 0;
      for (size_t j = 0; j < m; ++j) s += u[i] * k[i][j] * v[j];
      error += std::abs(s - a[i]);
    }
    if (error < 1e-17L) break;
  }
  LongSinkhorn r;
  r.plan.assign(n, std::vector<long double>(m));
  // f_i = eps log(u_i / a_i) (u_i = a_i e^(f_i/eps)); a zero weight leaves f_i out of the value.
  for (size_t i = 0; i < n; ++i) r.f.push_back(a[i] > 0 ? eps * std::log(u[i] / a[i]) : 0.0L);
  for (size_t j = 0; j < m; ++j) r.g.push_back(b[j] > 0 ? eps * std::log(v[j] / b[j]) : 0.0L);
  for (size_t i = 0; i < n; ++i) {
    r.value += a[i] * r.f[i];
    for (size_t j = 0; j < m; ++j) {
      r.plan[i][j] = u[i] * k[i][j] * v[j];
      r.transport_cost += r.plan[i][j] * c[i][j];
    }
  }
  for (size_t j = 0; j < m; ++j) r.value += b[j] * r.g[j];
  return r;
}

// OT_eps by alternating log-domain updates in long double (Peyre & Cuturi 2019, eq. 4.43),
//   f_i = -eps LSE_j(log b_j + (g_j - C_ij)/eps),  g_j = -eps LSE_i(log a_i + (f_i - C_ij)/eps),
// warm-started by halving eps from max C (the fixed point at eps does not depend on the start),
// then run at eps until no potential moves by more than 1e-17 max C. Returns the value <a, f> +
// <b, g>, the potentials and <P, C>.
LongSinkhorn long_log_sinkhorn(const std::vector<long double>& a, const std::vector<long double>& b,
                               const LongMatrix& c, long double eps) {
  const size_t n = a.size(), m = b.size();
  long double top = 0;
  for (const auto& row : c)
    for (long double v : row) top = std::max(top, v);
  std::vector<long double> f(n, 0), g(m, 0), z;
  const auto lse = [&](const std::vector<long double>& v) {
    const long double mx = *std::max_element(v.begin(), v.end());
    long double s = 0;
    for (long double x : v) s += std::exp(x - mx);
    return mx + std::log(s);
  };
  for (long double e = std::max(top, eps);; e = std::max(eps, e / 2)) {
    for (int it = 0; it < 1000000; ++it) {
      long double change = 0;
      for (size_t i = 0; i < n; ++i) {
        z.assign(m, 0);
        for (size_t j = 0; j < m; ++j) z[j] = std::log(b[j]) + (g[j] - c[i][j]) / e;
        const long double v = -e * lse(z);
        change = std::max(change, std::abs(v - f[i]));
        f[i] = v;
      }
      for (size_t j = 0; j < m; ++j) {
        z.assign(n, 0);
        for (size_t i = 0; i < n; ++i) z[i] = std::log(a[i]) + (f[i] - c[i][j]) / e;
        g[j] = -e * lse(z);
      }
      if (e > eps || change <= 1e-17L * top) break;  // one update per warm-start value
    }
    if (e == eps) break;
  }
  LongSinkhorn r;
  r.f = f;
  r.g = g;
  for (size_t i = 0; i < n; ++i) {
    r.value += a[i] * f[i];
    for (size_t j = 0; j < m; ++j) r.transport_cost += a[i] * b[j] * std::exp((f[i] + g[j] - c[i][j]) / eps) * c[i][j];
  }
  for (size_t j = 0; j < m; ++j) r.value += b[j] * g[j];
  return r;
}

std::vector<long double> uniform(size_t n) { return std::vector<long double>(n, 1.0L / n); }

// OT_eps(a, a) for a symmetric cost by the averaged iteration f <- (f + T(f))/2 in long double, run
// until f stops changing (the alternating one can stall on such problems).
long double long_symmetric(const std::vector<long double>& a, const LongMatrix& c, long double eps) {
  const size_t n = a.size();
  std::vector<long double> f(n, 0), t(n);
  for (int it = 0; it < 100000; ++it) {
    long double change = 0;
    for (size_t i = 0; i < n; ++i) {
      long double s = 0;
      for (size_t j = 0; j < n; ++j) s += a[j] * std::exp((f[j] - c[i][j]) / eps);
      t[i] = -eps * std::log(s);
    }
    for (size_t i = 0; i < n; ++i) {
      change = std::max(change, std::abs(t[i] - f[i]));
      f[i] = 0.5L * (f[i] + t[i]);
    }
    if (change < 1e-17L) break;
  }
  long double value = 0;
  for (size_t i = 0; i < n; ++i) value += 2 * a[i] * f[i];
  return value;
}

// S_eps of uniform measures on two clouds in long double.
long double long_divergence(const LongMatrix& x, const LongMatrix& y, double eps, double p) {
  return long_sinkhorn(uniform(x.size()), uniform(y.size()), cost_matrix(x, y, p), eps).value -
         0.5L * long_symmetric(uniform(x.size()), cost_matrix(x, x, p), eps) -
         0.5L * long_symmetric(uniform(y.size()), cost_matrix(y, y, p), eps);
}

// ---- reference sliced Wasserstein and MMD -------------------------------------------------------

long double long_sliced(const LongMatrix& x, const LongMatrix& y, const LongMatrix& directions, double p) {
  long double total = 0;
  for (const auto& t : directions) {
    long double norm = 0;
    for (long double v : t) norm += v * v;
    norm = std::sqrt(norm);
    std::vector<long double> px, py;
    for (const auto& xi : x) {
      long double s = 0;
      for (size_t k = 0; k < t.size(); ++k) s += xi[k] * t[k] / norm;
      px.push_back(s);
    }
    for (const auto& yi : y) {
      long double s = 0;
      for (size_t k = 0; k < t.size(); ++k) s += yi[k] * t[k] / norm;
      py.push_back(s);
    }
    std::sort(px.begin(), px.end());
    std::sort(py.begin(), py.end());
    long double w = 0;
    for (size_t i = 0; i < px.size(); ++i) w += std::pow(std::abs(px[i] - py[i]), (long double)p);
    total += w / px.size();
  }
  return std::pow(total / directions.size(), 1.0L / p);
}

long double long_kernel(const std::vector<long double>& u, const std::vector<long double>& v, MmdKernel kernel,
                        long double s) {
  const long double r = distance(u, v);
  switch (kernel) {
    case MmdKernel::gaussian:
      return std::exp(-r * r / (2 * s * s));
    case MmdKernel::laplacian:
      return std::exp(-r / s);
    case MmdKernel::imq:
      return 1 / std::sqrt(1 + r * r / (s * s));
    case MmdKernel::energy:
      return -r;
  }
  return 0;
}

long double long_mmd_unbiased(const LongMatrix& x, const LongMatrix& y, MmdKernel kernel, double s) {
  const size_t n = x.size(), m = y.size();
  long double kxx = 0, kyy = 0, kxy = 0;
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < n; ++j)
      if (i != j) kxx += long_kernel(x[i], x[j], kernel, s);
  for (size_t i = 0; i < m; ++i)
    for (size_t j = 0; j < m; ++j)
      if (i != j) kyy += long_kernel(y[i], y[j], kernel, s);
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < m; ++j) kxy += long_kernel(x[i], y[j], kernel, s);
  return kxx / (n * (n - 1.0L)) + kyy / (m * (m - 1.0L)) - 2 * kxy / (n * (long double)m);
}

long double long_mmd_linear(const LongMatrix& x, const LongMatrix& y, MmdKernel kernel, double s) {
  const size_t pairs = std::min(x.size(), y.size()) / 2;
  long double total = 0;
  for (size_t i = 0; i < pairs; ++i) {
    const auto &x1 = x[2 * i], &x2 = x[2 * i + 1], &y1 = y[2 * i], &y2 = y[2 * i + 1];
    total += long_kernel(x1, x2, kernel, s) + long_kernel(y1, y2, kernel, s) - long_kernel(x1, y2, kernel, s) -
             long_kernel(x2, y1, kernel, s);
  }
  return total / pairs;
}

// ---- gradient check -----------------------------------------------------------------------------

// Compares the autograd gradient of a scalar function of x (float64) with central differences.
void expect_gradient(const std::function<torch::Tensor(const torch::Tensor&)>& fn, const torch::Tensor& x0,
                     double tolerance, const std::string& what) {
  const torch::Tensor x = x0.clone().set_requires_grad(true);
  const torch::Tensor value = fn(x);
  value.backward();
  const torch::Tensor grad = x.grad();
  ASSERT_TRUE(grad.defined()) << what;
  ASSERT_TRUE(torch::isfinite(grad).all().item<bool>()) << what;
  const double h = 1e-5;
  torch::NoGradGuard no_grad;
  const torch::Tensor flat = x0.reshape({-1});
  for (int64_t k = 0; k < flat.numel(); ++k) {
    torch::Tensor plus = flat.clone(), minus = flat.clone();
    plus[k] += h;
    minus[k] -= h;
    const double fd =
        (fn(plus.reshape(x0.sizes())).item<double>() - fn(minus.reshape(x0.sizes())).item<double>()) / (2 * h);
    EXPECT_NEAR(grad.reshape({-1})[k].item<double>(), fd, tolerance * std::max(1.0, std::abs(fd)))
        << what << " coordinate " << k;
  }
}

// Options of the tensor Sinkhorn (or, as Options, of the Eigen one) with a tight stopping
// tolerance and room for the iterations it needs.
template <class Options = SinkhornTensorOptions>
Options tight(double tolerance = 1e-13, long max_iterations = 20000) {
  Options o;
  o.tolerance = tolerance;
  o.max_iterations = max_iterations;
  return o;
}

// ==== Sinkhorn ====================================================================================

// Value, potentials (up to f + c, g - c), transport cost and the primal-dual identity against the
// long double scaling iterations on a small problem with non-uniform weights.
TEST(TorchTransportSinkhorn, MatchesLongDoubleReference) {
  const torch::Tensor x = normal_cloud(6, 2, 1), y = normal_cloud(5, 2, 2, 0.5);
  const torch::Tensor c = (x.unsqueeze(1) - y.unsqueeze(0)).square().sum(-1);
  torch::Tensor a = torch::arange(1, 7, torch::kDouble), b = torch::tensor({0.1, 0.3, 0.2, 0.15, 0.25}, torch::kDouble);
  a = a / a.sum();
  for (const double eps : {1.0, 0.3, 0.1}) {
    const auto r = odyn::torch::sinkhorn(a, b, c, eps, tight());
    const LongSinkhorn ref = long_sinkhorn(to_long_vector(a), to_long_vector(b), to_long(c), eps);
    EXPECT_TRUE(r.converged) << eps;
    EXPECT_LE(r.marginal_error, 1e-13);
    EXPECT_EQ(r.value.dim(), 0);
    EXPECT_NEAR(r.value.item<double>(), double(ref.value), 1e-10) << eps;
    EXPECT_NEAR(r.transport_cost.item<double>(), double(ref.transport_cost), 1e-10) << eps;
    const double shift = r.f[0].item<double>() - double(ref.f[0]);
    for (int i = 0; i < 6; ++i) EXPECT_NEAR(r.f[i].item<double>() - shift, double(ref.f[i]), 1e-10) << eps;
    for (int j = 0; j < 5; ++j) EXPECT_NEAR(r.g[j].item<double>() + shift, double(ref.g[j]), 1e-10) << eps;
  }
}

// The gradient of OT_eps w.r.t. the cost is the plan (envelope theorem), and matches central
// differences of the value.
TEST(TorchTransportSinkhorn, CostGradientIsThePlan) {
  const torch::Tensor x = normal_cloud(5, 3, 3), y = normal_cloud(4, 3, 4);
  const torch::Tensor c0 = (x.unsqueeze(1) - y.unsqueeze(0)).square().sum(-1);
  const double eps = 0.5;
  const torch::Tensor c = c0.clone().set_requires_grad(true);
  const auto r = odyn::torch::sinkhorn({}, {}, c, eps, tight());
  r.value.backward();
  const LongSinkhorn ref = long_sinkhorn(uniform(5), uniform(4), to_long(c0), eps);
  for (int i = 0; i < 5; ++i)
    for (int j = 0; j < 4; ++j) EXPECT_NEAR(c.grad()[i][j].item<double>(), double(ref.plan[i][j]), 1e-12);
  expect_gradient([&](const torch::Tensor& cc) { return odyn::torch::sinkhorn({}, {}, cc, eps, tight()).value; }, c0,
                  1e-7, "sinkhorn cost");
}

// A batch gives the per-problem results; 1-D weights are shared by the batch.
TEST(TorchTransportSinkhorn, BatchEqualsPerProblem) {
  std::vector<torch::Tensor> costs;
  for (int k = 0; k < 3; ++k) {
    const torch::Tensor x = normal_cloud(7, 2, 10 + k), y = normal_cloud(6, 2, 20 + k, k);
    costs.push_back((x.unsqueeze(1) - y.unsqueeze(0)).square().sum(-1));
  }
  const torch::Tensor b = torch::full({6}, 1.0 / 6, torch::kDouble);
  const auto batch = odyn::torch::sinkhorn({}, b, torch::stack(costs), 0.2, tight());
  ASSERT_EQ(batch.value.sizes(), torch::IntArrayRef({3}));
  ASSERT_EQ(batch.f.sizes(), torch::IntArrayRef({3, 7}));
  ASSERT_EQ(batch.g.sizes(), torch::IntArrayRef({3, 6}));
  for (int k = 0; k < 3; ++k) {
    const auto one = odyn::torch::sinkhorn({}, {}, costs[k], 0.2, tight());
    EXPECT_NEAR(batch.value[k].item<double>(), one.value.item<double>(), 1e-10);
    EXPECT_NEAR(batch.transport_cost[k].item<double>(), one.transport_cost.item<double>(), 1e-10);
    const torch::Tensor df = batch.f[k] - one.f, dg = batch.g[k] - one.g;
    EXPECT_LE((df - df[0]).abs().max().item<double>(), 1e-10);
    EXPECT_LE((dg + df[0]).abs().max().item<double>(), 1e-10);
  }
}

// eps-scaling changes the path, not the fixed point; zero weights are allowed.
TEST(TorchTransportSinkhorn, ScalingAndZeroWeights) {
  const torch::Tensor x = normal_cloud(6, 2, 5), y = normal_cloud(6, 2, 6);
  const torch::Tensor c = (x.unsqueeze(1) - y.unsqueeze(0)).square().sum(-1);
  const torch::Tensor a = torch::tensor({0.0, 0.2, 0.2, 0.2, 0.4, 0.0}, torch::kDouble);
  auto plain = tight();
  plain.epsilon_scaling = false;
  const auto r1 = odyn::torch::sinkhorn(a, {}, c, 0.05, tight());
  const auto r2 = odyn::torch::sinkhorn(a, {}, c, 0.05, plain);
  EXPECT_TRUE(r1.converged && r2.converged);
  EXPECT_NEAR(r1.value.item<double>(), r2.value.item<double>(), 1e-10);
  const LongSinkhorn ref = long_sinkhorn(to_long_vector(a), uniform(6), to_long(c), 0.05);
  EXPECT_NEAR(r1.value.item<double>(), double(ref.value), 1e-10);
  EXPECT_NEAR(r1.transport_cost.item<double>(), double(ref.transport_cost), 1e-10);
}

// Small eps: the log domain does not overflow, and OT_eps approaches the exact OT cost, here the
// assignment of two 3-point clouds found by brute force over the 6 permutations (the gap is at
// most eps log(n) = 0.011 for eps = 0.01, entropy of a permutation plan).
TEST(TorchTransportSinkhorn, SmallEpsApproachesExactOt) {
  const torch::Tensor x = torch::tensor({{0.0, 0.0}, {1.0, 0.0}, {0.0, 2.0}}, torch::kDouble);
  const torch::Tensor y = torch::tensor({{0.1, 1.9}, {2.0, 0.1}, {0.2, 0.3}}, torch::kDouble);
  const torch::Tensor c = (x.unsqueeze(1) - y.unsqueeze(0)).square().sum(-1);
  std::vector<int> perm = {0, 1, 2};
  double best = 1e300;
  do {
    double s = 0;
    for (int i = 0; i < 3; ++i) s += c[i][perm[i]].item<double>() / 3;
    best = std::min(best, s);
  } while (std::next_permutation(perm.begin(), perm.end()));
  const auto o = tight(1e-9);
  const auto r = odyn::torch::sinkhorn({}, {}, c, 1e-2, o);
  EXPECT_TRUE(r.converged);
  EXPECT_NEAR(r.transport_cost.item<double>(), best, 1e-6);
  EXPECT_LE(std::abs(r.value.item<double>() - best), 1e-2 * std::log(3.0) + 1e-9);
}

// Not converging is reported, not thrown.
TEST(TorchTransportSinkhorn, ReportsNonConvergence) {
  const torch::Tensor x = normal_cloud(8, 2, 7), y = normal_cloud(8, 2, 8, 1.0);
  const torch::Tensor c = (x.unsqueeze(1) - y.unsqueeze(0)).square().sum(-1);
  SinkhornTensorOptions o;
  o.max_iterations = 2;
  o.tolerance = 1e-14;
  const auto r = odyn::torch::sinkhorn({}, {}, c, 1e-3, o);
  EXPECT_FALSE(r.converged);
  EXPECT_EQ(r.iterations, 2);
  EXPECT_GT(r.marginal_error, 1e-14);
  EXPECT_TRUE(torch::isfinite(r.value).item<bool>());
}

// float32 runs stay in float32 and agree with float64 to float32 accuracy (condition of the value
// is O(|C|), 1e-5 relative covers a few hundred ulps of accumulated rounding).
TEST(TorchTransportSinkhorn, Float32) {
  const torch::Tensor x = normal_cloud(20, 3, 9), y = normal_cloud(15, 3, 10, 0.3);
  const torch::Tensor c = (x.unsqueeze(1) - y.unsqueeze(0)).square().sum(-1);
  SinkhornTensorOptions o;
  o.tolerance = 1e-5;
  const auto r32 = odyn::torch::sinkhorn({}, {}, c.to(torch::kFloat), 0.1, o);
  const auto r64 = odyn::torch::sinkhorn({}, {}, c, 0.1, tight());
  EXPECT_EQ(r32.value.scalar_type(), torch::kFloat);
  EXPECT_EQ(r32.f.scalar_type(), torch::kFloat);
  EXPECT_TRUE(r32.converged);
  EXPECT_NEAR(r32.value.item<double>(), r64.value.item<double>(), 1e-5 * std::abs(r64.value.item<double>()) + 1e-5);
}

// Small eps (eps / max C = 2.5e-4 and 1e-3): the potentials move by O(max C), hundreds of times the
// absorption threshold 50 eps, so the kernel is re-formed many times; without eps-scaling the
// first kernel exp(-C/eps) underflows in whole rows and the rescue path runs. The result is the
// long double log-domain fixed point: at tolerance 1e-13 the potentials are off by about
// max C * 1e-13 and the value by less, so 1e-9 (relative to max C ~ 10) leaves room for rounding
// over the absorptions.
TEST(TorchTransportSinkhorn, SmallEpsMatchesLogDomainReference) {
  const torch::Tensor x = normal_cloud(8, 2, 60), y = normal_cloud(7, 2, 61, 0.8);
  const torch::Tensor c = (x.unsqueeze(1) - y.unsqueeze(0)).square().sum(-1);
  torch::Tensor a = torch::arange(2, 10, torch::kDouble);
  a = a / a.sum();
  const double top = c.max().item<double>();
  for (const double ratio : {2.5e-4, 1e-3}) {
    const double eps = ratio * top;
    const LongSinkhorn ref = long_log_sinkhorn(to_long_vector(a), uniform(7), to_long(c), eps);
    for (const bool scaling : {true, false}) {
      auto o = tight(1e-12, 100000);
      o.epsilon_scaling = scaling;
      const auto r = odyn::torch::sinkhorn(a, {}, c, eps, o);
      EXPECT_TRUE(r.converged) << ratio << " " << scaling << " " << r.marginal_error << " " << r.iterations;
      EXPECT_NEAR(r.value.item<double>(), double(ref.value), 1e-9 * top) << ratio << " " << scaling;
      EXPECT_NEAR(r.transport_cost.item<double>(), double(ref.transport_cost), 1e-9 * top) << ratio << " " << scaling;
      const double shift = r.f[0].item<double>() - double(ref.f[0]);
      for (int i = 0; i < 8; ++i) EXPECT_NEAR(r.f[i].item<double>() - shift, double(ref.f[i]), 1e-9 * top) << ratio;
      for (int j = 0; j < 7; ++j) EXPECT_NEAR(r.g[j].item<double>() + shift, double(ref.g[j]), 1e-9 * top) << ratio;
    }
  }
}

// float32 at eps / max C = 1e-2: the potentials move by O(max C) = 100 eps, beyond the float32
// absorption threshold 20 eps, so absorption runs in float32 too. At tolerance 1e-5 the value is
// off by about tolerance * max C, plus float32 rounding of O(max C) potentials (6e-8 relative per
// operation): 1e-4 * max C covers both.
TEST(TorchTransportSinkhorn, Float32SmallEps) {
  const torch::Tensor x = normal_cloud(40, 2, 62), y = normal_cloud(30, 2, 63, 0.5);
  const torch::Tensor c = (x.unsqueeze(1) - y.unsqueeze(0)).square().sum(-1);
  const double top = c.max().item<double>(), eps = 1e-2 * top;
  SinkhornTensorOptions o;
  o.tolerance = 1e-5;
  o.max_iterations = 10000;
  const auto r32 = odyn::torch::sinkhorn({}, {}, c.to(torch::kFloat), eps, o);
  const LongSinkhorn ref = long_log_sinkhorn(uniform(40), uniform(30), to_long(c), eps);
  EXPECT_EQ(r32.value.scalar_type(), torch::kFloat);
  EXPECT_TRUE(r32.converged);
  EXPECT_TRUE(torch::isfinite(r32.f).all().item<bool>() && torch::isfinite(r32.g).all().item<bool>());
  EXPECT_NEAR(r32.value.item<double>(), double(ref.value), 1e-4 * top);
  EXPECT_NEAR(r32.transport_cost.item<double>(), double(ref.transport_cost), 1e-4 * top);
}

TEST(TorchTransportSinkhorn, RejectsBadInput) {
  const torch::Tensor c = torch::rand({4, 3}, torch::kDouble);
  const auto bad = [&](const torch::Tensor& a, const torch::Tensor& b, const torch::Tensor& cost, double eps,
                       SinkhornTensorOptions o = {}) {
    EXPECT_THROW(odyn::torch::sinkhorn(a, b, cost, eps, o), InvalidArgument);
  };
  bad({}, {}, c, 0.0);
  bad({}, {}, c, -1.0);
  bad({}, {}, c, std::nan(""));
  bad({}, {}, torch::Tensor(), 1.0);
  bad({}, {}, torch::rand({4}, torch::kDouble), 1.0);
  bad({}, {}, torch::ones({4, 3}, torch::kLong), 1.0);
  bad({}, {}, torch::empty({0, 3}, torch::kDouble), 1.0);
  torch::Tensor nan_cost = c.clone();
  nan_cost[1][1] = std::nan("");
  bad({}, {}, nan_cost, 1.0);
  torch::Tensor inf_cost = c.clone();
  inf_cost[0][2] = INFINITY;
  bad({}, {}, inf_cost, 1.0);
  bad({}, {}, torch::tensor({{-1e308, 1e308}}, torch::kDouble), 1.0);  // the cost range overflows
  bad(torch::full({3}, 1.0 / 3, torch::kDouble), {}, c, 1.0);                       // wrong length
  bad(torch::full({4}, 0.3, torch::kDouble), {}, c, 1.0);                           // sum 1.2
  bad(torch::tensor({0.5, 0.6, -0.1, 0.0}, torch::kDouble), {}, c, 1.0);            // negative
  bad(torch::tensor({0.5, std::nan(""), 0.25, 0.25}, torch::kDouble), {}, c, 1.0);           // NaN
  bad(torch::full({4}, 0.25, torch::kFloat), {}, c, 1.0);                           // dtype
  bad({}, torch::full({2, 3}, 1.0 / 3, torch::kDouble), c, 1.0);                    // batched weights, one cost
  bad({}, torch::full({2, 3}, 1.0 / 3, torch::kDouble), torch::rand({3, 4, 3}, torch::kDouble), 1.0);  // batch size
  SinkhornTensorOptions o;
  o.max_iterations = 0;
  bad({}, {}, c, 1.0, o);
  o = {};
  o.scaling_factor = 1.0;
  bad({}, {}, c, 1.0, o);
  o = {};
  o.check_every = 0;
  bad({}, {}, c, 1.0, o);
  o = {};
  o.tolerance = -1;
  bad({}, {}, c, 1.0, o);
  try {
    odyn::torch::sinkhorn(torch::full({4}, 0.3, torch::kDouble), {}, c, 1.0);
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("sinkhorn"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("a does not sum to 1"), std::string::npos) << e.what();
  }
}

// ==== Sinkhorn divergence =========================================================================

TEST(TorchTransportDivergence, MatchesLongDoubleReference) {
  for (const double p : {2.0, 1.0}) {
    for (const auto& sizes : {std::pair<int, int>{6, 6}, std::pair<int, int>{7, 5}}) {
      const torch::Tensor x = normal_cloud(sizes.first, 2, 11), y = normal_cloud(sizes.second, 2, 12, 0.7);
      const double s = odyn::torch::sinkhorn_divergence(x, y, 0.25, p, tight()).item<double>();
      EXPECT_NEAR(s, double(long_divergence(to_long(x), to_long(y), 0.25, p)), 1e-10) << p << " " << sizes.first;
      EXPECT_GT(s, 0);
    }
  }
}

// OT(b, b) here has a nearly block-diagonal plan: alternating Sinkhorn updates stall (marginal
// error still 1e-6 after 10^5 of them), the symmetric iteration of the debiasing terms does not.
TEST(TorchTransportDivergence, DebiasingTermsConvergeOnClusteredClouds) {
  const torch::Tensor x = normal_cloud(10, 3, 52), y = normal_cloud(10, 3, 53, 0.3);
  const torch::Tensor cyy = (y.unsqueeze(1) - y.unsqueeze(0)).square().sum(-1);
  const auto o = tight(1e-13, 2000);
  EXPECT_FALSE(odyn::torch::sinkhorn({}, {}, cyy, 0.5, o).converged);
  EXPECT_NEAR(odyn::torch::sinkhorn_divergence(x, y, 0.5, 2.0, tight()).item<double>(),
              double(long_divergence(to_long(x), to_long(y), 0.5, 2.0)), 1e-10);
}

// S_eps(x, x) = 0 and S_eps is symmetric.
TEST(TorchTransportDivergence, ZeroOnIdenticalCloudsAndSymmetric) {
  const torch::Tensor x = normal_cloud(9, 3, 13), y = normal_cloud(9, 3, 14, 1.0);
  EXPECT_NEAR(odyn::torch::sinkhorn_divergence(x, x, 1.0, 2.0, tight()).item<double>(), 0.0, 1e-12);
  EXPECT_NEAR(odyn::torch::sinkhorn_divergence(x, y, 1.0, 2.0, tight()).item<double>(),
              odyn::torch::sinkhorn_divergence(y, x, 1.0, 2.0, tight()).item<double>(), 1e-10);
}

// The envelope-theorem gradient w.r.t. x (and y) equals central differences of the value.
TEST(TorchTransportDivergence, GradientMatchesFiniteDifferences) {
  const torch::Tensor x = normal_cloud(5, 2, 15), y = normal_cloud(4, 2, 16, 0.5);
  for (const double p : {2.0, 1.0}) {
    expect_gradient([&](const torch::Tensor& u) { return odyn::torch::sinkhorn_divergence(u, y, 0.3, p, tight()); },
                    x, 1e-7, "divergence x p=" + std::to_string(p));
    expect_gradient([&](const torch::Tensor& v) { return odyn::torch::sinkhorn_divergence(x, v, 0.3, p, tight()); },
                    y, 1e-7, "divergence y p=" + std::to_string(p));
  }
  // Equal sizes (the stacked path).
  const torch::Tensor z = normal_cloud(5, 2, 17, -0.5);
  expect_gradient([&](const torch::Tensor& u) { return odyn::torch::sinkhorn_divergence(u, z, 1.0, 2.0, tight()); },
                  x, 1e-7, "divergence equal sizes");
}

TEST(TorchTransportDivergence, BatchEqualsPerItemAndFloat32) {
  const torch::Tensor x = torch::stack({normal_cloud(6, 2, 18), normal_cloud(6, 2, 19)});
  const torch::Tensor y = torch::stack({normal_cloud(8, 2, 20, 0.5), normal_cloud(8, 2, 21, -1.0)});
  const torch::Tensor s = odyn::torch::sinkhorn_divergence(x, y, 0.5, 2.0, tight());
  ASSERT_EQ(s.sizes(), torch::IntArrayRef({2}));
  for (int k = 0; k < 2; ++k)
    EXPECT_NEAR(s[k].item<double>(), odyn::torch::sinkhorn_divergence(x[k], y[k], 0.5, 2.0, tight()).item<double>(),
                1e-10);
  SinkhornTensorOptions o;
  o.tolerance = 1e-5;
  const torch::Tensor s32 = odyn::torch::sinkhorn_divergence(x.to(torch::kFloat), y.to(torch::kFloat), 0.5, 2.0, o);
  EXPECT_EQ(s32.scalar_type(), torch::kFloat);
  // float32 cancellation in OT_xy - (OT_xx + OT_yy)/2: terms O(1), so 1e-4 absolute.
  for (int k = 0; k < 2; ++k) EXPECT_NEAR(s32[k].item<double>(), s[k].item<double>(), 1e-4);
}

TEST(TorchTransportDivergence, RejectsBadInput) {
  const torch::Tensor x = torch::rand({4, 2}, torch::kDouble), y = torch::rand({5, 2}, torch::kDouble);
  EXPECT_THROW(odyn::torch::sinkhorn_divergence(x, y, 0.0), InvalidArgument);
  EXPECT_THROW(odyn::torch::sinkhorn_divergence(x, y, 0.1, 3.0), InvalidArgument);
  EXPECT_THROW(odyn::torch::sinkhorn_divergence(x, torch::rand({5, 3}, torch::kDouble), 0.1), InvalidArgument);
  EXPECT_THROW(odyn::torch::sinkhorn_divergence(x, y.to(torch::kFloat), 0.1), InvalidArgument);
  EXPECT_THROW(odyn::torch::sinkhorn_divergence(x, y.unsqueeze(0), 0.1), InvalidArgument);
  EXPECT_THROW(odyn::torch::sinkhorn_divergence(x.unsqueeze(0), torch::rand({2, 5, 2}, torch::kDouble), 0.1),
               InvalidArgument);
  EXPECT_THROW(odyn::torch::sinkhorn_divergence(torch::empty({0, 2}, torch::kDouble), y, 0.1), InvalidArgument);
  torch::Tensor bad = x.clone();
  bad[2][1] = NAN;
  EXPECT_THROW(odyn::torch::sinkhorn_divergence(bad, y, 0.1), InvalidArgument);
  EXPECT_THROW(odyn::torch::sinkhorn_divergence(x * 1e200, y, 0.1), InvalidArgument);  // |x - y|^2 overflows
  EXPECT_THROW(odyn::torch::sinkhorn_divergence(x, y.to(torch::kLong), 0.1), InvalidArgument);
}

// ==== sliced Wasserstein ===========================================================================

TEST(TorchTransportSliced, MatchesLongDoubleReference) {
  const torch::Tensor x = normal_cloud(30, 3, 22), y = normal_cloud(30, 3, 23, 0.4, 2.0);
  const torch::Tensor dirs = normal_cloud(17, 3, 24);  // unnormalised on purpose: rows are normalised
  for (const double p : {1.0, 1.5, 2.0, 3.0}) {
    const double s = odyn::torch::sliced_wasserstein(x, y, p, 0, dirs).item<double>();
    EXPECT_NEAR(s, double(long_sliced(to_long(x), to_long(y), to_long(dirs), p)), 1e-12) << p;
  }
}

// In one dimension with the direction 1, SW_p is W_p of the sorted samples, here shifted copies:
// W_p(x, x + 0.5) = 0.5.
TEST(TorchTransportSliced, OneDimensionalShift) {
  const torch::Tensor x = normal_cloud(50, 1, 25);
  const torch::Tensor dir = torch::ones({1, 1}, torch::kDouble);
  for (const double p : {1.0, 2.0, 4.0})
    EXPECT_NEAR(odyn::torch::sliced_wasserstein(x, x + 0.5, p, 1, dir).item<double>(), 0.5, 1e-14);
  EXPECT_EQ(odyn::torch::sliced_wasserstein(x, x.flip(0), 2.0, 1, dir).item<double>(), 0.0);
}

TEST(TorchTransportSliced, GradientMatchesFiniteDifferences) {
  const torch::Tensor x = normal_cloud(6, 2, 26), y = normal_cloud(6, 2, 27, 0.5);
  const torch::Tensor dirs = normal_cloud(5, 2, 28);
  for (const double p : {1.0, 2.0, 3.0}) {
    expect_gradient([&](const torch::Tensor& u) { return odyn::torch::sliced_wasserstein(u, y, p, 0, dirs); }, x, 1e-7,
                    "sliced p=" + std::to_string(p));
  }
  // At SW = 0 the gradient is 0, not NaN.
  const torch::Tensor u = x.clone().set_requires_grad(true);
  odyn::torch::sliced_wasserstein(u, x, 2.0, 0, dirs).backward();
  EXPECT_EQ(u.grad().abs().max().item<double>(), 0.0);
}

// Random directions: unit rows, reproducible from a generator or torch's seed; shared and batched
// directions; a batch gives the per-item values.
TEST(TorchTransportSliced, DirectionsAndBatches) {
  auto gen = at::detail::createCPUGenerator(42);
  const torch::Tensor d1 = odyn::torch::random_directions(64, 3, torch::kDouble, gen);
  EXPECT_EQ(d1.sizes(), torch::IntArrayRef({64, 3}));
  EXPECT_LE((d1.norm(2, {1}) - 1).abs().max().item<double>(), 1e-15);
  EXPECT_TRUE(torch::equal(d1, odyn::torch::random_directions(64, 3, torch::kDouble, at::detail::createCPUGenerator(42))));
  const torch::Tensor x = torch::stack({normal_cloud(20, 3, 29), normal_cloud(20, 3, 30)});
  const torch::Tensor y = torch::stack({normal_cloud(20, 3, 31, 1.0), normal_cloud(20, 3, 32, -1.0)});
  torch::manual_seed(5);
  const torch::Tensor s1 = odyn::torch::sliced_wasserstein(x, y, 2.0, 40);
  torch::manual_seed(5);
  const torch::Tensor s2 = odyn::torch::sliced_wasserstein(x, y, 2.0, 40);
  EXPECT_TRUE(torch::equal(s1, s2));
  const torch::Tensor s = odyn::torch::sliced_wasserstein(x, y, 2.0, 0, d1);
  const torch::Tensor per_batch = torch::stack({d1, d1.flip(0)});
  const torch::Tensor sb = odyn::torch::sliced_wasserstein(x, y, 2.0, 0, per_batch);
  for (int k = 0; k < 2; ++k) {
    const double one = odyn::torch::sliced_wasserstein(x[k], y[k], 2.0, 0, d1).item<double>();
    EXPECT_NEAR(s[k].item<double>(), one, 1e-14);
    EXPECT_NEAR(sb[k].item<double>(), one, 1e-13);  // same directions, another order of summation
  }
  const torch::Tensor s32 = odyn::torch::sliced_wasserstein(x.to(torch::kFloat), y.to(torch::kFloat), 2.0, 0,
                                                            d1.to(torch::kFloat));
  EXPECT_EQ(s32.scalar_type(), torch::kFloat);
  EXPECT_NEAR(s32[0].item<double>(), s[0].item<double>(), 1e-5);
}

TEST(TorchTransportSliced, RejectsBadInput) {
  const torch::Tensor x = torch::rand({4, 2}, torch::kDouble), y = torch::rand({4, 2}, torch::kDouble);
  EXPECT_THROW(odyn::torch::sliced_wasserstein(x, torch::rand({5, 2}, torch::kDouble)), InvalidArgument);
  EXPECT_THROW(odyn::torch::sliced_wasserstein(x, y, 0.5), InvalidArgument);
  EXPECT_THROW(odyn::torch::sliced_wasserstein(x, y, INFINITY), InvalidArgument);
  EXPECT_THROW(odyn::torch::sliced_wasserstein(x, y, 2.0, 0), InvalidArgument);
  EXPECT_THROW(odyn::torch::sliced_wasserstein(x, y, 2.0, 1, torch::zeros({1, 2}, torch::kDouble)), InvalidArgument);
  EXPECT_THROW(odyn::torch::sliced_wasserstein(x, y, 2.0, 1, torch::ones({1, 3}, torch::kDouble)), InvalidArgument);
  EXPECT_THROW(odyn::torch::sliced_wasserstein(x, y, 2.0, 1, torch::ones({1, 2}, torch::kFloat)), InvalidArgument);
  EXPECT_THROW(odyn::torch::sliced_wasserstein(x, y, 2.0, 1, torch::full({1, 2}, NAN, torch::kDouble)),
               InvalidArgument);
  EXPECT_THROW(odyn::torch::sliced_wasserstein(x, y, 2.0, 1, torch::ones({2, 1, 2}, torch::kDouble)), InvalidArgument);
  torch::Tensor bad = y.clone();
  bad[0][0] = -INFINITY;
  EXPECT_THROW(odyn::torch::sliced_wasserstein(x, bad), InvalidArgument);
  EXPECT_THROW(odyn::torch::random_directions(0, 2, torch::kDouble), InvalidArgument);
}

// ==== MMD ===========================================================================================

TEST(TorchTransportMmd, MatchesLongDoubleReference) {
  const torch::Tensor x = normal_cloud(13, 3, 33), y = normal_cloud(10, 3, 34, 0.3, 1.5);
  for (const MmdKernel k : kKernels) {
    for (const double s : {0.5, 2.0}) {
      EXPECT_NEAR(odyn::torch::mmd2_unbiased(x, y, k, s).item<double>(),
                  double(long_mmd_unbiased(to_long(x), to_long(y), k, s)), 1e-13)
          << name(k) << " " << s;
      EXPECT_NEAR(odyn::torch::mmd2_linear(x, y, k, s).item<double>(),
                  double(long_mmd_linear(to_long(x), to_long(y), k, s)), 1e-13)
          << name(k) << " " << s;
    }
  }
}

// The unbiased estimator is unbiased: for equal laws its mean over 200 seeded trials (one batch)
// is 0 within 4 standard errors.
TEST(TorchTransportMmd, UnbiasedAtEqualLaws) {
  double sum = 0, sum2 = 0;
  const int trials = 200;
  const torch::Tensor x = torch::stack([&] {
    std::vector<torch::Tensor> v;
    for (int t = 0; t < trials; ++t) v.push_back(normal_cloud(20, 2, 1000 + t));
    return v;
  }());
  const torch::Tensor y = torch::stack([&] {
    std::vector<torch::Tensor> v;
    for (int t = 0; t < trials; ++t) v.push_back(normal_cloud(15, 2, 5000 + t));
    return v;
  }());
  const torch::Tensor m = odyn::torch::mmd2_unbiased(x, y, MmdKernel::gaussian, 1.0);
  for (int t = 0; t < trials; ++t) {
    sum += m[t].item<double>();
    sum2 += m[t].item<double>() * m[t].item<double>();
  }
  const double mean = sum / trials, se = std::sqrt((sum2 / trials - mean * mean) / trials);
  EXPECT_LE(std::abs(mean), 4 * se);
}

TEST(TorchTransportMmd, GradientMatchesFiniteDifferences) {
  const torch::Tensor x = normal_cloud(5, 2, 35), y = normal_cloud(6, 2, 36, 0.5);
  for (const MmdKernel k : kKernels) {
    expect_gradient([&](const torch::Tensor& u) { return odyn::torch::mmd2_unbiased(u, y, k, 0.8); }, x, 1e-7,
                    "unbiased " + name(k));
    expect_gradient([&](const torch::Tensor& u) { return odyn::torch::mmd2_linear(u, y, k, 0.8); }, x, 1e-7,
                    "linear " + name(k));
  }
}

// Duplicate points (r = 0 off the diagonal, and between the paired points of the linear estimator)
// give finite gradients for the kernels built on r.
TEST(TorchTransportMmd, NoNanGradientAtZeroDistance) {
  torch::Tensor x = normal_cloud(6, 2, 37);
  x[1] = x[0];
  const torch::Tensor y = x.clone();
  for (const MmdKernel k : kKernels) {
    for (const bool linear : {false, true}) {
      const torch::Tensor u = x.clone().set_requires_grad(true), v = y.clone().set_requires_grad(true);
      (linear ? odyn::torch::mmd2_linear(u, v, k) : odyn::torch::mmd2_unbiased(u, v, k)).backward();
      EXPECT_TRUE(torch::isfinite(u.grad()).all().item<bool>()) << name(k) << linear;
      EXPECT_TRUE(torch::isfinite(v.grad()).all().item<bool>()) << name(k) << linear;
    }
  }
}

TEST(TorchTransportMmd, BatchEqualsPerItemAndFloat32) {
  const torch::Tensor x = torch::stack({normal_cloud(9, 2, 38), normal_cloud(9, 2, 39)});
  const torch::Tensor y = torch::stack({normal_cloud(7, 2, 40, 1.0), normal_cloud(7, 2, 41)});
  for (const MmdKernel k : kKernels) {
    const torch::Tensor u = odyn::torch::mmd2_unbiased(x, y, k), l = odyn::torch::mmd2_linear(x, y, k);
    const torch::Tensor u32 = odyn::torch::mmd2_unbiased(x.to(torch::kFloat), y.to(torch::kFloat), k);
    EXPECT_EQ(u32.scalar_type(), torch::kFloat);
    for (int b = 0; b < 2; ++b) {
      EXPECT_NEAR(u[b].item<double>(), odyn::torch::mmd2_unbiased(x[b], y[b], k).item<double>(), 1e-14) << name(k);
      EXPECT_NEAR(l[b].item<double>(), odyn::torch::mmd2_linear(x[b], y[b], k).item<double>(), 1e-14) << name(k);
      // float32: O(1) kernel sums of 81 terms, a few ulps each (Gram identity for r^2).
      EXPECT_NEAR(u32[b].item<double>(), u[b].item<double>(), 1e-5) << name(k);
    }
  }
}

TEST(TorchTransportMmd, RejectsBadInput) {
  const torch::Tensor x = torch::rand({4, 2}, torch::kDouble), y = torch::rand({5, 2}, torch::kDouble);
  for (const bool linear : {false, true}) {
    const auto f = [&](const torch::Tensor& u, const torch::Tensor& v, double s) {
      return linear ? odyn::torch::mmd2_linear(u, v, MmdKernel::gaussian, s)
                    : odyn::torch::mmd2_unbiased(u, v, MmdKernel::gaussian, s);
    };
    EXPECT_THROW(f(x, y, 0.0), InvalidArgument);
    EXPECT_THROW(f(x, y, -1.0), InvalidArgument);
    EXPECT_THROW(f(x, y, NAN), InvalidArgument);
    EXPECT_THROW(f(x.narrow(0, 0, 1), y, 1.0), InvalidArgument);
    EXPECT_THROW(f(x, torch::rand({5, 3}, torch::kDouble), 1.0), InvalidArgument);
    EXPECT_THROW(f(x, y.to(torch::kFloat), 1.0), InvalidArgument);
    EXPECT_THROW(f(x.to(torch::kInt), y, 1.0), InvalidArgument);
    EXPECT_THROW(f(torch::rand({2, 2, 4, 2}, torch::kDouble), y, 1.0), InvalidArgument);
    torch::Tensor bad = x.clone();
    bad[3][0] = NAN;
    EXPECT_THROW(f(bad, y, 1.0), InvalidArgument);
    EXPECT_THROW(f(x, torch::Tensor(), 1.0), InvalidArgument);
  }
}

// ==== against the Eigen implementations (float64) =================================================

Eigen::MatrixXd to_matrix(const torch::Tensor& t) {
  const torch::Tensor c = t.detach().to(torch::kCPU, torch::kDouble).contiguous();
  Eigen::MatrixXd m(c.size(0), c.size(1));
  for (int64_t i = 0; i < c.size(0); ++i)
    for (int64_t j = 0; j < c.size(1); ++j) m(i, j) = c.data_ptr<double>()[i * c.size(1) + j];
  return m;
}

torch::Tensor from_matrix(const Eigen::MatrixXd& m) {
  torch::Tensor t = torch::empty({m.rows(), m.cols()}, torch::kDouble);
  for (Eigen::Index i = 0; i < m.rows(); ++i)
    for (Eigen::Index j = 0; j < m.cols(); ++j) t.data_ptr<double>()[i * m.cols() + j] = m(i, j);
  return t;
}

// Both solvers stop at marginal error 1e-12; the potentials then agree to about eps * 1e-12 and
// the values to its square, so 1e-8 is loose (the tolerance the task asks for).
TEST(TorchTransportEigen, SinkhornValueAndPotentials) {
  const torch::Tensor x = normal_cloud(12, 2, 50), y = normal_cloud(9, 2, 51, 0.5);
  const torch::Tensor c = (x.unsqueeze(1) - y.unsqueeze(0)).square().sum(-1);
  torch::Tensor a = torch::arange(1, 13, torch::kDouble);
  a = a / a.sum();
  const Eigen::VectorXd ea = to_matrix(a.unsqueeze(1)).col(0);
  const auto eo = tight<odyn::transport::SinkhornOptions>(1e-12, 100000);
  const auto to = tight(1e-12, 100000);
  for (const double eps : {1.0, 0.3}) {
    const auto e = odyn::transport::sinkhorn(ea, Eigen::VectorXd(), to_matrix(c), eps, eo);
    const auto t = odyn::torch::sinkhorn(a, {}, c, eps, to);
    ASSERT_TRUE(e.converged && t.converged) << eps;
    EXPECT_NEAR(t.value.item<double>(), e.value, 1e-8) << eps;
    EXPECT_NEAR(t.transport_cost.item<double>(), e.transport_cost, 1e-8) << eps;
    const double shift = t.f[0].item<double>() - e.f(0);
    for (int i = 0; i < 12; ++i) EXPECT_NEAR(t.f[i].item<double>() - shift, e.f(i), 1e-8) << eps;
    for (int j = 0; j < 9; ++j) EXPECT_NEAR(t.g[j].item<double>() + shift, e.g(j), 1e-8) << eps;
  }
}

TEST(TorchTransportEigen, SinkhornDivergence) {
  const auto eo = tight<odyn::transport::SinkhornOptions>(1e-12, 100000);
  const auto to = tight(1e-12, 100000);
  for (const double p : {2.0, 1.0}) {
    for (const int m : {10, 7}) {
      const torch::Tensor x = normal_cloud(10, 3, 52), y = normal_cloud(m, 3, 53, 0.3);
      const double e = odyn::transport::sinkhorn_divergence(to_matrix(x), to_matrix(y), 1.0, Eigen::VectorXd(),
                                                            Eigen::VectorXd(), p, eo);
      EXPECT_NEAR(odyn::torch::sinkhorn_divergence(x, y, 1.0, p, to).item<double>(), e, 1e-8) << p << " " << m;
    }
  }
}

// Shared directions: the Eigen sliced_directions fed to the tensor version reproduce the Eigen
// sliced_wasserstein, and tensor directions reproduce the mean of Eigen wasserstein_1d^p.
TEST(TorchTransportEigen, SlicedWithSharedDirections) {
  const torch::Tensor x = normal_cloud(40, 3, 54), y = normal_cloud(40, 3, 55, 0.5, 1.5);
  const Eigen::MatrixXd ex = to_matrix(x), ey = to_matrix(y);
  for (const double p : {1.0, 2.0, 3.0}) {
    const Eigen::MatrixXd dirs = odyn::transport::sliced_directions(3, 25, 7);  // d x L
    EXPECT_NEAR(odyn::torch::sliced_wasserstein(x, y, p, 0, from_matrix(dirs.transpose())).item<double>(),
                odyn::transport::sliced_wasserstein(ex, ey, p, 25, 7), 1e-12)
        << p;
    const torch::Tensor theta = odyn::torch::random_directions(25, 3, torch::kDouble, at::detail::createCPUGenerator(3));
    const Eigen::MatrixXd et = to_matrix(theta);
    double total = 0;
    for (int l = 0; l < 25; ++l) {
      const Eigen::VectorXd px = ex * et.row(l).transpose(), py = ey * et.row(l).transpose();
      total += std::pow(odyn::transport::wasserstein_1d(px, py, p), p);
    }
    EXPECT_NEAR(odyn::torch::sliced_wasserstein(x, y, p, 0, theta).item<double>(), std::pow(total / 25, 1 / p), 1e-12)
        << p;
  }
}

TEST(TorchTransportEigen, Mmd) {
  const torch::Tensor x = normal_cloud(30, 4, 56), y = normal_cloud(23, 4, 57, 0.2, 1.3);
  const Eigen::MatrixXd ex = to_matrix(x), ey = to_matrix(y);
  const odyn::transport::KernelKind kinds[] = {odyn::transport::KernelKind::gaussian,
                                               odyn::transport::KernelKind::laplacian,
                                               odyn::transport::KernelKind::imq, odyn::transport::KernelKind::energy};
  for (int k = 0; k < 4; ++k) {
    for (const double s : {0.7, 2.5}) {
      const odyn::transport::Kernel kernel{kinds[k], s};
      EXPECT_NEAR(odyn::torch::mmd2_unbiased(x, y, kKernels[k], s).item<double>(),
                  odyn::transport::mmd2_unbiased(ex, ey, kernel), 1e-12)
          << name(kKernels[k]) << " " << s;
      EXPECT_NEAR(odyn::torch::mmd2_linear(x, y, kKernels[k], s).item<double>(),
                  odyn::transport::mmd2_linear(ex, ey, kernel), 1e-12)
          << name(kKernels[k]) << " " << s;
    }
  }
}

// ==== CUDA ==========================================================================================

// Every function on the GPU: results stay on the device in the input's dtype and match the CPU.
TEST(TorchTransportCuda, MatchesCpu) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const torch::Device gpu(torch::kCUDA);
  const torch::Tensor x = torch::stack({normal_cloud(40, 3, 42), normal_cloud(40, 3, 43)});
  const torch::Tensor y = torch::stack({normal_cloud(40, 3, 44, 0.5), normal_cloud(40, 3, 45)});
  const torch::Tensor dirs = odyn::torch::random_directions(20, 3, torch::kDouble);
  const torch::Tensor xg = x.to(gpu).set_requires_grad(true), yg = y.to(gpu);
  const torch::Tensor s = odyn::torch::sinkhorn_divergence(xg, yg, 1.0, 2.0, tight());
  EXPECT_TRUE(s.is_cuda());
  EXPECT_LE((s.cpu() - odyn::torch::sinkhorn_divergence(x, y, 1.0, 2.0, tight())).abs().max().item<double>(), 1e-9);
  s.sum().backward();
  EXPECT_TRUE(xg.grad().is_cuda());
  const torch::Tensor sw = odyn::torch::sliced_wasserstein(xg, yg, 2.0, 0, dirs.to(gpu));
  EXPECT_TRUE(sw.is_cuda());
  EXPECT_LE((sw.cpu() - odyn::torch::sliced_wasserstein(x, y, 2.0, 0, dirs)).abs().max().item<double>(), 1e-12);
  EXPECT_TRUE(odyn::torch::sliced_wasserstein(xg, yg, 2.0, 10).is_cuda());
  for (const MmdKernel k : kKernels) {
    EXPECT_LE((odyn::torch::mmd2_unbiased(xg, yg, k).cpu() - odyn::torch::mmd2_unbiased(x, y, k)).abs().max().item<double>(),
              1e-12);
    EXPECT_LE((odyn::torch::mmd2_linear(xg, yg, k).cpu() - odyn::torch::mmd2_linear(x, y, k)).abs().max().item<double>(),
              1e-12);
  }
  const auto r32 = odyn::torch::sinkhorn({}, {}, (xg.detach()[0].unsqueeze(1) - yg[0].unsqueeze(0)).square().sum(-1).to(torch::kFloat), 0.1);
  EXPECT_TRUE(r32.value.is_cuda());
  EXPECT_EQ(r32.f.scalar_type(), torch::kFloat);
  EXPECT_THROW(odyn::torch::mmd2_unbiased(xg, y), InvalidArgument);
}

}  // namespace
