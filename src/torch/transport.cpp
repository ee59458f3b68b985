#include "odyn/torch/transport.hpp"

#include <cmath>
#include <string>
#include <vector>

#include "checks.hpp"
#include "odyn/core/error.hpp"
#include "odyn/transport/common.hpp"

namespace odyn::torch {
namespace {

using ::torch::Tensor;

using detail::require;
using detail::shape;

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

// The exact log-domain update f_i = -eps log sum_j b_j exp((g_j - C_ij)/eps) from the cost: the
// differentiable final step of solve().
struct LogSinkhorn {
  Tensor loga, logb;  // (B, n), (B, m)

  Tensor update_f(const Tensor& c, const Tensor& g, double eps) const {
    return ::torch::logsumexp(::torch::add((logb + g / eps).unsqueeze(1), c, -1.0 / eps), 2) * -eps;
  }
};

// K x (B, n) for a kernel K (B, n, m) and x (B, m), and K^T y (B, m) for y (B, n). On the CPU one
// gemv per problem (about twice as fast as bmm with a vector operand there); elsewhere bmm.
Tensor kernel_times(const Tensor& k, const Tensor& x) {
  if (!k.is_cpu()) return ::torch::bmm(k, x.unsqueeze(2)).squeeze(2);
  if (k.size(0) == 1) return ::torch::mv(k[0], x[0]).unsqueeze(0);
  std::vector<Tensor> out;
  for (int64_t i = 0; i < k.size(0); ++i) out.push_back(::torch::mv(k[i], x[i]));
  return ::torch::stack(out);
}

Tensor kernel_t_times(const Tensor& k, const Tensor& y) {
  if (!k.is_cpu()) return ::torch::bmm(y.unsqueeze(1), k).squeeze(1);
  if (k.size(0) == 1) return ::torch::mv(k[0].t(), y[0]).unsqueeze(0);
  std::vector<Tensor> out;
  for (int64_t i = 0; i < k.size(0); ++i) out.push_back(::torch::mv(k[i].t(), y[i]));
  return ::torch::stack(out);
}

// Batched Sinkhorn in kernel form with absorption (Schmitzer, SIAM J. Sci. Comput. 41(3), 2019,
// Alg. 2): the potentials are f + eps log u, g + eps log v, where f, g are absorbed potentials and
// the stabilised kernel K_ij = exp((f_i + g_j - C_ij)/eps) is formed (one exp pass over the
// (B, n, m) buffer, reused throughout) once per eps stage and per absorption. In between, the
// scalings follow u = 1 / K(b v), v = 1 / K^T(a u): two matrix-vector products per iteration,
// the plan being P = diag(a u) K diag(b v). Symmetric problems keep one potential f + eps log u
// and the kernel exp((f_i + f_j - C_ij)/eps); the averaged update (f + T(f))/2 is u <- sqrt(u /
// K(a u)). Scalings are absorbed into f, g when some |log u|, |log v| exceeds `limit_`; a
// non-finite scaling (a row or column sum that under- or overflowed) rolls the scalings back to
// the last good ones and makes one exact log-domain update instead (rescue()).
class KernelSinkhorn {
 public:
  KernelSinkhorn(const Tensor& c, const Tensor& wa, const Tensor& wb, bool symmetric)
      : c_(c), a_(wa), b_(wb), loga_(wa.log()), logb_(wb.log()), symmetric_(symmetric) {
    const bool single = c.scalar_type() == ::torch::kFloat;
    // float32 overflows at e^88: absorb at e^20 (kernel entries, up to about 1/(a_i b_j), times
    // scalings stay far from it); float64 at e^50 (Eigen solver's threshold).
    limit_ = single ? 20.0 : 50.0;
    hard_ = single ? 40.0 : 300.0;
    // Kernel entries below tiny_ are set to 0: their share of any row or column sum is below the
    // rounding unit even at the largest scalings, and products with subnormal results would slow
    // the matrix-vector products down many times.
    tiny_ = single ? 1e-30 : 1e-200;
    f_ = ::torch::zeros_like(wa);
    g_ = ::torch::zeros_like(wb);
    u_ = ::torch::ones_like(wa);
    v_ = ::torch::ones_like(wb);
    kernel_ = ::torch::empty_like(c);
  }

