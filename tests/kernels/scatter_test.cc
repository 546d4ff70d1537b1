#include "tensor_expect.h"

namespace ep::testing {

TEST(RefScatter, ScatterNDSpecExamples) {
  // Example 1: data [1..8], indices [[4],[3],[1],[7]], updates [9,10,11,12]
  const Tensor data = iota_tensor<float>(Shape{8}, 1.f);
  const Tensor idx = Tensor::from_vector<int64_t>(Shape{4, 1}, {4, 3, 1, 7});
  const Tensor upd = Tensor::from_vector<float>(Shape{4}, {9, 10, 11, 12});
  NodeUnderTest t("ScatterND", 3, 1, 13);
  expect_tensor<float>(run_ok(t, {&data, &idx, &upd})[0], Shape{8}, {1, 11, 3, 10, 9, 6, 7, 12});
  // Example 2 in small: replace whole slices of a 2x2x2 tensor.
  const Tensor d3 = iota_tensor<int32_t>(Shape{2, 2, 2});
  const Tensor i3 = Tensor::from_vector<int64_t>(Shape{1, 1}, {-1});
  const Tensor u3 = Tensor::from_vector<int32_t>(Shape{1, 2, 2}, {9, 9, 9, 9});
  NodeUnderTest t3("ScatterND", 3, 1, 13);
  expect_tensor<int32_t>(run_ok(t3, {&d3, &i3, &u3})[0], Shape{2, 2, 2}, {0, 1, 2, 3, 9, 9, 9, 9});
  const Tensor bad = Tensor::from_vector<int64_t>(Shape{1, 1}, {2});
  EXPECT_EQ(run_code(t3, {&d3, &bad, &u3}), StatusCode::out_of_range);
  const Tensor wrong_upd = Tensor::from_vector<int32_t>(Shape{1, 2}, {9, 9});
  EXPECT_EQ(run_code(t3, {&d3, &i3, &wrong_upd}), StatusCode::invalid_model);
}

TEST(RefScatter, ScatterNDReductions) {
  const Tensor data = iota_tensor<int64_t>(Shape{4}, 1);
  const Tensor idx = Tensor::from_vector<int64_t>(Shape{3, 1}, {1, 1, 3});
  const Tensor upd = Tensor::from_vector<int64_t>(Shape{3}, {10, 20, 5});
  NodeUnderTest add("ScatterND", 3, 1, 16);
  add.attr("reduction", std::string("add"));
  expect_tensor<int64_t>(run_ok(add, {&data, &idx, &upd})[0], Shape{4}, {1, 32, 3, 9});
  NodeUnderTest mx("ScatterND", 3, 1, 18);
  mx.attr("reduction", std::string("max"));
  expect_tensor<int64_t>(run_ok(mx, {&data, &idx, &upd})[0], Shape{4}, {1, 20, 3, 5});
  NodeUnderTest early("ScatterND", 3, 1, 16);
  early.attr("reduction", std::string("max"));  // max arrived at opset 18
  EXPECT_EQ(run_code(early, {&data, &idx, &upd}), StatusCode::invalid_model);
}

TEST(RefScatter, ScatterElementsSpecExamples) {
  // Example 1: axis 0
  const Tensor data(DType::f32, Shape{3, 3});
  const Tensor idx = Tensor::from_vector<int64_t>(Shape{2, 3}, {1, 0, 2, 0, 2, 1});
  const Tensor upd = Tensor::from_vector<float>(Shape{2, 3}, {1.0f, 1.1f, 1.2f, 2.0f, 2.1f, 2.2f});
  NodeUnderTest t("ScatterElements", 3, 1, 13);
  expect_tensor<float>(run_ok(t, {&data, &idx, &upd})[0], Shape{3, 3},
                       {2.0f, 1.1f, 0.0f, 1.0f, 0.0f, 2.2f, 0.0f, 2.1f, 1.2f});
  // Example 2: axis 1, data [[1,2,3,4,5]], indices [[1,3]], updates [[1.1,2.1]]
  const Tensor d2 = iota_tensor<float>(Shape{1, 5}, 1.f);
  const Tensor i2 = Tensor::from_vector<int32_t>(Shape{1, 2}, {1, -2});
  const Tensor u2 = Tensor::from_vector<float>(Shape{1, 2}, {1.1f, 2.1f});
  NodeUnderTest t1("ScatterElements", 3, 1, 13);
  t1.attr("axis", int64_t{1});
  expect_tensor<float>(run_ok(t1, {&d2, &i2, &u2})[0], Shape{1, 5}, {1.0f, 1.1f, 3.0f, 2.1f, 5.0f});
  NodeUnderTest mul("ScatterElements", 3, 1, 16);
  mul.attr("axis", int64_t{1}).attr("reduction", std::string("mul"));
  const Tensor dup = Tensor::from_vector<int32_t>(Shape{1, 2}, {1, 1});
  expect_tensor<float>(run_ok(mul, {&d2, &dup, &u2})[0], Shape{1, 5}, {1.0f, 2.0f * 1.1f * 2.1f, 3.0f, 4.0f, 5.0f});
  const Tensor bad = Tensor::from_vector<int32_t>(Shape{1, 2}, {1, 5});
  EXPECT_EQ(run_code(t1, {&d2, &bad, &u2}), StatusCode::out_of_range);
}

TEST(RefScatter, ScatterElementsOnBool) {
  const Tensor data = Tensor::from_vector<bool>(Shape{3}, {false, false, false});
  const Tensor idx = Tensor::from_vector<int64_t>(Shape{1}, {2});
  const Tensor upd = Tensor::from_vector<bool>(Shape{1}, {true});
  NodeUnderTest t("ScatterElements", 3, 1, 13);
  expect_tensor<bool>(run_ok(t, {&data, &idx, &upd})[0], Shape{3}, {false, false, true});
}

}  // namespace ep::testing
