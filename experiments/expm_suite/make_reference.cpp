// Writes the expm accuracy suite: 50+ test matrices with their exponentials to 50 significant
// digits, computed independently of odyn's Pade-based expm by a Taylor series with heavy scaling
// (||A / 2^s||_1 <= 2^-10, terms until they fall below 10^-120) and squaring, in 100-digit and
// in 130-digit arithmetic; the two must agree to 10^-55 or the program fails.
// Usage: odyn_exp_expm_reference OUT.txt
#include <Eigen/Core>
#include <Eigen/LU>
#include <Eigen/QR>
#include <boost/multiprecision/cpp_bin_float.hpp>
#include <boost/multiprecision/eigen.hpp>
#include <cmath>
#include <complex>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace {

using Mat = Eigen::MatrixXd;
using CMat = Eigen::MatrixXcd;
using F100 = boost::multiprecision::number<boost::multiprecision::cpp_bin_float<100>>;
using F130 = boost::multiprecision::number<boost::multiprecision::cpp_bin_float<130>>;

struct Case {
  std::string name, source;
  CMat a;  // real cases have zero imaginary parts
  bool complex = false;
};

template <class F>
Eigen::Matrix<F, -1, -1> taylor_exp(const Eigen::Matrix<F, -1, -1>& a) {
  using M = Eigen::Matrix<F, -1, -1>;
  const Eigen::Index n = a.rows();
  const F norm = a.cwiseAbs().colwise().sum().maxCoeff();
  int s = 0;
  while (norm > ldexp(F(1), s - 10)) ++s;
  const M as = a / ldexp(F(1), s);
  M sum = M::Identity(n, n), term = M::Identity(n, n);
  for (int k = 1; k < 200; ++k) {
    term = M(term * as) / F(k);
    sum += term;
    if (term.cwiseAbs().maxCoeff() < F("1e-120") * sum.cwiseAbs().maxCoeff()) break;
  }
  for (int i = 0; i < s; ++i) sum = M(sum * sum);
  return sum;
}

// Real 2n x 2n embedding [[Re, -Im], [Im, Re]] of a complex matrix; exp commutes with it.
template <class F>
Eigen::Matrix<F, -1, -1> embed(const CMat& a) {
  const Eigen::Index n = a.rows();
  Eigen::Matrix<F, -1, -1> r(2 * n, 2 * n);
  for (Eigen::Index i = 0; i < n; ++i)
    for (Eigen::Index j = 0; j < n; ++j) {
      const F re(a(i, j).real()), im(a(i, j).imag());
      r(i, j) = re, r(i, j + n) = -im, r(i + n, j) = im, r(i + n, j + n) = re;
    }
  return r;
}

Mat scaled(Mat a, double norm) {
  return a * (norm / a.cwiseAbs().colwise().sum().maxCoeff());
}

