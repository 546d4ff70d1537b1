#include "tensor_expect.h"

namespace ep::testing {

TEST(RefExpandTile, ExpandSpecExamples) {
  // data [[1],[2],[3]] to shape [2,1,6]: result 2x3x6.
  const Tensor x = Tensor::from_vector<float>(Shape{3, 1}, {1, 2, 3});
  const Tensor shape = ints({2, 1, 6});
  NodeUnderTest t("Expand", 2, 1, 13);
  auto out = run_ok(t, {&x, &shape});
  ASSERT_EQ(out.size(), 1u);
  std::vector<float> want;
  for (int b = 0; b < 2; ++b)
    for (int r = 0; r < 3; ++r)
      for (int c = 0; c < 6; ++c) want.push_back(static_cast<float>(r + 1));
  expect_tensor<float>(out[0], Shape{2, 3, 6}, want);
  // A shape smaller than the input keeps the input's dims.
  const Tensor small = ints({3, 1});
  const Tensor wide = iota_tensor<int64_t>(Shape{1, 4});
  expect_tensor<int64_t>(run_ok(t, {&wide, &small})[0], Shape{3, 4}, {0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3});
  const Tensor clash = ints({2, 2});
  EXPECT_EQ(run_code(t, {&x, &clash}), StatusCode::invalid_model);
  const Tensor neg = ints({-1, 1});
  EXPECT_EQ(run_code(t, {&x, &neg}), StatusCode::invalid_model);
}

TEST(RefExpandTile, TileRepeatsEachAxis) {
  const Tensor x = Tensor::from_vector<int32_t>(Shape{2, 2}, {0, 1, 2, 3});
  const Tensor reps = ints({2, 3});
  NodeUnderTest t("Tile", 2);
  auto out = run_ok(t, {&x, &reps});
  ASSERT_EQ(out.size(), 1u);
  std::vector<int32_t> want;
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 6; ++j) want.push_back(x.as<int32_t>()[(i % 2) * 2 + j % 2]);
  expect_tensor<int32_t>(out[0], Shape{4, 6}, want);
  const Tensor zero = ints({0, 1});
  expect_tensor<int32_t>(run_ok(t, {&x, &zero})[0], Shape{0, 2}, {});
  const Tensor short_reps = ints({2});
  EXPECT_EQ(run_code(t, {&x, &short_reps}), StatusCode::invalid_model);
  const Tensor huge = ints({int64_t{1} << 62, int64_t{1} << 62});
  EXPECT_EQ(run_code(t, {&x, &huge}), StatusCode::invalid_model);
}

}  // namespace ep::testing