  // Absorbs the scalings and forms the kernel for eps = e: one exp pass. Asymmetric problems then
  // get the column update v = 1 / K^T a (exact in log domain: g + e log v = -e log sum_i a_i
  // exp((f_i - C_ij)/e)), checked on the host. Should a column sum leave (e^-limit, e^limit)
  // (e.g. exp(-C/e) underflows at a small first e), the columns are shifted by their maxima
  // instead, which makes sum_i a_i K_ij = 1 exactly (a second exp pass).
  void form_kernel(double e) {
    absorb();
    eps_ = e;
    ::torch::add_out(kernel_, (f_ / e).unsqueeze(2), c_, -1.0 / e);  // (f_i - C_ij)/e
    kernel_.add_(((symmetric_ ? f_ : g_) / e).unsqueeze(1)).exp_();
    ::torch::threshold_(kernel_, tiny_, 0);
    if (symmetric_) return;
    const Tensor sums = kernel_t_times(kernel_, a_);
    const Tensor log_sums = sums.log();
    if (to_host({log_sums.abs().max()})[0] <= limit_) {  // false for NaN
      v_ = sums.reciprocal();
      return;
    }
    ::torch::add_out(kernel_, (f_ / e).unsqueeze(2), c_, -1.0 / e);
    const Tensor top = kernel_.amax(1);  // (B, m): exp(. - top) <= 1, one entry 1 per column
    kernel_.sub_(top.unsqueeze(1)).exp_();
    ::torch::threshold_(kernel_, tiny_, 0);
    const Tensor column = kernel_t_times(kernel_, a_);
    if (to_host({(column > 0).all().logical_and(::torch::isfinite(column).all())})[0] != 0) {
      g_ = (top + column.log()) * -e;
      kernel_.mul_(column.reciprocal().unsqueeze(1));
      return;
    }
    // The column maximum sits on zero-weight rows and the weighted sum underflowed: shift by the
    // weighted maximum instead.
    ::torch::add_out(kernel_, (f_ / e + loga_).unsqueeze(2), c_, -1.0 / e);
    const Tensor top_a = kernel_.amax(1);
    g_ = (top_a + kernel_.sub_(top_a.unsqueeze(1)).exp_().sum(1).log()) * -e;
    ::torch::add_out(kernel_, (f_ / e).unsqueeze(2), c_, -1.0 / e);
    kernel_.add_((g_ / e).unsqueeze(1)).exp_();
    ::torch::threshold_(kernel_, tiny_, 0);
  }

  // The next eps-scaling stage e < eps_. When e = eps_/2 and the scalings are small enough to
  // double, exp((f + g - C)/e) is the square of the current kernel, a multiplication instead of an
  // exp per entry, and the scalings square too (f + eps_ log u = f + e log u^2). Rounding doubles
  // per squaring; only intermediate stages are made so (the last one calls form_kernel).
  void next_stage(double e) {
    if (e != 0.5 * eps_ || 2 * size_ > limit_) {
      form_kernel(e);
      return;
    }
    kernel_.square_();
    ::torch::threshold_(kernel_, tiny_, 0);
    u_ = u_.square();
    eps_ = e;
    size_ *= 2;
    // The column update v = 1 / K^T(a u), as form_kernel makes it (one product).
    if (!symmetric_) v_ = kernel_t_times(kernel_, a_ * u_).reciprocal();
  }

  // The full update u <- 1 / K(a u) of a symmetric problem (the first step of eps-scaling).
  void symmetric_transform() { u_ = kernel_times(kernel_, a_ * u_).reciprocal(); }

