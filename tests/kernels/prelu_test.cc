// PRelu with a unidirectionally broadcast slope.
#include "kernel_test_util.h"

namespace ep::testing {
namespace {

TEST(RefPRelu, PerChannelSlopeBroadcasts) {
  const Tensor x = random_tensor(Shape{2, 3, 4, 5}, 1);
  const Tensor slope = random_tensor(Shape{3, 1, 1}, 2);
  auto out = NodeUnderTest("PRelu", 2).run({&x, &slope});
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  Tensor want(DType::f32, x.shape());
  for (int64_t i = 0; i < x.numel(); ++i) {
    const float v = x.as<float>()[i];
    want.as<float>()[i] = v < 0 ? v * slope.as<float>()[(i / 20) % 3] : v;
  }
  expect_close(out.value()[0], want);
}

TEST(RefPRelu, IntegerAndBadSlope) {
  const Tensor x = Tensor::from_vector<int32_t>(Shape{4}, {-4, -1, 0, 3});
  const Tensor s = Tensor::from_vector<int32_t>(Shape{1}, {2});
  auto out = NodeUnderTest("PRelu", 2).run({&x, &s});
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  const int32_t want[4] = {-8, -2, 0, 3};
  for (int i = 0; i < 4; ++i) EXPECT_EQ(out.value()[0].as<int32_t>()[i], want[i]);
  const Tensor wide = Tensor::from_vector<int32_t>(Shape{2, 4}, {1, 1, 1, 1, 1, 1, 1, 1});
  EXPECT_EQ(NodeUnderTest("PRelu", 2).run({&x, &wide}).status().code(), StatusCode::invalid_model);
}

}  // namespace
}  // namespace ep::testing
