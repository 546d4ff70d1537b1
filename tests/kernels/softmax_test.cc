// Softmax, LogSoftmax and Hardmax: the opset-13 change of axis semantics, against loops.
#include <cmath>
#include <string>
#include <vector>

#include "kernel_test_util.h"

namespace ep::testing {
namespace {

// Softmax over the element groups that share every index except those in [lo, hi).
Tensor softmax_oracle(const Tensor& x, size_t lo, size_t hi, bool log) {
  const auto& d = x.shape().dims();
  int64_t outer = 1, len = 1, inner = 1;
  for (size_t i = 0; i < d.size(); ++i) (i < lo ? outer : i < hi ? len : inner) *= d[i];
  Tensor y(DType::f32, x.shape());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t in = 0; in < inner; ++in) {
      double mx = -1e30, sum = 0;
      for (int64_t l = 0; l < len; ++l) mx = std::max<double>(mx, x.as<float>()[(o * len + l) * inner + in]);
      for (int64_t l = 0; l < len; ++l) sum += std::exp(x.as<float>()[(o * len + l) * inner + in] - mx);
      for (int64_t l = 0; l < len; ++l) {
        const int64_t at = (o * len + l) * inner + in;
        const double e = x.as<float>()[at] - mx;
        y.as<float>()[at] = static_cast<float>(log ? e - std::log(sum) : std::exp(e) / sum);
      }
    }
  return y;
}

TEST(RefSoftmax, AxisSemanticsChangeAtOpset13) {
  const Tensor x = random_tensor(Shape{2, 3, 4}, 3, -5, 5);
  for (int opset : {11, 13}) {
    for (int64_t axis : {0, 1, 2, -1}) {
      for (bool log : {false, true}) {
        SCOPED_TRACE("opset " + std::to_string(opset) + " axis " + std::to_string(axis) + " log " + std::to_string(log));
        NodeUnderTest t(log ? "LogSoftmax" : "Softmax", 1, 1, opset);
        t.attr("axis", axis);
        auto out = t.run({&x});
        ASSERT_TRUE(out.is_ok()) << out.status().to_string();
        const size_t a = static_cast<size_t>(axis < 0 ? axis + 3 : axis);
        expect_close(out.value()[0], softmax_oracle(x, a, opset < 13 ? 3 : a + 1, log), 1e-5, 1e-5);
      }
    }
  }
  // Defaults: axis 1 coerced before 13, the last axis from 13.
  auto old_default = NodeUnderTest("Softmax", 1, 1, 11).run({&x});
  auto new_default = NodeUnderTest("Softmax", 1, 1, 13).run({&x});
  ASSERT_TRUE(old_default.is_ok() && new_default.is_ok());
  expect_close(old_default.value()[0], softmax_oracle(x, 1, 3, false));
  expect_close(new_default.value()[0], softmax_oracle(x, 2, 3, false));
}

TEST(RefSoftmax, LargeValuesStayFinite) {
  const Tensor x = Tensor::from_vector<float>(Shape{1, 3}, {10000, 10001, 10002});
  auto out = NodeUnderTest("Softmax", 1).run({&x});
  ASSERT_TRUE(out.is_ok());
  expect_close(out.value()[0], Tensor::from_vector<float>(Shape{1, 3}, {0.09003057f, 0.24472848f, 0.66524094f}));
}

TEST(RefHardmax, FirstMaximumWins) {
  const Tensor x = Tensor::from_vector<float>(Shape{2, 3}, {1, 3, 3, -1, -2, -3});
  auto out = NodeUnderTest("Hardmax", 1).run({&x});
  ASSERT_TRUE(out.is_ok());
  expect_close(out.value()[0], Tensor::from_vector<float>(Shape{2, 3}, {0, 1, 0, 1, 0, 0}));
  NodeUnderTest coerced("Hardmax", 1, 1, 11);
  coerced.attr("axis", int64_t{0});  // the whole tensor is one row
  out = coerced.run({&x});
  ASSERT_TRUE(out.is_ok());
  expect_close(out.value()[0], Tensor::from_vector<float>(Shape{2, 3}, {0, 1, 0, 0, 0, 0}));
  NodeUnderTest bad("Hardmax", 1);
  bad.attr("axis", int64_t{2});
  EXPECT_EQ(bad.run({&x}).status().code(), StatusCode::invalid_model);
}

}  // namespace
}  // namespace ep::testing
