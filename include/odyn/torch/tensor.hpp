// Bridges between Eigen matrices and LibTorch tensors, and the torch layer's thread setting.
#pragma once

#include <torch/torch.h>
#include <Eigen/Core>

namespace odyn::torch {

// Copies a matrix into a new 2-D float64 tensor on `device`.
::torch::Tensor to_tensor(const Eigen::MatrixXd& m, const ::torch::Device& device = ::torch::kCPU);

// Copies a 2-D floating-point tensor (any device, any strides) into a matrix of doubles.
// Throws odyn::InvalidArgument for other ranks or integer tensors.
Eigen::MatrixXd to_eigen(const ::torch::Tensor& t);

// odyn::set_num_threads plus LibTorch's intra-op thread pool and, when OpenBLAS is the loaded BLAS,
// OpenBLAS's own thread pool.
void set_num_threads(int n);

}  // namespace odyn::torch
