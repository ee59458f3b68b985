#include "odyn/transport/sliced.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "odyn/transport/wasserstein_1d.hpp"

namespace odyn::transport {

namespace {

constexpr double kPi = 3.14159265358979323846;

// Buffer budget for the projections of one block of directions: about 2^20 values per cloud (8 MiB).
constexpr Eigen::Index kBlockValues = Eigen::Index(1) << 20;

// The validated inputs of a sliced problem, with sorting buffers reused across directions.
struct Sliced {
  const PointsRef& x;
  const PointsRef& y;
  double p;
  bool ux, uy;  // uniform weights (no weight vector given)
  Vector a, b;  // the weights when given
  std::vector<std::pair<double, double>> pairs;
  std::vector<double> wa, wb;  // weights in sorted order

  Sliced(const PointsRef& x_, const PointsRef& y_, double p_, int n_projections, const VectorRef& wx,
         const VectorRef& wy, const std::string& where)
      : x(x_), y(y_), p(p_), ux(wx.size() == 0), uy(wy.size() == 0) {
    check_point_pair(x, y, where);
    require(std::isfinite(p) && p >= 1.0, where, "p must be finite and >= 1 (got " + std::to_string(p) + ")");
    require(n_projections >= 1, where, "n_projections must be >= 1 (got " + std::to_string(n_projections) + ")");
    if (!ux) a = measure_weights(wx, x.rows(), where, "wx");
    if (!uy) b = measure_weights(wy, y.rows(), where, "wy");
  }

  // Sorts u[0..n) in place; with weights w, permutes them alongside into `sorted`.
  void sort_projection(double* u, Eigen::Index n, bool uniform, const Vector& w, std::vector<double>& sorted) {
    if (uniform) {
      std::sort(u, u + n);
      return;
    }
    const auto count = static_cast<std::size_t>(n);
    pairs.resize(count);
    sorted.resize(count);
    for (Eigen::Index i = 0; i < n; ++i) pairs[static_cast<std::size_t>(i)] = {u[i], w(i)};
    std::sort(pairs.begin(), pairs.end(), [](const auto& l, const auto& r) { return l.first < r.first; });
    for (std::size_t i = 0; i < count; ++i) {
      u[i] = pairs[i].first;
      sorted[i] = pairs[i].second;
    }
  }

  // W_p^p(theta#mu, theta#nu) for each column theta of `directions`.
  Vector direction_costs(const Matrix& directions) {
    const Eigen::Index n = x.rows(), m = y.rows(), count = directions.cols();
    const Eigen::Index block = std::clamp<Eigen::Index>(kBlockValues / std::max(n, m), 1, count);
    Matrix px(n, block), py(m, block);
    Vector costs(count);
    // Weights in sorted order, nullptr when both clouds are uniform. With one weighted cloud the
    // uniform one gets explicit weights here, once. Buffers are sized before the pointers are taken
    // (sort_projection resizes to the same size, which never reallocates).
    const double* weights_x = nullptr;
    const double* weights_y = nullptr;
    if (!(ux && uy)) {
      wa.assign(static_cast<std::size_t>(n), 1.0 / static_cast<double>(n));
      wb.assign(static_cast<std::size_t>(m), 1.0 / static_cast<double>(m));
      pairs.reserve(static_cast<std::size_t>(std::max(n, m)));
      weights_x = wa.data();
      weights_y = wb.data();
    }
    for (Eigen::Index l0 = 0; l0 < count; l0 += block) {
      const Eigen::Index size = std::min(block, count - l0);
      px.leftCols(size).noalias() = x * directions.middleCols(l0, size);
      py.leftCols(size).noalias() = y * directions.middleCols(l0, size);
      for (Eigen::Index c = 0; c < size; ++c) {
        double* u = px.col(c).data();
        double* v = py.col(c).data();
        sort_projection(u, n, ux, a, wa);
        sort_projection(v, m, uy, b, wb);
        costs(l0 + c) = detail::sorted_cost(u, weights_x, n, v, weights_y, m, p);
      }
    }
    return costs;
  }
};

// |d|^(p-1) sign(d) p, the derivative of |d|^p.
double power_derivative(double d, double p) {
  if (p == 2.0) return 2.0 * d;
  const double s = d > 0 ? 1.0 : (d < 0 ? -1.0 : 0.0);
  if (p == 1.0) return s;
  return p * s * std::pow(std::abs(d), p - 1.0);
}

double power(double d, double p) {
  if (p == 2.0) return d * d;
  if (p == 1.0) return std::abs(d);
  return std::pow(std::abs(d), p);
}

// W_p^p(theta#mu, theta#nu) and its gradient in theta (in R^d, before projection on the tangent
// space), from the monotone coupling of the sorted projections.
class Ascent {
 public:
  explicit Ascent(const Sliced& s) : s_(s) {}

