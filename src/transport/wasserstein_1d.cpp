#include "odyn/transport/wasserstein_1d.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

namespace odyn::transport {

namespace {

// |d|^p for the three cases worth separating in the inner loops.
struct PowerOne {
  double operator()(double d) const { return std::abs(d); }
};
struct PowerTwo {
  double operator()(double d) const { return d * d; }
};
struct PowerGeneral {
  double p;
  double operator()(double d) const { return std::pow(std::abs(d), p); }
};

template <class Power>
double sorted_cost_with(const double* u, const double* a, Eigen::Index n, const double* v, const double* b,
                        Eigen::Index m, Power power) {
  double total = 0.0;
  if (a == nullptr && b == nullptr) {
    if (n == m) {
      for (Eigen::Index i = 0; i < n; ++i) total += power(u[i] - v[i]);
      return total / static_cast<double>(n);
    }
    detail::monotone_coupling_uniform(n, m, [&](Eigen::Index i, Eigen::Index j, double mass) {
      total += mass * power(u[i] - v[j]);
    });
    return total;
  }
  // One side uniform, the other weighted: give the uniform side explicit weights.
  std::vector<double> fill;
  if (a == nullptr) {
    fill.assign(static_cast<std::size_t>(n), 1.0 / static_cast<double>(n));
    a = fill.data();
  } else if (b == nullptr) {
    fill.assign(static_cast<std::size_t>(m), 1.0 / static_cast<double>(m));
    b = fill.data();
  }
  detail::monotone_coupling(a, n, b, m, [&](Eigen::Index i, Eigen::Index j, double mass) {
    total += mass * power(u[i] - v[j]);
  });
  return total;
}

void check_finite(const VectorRef& x, const std::string& where, const std::string& name) {
  require(x.size() > 0, where, name + " has no points");
  for (Eigen::Index i = 0; i < x.size(); ++i) {
    require(std::isfinite(x(i)), where, name + " point " + std::to_string(i) + " is not finite");
  }
}

// The sample sorted, with its weights permuted alongside when it is weighted.
void sort_sample(const VectorRef& x, const Vector& w, bool uniform, std::vector<double>& values,
                 std::vector<double>& weights) {
  const auto n = static_cast<std::size_t>(x.size());
  values.resize(n);
  if (uniform) {
    for (std::size_t i = 0; i < n; ++i) values[i] = x(static_cast<Eigen::Index>(i));
    std::sort(values.begin(), values.end());
    return;
  }
  std::vector<std::pair<double, double>> pairs(n);
  for (std::size_t i = 0; i < n; ++i) {
    pairs[i] = {x(static_cast<Eigen::Index>(i)), w(static_cast<Eigen::Index>(i))};
  }
  std::sort(pairs.begin(), pairs.end(), [](const auto& l, const auto& r) { return l.first < r.first; });
  weights.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    values[i] = pairs[i].first;
    weights[i] = pairs[i].second;
  }
}

}  // namespace

namespace detail {

double sorted_cost(const double* u, const double* a, Eigen::Index n, const double* v, const double* b, Eigen::Index m,
                   double p) {
  if (p == 1.0) return sorted_cost_with(u, a, n, v, b, m, PowerOne{});
  if (p == 2.0) return sorted_cost_with(u, a, n, v, b, m, PowerTwo{});
  return sorted_cost_with(u, a, n, v, b, m, PowerGeneral{p});
}

}  // namespace detail

double wasserstein_1d(const VectorRef& x, const VectorRef& y, double p, const VectorRef& wx, const VectorRef& wy) {
  const std::string where = "wasserstein_1d";
  check_finite(x, where, "x");
  check_finite(y, where, "y");
  require(std::isfinite(p) && p >= 1.0, where, "p must be finite and >= 1 (got " + std::to_string(p) + ")");
  const bool ux = wx.size() == 0, uy = wy.size() == 0;
  const Vector a = ux ? Vector() : measure_weights(wx, x.size(), where, "wx");
  const Vector b = uy ? Vector() : measure_weights(wy, y.size(), where, "wy");
  std::vector<double> u, v, au, bv;
  sort_sample(x, a, ux, u, au);
  sort_sample(y, b, uy, v, bv);
  const double cost = detail::sorted_cost(u.data(), ux ? nullptr : au.data(), x.size(), v.data(),
                                          uy ? nullptr : bv.data(), y.size(), p);
  if (p == 1.0) return cost;
  if (p == 2.0) return std::sqrt(cost);
  return std::pow(cost, 1.0 / p);
}

}  // namespace odyn::transport
