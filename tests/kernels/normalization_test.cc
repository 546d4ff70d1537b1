// BatchNormalization, InstanceNormalization, LayerNormalization and LRN against loops.
#include <cmath>
#include <string>
#include <vector>

#include "kernel_test_util.h"

namespace ep::testing {
namespace {

TEST(RefBatchNorm, MatchesFormula) {
  const Tensor x = random_tensor(Shape{2, 3, 4, 5}, 1);
  const Tensor scale = random_tensor(Shape{3}, 2), bias = random_tensor(Shape{3}, 3);
  const Tensor mean = random_tensor(Shape{3}, 4), var = random_tensor(Shape{3}, 5, 0.1f, 2.f);
  NodeUnderTest t("BatchNormalization", 5);
  t.attr("epsilon", 1e-2f);
  auto out = t.run({&x, &scale, &bias, &mean, &var});
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  Tensor want(DType::f32, x.shape());
  for (int64_t i = 0; i < x.numel(); ++i) {
    const int64_t c = (i / 20) % 3;
    want.as<float>()[i] = (x.as<float>()[i] - mean.as<float>()[c]) / std::sqrt(var.as<float>()[c] + 1e-2f) *
                              scale.as<float>()[c] + bias.as<float>()[c];
  }
  expect_close(out.value()[0], want);
}

// Opset 7 spatial=0: statistics per (C, H, W) element.
TEST(RefBatchNorm, NonSpatialOpset7AndTrainingUnsupported) {
  const Tensor x = random_tensor(Shape{2, 2, 3}, 1);
  const Tensor scale = random_tensor(Shape{2, 3}, 2), bias = random_tensor(Shape{2, 3}, 3);
  const Tensor mean = random_tensor(Shape{2, 3}, 4), var = random_tensor(Shape{2, 3}, 5, 0.1f, 2.f);
  NodeUnderTest t("BatchNormalization", 5, 1, 7);
  t.attr("spatial", int64_t{0});
  auto out = t.run({&x, &scale, &bias, &mean, &var});
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  Tensor want(DType::f32, x.shape());
  for (int64_t i = 0; i < x.numel(); ++i) {
    const int64_t c = i % 6;
    want.as<float>()[i] = (x.as<float>()[i] - mean.as<float>()[c]) / std::sqrt(var.as<float>()[c] + 1e-5f) *
                              scale.as<float>()[c] + bias.as<float>()[c];
  }
  expect_close(out.value()[0], want);
  NodeUnderTest train("BatchNormalization", 5, 1, 15);
  train.attr("training_mode", int64_t{1});
  EXPECT_EQ(train.run({&x, &scale, &bias, &mean, &var}).status().code(), StatusCode::unsupported);
}

// Normalizes groups of `inner` consecutive values.
Tensor normalize_rows(const Tensor& x, int64_t inner, double eps, const std::vector<float>& scale,
                      const std::vector<float>& bias, int64_t param_period, int64_t param_div) {
  Tensor y(DType::f32, x.shape());
  for (int64_t r = 0; r < x.numel() / inner; ++r) {
    double mean = 0, var = 0;
    for (int64_t i = 0; i < inner; ++i) mean += x.as<float>()[r * inner + i];
    mean /= inner;
    for (int64_t i = 0; i < inner; ++i) var += std::pow(x.as<float>()[r * inner + i] - mean, 2);
    var /= inner;
    for (int64_t i = 0; i < inner; ++i) {
      const int64_t at = r * inner + i, p = (at / param_div) % param_period;
      y.as<float>()[at] = static_cast<float>((x.as<float>()[at] - mean) / std::sqrt(var + eps) * scale[p] + bias[p]);
    }
  }
  return y;
}

std::vector<float> values(const Tensor& t) { return std::vector<float>(t.as<float>(), t.as<float>() + t.numel()); }

TEST(RefInstanceNorm, MatchesLoop) {
  const Tensor x = random_tensor(Shape{2, 3, 4, 5}, 1);
  const Tensor scale = random_tensor(Shape{3}, 2), bias = random_tensor(Shape{3}, 3);
  auto out = NodeUnderTest("InstanceNormalization", 3).run({&x, &scale, &bias});
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  expect_close(out.value()[0], normalize_rows(x, 20, 1e-5, values(scale), values(bias), 3, 20), 1e-4, 1e-4);
}

TEST(RefLayerNorm, AxesAndStatistics) {
  const Tensor x = random_tensor(Shape{2, 3, 4}, 1);
  for (int64_t axis : {1, -1, 0}) {
    SCOPED_TRACE("axis " + std::to_string(axis));
    const int64_t a = axis < 0 ? axis + 3 : axis;
    const int64_t inner = a == 0 ? 24 : a == 1 ? 12 : 4;
    const Shape ps = a == 0 ? Shape{2, 3, 4} : a == 1 ? Shape{3, 4} : Shape{4};
    const Tensor scale = random_tensor(ps, 2), bias = random_tensor(ps, 3);
    NodeUnderTest t("LayerNormalization", 3, 3);
    t.attr("axis", axis).attr("epsilon", 1e-3f);
    auto out = t.run({&x, &scale, &bias});
    ASSERT_TRUE(out.is_ok()) << out.status().to_string();
    expect_close(out.value()[0], normalize_rows(x, inner, 1e-3, values(scale), values(bias), inner, 1), 1e-4, 1e-4);
    const Tensor& mean = out.value()[1];
    EXPECT_EQ(mean.shape().rank(), 3u);
    EXPECT_EQ(mean.numel(), 24 / inner);
    double m0 = 0;
    for (int64_t i = 0; i < inner; ++i) m0 += x.as<float>()[i];
    EXPECT_NEAR(mean.as<float>()[0], m0 / inner, 1e-5);
  }
  // A scalar scale broadcasts; no bias.
  const Tensor s = Tensor::from_vector<float>(Shape{1}, {2});
  auto out = NodeUnderTest("LayerNormalization", 2).run({&x, &s});
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  expect_close(out.value()[0], normalize_rows(x, 4, 1e-5, {2}, {0}, 1, 1), 1e-4, 1e-4);
}

TEST(RefLrn, MatchesFormula) {
  const Tensor x = random_tensor(Shape{1, 5, 2, 2}, 1);
  NodeUnderTest t("LRN", 1);
  t.attr("size", int64_t{3}).attr("alpha", 0.01f).attr("beta", 0.5f).attr("bias", 2.0f);
  auto out = t.run({&x});
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  Tensor want(DType::f32, x.shape());
  for (int64_t c = 0; c < 5; ++c)
    for (int64_t i = 0; i < 4; ++i) {
      double sq = 0;
      for (int64_t k = c - 1; k <= c + 1; ++k)
        if (k >= 0 && k < 5) sq += std::pow(x.as<float>()[k * 4 + i], 2);
      want.as<float>()[c * 4 + i] = static_cast<float>(x.as<float>()[c * 4 + i] / std::pow(2.0 + 0.01 / 3 * sq, 0.5));
    }
  expect_close(out.value()[0], want);
}

}  // namespace
}  // namespace ep::testing
