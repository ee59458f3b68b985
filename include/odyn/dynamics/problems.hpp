// Test problems for optimization dynamics: an objective L: R^d -> R with its gradient and
// Hessian-vector product, and finite sums L = (1/N) sum_i l_i with per-sample gradients.
// See docs/dynamics.md.
#pragma once

#include <Eigen/Core>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace odyn::dynamics {

using Vector = Eigen::VectorXd;
using Matrix = Eigen::MatrixXd;

namespace detail {
// Throws odyn::InvalidArgument(message) unless ok: the input checks of this module.
void require(bool ok, const std::string& message);
// 1 / (1 + e^{-z}) without overflow.
double logistic(double z);
}  // namespace detail

// An objective with its gradient. Implementations are immutable after construction, so one
// problem may be shared by several threads.
class Problem {
 public:
  virtual ~Problem() = default;

  virtual std::string name() const = 0;
  virtual Eigen::Index dim() const = 0;
  virtual double value(const Vector& x) const = 0;
  // g = grad L(x); g is resized to dim().
  virtual void gradient(const Vector& x, Vector& g) const = 0;
  // hv = H(x) v. The default is the central difference of the gradient with step
  // sqrt(eps)-scaled to |x| and |v| (relative error about 1e-7 for smooth problems).
  virtual void hessian_vector(const Vector& x, const Vector& v, Vector& hv) const;
  // True when hessian_vector is exact (analytic) rather than a finite difference.
  virtual bool exact_hessian_vector() const { return false; }
  // The conventional starting point of the problem.
  virtual Vector default_start() const = 0;
  // The minimiser, when it is known in closed form.
  virtual std::optional<Vector> known_minimizer() const { return std::nullopt; }

  Vector gradient(const Vector& x) const;
  // Throws odyn::InvalidArgument unless x has dim() entries, all finite; `where` names the caller.
  void check_point(const Vector& x, const std::string& where) const;
};

// L = (1/N) sum_i l_i(x): a finite sum with per-sample gradients, for minibatch sampling and the
// gradient noise covariance.
class FiniteSumProblem : public Problem {
 public:
  virtual Eigen::Index num_samples() const = 0;
  // g = grad l_i(x)
  virtual void sample_gradient(Eigen::Index i, const Vector& x, Vector& g) const = 0;
  // g = (1/|batch|) sum_{i in batch} grad l_i(x) (indices may repeat).
  virtual void batch_gradient(const std::vector<Eigen::Index>& batch, const Vector& x, Vector& g) const;
  // Sigma(x) = (1/N) sum_i (g_i - g)(g_i - g)^T with g = grad L(x): the covariance of one sampled
  // gradient (Li, Tai & E 2017). A minibatch of B drawn with replacement has covariance Sigma / B.
  Matrix gradient_covariance(const Vector& x) const;
};

// L = 1/2 x^T H x - b^T x with H symmetric.
class Quadratic final : public Problem {
 public:
  Quadratic(Matrix h, Vector b);
  explicit Quadratic(Matrix h) : Quadratic(h, Vector::Zero(h.rows())) {}
  // H = Q diag(spectrum) Q^T with Q a Haar-random orthogonal matrix drawn from `seed`; b = 0.
  static Quadratic with_spectrum(const Vector& spectrum, std::uint64_t seed);

  std::string name() const override { return "quadratic"; }
  Eigen::Index dim() const override { return h_.rows(); }
  double value(const Vector& x) const override;
  void gradient(const Vector& x, Vector& g) const override;
  using Problem::gradient;
  void hessian_vector(const Vector& x, const Vector& v, Vector& hv) const override;
  bool exact_hessian_vector() const override { return true; }
  Vector default_start() const override { return Vector::Ones(dim()); }
  std::optional<Vector> known_minimizer() const override;  // H^{-1} b when H is positive definite

  const Matrix& hessian() const { return h_; }
  const Vector& linear_term() const { return b_; }

 private:
  Matrix h_;
  Vector b_;
};

