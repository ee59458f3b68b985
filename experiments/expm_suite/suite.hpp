// Reader for the expm accuracy suite (tests/data/expm_suite.txt, written by make_reference.cpp).
#pragma once

#include <Eigen/Core>
#include <complex>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "odyn/core/error.hpp"
#include "odyn/linalg/scalar.hpp"

namespace odyn::expm_suite {

using MatrixMp = Eigen::Matrix<mp50, Eigen::Dynamic, Eigen::Dynamic>;

struct Case {
  std::string name, source;
  bool complex = false;
  Eigen::MatrixXcd a;           // exact doubles (zero imaginary part for real cases)
  MatrixMp ref_real, ref_imag;  // exp(A) to 50 digits
};

inline std::vector<Case> read_suite(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw IoError("cannot open " + path);
  std::vector<Case> cases;
  std::string line;
  int line_no = 0;
  const auto fail = [&](const std::string& what) { throw IoError(path + ":" + std::to_string(line_no) + ": " + what); };
  const auto next = [&]() {
    do {
      if (!std::getline(in, line)) fail("unexpected end of file");
      ++line_no;
    } while (!line.empty() && line[0] == '#');
    return line;
  };
  while (true) {
    std::string first;
    do {
      if (!std::getline(in, first)) return cases;
      ++line_no;
    } while (first.empty() || first[0] == '#');
    Case c;
    if (first.rfind("name ", 0) != 0) fail("expected 'name'");
    c.name = first.substr(5);
    if (next().rfind("source ", 0) != 0) fail("expected 'source'");
    c.source = line.substr(7);
    std::istringstream size(next());
    std::string word, kind;
    Eigen::Index n = 0;
    if (!(size >> word >> n >> kind) || word != "size" || n <= 0) fail("expected 'size N real|complex'");
    c.complex = kind == "complex";
    if (next() != "A") fail("expected 'A'");
    c.a.resize(n, n);
    for (Eigen::Index i = 0; i < n; ++i) {
      std::istringstream row(next());
      for (Eigen::Index j = 0; j < n; ++j) {
        double re = 0, im = 0;
        if (!(row >> re) || (c.complex && !(row >> im))) fail("bad entry");
        c.a(i, j) = {re, im};
      }
    }
    if (next() != "expA") fail("expected 'expA'");
    c.ref_real = MatrixMp::Zero(n, n);
    c.ref_imag = MatrixMp::Zero(n, n);
    for (Eigen::Index i = 0; i < n; ++i) {
      std::istringstream row(next());
      for (Eigen::Index j = 0; j < n; ++j) {
        std::string re, im;
        if (!(row >> re) || (c.complex && !(row >> im))) fail("bad entry");
        c.ref_real(i, j) = mp50(re);
        if (c.complex) c.ref_imag(i, j) = mp50(im);
      }
    }
    if (next() != "end") fail("expected 'end'");
    cases.push_back(std::move(c));
  }
}

}  // namespace odyn::expm_suite
