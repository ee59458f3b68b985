// The matrix exponential of every matrix in a batch of LibTorch tensors.
#pragma once

#include <torch/torch.h>

namespace odyn::torch {

// How odyn::torch::expm computes: `per_slice` runs odyn::linalg::expm (Eigen) in double on each
// matrix and needs a real CPU tensor; `batched` runs scaling and squaring with an optimized Taylor polynomial
// as tensor operations on the whole batch, on any device; `automatic` takes `per_slice` for real
// CPU tensors of n <= 12 (the faster one there on one thread) and `batched` otherwise.
enum class ExpmMethod { automatic, per_slice, batched };

// exp(A) for each n x n matrix A of a tensor of shape [..., n, n] (float32, float64, complex64 or
// complex128, any device, any strides), as a new contiguous tensor of the same shape, dtype and
// device. The batched method groups the matrices by the scaling 2^-s and Taylor degree
// m in {1, 2, 4, 8, 12, 18} each one needs (Bader, Blanes & Casas, Mathematics 7(12):1174, 2019;
// scaling from ||A^2||^(1/2) and ||A^3||^(1/3) as in Al-Mohy & Higham, SIAM J. Matrix Anal. Appl.
// 31(3), 2009) and synchronizes with the host twice per call, whatever the batch size. The result
// carries no autograd history. Throws odyn::InvalidArgument for a rank below 2, non-square
// matrices, another dtype, a non-finite entry, an input that requires a gradient, or `per_slice`
// on a complex or non-CPU tensor; odyn::OverflowError when an exponential overflows.
::torch::Tensor expm(const ::torch::Tensor& a, ExpmMethod method = ExpmMethod::automatic);

}  // namespace odyn::torch