// The Rosenbrock function in d >= 2 dimensions (the chained form):
// L = sum_{i<d-1} b (x_{i+1} - x_i^2)^2 + (a - x_i)^2, minimum at (a, a^2, ...) for d = 2 and at
// (1, ..., 1) for a = 1. Default a = 1, b = 100, start (-1.2, 1, -1.2, 1, ...).
class Rosenbrock final : public Problem {
 public:
  explicit Rosenbrock(Eigen::Index dim = 2, double a = 1, double b = 100);
  std::string name() const override { return "rosenbrock"; }
  Eigen::Index dim() const override { return dim_; }
  double value(const Vector& x) const override;
  void gradient(const Vector& x, Vector& g) const override;
  using Problem::gradient;
  void hessian_vector(const Vector& x, const Vector& v, Vector& hv) const override;
  bool exact_hessian_vector() const override { return true; }
  Vector default_start() const override;
  std::optional<Vector> known_minimizer() const override;

 private:
  Eigen::Index dim_;
  double a_, b_;
};

// Beale's function (Beale 1958): L = (1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2,
// minimum 0 at (3, 0.5). Start (1, 1).
class Beale final : public Problem {
 public:
  std::string name() const override { return "beale"; }
  Eigen::Index dim() const override { return 2; }
  double value(const Vector& x) const override;
  void gradient(const Vector& x, Vector& g) const override;
  using Problem::gradient;
  Vector default_start() const override { return Vector::Ones(2); }
  std::optional<Vector> known_minimizer() const override { return Vector((Vector(2) << 3.0, 0.5).finished()); }
};

// A double well in each coordinate: L = height * sum_i (x_i^2 - 1)^2, minima at x_i = +-1,
// barrier `height` at 0. Start 0.5 in every coordinate.
class DoubleWell final : public Problem {
 public:
  explicit DoubleWell(Eigen::Index dim = 1, double height = 1);
  std::string name() const override { return "double-well"; }
  Eigen::Index dim() const override { return dim_; }
  double value(const Vector& x) const override;
  void gradient(const Vector& x, Vector& g) const override;
  using Problem::gradient;
  void hessian_vector(const Vector& x, const Vector& v, Vector& hv) const override;
  bool exact_hessian_vector() const override { return true; }
  Vector default_start() const override { return Vector::Constant(dim_, 0.5); }
  double height() const { return height_; }

 private:
  Eigen::Index dim_;
  double height_;
};

// The 1-D function of part three of the dynamics series: f(x) = x (x-1) (x-3)^2 + 1.62276, with a
// local minimum at x = 3 (f = 1.62276), a maximum at (9 + sqrt 33)/8 and the global minimum at
// (9 - sqrt 33)/8 = 0.40693 (f = 5.53e-7). Start x = 4.
class TwoMinimaQuartic final : public Problem {
 public:
  static constexpr double offset = 1.62276;
  std::string name() const override { return "quartic"; }
  Eigen::Index dim() const override { return 1; }
  double value(const Vector& x) const override;
  void gradient(const Vector& x, Vector& g) const override;
  using Problem::gradient;
  void hessian_vector(const Vector& x, const Vector& v, Vector& hv) const override;
  bool exact_hessian_vector() const override { return true; }
  Vector default_start() const override { return Vector::Constant(1, 4.0); }
  std::optional<Vector> known_minimizer() const override;
  static double global_minimizer();  // (9 - sqrt 33) / 8
  static double local_minimizer() { return 3.0; }
};

// Least squares L = (1/N) sum_i 1/2 (a_i^T x - b_i)^2 = ||Ax - b||^2 / (2N), samples a_i = rows of A.
class LeastSquares final : public FiniteSumProblem {
 public:
  LeastSquares(Matrix a, Vector b);
  // A consistent system: A with N(0, 1) entries, x* with N(0, 1) entries, b = A x*.
  static LeastSquares random_consistent(Eigen::Index samples, Eigen::Index dim, std::uint64_t seed);

  std::string name() const override { return "least-squares"; }
  Eigen::Index dim() const override { return a_.cols(); }
  double value(const Vector& x) const override;
  void gradient(const Vector& x, Vector& g) const override;
  using Problem::gradient;
  void hessian_vector(const Vector& x, const Vector& v, Vector& hv) const override;
  bool exact_hessian_vector() const override { return true; }
  Vector default_start() const override { return Vector::Zero(dim()); }
  std::optional<Vector> known_minimizer() const override;  // by QR when A has full column rank
  Eigen::Index num_samples() const override { return a_.rows(); }
  void sample_gradient(Eigen::Index i, const Vector& x, Vector& g) const override;
  void batch_gradient(const std::vector<Eigen::Index>& batch, const Vector& x, Vector& g) const override;

