// Boost.Odeint steppers on torch::Tensor and odyn::torch::TensorList states against the same
// steppers on Eigen vectors (odeint's vector_space_algebra), the exact discrete solutions of the
// linear test problem dx/dt = A x, and exp(tA) x0.
#include "odyn/torch/odeint.hpp"

#include <gtest/gtest.h>

#include <Eigen/Core>
#include <cmath>
#include <vector>

#include "odyn/core/error.hpp"
#include "odyn/dynamics/odeint.hpp"
#include "odyn/linalg/expm.hpp"
#include "odyn/torch/tensor.hpp"

namespace {

namespace odeint = boost::numeric::odeint;
using odyn::torch::TensorList;

constexpr double kT = 2.0;
constexpr double kU = 0x1p-53;  // unit roundoff of double

Eigen::MatrixXd matrix_a() {
  Eigen::MatrixXd a(3, 3);
  a << -0.5, 1.0, 0.2, -1.0, -0.3, 0.4, 0.1, -0.2, -0.8;
  return a;
}

Eigen::VectorXd x0() {
  return Eigen::Vector3d(1.0, -0.5, 2.0);
}

// A stable 10 x 10 matrix acting on the flattened (2x3 matrix, 4-vector) list.
Eigen::MatrixXd matrix_m() {
  Eigen::MatrixXd m(10, 10);
  for (int i = 0; i < 10; ++i)
    for (int j = 0; j < 10; ++j) m(i, j) = 0.3 * std::sin(10.0 * i + j + 1.0) - (i == j ? 0.8 : 0.0);
  return m;
}

Eigen::VectorXd y0() {
  Eigen::VectorXd y(10);
  for (int i = 0; i < 10; ++i) y(i) = std::cos(1.0 + i);
  return y;
}

Eigen::VectorXd to_vector(const torch::Tensor& t) {
  const torch::Tensor c = t.detach().to(torch::kCPU, torch::kFloat64).contiguous().reshape({-1});
  return Eigen::Map<const Eigen::VectorXd>(c.data_ptr<double>(), c.numel());
}

Eigen::VectorXd to_vector(const TensorList& l) {
  std::vector<torch::Tensor> flat;
  for (const torch::Tensor& t : l.tensors) flat.push_back(t.detach().to(torch::kCPU, torch::kFloat64).reshape({-1}));
  return to_vector(torch::cat(flat));
}

torch::Tensor to_tensor(const Eigen::VectorXd& v, torch::Dtype dtype = torch::kFloat64,
                        torch::Device device = torch::kCPU) {
  return odyn::torch::to_tensor(v).reshape({-1}).to(device, dtype);
}

TensorList to_list(const Eigen::VectorXd& v, torch::Device device = torch::kCPU) {
  const torch::Tensor t = to_tensor(v, torch::kFloat64, device);
  return TensorList{{t.slice(0, 0, 6).reshape({2, 3}).clone(), t.slice(0, 6, 10).clone()}};
}

// exp(T A) x0 and exp(T M) y0 (fixed-size matrices: exact sizes known at compile time).
Eigen::VectorXd exact_a() {
  const Eigen::Matrix3d ta = kT * matrix_a();
  return odyn::linalg::expm(ta) * x0();
}

Eigen::VectorXd exact_m() {
  const Eigen::Matrix<double, 10, 10> tm = kT * matrix_m();
  return odyn::linalg::expm(tm) * y0();
}

double rel_diff(const Eigen::VectorXd& a, const Eigen::VectorXd& b) {
  return (a - b).norm() / b.norm();
}

struct EigenSystem {
  Eigen::MatrixXd a;
  void operator()(const Eigen::VectorXd& x, Eigen::VectorXd& dxdt, double /*t*/) const { dxdt = a * x; }
};

struct TensorSystem {
  torch::Tensor a;
  void operator()(const torch::Tensor& x, torch::Tensor& dxdt, double /*t*/) const {
    torch::mv_out(dxdt, a, x.detach());
  }
};

struct ListSystem {
  torch::Tensor m;
  void operator()(const TensorList& x, TensorList& dxdt, double /*t*/) const {
    const torch::Tensor d = torch::mv(m, torch::cat({x.tensors[0].reshape({-1}), x.tensors[1]}));
    dxdt.tensors[0].copy_(d.slice(0, 0, 6).view({2, 3}));
    dxdt.tensors[1].copy_(d.slice(0, 6, 10));
  }
};

struct Counter {
  int* steps;
  template <class S>
  void operator()(const S& /*x*/, double /*t*/) const {
    ++*steps;
  }
};

class TorchOdeint : public ::testing::Test {
 protected:
  void SetUp() override { odyn::torch::set_num_threads(1); }
};

// Euler and RK4 from x0 with n steps of h, the matrix powers of their stability functions.
Eigen::VectorXd euler_exact(const Eigen::MatrixXd& a, const Eigen::VectorXd& x, double h, int n) {
  const Eigen::MatrixXd r = Eigen::MatrixXd::Identity(a.rows(), a.cols()) + h * a;
  Eigen::VectorXd y = x;
  for (int i = 0; i < n; ++i) y = r * y;
  return y;
}

Eigen::VectorXd rk4_exact(const Eigen::MatrixXd& a, const Eigen::VectorXd& x, double h, int n) {
  const Eigen::MatrixXd z = h * a;
  const Eigen::MatrixXd r =
      Eigen::MatrixXd::Identity(a.rows(), a.cols()) + z + z * z / 2 + z * z * z / 6 + z * z * z * z / 24;
  Eigen::VectorXd y = x;
  for (int i = 0; i < n; ++i) y = r * y;
  return y;
}

TEST_F(TorchOdeint, Rk4TensorMatchesEigenAndExactSolution) {
  const Eigen::MatrixXd a = matrix_a();
  const double h = 0.01;
  const int n = 200;
  Eigen::VectorXd xe = x0();
  odeint::integrate_n_steps(odyn::dynamics::Rk4Stepper(), EigenSystem{a}, xe, 0.0, h, n);

  torch::Tensor xt = to_tensor(x0());
  const void* storage = xt.data_ptr();
  odeint::integrate_n_steps(odeint::runge_kutta4<torch::Tensor>(), TensorSystem{odyn::torch::to_tensor(a)}, xt, 0.0, h,
                            n);
  // The caller's tensor is updated in place, with its dtype and device.
  EXPECT_EQ(xt.data_ptr(), storage);
  EXPECT_EQ(xt.scalar_type(), torch::kFloat64);
  EXPECT_TRUE(xt.device().is_cpu());
  // Same operations in another summation order inside A x: a few ulps per step over 200 steps.
  EXPECT_LT(rel_diff(to_vector(xt), xe), 1e-13);
  // The reference rounds as well: about 10 n u for n steps.
  EXPECT_LT(rel_diff(to_vector(xt), rk4_exact(a, x0(), h, n)), 10 * n * kU);
  // RK4 global error ~ T (h ||A||)^4 ||A|| / 120 ~ 1e-9 here.
  const Eigen::VectorXd exact = exact_a();
  EXPECT_LT(rel_diff(to_vector(xt), exact), 1e-8);
}

TEST_F(TorchOdeint, EulerTensorMatchesEigenAndExactSolution) {
  const Eigen::MatrixXd a = matrix_a();
  const double h = 1e-3;
  const int n = 2000;
  Eigen::VectorXd xe = x0();
  odeint::integrate_n_steps(odyn::dynamics::EulerStepper(), EigenSystem{a}, xe, 0.0, h, n);
  torch::Tensor xt = to_tensor(x0());
  odeint::integrate_n_steps(odeint::euler<torch::Tensor>(), TensorSystem{odyn::torch::to_tensor(a)}, xt, 0.0, h, n);
  // Rounding only, a few ulps per step over 2000 steps.
  EXPECT_LT(rel_diff(to_vector(xt), xe), 1e-13);
  EXPECT_LT(rel_diff(to_vector(xt), euler_exact(a, x0(), h, n)), 10 * n * kU);  // as for RK4
  // Euler's global error ~ T h ||A||^2 / 2 ~ 2e-3 here.
  const Eigen::VectorXd exact = exact_a();
  EXPECT_LT(rel_diff(to_vector(xt), exact), 5e-3);
  EXPECT_GT(rel_diff(to_vector(xt), exact), 1e-5);  // first order: the error is really there
}

TEST_F(TorchOdeint, ControlledDopri5TensorMatchesEigen) {
  const Eigen::MatrixXd a = matrix_a();
  const double tol = 1e-10;
  Eigen::VectorXd xe = x0();
  int steps_e = 0;
  odeint::integrate_adaptive(odeint::make_controlled(tol, tol, odyn::dynamics::Dopri5Stepper()), EigenSystem{a}, xe,
                             0.0, kT, 0.01, Counter{&steps_e});
  torch::Tensor xt = to_tensor(x0());
  int steps_t = 0;
  odeint::integrate_adaptive(odeint::make_controlled(tol, tol, odeint::runge_kutta_dopri5<torch::Tensor>()),
                             TensorSystem{odyn::torch::to_tensor(a)}, xt, 0.0, kT, 0.01, Counter{&steps_t});
  // Same accepted steps, hence the same result up to rounding.
  EXPECT_EQ(steps_t, steps_e);
  EXPECT_LT(rel_diff(to_vector(xt), xe), 1e-13);
  // Local tolerance 1e-10 per step; the global error stays within a few times tol here.
  const Eigen::VectorXd exact = exact_a();
  EXPECT_LT(rel_diff(to_vector(xt), exact), 1e-9);
}

TEST_F(TorchOdeint, TensorListMatchesFlattenedEigen) {
  const Eigen::MatrixXd m = matrix_m();
  const ListSystem list_system{odyn::torch::to_tensor(m)};
  const Eigen::VectorXd exact = exact_m();
  {
    Eigen::VectorXd ye = y0();
    odeint::integrate_n_steps(odyn::dynamics::Rk4Stepper(), EigenSystem{m}, ye, 0.0, 0.01, 200);
    TensorList yl = to_list(y0());
    odeint::integrate_n_steps(odeint::runge_kutta4<TensorList>(), list_system, yl, 0.0, 0.01, 200);
    ASSERT_EQ(yl.tensors.size(), 2u);
    EXPECT_EQ(yl.tensors[0].sizes(), torch::IntArrayRef({2, 3}));
    EXPECT_EQ(yl.tensors[1].sizes(), torch::IntArrayRef({4}));
    // Rounding only (see the single-tensor tests); RK4 error ~ 1e-9 as above.
    EXPECT_LT(rel_diff(to_vector(yl), ye), 1e-13);
    EXPECT_LT(rel_diff(to_vector(yl), rk4_exact(m, y0(), 0.01, 200)), 10 * 200 * kU);
    EXPECT_LT(rel_diff(to_vector(yl), exact), 1e-8);
  }
  {
    Eigen::VectorXd ye = y0();
    odeint::integrate_n_steps(odyn::dynamics::EulerStepper(), EigenSystem{m}, ye, 0.0, 1e-3, 2000);
    TensorList yl = to_list(y0());
    odeint::integrate_n_steps(odeint::euler<TensorList>(), list_system, yl, 0.0, 1e-3, 2000);
    EXPECT_LT(rel_diff(to_vector(yl), ye), 1e-13);
    EXPECT_LT(rel_diff(to_vector(yl), exact), 5e-3);  // first order, T h ||M||^2 / 2
  }
  {
    const double tol = 1e-10;
    Eigen::VectorXd ye = y0();
    int steps_e = 0;
    odeint::integrate_adaptive(odeint::make_controlled(tol, tol, odyn::dynamics::Dopri5Stepper()), EigenSystem{m}, ye,
                               0.0, kT, 0.01, Counter{&steps_e});
    TensorList yl = to_list(y0());
    int steps_t = 0;
    odeint::integrate_adaptive(odeint::make_controlled(tol, tol, odeint::runge_kutta_dopri5<TensorList>()), list_system,
                               yl, 0.0, kT, 0.01, Counter{&steps_t});
    EXPECT_EQ(steps_t, steps_e);
    EXPECT_LT(rel_diff(to_vector(yl), ye), 1e-13);
    EXPECT_LT(rel_diff(to_vector(yl), exact), 1e-9);
  }
}

TEST_F(TorchOdeint, Float32) {
  const Eigen::MatrixXd a = matrix_a();
  const Eigen::VectorXd exact = exact_a();
  const TensorSystem system{odyn::torch::to_tensor(a).to(torch::kFloat32)};
  torch::Tensor x = to_tensor(x0(), torch::kFloat32);
  odeint::integrate_n_steps(odeint::runge_kutta4<torch::Tensor>(), system, x, 0.0, 0.01, 200);
  EXPECT_EQ(x.scalar_type(), torch::kFloat32);
  // float32 rounding, u = 6e-8, grows by about one u per step over 200 steps.
  EXPECT_LT(rel_diff(to_vector(x), exact), 2e-5);

  torch::Tensor y = to_tensor(x0(), torch::kFloat32);
  odeint::integrate_adaptive(odeint::make_controlled(1e-5, 1e-5, odeint::runge_kutta_dopri5<torch::Tensor>()), system,
                             y, 0.0, kT, 0.01);
  EXPECT_EQ(y.scalar_type(), torch::kFloat32);
  // Tolerance 1e-5 per step, float32 rounding well below it.
  EXPECT_LT(rel_diff(to_vector(y), exact), 1e-4);
}

TEST_F(TorchOdeint, ResizingMakesTensorsOfTheSameShapeDtypeAndDevice) {
  const torch::Tensor x = torch::ones({2, 3}, torch::kFloat32);
  torch::Tensor y;
  EXPECT_FALSE(odeint::same_size(y, x));
  odeint::resize(y, x);
  EXPECT_TRUE(odeint::same_size(y, x));
  EXPECT_EQ(y.sizes(), x.sizes());
  EXPECT_EQ(y.scalar_type(), torch::kFloat32);
  EXPECT_EQ(y.device(), x.device());
  EXPECT_FALSE(y.is_same(x));
  EXPECT_FALSE(odeint::same_size(torch::ones({2, 3}, torch::kFloat64), x));

  const TensorList l{{torch::ones({2, 3}, torch::kFloat64), torch::zeros({4}, torch::kFloat32)}};
  TensorList m;
  EXPECT_FALSE(odeint::same_size(m, l));
  odeint::resize(m, l);
  EXPECT_TRUE(odeint::same_size(m, l));
  ASSERT_EQ(m.tensors.size(), 2u);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(m.tensors[i].sizes(), l.tensors[i].sizes());
    EXPECT_EQ(m.tensors[i].scalar_type(), l.tensors[i].scalar_type());
    EXPECT_FALSE(m.tensors[i].is_same(l.tensors[i]));
  }

