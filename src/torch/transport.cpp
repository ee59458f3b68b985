#include "odyn/torch/transport.hpp"

#include <cmath>
#include <string>
#include <vector>

#include "odyn/core/error.hpp"
#include "odyn/transport/common.hpp"

namespace odyn::torch {
namespace {

using ::torch::Tensor;

void require(bool ok, const std::string& where, const std::string& message) {
  if (!ok) throw InvalidArgument("torch::" + where + ": " + message);
}

std::string shape(const Tensor& t) {
  std::string s = "(";
  for (int64_t d = 0; d < t.dim(); ++d) s += (d ? ", " : "") + std::to_string(t.size(d));
  return s + ")";
}

// A defined float32 or float64 tensor.
void check_floating(const Tensor& t, const std::string& where, const std::string& name) {
  require(t.defined(), where, name + " is an undefined tensor");
  const auto type = t.scalar_type();
  require(type == ::torch::kFloat || type == ::torch::kDouble, where,
          name + " must be float32 or float64, got " + std::string(c10::toString(type)));
}

// Same dtype and device as the reference tensor.
void check_like(const Tensor& t, const Tensor& ref, const std::string& where, const std::string& name,
                const std::string& ref_name) {
  require(t.scalar_type() == ref.scalar_type(), where,
          name + " is " + std::string(c10::toString(t.scalar_type())) + " but " + ref_name + " is " +
              std::string(c10::toString(ref.scalar_type())));
  require(t.device() == ref.device(), where,
          name + " is on " + t.device().str() + " but " + ref_name + " is on " + ref.device().str());
}

// Copies a list of 0-dim tensors to the host in one transfer, as doubles.
std::vector<double> to_host(const std::vector<Tensor>& scalars) {
  std::vector<Tensor> flat;
  flat.reserve(scalars.size());
  for (const Tensor& s : scalars) flat.push_back(s.detach().to(::torch::kDouble).reshape({1}));
  const Tensor host = ::torch::cat(flat).to(::torch::kCPU);
  const double* p = host.data_ptr<double>();
  return std::vector<double>(p, p + host.numel());
}

Tensor all_finite(const Tensor& t) { return ::torch::isfinite(t.detach()).all(); }

// Two point clouds as (B, n, d) and (B, m, d) tensors, after checking them.
struct Clouds {
  Tensor x, y;
  bool batched;
};

Clouds check_clouds(const Tensor& x, const Tensor& y, const std::string& where) {
  check_floating(x, where, "x");
  check_floating(y, where, "y");
  check_like(y, x, where, "y", "x");
  require(x.dim() == 2 || x.dim() == 3, where, "x must be (n, d) or (B, n, d), got shape " + shape(x));
  require(y.dim() == x.dim(), where, "x and y must both be batched or both unbatched, got shapes " + shape(x) +
                                         " and " + shape(y));
  const bool batched = x.dim() == 3;
  const Tensor x3 = batched ? x : x.unsqueeze(0), y3 = batched ? y : y.unsqueeze(0);
  require(x3.size(0) == y3.size(0), where,
          "x and y have different batch sizes (" + std::to_string(x3.size(0)) + " and " + std::to_string(y3.size(0)) +
              ")");
  require(x3.size(0) > 0, where, "the batch is empty");
  require(x3.size(1) > 0, where, "x has no points");
  require(y3.size(1) > 0, where, "y has no points");
  require(x3.size(2) > 0, where, "the points have dimension 0");
  require(x3.size(2) == y3.size(2), where, "x and y differ in dimension (" + std::to_string(x3.size(2)) + " and " +
                                               std::to_string(y3.size(2)) + ")");
  const std::vector<double> finite = to_host({all_finite(x3), all_finite(y3)});
  require(finite[0] != 0, where, "x has a non-finite entry");
  require(finite[1] != 0, where, "y has a non-finite entry");
  return {x3, y3, batched};
}

void check_positive(double v, const std::string& where, const std::string& name) {
  require(std::isfinite(v) && v > 0, where, name + " must be positive and finite, got " + std::to_string(v));
}

// Squared distances |x_i - y_j|^2 (B, n, m) by the Gram identity on clouds centred at x's mean (a
// batched matrix product; the centre is a constant for autograd, negative rounding clamped to 0).
Tensor squared_distances(const Tensor& x, const Tensor& y) {
  const Tensor centre = x.detach().mean(1, true);
  const Tensor xc = x - centre, yc = y - centre;
  const Tensor d2 = xc.square().sum(-1).unsqueeze(2) + yc.square().sum(-1).unsqueeze(1) -
                    2 * ::torch::matmul(xc, yc.transpose(1, 2));
  return d2.clamp_min(0);
}

// Distances |x_i - y_j| (B, n, m) from exact differences; the gradient at a zero distance is 0.
Tensor distances(const Tensor& x, const Tensor& y) {
  return ::torch::cdist(x, y, 2.0, int64_t{2});  // 2: donot_use_mm_for_euclid_dist
}

// sqrt(d2) with a zero gradient where d2 == 0 (no 0 * inf = NaN).
Tensor safe_sqrt(const Tensor& d2) {
  const Tensor positive = d2 > 0;
  return ::torch::where(positive, ::torch::where(positive, d2, ::torch::ones_like(d2)).sqrt(),
                        ::torch::zeros_like(d2));
}

// ---- Sinkhorn ---------------------------------------------------------------------------------

// Weights as (B, k) (uniform when undefined), checked against the cost's dtype, device and size.
Tensor weights(const Tensor& w, const Tensor& cost3, int64_t k, const std::string& name, std::vector<Tensor>& flags,
               std::vector<std::string>& names) {
  const std::string where = "sinkhorn";
  const int64_t batch = cost3.size(0);
  if (!w.defined()) return ::torch::full({batch, k}, 1.0 / double(k), cost3.options());
  check_floating(w, where, name);
  check_like(w, cost3, where, name, "the cost");
  require(w.dim() == 1 || w.dim() == 2, where, name + " must be (k) or (B, k), got shape " + shape(w));
  require(w.size(-1) == k, where,
          name + " has " + std::to_string(w.size(-1)) + " weights for " + std::to_string(k) + " points");
  require(w.dim() == 1 || w.size(0) == batch, where,
          name + " has batch size " + std::to_string(w.size(0)) + " but the cost has " + std::to_string(batch));
  const Tensor w2 = w.detach().expand({batch, k});
  names.push_back(name);
  flags.push_back(all_finite(w2));
  flags.push_back(w2.ge(0).all());
  flags.push_back((w2.to(::torch::kDouble).sum(-1) - 1).abs().max());
  return w2;
}

struct LogSinkhorn {
  Tensor loga, logb;  // (B, n), (B, m)