  double cost_and_gradient(const Vector& theta, Vector& gradient) {
    const Eigen::Index n = s_.x.rows(), m = s_.y.rows();
    px_.noalias() = s_.x * theta;
    py_.noalias() = s_.y * theta;
    sort_indexed(px_, sx_, ix_);
    sort_indexed(py_, sy_, iy_);
    alpha_.setZero(n);
    beta_.setZero(m);
    double cost = 0.0;
    const double p = s_.p;
    auto visit = [&](Eigen::Index i, Eigen::Index j, double mass) {
      const double d = sx_[static_cast<std::size_t>(i)] - sy_[static_cast<std::size_t>(j)];
      cost += mass * power(d, p);
      const double c = mass * power_derivative(d, p);
      alpha_(ix_[static_cast<std::size_t>(i)]) += c;
      beta_(iy_[static_cast<std::size_t>(j)]) += c;
    };
    if (s_.ux && s_.uy && n == m) {
      const double mass = 1.0 / static_cast<double>(n);
      for (Eigen::Index i = 0; i < n; ++i) visit(i, i, mass);
    } else if (s_.ux && s_.uy) {
      detail::monotone_coupling_uniform(n, m, visit);
    } else {
      weights(s_.ux, s_.a, ix_, n, wa_);
      weights(s_.uy, s_.b, iy_, m, wb_);
      detail::monotone_coupling(wa_.data(), n, wb_.data(), m, visit);
    }
    gradient.noalias() = s_.x.transpose() * alpha_;
    gradient.noalias() -= s_.y.transpose() * beta_;
    return cost;
  }

 private:
  // Values of u in increasing order, and the permutation that sorts them.
  void sort_indexed(const Vector& u, std::vector<double>& sorted, std::vector<Eigen::Index>& index) {
    const auto count = static_cast<std::size_t>(u.size());
    pairs_.resize(count);
    for (std::size_t i = 0; i < count; ++i) pairs_[i] = {u(static_cast<Eigen::Index>(i)), static_cast<Eigen::Index>(i)};
    std::sort(pairs_.begin(), pairs_.end(), [](const auto& l, const auto& r) { return l.first < r.first; });
    sorted.resize(count);
    index.resize(count);
    for (std::size_t i = 0; i < count; ++i) {
      sorted[i] = pairs_[i].first;
      index[i] = pairs_[i].second;
    }
  }

  static void weights(bool uniform, const Vector& w, const std::vector<Eigen::Index>& index, Eigen::Index n,
                      std::vector<double>& out) {
    out.resize(static_cast<std::size_t>(n));
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = uniform ? 1.0 / static_cast<double>(n) : w(index[i]);
  }

