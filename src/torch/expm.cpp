#include "odyn/torch/expm.hpp"

#include <ATen/Parallel.h>

#include <Eigen/Core>
#include <algorithm>
#include <array>
#include <cmath>
#include <initializer_list>
#include <string>
#include <type_traits>
#include <vector>

#include "odyn/core/error.hpp"
#include "odyn/linalg/expm.hpp"

namespace odyn::torch {
namespace {

using ::torch::Tensor;

// Taylor degrees of linalg::detail::taylor_tail; their thresholds come from FastTaylorTable.
constexpr auto kDegrees = linalg::detail::FastTaylorTable<double>::degrees;

// On one CPU thread the per-slice method is faster up to about this order, the batched one above
// (docs/torch.md).
constexpr int64_t kPerSliceMaxOrder = 12;

// "the matrix" or "matrix [i, j]" (its position in the batch dimensions of `a`).
std::string which(const Tensor& a, int64_t flat) {
  if (a.dim() == 2) return "the matrix";
  std::vector<int64_t> index(a.dim() - 2);
  for (int64_t d = a.dim() - 3; d >= 0; --d) {
    index[d] = flat % a.size(d);
    flat /= a.size(d);
  }
  std::string s = "matrix [";
  for (size_t d = 0; d < index.size(); ++d) s += (d ? ", " : "") + std::to_string(index[d]);
  return s + "]";
}

[[noreturn]] void throw_non_finite(const Tensor& a, int64_t flat) {
  throw InvalidArgument("torch::expm: " + which(a, flat) + " has a non-finite entry");
}

[[noreturn]] void throw_overflow(const Tensor& a, int64_t flat) {
  throw OverflowError("torch::expm: exp of " + which(a, flat) + " overflows " + c10::toString(a.scalar_type()));
}

void validate(const Tensor& a) {
  if (!a.defined()) throw InvalidArgument("torch::expm: undefined tensor");
  if (a.dim() < 2) {
    throw InvalidArgument("torch::expm: expected a tensor of shape [..., n, n], got rank " + std::to_string(a.dim()));
  }
  if (a.size(-1) != a.size(-2)) {
    throw InvalidArgument("torch::expm: expected square matrices, got " + std::to_string(a.size(-2)) + "x" +
                          std::to_string(a.size(-1)));
  }
  const auto type = a.scalar_type();
  if (type != ::torch::kFloat && type != ::torch::kDouble && type != ::torch::kComplexFloat &&
      type != ::torch::kComplexDouble) {
    throw InvalidArgument(std::string("torch::expm: expected float32, float64, complex64 or complex128 entries, got ") +
                          c10::toString(type));
  }
  if (a.requires_grad() && ::torch::GradMode::is_enabled()) {
    throw InvalidArgument("torch::expm: no autograd support; use torch::linalg::matrix_exp for gradients");
  }
}

// ---- per-slice path: odyn::linalg::expm on each matrix ---------------------------------------

// Float matrices are computed in double and rounded once: on the CPU this costs little for tiny
// matrices and gives float results correct to about u_float.
template <int N, class Scalar>
void expm_each(const Tensor& a, const Scalar* in, Scalar* out, int64_t n, int64_t count) {
  using Matrix = Eigen::Matrix<Scalar, N, N, Eigen::RowMajor>;  // torch's layout
  using Work = Eigen::Matrix<double, N, N, Eigen::RowMajor>;
  const int64_t size = n * n;
  const int64_t grain = std::max<int64_t>(1, 4096 / (size * n));
  at::parallel_for(0, count, grain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const Eigen::Map<const Matrix> x(in + i * size, n, n);
      if (!x.allFinite()) throw_non_finite(a, i);
      Eigen::Map<Matrix> y(out + i * size, n, n);
      try {
        y = linalg::expm(Work(x.template cast<double>())).template cast<Scalar>();
      } catch (const OverflowError&) {
        throw_overflow(a, i);
      }
      if constexpr (!std::is_same_v<Scalar, double>) {
        if (!y.allFinite()) throw_overflow(a, i);
      }
    }
  });
}

template <class Scalar>
void expm_each_sized(const Tensor& a, const Scalar* in, Scalar* out, int64_t n, int64_t count) {
  switch (n) {  // fixed sizes: stack storage and unrolled products
    case 2:
      return expm_each<2>(a, in, out, n, count);
    case 3:
      return expm_each<3>(a, in, out, n, count);
    case 4:
      return expm_each<4>(a, in, out, n, count);
    case 5:
      return expm_each<5>(a, in, out, n, count);
    case 6:
      return expm_each<6>(a, in, out, n, count);
    case 7:
      return expm_each<7>(a, in, out, n, count);
    case 8:
      return expm_each<8>(a, in, out, n, count);
    default:
      return expm_each<Eigen::Dynamic>(a, in, out, n, count);
  }
}

