#include <cmath>
#include <numeric>

#include "kernel_test_util.h"

namespace ep::testing {
namespace {

Tensor run_ok(NodeUnderTest& t, const std::vector<const Tensor*>& inputs) {
  auto out = t.run(inputs);
  EXPECT_TRUE(out.is_ok()) << out.status().to_string();
  return out.is_ok() ? std::move(out.value()[0]) : Tensor();
}

Tensor scales_of(std::vector<float> s) { return Tensor::from_vector<float>(Shape{static_cast<int64_t>(s.size())}, s); }
Tensor sizes_of(std::vector<int64_t> s) { return Tensor::from_vector<int64_t>(Shape{static_cast<int64_t>(s.size())}, s); }

Tensor arange_4x4() {
  std::vector<float> v(16);
  std::iota(v.begin(), v.end(), 1.f);
  return Tensor::from_vector<float>(Shape{1, 1, 4, 4}, v);
}

const Tensor k2x2 = Tensor::from_vector<float>(Shape{1, 1, 2, 2}, {1, 2, 3, 4});

TEST(RefResize, SpecNearestUpsampleScalesAndUpsampleOp) {
  const Tensor s = scales_of({1, 1, 2, 3});
  const Tensor want = Tensor::from_vector<float>(
      Shape{1, 1, 4, 6}, {1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4});
  NodeUnderTest r13("Resize", 3, 1, 13);
  expect_close(run_ok(r13, {&k2x2, nullptr, &s}), want);
  NodeUnderTest up9("Upsample", 2, 1, 9);
  expect_close(run_ok(up9, {&k2x2, &s}), want);
  NodeUnderTest up7("Upsample", 1, 1, 7);
  up7.attr("scales", std::vector<float>{1, 1, 2, 3});
  expect_close(run_ok(up7, {&k2x2}), want);
  NodeUnderTest r10("Resize", 2, 1, 10);
  expect_close(run_ok(r10, {&k2x2, &s}), want);
}

TEST(RefResize, SpecDownsampleNearestAndLinear) {
  const Tensor x = Tensor::from_vector<float>(Shape{1, 1, 2, 4}, {1, 2, 3, 4, 5, 6, 7, 8});
  const Tensor s = scales_of({1, 1, 0.6f, 0.6f});
  NodeUnderTest nearest("Resize", 3, 1, 13);
  expect_close(run_ok(nearest, {&x, nullptr, &s}), Tensor::from_vector<float>(Shape{1, 1, 1, 2}, {1, 3}));
  NodeUnderTest r10("Resize", 2, 1, 10);  // Resize-10 rounds up when shrinking
  expect_close(run_ok(r10, {&x, &s}), Tensor::from_vector<float>(Shape{1, 1, 1, 2}, {1, 3}));
  NodeUnderTest linear("Resize", 3, 1, 13);
  linear.attr("mode", std::string("linear"));
  expect_close(run_ok(linear, {&x, nullptr, &s}), Tensor::from_vector<float>(Shape{1, 1, 1, 2}, {2.6666665f, 4.333333f}));
  NodeUnderTest corners("Resize", 3, 1, 13);
  corners.attr("mode", std::string("linear")).attr("coordinate_transformation_mode", std::string("align_corners"));
  expect_close(run_ok(corners, {&x, nullptr, &s}), Tensor::from_vector<float>(Shape{1, 1, 1, 2}, {1, 3.142857f}));
}

TEST(RefResize, SpecLinearUpsampleHalfPixelAndAlignCorners) {
  const Tensor s = scales_of({1, 1, 2, 2});
  NodeUnderTest half("Resize", 3, 1, 13);
  half.attr("mode", std::string("linear"));
  expect_close(run_ok(half, {&k2x2, nullptr, &s}),
               Tensor::from_vector<float>(Shape{1, 1, 4, 4}, {1, 1.25, 1.75, 2, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25,
                                                              3.5, 3, 3.25, 3.75, 4}));
  NodeUnderTest corners("Resize", 3, 1, 13);
  corners.attr("mode", std::string("linear")).attr("coordinate_transformation_mode", std::string("align_corners"));
  const float t = 1.f / 3, u = 2.f / 3;
  expect_close(run_ok(corners, {&k2x2, nullptr, &s}),
               Tensor::from_vector<float>(Shape{1, 1, 4, 4}, {1, 1 + t, 1 + u, 2, 1 + u, 2, 2 + t, 2 + u, 2 + t, 2 + u,
                                                              3, 3 + t, 3, 3 + t, 3 + u, 4}),
               1e-5);
}

TEST(RefResize, SpecCubic) {
  const Tensor x = arange_4x4();
  const Tensor s = scales_of({1, 1, 2, 2});
  NodeUnderTest t("Resize", 3, 1, 13);
  t.attr("mode", std::string("cubic"));
  const Tensor y = run_ok(t, {&x, nullptr, &s});
  ASSERT_EQ(y.shape(), (Shape{1, 1, 8, 8}));
  const float first_row[] = {0.47265625f, 0.76953125f, 1.24609375f, 1.875f, 2.28125f, 2.91015625f, 3.38671875f, 3.68359375f};
  for (int i = 0; i < 8; ++i) EXPECT_NEAR(y.as<float>()[i], first_row[i], 1e-5) << i;
  // cubic_coeff_a=-0.5 with exclude_outside, shrinking by 0.8.
  const Tensor down = scales_of({1, 1, 0.8f, 0.8f});
  NodeUnderTest ex("Resize", 3, 1, 13);
  ex.attr("mode", std::string("cubic")).attr("cubic_coeff_a", -0.5f).attr("exclude_outside", int64_t{1});
  expect_close(run_ok(ex, {&x, nullptr, &down}),
               Tensor::from_vector<float>(Shape{1, 1, 3, 3}, {1.3681267f, 2.6695013f, 4.0133367f, 6.573625f, 7.875f,
                                                              9.218835f, 11.948966f, 13.250341f, 14.594176f}));
}

TEST(RefResize, SpecTfCropAndResizeExtrapolates) {
  const Tensor x = arange_4x4();
  const Tensor roi = Tensor::from_vector<float>(Shape{8}, {0, 0, 0.4f, 0.6f, 1, 1, 1.2f, 1.7f});
  const Tensor sizes = sizes_of({1, 1, 3, 3});
  NodeUnderTest t("Resize", 4, 1, 13);
  t.attr("mode", std::string("linear"))
      .attr("coordinate_transformation_mode", std::string("tf_crop_and_resize"))
      .attr("extrapolation_value", 10.f);
  expect_close(run_ok(t, {&x, &roi, nullptr, &sizes}),
               Tensor::from_vector<float>(Shape{1, 1, 3, 3}, {7.6f, 10, 10, 12.4f, 10, 10, 10, 10, 10}));
}

TEST(RefResize, SpecNearestModesWithSizes) {
  const Tensor x = arange_4x4();
  const Tensor sizes = sizes_of({1, 1, 8, 8});
  NodeUnderTest t("Resize", 4, 1, 13);
  t.attr("nearest_mode", std::string("ceil"));
  const Tensor y = run_ok(t, {&x, nullptr, nullptr, &sizes});
  const float row0[] = {1, 2, 2, 3, 3, 4, 4, 4};
  for (int i = 0; i < 8; ++i) EXPECT_EQ(y.as<float>()[i], row0[i]) << i;
}

// YOLO's upsample: nearest, asymmetric, floor, scale 2. Every output is an exact copy.
TEST(RefResize, YoloNearestScale2IsExactCopy) {
  const uint32_t seed = 21;
  const Tensor x = random_tensor(Shape{1, 3, 5, 7}, seed);
  const Tensor s = scales_of({1, 1, 2, 2});
  NodeUnderTest t("Resize", 3, 1, 13);
  t.attr("coordinate_transformation_mode", std::string("asymmetric")).attr("nearest_mode", std::string("floor"));
  const Tensor y = run_ok(t, {&x, nullptr, &s});
  ASSERT_EQ(y.shape(), (Shape{1, 3, 10, 14}));
  for (int c = 0; c < 3; ++c)
    for (int i = 0; i < 10; ++i)
      for (int j = 0; j < 14; ++j)
        ASSERT_EQ(y.as<float>()[(c * 10 + i) * 14 + j], x.as<float>()[(c * 5 + i / 2) * 7 + j / 2]) << "seed " << seed;
}

// PP-OCR detector: Resize-11 nearest with empty roi/scales and a sizes input.
TEST(RefResize, PpOcrOpset11NearestSizesIsExactCopy) {
  const Tensor x = Tensor::from_vector<int64_t>(Shape{1, 1, 2, 3}, {1, 2, 3, 4, 5, 6});
  const Tensor roi(DType::f32, Shape{0});
  const Tensor scales(DType::f32, Shape{0});
  const Tensor sizes = sizes_of({1, 1, 4, 6});
  NodeUnderTest t("Resize", 4, 1, 11);
  t.attr("coordinate_transformation_mode", std::string("asymmetric")).attr("nearest_mode", std::string("floor"));
  const Tensor y = run_ok(t, {&x, &roi, &scales, &sizes});
  ASSERT_EQ(y.shape(), (Shape{1, 1, 4, 6}));
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 6; ++j) EXPECT_EQ(y.as<int64_t>()[i * 6 + j], x.as<int64_t>()[(i / 2) * 3 + j / 2]);
}

// Bilinear half_pixel on random data against a direct loop (clamped source coordinates).
TEST(RefResize, BilinearHalfPixelAgainstLoopOracle) {
  const uint32_t seed = 9;
  const int64_t h = 5, w = 6, oh = 7, ow = 11;
  const Tensor x = random_tensor(Shape{2, 1, h, w}, seed);
  const Tensor sizes = sizes_of({2, 1, oh, ow});
  NodeUnderTest t("Resize", 4, 1, 13);
  t.attr("mode", std::string("linear"));
  const Tensor y = run_ok(t, {&x, nullptr, nullptr, &sizes});
  Tensor want(DType::f32, Shape{2, 1, oh, ow});
  auto src = [](int64_t o, int64_t in, int64_t out) {
    const double v = (o + 0.5) * static_cast<double>(in) / static_cast<double>(out) - 0.5;
    return std::min(std::max(v, 0.0), static_cast<double>(in - 1));
  };
  for (int n = 0; n < 2; ++n)
    for (int64_t i = 0; i < oh; ++i)
      for (int64_t j = 0; j < ow; ++j) {
        const double sy = src(i, h, oh), sx = src(j, w, ow);
        const int64_t y0 = static_cast<int64_t>(sy), x0 = static_cast<int64_t>(sx);
        const int64_t y1 = std::min(y0 + 1, h - 1), x1 = std::min(x0 + 1, w - 1);
        const double fy = sy - y0, fx = sx - x0;
        auto at = [&](int64_t r, int64_t c) { return static_cast<double>(x.as<float>()[(n * h + r) * w + c]); };
        want.as<float>()[(n * oh + i) * ow + j] = static_cast<float>(
            (1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x1)) + fy * ((1 - fx) * at(y1, x0) + fx * at(y1, x1)));
      }
  SCOPED_TRACE(::testing::Message() << "seed " << seed);
  expect_close(y, want);
}