  const Sliced& s_;
  Vector px_, py_, alpha_, beta_;
  std::vector<std::pair<double, Eigen::Index>> pairs_;
  std::vector<double> sx_, sy_, wa_, wb_;
  std::vector<Eigen::Index> ix_, iy_;
};

double root(double power_p, double p) {
  if (p == 1.0) return power_p;
  if (p == 2.0) return std::sqrt(power_p);
  return std::pow(power_p, 1.0 / p);
}

}  // namespace

Matrix sliced_directions(Eigen::Index d, int n_projections, std::uint64_t seed) {
  const std::string where = "sliced_directions";
  require(d >= 1, where, "the dimension must be >= 1 (got " + std::to_string(d) + ")");
  require(n_projections >= 1, where, "n_projections must be >= 1 (got " + std::to_string(n_projections) + ")");
  std::mt19937_64 rng(seed);
  const double unit = std::ldexp(1.0, -53);
  bool have_spare = false;
  double spare = 0.0;
  auto normal = [&]() {
    if (have_spare) {
      have_spare = false;
      return spare;
    }
    const double u1 = static_cast<double>((rng() >> 11) + 1) * unit;  // (0, 1]
    const double u2 = static_cast<double>(rng() >> 11) * unit;        // [0, 1)
    const double r = std::sqrt(-2.0 * std::log(u1));
    spare = r * std::sin(2.0 * kPi * u2);
    have_spare = true;
    return r * std::cos(2.0 * kPi * u2);
  };
  Matrix theta(d, n_projections);
  for (Eigen::Index l = 0; l < n_projections; ++l) {
    double norm = 0.0;
    while (norm == 0.0) {  // a zero draw has probability about 2^-53 per coordinate; draw again
      for (Eigen::Index k = 0; k < d; ++k) theta(k, l) = normal();
      norm = theta.col(l).norm();
    }
    theta.col(l) /= norm;
  }
  return theta;
}

double sliced_wasserstein(const PointsRef& x, const PointsRef& y, double p, int n_projections, std::uint64_t seed,
                          const VectorRef& wx, const VectorRef& wy) {
  Sliced s(x, y, p, n_projections, wx, wy, "sliced_wasserstein");
  const Vector costs = s.direction_costs(sliced_directions(x.cols(), n_projections, seed));
  return root(costs.mean(), p);
}

MaxSlicedResult max_sliced_wasserstein(const PointsRef& x, const PointsRef& y, double p, int n_projections,
                                       std::uint64_t seed, const VectorRef& wx, const VectorRef& wy) {
  Sliced s(x, y, p, n_projections, wx, wy, "max_sliced_wasserstein");
  const Matrix directions = sliced_directions(x.cols(), n_projections, seed);
  const Vector costs = s.direction_costs(directions);
  Eigen::Index best = 0;
  const double start_cost = costs.maxCoeff(&best);
  Vector best_theta = directions.col(best);
  double best_cost = start_cost;
  if (x.cols() > 1) {
    // Geodesic gradient ascent: theta <- cos(a) theta + sin(a) t / |t| with t the tangent part of
    // the gradient and the angle a = eta |t|; eta doubles after an increase of W_p^p and halves
    // after a rejected step. Stops when the angle falls below 1e-12 rad, at a stationary point, or
    // after kMaxEvaluations evaluations.
    constexpr int kMaxEvaluations = 200;
    constexpr double kMinAngle = 1e-12;
    constexpr double kMaxAngle = kPi / 4;
    Ascent ascent(s);
    Vector theta = best_theta, gradient(x.cols()), trial_gradient(x.cols());
    double cost = ascent.cost_and_gradient(theta, gradient);
    double eta = -1.0;
    for (int evaluation = 1; evaluation < kMaxEvaluations; ++evaluation) {
      const Vector tangent = gradient - gradient.dot(theta) * theta;
      const double tangent_norm = tangent.norm();
      if (!(tangent_norm > 1e-15 * gradient.norm())) break;
      if (eta < 0) eta = 0.25 / tangent_norm;  // first step: a quarter radian
      const double angle = std::min(eta * tangent_norm, kMaxAngle);
      if (angle < kMinAngle) break;
      Vector trial = std::cos(angle) * theta + (std::sin(angle) / tangent_norm) * tangent;
      trial /= trial.norm();
      const double trial_cost = ascent.cost_and_gradient(trial, trial_gradient);
      if (trial_cost > cost) {
        theta.swap(trial);
        gradient.swap(trial_gradient);
        cost = trial_cost;
        eta *= 2.0;
      } else {
        eta *= 0.5;
      }
    }
    if (cost > best_cost) {
      best_cost = cost;
      best_theta = theta;
    }
  }
  return MaxSlicedResult{root(best_cost, p), best_theta};
}

}  // namespace odyn::transport