  // Iterations at the current eps from the count `it`: until `end` (an eps-scaling stage), or
  // when `final` until the L1 marginal error, tested every check_every iterations (one host
  // sync), is at most the tolerance, or max_iterations is reached. Extra syncs check the scalings
  // for absorption: the updates are non-expansive in the sup norm, so the last change D of
  // log u, log v bounds every later one, and the next sync comes before |log u|, |log v| can
  // reach hard_ (after the first iteration of a stage, where D is not known yet). Returns the
  // iteration count.
  long run(long it, long end, bool final, const SinkhornTensorOptions& o) {
    Tensor good_u = u_, good_v = v_;
    long next_sync = it + 1;
    while (it < end) {
      ++it;
      const bool test = final && (it % o.check_every == 0 || it >= o.max_iterations);
      const bool sync = test || it >= next_sync || it >= end;
      Tensor u_new, v_new, error;
      if (symmetric_) {
        const Tensor s = kernel_times(kernel_, a_ * u_);
        if (test) error = (a_ * (u_ * s - 1).abs()).sum(-1).max();
        u_new = (u_ / s).sqrt();
      } else {
        u_new = kernel_times(kernel_, b_ * v_).reciprocal();
        const Tensor t = kernel_t_times(kernel_, a_ * u_new);
        if (test) error = (b_ * (v_ * t - 1).abs()).sum(-1).max();  // the columns of P (rows exact)
        v_new = t.reciprocal();
      }
      if (!sync) {
        u_ = u_new;
        if (!symmetric_) v_ = v_new;
        continue;
      }
      const Tensor lu = u_new.log();
      Tensor size = lu.abs().max(), change = (lu - u_.log()).abs().max();
      if (!symmetric_) {
        const Tensor lv = v_new.log();
        size = ::torch::maximum(size, lv.abs().max());
        change = ::torch::maximum(change, (lv - v_.log()).abs().max());
      }
      std::vector<Tensor> stats{size, change};
      if (test) stats.push_back(error);
      const std::vector<double> host = to_host(stats);
      const bool finite = std::isfinite(host[0]) && std::isfinite(host[1]) && (!test || std::isfinite(host[2]));
      if (!finite) {
        // Back to the last checked scalings, then one exact log-domain update.
        u_ = good_u;
        v_ = good_v;
        rescue();
        good_u = u_;
        good_v = v_;
        next_sync = it + 1;
        if (it >= o.max_iterations) break;
        continue;
      }
      if (test) {
        error_ = host[2];
        if (error_ <= o.tolerance || it >= o.max_iterations) {
          // Keep v: the plan of (u, v) has exact rows and column error error_.
          u_ = symmetric_ ? u_ : u_new;
          break;
        }
      }
      u_ = u_new;
      if (!symmetric_) v_ = v_new;
      double current = host[0];
      if (final && current > limit_) {  // (next_stage absorbs between eps-scaling stages)
        form_kernel(eps_);
        current = 0;
      }
      size_ = current;
      good_u = u_;
      good_v = v_;
      const double room = host[1] > 0 ? std::floor((hard_ - current) / host[1]) : double(o.check_every);
      next_sync = it + std::max(1L, long(std::min(room, double(o.check_every))));
    }
    return it;
  }

  // The potential g + eps log v (f + eps log u when symmetric) the final step starts from.
  Tensor potential() const { return symmetric_ ? f_ + eps_ * u_.log() : g_ + eps_ * v_.log(); }

  // For the plan P_ij = a_i b_j exp((f_i + g_j - C_ij)/eps) of a final f (rows) and the g of
  // potential(), which is P = diag(a w) K diag(b v) with w = exp((f - f_abs)/eps): the L1 column
  // error max over the batch (returned) and <P, C> (B) into `cost`, from two matrix-vector
  // products and one multiplication pass (the kernel is consumed).
  double plan_summary(const Tensor& f, Tensor& cost) {
    const Tensor aw = a_ * ((f - f_) / eps_).exp(), bv = b_ * v_;
    const Tensor error = (bv * kernel_t_times(kernel_, aw) - b_).abs().sum(-1).max();
    kernel_.mul_(c_);
    cost = (aw * kernel_times(kernel_, bv)).sum(-1);
    return error.item<double>();
  }

 private:
  void absorb() {
    size_ = 0;
    if (eps_ > 0) {
      f_ = f_ + eps_ * u_.log();
      if (!symmetric_) g_ = g_ + eps_ * v_.log();
    }
    u_ = ::torch::ones_like(u_);
    v_ = ::torch::ones_like(v_);
  }

  // -e log sum_j w_j exp((h_j - C_ij)/e) for every i, in the kernel buffer.
  Tensor row_transform(const Tensor& h, const Tensor& logw) {
    const double e = eps_;
    ::torch::add_out(kernel_, (h / e + logw).unsqueeze(1), c_, -1.0 / e);
    const Tensor top = kernel_.amax(2);
    return (top + kernel_.sub_(top.unsqueeze(2)).exp_().sum(2).log()) * -e;
  }

