// LibTorch tensors as Boost.Odeint states: one tensor, or a list of parameter tensors.
//
// tensor_algebra applies an operation to whole tensors (as odeint's vector_space_algebra does for
// Eigen vectors) and, for a TensorList, to the tensors at the same position in every list;
// tensor_operations are odeint's operations (scale_sum1..14, scale_sum_swap2, scale, rel_error,
// default_rel_error) as in-place tensor kernels. Nothing here reads a tensor's values on the host
// except the max-norm behind error control (vector_space_norm_inf), which synchronises once per
// error estimate, so fixed-step steppers run on CUDA without a host synchronisation per step.
// Operations run in no-grad mode, so parameters that require a gradient can be the state itself.
// An output may be the same tensor as any input; other overlaps of storage are not supported.
// Concepts and formulas: Boost.Odeint's Algebra and Operations (Ahnert & Mulansky, "Odeint -
// solving ordinary differential equations in C++", AIP Conf. Proc. 1389, 2011).
// The dispatcher, resizing, copy and state-wrapper specialisations below make the default stepper
// types work: odeint::runge_kutta4<torch::Tensor>, odeint::runge_kutta_dopri5<odyn::torch::TensorList>.
#pragma once

#include <torch/torch.h>

#include <array>
#include <boost/numeric/odeint.hpp>
#include <cstddef>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include "odyn/core/error.hpp"

namespace odyn::torch {

// An odeint state made of several tensors of any shapes (a network's parameters, for example).
// The tensors at the same position in two lists must have the same shape and device.
struct TensorList {
  std::vector<::torch::Tensor> tensors;
};

namespace detail {

inline void check_defined(const ::torch::Tensor& t, const char* where) {
  if (!t.defined()) throw InvalidArgument(std::string(where) + ": undefined tensor in an odeint state");
}

// Throws unless `b` has the shape and device of `a`.
inline void check_alike(const ::torch::Tensor& a, const ::torch::Tensor& b, const char* where) {
  check_defined(b, where);
  if (a.sizes() != b.sizes()) {
    throw InvalidArgument(std::string(where) + ": tensors of shapes " + c10::str(a.sizes()) + " and " +
                          c10::str(b.sizes()) + " in one operation");
  }
  if (a.device() != b.device()) {
    throw InvalidArgument(std::string(where) + ": tensors on devices " + a.device().str() + " and " + b.device().str() +
                          " in one operation");
  }
}

// A new contiguous tensor with the shape, dtype and device of `t`, without autograd history.
inline ::torch::Tensor empty_like_state(const ::torch::Tensor& t) {
  return ::torch::empty(t.sizes(), t.options().requires_grad(false));
}

inline bool same_layout(const ::torch::Tensor& a, const ::torch::Tensor& b) {
  return a.defined() && b.defined() && a.sizes() == b.sizes() && a.dtype() == b.dtype() && a.device() == b.device();
}

// out = sum_k alpha[k] * x[k], evaluated left to right as odeint's default_operations do.
template <std::size_t N>
void scale_sum_into(::torch::Tensor& out, const std::array<double, N>& alpha,
                    const std::array<const ::torch::Tensor*, N>& x) {
  static_assert(N >= 1, "scale_sum_into needs at least one term");
  bool aliased = false;
  for (std::size_t k = 1; k < N; ++k) aliased = aliased || out.is_same(*x[k]);
  // A later term sharing out's storage would be overwritten by the first product.
  ::torch::Tensor target = aliased ? empty_like_state(out) : out;
  if (target.is_same(*x[0])) {
    if (alpha[0] != 1.0) target.mul_(alpha[0]);
  } else if (alpha[0] == 1.0) {
    target.copy_(*x[0]);
  } else {
    ::at::mul_out(target, *x[0], alpha[0]);
  }
  for (std::size_t k = 1; k < N; ++k) target.add_(*x[k], alpha[k]);
  if (aliased) out.copy_(target);
}

// Operation t1 = sum_k alpha_k t_{k+1}, odeint's scale_sumN for tensors.
template <class... Fac>
struct ScaleSum {
  static_assert((std::is_arithmetic_v<Fac> && ...), "tensor_operations: scale factors must be real numbers");
  static constexpr std::size_t size = sizeof...(Fac);
  std::array<double, size> alpha;

