// Input checks shared by the public functions: each throws odyn::InvalidArgument naming `where`.
#pragma once

#include <Eigen/Core>
#include <string>

#include "odyn/core/error.hpp"

namespace odyn {

template <class Derived>
void require_square(const Eigen::MatrixBase<Derived>& a, const std::string& where) {
  if (a.rows() != a.cols()) {
    throw InvalidArgument(where + ": expected a square matrix, got " + std::to_string(a.rows()) + "x" +
                          std::to_string(a.cols()));
  }
}

template <class Derived>
void require_nonempty(const Eigen::MatrixBase<Derived>& a, const std::string& where) {
  if (a.size() == 0) throw InvalidArgument(where + ": expected a non-empty matrix");
}

// Throws if any entry is NaN or infinite, naming the first such entry.
template <class Derived>
void require_finite(const Eigen::MatrixBase<Derived>& a, const std::string& where) {
  for (Eigen::Index j = 0; j < a.cols(); ++j) {
    for (Eigen::Index i = 0; i < a.rows(); ++i) {
      if (!(Eigen::numext::isfinite)(a(i, j))) {
        throw InvalidArgument(where + ": entry (" + std::to_string(i) + ", " + std::to_string(j) + ") is not finite");
      }
    }
  }
}

}  // namespace odyn