  // copy writes values into the target's storage; copied work states do not share storage.
  torch::Tensor z = torch::zeros({2, 3}, torch::kFloat32);
  const void* storage = z.data_ptr();
  odeint::copy(x, z);
  EXPECT_EQ(z.data_ptr(), storage);
  EXPECT_TRUE(torch::equal(z, x));
  odeint::state_wrapper<torch::Tensor> w1;
  w1.m_v = torch::ones({3});
  odeint::state_wrapper<torch::Tensor> w2 = w1;
  w2.m_v.add_(1.0);
  EXPECT_EQ(w1.m_v[0].item<double>(), 1.0);
}

TEST_F(TorchOdeint, StateRequiringGradIsUpdatedInPlace) {
  torch::Tensor x = to_tensor(x0()).requires_grad_(true);
  odeint::integrate_n_steps(odeint::euler<torch::Tensor>(), TensorSystem{odyn::torch::to_tensor(matrix_a())}, x, 0.0,
                            1e-3, 10);
  EXPECT_TRUE(x.requires_grad());
  EXPECT_TRUE(x.is_leaf());
  EXPECT_LT(rel_diff(to_vector(x), euler_exact(matrix_a(), x0(), 1e-3, 10)), 1e-14);  // rounding only
}

TEST_F(TorchOdeint, MismatchedStatesThrow) {
  torch::Tensor a = torch::zeros({3}, torch::kFloat64);
  const torch::Tensor b = torch::ones({1}, torch::kFloat64);
  const torch::Tensor c = torch::ones({3}, torch::kFloat64);
  const odyn::torch::tensor_operations::scale_sum2<> op(1.0, 1.0);
  EXPECT_THROW(odyn::torch::tensor_algebra::for_each3(a, b, c, op), odyn::InvalidArgument);
  torch::Tensor undefined;
  EXPECT_THROW(odyn::torch::tensor_algebra::for_each3(undefined, c, c, op), odyn::InvalidArgument);
  TensorList l{{a, a}};
  const TensorList s{{c}};
  EXPECT_THROW(odyn::torch::tensor_algebra::for_each3(l, s, s, op), odyn::InvalidArgument);
  // Aliasing of the output with a later term is handled: a = 2 c + 3 a.
  odyn::torch::tensor_algebra::for_each3(a, c, a, odyn::torch::tensor_operations::scale_sum2<>(2.0, 3.0));
  EXPECT_TRUE(torch::equal(a, torch::full({3}, 2.0, torch::kFloat64)));
  EXPECT_EQ(odyn::torch::tensor_algebra::norm_inf(TensorList{{torch::tensor({-3.0, 1.0}), torch::tensor({2.5})}}), 3.0);
  EXPECT_EQ(odyn::torch::tensor_algebra::norm_inf(torch::zeros({0}, torch::kFloat64)), 0.0);
}