  explicit ScaleSum(Fac... a) : alpha{static_cast<double>(a)...} {}

  template <class... T>
  void operator()(::torch::Tensor& t1, const T&... t) const {
    static_assert(sizeof...(T) == size, "tensor_operations: scale_sum called with the wrong number of tensors");
    const ::torch::NoGradGuard no_grad;
    scale_sum_into<size>(t1, alpha, {&t...});
  }

  using result_type = void;
};

}  // namespace detail

// Boost.Odeint's Operations concept on tensors (the formulas of odeint's default_operations,
// computed in place). Each operation acts on one tensor; tensor_algebra maps it over lists.
struct tensor_operations {
  template <class F1 = double, class F2 = F1>
  using scale_sum2 = detail::ScaleSum<F1, F2>;
  template <class F1 = double>
  using scale_sum1 = detail::ScaleSum<F1>;
  template <class F1 = double, class F2 = F1, class F3 = F2>
  using scale_sum3 = detail::ScaleSum<F1, F2, F3>;
  template <class F1 = double, class F2 = F1, class F3 = F2, class F4 = F3>
  using scale_sum4 = detail::ScaleSum<F1, F2, F3, F4>;
  template <class F1 = double, class F2 = F1, class F3 = F2, class F4 = F3, class F5 = F4>
  using scale_sum5 = detail::ScaleSum<F1, F2, F3, F4, F5>;
  template <class F1 = double, class F2 = F1, class F3 = F2, class F4 = F3, class F5 = F4, class F6 = F5>
  using scale_sum6 = detail::ScaleSum<F1, F2, F3, F4, F5, F6>;
  template <class F1 = double, class F2 = F1, class F3 = F2, class F4 = F3, class F5 = F4, class F6 = F5, class F7 = F6>
  using scale_sum7 = detail::ScaleSum<F1, F2, F3, F4, F5, F6, F7>;
  template <class F1 = double, class F2 = F1, class F3 = F2, class F4 = F3, class F5 = F4, class F6 = F5, class F7 = F6,
            class F8 = F7>
  using scale_sum8 = detail::ScaleSum<F1, F2, F3, F4, F5, F6, F7, F8>;
  template <class F1 = double, class F2 = F1, class F3 = F2, class F4 = F3, class F5 = F4, class F6 = F5, class F7 = F6,
            class F8 = F7, class F9 = F8>
  using scale_sum9 = detail::ScaleSum<F1, F2, F3, F4, F5, F6, F7, F8, F9>;
  template <class F1 = double, class F2 = F1, class F3 = F2, class F4 = F3, class F5 = F4, class F6 = F5, class F7 = F6,
            class F8 = F7, class F9 = F8, class F10 = F9>
  using scale_sum10 = detail::ScaleSum<F1, F2, F3, F4, F5, F6, F7, F8, F9, F10>;
  template <class F1 = double, class F2 = F1, class F3 = F2, class F4 = F3, class F5 = F4, class F6 = F5, class F7 = F6,
            class F8 = F7, class F9 = F8, class F10 = F9, class F11 = F10>
  using scale_sum11 = detail::ScaleSum<F1, F2, F3, F4, F5, F6, F7, F8, F9, F10, F11>;
  template <class F1 = double, class F2 = F1, class F3 = F2, class F4 = F3, class F5 = F4, class F6 = F5, class F7 = F6,
            class F8 = F7, class F9 = F8, class F10 = F9, class F11 = F10, class F12 = F11>
  using scale_sum12 = detail::ScaleSum<F1, F2, F3, F4, F5, F6, F7, F8, F9, F10, F11, F12>;
  template <class F1 = double, class F2 = F1, class F3 = F2, class F4 = F3, class F5 = F4, class F6 = F5, class F7 = F6,
            class F8 = F7, class F9 = F8, class F10 = F9, class F11 = F10, class F12 = F11, class F13 = F12>
  using scale_sum13 = detail::ScaleSum<F1, F2, F3, F4, F5, F6, F7, F8, F9, F10, F11, F12, F13>;
  template <class F1 = double, class F2 = F1, class F3 = F2, class F4 = F3, class F5 = F4, class F6 = F5, class F7 = F6,
            class F8 = F7, class F9 = F8, class F10 = F9, class F11 = F10, class F12 = F11, class F13 = F12,
            class F14 = F13>
  using scale_sum14 = detail::ScaleSum<F1, F2, F3, F4, F5, F6, F7, F8, F9, F10, F11, F12, F13, F14>;

