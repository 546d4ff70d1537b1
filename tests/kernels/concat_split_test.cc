#include "tensor_expect.h"

namespace ep::testing {

TEST(RefConcatSplit, ConcatMiddleAxisMatchesLoopOracle) {
  const Tensor a = iota_tensor<float>(Shape{2, 1, 3});
  const Tensor b = iota_tensor<float>(Shape{2, 2, 3}, 100.f);
  const Tensor empty(DType::f32, Shape{2, 0, 3});
  NodeUnderTest t("Concat", 3);
  t.attr("axis", int64_t{-2});
  auto out = run_ok(t, {&a, &empty, &b});
  ASSERT_EQ(out.size(), 1u);
  std::vector<float> want;
  for (int i = 0; i < 2; ++i) {
    for (int k = 0; k < 3; ++k) want.push_back(a.as<float>()[i * 3 + k]);
    for (int j = 0; j < 2; ++j)
      for (int k = 0; k < 3; ++k) want.push_back(b.as<float>()[(i * 2 + j) * 3 + k]);
  }
  expect_tensor<float>(out[0], Shape{2, 3, 3}, want);
}

TEST(RefConcatSplit, ConcatRejectsMismatches) {
  const Tensor a = iota_tensor<float>(Shape{2, 3});
  const Tensor b = iota_tensor<float>(Shape{3, 3});
  const Tensor c = iota_tensor<int32_t>(Shape{2, 3});
  NodeUnderTest t("Concat", 2);
  t.attr("axis", int64_t{1});
  EXPECT_EQ(run_code(t, {&a, &b}), StatusCode::invalid_model);
  EXPECT_EQ(run_code(t, {&a, &c}), StatusCode::invalid_model);
  NodeUnderTest far("Concat", 2);
  far.attr("axis", int64_t{2});
  EXPECT_EQ(run_code(far, {&a, &a}), StatusCode::invalid_model);
}

TEST(RefConcatSplit, SplitEqualAndVariableParts) {
  const Tensor x = iota_tensor<int32_t>(Shape{2, 6});
  NodeUnderTest eq("Split", 1, 3, 13);
  eq.attr("axis", int64_t{1});
  auto e = run_ok(eq, {&x});
  ASSERT_EQ(e.size(), 3u);
  expect_tensor<int32_t>(e[0], Shape{2, 2}, {0, 1, 6, 7});
  expect_tensor<int32_t>(e[2], Shape{2, 2}, {4, 5, 10, 11});
  const Tensor split = ints({1, 0, 5});
  NodeUnderTest var("Split", 2, 3, 13);
  var.attr("axis", int64_t{-1});
  auto v = run_ok(var, {&x, &split});
  ASSERT_EQ(v.size(), 3u);
  expect_tensor<int32_t>(v[0], Shape{2, 1}, {0, 6});
  expect_tensor<int32_t>(v[1], Shape{2, 0}, {});
  expect_tensor<int32_t>(v[2], Shape{2, 5}, {1, 2, 3, 4, 5, 7, 8, 9, 10, 11});
  NodeUnderTest old("Split", 1, 2, 11);
  old.attr("axis", int64_t{1}).attr("split", std::vector<int64_t>{4, 2});
  auto o = run_ok(old, {&x});
  ASSERT_EQ(o.size(), 2u);
  expect_tensor<int32_t>(o[1], Shape{2, 2}, {4, 5, 10, 11});
}

TEST(RefConcatSplit, SplitNumOutputsLeavesRemainderLast) {
  const Tensor x = iota_tensor<float>(Shape{7});
  NodeUnderTest t("Split", 1, 3, 18);
  t.attr("num_outputs", int64_t{3});
  auto out = run_ok(t, {&x});
  ASSERT_EQ(out.size(), 3u);
  expect_tensor<float>(out[0], Shape{3}, {0, 1, 2});
  expect_tensor<float>(out[1], Shape{3}, {3, 4, 5});
  expect_tensor<float>(out[2], Shape{1}, {6});
}

TEST(RefConcatSplit, SplitRejectsBadSizes) {
  const Tensor x = iota_tensor<float>(Shape{7});
  NodeUnderTest uneven("Split", 1, 2, 13);
  EXPECT_EQ(run_code(uneven, {&x}), StatusCode::invalid_model);
  const Tensor wrong_sum = ints({3, 3});
  NodeUnderTest sum("Split", 2, 2, 13);
  EXPECT_EQ(run_code(sum, {&x, &wrong_sum}), StatusCode::invalid_model);
  const Tensor negative = ints({8, -1});
  EXPECT_EQ(run_code(sum, {&x, &negative}), StatusCode::invalid_model);
}

}  // namespace ep::testing
