#include "odyn/core/runtime.hpp"

#include <Eigen/Core>
#include <string>

#include "odyn/core/error.hpp"

namespace odyn {
namespace {
int g_threads = 1;
}

void set_num_threads(int n) {
  if (n < 1) throw InvalidArgument("set_num_threads: expected n >= 1, got " + std::to_string(n));
  g_threads = n;
  Eigen::setNbThreads(n);
}

int num_threads() {
  return g_threads;
}

}  // namespace odyn
