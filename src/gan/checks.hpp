// Input checks shared by the GAN layer's sources (not installed).
#pragma once

#include <string>

#include "../torch/checks.hpp"
#include "odyn/core/error.hpp"

namespace odyn::gan::detail {

// Throws odyn::InvalidArgument("gan::" + where + ": " + message) unless ok.
inline void require(bool ok, const std::string& where, const std::string& message) {
  if (!ok) throw InvalidArgument("gan::" + where + ": " + message);
}

using odyn::torch::detail::shape;

}  // namespace odyn::gan::detail
