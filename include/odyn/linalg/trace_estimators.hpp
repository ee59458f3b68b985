// Randomized estimators of tr(A) that touch A only through products A X with blocks of vectors.
#pragma once

#include <Eigen/Core>
#include <functional>
#include <random>

namespace odyn::linalg {

// Applies an n x n matrix to an n x k block of vectors, returning the n x k product.
using MatVec = std::function<Eigen::MatrixXd(const Eigen::MatrixXd&)>;

enum class Probe {
  rademacher,  // entries +-1 with equal probability: Var = 2 (||A||_F^2 - sum a_ii^2) / l for symmetric A
  gaussian,    // entries N(0, 1):                    Var = 2 ||A||_F^2 / l for symmetric A
};

struct TraceEstimate {
  double value = 0;      // the estimate of tr(A)
  double std_error = 0;  // estimated standard deviation of `value` (NaN when it cannot be estimated)
  int matvecs = 0;       // products with A used
};

// Hutchinson's estimator (Hutchinson 1990; Girard 1989): tr(A) ~ (1/l) sum_i z_i^T A z_i with l
// independent probes z_i. Unbiased for any square A. std_error is the sample standard deviation of
// the l terms over sqrt(l) (NaN for l = 1). Throws odyn::InvalidArgument if n < 1, probes < 1, or
// the product has the wrong shape or is not finite.
TraceEstimate hutchinson(const MatVec& a, Eigen::Index n, int probes, std::mt19937_64& rng,
                         Probe probe = Probe::rademacher);
TraceEstimate hutchinson(const Eigen::MatrixXd& a, int probes, std::mt19937_64& rng, Probe probe = Probe::rademacher);

// Hutch++ (Meyer, Musco, Musco & Woodruff, SOSA 2021): with k = matvecs / 3, sketch Q = orth(A S)
// from k probes S, take tr(Q^T A Q) exactly and estimate the rest, tr((I - QQ^T) A (I - QQ^T)), by
// Hutchinson with k probes. For symmetric positive semidefinite A its error falls like 1/matvecs
// (Hutchinson: 1/sqrt(matvecs)). std_error is that of the Hutchinson part. Throws as hutchinson
// does, and if matvecs < 3.
TraceEstimate hutch_plus_plus(const MatVec& a, Eigen::Index n, int matvecs, std::mt19937_64& rng,
                              Probe probe = Probe::rademacher);
TraceEstimate hutch_plus_plus(const Eigen::MatrixXd& a, int matvecs, std::mt19937_64& rng,
                              Probe probe = Probe::rademacher);

// XTrace (Epperly, Tropp & Webber, SIAM J. Matrix Anal. Appl. 45(1), 2024): with k = matvecs / 2
// probes w_i and Y = A Omega, each i = 1..k gives the estimate
//   t_i = tr(Q_i^T A Q_i) + w_i^T (I - Q_i Q_i^T) A (I - Q_i Q_i^T) w_i,
// where Q_i is an orthonormal basis of the columns of Y other than the i-th, independent of w_i,
// so each t_i is unbiased for any square A. value is the mean of the t_i, computed from one QR of
// Y and the k products A Q (2k mat-vecs in all); std_error is the sample standard deviation of the
// t_i over sqrt(k) (it ignores their correlation and tends to be low, see docs/linalg.md).
// Probe::gaussian, the default here, draws the probes uniformly on the sphere of radius sqrt(n)
// and rescales each projected probe to the norm sqrt(n - k + 1) of its subspace (the paper's
// normalization), which lowers the variance; Rademacher probes are used as drawn. For symmetric
// positive semidefinite A the error falls at least like 1/matvecs, and the estimate is exact
// when rank(A) < k. If Y is numerically rank deficient (rank r < k), every Q_i spans range(Y)
// and only r products A Q are taken. Throws as hutchinson does, and if matvecs < 4.
TraceEstimate xtrace(const MatVec& a, Eigen::Index n, int matvecs, std::mt19937_64& rng, Probe probe = Probe::gaussian);
TraceEstimate xtrace(const Eigen::MatrixXd& a, int matvecs, std::mt19937_64& rng, Probe probe = Probe::gaussian);

// Stochastic Lanczos quadrature (Ubaru, Chen & Saad, SIAM J. Matrix Anal. Appl. 38(4), 2017)
// for tr f(A), A symmetric: for each of `probes` Rademacher vectors v (|v|^2 = n), `steps` Lanczos
// steps from v/|v| (with full reorthogonalization) give a tridiagonal T with eigenpairs
// (theta_k, y_k), and n sum_k y_k[0]^2 f(theta_k) is a Gauss-quadrature estimate of v^T f(A) v.
// The result averages these; std_error is their sample standard deviation over sqrt(probes). With
// steps >= the number of distinct eigenvalues the quadrature is exact and only the probe variance
// remains. Throws odyn::InvalidArgument for n < 1, probes < 1, steps < 1, or bad mat-vec results.
TraceEstimate slq_trace(const MatVec& a, Eigen::Index n, const std::function<double(double)>& f, int probes, int steps,
                        std::mt19937_64& rng);

// log det A for symmetric positive definite A by stochastic Lanczos quadrature with f = log.
// Throws odyn::InvalidArgument if a Ritz value is not positive (A is not positive definite).
TraceEstimate slq_logdet(const MatVec& a, Eigen::Index n, int probes, int steps, std::mt19937_64& rng);
TraceEstimate slq_logdet(const Eigen::MatrixXd& a, int probes, int steps, std::mt19937_64& rng);

}  // namespace odyn::linalg
