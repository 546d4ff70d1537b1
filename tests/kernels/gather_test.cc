#include "tensor_expect.h"

namespace ep::testing {

TEST(RefGather, SpecExamplesAxis0AndAxis1) {
  // Spec: data [[1,1.2],[2.3,3.4],[4.5,5.7]], indices [[0,1],[1,2]] -> axis 0 picks rows.
  const Tensor data = Tensor::from_vector<float>(Shape{3, 2}, {1.0f, 1.2f, 2.3f, 3.4f, 4.5f, 5.7f});
  const Tensor idx = Tensor::from_vector<int64_t>(Shape{2, 2}, {0, 1, 1, 2});
  NodeUnderTest t("Gather", 2);
  expect_tensor<float>(run_ok(t, {&data, &idx})[0], Shape{2, 2, 2},
                       {1.0f, 1.2f, 2.3f, 3.4f, 2.3f, 3.4f, 4.5f, 5.7f});
  // Spec: data 3x3, indices [[0,2]] on axis 1 -> [[[1,1.9]],[[2.3,3.9]],[[4.5,5.9]]]
  const Tensor d2 = Tensor::from_vector<float>(Shape{3, 3}, {1.0f, 1.2f, 1.9f, 2.3f, 3.4f, 3.9f, 4.5f, 5.7f, 5.9f});
  const Tensor i2 = Tensor::from_vector<int32_t>(Shape{1, 2}, {0, -1});  // -1 is the last column
  NodeUnderTest t1("Gather", 2);
  t1.attr("axis", int64_t{1});
  expect_tensor<float>(run_ok(t1, {&d2, &i2})[0], Shape{3, 1, 2}, {1.0f, 1.9f, 2.3f, 3.9f, 4.5f, 5.9f});
}

TEST(RefGather, ScalarIndexDropsTheAxisAndBadIndexIsOutOfRange) {
  const Tensor data = iota_tensor<int64_t>(Shape{3, 2});
  const Tensor one = Tensor::from_vector<int64_t>(Shape{}, {2});
  NodeUnderTest t("Gather", 2);
  expect_tensor<int64_t>(run_ok(t, {&data, &one})[0], Shape{2}, {4, 5});
  const Tensor bad = Tensor::from_vector<int64_t>(Shape{2}, {0, 3});
  EXPECT_EQ(run_code(t, {&data, &bad}), StatusCode::out_of_range);
  const Tensor neg = Tensor::from_vector<int64_t>(Shape{1}, {-4});
  EXPECT_EQ(run_code(t, {&data, &neg}), StatusCode::out_of_range);
  const Tensor floats = Tensor::from_vector<float>(Shape{1}, {0});
  EXPECT_EQ(run_code(t, {&data, &floats}), StatusCode::invalid_model);
}

TEST(RefGather, GatherElementsSpecExamples) {
  const Tensor data = Tensor::from_vector<int32_t>(Shape{2, 2}, {1, 2, 3, 4});
  const Tensor idx = Tensor::from_vector<int64_t>(Shape{2, 2}, {0, 0, 1, 0});
  NodeUnderTest t("GatherElements", 2, 1, 13);
  t.attr("axis", int64_t{1});
  expect_tensor<int32_t>(run_ok(t, {&data, &idx})[0], Shape{2, 2}, {1, 1, 4, 3});
  const Tensor d2 = iota_tensor<int32_t>(Shape{3, 3}, 1);
  const Tensor i2 = Tensor::from_vector<int32_t>(Shape{2, 3}, {1, 2, 0, 2, 0, -3});
  NodeUnderTest t0("GatherElements", 2, 1, 13);
  expect_tensor<int32_t>(run_ok(t0, {&d2, &i2})[0], Shape{2, 3}, {4, 8, 3, 7, 2, 3});
  const Tensor out_of = Tensor::from_vector<int32_t>(Shape{1, 1}, {3});
  EXPECT_EQ(run_code(t0, {&d2, &out_of}), StatusCode::out_of_range);
}

TEST(RefGather, GatherNDSpecExamples) {
  const Tensor d = iota_tensor<int32_t>(Shape{2, 2});
  NodeUnderTest t("GatherND", 2, 1, 13);
  const Tensor i1 = Tensor::from_vector<int64_t>(Shape{2, 2}, {0, 0, 1, 1});
  expect_tensor<int32_t>(run_ok(t, {&d, &i1})[0], Shape{2}, {0, 3});
  const Tensor i2 = Tensor::from_vector<int64_t>(Shape{2, 1}, {1, 0});
  expect_tensor<int32_t>(run_ok(t, {&d, &i2})[0], Shape{2, 2}, {2, 3, 0, 1});
  const Tensor d3 = iota_tensor<int32_t>(Shape{2, 2, 2});
  const Tensor i3 = Tensor::from_vector<int64_t>(Shape{2, 1, 2}, {0, 1, 1, 0});
  expect_tensor<int32_t>(run_ok(t, {&d3, &i3})[0], Shape{2, 1, 2}, {2, 3, 4, 5});
  // Example 5, batch_dims = 1: indices [[1],[0]] -> [[2,3],[4,5]]
  NodeUnderTest b("GatherND", 2, 1, 13);
  b.attr("batch_dims", int64_t{1});
  const Tensor i5 = Tensor::from_vector<int64_t>(Shape{2, 1}, {1, 0});
  expect_tensor<int32_t>(run_ok(b, {&d3, &i5})[0], Shape{2, 2}, {2, 3, 4, 5});
  const Tensor bad = Tensor::from_vector<int64_t>(Shape{1, 2}, {0, 2});
  EXPECT_EQ(run_code(t, {&d, &bad}), StatusCode::out_of_range);
  const Tensor too_long = Tensor::from_vector<int64_t>(Shape{1, 3}, {0, 0, 0});
  EXPECT_EQ(run_code(t, {&d, &too_long}), StatusCode::invalid_model);
}

}  // namespace ep::testing
