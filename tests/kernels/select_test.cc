#include "tensor_expect.h"

namespace ep::testing {

TEST(RefSelect, WhereBroadcastsThreeWays) {
  const Tensor c = Tensor::from_vector<bool>(Shape{2, 1}, {true, false});
  const Tensor x = Tensor::from_vector<int64_t>(Shape{3}, {1, 2, 3});
  const Tensor y = Tensor::from_vector<int64_t>(Shape{2, 3}, {10, 20, 30, 40, 50, 60});
  NodeUnderTest t("Where", 3, 1, 16);
  expect_tensor<int64_t>(run_ok(t, {&c, &x, &y})[0], Shape{2, 3}, {1, 2, 3, 40, 50, 60});
  const Tensor bad_c = Tensor::from_vector<int32_t>(Shape{1}, {1});
  EXPECT_EQ(run_code(t, {&bad_c, &x, &y}), StatusCode::invalid_model);
}

TEST(RefSelect, TriluUpperLowerWithK) {
  const Tensor x = iota_tensor<int32_t>(Shape{2, 3, 3}, 1);
  NodeUnderTest up("Trilu", 1, 1, 14);
  auto u = run_ok(up, {&x});
  ASSERT_EQ(u.size(), 1u);
  expect_tensor<int32_t>(u[0], Shape{2, 3, 3}, {1, 2, 3, 0, 5, 6, 0, 0, 9, 10, 11, 12, 0, 14, 15, 0, 0, 18});
  const Tensor k = Tensor::from_vector<int64_t>(Shape{}, {-1});
  NodeUnderTest lo("Trilu", 2, 1, 14);
  lo.attr("upper", int64_t{0});
  auto l = run_ok(lo, {&x, &k});
  ASSERT_EQ(l.size(), 1u);
  expect_tensor<int32_t>(l[0], Shape{2, 3, 3}, {0, 0, 0, 4, 0, 0, 7, 8, 0, 0, 0, 0, 13, 0, 0, 16, 17, 0});
}

TEST(RefSelect, NotNegatesBools) {
  const Tensor x = Tensor::from_vector<bool>(Shape{3}, {true, false, true});
  NodeUnderTest t("Not", 1);
  expect_tensor<bool>(run_ok(t, {&x})[0], Shape{3}, {false, true, false});
}

}  // namespace ep::testing