  // t1 = alpha t1.
  template <class F1 = double>
  struct scale {
    const double alpha;
    explicit scale(F1 a) : alpha(static_cast<double>(a)) {}
    void operator()(::torch::Tensor& t1) const {
      const ::torch::NoGradGuard no_grad;
      t1.mul_(alpha);
    }
    using result_type = void;
  };

  // (t1, t2) = (alpha1 t2 + alpha2 t3, t1).
  template <class F1 = double, class F2 = F1>
  struct scale_sum_swap2 {
    const double alpha1, alpha2;
    scale_sum_swap2(F1 a1, F2 a2) : alpha1(static_cast<double>(a1)), alpha2(static_cast<double>(a2)) {}
    void operator()(::torch::Tensor& t1, ::torch::Tensor& t2, const ::torch::Tensor& t3) const {
      const ::torch::NoGradGuard no_grad;
      const ::torch::Tensor old = t1.clone();
      detail::scale_sum_into<2>(t1, {alpha1, alpha2}, {&t2, &t3});
      t2.copy_(old);
    }
    using result_type = void;
  };

  // err = |err| / (eps_abs + eps_rel (a_x |x| + a_dxdt |dxdt|)), element by element, with
  // a_dxdt already multiplied by |dt| (odeint's default_error_checker).
  template <class F1 = double>
  struct rel_error {
    const double eps_abs, eps_rel, a_x, a_dxdt;
    rel_error(F1 eps_abs_, F1 eps_rel_, F1 a_x_, F1 a_dxdt_)
        : eps_abs(static_cast<double>(eps_abs_)),
          eps_rel(static_cast<double>(eps_rel_)),
          a_x(static_cast<double>(a_x_)),
          a_dxdt(static_cast<double>(a_dxdt_)) {}
    void operator()(::torch::Tensor& err, const ::torch::Tensor& x, const ::torch::Tensor& dxdt) const {
      const ::torch::NoGradGuard no_grad;
      ::torch::Tensor scale = x.abs().mul_(a_x);
      scale.add_(dxdt.abs(), a_dxdt).mul_(eps_rel).add_(eps_abs);
      err.abs_().div_(scale);
    }
    using result_type = void;
  };

  // err = |err| / (eps_abs + eps_rel max(|x_old|, |x|)), element by element (Rosenbrock control).
  template <class F1 = double>
  struct default_rel_error {
    const double eps_abs, eps_rel;
    default_rel_error(F1 eps_abs_, F1 eps_rel_)
        : eps_abs(static_cast<double>(eps_abs_)), eps_rel(static_cast<double>(eps_rel_)) {}
    void operator()(::torch::Tensor& err, const ::torch::Tensor& x_old, const ::torch::Tensor& x) const {
      const ::torch::NoGradGuard no_grad;
      ::torch::Tensor scale = ::torch::maximum(x_old.abs(), x.abs()).mul_(eps_rel).add_(eps_abs);
      err.abs_().div_(scale);
    }
    using result_type = void;
  };
};

// Boost.Odeint's Algebra concept on torch::Tensor and TensorList states: for_eachN(s1, ..., sN, op)
// calls op on the N tensors (checked to share shape and device) or on the N tensors at each list
// position; norm_inf is vector_space_norm_inf (max |entry|, one host synchronisation).
struct tensor_algebra {
  template <class Op, class... S>
  static void apply(Op&& op, S&... s) {
    if constexpr ((std::is_same_v<std::remove_const_t<S>, TensorList> && ...)) {
      const auto& first = std::get<0>(std::tie(s...)).tensors;
      const std::size_t n = first.size();
      if (((s.tensors.size() != n) || ...)) {
        throw InvalidArgument("odyn::torch::tensor_algebra: tensor lists of different lengths in one operation");
      }
      for (std::size_t i = 0; i < n; ++i) {
        detail::check_defined(first[i], "odyn::torch::tensor_algebra");
        (detail::check_alike(first[i], s.tensors[i], "odyn::torch::tensor_algebra"), ...);
        op(s.tensors[i]...);
      }
    } else {
      static_assert((std::is_same_v<std::remove_const_t<S>, ::torch::Tensor> && ...),
                    "tensor_algebra: states must all be torch::Tensor or all odyn::torch::TensorList");
      const ::torch::Tensor& first = std::get<0>(std::tie(s...));
      detail::check_defined(first, "odyn::torch::tensor_algebra");
      (detail::check_alike(first, s, "odyn::torch::tensor_algebra"), ...);
      op(s...);
    }
  }