std::vector<Case> cases() {
  std::vector<Case> c;
  const auto add = [&](std::string name, std::string source, const Mat& a) {
    c.push_back({std::move(name), std::move(source), a.cast<std::complex<double>>(), false});
  };
  const auto add_complex = [&](std::string name, std::string source, const CMat& a) {
    c.push_back({std::move(name), std::move(source), a, true});
  };
  Mat a;
  a.resize(3, 3);
  a << 4, 2, 0, 1, 4, 1, 1, 1, 4;
  add("ward1", "Ward 1977, test 1", a);
  a << 29.87942128909879, 0.7815750847907159, -2.289519314033932, 0.7815750847907159, 25.72656945571064,
      8.680737820540137, -2.289519314033932, 8.680737820540137, 34.39400925519054;
  add("ward2", "Ward 1977, test 2 (symmetric)", a);
  a << -131, 19, 18, -390, 56, 54, -387, 57, 52;
  add("ward3", "Ward 1977, test 3 (eigenvalues -1, -2, -20, ill-conditioned eigenvectors)", a);
  a = Mat::Zero(10, 10);
  for (int i = 0; i < 9; ++i) a(i, i + 1) = 1;
  a(9, 0) = 1e-10;
  add("ward4", "Ward 1977, test 4 (10 x 10 shift with corner 1e-10)", a);
  a.resize(3, 3);
  const double ma = 2e10, mb = 4e8 / 6, mc = 200.0 / 3, md = 3, me = 1e-8;
  a << 0, me, 0, -(ma + mb), -md, ma, mc, 0, -mc;
  add("moler_balancing", "Moler's balancing example (Nelson issue 1201; Moler & Van Loan 2003)", a);
  a.resize(2, 2);
  a << 0, 1, -39, -40;
  add("laub", "Laub's [[0, 1], [-39, -40]] (Moler & Van Loan 2003)", a);
  for (int n : {4, 7, 10}) {  // lower-triangular Pascal matrices (Eigen's test suite)
    a = Mat::Zero(n, n);
    for (int i = 0; i < n; ++i)
      for (int j = 0; j <= i; ++j)
        a(i, j) = std::round(std::tgamma(i + 1) / (std::tgamma(j + 1) * std::tgamma(i - j + 1)));
    add("pascal_lower_" + std::to_string(n), "lower-triangular Pascal matrix, n = " + std::to_string(n), a);
  }
  a = Mat::Zero(6, 6);
  for (int i = 0; i < 6; ++i)
    for (int j = 0; j < 6; ++j)
      a(i, j) = std::round(std::tgamma(i + j + 1) / (std::tgamma(i + 1) * std::tgamma(j + 1)));
  add("pascal_symmetric_6", "symmetric Pascal matrix, n = 6", a);
  for (double alpha : {1.0, 100.0, 1e4}) {
    a.resize(2, 2);
    a << 0, alpha, -alpha, 0;
    std::ostringstream name;
    name << "rotation_" << alpha;
    add(name.str(), "rotation generator [[0, a], [-a, 0]], a = " + name.str().substr(9), a);
  }
  a.resize(2, 2);
  a << 0, 5, 5, 0;
  add("hyperbolic_5", "hyperbolic rotation generator [[0, 5], [5, 0]]", a);
  std::mt19937_64 rng(2024);
  std::normal_distribution<double> normal;
  const auto gaussian = [&](int r, int k) {
    Mat g(r, k);
    for (Eigen::Index i = 0; i < g.size(); ++i) g.data()[i] = normal(rng);
    return g;
  };
  {
    const Mat g = gaussian(6, 6);
    add("skew_6", "random skew-symmetric 6 x 6, 1-norm 20", scaled(g - g.transpose(), 20));
  }
  a = Mat::Zero(4, 4);
  a << 0, 1, 2, 3, 0, 0, 4, 5, 0, 0, 0, 6, 0, 0, 0, 0;
  add("nilpotent_4", "strictly upper-triangular 4 x 4", a);
  a = Mat::Zero(8, 8);
  for (int i = 0; i < 7; ++i) a(i, i + 1) = 10;
  add("nilpotent_shift_8", "8 x 8 shift times 10 (nilpotent, index 8)", a);
  for (double lambda : {-1.0, 2.0}) {
    a = Mat::Zero(4, 4);
    for (int i = 0; i < 4; ++i) a(i, i) = lambda;
    for (int i = 0; i < 3; ++i) a(i, i + 1) = 1;
    add("jordan_4_" + std::to_string(static_cast<int>(lambda)), "Jordan block, n = 4", a);
  }
  a = Mat::Zero(6, 6);
  for (int i = 0; i < 6; ++i) a(i, i) = -0.5;
  for (int i = 0; i < 5; ++i) a(i, i + 1) = 1e3;
  add("jordan_6_big", "Jordan-like block with superdiagonal 1e3, diagonal -0.5", a);
  for (double b : {1e2, 1e4, 1e6, 1e8}) {
    a.resize(2, 2);
    a << 1, b, 0, -1;
    std::ostringstream name;
    name << "overscaling_" << b;
    add(name.str(), "[[1, b], [0, -1]] (Al-Mohy & Higham 2009, Section 1)", a);
  }
  a = Mat::Zero(5, 5);
  for (int i = 0; i < 5; ++i) a(i, i) = -i;
  for (int i = 0; i < 5; ++i)
    for (int j = i + 1; j < 5; ++j) a(i, j) = 1e3 * (1 + i + j);
  add("triangular_big_offdiag_5", "upper triangular, diagonal 0..-4, off-diagonal ~1e3", a);
  for (double norm : {1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0, 1e3}) {
    std::ostringstream name;
    name << "normal_8_" << norm;
    add(name.str(), "random N(0,1) 8 x 8 scaled to the 1-norm", scaled(gaussian(8, 8), norm));
  }
  for (double norm : {1.0, 10.0, 100.0}) {  // non-normal: Q T Q^T with a strongly triangular T
    Mat t = gaussian(8, 8).triangularView<Eigen::Upper>();
    t.diagonal() /= 10;
    const Eigen::HouseholderQR<Mat> qr(gaussian(8, 8));
    const Mat q = qr.householderQ();
    std::ostringstream name;
    name << "nonnormal_8_" << norm;
    add(name.str(), "Q T Q^T, T upper triangular with small diagonal, scaled to the 1-norm",
        scaled(q * t * q.transpose(), norm));
  }
  {
    Mat d = Mat::Zero(5, 5);
    d.diagonal() << -20, -10, 0, 5, 8;
    const Mat v = Mat::Identity(5, 5) + 0.5 * gaussian(5, 5);
    add("diagonalizable_5", "V diag(-20, -10, 0, 5, 8) V^-1 with a non-orthogonal V", v * d * v.inverse());
  }
  a.resize(2, 2);
  a << 1, 0, 1, 0;
  add("idempotent", "[[1, 0], [1, 0]], A^2 = A (Su, kexue.fm/archives/6377)", a);
  a.resize(1, 1);
  a << -7.5;
  add("scalar", "1 x 1", a);
  a = -20 * Mat::Identity(3, 3);
  add("negative_identity", "-20 I", a);
  a = Mat::Zero(3, 3);
  add("zero", "zero matrix", a);
  for (double norm : {0.1, 10.0}) {
    const CMat z = gaussian(6, 6).cast<std::complex<double>>() + std::complex<double>(0, 1) * gaussian(6, 6);
    std::ostringstream name;
    name << "complex_6_" << norm;
    add_complex(name.str(), "random complex 6 x 6 scaled to the 1-norm",
                z * (norm / z.cwiseAbs().colwise().sum().maxCoeff()));
  }
  {
    CMat z(2, 2);
    z << 50, 3, std::complex<double>(0, 2), 0;
    add_complex("scipy_21803", "[[50, 3], [2i, 0]] (scipy issue 21803)", z);
    const Mat g = gaussian(5, 5);
    add_complex("skew_hermitian_5", "i times a symmetric 5 x 5 (unitary exponential)",
                std::complex<double>(0, 1) * (g + g.transpose()).cast<std::complex<double>>() * 3.0);
    CMat j = CMat::Zero(4, 4);
    for (int i = 0; i < 4; ++i) j(i, i) = std::complex<double>(1, 2);
    for (int i = 0; i < 3; ++i) j(i, i + 1) = 1;
    add_complex("complex_jordan_4", "Jordan block with eigenvalue 1 + 2i", j);
  }
  return c;
}

