// odyn expm: the matrix exponential of a matrix file, its Frechet derivative and condition number.
#include <charconv>
#include <cmath>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>

#include "commands.hpp"
#include "odyn/core/error.hpp"
#include "odyn/io/atomic_file.hpp"
#include "odyn/io/matrix_file.hpp"
#include "odyn/io/matrix_text.hpp"
#include "odyn/linalg/expm.hpp"

namespace odyn::cli {
namespace {

struct ExpmOptions {
  std::string input, frechet, output, scalar = "double";
  double t = 1.0;
  bool cond = false;
};

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// One matrix as text: shortest round-trip decimals for double, 50 significant digits for mp50.
template <class Mat>
void write_text(std::ostream& out, const Mat& m, const std::string& header) {
  if (!header.empty()) out << "# " << header << '\n';
  for (Eigen::Index i = 0; i < m.rows(); ++i) {
    for (Eigen::Index j = 0; j < m.cols(); ++j) {
      if (j) out << ' ';
      if constexpr (std::is_same_v<typename Mat::Scalar, double>) {
        char buf[64];
        const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, m(i, j));
        (void)ec;
        out.write(buf, end - buf);
      } else {
        out << std::setprecision(50) << m(i, j);
      }
    }
    out << '\n';
  }
}

template <class Mat>
void emit(const ExpmOptions& o, const Mat& m, const std::string& header) {
  if (o.output.empty()) {
    write_text(std::cout, m, header);
  } else if (ends_with(o.output, ".npy")) {
    if constexpr (!std::is_same_v<typename Mat::Scalar, double>) {
      throw InvalidArgument("expm: --scalar mp50 writes text only (.npy holds doubles); choose another -o");
    } else {
      io::write_matrix(o.output, m);
    }
  } else {
    io::write_file_atomically(o.output, [&](std::ostream& out) { write_text(out, m, header); });
  }
}

template <class S>
void run(const ExpmOptions& o) {
  using Mat = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>;
  const Eigen::MatrixXd a = io::read_matrix(o.input);
  if (a.rows() != a.cols())
    throw InvalidArgument("expm: " + o.input + " holds a " + std::to_string(a.rows()) + "x" + std::to_string(a.cols()) +
                          " matrix; a square one is needed");
  const Mat ta = Mat(a.cast<S>()) * S(o.t);
  std::string header;
  if (o.cond) {
    const double kappa = static_cast<double>(linalg::expm_cond(Eigen::MatrixXd(a * o.t)));
    char buf[96];
    std::snprintf(buf, sizeof buf, "relative condition number of exp at tA (1-norm estimate): %.3g", kappa);
    header = buf;
    std::cerr << buf << '\n';
  }
  if (!o.frechet.empty()) {
    const Eigen::MatrixXd e = io::read_matrix(o.frechet);
    if (e.rows() != a.rows() || e.cols() != a.cols())
      throw InvalidArgument("expm: --frechet " + o.frechet + " must have the shape of A");
    // d/dh exp(t (A + h E)) at h = 0 is L(tA, tE)
    emit(o, Mat(linalg::expm_frechet(ta, Mat(Mat(e.cast<S>()) * S(o.t))).frechet), header);
  } else {
    emit(o, Mat(linalg::expm(ta)), header);
  }
}

}  // namespace

void add_expm_command(CLI::App& app, int& status) {
  auto o = std::make_shared<ExpmOptions>();
  CLI::App* cmd =
      app.add_subcommand("expm",
                         "Write exp(tA) of the square matrix in FILE (text or .npy), or with --frechet the derivative "
                         "d/dh exp(t(A + hE)) at h = 0, as text on stdout or to -o OUT (.npy or text)");
  cmd->add_option("FILE", o->input, "Matrix A (text or .npy)")->required()->check(CLI::ExistingFile);
  cmd->add_option("--t", o->t, "Scale: compute exp(tA)")->capture_default_str();
  cmd->add_option("--frechet", o->frechet, "Direction E (same shape as A): write the Frechet derivative instead")
      ->check(CLI::ExistingFile);
  cmd->add_flag("--cond", o->cond, "Print the relative condition number of exp at tA (also as a header comment)");
  cmd->add_option("--scalar", o->scalar, "Arithmetic: double, or mp50 (50 digits, written with 50 digits)")
      ->check(CLI::IsMember({"double", "mp50"}))
      ->capture_default_str();
  cmd->add_option("-o,--output", o->output, "Output file (.npy or text); stdout if absent");
  cmd->callback([o, &status] {
    if (!std::isfinite(o->t)) throw InvalidArgument("expm: --t must be finite");
    if (o->scalar == "mp50") {
      run<mp50>(*o);
    } else {
      run<double>(*o);
    }
    status = 0;
  });
}

}  // namespace odyn::cli