  template <class S1, class Op>
  static void for_each1(S1& s1, Op op) {
    apply(op, s1);
  }
  template <class S1, class S2, class Op>
  static void for_each2(S1& s1, S2& s2, Op op) {
    apply(op, s1, s2);
  }
  template <class S1, class S2, class S3, class Op>
  static void for_each3(S1& s1, S2& s2, S3& s3, Op op) {
    apply(op, s1, s2, s3);
  }
  template <class S1, class S2, class S3, class S4, class Op>
  static void for_each4(S1& s1, S2& s2, S3& s3, S4& s4, Op op) {
    apply(op, s1, s2, s3, s4);
  }
  template <class S1, class S2, class S3, class S4, class S5, class Op>
  static void for_each5(S1& s1, S2& s2, S3& s3, S4& s4, S5& s5, Op op) {
    apply(op, s1, s2, s3, s4, s5);
  }
  template <class S1, class S2, class S3, class S4, class S5, class S6, class Op>
  static void for_each6(S1& s1, S2& s2, S3& s3, S4& s4, S5& s5, S6& s6, Op op) {
    apply(op, s1, s2, s3, s4, s5, s6);
  }
  template <class S1, class S2, class S3, class S4, class S5, class S6, class S7, class Op>
  static void for_each7(S1& s1, S2& s2, S3& s3, S4& s4, S5& s5, S6& s6, S7& s7, Op op) {
    apply(op, s1, s2, s3, s4, s5, s6, s7);
  }
  template <class S1, class S2, class S3, class S4, class S5, class S6, class S7, class S8, class Op>
  static void for_each8(S1& s1, S2& s2, S3& s3, S4& s4, S5& s5, S6& s6, S7& s7, S8& s8, Op op) {
    apply(op, s1, s2, s3, s4, s5, s6, s7, s8);
  }
  template <class S1, class S2, class S3, class S4, class S5, class S6, class S7, class S8, class S9, class Op>
  static void for_each9(S1& s1, S2& s2, S3& s3, S4& s4, S5& s5, S6& s6, S7& s7, S8& s8, S9& s9, Op op) {
    apply(op, s1, s2, s3, s4, s5, s6, s7, s8, s9);
  }
  template <class S1, class S2, class S3, class S4, class S5, class S6, class S7, class S8, class S9, class S10,
            class Op>
  static void for_each10(S1& s1, S2& s2, S3& s3, S4& s4, S5& s5, S6& s6, S7& s7, S8& s8, S9& s9, S10& s10, Op op) {
    apply(op, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10);
  }
  template <class S1, class S2, class S3, class S4, class S5, class S6, class S7, class S8, class S9, class S10,
            class S11, class Op>
  static void for_each11(S1& s1, S2& s2, S3& s3, S4& s4, S5& s5, S6& s6, S7& s7, S8& s8, S9& s9, S10& s10, S11& s11,
                         Op op) {
    apply(op, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11);
  }
  template <class S1, class S2, class S3, class S4, class S5, class S6, class S7, class S8, class S9, class S10,
            class S11, class S12, class Op>
  static void for_each12(S1& s1, S2& s2, S3& s3, S4& s4, S5& s5, S6& s6, S7& s7, S8& s8, S9& s9, S10& s10, S11& s11,
                         S12& s12, Op op) {
    apply(op, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11, s12);
  }
  template <class S1, class S2, class S3, class S4, class S5, class S6, class S7, class S8, class S9, class S10,
            class S11, class S12, class S13, class Op>
  static void for_each13(S1& s1, S2& s2, S3& s3, S4& s4, S5& s5, S6& s6, S7& s7, S8& s8, S9& s9, S10& s10, S11& s11,
                         S12& s12, S13& s13, Op op) {
    apply(op, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11, s12, s13);
  }
  template <class S1, class S2, class S3, class S4, class S5, class S6, class S7, class S8, class S9, class S10,
            class S11, class S12, class S13, class S14, class Op>
  static void for_each14(S1& s1, S2& s2, S3& s3, S4& s4, S5& s5, S6& s6, S7& s7, S8& s8, S9& s9, S10& s10, S11& s11,
                         S12& s12, S13& s13, S14& s14, Op op) {
    apply(op, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11, s12, s13, s14);
  }
  template <class S1, class S2, class S3, class S4, class S5, class S6, class S7, class S8, class S9, class S10,
            class S11, class S12, class S13, class S14, class S15, class Op>
  static void for_each15(S1& s1, S2& s2, S3& s3, S4& s4, S5& s5, S6& s6, S7& s7, S8& s8, S9& s9, S10& s10, S11& s11,
                         S12& s12, S13& s13, S14& s14, S15& s15, Op op) {
    apply(op, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11, s12, s13, s14, s15);
  }