std::string digits(const F100& x, int n) {
  std::ostringstream s;
  s << std::setprecision(n) << std::scientific << x;
  return s.str();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: odyn_exp_expm_reference OUT.txt\n";
    return 2;
  }
  std::ostringstream out;
  out << "# odyn expm accuracy suite: A (exact doubles, 17 digits) and exp(A) to 50 significant digits.\n"
         "# Reference: Taylor series with scaling ||A/2^s||_1 <= 2^-10 and squaring, in 100-digit\n"
         "# arithmetic, checked against the same in 130 digits. Complex entries are written 're im'.\n"
         "# Written by experiments/expm_suite/make_reference.cpp.\n";
  int count = 0;
  for (const Case& c : cases()) {
    const Eigen::Index n = c.a.rows();
    const Eigen::Matrix<F100, -1, -1> x = taylor_exp(embed<F100>(c.a));
    const Eigen::Matrix<F130, -1, -1> y = taylor_exp(embed<F130>(c.a));
    const F130 diff =
        (y - x.cast<F130>()).cwiseAbs().colwise().sum().maxCoeff() / y.cwiseAbs().colwise().sum().maxCoeff();
    if (diff > F130("1e-55")) {
      std::cerr << c.name << ": 100- and 130-digit references differ by " << diff << '\n';
      return 1;
    }
    out << "name " << c.name << "\nsource " << c.source << "\nsize " << n << (c.complex ? " complex" : " real")
        << "\nA\n";
    for (Eigen::Index i = 0; i < n; ++i) {
      for (Eigen::Index j = 0; j < n; ++j) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.17g", c.a(i, j).real());
        out << (j ? " " : "") << buf;
        if (c.complex) std::snprintf(buf, sizeof buf, " %.17g", c.a(i, j).imag()), out << buf;
      }
      out << '\n';
    }
    out << "expA\n";
    for (Eigen::Index i = 0; i < n; ++i) {
      for (Eigen::Index j = 0; j < n; ++j) {
        out << (j ? " " : "") << digits(x(i, j), 49);
        if (c.complex) out << ' ' << digits(x(i + n, j), 49);
      }
      out << '\n';
    }
    out << "end\n";
    ++count;
  }
  std::ofstream(argv[1]) << out.str();
  std::cerr << count << " matrices written to " << argv[1] << '\n';
  return 0;
}
