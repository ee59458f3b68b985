#include "odyn/transport/mmd.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "odyn/core/error.hpp"

namespace odyn::transport {
namespace {

using Eigen::Index;

// Rows per tile of kernel values: a 256 x 256 tile of doubles (512 KiB) stays in L2.
constexpr Index kTile = 256;
// Up to this dimension squared distances are formed from exact coordinate differences; above it
// by the Gram identity on centred clouds (a matrix product, absolute error about eps * spread^2).
constexpr Index kDirectMaxDim = 8;
// Pairs per chunk of the linear-time statistic.
constexpr Index kChunk = 4096;

// Compensated (Neumaier) summation of the tile sums: 10^10 kernel values at n = 10^5.
class Accumulator {
 public:
  void add(double v) {
    const double t = sum_ + v;
    comp_ += std::abs(sum_) >= std::abs(v) ? (sum_ - t) + v : (v - t) + sum_;
    sum_ = t;
  }
  double value() const { return sum_ + comp_; }

 private:
  double sum_ = 0.0, comp_ = 0.0;
};

// A uniform integer in [0, bound), bound >= 1, by rejection on the full 64-bit output, so that the
// draws depend only on std::mt19937_64 (fully specified by the standard), unlike
// std::uniform_int_distribution and std::shuffle.
std::uint64_t uniform_below(std::mt19937_64& rng, std::uint64_t bound) {
  constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
  const std::uint64_t rem = (kMax % bound + 1) % bound;  // 2^64 mod bound
  for (;;) {
    const std::uint64_t v = rng();
    if (rem == 0 || v <= kMax - rem) return v % bound;
  }
}

// Kernel values, in place, from squared distances with bandwidth s (unused for energy), or from
// inner products x.y for the polynomial kernel (x.y / dim + c)^degree.
class KernelMap {
 public:
  KernelMap(const Kernel& kernel, double s, Index dim)
      : kind_(kernel.kind), s_(s), degree_(kernel.degree), offset_(kernel.offset), dim_(static_cast<double>(dim)) {}

  // Whether apply() takes inner products (polynomial) rather than squared distances.
  bool on_inner_products() const { return kind_ == KernelKind::polynomial; }

  template <class Derived>
  void apply(Eigen::ArrayBase<Derived>& r2) const {
    switch (kind_) {
      case KernelKind::gaussian:
        r2 = (r2 * (-0.5 / (s_ * s_))).exp();
        break;
      case KernelKind::laplacian:
        r2 = (r2.sqrt() * (-1.0 / s_)).exp();
        break;
      case KernelKind::imq:
        r2 = (1.0 + r2 * (1.0 / (s_ * s_))).rsqrt();
        break;
      case KernelKind::energy:
        r2 = -r2.sqrt();
        break;
      case KernelKind::polynomial:
        r2 = (r2 * (1.0 / dim_) + offset_).pow(static_cast<double>(degree_));
        break;
    }
  }
  // k(x, x) for the kernels of the distance (not the polynomial one, where it depends on x).
  double at_zero() const { return kind_ == KernelKind::energy ? 0.0 : 1.0; }

 private:
  KernelKind kind_;
  double s_;
  int degree_;
  double offset_;
  double dim_;
};

// Squared distances, or inner products when `inner` (polynomial kernel), between row blocks of two
// clouds A and B (each X or Y).
class Distances {
 public:
  Distances(const PointsRef& x, const PointsRef& y, bool inner)
      : x_(x), y_(y), inner_(inner), gram_(!inner && x.cols() > kDirectMaxDim) {
    if (gram_) {
      // Centring on the pooled mean keeps the cancellation in |a|^2 + |b|^2 - 2 a.b at the scale
      // of the clouds' spread.
      const Eigen::RowVectorXd centre =
          (x.colwise().sum() + y.colwise().sum()) / static_cast<double>(x.rows() + y.rows());
      xc_ = x.rowwise() - centre;
      yc_ = y.rowwise() - centre;
      xn_ = xc_.rowwise().squaredNorm();
      yn_ = yc_.rowwise().squaredNorm();
    }
  }

