// Uses the installed odyn::torch component: an Eigen matrix survives a trip through a tensor.
#include <cstdio>
#include <odyn/torch/tensor.hpp>

int main() {
  odyn::torch::set_num_threads(1);
  const Eigen::MatrixXd m = Eigen::MatrixXd::Random(3, 5);
  const bool ok = odyn::torch::to_eigen(odyn::torch::to_tensor(m)) == m;
  std::printf("odyn::torch round trip: %s\n", ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}
