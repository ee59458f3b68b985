// Backward-error thresholds of the exponential's approximants, derived from their error series.
#include <boost/multiprecision/cpp_bin_float.hpp>
#include <map>
#include <mutex>
#include <tuple>
#include <vector>

#include "odyn/core/error.hpp"
#include "odyn/linalg/expm.hpp"

namespace odyn::linalg::detail {
namespace {

// 150 decimal digits: the series coefficients of degree 2m+1 are as small as 1e-100 for m = 30
// and arise from cancellation among terms of order one.
using Wide = boost::multiprecision::number<boost::multiprecision::cpp_bin_float<150>>;

// Coefficients of log p(x) = sum_k l_k x^k up to degree `terms` - 1, for a polynomial with p_0 = 1,
// from (log p)' = p' / p (power-series division) and term-by-term integration.
std::vector<Wide> log_series(const std::vector<Wide>& p, int terms) {
  std::vector<Wide> dp(terms, Wide(0)), q(terms, Wide(0)), l(terms, Wide(0));
  for (int k = 0; k + 1 < static_cast<int>(p.size()) && k < terms; ++k) dp[k] = p[k + 1] * (k + 1);
  for (int k = 0; k < terms; ++k) {  // q = dp / p
    Wide sum = dp[k];
    for (int j = 1; j <= k && j < static_cast<int>(p.size()); ++j) sum -= p[j] * q[k - j];
    q[k] = sum;
  }
  for (int k = 1; k < terms; ++k) l[k] = q[k - 1] / k;
  return l;
}

// The coefficients c_k of h(x) = log(e^{-x} r(x)), where r is the approximant; h(X) is the
// backward error: r(X) = exp(X + h(X)).
std::vector<Wide> error_series(Approximant kind, int m, int terms) {
  std::vector<Wide> h(terms, Wide(0));
  if (kind == Approximant::pade) {  // r = p(x) / p(-x), p_j = (2m-j)! m! / ((2m)! j! (m-j)!)
    std::vector<Wide> p(m + 1);
    p[0] = 1;
    for (int j = 1; j <= m; ++j) p[j] = p[j - 1] * (m - j + 1) / (Wide(j) * (2 * m - j + 1));
    const std::vector<Wide> l = log_series(p, terms);
    for (int k = 1; k < terms; k += 2) h[k] = 2 * l[k];  // log p(x) - log p(-x) keeps odd terms twice
  } else {                                               // r = sum_{j <= m} x^j / j!
    std::vector<Wide> p(m + 1);
    p[0] = 1;
    for (int j = 1; j <= m; ++j) p[j] = p[j - 1] / j;
    h = log_series(p, terms);
  }
  h[1] -= 1;
  return h;
}

mp50 compute_theta(Approximant kind, int m, const mp50& u) {
  const int first = kind == Approximant::pade ? 2 * m + 1 : m + 1;  // lowest nonzero error term
  const int terms = first + 200;
  const std::vector<Wide> c = error_series(kind, m, terms);
  // Relative backward-error bound: sum_{k >= first} |c_k| x^{k-1}, increasing in x. Bisect for = u.
  const auto bound = [&](const Wide& x) {
    Wide sum = 0, xp = pow(x, first - 1);
    for (int k = first; k < terms; ++k, xp *= x) sum += abs(c[k]) * xp;
    return sum;
  };
  const Wide target(u);
  Wide lo = 0, hi = 1;
  while (bound(hi) < target) hi *= 2;
  for (int it = 0; it < 120; ++it) {
    const Wide mid = (lo + hi) / 2;
    (bound(mid) < target ? lo : hi) = mid;
  }
  return mp50(lo);
}

}  // namespace

mp50 backward_error_theta(Approximant kind, int m, const mp50& u) {
  if (m < 1 || m > 60) throw InvalidArgument("backward_error_theta: degree must be in [1, 60]");
  static std::mutex mutex;
  static std::map<std::tuple<int, int, mp50>, mp50> cache;
  const std::lock_guard<std::mutex> lock(mutex);
  const auto key = std::make_tuple(static_cast<int>(kind), m, u);
  auto it = cache.find(key);
  if (it == cache.end()) it = cache.emplace(key, compute_theta(kind, m, u)).first;
  return it->second;
}

}  // namespace odyn::linalg::detail
