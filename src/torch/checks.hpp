// Input checks shared by the torch layer's sources (not installed).
#pragma once

#include <torch/torch.h>

#include <string>

#include "odyn/core/error.hpp"

namespace odyn::torch::detail {

// Throws odyn::InvalidArgument("torch::" + where + ": " + message) unless ok.
inline void require(bool ok, const std::string& where, const std::string& message) {
  if (!ok) throw InvalidArgument("torch::" + where + ": " + message);
}

// "(2, 3)": a tensor's shape for messages.
inline std::string shape(const ::torch::Tensor& t) {
  std::string s = "(";
  for (int64_t d = 0; d < t.dim(); ++d) s += (d ? ", " : "") + std::to_string(t.size(d));
  return s + ")";
}

}  // namespace odyn::torch::detail