  template <class S>
  static double norm_inf(const S& s) {
    return boost::numeric::odeint::vector_space_norm_inf<S>()(s);
  }
};

}  // namespace odyn::torch

namespace boost::numeric::odeint {

// max_i |x_i| over a tensor (0 for an empty one) as a double: one host synchronisation. NaN entries
// give NaN.
template <>
struct vector_space_norm_inf<::torch::Tensor> {
  using result_type = double;
  double operator()(const ::torch::Tensor& x) const {
    odyn::torch::detail::check_defined(x, "odyn::torch::tensor_algebra::norm_inf");
    if (x.numel() == 0) return 0.0;
    const ::torch::NoGradGuard no_grad;
    return x.abs().max().item<double>();
  }
};

// max over all entries of all tensors, reduced on the device: one host synchronisation per call.
template <>
struct vector_space_norm_inf<odyn::torch::TensorList> {
  using result_type = double;
  double operator()(const odyn::torch::TensorList& x) const {
    const ::torch::NoGradGuard no_grad;
    std::vector<::torch::Tensor> maxima;
    maxima.reserve(x.tensors.size());
    for (const ::torch::Tensor& t : x.tensors) {
      odyn::torch::detail::check_defined(t, "odyn::torch::tensor_algebra::norm_inf");
      if (t.numel() > 0) maxima.push_back(t.abs().max().to(::torch::kFloat64));
    }
    if (maxima.empty()) return 0.0;
    for (const ::torch::Tensor& m : maxima) {
      if (m.device() != maxima.front().device()) {
        throw odyn::InvalidArgument("odyn::torch::tensor_algebra::norm_inf: tensors on different devices in one list");
      }
    }
    return ::torch::stack(maxima).max().item<double>();
  }
};

template <>
struct algebra_dispatcher<::torch::Tensor> {
  using algebra_type = odyn::torch::tensor_algebra;
};
template <>
struct algebra_dispatcher<odyn::torch::TensorList> {
  using algebra_type = odyn::torch::tensor_algebra;
};
template <>
struct operations_dispatcher<::torch::Tensor> {
  using operations_type = odyn::torch::tensor_operations;
};
template <>
struct operations_dispatcher<odyn::torch::TensorList> {
  using operations_type = odyn::torch::tensor_operations;
};

template <>
struct is_resizeable<::torch::Tensor> : boost::true_type {};
template <>
struct is_resizeable<odyn::torch::TensorList> : boost::true_type {};

// Same shape, dtype and device.
template <>
struct same_size_impl<::torch::Tensor, ::torch::Tensor> {
  static bool same_size(const ::torch::Tensor& a, const ::torch::Tensor& b) {
    return odyn::torch::detail::same_layout(a, b);
  }
};
template <>
struct same_size_impl<odyn::torch::TensorList, odyn::torch::TensorList> {
  static bool same_size(const odyn::torch::TensorList& a, const odyn::torch::TensorList& b) {
    if (a.tensors.size() != b.tensors.size()) return false;
    for (std::size_t i = 0; i < a.tensors.size(); ++i) {
      if (!odyn::torch::detail::same_layout(a.tensors[i], b.tensors[i])) return false;
    }
    return true;
  }
};

// x1 becomes a new tensor (or list of tensors) of x2's shapes, dtype and device; contents unset.
template <>
struct resize_impl<::torch::Tensor, ::torch::Tensor> {
  static void resize(::torch::Tensor& x1, const ::torch::Tensor& x2) {
    odyn::torch::detail::check_defined(x2, "odyn::torch resize");
    x1 = odyn::torch::detail::empty_like_state(x2);
  }
};
template <>
struct resize_impl<odyn::torch::TensorList, odyn::torch::TensorList> {
  static void resize(odyn::torch::TensorList& x1, const odyn::torch::TensorList& x2) {
    x1.tensors.resize(x2.tensors.size());
    for (std::size_t i = 0; i < x2.tensors.size(); ++i) {
      if (odyn::torch::detail::same_layout(x1.tensors[i], x2.tensors[i])) continue;
      odyn::torch::detail::check_defined(x2.tensors[i], "odyn::torch resize");
      x1.tensors[i] = odyn::torch::detail::empty_like_state(x2.tensors[i]);
    }
  }
};

// Copies values into `to`'s own storage (assignment would only share the handle, so the caller's
// tensor, and every other reference to it, would stop following the integration).
template <>
struct copy_impl<::torch::Tensor, ::torch::Tensor> {
  static void copy(const ::torch::Tensor& from, ::torch::Tensor& to) {
    if (from.is_same(to)) return;
    if (!odyn::torch::detail::same_layout(from, to)) resize_impl<::torch::Tensor, ::torch::Tensor>::resize(to, from);
    const ::torch::NoGradGuard no_grad;
    to.copy_(from);
  }
};
template <>
struct copy_impl<odyn::torch::TensorList, odyn::torch::TensorList> {
  static void copy(const odyn::torch::TensorList& from, odyn::torch::TensorList& to) {
    if (to.tensors.size() != from.tensors.size()) to.tensors.resize(from.tensors.size());
    for (std::size_t i = 0; i < from.tensors.size(); ++i) {
      copy_impl<::torch::Tensor, ::torch::Tensor>::copy(from.tensors[i], to.tensors[i]);
    }
  }
};

// Steppers keep their work states in state_wrapper; a copied stepper gets its own tensors instead
// of sharing storage with the original.
template <>
struct state_wrapper<::torch::Tensor> {
  using state_wrapper_type = state_wrapper<::torch::Tensor>;
  ::torch::Tensor m_v;

