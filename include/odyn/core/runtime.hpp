// Process-wide settings of the numerical runtime.
#pragma once

namespace odyn {

// Sets the number of threads odyn's parallel kernels may use (Eigen when built with OpenMP; the
// torch layer adds LibTorch's intra-op pool). n must be >= 1. On a 2-core machine keep it at 1
// unless the BLAS is pinned to one thread: nested pools oversubscribe the cores.
void set_num_threads(int n);

// The value last passed to set_num_threads (1 before any call).
int num_threads();

}  // namespace odyn
