#include "tensor_expect.h"

namespace ep::testing {
namespace {

// x = 0..9 reshaped 2x5, the spec's slicing playground.
std::vector<Tensor> run_slice(const Tensor& x, std::vector<int64_t> starts, std::vector<int64_t> ends,
                              std::vector<int64_t> axes, std::vector<int64_t> steps) {
  const Tensor s = ints(starts), e = ints(ends), a = ints(axes), st = ints(steps);
  NodeUnderTest t("Slice", 5, 1, 13);
  return run_ok(t, {&x, &s, &e, &a, &st});
}

}  // namespace

TEST(RefSlice, SpecExampleWithStep) {
  // Spec example 1: data [[1,2,3,4],[5,6,7,8]], starts [1,0], ends [2,3], steps [1,2] -> [[5,7]]
  const Tensor x = Tensor::from_vector<float>(Shape{2, 4}, {1, 2, 3, 4, 5, 6, 7, 8});
  expect_tensor<float>(run_slice(x, {1, 0}, {2, 3}, {0, 1}, {1, 2})[0], Shape{1, 2}, {5, 7});
  // Spec example 2: starts [0,1], ends [-1,1000] -> [[2,3,4]]
  expect_tensor<float>(run_slice(x, {0, 1}, {-1, 1000}, {0, 1}, {1, 1})[0], Shape{1, 3}, {2, 3, 4});
}

TEST(RefSlice, NegativeStepsAndClamping) {
  const Tensor x = iota_tensor<int64_t>(Shape{10});
  const int64_t kMax = std::numeric_limits<int64_t>::max(), kMinI = std::numeric_limits<int64_t>::min();
  expect_tensor<int64_t>(run_slice(x, {kMax}, {kMinI}, {0}, {-3})[0], Shape{4}, {9, 6, 3, 0});
  expect_tensor<int64_t>(run_slice(x, {-2}, {2}, {0}, {-2})[0], Shape{3}, {8, 6, 4});
  expect_tensor<int64_t>(run_slice(x, {20}, {30}, {0}, {1})[0], Shape{0}, {});
  expect_tensor<int64_t>(run_slice(x, {-100}, {3}, {-1}, {1})[0], Shape{3}, {0, 1, 2});
  expect_tensor<int64_t>(run_slice(x, {3}, {3}, {0}, {kMinI})[0], Shape{0}, {});
  expect_tensor<int64_t>(run_slice(x, {5}, {kMinI}, {0}, {kMinI})[0], Shape{1}, {5});
}

TEST(RefSlice, TwoAxesNegativeStepMatchesLoop) {
  const Tensor x = iota_tensor<int32_t>(Shape{4, 5, 3});
  auto out = run_slice(x, {3, 1}, {0, 5}, {0, 1}, {-2, 2});
  ASSERT_EQ(out.size(), 1u);
  std::vector<int32_t> want;
  for (int i = 3; i > 0; i -= 2)
    for (int j = 1; j < 5; j += 2)
      for (int k = 0; k < 3; ++k) want.push_back((i * 5 + j) * 3 + k);
  expect_tensor<int32_t>(out[0], Shape{2, 2, 3}, want);
}

TEST(RefSlice, AttributesBeforeOpset10) {
  const Tensor x = iota_tensor<float>(Shape{3, 4});
  NodeUnderTest t("Slice", 1, 1, 9);
  t.attr("starts", std::vector<int64_t>{1}).attr("ends", std::vector<int64_t>{1000}).attr("axes", std::vector<int64_t>{1});
  expect_tensor<float>(run_ok(t, {&x})[0], Shape{3, 3}, {1, 2, 3, 5, 6, 7, 9, 10, 11});
}

TEST(RefSlice, RejectsZeroStepAndRepeatedAxes) {
  const Tensor x = iota_tensor<float>(Shape{3, 4});
  const Tensor s = ints({0}), e = ints({2}), a = ints({0}), zero = ints({0});
  NodeUnderTest t("Slice", 5, 1, 13);
  EXPECT_EQ(run_code(t, {&x, &s, &e, &a, &zero}), StatusCode::invalid_model);
  const Tensor s2 = ints({0, 0}), e2 = ints({1, 1}), dup = ints({1, -1});
  NodeUnderTest t2("Slice", 4, 1, 13);
  EXPECT_EQ(run_code(t2, {&x, &s2, &e2, &dup}), StatusCode::invalid_model);
}

}  // namespace ep::testing
