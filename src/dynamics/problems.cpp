#include "odyn/dynamics/problems.hpp"

#include <Eigen/Cholesky>
#include <Eigen/QR>
#include <algorithm>
#include <cmath>
#include <limits>

#include "odyn/core/error.hpp"
#include "odyn/io/mnist.hpp"

namespace odyn::dynamics {
namespace detail {

void require(bool ok, const std::string& message) {
  if (!ok) throw InvalidArgument(message);
}

double logistic(double z) {
  return z >= 0 ? 1 / (1 + std::exp(-z)) : std::exp(z) / (1 + std::exp(z));
}

}  // namespace detail

namespace {

using detail::logistic;
using detail::require;

// log(1 + e^z) without overflow
double softplus(double z) {
  return z > 0 ? z + std::log1p(std::exp(-z)) : std::log1p(std::exp(z));
}

}  // namespace

// ---- Problem ------------------------------------------------------------------------------------

Vector Problem::gradient(const Vector& x) const {
  Vector g;
  gradient(x, g);
  return g;
}

void Problem::hessian_vector(const Vector& x, const Vector& v, Vector& hv) const {
  const double vn = v.norm();
  if (vn == 0) {
    hv = Vector::Zero(dim());
    return;
  }
  // central difference along v / |v|: truncation O(h^2), rounding O(eps / h); h ~ eps^(1/3) balances
  const double h = std::cbrt(std::numeric_limits<double>::epsilon()) * std::max(1.0, x.norm());
  const Vector u = v / vn;
  Vector gp, gm;
  gradient(x + h * u, gp);
  gradient(x - h * u, gm);
  hv = (gp - gm) * (vn / (2 * h));
}

void Problem::check_point(const Vector& x, const std::string& where) const {
  require(x.size() == dim(), where + ": the point has " + std::to_string(x.size()) + " entries; problem '" + name() +
                                 "' has dimension " + std::to_string(dim()));
  require(x.allFinite(), where + ": the point has a NaN or infinite entry");
}

void FiniteSumProblem::batch_gradient(const std::vector<Eigen::Index>& batch, const Vector& x, Vector& g) const {
  require(!batch.empty(), "batch_gradient: empty batch");
  Vector gi;
  g = Vector::Zero(dim());
  for (Eigen::Index i : batch) {
    require(i >= 0 && i < num_samples(), "batch_gradient: sample index out of range");
    sample_gradient(i, x, gi);
    g += gi;
  }
  g /= static_cast<double>(batch.size());
}

Matrix FiniteSumProblem::gradient_covariance(const Vector& x) const {
  const Eigen::Index n = num_samples();
  Matrix gs(dim(), n);
  Vector gi;
  for (Eigen::Index i = 0; i < n; ++i) {
    sample_gradient(i, x, gi);
    gs.col(i) = gi;
  }
  const Vector mean = gs.rowwise().mean();
  gs.colwise() -= mean;
  return gs * gs.transpose() / static_cast<double>(n);
}

// ---- Quadratic ----------------------------------------------------------------------------------

Quadratic::Quadratic(Matrix h, Vector b) : h_(std::move(h)), b_(std::move(b)) {
  require(h_.rows() > 0 && h_.rows() == h_.cols(), "Quadratic: H must be a non-empty square matrix");
  require(b_.size() == h_.rows(), "Quadratic: b must have as many entries as H has rows");
  require(h_.allFinite() && b_.allFinite(), "Quadratic: H and b must be finite");
  require((h_ - h_.transpose()).cwiseAbs().maxCoeff() <= 1e-12 * std::max(1.0, h_.cwiseAbs().maxCoeff()),
          "Quadratic: H must be symmetric");
}

Quadratic Quadratic::with_spectrum(const Vector& spectrum, std::uint64_t seed) {
  require(spectrum.size() > 0 && spectrum.allFinite(), "Quadratic::with_spectrum: need a non-empty finite spectrum");
  const Eigen::Index n = spectrum.size();
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  Matrix z(n, n);
  for (Eigen::Index j = 0; j < n; ++j)
    for (Eigen::Index i = 0; i < n; ++i) z(i, j) = normal(rng);
  // Haar-distributed Q: the QR factor of a Gaussian matrix with R's diagonal made positive
  Eigen::HouseholderQR<Matrix> qr(z);
  Matrix q = qr.householderQ() * Matrix::Identity(n, n);
  const Matrix r = qr.matrixQR();
  for (Eigen::Index j = 0; j < n; ++j)
    if (r(j, j) < 0) q.col(j) = -q.col(j);
  Matrix h = q * spectrum.asDiagonal() * q.transpose();
  h = (0.5 * (h + h.transpose())).eval();
  return Quadratic(h, Vector::Zero(n));
}

double Quadratic::value(const Vector& x) const {
  return 0.5 * x.dot(h_ * x) - b_.dot(x);
}
void Quadratic::gradient(const Vector& x, Vector& g) const {
  g.noalias() = h_ * x - b_;
}
void Quadratic::hessian_vector(const Vector&, const Vector& v, Vector& hv) const {
  hv.noalias() = h_ * v;
}

std::optional<Vector> Quadratic::known_minimizer() const {
  Eigen::LLT<Matrix> llt(h_);
  if (llt.info() != Eigen::Success) return std::nullopt;
  return Vector(llt.solve(b_));
}

// ---- Rosenbrock ---------------------------------------------------------------------------------

Rosenbrock::Rosenbrock(Eigen::Index dim, double a, double b) : dim_(dim), a_(a), b_(b) {
  require(dim >= 2, "Rosenbrock: the dimension must be at least 2");
  require(std::isfinite(a) && std::isfinite(b) && b > 0, "Rosenbrock: a must be finite and b > 0");
}

double Rosenbrock::value(const Vector& x) const {
  double s = 0;
  for (Eigen::Index i = 0; i + 1 < dim_; ++i) {
    const double u = x[i + 1] - x[i] * x[i], w = a_ - x[i];
    s += b_ * u * u + w * w;
  }
  return s;
}

void Rosenbrock::gradient(const Vector& x, Vector& g) const {
  g = Vector::Zero(dim_);
  for (Eigen::Index i = 0; i + 1 < dim_; ++i) {
    const double u = x[i + 1] - x[i] * x[i];
    g[i] += -4 * b_ * x[i] * u - 2 * (a_ - x[i]);
    g[i + 1] += 2 * b_ * u;
  }
}

void Rosenbrock::hessian_vector(const Vector& x, const Vector& v, Vector& hv) const {
  hv = Vector::Zero(dim_);
  for (Eigen::Index i = 0; i + 1 < dim_; ++i) {
    // Hessian of the term b (x_{i+1} - x_i^2)^2 + (a - x_i)^2 in (x_i, x_{i+1})
    const double hii = 12 * b_ * x[i] * x[i] - 4 * b_ * x[i + 1] + 2, hij = -4 * b_ * x[i], hjj = 2 * b_;
    hv[i] += hii * v[i] + hij * v[i + 1];
    hv[i + 1] += hij * v[i] + hjj * v[i + 1];
  }
}

Vector Rosenbrock::default_start() const {
  Vector x(dim_);
  for (Eigen::Index i = 0; i < dim_; ++i) x[i] = i % 2 == 0 ? -1.2 : 1.0;
  return x;
}

std::optional<Vector> Rosenbrock::known_minimizer() const {
  if (dim_ == 2) return Vector((Vector(2) << a_, a_ * a_).finished());
  if (a_ == 1) return Vector::Ones(dim_);
  return std::nullopt;
}

// ---- Beale --------------------------------------------------------------------------------------

namespace {
constexpr double beale_c[3] = {1.5, 2.25, 2.625};
}

double Beale::value(const Vector& p) const {
  const double x = p[0], y = p[1];
  double s = 0, yk = 1;
  for (double c : beale_c) {
    yk *= y;
    const double r = c - x + x * yk;
    s += r * r;
  }
  return s;
}

void Beale::gradient(const Vector& p, Vector& g) const {
  const double x = p[0], y = p[1];
  g = Vector::Zero(2);
  double yk = 1;
  for (int k = 1; k <= 3; ++k) {
    const double ykm1 = yk;
    yk *= y;
    const double r = beale_c[k - 1] - x + x * yk;
    g[0] += 2 * r * (yk - 1);
    g[1] += 2 * r * x * k * ykm1;
  }
}

// ---- DoubleWell ---------------------------------------------------------------------------------

DoubleWell::DoubleWell(Eigen::Index dim, double height) : dim_(dim), height_(height) {
  require(dim >= 1, "DoubleWell: the dimension must be at least 1");
  require(std::isfinite(height) && height > 0, "DoubleWell: the height must be positive");
}

double DoubleWell::value(const Vector& x) const {
  return height_ * (x.array().square() - 1).square().sum();
}
void DoubleWell::gradient(const Vector& x, Vector& g) const {
  g = (4 * height_) * (x.array() * (x.array().square() - 1)).matrix();
}
void DoubleWell::hessian_vector(const Vector& x, const Vector& v, Vector& hv) const {
  hv = (height_ * (12 * x.array().square() - 4) * v.array()).matrix();
}

// ---- TwoMinimaQuartic ---------------------------------------------------------------------------

double TwoMinimaQuartic::value(const Vector& p) const {
  const double x = p[0];
  return x * (x - 1) * (x - 3) * (x - 3) + offset;
}
void TwoMinimaQuartic::gradient(const Vector& p, Vector& g) const {
  const double x = p[0];
  g = Vector::Constant(1, ((4 * x - 21) * x + 30) * x - 9);
}
void TwoMinimaQuartic::hessian_vector(const Vector& p, const Vector& v, Vector& hv) const {
  const double x = p[0];
  hv = Vector::Constant(1, ((12 * x - 42) * x + 30) * v[0]);
}
double TwoMinimaQuartic::global_minimizer() {
  return (9 - std::sqrt(33.0)) / 8;
}
std::optional<Vector> TwoMinimaQuartic::known_minimizer() const {
  return Vector::Constant(1, global_minimizer());
}

// ---- LeastSquares -------------------------------------------------------------------------------

LeastSquares::LeastSquares(Matrix a, Vector b) : a_(std::move(a)), b_(std::move(b)) {
  require(a_.rows() > 0 && a_.cols() > 0, "LeastSquares: A must be non-empty");
  require(b_.size() == a_.rows(), "LeastSquares: b must have as many entries as A has rows");
  require(a_.allFinite() && b_.allFinite(), "LeastSquares: A and b must be finite");
}

LeastSquares LeastSquares::random_consistent(Eigen::Index samples, Eigen::Index dim, std::uint64_t seed) {
  require(samples > 0 && dim > 0, "LeastSquares::random_consistent: sizes must be positive");
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  Matrix a(samples, dim);
  for (Eigen::Index j = 0; j < dim; ++j)
    for (Eigen::Index i = 0; i < samples; ++i) a(i, j) = normal(rng);
  Vector x(dim);
  for (Eigen::Index i = 0; i < dim; ++i) x[i] = normal(rng);
  Vector b = a * x;
  return LeastSquares(std::move(a), std::move(b));
}

double LeastSquares::value(const Vector& x) const {
  return (a_ * x - b_).squaredNorm() / (2.0 * static_cast<double>(a_.rows()));
}
void LeastSquares::gradient(const Vector& x, Vector& g) const {
  g.noalias() = a_.transpose() * (a_ * x - b_);
  g /= static_cast<double>(a_.rows());
}
void LeastSquares::hessian_vector(const Vector&, const Vector& v, Vector& hv) const {
  hv.noalias() = a_.transpose() * (a_ * v);
  hv /= static_cast<double>(a_.rows());
}
std::optional<Vector> LeastSquares::known_minimizer() const {
  const Eigen::ColPivHouseholderQR<Matrix> qr(a_);
  if (qr.rank() < a_.cols()) return std::nullopt;
  return Vector(qr.solve(b_));
}

void LeastSquares::sample_gradient(Eigen::Index i, const Vector& x, Vector& g) const {
  g = a_.row(i).transpose() * (a_.row(i).dot(x) - b_[i]);
}
void LeastSquares::batch_gradient(const std::vector<Eigen::Index>& batch, const Vector& x, Vector& g) const {
  require(!batch.empty(), "batch_gradient: empty batch");
  g = Vector::Zero(dim());
  for (Eigen::Index i : batch) {
    require(i >= 0 && i < a_.rows(), "batch_gradient: sample index out of range");
    g += a_.row(i).transpose() * (a_.row(i).dot(x) - b_[i]);
  }
  g /= static_cast<double>(batch.size());
}

// ---- LogisticRegression -------------------------------------------------------------------------

LogisticRegression::LogisticRegression(Matrix x, Vector y, double l2) : x_(std::move(x)), y_(std::move(y)), l2_(l2) {
  require(x_.rows() > 0 && x_.cols() > 0, "LogisticRegression: X must be non-empty");
  require(y_.size() == x_.rows(), "LogisticRegression: y must have one label per row of X");
  require(x_.allFinite(), "LogisticRegression: X must be finite");
  for (Eigen::Index i = 0; i < y_.size(); ++i)
    require(y_[i] == 0 || y_[i] == 1, "LogisticRegression: labels must be 0 or 1");
  require(std::isfinite(l2) && l2 >= 0, "LogisticRegression: l2 must be >= 0");
}

double LogisticRegression::value(const Vector& w) const {
  const Vector z = x_ * w;
  double s = 0;
  for (Eigen::Index i = 0; i < z.size(); ++i) s += softplus(z[i]) - y_[i] * z[i];
  return s / static_cast<double>(z.size()) + 0.5 * l2_ * w.squaredNorm();
}

void LogisticRegression::gradient(const Vector& w, Vector& g) const {
  Vector r = x_ * w;
  for (Eigen::Index i = 0; i < r.size(); ++i) r[i] = logistic(r[i]) - y_[i];
  g.noalias() = x_.transpose() * r;
  g /= static_cast<double>(r.size());
  g += l2_ * w;
}

void LogisticRegression::hessian_vector(const Vector& w, const Vector& v, Vector& hv) const {
  const Vector z = x_ * w;
  Vector s = x_ * v;
  for (Eigen::Index i = 0; i < z.size(); ++i) {
    const double p = logistic(z[i]);
    s[i] *= p * (1 - p);
  }
  hv.noalias() = x_.transpose() * s;
  hv /= static_cast<double>(z.size());
  hv += l2_ * v;
}

void LogisticRegression::sample_gradient(Eigen::Index i, const Vector& w, Vector& g) const {
  g = x_.row(i).transpose() * (logistic(x_.row(i).dot(w)) - y_[i]) + l2_ * w;
}

void LogisticRegression::batch_gradient(const std::vector<Eigen::Index>& batch, const Vector& w, Vector& g) const {
  require(!batch.empty(), "batch_gradient: empty batch");
  g = Vector::Zero(dim());
  for (Eigen::Index i : batch) {
    require(i >= 0 && i < x_.rows(), "batch_gradient: sample index out of range");
    g += x_.row(i).transpose() * (logistic(x_.row(i).dot(w)) - y_[i]);
  }
  g /= static_cast<double>(batch.size());
  g += l2_ * w;
}

double LogisticRegression::error_rate(const Vector& w) const {
  const Vector z = x_ * w;
  Eigen::Index wrong = 0;
  for (Eigen::Index i = 0; i < z.size(); ++i) wrong += (z[i] > 0) != (y_[i] == 1);
  return static_cast<double>(wrong) / static_cast<double>(z.size());
}

LabelledData mnist_two_digits(int negative, int positive, bool test_split, Eigen::Index max_per_digit,
                              const std::string& dir) {
  require(negative >= 0 && negative <= 9 && positive >= 0 && positive <= 9 && negative != positive,
          "mnist_two_digits: need two different digits 0-9");
  require(max_per_digit > 0, "mnist_two_digits: max_per_digit must be positive");
  const io::MnistSet set = io::read_mnist(dir.empty() ? io::default_mnist_dir() : dir,
                                          test_split ? io::MnistSplit::test : io::MnistSplit::train);
  const int pixels = set.rows * set.cols;
  std::vector<std::int64_t> rows;
  Eigen::Index neg = 0, pos = 0;
  for (std::int64_t i = 0; i < set.count; ++i) {
    const int label = set.labels[static_cast<std::size_t>(i)];
    if (label == negative && neg < max_per_digit) {
      rows.push_back(i);
      ++neg;
    } else if (label == positive && pos < max_per_digit) {
      rows.push_back(i);
      ++pos;
    }
  }
  LabelledData d;
  d.x.resize(static_cast<Eigen::Index>(rows.size()), pixels + 1);
  d.y.resize(static_cast<Eigen::Index>(rows.size()));
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const std::uint8_t* img = set.image(rows[r]);
    const auto i = static_cast<Eigen::Index>(r);
    for (int k = 0; k < pixels; ++k) d.x(i, k) = img[k] / 255.0;
    d.x(i, pixels) = 1.0;
    d.y[i] = set.labels[static_cast<std::size_t>(rows[r])] == positive ? 1.0 : 0.0;
  }
  return d;
}

