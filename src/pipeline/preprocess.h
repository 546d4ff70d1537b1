// Image -> float NCHW tensor in one pass: resize (stretch or letterbox), colour order,
// scale/mean/std, planar write into caller memory. No intermediate images.
#pragma once

#include <array>
#include <cstdint>

#include <opencv2/core.hpp>

#include "edgepipe/status.h"
#include "edgepipe/tensor.h"

namespace ep::pipeline {

enum class ResizeMode { stretch, letterbox };
enum class PadAlign { center, top_left };
enum class ColorOrder { bgr, rgb };

struct PreprocessSpec {
  int width = 0;   // output plane size
  int height = 0;
  ResizeMode resize = ResizeMode::stretch;
  PadAlign align = PadAlign::center;  // letterbox only
  float pad_value = 114;              // letterbox border, in pixel units (before scale/mean/std)
  ColorOrder color = ColorOrder::bgr;  // order of the output channels
  // out[c] = (pixel * scale - mean[c]) / std[c], c in output channel order.
  float scale = 1.0f / 255.0f;
  std::array<float, 3> mean{0, 0, 0};
  std::array<float, 3> std{1, 1, 1};
};

// Where the source landed in the output: out = src * scale + offset, in continuous pixel
// coordinates (edges, not centres), so boxes map back exactly.
struct Geometry {
  float scale_x = 1, scale_y = 1;
  float offset_x = 0, offset_y = 0;
  int content_width = 0, content_height = 0;  // resized image inside the output plane
  cv::Point2f to_source(cv::Point2f p) const {
    return {(p.x - offset_x) / scale_x, (p.y - offset_y) / scale_y};
  }
  cv::Rect2f to_source(const cv::Rect2f& r) const {
    return {(r.x - offset_x) / scale_x, (r.y - offset_y) / scale_y, r.width / scale_x, r.height / scale_y};
  }
};

// Geometry `spec` gives an image of `source` size (no pixels touched).
Result<Geometry> preprocess_geometry(cv::Size source, const PreprocessSpec& spec);

// Writes 3 planes of spec.height x spec.width floats: plane c starts at
// dst + c * channel_stride, rows are row_stride floats apart (>= spec.width). `bgr` is
// CV_8UC3, any size, may be a non-continuous ROI. Resampling matches
// cv::resize(INTER_LINEAR) on a float image (half-pixel centres:
// src = (dst + 0.5) * src_size / dst_size - 0.5, clamped to the border).
Result<Geometry> preprocess_into(const cv::Mat& bgr, const PreprocessSpec& spec, float* dst,
                                 int64_t row_stride, int64_t channel_stride);

// Same, into image `batch_index` of an f32 [N, 3, spec.height, spec.width] view.
Result<Geometry> preprocess_into(const cv::Mat& bgr, const PreprocessSpec& spec, const TensorView& out,
                                 int64_t batch_index = 0);

}  // namespace ep::pipeline