TEST_F(TorchOdeint, Cuda) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const torch::Device cuda(torch::kCUDA);
  const Eigen::MatrixXd a = matrix_a();
  const TensorSystem system{odyn::torch::to_tensor(a, cuda)};
  Eigen::VectorXd xe = x0();
  odeint::integrate_n_steps(odyn::dynamics::Rk4Stepper(), EigenSystem{a}, xe, 0.0, 0.01, 200);
  torch::Tensor x = to_tensor(x0(), torch::kFloat64, cuda);
  odeint::integrate_n_steps(odeint::runge_kutta4<torch::Tensor>(), system, x, 0.0, 0.01, 200);
  EXPECT_TRUE(x.device().is_cuda());
  EXPECT_EQ(x.scalar_type(), torch::kFloat64);
  // Rounding only; the device kernels may fuse multiply-adds differently.
  EXPECT_LT(rel_diff(to_vector(x), xe), 1e-13);

  const Eigen::MatrixXd m = matrix_m();
  Eigen::VectorXd ye = y0();
  odeint::integrate_adaptive(odeint::make_controlled(1e-10, 1e-10, odyn::dynamics::Dopri5Stepper()), EigenSystem{m}, ye,
                             0.0, kT, 0.01);
  TensorList y = to_list(y0(), cuda);
  odeint::integrate_adaptive(odeint::make_controlled(1e-10, 1e-10, odeint::runge_kutta_dopri5<TensorList>()),
                             ListSystem{odyn::torch::to_tensor(m, cuda)}, y, 0.0, kT, 0.01);
  EXPECT_TRUE(y.tensors[0].device().is_cuda());
  EXPECT_TRUE(y.tensors[1].device().is_cuda());
  EXPECT_LT(rel_diff(to_vector(y), ye), 1e-13);
}

}  // namespace