// ---- TanhMlp ------------------------------------------------------------------------------------

TanhMlp::TanhMlp(Matrix inputs, Matrix targets, Eigen::Index hidden)
    : inputs_(std::move(inputs)), targets_(std::move(targets)), hidden_(hidden) {
  require(inputs_.rows() > 0 && inputs_.cols() > 0, "TanhMlp: inputs must be non-empty");
  require(targets_.rows() == inputs_.rows() && targets_.cols() > 0, "TanhMlp: one target row per input row");
  require(hidden > 0, "TanhMlp: the hidden width must be positive");
  require(inputs_.allFinite() && targets_.allFinite(), "TanhMlp: data must be finite");
}

Eigen::Index TanhMlp::dim() const {
  const Eigen::Index d = inputs_.cols(), k = targets_.cols();
  return hidden_ * d + hidden_ + k * hidden_ + k;
}

Vector TanhMlp::initial_parameters(std::uint64_t seed) const {
  const Eigen::Index d = inputs_.cols(), k = targets_.cols();
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  Vector p = Vector::Zero(dim());
  const double s1 = 1 / std::sqrt(static_cast<double>(d)), s2 = 1 / std::sqrt(static_cast<double>(hidden_));
  for (Eigen::Index i = 0; i < hidden_ * d; ++i) p[i] = s1 * normal(rng);
  const Eigen::Index w2 = hidden_ * d + hidden_;
  for (Eigen::Index i = 0; i < k * hidden_; ++i) p[w2 + i] = s2 * normal(rng);
  return p;
}