Tensor per_slice(const Tensor& a) {
  const Tensor x = a.contiguous();
  Tensor out = ::torch::empty_like(x);
  const int64_t n = a.size(-1);
  const int64_t count = x.numel() / (n * n);
  if (a.scalar_type() == ::torch::kFloat) {
    expm_each_sized(a, x.data_ptr<float>(), out.data_ptr<float>(), n, count);
  } else {
    expm_each_sized(a, x.data_ptr<double>(), out.data_ptr<double>(), n, count);
  }
  return out;
}

// ---- batched path: scaling and squaring in tensor operations ---------------------------------

// The algebra linalg::detail::taylor_tail needs, on [B, n, n] tensors.
struct TensorOps {
  Tensor eye;
  Tensor lin(double c0, std::initializer_list<std::pair<const Tensor*, double>> terms) const {
    Tensor r = *terms.begin()->first * terms.begin()->second;
    for (auto t = terms.begin() + 1; t != terms.end(); ++t) r.add_(*t->first, t->second);
    if (c0 != 0) r.add_(eye, c0);
    return r;
  }
  Tensor mul(const Tensor& x, const Tensor& y) const { return ::torch::matmul(x, y); }
  void mul_add(Tensor& r, const Tensor& x, const Tensor& y) const { r.add_(::torch::matmul(x, y)); }
};

// T_m(A) = sum_{k<=m} A^k/k! from A, A^2 and A^3 (Bader, Blanes & Casas 2019), the identity added last.
Tensor taylor(int m, const Tensor& a, const Tensor& a2, const Tensor& a3) {
  const TensorOps ops{::torch::eye(a.size(-1), a.options())};
  return linalg::detail::taylor_tail(m, a, a2, a3, ops).add_(ops.eye);
}

// ||X||_1 (largest column sum) of each matrix of a [B, n, n] tensor, in float64.
Tensor one_norm(const Tensor& x) {
  return x.abs().to(::torch::kDouble).sum(-2).amax(-1);
}

// How many entries of a 1-D int64 tensor equal each of 0, ..., bins - 1 (bincount would
// synchronize with the host on CUDA).
Tensor count_values(const Tensor& values, int64_t bins) {
  return ::torch::zeros({bins}, values.options()).scatter_add_(0, values, ::torch::ones_like(values));
}

// 2^e for a float64 tensor of exponents, as a [B, 1, 1] tensor of x's real type.
Tensor pow2(const Tensor& e, const Tensor& x) {
  return ::torch::exp2(e).to(c10::toRealValueType(x.scalar_type())).view({-1, 1, 1});
}