TEST(RefResize, Opset18AxesAndKeepAspectRatio) {
  const Tensor x = arange_4x4();
  const Tensor sizes = sizes_of({8, 6});
  NodeUnderTest t("Resize", 4, 1, 18);
  t.attr("axes", std::vector<int64_t>{2, 3}).attr("keep_aspect_ratio_policy", std::string("not_larger"));
  const Tensor y = run_ok(t, {&x, nullptr, nullptr, &sizes});
  EXPECT_EQ(y.shape(), (Shape{1, 1, 6, 6}));  // scale min(8/4, 6/4) = 1.5 on both axes
}

TEST(RefResize, InvalidInputsAreErrors) {
  const Tensor s = scales_of({1, 1, 2, 2});
  const Tensor sizes = sizes_of({1, 1, 4, 4});
  NodeUnderTest both("Resize", 4, 1, 13);
  auto r = both.run({&k2x2, nullptr, &s, &sizes});
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("node 'n0' (Resize)"), std::string::npos);
  NodeUnderTest antialias("Resize", 3, 1, 18);
  antialias.attr("antialias", int64_t{1});
  EXPECT_EQ(antialias.run({&k2x2, nullptr, &s}).status().code(), StatusCode::unsupported);
  const Tensor shrink = scales_of({1, 1, 0.5f, 0.5f});
  NodeUnderTest up("Upsample", 2, 1, 9);
  EXPECT_FALSE(up.run({&k2x2, &shrink}).is_ok());
  const Tensor wrong_len = scales_of({2, 2});
  NodeUnderTest len("Resize", 3, 1, 13);
  EXPECT_FALSE(len.run({&k2x2, nullptr, &wrong_len}).is_ok());
  NodeUnderTest mode("Resize", 3, 1, 13);
  mode.attr("mode", std::string("bicubic"));
  EXPECT_FALSE(mode.run({&k2x2, nullptr, &s}).is_ok());
}

}  // namespace
}  // namespace ep::testing
