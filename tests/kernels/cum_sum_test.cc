#include "kernel_test_util.h"

namespace ep::testing {
namespace {

Tensor cum_sum(const Tensor& x, int64_t axis, int64_t exclusive, int64_t reverse) {
  const Tensor a = Tensor::from_vector<int64_t>(Shape{}, {axis});
  NodeUnderTest t("CumSum", 2, 1, 14);
  t.attr("exclusive", exclusive).attr("reverse", reverse);
  auto out = t.run({&x, &a});
  EXPECT_TRUE(out.is_ok()) << out.status().to_string();
  return out.is_ok() ? std::move(out.value()[0]) : Tensor();
}

TEST(RefCumSum, SpecExamples1d) {
  const Tensor x = Tensor::from_vector<double>(Shape{5}, {1, 2, 3, 4, 5});
  expect_close(cum_sum(x, 0, 0, 0), Tensor::from_vector<double>(Shape{5}, {1, 3, 6, 10, 15}));
  expect_close(cum_sum(x, 0, 1, 0), Tensor::from_vector<double>(Shape{5}, {0, 1, 3, 6, 10}));
  expect_close(cum_sum(x, 0, 0, 1), Tensor::from_vector<double>(Shape{5}, {15, 14, 12, 9, 5}));
  expect_close(cum_sum(x, 0, 1, 1), Tensor::from_vector<double>(Shape{5}, {14, 12, 9, 5, 0}));
}

TEST(RefCumSum, SpecExamples2d) {
  const Tensor x = Tensor::from_vector<float>(Shape{2, 3}, {1, 2, 3, 4, 5, 6});
  expect_close(cum_sum(x, 0, 0, 0), Tensor::from_vector<float>(Shape{2, 3}, {1, 2, 3, 5, 7, 9}));
  expect_close(cum_sum(x, -1, 0, 0), Tensor::from_vector<float>(Shape{2, 3}, {1, 3, 6, 4, 9, 15}));
  const Tensor xi = Tensor::from_vector<int32_t>(Shape{2, 3}, {1, 2, 3, 4, 5, 6});
  expect_close(cum_sum(xi, 1, 1, 1), Tensor::from_vector<int32_t>(Shape{2, 3}, {5, 3, 0, 11, 6, 0}));
}

TEST(RefCumSum, AxisOutOfRangeIsAnError) {
  const Tensor x = random_tensor(Shape{2, 3}, 1);
  const Tensor a = Tensor::from_vector<int64_t>(Shape{}, {2});
  NodeUnderTest t("CumSum", 2, 1, 14);
  EXPECT_FALSE(t.run({&x, &a}).is_ok());
}

}  // namespace
}  // namespace ep::testing
