#include "tensor_expect.h"

namespace ep::testing {

TEST(RefShapeOps, ReshapeCopiesZeroAndInfersMinusOne) {
  const Tensor x = iota_tensor<float>(Shape{2, 3, 4});
  const Tensor shape = ints({0, -1, 2});
  NodeUnderTest t("Reshape", 2);
  auto out = run_ok(t, {&x, &shape});
  ASSERT_EQ(out.size(), 1u);
  std::vector<float> want(24);
  for (int i = 0; i < 24; ++i) want[i] = static_cast<float>(i);
  expect_tensor<float>(out[0], Shape{2, 6, 2}, want);
}

TEST(RefShapeOps, ReshapeAllowzeroKeepsZeroDims) {
  const Tensor x(DType::f32, Shape{0, 3});
  const Tensor shape = ints({3, 0});
  NodeUnderTest t("Reshape", 2, 1, 14);
  t.attr("allowzero", int64_t{1});
  auto out = run_ok(t, {&x, &shape});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].shape(), (Shape{3, 0}));
}

TEST(RefShapeOps, ReshapeRejectsBadShapes) {
  const Tensor x = iota_tensor<float>(Shape{2, 3});
  const Tensor two_minus = ints({-1, -1});
  const Tensor wrong = ints({4, 2});
  const Tensor negative = ints({-2, 3});
  const Tensor zero_past_rank = ints({2, 3, 0});
  NodeUnderTest t("Reshape", 2);
  EXPECT_EQ(run_code(t, {&x, &two_minus}), StatusCode::invalid_model);
  EXPECT_EQ(run_code(t, {&x, &wrong}), StatusCode::invalid_model);
  EXPECT_EQ(run_code(t, {&x, &negative}), StatusCode::invalid_model);
  EXPECT_EQ(run_code(t, {&x, &zero_past_rank}), StatusCode::invalid_model);
  const Tensor zero_and_minus = ints({0, -1});
  NodeUnderTest az("Reshape", 2, 1, 14);
  az.attr("allowzero", int64_t{1});
  EXPECT_EQ(run_code(az, {&x, &zero_and_minus}), StatusCode::invalid_model);
}

TEST(RefShapeOps, FlattenAxes) {
  const Tensor x = iota_tensor<int32_t>(Shape{2, 3, 4, 5});
  for (auto [axis, rows] : std::vector<std::pair<int64_t, int64_t>>{{0, 1}, {1, 2}, {2, 6}, {4, 120}, {-1, 24}, {-4, 1}}) {
    NodeUnderTest t("Flatten", 1);
    t.attr("axis", axis);
    auto out = run_ok(t, {&x});
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].shape(), (Shape{rows, 120 / rows})) << "axis " << axis;
    EXPECT_EQ(out[0].as<int32_t>()[119], 119);
  }
  NodeUnderTest bad("Flatten", 1);
  bad.attr("axis", int64_t{5});
  EXPECT_EQ(run_code(bad, {&x}), StatusCode::invalid_model);
}

TEST(RefShapeOps, SqueezeAxesAttributeBefore13InputAfter) {
  const Tensor x = iota_tensor<bool>(Shape{1, 3, 1, 2}, false);
  NodeUnderTest old("Squeeze", 1, 1, 11);
  old.attr("axes", std::vector<int64_t>{0, -2});
  auto a = run_ok(old, {&x});
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].shape(), (Shape{3, 2}));
  const Tensor axes = ints({2});
  NodeUnderTest now("Squeeze", 2, 1, 13);
  auto b = run_ok(now, {&x, &axes});
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].shape(), (Shape{1, 3, 2}));
  NodeUnderTest all("Squeeze", 1, 1, 13);
  auto c = run_ok(all, {&x});
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].shape(), (Shape{3, 2}));
  const Tensor not_one = ints({1});
  EXPECT_EQ(run_code(now, {&x, &not_one}), StatusCode::invalid_model);
}

TEST(RefShapeOps, UnsqueezeInsertsAtOutputPositions) {
  const Tensor x = iota_tensor<int64_t>(Shape{3, 4});
  const Tensor axes = ints({4, 0, -3});  // spec: axes refer to the output rank (5)
  NodeUnderTest t("Unsqueeze", 2, 1, 13);
  auto out = run_ok(t, {&x, &axes});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].shape(), (Shape{1, 3, 1, 4, 1}));
  NodeUnderTest old("Unsqueeze", 1, 1, 11);
  old.attr("axes", std::vector<int64_t>{1});
  auto o = run_ok(old, {&x});
  ASSERT_EQ(o.size(), 1u);
  EXPECT_EQ(o[0].shape(), (Shape{3, 1, 4}));
  const Tensor dup = ints({0, 0});
  EXPECT_EQ(run_code(t, {&x, &dup}), StatusCode::invalid_model);
}

TEST(RefShapeOps, ShapeWithStartEnd) {
  const Tensor x(DType::f32, Shape{2, 3, 4});
  NodeUnderTest all("Shape", 1, 1, 15);
  expect_tensor<int64_t>(run_ok(all, {&x})[0], Shape{3}, {2, 3, 4});
  NodeUnderTest part("Shape", 1, 1, 15);
  part.attr("start", int64_t{-2}).attr("end", int64_t{10});  // end is clamped
  expect_tensor<int64_t>(run_ok(part, {&x})[0], Shape{2}, {3, 4});
  NodeUnderTest empty("Shape", 1, 1, 15);
  empty.attr("start", int64_t{2}).attr("end", int64_t{1});
  expect_tensor<int64_t>(run_ok(empty, {&x})[0], Shape{0}, {});
}

TEST(RefShapeOps, SizeIsAScalar) {
  const Tensor x(DType::u8, Shape{2, 3, 4});
  NodeUnderTest t("Size", 1);
  expect_tensor<int64_t>(run_ok(t, {&x})[0], Shape{}, {24});
}

TEST(RefShapeOps, DropoutIsIdentityWithTrueMask) {
  const Tensor x = iota_tensor<float>(Shape{2, 2});
  const Tensor ratio = Tensor::from_vector<float>(Shape{}, {0.5f});
  NodeUnderTest t("Dropout", 2, 2, 13);
  auto out = run_ok(t, {&x, &ratio});
  ASSERT_EQ(out.size(), 2u);
  expect_tensor<float>(out[0], Shape{2, 2}, {0, 1, 2, 3});
  expect_tensor<bool>(out[1], Shape{2, 2}, {true, true, true, true});
  const Tensor training = Tensor::from_vector<bool>(Shape{}, {true});
  NodeUnderTest train("Dropout", 3, 1, 13);
  EXPECT_EQ(run_code(train, {&x, &ratio, &training}), StatusCode::unsupported);
}

TEST(RefShapeOps, IdentityCopiesAnyDtype) {
  const Tensor x = Tensor::from_vector<double>(Shape{3}, {1.5, -2, 3});
  NodeUnderTest t("Identity", 1);
  expect_tensor<double>(run_ok(t, {&x})[0], Shape{3}, {1.5, -2, 3});
}

}  // namespace ep::testing