  // Absorbs the scalings, makes one exact log-domain update (f = T(g), or the averaged symmetric
  // one) and forms the kernel again.
  void rescue() {
    absorb();
    if (symmetric_) {
      f_ = 0.5 * (f_ + row_transform(f_, loga_));
    } else {
      f_ = row_transform(g_, logb_);
    }
    form_kernel(eps_);
  }

  Tensor c_, a_, b_, loga_, logb_;
  bool symmetric_;
  double limit_ = 50, hard_ = 300, tiny_ = 1e-200;
  double size_ = 0;  // max |log u|, |log v| at the last sync
  Tensor f_, g_, u_, v_, kernel_;
  double eps_ = 0;

 public:
  double error_ = 0;  // the last tested marginal error
};

// S_eps from the values of the three problems, (B) each.
Tensor debiased(const Tensor& xy, const Tensor& xx, const Tensor& yy) { return xy - 0.5 * xx - 0.5 * yy; }

// Sinkhorn on checked (B, n, m) costs c3 and (B, n), (B, m) weights; `range` is the largest cost
// range (eps-scaling starts there). Symmetric problems (C = C^T, a = b) iterate g <- (g + T(g))/2 on
// the single potential (Feydy et al. 2019, Sec. 3.1): the alternating updates stall there when the
// plan is nearly block diagonal (isolated points), the averaged ones do not. `details`: also the
// transport cost and the marginal error of the plan. Results stay batched.
SinkhornTensorResult solve(const Tensor& c3, const Tensor& wa, const Tensor& wb, double eps, double range,
                           const SinkhornTensorOptions& options, bool symmetric, bool details = true) {
  const Tensor c = c3.detach();
  SinkhornTensorResult result;
  const LogSinkhorn s{wa.log(), wb.log()};
  Tensor f, g;
  KernelSinkhorn solver(c, wa, wb, symmetric);
  {
    const ::torch::NoGradGuard no_grad;
    long it = 0;
    if (options.epsilon_scaling) {
      // eps_k = range * factor^k while above eps, one step each.
      for (double e = range; e > eps && it + 1 < options.max_iterations; e *= options.scaling_factor) {
        if (it == 0) {
          solver.form_kernel(e);
        } else {
          solver.next_stage(e);
        }
        if (it == 0 && symmetric) solver.symmetric_transform();
        it = solver.run(it, it + 1, false, options);
      }
    }
    solver.form_kernel(eps);
    result.iterations = solver.run(it, options.max_iterations, true, options);
    g = solver.potential();
  }
  // The final differentiable half-update f = T(C, g): <a, f> + <b, g> is stationary in g at the
  // fixed point, so its gradient w.r.t. the cost is the plan.
  f = s.update_f(c3, g, eps);
  result.value = (wa * f).sum(-1) + (wb * g).sum(-1);
  if (details) {
    const ::torch::NoGradGuard no_grad;
    result.marginal_error = solver.plan_summary(f.detach(), result.transport_cost);
  } else {
    result.marginal_error = solver.error_;
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
  // max and min propagate NaN and are finite only when every entry is: one pass each.
  const Tensor top = c3.detach().amax({1, 2}), bottom = c3.detach().amin({1, 2});
  std::vector<Tensor> flags{::torch::isfinite(top).all().logical_and(::torch::isfinite(bottom).all()),
                            top.max() - bottom.min()};
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
    const Tensor v = solve(both, w2, w2, eps, ranges[1], options, true, false).value;
    value = debiased(solve(cxy, w, w, eps, ranges[0], options, false, false).value, v.narrow(0, 0, batch),
                     v.narrow(0, batch, batch));
  } else {
    const std::vector<double> ranges = to_host({cost_range(cxy), cost_range(cxx), cost_range(cyy)});
    check_ranges(ranges, where);
    const Tensor wx = uniform(n, 1), wy = uniform(m, 1);
    value = debiased(solve(cxy, wx, wy, eps, ranges[0], options, false, false).value,
                     solve(cxx, wx, wx, eps, ranges[1], options, true, false).value,
                     solve(cyy, wy, wy, eps, ranges[2], options, true, false).value);
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
