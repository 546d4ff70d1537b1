#include "kernels/ref/common.h"
#include "kernel_test_util.h"

namespace ep::testing {

TEST(RefBinary, AddBroadcastsAgainstLoopOracle) {
  const Tensor a = random_tensor(Shape{2, 3, 4}, 1);
  const Tensor b = random_tensor(Shape{3, 1}, 2);
  NodeUnderTest t("Add", 2);
  auto out = t.run({&a, &b});
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  Tensor want(DType::f32, Shape{2, 3, 4});
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k)
        want.as<float>()[(i * 3 + j) * 4 + k] = a.as<float>()[(i * 3 + j) * 4 + k] + b.as<float>()[j];
  expect_close(out.value()[0], want);
}

TEST(RefBinary, IncompatibleShapesNameTheNode) {
  const Tensor a = random_tensor(Shape{2, 3}, 1);
  const Tensor b = random_tensor(Shape{4}, 2);
  NodeUnderTest t("Mul", 2);
  auto out = t.run({&a, &b});
  ASSERT_FALSE(out.is_ok());
  EXPECT_EQ(out.status().code(), StatusCode::invalid_model);
  EXPECT_NE(out.status().message().find("node 'n0' (Mul)"), std::string::npos) << out.status().message();
}

TEST(RefBinary, IntegerModFollowsDivisorSign) {
  const Tensor a = Tensor::from_vector<int64_t>(Shape{4}, {-7, 7, -7, 7});
  const Tensor b = Tensor::from_vector<int64_t>(Shape{4}, {3, -3, -3, 3});
  NodeUnderTest t("Mod", 2);
  auto out = t.run({&a, &b});
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  const int64_t* y = out.value()[0].as<int64_t>();
  EXPECT_EQ(y[0], 2);
  EXPECT_EQ(y[1], -2);
  EXPECT_EQ(y[2], -1);
  EXPECT_EQ(y[3], 1);
}

TEST(RefBinary, ComparisonYieldsBool) {
  const Tensor a = Tensor::from_vector<float>(Shape{3}, {1, 2, 3});
  const Tensor b = Tensor::from_vector<float>(Shape{1}, {2});
  NodeUnderTest t("Less", 2);
  auto out = t.run({&a, &b});
  ASSERT_TRUE(out.is_ok());
  ASSERT_EQ(out.value()[0].dtype(), DType::boolean);
  const bool* y = out.value()[0].as<bool>();
  EXPECT_TRUE(y[0]);
  EXPECT_FALSE(y[1]);
  EXPECT_FALSE(y[2]);
}

}  // namespace ep::testing
