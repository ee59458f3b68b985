// Experiment: how close do the errors of det(exp A) = exp(tr A) come to the tolerance model of
// odyn::linalg::check_det_exp_trace? Sweeps every test-matrix family over sizes and spectral
// scales and prints, per family and scale, the largest error / (tolerance / safety) ratio (the
// model's constant; the check has margin safety / ratio) and how many checks were inconclusive.
//
//   build/bin/odyn_exp_det_exp_trace_sweep [--trials T] [--seed S]
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <random>

#include "odyn/linalg/identities.hpp"
#include "odyn/linalg/test_matrices.hpp"

int main(int argc, char** argv) {
  CLI::App app{"Sweep the det(exp A) = exp(tr A) tolerance model over families, sizes and scales"};
  int trials = 40;
  std::uint64_t seed = 7;
  app.add_option("--trials", trials, "Matrices per (family, n, scale)")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  app.add_option("--seed", seed, "Random seed")->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::fprintf(stderr, "odyn_exp_det_exp_trace_sweep: error: %s\n", e.what());
    return 2;
  }

  using namespace odyn::linalg;
  const int sizes[] = {1, 2, 3, 5, 10, 30, 50, 100};
  const double scales[] = {0.1, 1.0, 3.0, 10.0, 30.0};
  std::mt19937_64 rng(seed);
  std::printf("| family | scale | checks | inconclusive | failed | max error | max error / (tol / safety) |\n");
  std::printf("|---|---|---|---|---|---|---|\n");
  long total = 0, total_failed = 0;
  double worst_ratio = 0;
  for (const auto& name : matrix_family_names()) {
    for (double scale : scales) {
      long checks = 0, inconclusive = 0, failed = 0;
      double max_err = 0, ratio = 0;
      for (int n : sizes) {
        for (int t = 0; t < trials; ++t) {
          const Eigen::MatrixXd a = make_test_matrix(parse_matrix_family(name), n, rng, scale);
          const IdentityCheck c = check_det_exp_trace(a);  // NaN tolerance when exp(A) overflows
          if (!(c.tolerance <= kInconclusiveTolerance)) {
            ++inconclusive;
            continue;
          }
          ++checks;
          failed += !c.passed;
          const double err = c.metric == "rel_error" ? c.rel_error : c.abs_error;
          max_err = std::max(max_err, err);
          ratio = std::max(ratio, err / (c.tolerance / kDetExpTraceSafety));
        }
      }
      total += checks;
      total_failed += failed;
      worst_ratio = std::max(worst_ratio, ratio);
      std::printf("| %s | %g | %ld | %ld | %ld | %.2e | %.3f |\n", name.c_str(), scale, checks, inconclusive, failed,
                  max_err, ratio);
    }
  }
  std::printf(
      "\n%ld conclusive checks, %ld failed; largest error / (tol / safety) = %.3f, so the safety factor %g "
      "leaves a margin of %.1fx\n",
      total, total_failed, worst_ratio, kDetExpTraceSafety, kDetExpTraceSafety / worst_ratio);
  return total_failed == 0 ? 0 : 1;
}
