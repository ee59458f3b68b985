// The 3 x 3 and 4 x 4 matrix exponentials on fixed-size matrices, instantiated once here.
#include <complex>

#include "odyn/linalg/expm.hpp"

namespace odyn::linalg::detail {

template <class S>
SmallMatrix<S> expm_fixed_size(const SmallMatrix<S>& a, ExpmStats& stats) {
  if (a.rows() == 3) return expm_structured(Eigen::Matrix<S, 3, 3>(a), stats);
  if (a.rows() == 4) return expm_structured(Eigen::Matrix<S, 4, 4>(a), stats);
  throw InvalidArgument("expm_fixed_size: expected a 3 x 3 or 4 x 4 matrix");
}

template SmallMatrix<float> expm_fixed_size(const SmallMatrix<float>&, ExpmStats&);
template SmallMatrix<double> expm_fixed_size(const SmallMatrix<double>&, ExpmStats&);
template SmallMatrix<std::complex<float>> expm_fixed_size(const SmallMatrix<std::complex<float>>&, ExpmStats&);
template SmallMatrix<std::complex<double>> expm_fixed_size(const SmallMatrix<std::complex<double>>&, ExpmStats&);

}  // namespace odyn::linalg::detail