Vector TanhMlp::default_start() const {
  return initial_parameters(0);
}

double TanhMlp::evaluate(const Vector& p, Vector* g, const std::vector<Eigen::Index>* rows) const {
  const Eigen::Index d = inputs_.cols(), k = targets_.cols(), h = hidden_;
  const Eigen::Map<const Matrix> w1(p.data(), h, d);
  const Eigen::Map<const Vector> b1(p.data() + h * d, h);
  const Eigen::Map<const Matrix> w2(p.data() + h * d + h, k, h);
  const Eigen::Map<const Vector> b2(p.data() + h * d + h + k * h, k);
  Matrix x;
  Matrix y;
  if (rows) {
    x.resize(static_cast<Eigen::Index>(rows->size()), d);
    y.resize(x.rows(), k);
    for (std::size_t r = 0; r < rows->size(); ++r) {
      x.row(static_cast<Eigen::Index>(r)) = inputs_.row((*rows)[r]);
      y.row(static_cast<Eigen::Index>(r)) = targets_.row((*rows)[r]);
    }
  }
  const Matrix& xs = rows ? x : inputs_;
  const Matrix& ys = rows ? y : targets_;
  const double n = static_cast<double>(xs.rows());
  const Matrix a = ((w1 * xs.transpose()).colwise() + b1).array().tanh().matrix();  // h x n
  const Matrix out = (w2 * a).colwise() + b2;                                       // k x n
  const Matrix r = out - ys.transpose();
  const double loss = 0.5 * r.squaredNorm() / n;
  if (g) {
    g->resize(dim());
    const Matrix dout = r / n;                                                     // k x n
    const Matrix da = (w2.transpose() * dout).array() * (1 - a.array().square());  // h x n
    Eigen::Map<Matrix>(g->data(), h, d) = da * xs;
    Eigen::Map<Vector>(g->data() + h * d, h) = da.rowwise().sum();
    Eigen::Map<Matrix>(g->data() + h * d + h, k, h) = dout * a.transpose();
    Eigen::Map<Vector>(g->data() + h * d + h + k * h, k) = dout.rowwise().sum();
  }
  return loss;
}