  // t (ni x nj) = squared distances (inner products when inner) between rows [i0, i0+ni) of A and
  // [j0, j0+nj) of B, where a_is_x / b_is_x choose X or Y.
  void tile(bool a_is_x, Index i0, Index ni, bool b_is_x, Index j0, Index nj, Matrix& t) const {
    t.resize(ni, nj);
    if (inner_) {
      const PointsRef& a = a_is_x ? x_ : y_;
      const PointsRef& b = b_is_x ? x_ : y_;
      t.noalias() = a.middleRows(i0, ni) * b.middleRows(j0, nj).transpose();
      return;
    }
    if (gram_) {
      const Matrix& a = a_is_x ? xc_ : yc_;
      const Matrix& b = b_is_x ? xc_ : yc_;
      const Vector& an = a_is_x ? xn_ : yn_;
      const Vector& bn = b_is_x ? xn_ : yn_;
      t.noalias() = -2.0 * (a.middleRows(i0, ni) * b.middleRows(j0, nj).transpose());
      t.colwise() += an.segment(i0, ni);
      t.rowwise() += bn.segment(j0, nj).transpose();
      t = t.cwiseMax(0.0);
      return;
    }
    for (Index j = 0; j < nj; ++j) {
      auto col = t.col(j).array();
      column(a_is_x, i0, ni, b_is_x, j0 + j, col);
    }
  }

  // The sum of k over a tile as above; on a diagonal tile (A = B, i0 = j0) the i = j terms are
  // left out. Direct differences go column by column (a column of ni values stays in L1 from
  // distance to kernel value to sum); the Gram path forms the tile with a matrix product.
  double kernel_sum(const KernelMap& k, bool a_is_x, Index i0, Index ni, bool b_is_x, Index j0, Index nj,
                    bool diagonal, Matrix& t, Eigen::ArrayXd& col, Eigen::ArrayXd& acc) const {
    if (inner_) {
      // k(x, x) varies with x here: take the diagonal's kernel values out explicitly.
      tile(a_is_x, i0, ni, b_is_x, j0, nj, t);
      auto ta = t.array();
      k.apply(ta);
      return diagonal ? t.sum() - t.diagonal().sum() : t.sum();
    }
    if (gram_) {
      tile(a_is_x, i0, ni, b_is_x, j0, nj, t);
      if (diagonal) t.diagonal().setZero();
      auto ta = t.array();
      k.apply(ta);
    } else {
      acc.setZero(ni);
      col.resize(ni);
      for (Index j = 0; j < nj; ++j) {
        column(a_is_x, i0, ni, b_is_x, j0 + j, col);  // on a diagonal tile, exactly 0 at i = j
        k.apply(col);
        acc += col;
      }
    }
    const double total = gram_ ? t.sum() : acc.sum();
    return diagonal ? total - static_cast<double>(ni) * k.at_zero() : total;
  }

 private:
  // col = squared distances from rows [i0, i0+ni) of A to row jb of B, by exact differences.
  template <class Col>
  void column(bool a_is_x, Index i0, Index ni, bool b_is_x, Index jb, Col& col) const {
    const PointsRef& a = a_is_x ? x_ : y_;
    const PointsRef& b = b_is_x ? x_ : y_;
    col = (a.col(0).segment(i0, ni).array() - b(jb, 0)).square();
    for (Index c = 1; c < a.cols(); ++c) col += (a.col(c).segment(i0, ni).array() - b(jb, c)).square();
  }

