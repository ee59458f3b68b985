#include "odyn/torch/tensor.hpp"

#include <dlfcn.h>
#include <gtest/gtest.h>

#include "odyn/core/error.hpp"
#include "odyn/core/runtime.hpp"

TEST(TorchTensor, RoundTripIsExact) {
  const Eigen::MatrixXd m = Eigen::MatrixXd::Random(4, 7);
  const torch::Tensor t = odyn::torch::to_tensor(m);
  EXPECT_EQ(t.scalar_type(), torch::kFloat64);
  EXPECT_EQ(t.size(0), 4);
  EXPECT_EQ(t.size(1), 7);
  EXPECT_EQ(t[1][2].item<double>(), m(1, 2));  // row-major tensor, same indices
  EXPECT_EQ(odyn::torch::to_eigen(t), m);
}

TEST(TorchTensor, NonContiguousAndFloatTensors) {
  const torch::Tensor t = torch::arange(12, torch::kFloat32).reshape({3, 4}).t();  // 4 x 3 view
  const Eigen::MatrixXd m = odyn::torch::to_eigen(t);
  ASSERT_EQ(m.rows(), 4);
  ASSERT_EQ(m.cols(), 3);
  for (int i = 0; i < 4; ++i) {
    for (int j = 0; j < 3; ++j) EXPECT_EQ(m(i, j), 4.0 * j + i);
  }
}

TEST(TorchTensor, RejectsBadTensors) {
  EXPECT_THROW(odyn::torch::to_eigen(torch::zeros({2, 2, 2})), odyn::InvalidArgument);
  EXPECT_THROW(odyn::torch::to_eigen(torch::zeros({2, 2}, torch::kInt64)), odyn::InvalidArgument);
}

TEST(TorchTensor, ThreadSettingReachesLibTorch) {
  odyn::torch::set_num_threads(1);
  EXPECT_EQ(at::get_num_threads(), 1);
  EXPECT_EQ(odyn::num_threads(), 1);
  EXPECT_THROW(odyn::torch::set_num_threads(0), odyn::InvalidArgument);
}

// OpenBLAS runs LibTorch's CPU matrix products with a thread pool of its own; the setting must reach it.
TEST(TorchTensor, ThreadSettingReachesOpenBlas) {
  using GetThreads = int (*)();
  auto* get = reinterpret_cast<GetThreads>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  if (get == nullptr) GTEST_SKIP() << "the loaded BLAS is not OpenBLAS";
  odyn::torch::set_num_threads(2);
  EXPECT_EQ(get(), 2);
  odyn::torch::set_num_threads(1);
  EXPECT_EQ(get(), 1);
}

// Runs where LibTorch sees a CUDA device (scripts/gpu-run.sh); skipped on CPU-only machines.
TEST(TorchTensor, CudaRoundTrip) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const Eigen::MatrixXd m = Eigen::MatrixXd::Random(33, 17);
  const torch::Tensor t = odyn::torch::to_tensor(m, torch::kCUDA);
  EXPECT_TRUE(t.is_cuda());
  EXPECT_EQ(odyn::torch::to_eigen(t * 2.0), 2.0 * m);
}