Tensor batched(const Tensor& a) {
  const ::torch::NoGradGuard no_grad;
  const at::NoTF32Guard no_tf32;  // full float32 precision in cuBLAS
  const int64_t n = a.size(-1);
  const Tensor x = a.reshape({-1, n, n});
  const int64_t count = x.size(0);
  const bool single = c10::toRealValueType(a.scalar_type()) == ::torch::kFloat;
  std::array<double, kDegrees.size()> theta;
  for (std::size_t j = 0; j < theta.size(); ++j) {
    theta[j] = single ? double(linalg::detail::FastTaylorTable<float>::get().theta[j])
                      : linalg::detail::FastTaylorTable<double>::get().theta[j];
  }
  const double theta18 = theta.back();
  // The largest scaling needed: 2^-s_max is the smallest subnormal, and n * max / 2^s_max <= theta18.
  const int64_t s_max = single ? 149 : 1074;
  const int64_t k_max = single ? 41 : 340;  // 8^k stays finite

  // s0: squarings that bring ||A||_1 down to theta18 (ceil(log2(0)) = -inf counts as 0, an overflowing
  // norm as s_max; NaN only comes with a non-finite entry, reported below).
  const Tensor s0 =
      ::torch::ceil(::torch::log2(one_norm(x) / theta18)).nan_to_num(0.0, double(s_max), 0.0).clamp(0, s_max);
  const Tensor x0 = x * pow2(-s0, x);
  const Tensor x2 = ::torch::matmul(x0, x0);
  const Tensor x3 = ::torch::matmul(x2, x0);
  // alpha = max(||X^2||^(1/2), ||X^3||^(1/3)) <= ||X||_1 bounds the truncation error in place of
  // ||X||_1 (Al-Mohy & Higham 2009, Theorem 4.2 with p = 2), so a non-normal matrix can give back
  // k of its s0 squarings.
  const Tensor alpha = ::torch::maximum(one_norm(x2).sqrt(), one_norm(x3).pow(1.0 / 3));
  const Tensor k =
      ::torch::floor(::torch::log2(theta18 / alpha)).nan_to_num(0.0, double(k_max), 0.0).clamp(0, k_max).minimum(s0);
  const Tensor s = s0 - k;
  const Tensor alpha_s = alpha * ::torch::exp2(k);
  // Degree index into kDegrees: the smallest m with alpha <= theta_m; 18 whenever s > 0.
  Tensor degree = ::torch::zeros({count}, x.options().dtype(::torch::kLong));
  for (size_t j = 0; j + 1 < theta.size(); ++j) degree.add_((alpha_s > theta[j]).to(::torch::kLong));
  degree.masked_fill_(s > 0, int64_t(kDegrees.size() - 1));
  const Tensor s_long = s.to(::torch::kLong);

  // The one read before the evaluation: a non-finite flag, the size of each degree group and the
  // number of matrices per scaling s.
  const Tensor summary = ::torch::cat({(~::torch::isfinite(x)).any().to(::torch::kLong).view({1}),
                                       count_values(degree, int64_t(kDegrees.size())), count_values(s_long, s_max + 1)})
                             .to(::torch::kCPU);
  const int64_t* host = summary.data_ptr<int64_t>();
  if (host[0] != 0) {
    throw_non_finite(a, (~::torch::isfinite(x)).flatten(1).any(1).nonzero()[0][0].item<int64_t>());
  }
  const int64_t* group = host + 1;
  const int64_t* per_scaling = host + 1 + kDegrees.size();
  int64_t squarings = 0;
  for (int64_t j = 0; j <= s_max; ++j) {
    if (per_scaling[j] > 0) squarings = j;
  }
  const bool one_degree = std::count_if(group, group + kDegrees.size(), [](int64_t c) { return c > 0; }) == 1;
  const bool one_scaling = per_scaling[squarings] == count;

  // Sort by (s, degree), descending: degree 18 comes first, with the largest s first, so each group
  // and each squaring step works on a contiguous range.
  Tensor order;
  Tensor y0 = x * pow2(-s, x), y2 = x2 * pow2(2 * k, x), y3 = x3 * pow2(3 * k, x);
  if (!(one_degree && one_scaling)) {
    order = std::get<1>(::torch::sort(s_long * 8 + degree, int64_t{0}, true));
    y0 = y0.index_select(0, order);
    y2 = y2.index_select(0, order);
    y3 = y3.index_select(0, order);
  }
  Tensor e = one_degree ? Tensor() : ::torch::empty_like(y0);
  for (int64_t g = kDegrees.size() - 1, begin = 0; g >= 0; --g) {
    if (group[g] == 0) continue;
    if (one_degree) {
      e = taylor(kDegrees[g], y0, y2, y3);
    } else {
      e.narrow(0, begin, group[g])
          .copy_(taylor(kDegrees[g], y0.narrow(0, begin, group[g]), y2.narrow(0, begin, group[g]),
                        y3.narrow(0, begin, group[g])));
    }
    begin += group[g];
  }
  // Squaring j applies to the matrices with s > j: the first `remaining` ones.
  int64_t remaining = count - per_scaling[0];
  for (int64_t j = 0; j < squarings; ++j) {
    Tensor head = e.narrow(0, 0, remaining);
    head.copy_(::torch::matmul(head, head));
    remaining -= per_scaling[j + 1];
  }
  if (order.defined()) e = ::torch::empty_like(e).index_copy_(0, order, e);

  if (!::torch::isfinite(e).all().item<bool>()) {
    throw_overflow(a, (~::torch::isfinite(e)).flatten(1).any(1).nonzero()[0][0].item<int64_t>());
  }
  return e.reshape(a.sizes());
}

}  // namespace

Tensor expm(const Tensor& a, ExpmMethod method) {
  validate(a);
  const bool on_cpu = a.device().is_cpu();
  const bool is_complex = a.is_complex();
  if (method == ExpmMethod::per_slice && (!on_cpu || is_complex)) {
    throw InvalidArgument("torch::expm: the per-slice method needs a real CPU tensor, got " +
                          std::string(c10::toString(a.scalar_type())) + " on " + a.device().str());
  }
  if (a.numel() == 0) return ::torch::empty_like(a, ::torch::MemoryFormat::Contiguous);
  if (a.size(-1) == 1) {
    const Tensor x = a.reshape({-1, 1});
    if (!::torch::isfinite(x).all().item<bool>())
      throw_non_finite(a, (~::torch::isfinite(x)).nonzero()[0][0].item<int64_t>());
    const Tensor e = ::torch::exp(x);
    if (!::torch::isfinite(e).all().item<bool>())
      throw_overflow(a, (~::torch::isfinite(e)).nonzero()[0][0].item<int64_t>());
    return e.reshape(a.sizes());
  }
  if (method == ExpmMethod::per_slice ||
      (method == ExpmMethod::automatic && on_cpu && !is_complex && a.size(-1) <= kPerSliceMaxOrder)) {
    return per_slice(a);
  }
  return batched(a);
}

}  // namespace odyn::torch