  // f_i = -eps log sum_j b_j exp((g_j - C_ij)/eps), from minus_c = -C/eps.
  Tensor update_f(const Tensor& minus_c, const Tensor& g, double eps) const {
    return ::torch::logsumexp(minus_c + (logb + g / eps).unsqueeze(1), 2) * -eps;
  }
  // g_j = -eps log sum_i a_i exp((f_i - C_ij)/eps).
  Tensor update_g(const Tensor& minus_c, const Tensor& f, double eps) const {
    return ::torch::logsumexp(minus_c + (loga + f / eps).unsqueeze(2), 1) * -eps;
  }
};

// S_eps from the values of the three problems, (B) each.
Tensor debiased(const Tensor& xy, const Tensor& xx, const Tensor& yy) { return xy - 0.5 * xx - 0.5 * yy; }

// Sinkhorn on checked (B, n, m) costs c3 and (B, n), (B, m) weights; `range` is the largest cost
// range (eps-scaling starts there). Symmetric problems (C = C^T, a = b) iterate g <- (g + T(g))/2 on
// the single potential (Feydy et al. 2019, Sec. 3.1): the alternating updates stall there when the
// plan is nearly block diagonal (isolated points), the averaged ones do not. Results stay batched.
SinkhornTensorResult solve(const Tensor& c3, const Tensor& wa, const Tensor& wb, double eps, double range,
                           const SinkhornTensorOptions& options, bool symmetric) {
  const Tensor c = c3.detach();
  const int64_t m = c.size(2);
  SinkhornTensorResult result;
  const LogSinkhorn s{wa.log(), wb.log()};
  Tensor f, g = ::torch::zeros({c.size(0), m}, c.options());
  {
    const ::torch::NoGradGuard no_grad;
    // One step at temperature e: the (f, g) pair, or the averaged symmetric update of g.
    const auto step = [&](const Tensor& minus_c, double e) {
      if (symmetric) {
        g = 0.5 * (g + s.update_f(minus_c, g, e));
      } else {
        f = s.update_f(minus_c, g, e);
        g = s.update_g(minus_c, f, e);
      }
    };
    long it = 0;
    if (options.epsilon_scaling) {
      // eps_k = range * factor^k while above eps, one step each.
      for (double e = range; e > eps && it + 1 < options.max_iterations; e *= options.scaling_factor, ++it) {
        const Tensor minus_c = c * (-1.0 / e);
        if (it == 0 && symmetric) g = s.update_f(minus_c, g, e);
        step(minus_c, e);
      }
    }
    const Tensor minus_c = c * (-1.0 / eps);
    if (symmetric) {
      while (true) {
        ++it;
        const Tensor t = s.update_f(minus_c, g, eps);
        if (it % options.check_every == 0 || it >= options.max_iterations) {
          // Row marginal of the plan of (g, g): a_i exp((g_i - T(g)_i)/eps).
          const double error = (wa * (((g - t) / eps).exp() - 1).abs()).sum(-1).max().item<double>();
          if (error <= options.tolerance || it >= options.max_iterations) break;
        }
        g = 0.5 * (g + t);
      }
    } else {
      f = s.update_f(minus_c, g, eps);
      while (true) {
        g = s.update_g(minus_c, f, eps);
        ++it;
        const Tensor f_next = s.update_f(minus_c, g, eps);
        if (it % options.check_every == 0 || it >= options.max_iterations) {
          // Row marginal of the plan of (f, g): a_i exp((f_i - f_next_i)/eps).
          const double error = (wa * (((f - f_next) / eps).exp() - 1).abs()).sum(-1).max().item<double>();
          if (error <= options.tolerance || it >= options.max_iterations) break;
        }
        f = f_next;
      }
    }
    result.iterations = it;
  }
  // The final differentiable half-update f = T(C, g): <a, f> + <b, g> is stationary in g at the
  // fixed point, so its gradient w.r.t. the cost is the plan.
  f = s.update_f(c3 * (-1.0 / eps), g, eps);
  result.value = (wa * f).sum(-1) + (wb * g).sum(-1);
  {
    const ::torch::NoGradGuard no_grad;
    const Tensor fd = f.detach();
    const Tensor minus_c = c * (-1.0 / eps);
    const Tensor g_next = s.update_g(minus_c, fd, eps);
    const Tensor column_error = (wb * (((g - g_next) / eps).exp() - 1).abs()).sum(-1).max();
    const Tensor plan = (minus_c + ((s.loga + fd / eps).unsqueeze(2) + (s.logb + g / eps).unsqueeze(1))).exp();
    result.transport_cost = (plan * c).sum({1, 2});
    result.marginal_error = column_error.item<double>();
  }
  result.converged = result.marginal_error <= options.tolerance;
  result.f = f;
  result.g = g;
  return result;
}

void check_options(const SinkhornTensorOptions& options, double eps, const std::string& where) {
  check_positive(eps, where, "eps");
  require(std::isfinite(options.tolerance) && options.tolerance >= 0, where, "tolerance must be finite and >= 0");
  require(options.max_iterations >= 1, where, "max_iterations must be at least 1");
  require(options.check_every >= 1, where, "check_every must be at least 1");
  require(options.scaling_factor > 0 && options.scaling_factor < 1, where, "scaling_factor must lie in (0, 1)");
}

Tensor cost_range(const Tensor& c3) {
  const Tensor c = c3.detach();
  return c.amax({1, 2}).max() - c.amin({1, 2}).min();
}

// Cost ranges from cost_range, read on the host: an overflow would make eps-scaling start at inf.
void check_ranges(const std::vector<double>& ranges, const std::string& where) {
  for (const double r : ranges) require(std::isfinite(r), where, "the cost overflows (rescale the data)");
}

}  // namespace

SinkhornTensorResult sinkhorn(const Tensor& a, const Tensor& b, const Tensor& cost, double eps,
                              const SinkhornTensorOptions& options) {
  const std::string where = "sinkhorn";
  check_floating(cost, where, "the cost");
  require(cost.dim() == 2 || cost.dim() == 3, where, "the cost must be (n, m) or (B, n, m), got shape " + shape(cost));
  check_options(options, eps, where);
  const bool batched = cost.dim() == 3;
  const Tensor c3 = batched ? cost : cost.unsqueeze(0);
  require(c3.size(0) > 0, where, "the batch is empty");
  require(c3.size(1) > 0 && c3.size(2) > 0, where, "the cost has no entries, shape " + shape(cost));
  if (!batched) {
    require(!a.defined() || a.dim() == 1, where, "a must be (n) for an unbatched cost, got shape " + shape(a));
    require(!b.defined() || b.dim() == 1, where, "b must be (m) for an unbatched cost, got shape " + shape(b));
  }
  const int64_t n = c3.size(1), m = c3.size(2);
  std::vector<Tensor> flags{all_finite(c3), cost_range(c3)};
  std::vector<std::string> names;
  const Tensor wa = weights(a, c3, n, "a", flags, names), wb = weights(b, c3, m, "b", flags, names);
  const std::vector<double> host = to_host(flags);  // the one host sync of the checks
  require(host[0] != 0, where, "the cost has a non-finite entry");
  const double sum_tolerance = cost.scalar_type() == ::torch::kFloat ? 1e-5 : transport::kWeightSumTolerance;
  for (size_t k = 2, w = 0; k < host.size(); k += 3, ++w) {
    require(host[k] != 0, where, names[w] + " has a non-finite weight");
    require(host[k + 1] != 0, where, names[w] + " has a negative weight");
    require(host[k + 2] <= sum_tolerance, where, names[w] + " does not sum to 1 (normalise the weights)");
  }
  check_ranges({host[1]}, where);
  SinkhornTensorResult result = solve(c3, wa, wb, eps, host[1], options, false);
  if (!batched) {
    result.value = result.value.squeeze(0);
    result.transport_cost = result.transport_cost.squeeze(0);
    result.f = result.f.squeeze(0);
    result.g = result.g.squeeze(0);
  }
  return result;
}

Tensor sinkhorn_divergence(const Tensor& x, const Tensor& y, double eps, double p,
                           const SinkhornTensorOptions& options) {
  const std::string where = "sinkhorn_divergence";
  check_options(options, eps, where);
  require(p == 1.0 || p == 2.0, where, "p must be 1 or 2, got " + std::to_string(p));
  const Clouds cl = check_clouds(x, y, where);
  const auto cost = [p](const Tensor& u, const Tensor& v) {
    return p == 2.0 ? squared_distances(u, v) : distances(u, v);
  };
  const int64_t batch = cl.x.size(0), n = cl.x.size(1), m = cl.y.size(1);
  const auto uniform = [&](int64_t k, int64_t copies) {
    return ::torch::full({copies * batch, k}, 1.0 / double(k), cl.x.options().requires_grad(false));
  };
  const Tensor cxy = cost(cl.x, cl.y), cxx = cost(cl.x, cl.x), cyy = cost(cl.y, cl.y);
  // The debiasing terms OT(a, a), OT(b, b) by the symmetric iteration, as one batch when n == m.
  Tensor value;
  if (n == m) {
    const Tensor both = ::torch::cat({cxx, cyy});
    const std::vector<double> ranges = to_host({cost_range(cxy), cost_range(both)});
    check_ranges(ranges, where);
    const Tensor w = uniform(n, 1), w2 = uniform(n, 2);
    const Tensor v = solve(both, w2, w2, eps, ranges[1], options, true).value;
    value = debiased(solve(cxy, w, w, eps, ranges[0], options, false).value, v.narrow(0, 0, batch),
                     v.narrow(0, batch, batch));
  } else {
    const std::vector<double> ranges = to_host({cost_range(cxy), cost_range(cxx), cost_range(cyy)});
    check_ranges(ranges, where);
    const Tensor wx = uniform(n, 1), wy = uniform(m, 1);
    value = debiased(solve(cxy, wx, wy, eps, ranges[0], options, false).value,
                     solve(cxx, wx, wx, eps, ranges[1], options, true).value,
                     solve(cyy, wy, wy, eps, ranges[2], options, true).value);
  }
  return cl.batched ? value : value.squeeze(0);
}

// ---- sliced Wasserstein -------------------------------------------------------------------------

Tensor random_directions(long n_projections, long d, const ::torch::TensorOptions& options,
                         c10::optional<at::Generator> generator) {
  const std::string where = "random_directions";
  require(n_projections >= 1, where, "n_projections must be at least 1");
  require(d >= 1, where, "the dimension must be at least 1");
  const Tensor t = ::torch::randn({n_projections, d}, std::move(generator), options.requires_grad(false));
  return t / t.norm(2, {1}, true);
}

Tensor sliced_wasserstein(const Tensor& x, const Tensor& y, double p, long n_projections, const Tensor& directions) {
  const std::string where = "sliced_wasserstein";
  require(std::isfinite(p) && p >= 1, where, "p must be finite and >= 1, got " + std::to_string(p));
  const Clouds cl = check_clouds(x, y, where);
  require(cl.x.size(1) == cl.y.size(1), where,
          "x and y must have equally many points, got " + std::to_string(cl.x.size(1)) + " and " +
              std::to_string(cl.y.size(1)));
  const int64_t d = cl.x.size(2);
  Tensor theta;
  if (directions.defined()) {
    check_floating(directions, where, "directions");
    check_like(directions, cl.x, where, "directions", "x");
    require(directions.dim() == 2 || (directions.dim() == 3 && cl.batched), where,
            "directions must be (L, d), or (B, L, d) for batched clouds, got shape " + shape(directions));
    require(directions.size(-1) == d, where,
            "directions have dimension " + std::to_string(directions.size(-1)) + ", the points " + std::to_string(d));
    require(directions.size(-2) >= 1, where, "there are no directions");
    require(directions.dim() == 2 || directions.size(0) == cl.x.size(0), where,
            "directions have batch size " + std::to_string(directions.size(0)) + " but x has " +
                std::to_string(cl.x.size(0)));
    const Tensor norms = directions.detach().norm(2, {-1}, true);
    const std::vector<double> host = to_host({all_finite(directions), (norms > 0).all()});
    require(host[0] != 0, where, "directions have a non-finite entry");
    require(host[1] != 0, where, "a direction is zero");
    theta = directions / norms;
  } else {
    require(n_projections >= 1, where, "n_projections must be at least 1, got " + std::to_string(n_projections));
    theta = random_directions(n_projections, d, cl.x.options());
  }
  const Tensor t = theta.transpose(-1, -2);  // (d, L) or (B, d, L)
  const Tensor px = std::get<0>(::torch::sort(::torch::matmul(cl.x, t), 1));
  const Tensor py = std::get<0>(::torch::sort(::torch::matmul(cl.y, t), 1));
  const Tensor diff = px - py;
  const Tensor lifted = p == 1.0 ? diff.abs() : p == 2.0 ? diff.square() : diff.abs().pow(p);
  const Tensor mean = lifted.mean(1).mean(-1);  // (B): mean over points, then over directions
  Tensor value;
  if (p == 1.0) {
    value = mean;
  } else {
    const Tensor positive = mean > 0;
    value = ::torch::where(positive, ::torch::where(positive, mean, ::torch::ones_like(mean)).pow(1.0 / p),
                           ::torch::zeros_like(mean));
  }
  return cl.batched ? value : value.squeeze(0);
}

// ---- MMD ------------------------------------------------------------------------------------------

namespace {

bool uses_distance(MmdKernel kernel) { return kernel == MmdKernel::laplacian || kernel == MmdKernel::energy; }

// k as a function of r^2 (gaussian, imq) or r (laplacian, energy).
Tensor kernel_of(const Tensor& v, MmdKernel kernel, double s) {
  switch (kernel) {
    case MmdKernel::gaussian:
      return (v * (-0.5 / (s * s))).exp();
    case MmdKernel::imq:
      return (v * (1.0 / (s * s)) + 1).rsqrt();
    case MmdKernel::laplacian:
      return (v * (-1.0 / s)).exp();
    case MmdKernel::energy:
      return -v;
  }
  return {};
}

// The kernel matrix k(x_i, y_j), (B, n, m).
Tensor gram(const Tensor& x, const Tensor& y, MmdKernel kernel, double s) {
  return kernel_of(uses_distance(kernel) ? distances(x, y) : squared_distances(x, y), kernel, s);
}

// k(x_i, y_i) row by row, (B, K).
Tensor paired(const Tensor& x, const Tensor& y, MmdKernel kernel, double s) {
  const Tensor d2 = (x - y).square().sum(-1);
  return kernel_of(uses_distance(kernel) ? safe_sqrt(d2) : d2, kernel, s);
}

Clouds check_mmd(const Tensor& x, const Tensor& y, MmdKernel kernel, double bandwidth, const std::string& where) {
  check_positive(bandwidth, where, "bandwidth");
  require(kernel == MmdKernel::gaussian || kernel == MmdKernel::laplacian || kernel == MmdKernel::imq ||
              kernel == MmdKernel::energy,
          where, "unknown kernel");
  const Clouds cl = check_clouds(x, y, where);
  require(cl.x.size(1) >= 2, where, "x needs at least 2 points, got " + std::to_string(cl.x.size(1)));
  require(cl.y.size(1) >= 2, where, "y needs at least 2 points, got " + std::to_string(cl.y.size(1)));
  return cl;
}

// Mean of k(u_i, u_j) over i != j, (B).
Tensor off_diagonal_mean(const Tensor& u, MmdKernel kernel, double s) {
  const int64_t n = u.size(1);
  const Tensor diagonal = ::torch::eye(n, u.options().dtype(::torch::kBool));
  return gram(u, u, kernel, s).masked_fill(diagonal, 0).sum({1, 2}) / double(n * (n - 1));
}

}  // namespace

Tensor mmd2_unbiased(const Tensor& x, const Tensor& y, MmdKernel kernel, double bandwidth) {
  const Clouds cl = check_mmd(x, y, kernel, bandwidth, "mmd2_unbiased");
  const Tensor value = off_diagonal_mean(cl.x, kernel, bandwidth) + off_diagonal_mean(cl.y, kernel, bandwidth) -
                       2 * gram(cl.x, cl.y, kernel, bandwidth).mean({1, 2});
  return cl.batched ? value : value.squeeze(0);
}

Tensor mmd2_linear(const Tensor& x, const Tensor& y, MmdKernel kernel, double bandwidth) {
  const Clouds cl = check_mmd(x, y, kernel, bandwidth, "mmd2_linear");
  const int64_t pairs = std::min(cl.x.size(1), cl.y.size(1)) / 2;
  const Tensor x1 = cl.x.slice(1, 0, 2 * pairs, 2), x2 = cl.x.slice(1, 1, 2 * pairs, 2);
  const Tensor y1 = cl.y.slice(1, 0, 2 * pairs, 2), y2 = cl.y.slice(1, 1, 2 * pairs, 2);
  const double s = bandwidth;
  const Tensor h = paired(x1, x2, kernel, s) + paired(y1, y2, kernel, s) - paired(x1, y2, kernel, s) -
                   paired(x2, y1, kernel, s);
  const Tensor value = h.mean(1);
  return cl.batched ? value : value.squeeze(0);
}

}  // namespace odyn::torch
