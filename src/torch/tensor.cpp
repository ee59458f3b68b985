#include "odyn/torch/tensor.hpp"

#include <ATen/Parallel.h>
#include <dlfcn.h>

#include "odyn/core/error.hpp"
#include "odyn/core/runtime.hpp"

namespace odyn::torch {

::torch::Tensor to_tensor(const Eigen::MatrixXd& m, const ::torch::Device& device) {
  const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> rows = m;
  ::torch::Tensor t = ::torch::empty({m.rows(), m.cols()}, ::torch::dtype(::torch::kFloat64));
  std::copy(rows.data(), rows.data() + rows.size(), t.data_ptr<double>());
  return t.to(device);
}

Eigen::MatrixXd to_eigen(const ::torch::Tensor& t) {
  if (t.dim() != 2) {
    throw InvalidArgument("to_eigen: expected a 2-D tensor, got " + std::to_string(t.dim()) + " dimensions");
  }
  if (!t.is_floating_point()) throw InvalidArgument("to_eigen: expected a floating-point tensor");
  const ::torch::Tensor c = t.detach().to(::torch::kCPU, ::torch::kFloat64).contiguous();
  return Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(c.data_ptr<double>(),
                                                                                                  c.size(0), c.size(1));
}

void set_num_threads(int n) {
  odyn::set_num_threads(n);
  at::set_num_threads(n);
  // LibTorch's matrix products run in the BLAS it was built against. OpenBLAS keeps a thread pool of
  // its own that at::set_num_threads leaves alone, so it is set here when it is the loaded BLAS.
  using SetThreads = void (*)(int);
  if (auto* openblas = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) openblas(n);
}

}  // namespace odyn::torch