  const Matrix& design() const { return a_; }
  const Vector& target() const { return b_; }

 private:
  Matrix a_;
  Vector b_;
};

// L2-regularised logistic regression, labels y_i in {0, 1}, features x_i = rows of X:
// L(w) = (1/N) sum_i [log(1 + e^{z_i}) - y_i z_i] + (l2/2) ||w||^2,  z_i = x_i^T w.
// Add a column of ones to X for an intercept.
class LogisticRegression final : public FiniteSumProblem {
 public:
  LogisticRegression(Matrix x, Vector y, double l2);

  std::string name() const override { return "logistic"; }
  Eigen::Index dim() const override { return x_.cols(); }
  double value(const Vector& w) const override;
  void gradient(const Vector& w, Vector& g) const override;
  using Problem::gradient;
  void hessian_vector(const Vector& w, const Vector& v, Vector& hv) const override;
  bool exact_hessian_vector() const override { return true; }
  Vector default_start() const override { return Vector::Zero(dim()); }
  Eigen::Index num_samples() const override { return x_.rows(); }
  void sample_gradient(Eigen::Index i, const Vector& w, Vector& g) const override;
  void batch_gradient(const std::vector<Eigen::Index>& batch, const Vector& w, Vector& g) const override;
  // Fraction of samples whose predicted label (z_i > 0) differs from y_i.
  double error_rate(const Vector& w) const;

 private:
  Matrix x_;
  Vector y_;
  double l2_;
};

// A two-digit MNIST subset for logistic regression: images of `negative` (label 0) and `positive`
// (label 1) from `split`, at most `max_per_digit` of each in file order; features are the 784
// pixels scaled to [0, 1] followed by a constant 1 (intercept). Reads from io::default_mnist_dir()
// when `dir` is empty.
struct LabelledData {
  Matrix x;
  Vector y;
};
LabelledData mnist_two_digits(int negative, int positive, bool test_split, Eigen::Index max_per_digit,
                              const std::string& dir = "");

// A small fully connected network for regression, L = (1/N) sum_i 1/2 ||f(x_i) - y_i||^2 with
// f = W2 tanh(W1 x + b1) + b2; parameters packed as [W1 (column-major), b1, W2, b2]. Used to watch
// the sharpness of full-batch gradient descent (edge of stability).
class TanhMlp final : public FiniteSumProblem {
 public:
  TanhMlp(Matrix inputs, Matrix targets, Eigen::Index hidden);
  std::string name() const override { return "mlp"; }
  Eigen::Index dim() const override;
  double value(const Vector& p) const override;
  void gradient(const Vector& p, Vector& g) const override;
  using Problem::gradient;
  Vector default_start() const override;  // LeCun-normal weights from seed 0, zero biases
  Vector initial_parameters(std::uint64_t seed) const;
  Eigen::Index num_samples() const override { return inputs_.rows(); }
  void sample_gradient(Eigen::Index i, const Vector& p, Vector& g) const override;

 private:
  // the loss and, when g is given, its gradient over the samples `rows` (all samples when null)
  double evaluate(const Vector& p, Vector* g, const std::vector<Eigen::Index>* rows) const;
  Matrix inputs_, targets_;
  Eigen::Index hidden_;
};

// The problem named `name` with its default size: quadratic (d = 2, spectrum {1, 10}),
// rosenbrock, beale, double-well, quartic, least-squares (N = 100, d = dim or 10), logistic
// (MNIST 0 vs 1, 500 images per digit, l2 = 1e-3). `dim` overrides the dimension where a problem
// has one (quadratic: spectrum log-spaced on [1, 10]). Throws odyn::InvalidArgument for an unknown
// name.
std::unique_ptr<Problem> make_problem(const std::string& name, Eigen::Index dim = 0, std::uint64_t seed = 0);
std::vector<std::string> problem_names();

}  // namespace odyn::dynamics