  state_wrapper() = default;
  state_wrapper(const state_wrapper& other)
      : m_v(other.m_v.defined() ? other.m_v.detach().clone() : ::torch::Tensor()) {}
  state_wrapper(state_wrapper&&) noexcept = default;
  state_wrapper& operator=(const state_wrapper& other) {
    if (this != &other) m_v = other.m_v.defined() ? other.m_v.detach().clone() : ::torch::Tensor();
    return *this;
  }
  state_wrapper& operator=(state_wrapper&&) noexcept = default;
  ~state_wrapper() = default;
};
template <>
struct state_wrapper<odyn::torch::TensorList> {
  using state_wrapper_type = state_wrapper<odyn::torch::TensorList>;
  odyn::torch::TensorList m_v;

  state_wrapper() = default;
  state_wrapper(const state_wrapper& other) : m_v(clone(other.m_v)) {}
  state_wrapper(state_wrapper&&) noexcept = default;
  state_wrapper& operator=(const state_wrapper& other) {
    if (this != &other) m_v = clone(other.m_v);
    return *this;
  }
  state_wrapper& operator=(state_wrapper&&) noexcept = default;
  ~state_wrapper() = default;

 private:
  static odyn::torch::TensorList clone(const odyn::torch::TensorList& x) {
    odyn::torch::TensorList out;
    out.tensors.reserve(x.tensors.size());
    for (const ::torch::Tensor& t : x.tensors)
      out.tensors.push_back(t.defined() ? t.detach().clone() : ::torch::Tensor());
    return out;
  }
};

}  // namespace boost::numeric::odeint