  const PointsRef& x_;
  const PointsRef& y_;
  bool inner_;
  bool gram_;
  Matrix xc_, yc_;
  Vector xn_, yn_;
};

// sum_{i,j} k(a_i, b_j) over tiles of kTile x kTile pairs, where A (na rows) and B (nb rows) are
// each X or Y as a_is_x / b_is_x choose. Within one cloud (A = B, na = nb) the i = j terms are left
// out and, k being symmetric, only the tiles with j-block >= i-block are formed, the others
// counting twice.
double tiled_kernel_sum(const Distances& dist, const KernelMap& k, bool a_is_x, Index na, bool b_is_x, Index nb) {
  const bool within = a_is_x == b_is_x;
  Accumulator acc;
  Matrix t;
  Eigen::ArrayXd col, part;
  for (Index i0 = 0; i0 < na; i0 += kTile) {
    const Index ni = std::min(kTile, na - i0);
    for (Index j0 = within ? i0 : 0; j0 < nb; j0 += kTile) {
      const Index nj = std::min(kTile, nb - j0);
      const bool diagonal = within && j0 == i0;
      const double s = dist.kernel_sum(k, a_is_x, i0, ni, b_is_x, j0, nj, diagonal, t, col, part);
      acc.add(within && !diagonal ? 2.0 * s : s);
    }
  }
  return acc.value();
}

void check_samples(const PointsRef& x, const PointsRef& y, const std::string& where) {
  check_point_pair(x, y, where);
  require(x.rows() >= 2, where, "X needs at least 2 points, got " + std::to_string(x.rows()));
  require(y.rows() >= 2, where, "Y needs at least 2 points, got " + std::to_string(y.rows()));
}

// The bandwidth to use: the kernel's, or the median heuristic's when it is 0; 0 for energy and
// polynomial (whose degree and offset are checked here).
double resolve_bandwidth(const PointsRef& x, const PointsRef& y, const Kernel& kernel, const std::string& where) {
  require(std::isfinite(kernel.bandwidth) && kernel.bandwidth >= 0.0, where,
          "the bandwidth must be finite and >= 0 (0 = median heuristic), got " + std::to_string(kernel.bandwidth));
  switch (kernel.kind) {
    case KernelKind::gaussian:
    case KernelKind::laplacian:
    case KernelKind::imq:
      break;
    case KernelKind::energy:
      return 0.0;
    case KernelKind::polynomial:
      require(kernel.degree >= 1, where,
              "the polynomial kernel's degree must be >= 1, got " + std::to_string(kernel.degree));
      require(std::isfinite(kernel.offset) && kernel.offset >= 0.0, where,
              "the polynomial kernel's offset must be finite and >= 0, got " + std::to_string(kernel.offset));
      return 0.0;
    default:
      throw InvalidArgument(where + ": unknown kernel kind");
  }
  if (kernel.bandwidth > 0.0) return kernel.bandwidth;
  const double s = median_heuristic(x, y);
  require(s > 0.0, where,
          "the median heuristic gave bandwidth 0 (most pooled points coincide); pass a positive bandwidth");
  return s;
}

}  // namespace

double median_heuristic(const PointsRef& x, const PointsRef& y, Eigen::Index max_points, std::uint64_t seed) {
  const std::string where = "median_heuristic";
  check_point_pair(x, y, where);
  require(max_points >= 2, where, "max_points must be >= 2, got " + std::to_string(max_points));
  const Index n = x.rows(), total = x.rows() + y.rows();
  // Pooled indices; a partial Fisher-Yates shuffle picks max_points of them when there are more.
  std::vector<Index> pick(static_cast<std::size_t>(total));
  std::iota(pick.begin(), pick.end(), Index{0});
  Index p = total;
  if (total > max_points) {
    std::mt19937_64 rng(seed);
    for (Index i = 0; i < max_points; ++i) {
      const Index j = i + static_cast<Index>(uniform_below(rng, static_cast<std::uint64_t>(total - i)));
      std::swap(pick[static_cast<std::size_t>(i)], pick[static_cast<std::size_t>(j)]);
    }
    p = max_points;
  }
  const Index d = x.cols();
  Matrix z(p, d);
  for (Index i = 0; i < p; ++i) {
    const Index r = pick[static_cast<std::size_t>(i)];
    z.row(i) = r < n ? x.row(r) : y.row(r - n);
  }
  std::vector<double> r;
  r.reserve(static_cast<std::size_t>(p * (p - 1) / 2));
  for (Index j = 1; j < p; ++j) {
    for (Index i = 0; i < j; ++i) r.push_back((z.row(i) - z.row(j)).norm());
  }
  const std::size_t half = r.size() / 2;
  std::nth_element(r.begin(), r.begin() + static_cast<std::ptrdiff_t>(half), r.end());
  const double upper = r[half];
  if (r.size() % 2 == 1) return upper;
  const double lower = *std::max_element(r.begin(), r.begin() + static_cast<std::ptrdiff_t>(half));
  return 0.5 * (lower + upper);
}

double mmd2_unbiased(const PointsRef& x, const PointsRef& y, const Kernel& kernel) {
  const std::string where = "mmd2_unbiased";
  check_samples(x, y, where);
  const double s = resolve_bandwidth(x, y, kernel, where);
  const KernelMap k(kernel, s, x.cols());
  const Distances dist(x, y, k.on_inner_products());
  const Index n = x.rows(), m = y.rows();
  const double dn = static_cast<double>(n), dm = static_cast<double>(m);
  const double sxx = tiled_kernel_sum(dist, k, true, n, true, n);
  const double syy = tiled_kernel_sum(dist, k, false, m, false, m);
  const double sxy = tiled_kernel_sum(dist, k, true, n, false, m);
  return sxx / (dn * (dn - 1.0)) + syy / (dm * (dm - 1.0)) - 2.0 * sxy / (dn * dm);
}

double mmd2_linear(const PointsRef& x, const PointsRef& y, const Kernel& kernel) {
  const std::string where = "mmd2_linear";
  check_samples(x, y, where);
  const double s = resolve_bandwidth(x, y, kernel, where);
  const KernelMap k(kernel, s, x.cols());
  const bool inner = k.on_inner_products();
  const Index pairs = std::min(x.rows(), y.rows()) / 2;
  const Index d = x.cols();
  // Squared distances (inner products for the polynomial kernel) of the four terms of h for a chunk
  // of pairs, from exact differences.
  Eigen::ArrayXd xx, yy, xy, yx;
  Accumulator acc;
  for (Index l0 = 0; l0 < pairs; l0 += kChunk) {
    const Index len = std::min(kChunk, pairs - l0);
    xx.setZero(len);
    yy.setZero(len);
    xy.setZero(len);
    yx.setZero(len);
    for (Index c = 0; c < d; ++c) {
      using Strided = Eigen::Map<const Eigen::ArrayXd, 0, Eigen::InnerStride<2>>;
      const Strided x0(x.col(c).data() + 2 * l0, len), x1(x.col(c).data() + 2 * l0 + 1, len);
      const Strided y0(y.col(c).data() + 2 * l0, len), y1(y.col(c).data() + 2 * l0 + 1, len);
      if (inner) {
        xx += x0 * x1;
        yy += y0 * y1;
        xy += x0 * y1;
        yx += x1 * y0;
      } else {
        xx += (x0 - x1).square();
        yy += (y0 - y1).square();
        xy += (x0 - y1).square();
        yx += (x1 - y0).square();
      }
    }
    k.apply(xx);
    k.apply(yy);
    k.apply(xy);
    k.apply(yx);
    acc.add((xx + yy - xy - yx).sum());
  }
  return acc.value() / static_cast<double>(pairs);
}

MmdTest mmd_permutation_test(const PointsRef& x, const PointsRef& y, const Kernel& kernel, long permutations,
                             std::uint64_t seed) {
  const std::string where = "mmd_permutation_test";
  check_samples(x, y, where);
  require(permutations >= 1, where, "permutations must be >= 1, got " + std::to_string(permutations));
  const double s = resolve_bandwidth(x, y, kernel, where);
  const KernelMap k(kernel, s, x.cols());
  const Index n = x.rows(), m = y.rows(), total = n + m;

  // The pooled kernel matrix with a zero diagonal, its row sums and total.
  Matrix pooled(total, x.cols());
  pooled << x, y;
  const PointsRef pooled_ref(pooled);
  const Distances dist(pooled_ref, pooled_ref, k.on_inner_products());
  Matrix kmat(total, total);
  Matrix t;
  for (Index j0 = 0; j0 < total; j0 += kTile) {
    const Index nj = std::min(kTile, total - j0);
    for (Index i0 = 0; i0 < total; i0 += kTile) {
      const Index ni = std::min(kTile, total - i0);
      dist.tile(true, i0, ni, true, j0, nj, t);
      auto ta = t.array();
      k.apply(ta);
      kmat.block(i0, j0, ni, nj) = t;
    }
  }
  kmat.diagonal().setZero();
  const Vector row_sum = kmat.rowwise().sum();
  const double all = row_sum.sum();
  const double scale = kmat.cwiseAbs().maxCoeff();

  // MMD_u^2 of the split "the first n entries of perm are X": the within-sum of the smaller side
  // by index sums, the cross sum from its row sums, the other within-sum from the total.
  const double dn = static_cast<double>(n), dm = static_cast<double>(m);
  const bool x_small = n <= m;
  const Index first = x_small ? 0 : n, count = x_small ? n : m;
  auto statistic = [&](const std::vector<Index>& perm) {
    double within = 0.0, rows = 0.0;
    for (Index b = first; b < first + count; ++b) {
      const Index jb = perm[static_cast<std::size_t>(b)];
      rows += row_sum(jb);
      const double* col = kmat.col(jb).data();
      double c = 0.0;
      for (Index a = first; a < first + count; ++a) c += col[perm[static_cast<std::size_t>(a)]];
      within += c;
    }
    const double cross = rows - within;
    const double other = all - within - 2.0 * cross;
    const double sxx = x_small ? within : other, syy = x_small ? other : within;
    return sxx / (dn * (dn - 1.0)) + syy / (dm * (dm - 1.0)) - 2.0 * cross / (dn * dm);
  };

  std::vector<Index> perm(static_cast<std::size_t>(total));
  std::iota(perm.begin(), perm.end(), Index{0});
  const double observed = statistic(perm);
  const double threshold = observed - 1e-12 * scale;
  std::mt19937_64 rng(seed);
  long exceed = 0;
  for (long b = 0; b < permutations; ++b) {
    // Fisher-Yates: position i takes a uniform entry of positions 0..i.
    for (Index i = total - 1; i > 0; --i) {
      const auto j = static_cast<Index>(uniform_below(rng, static_cast<std::uint64_t>(i + 1)));
      std::swap(perm[static_cast<std::size_t>(i)], perm[static_cast<std::size_t>(j)]);
    }
    if (statistic(perm) >= threshold) ++exceed;
  }
  return {observed, static_cast<double>(1 + exceed) / static_cast<double>(1 + permutations), permutations, s};
}

}  // namespace odyn::transport
