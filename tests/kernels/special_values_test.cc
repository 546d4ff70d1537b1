#include <cmath>

#include "kernel_test_util.h"

namespace ep::testing {
namespace {

TEST(RefSpecialValues, IsNaNAndIsInfDirections) {
  const Tensor x = Tensor::from_vector<float>(Shape{5}, {-1.2f, NAN, INFINITY, 2.8f, -INFINITY});
  NodeUnderTest nan("IsNaN", 1);
  auto n = nan.run({&x});
  ASSERT_TRUE(n.is_ok()) << n.status().to_string();
  const bool want_nan[] = {false, true, false, false, false};
  for (int i = 0; i < 5; ++i) EXPECT_EQ(n.value()[0].as<bool>()[i], want_nan[i]) << i;
  for (int64_t pos : {0, 1})
    for (int64_t neg : {0, 1}) {
      NodeUnderTest inf("IsInf", 1);
      inf.attr("detect_positive", pos).attr("detect_negative", neg);
      auto r = inf.run({&x});
      ASSERT_TRUE(r.is_ok()) << r.status().to_string();
      const bool* y = r.value()[0].as<bool>();
      EXPECT_EQ(y[2], pos == 1);
      EXPECT_EQ(y[4], neg == 1);
      EXPECT_FALSE(y[0] || y[1] || y[3]);
    }
}

TEST(RefSpecialValues, IntegerInputIsRejected) {
  const Tensor x = Tensor::from_vector<int32_t>(Shape{1}, {1});
  NodeUnderTest nan("IsNaN", 1);
  EXPECT_FALSE(nan.run({&x}).is_ok());
}

}  // namespace
}  // namespace ep::testing
