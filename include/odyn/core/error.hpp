// Exceptions thrown by odyn. Every public function reports bad input by throwing one of these,
// with a message that names the function and says what was wrong.
#pragma once

#include <stdexcept>
#include <string>

namespace odyn {

// Base class of every odyn exception.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A value, shape or option that the function cannot accept (wrong dimensions, NaN, unknown name).
class InvalidArgument : public Error {
 public:
  using Error::Error;
};

// A file that cannot be opened, read or written, or whose contents are malformed.
class IoError : public Error {
 public:
  using Error::Error;
};

// A result outside the range of its scalar type (for example exp(A) of a matrix with a huge norm).
class OverflowError : public Error {
 public:
  using Error::Error;
};

}  // namespace odyn
