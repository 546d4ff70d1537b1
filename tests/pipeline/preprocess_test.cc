#include "pipeline/preprocess.h"

#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>

#include <cmath>
#include <tuple>
#include <vector>

namespace ep::pipeline {
namespace {

cv::Mat random_image(int w, int h, uint64_t seed) {
  cv::Mat m(h, w, CV_8UC3);
  cv::RNG rng(seed);
  rng.fill(m, cv::RNG::UNIFORM, 0, 256);
  return m;
}

// Oracle: cv::resize on a float copy (float weights, no rounding to uint8), then the
// normalisation, split into planes.
std::vector<float> reference(const cv::Mat& bgr, int w, int h, bool rgb, float scale, cv::Scalar mean,
                             cv::Scalar stdv) {
  cv::Mat f, r;
  bgr.convertTo(f, CV_32FC3);
  cv::resize(f, r, cv::Size(w, h), 0, 0, cv::INTER_LINEAR);
  if (rgb) cv::cvtColor(r, r, cv::COLOR_BGR2RGB);
  std::vector<float> out(static_cast<size_t>(3) * w * h);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c)
        out[(static_cast<size_t>(c) * h + y) * w + x] =
            (r.at<cv::Vec3f>(y, x)[c] * scale - static_cast<float>(mean[c])) / static_cast<float>(stdv[c]);
  return out;
}

struct Case {
  int sw, sh, dw, dh;
};

// Oracle in float64: bilinear with cv::resize's taps (half-pixel centres, the source
// coordinate rounded to float as cv::resize does, border replicate), then the
// normalisation, planar in output channel order.
std::vector<double> reference64(const cv::Mat& bgr, int w, int h, bool rgb, double scale, const double* mean,
                                const double* stdv) {
  auto taps = [](int d, int src_n, int dst_n) {
    float f = static_cast<float>((d + 0.5) * (1.0 / (static_cast<double>(dst_n) / src_n)) - 0.5);
    int s = static_cast<int>(std::floor(f));
    double fr = f - s;
    if (s < 0) s = 0, fr = 0;
    if (s >= src_n - 1) s = src_n - 1, fr = 0;
    return std::make_tuple(s, std::min(s + 1, src_n - 1), fr);
  };
  std::vector<double> out(static_cast<size_t>(3) * w * h);
  for (int y = 0; y < h; ++y) {
    const auto [y0, y1, fy] = taps(y, bgr.rows, h);
    for (int x = 0; x < w; ++x) {
      const auto [x0, x1, fx] = taps(x, bgr.cols, w);
      for (int c = 0; c < 3; ++c) {
        const int sc = rgb ? 2 - c : c;
        auto px = [&](int r, int col) { return static_cast<double>(bgr.at<cv::Vec3b>(r, col)[sc]); };
        const double top = px(y0, x0) * (1 - fx) + px(y0, x1) * fx;
        const double bottom = px(y1, x0) * (1 - fx) + px(y1, x1) * fx;
        const double v = top * (1 - fy) + bottom * fy;
        out[(static_cast<size_t>(c) * h + y) * w + x] = (v * scale - mean[c]) / stdv[c];
      }
    }
  }
  return out;
}

// Largest |out - ref| over all planes, in pixel levels (the units of the 8-bit input).
double worst_levels(const std::vector<float>& out, const std::vector<double>& ref, int plane, double scale,
                    const double* stdv) {
  double worst = 0;
  for (size_t i = 0; i < out.size(); ++i)
    worst = std::max(worst, std::abs(out[i] - ref[i]) * stdv[i / plane] / scale);
  return worst;
}

// Every horizontal path: byte permutes with 1, 2 and 4 windows per block (downscale up to
// ~2.7x, ~5x, ~13x), the scalar gather beyond, widths off the 16-column block, upscales,
// 1 and 2 source columns, and a ROI ending at the last byte of its allocation (a read past
// the row's end would be out of bounds for the last row). The bound: float arithmetic on
// exact taps, error <= 1e-3 pixel levels (measured < 5e-5).
TEST(Preprocess, MatchesFloat64ReferenceOnEveryPath) {
  const Case cases[] = {{1280, 720, 640, 360}, {1920, 1080, 640, 640}, {1920, 1080, 320, 48}, {1920, 60, 150, 7},
                        {1920, 30, 80, 5},     {301, 40, 97, 21},      {333, 17, 111, 5},     {37, 23, 100, 61},
                        {1, 9, 17, 4},         {2, 3, 33, 2},          {130, 4, 16, 4},       {47, 5, 31, 3},
                        {640, 480, 1280, 960}};
  const double mean[3] = {0.485, 0.456, 0.406}, stdv[3] = {0.229, 0.224, 0.225};
  for (const Case& k : cases) {
    for (bool rgb : {false, true}) {
      // The image is the bottom-right corner of a larger one: non-continuous rows, the
      // last of which ends where the allocation does.
      cv::Mat big = random_image(k.sw + 5, k.sh + 3, k.sw * 7 + k.dw);
      cv::Mat img = big(cv::Rect(5, 3, k.sw, k.sh));
      PreprocessSpec spec;
      spec.width = k.dw;
      spec.height = k.dh;
      spec.color = rgb ? ColorOrder::rgb : ColorOrder::bgr;
      spec.mean = {0.485f, 0.456f, 0.406f};
      spec.std = {0.229f, 0.224f, 0.225f};
      std::vector<float> out(static_cast<size_t>(3) * k.dw * k.dh);
      auto g = preprocess_into(img, spec, out.data(), k.dw, static_cast<int64_t>(k.dw) * k.dh);
      ASSERT_TRUE(g.is_ok()) << g.status().to_string();
      const auto ref = reference64(img, k.dw, k.dh, rgb, 1.0 / 255, mean, stdv);
      EXPECT_LE(worst_levels(out, ref, k.dw * k.dh, 1.0 / 255, stdv), 1e-3)
          << k.sw << "x" << k.sh << " -> " << k.dw << "x" << k.dh << " rgb " << rgb;
    }
  }
}

TEST(Preprocess, StretchMatchesOpenCvResize) {
  // Down, up, mixed, odd sizes, exact 2x (where cv::resize switches to INTER_AREA) and 1x1.
  const Case cases[] = {{1280, 720, 640, 640}, {37, 23, 100, 61}, {300, 40, 97, 48}, {64, 64, 32, 32},
                        {5, 7, 5, 7},          {1, 1, 9, 4},       {250, 17, 320, 48}};
  for (const Case& k : cases) {
    for (bool rgb : {false, true}) {
      cv::Mat img = random_image(k.sw, k.sh, k.sw * 31 + k.dh);
      PreprocessSpec spec;
      spec.width = k.dw;
      spec.height = k.dh;
      spec.color = rgb ? ColorOrder::rgb : ColorOrder::bgr;
      spec.mean = {0.485f, 0.456f, 0.406f};
      spec.std = {0.229f, 0.224f, 0.225f};
      std::vector<float> out(static_cast<size_t>(3) * k.dw * k.dh);
      auto g = preprocess_into(img, spec, out.data(), k.dw, static_cast<int64_t>(k.dw) * k.dh);
      ASSERT_TRUE(g.is_ok()) << g.status().to_string();
      auto ref = reference(img, k.dw, k.dh, rgb, spec.scale, {0.485, 0.456, 0.406}, {0.229, 0.224, 0.225});
      double worst = 0;
      for (size_t i = 0; i < out.size(); ++i) worst = std::max(worst, std::abs(double(out[i]) - ref[i]));
      // Error in pixel units: out is pixel/255/std, so multiply back by 255*0.229 (smallest std).
      EXPECT_LT(worst * 0.229 * 255, 1e-3) << k.sw << "x" << k.sh << " -> " << k.dw << "x" << k.dh << " rgb " << rgb;
    }
  }
}

TEST(Preprocess, NonContinuousRoi) {
  cv::Mat big = random_image(200, 150, 7);
  cv::Mat roi = big(cv::Rect(13, 21, 101, 77));
  ASSERT_FALSE(roi.isContinuous());
  PreprocessSpec spec;
  spec.width = 64;
  spec.height = 48;
  spec.scale = 1;
  std::vector<float> a(3 * 64 * 48), b(3 * 64 * 48);
  ASSERT_TRUE(preprocess_into(roi, spec, a.data(), 64, 64 * 48).is_ok());
  ASSERT_TRUE(preprocess_into(roi.clone(), spec, b.data(), 64, 64 * 48).is_ok());
  EXPECT_EQ(a, b);
}

TEST(Preprocess, LetterboxCentredAndTopLeft) {
  cv::Mat img = random_image(1280, 720, 3);
  for (PadAlign align : {PadAlign::center, PadAlign::top_left}) {
    PreprocessSpec spec;
    spec.width = 640;
    spec.height = 640;
    spec.resize = ResizeMode::letterbox;
    spec.align = align;
    spec.pad_value = 114;
    spec.color = ColorOrder::rgb;
    Tensor t(DType::f32, Shape{2, 3, 640, 640});
    auto g = preprocess_into(img, spec, t.view(), 1);
    ASSERT_TRUE(g.is_ok()) << g.status().to_string();
    EXPECT_EQ(g->content_width, 640);
    EXPECT_EQ(g->content_height, 360);
    EXPECT_FLOAT_EQ(g->scale_x, 0.5f);
    const int oy = align == PadAlign::center ? 140 : 0;
    EXPECT_EQ(g->offset_y, oy);
    EXPECT_EQ(g->offset_x, 0);
    const float* p = t.as<float>() + 3 * 640 * 640;  // batch 1
    const float pad = 114.f / 255.f;
    EXPECT_FLOAT_EQ(p[(oy == 0 ? 639 : 0) * 640 + 5], pad);
    EXPECT_FLOAT_EQ(t.as<float>()[0], 0.f);  // batch 0 untouched
    // The content equals a stretch of the whole image to 640x360.
    auto ref = reference(img, 640, 360, true, 1.f / 255, {0, 0, 0}, {1, 1, 1});
    double worst = 0;
    for (int c = 0; c < 3; ++c)
      for (int y = 0; y < 360; ++y)
        for (int x = 0; x < 640; ++x)
          worst = std::max(worst, std::abs(double(p[(c * 640 + y + oy) * 640 + x]) - ref[(c * 360 + y) * 640 + x]));
    EXPECT_LT(worst * 255, 1e-3);
    // Geometry maps the content corners back to the source corners.
    cv::Point2f br = g->to_source({640.f, oy + 360.f});
    EXPECT_NEAR(br.x, 1280, 1e-3);
    EXPECT_NEAR(br.y, 720, 1e-3);
  }
}

TEST(Preprocess, Errors) {
  PreprocessSpec spec;
  spec.width = 8;
  spec.height = 8;
  std::vector<float> out(3 * 64);
  EXPECT_FALSE(preprocess_into(cv::Mat(), spec, out.data(), 8, 64).is_ok());
  EXPECT_FALSE(preprocess_into(cv::Mat(4, 4, CV_8UC1), spec, out.data(), 8, 64).is_ok());
  EXPECT_FALSE(preprocess_into(random_image(4, 4, 1), spec, out.data(), 7, 64).is_ok());
  Tensor t(DType::f32, Shape{1, 3, 8, 9});
  auto r = preprocess_into(random_image(4, 4, 1), spec, t.view());
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("1x3x8x9"), std::string::npos) << r.status().message();
  spec.width = 0;
  EXPECT_FALSE(preprocess_into(random_image(4, 4, 1), spec, out.data(), 8, 64).is_ok());
}

}  // namespace
}  // namespace ep::pipeline
