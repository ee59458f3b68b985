#include "odyn/core/runtime.hpp"

#include <gtest/gtest.h>

#include "odyn/core/error.hpp"
#include "odyn/core/validate.hpp"

TEST(Runtime, ThreadCountIsRememberedAndValidated) {
  odyn::set_num_threads(2);
  EXPECT_EQ(odyn::num_threads(), 2);
  odyn::set_num_threads(1);
  EXPECT_EQ(odyn::num_threads(), 1);
  EXPECT_THROW(odyn::set_num_threads(0), odyn::InvalidArgument);
  EXPECT_EQ(odyn::num_threads(), 1);
}

TEST(Validate, ShapesAndFiniteness) {
  Eigen::MatrixXd a = Eigen::MatrixXd::Ones(2, 3);
  EXPECT_THROW(odyn::require_square(a, "f"), odyn::InvalidArgument);
  a = Eigen::MatrixXd::Ones(2, 2);
  EXPECT_NO_THROW(odyn::require_square(a, "f"));
  a(1, 0) = std::numeric_limits<double>::quiet_NaN();
  try {
    odyn::require_finite(a, "f");
    FAIL() << "NaN not detected";
  } catch (const odyn::InvalidArgument& e) {
    EXPECT_STREQ(e.what(), "f: entry (1, 0) is not finite");
  }
  EXPECT_THROW(odyn::require_nonempty(Eigen::MatrixXd(0, 0), "f"), odyn::InvalidArgument);
}