double TanhMlp::value(const Vector& p) const {
  return evaluate(p, nullptr, nullptr);
}
void TanhMlp::gradient(const Vector& p, Vector& g) const {
  evaluate(p, &g, nullptr);
}
void TanhMlp::sample_gradient(Eigen::Index i, const Vector& p, Vector& g) const {
  const std::vector<Eigen::Index> one{i};
  evaluate(p, &g, &one);
}

// ---- registry -----------------------------------------------------------------------------------

std::vector<std::string> problem_names() {
  return {"quadratic", "rosenbrock", "beale", "double-well", "quartic", "least-squares", "logistic"};
}

std::unique_ptr<Problem> make_problem(const std::string& name, Eigen::Index dim, std::uint64_t seed) {
  require(dim >= 0, "make_problem: the dimension must be >= 0 (0 = the problem's default)");
  if (name == "quadratic") {
    const Eigen::Index d = dim > 0 ? dim : 2;
    Vector spectrum(d);
    for (Eigen::Index i = 0; i < d; ++i)
      spectrum[i] = d == 1 ? 1.0 : std::pow(10.0, static_cast<double>(i) / static_cast<double>(d - 1));
    return std::make_unique<Quadratic>(Quadratic::with_spectrum(spectrum, seed));
  }
  if (name == "rosenbrock") return std::make_unique<Rosenbrock>(dim > 0 ? dim : 2);
  if (name == "beale") {
    require(dim == 0 || dim == 2, "make_problem: beale is 2-dimensional");
    return std::make_unique<Beale>();
  }
  if (name == "double-well") return std::make_unique<DoubleWell>(dim > 0 ? dim : 1);
  if (name == "quartic") {
    require(dim == 0 || dim == 1, "make_problem: quartic is 1-dimensional");
    return std::make_unique<TwoMinimaQuartic>();
  }
  if (name == "least-squares")
    return std::make_unique<LeastSquares>(LeastSquares::random_consistent(100, dim > 0 ? dim : 10, seed));
  if (name == "logistic") {
    require(dim == 0 || dim == 785, "make_problem: logistic (MNIST pixels and an intercept) is 785-dimensional");
    LabelledData d = mnist_two_digits(0, 1, false, 500);
    return std::make_unique<LogisticRegression>(std::move(d.x), std::move(d.y), 1e-3);
  }
  std::string names;
  for (const auto& n : problem_names()) names += (names.empty() ? "" : ", ") + n;
  throw InvalidArgument("make_problem: unknown problem '" + name + "' (known: " + names + ")");
}

}  // namespace odyn::dynamics
