#include <memory>

#include "tensor_expect.h"

namespace ep::testing {

TEST(RefGenerators, ConstantOfShapeDefaultAndValue) {
  const Tensor shape = ints({2, 3});
  NodeUnderTest t("ConstantOfShape", 1, 1, 13);
  expect_tensor<float>(run_ok(t, {&shape})[0], Shape{2, 3}, std::vector<float>(6, 0.f));
  NodeUnderTest v("ConstantOfShape", 1, 1, 13);
  v.attr("value", std::make_shared<const Tensor>(Tensor::from_vector<int32_t>(Shape{1}, {7})));
  expect_tensor<int32_t>(run_ok(v, {&shape})[0], Shape{2, 3}, std::vector<int32_t>(6, 7));
  const Tensor empty = ints({});
  expect_tensor<int32_t>(run_ok(v, {&empty})[0], Shape{}, {7});
  const Tensor neg = ints({-1});
  EXPECT_EQ(run_code(v, {&neg}), StatusCode::invalid_model);
}

TEST(RefGenerators, RangeSpecExamples) {
  // Spec: start 3, limit 9, delta 3 -> [3, 6]; start 10, limit 4, delta -2 -> [10, 8, 6]
  const Tensor s = Tensor::from_vector<int32_t>(Shape{}, {3}), l = Tensor::from_vector<int32_t>(Shape{}, {9}),
               d = Tensor::from_vector<int32_t>(Shape{}, {3});
  NodeUnderTest t("Range", 3, 1, 11);
  expect_tensor<int32_t>(run_ok(t, {&s, &l, &d})[0], Shape{2}, {3, 6});
  const Tensor s2 = Tensor::from_vector<float>(Shape{}, {10}), l2 = Tensor::from_vector<float>(Shape{}, {4}),
               d2 = Tensor::from_vector<float>(Shape{}, {-2});
  expect_tensor<float>(run_ok(t, {&s2, &l2, &d2})[0], Shape{3}, {10, 8, 6});
  const Tensor l3 = Tensor::from_vector<int64_t>(Shape{}, {10}), s3 = Tensor::from_vector<int64_t>(Shape{}, {0}),
               d3 = Tensor::from_vector<int64_t>(Shape{}, {-1});
  expect_tensor<int64_t>(run_ok(t, {&s3, &l3, &d3})[0], Shape{0}, {});  // wrong direction: empty
  const Tensor zero = Tensor::from_vector<int64_t>(Shape{}, {0});
  EXPECT_EQ(run_code(t, {&s3, &l3, &zero}), StatusCode::invalid_model);
}

TEST(RefGenerators, EyeLikeWithOffsetAndDtype) {
  const Tensor x(DType::f32, Shape{3, 4});
  NodeUnderTest t("EyeLike", 1, 1, 9);
  t.attr("k", int64_t{1}).attr("dtype", int64_t{7});
  expect_tensor<int64_t>(run_ok(t, {&x})[0], Shape{3, 4}, {0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1});
  NodeUnderTest d("EyeLike", 1, 1, 9);
  d.attr("k", int64_t{-2});
  expect_tensor<float>(run_ok(d, {&x})[0], Shape{3, 4}, {0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0});
}

TEST(RefGenerators, OneHotAxesAndNegativeIndices) {
  const Tensor idx = Tensor::from_vector<int64_t>(Shape{3}, {0, -1, 5});  // 5 is out of range: all off
  const Tensor depth = Tensor::from_vector<int64_t>(Shape{}, {3});
  const Tensor values = Tensor::from_vector<float>(Shape{2}, {-1, 1});
  NodeUnderTest t("OneHot", 3, 1, 11);
  expect_tensor<float>(run_ok(t, {&idx, &depth, &values})[0], Shape{3, 3}, {1, -1, -1, -1, -1, 1, -1, -1, -1});
  NodeUnderTest a0("OneHot", 3, 1, 11);
  a0.attr("axis", int64_t{0});
  expect_tensor<float>(run_ok(a0, {&idx, &depth, &values})[0], Shape{3, 3}, {1, -1, -1, -1, -1, -1, -1, 1, -1});
}

}  // namespace ep::testing
