#include "pipeline/preprocess.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace ep::pipeline {
namespace {

// Source taps for one output axis: out[d] = in[i0] + w * (in[i1] - in[i0]).
struct AxisTable {
  std::vector<int> i0, i1;
  std::vector<float> w;
};

// OpenCV's INTER_LINEAR convention: pixel centres at +0.5, so
// src = (d + 0.5) * (src_n / dst_n) - 0.5; a position before the first centre clamps to
// pixel 0 and one at or past the last centre to pixel n-1 (weight 0): border replicate.
// `stride` premultiplies the indices (3 for interleaved BGR columns).
void build_axis(int src_n, int dst_n, int stride, AxisTable& t) {
  t.i0.resize(dst_n);
  t.i1.resize(dst_n);
  t.w.resize(dst_n);
  // The same double ratio cv::resize computes (1 / inv_scale), so positions agree bit for bit.
  const double ratio = 1.0 / (static_cast<double>(dst_n) / src_n);
  for (int d = 0; d < dst_n; ++d) {
    float f = static_cast<float>((d + 0.5) * ratio - 0.5);
    int s = static_cast<int>(std::floor(f));
    f -= static_cast<float>(s);
    if (s < 0) s = 0, f = 0;
    if (s >= src_n - 1) s = src_n - 1, f = 0;
    t.i0[d] = s * stride;
    t.i1[d] = std::min(s + 1, src_n - 1) * stride;
    t.w[d] = f;
  }
}

// Horizontal pass of one source row into three planar float rows (source channel order).
// The row is widened to float first (a contiguous, vectorised loop) so the taps are float
// loads; tried: explicit AVX2 gathers for the taps, no faster on this CPU (bench/README).
void resample_row(const uint8_t* src, int src_cols, const AxisTable& t, int n, float* wide, float* r0, float* r1,
                  float* r2) {
  for (int i = 0; i < 3 * src_cols; ++i) wide[i] = src[i];
  const int* __restrict i0 = t.i0.data();
  const int* __restrict i1 = t.i1.data();
  const float* __restrict w = t.w.data();
  float* out[3] = {r0, r1, r2};
  for (int c = 0; c < 3; ++c) {
    const float* __restrict s = wide + c;
    float* __restrict o = out[c];
    for (int x = 0; x < n; ++x) {
      const float a = s[i0[x]];
      o[x] = a + w[x] * (s[i1[x]] - a);
    }
  }
}

// Scratch reused across calls on the same thread, so steady-state calls do not allocate.
struct Scratch {
  AxisTable xt;
  std::vector<float> rows;  // 2 cached source rows x 3 channels x content width
  std::vector<float> wide;  // one source row as float
};

}  // namespace

Result<Geometry> preprocess_geometry(cv::Size source, const PreprocessSpec& spec) {
  if (source.width <= 0 || source.height <= 0)
    return invalid_argument("preprocess: empty source image (", source.width, "x", source.height, ")");
  if (spec.width <= 0 || spec.height <= 0)
    return invalid_argument("preprocess: output size ", spec.width, "x", spec.height, " must be positive");
  Geometry g;
  if (spec.resize == ResizeMode::stretch) {
    g.content_width = spec.width;
    g.content_height = spec.height;
  } else {
    const double s = std::min(static_cast<double>(spec.width) / source.width,
                              static_cast<double>(spec.height) / source.height);
    g.content_width = std::clamp(static_cast<int>(std::lround(source.width * s)), 1, spec.width);
    g.content_height = std::clamp(static_cast<int>(std::lround(source.height * s)), 1, spec.height);
    if (spec.align == PadAlign::center) {
      g.offset_x = static_cast<float>((spec.width - g.content_width) / 2);
      g.offset_y = static_cast<float>((spec.height - g.content_height) / 2);
    }
  }
  g.scale_x = static_cast<float>(g.content_width) / source.width;
  g.scale_y = static_cast<float>(g.content_height) / source.height;
  return g;
}

Result<Geometry> preprocess_into(const cv::Mat& bgr, const PreprocessSpec& spec, float* dst,
                                 int64_t row_stride, int64_t channel_stride) {
  if (bgr.empty()) return invalid_argument("preprocess: empty image");
  if (bgr.type() != CV_8UC3)
    return invalid_argument("preprocess: image type ", bgr.type(), ", expected CV_8UC3 (", CV_8UC3, ")");
  EP_ASSIGN_OR_RETURN(Geometry g, preprocess_geometry(bgr.size(), spec));
  if (dst == nullptr) return invalid_argument("preprocess: null output");
  if (row_stride < spec.width || channel_stride < row_stride * spec.height)
    return invalid_argument("preprocess: strides row ", row_stride, " channel ", channel_stride,
                            " too small for a ", spec.height, "x", spec.width, " plane");
  for (int c = 0; c < 3; ++c)
    if (spec.std[c] == 0) return invalid_argument("preprocess: std[", c, "] is 0");

  // Folded affine per output channel: out = v * mul + add.
  float mul[3], add[3], pad[3];
  int src_ch[3];
  for (int c = 0; c < 3; ++c) {
    mul[c] = spec.scale / spec.std[c];
    add[c] = -spec.mean[c] / spec.std[c];
    pad[c] = spec.pad_value * mul[c] + add[c];
    src_ch[c] = spec.color == ColorOrder::bgr ? c : 2 - c;
  }

  const int cw = g.content_width, ch = g.content_height;
  const int ox = static_cast<int>(g.offset_x), oy = static_cast<int>(g.offset_y);
  thread_local Scratch scratch;
  build_axis(bgr.cols, cw, 3, scratch.xt);
  scratch.rows.resize(static_cast<size_t>(6) * cw);
  scratch.wide.resize(static_cast<size_t>(3) * bgr.cols);
  float* slot[2] = {scratch.rows.data(), scratch.rows.data() + 3 * cw};
  int tag[2] = {-1, -1};
  // Returns the cached planar row for source row `r`, resampling it into the slot not
  // holding `keep` (the other row the current output row needs).
  auto row = [&](int r, int keep) -> const float* {
    for (int k = 0; k < 2; ++k)
      if (tag[k] == r) return slot[k];
    const int k = tag[0] == keep ? 1 : 0;
    resample_row(bgr.ptr<uint8_t>(r), bgr.cols, scratch.xt, cw, scratch.wide.data(), slot[k], slot[k] + cw, slot[k] + 2 * cw);
    tag[k] = r;
    return slot[k];
  };

  const double ratio_y = 1.0 / (static_cast<double>(ch) / bgr.rows);
  for (int y = 0; y < spec.height; ++y) {
    const int cy = y - oy;
    if (cy < 0 || cy >= ch) {  // letterbox border row
      for (int c = 0; c < 3; ++c) std::fill_n(dst + c * channel_stride + y * row_stride, spec.width, pad[c]);
      continue;
    }
    float fy = static_cast<float>((cy + 0.5) * ratio_y - 0.5);
    int y0 = static_cast<int>(std::floor(fy));
    fy -= static_cast<float>(y0);
    if (y0 < 0) y0 = 0, fy = 0;
    if (y0 >= bgr.rows - 1) y0 = bgr.rows - 1, fy = 0;
    const int y1 = std::min(y0 + 1, bgr.rows - 1);
    const float* r0 = row(y0, y1);
    const float* r1 = fy == 0 ? r0 : row(y1, y0);
    for (int c = 0; c < 3; ++c) {
      float* out = dst + c * channel_stride + y * row_stride;
      std::fill_n(out, ox, pad[c]);
      std::fill(out + ox + cw, out + spec.width, pad[c]);
      const float* a = r0 + src_ch[c] * cw;
      const float* b = r1 + src_ch[c] * cw;
      float* o = out + ox;
      const float m = mul[c], ad = add[c];
      for (int x = 0; x < cw; ++x) o[x] = (a[x] + fy * (b[x] - a[x])) * m + ad;
    }
  }
  return g;
}

Result<Geometry> preprocess_into(const cv::Mat& bgr, const PreprocessSpec& spec, const TensorView& out,
                                 int64_t batch_index) {
  if (out.dtype != DType::f32) return invalid_argument("preprocess: output dtype must be f32");
  const Shape& s = out.shape;
  if (s.rank() != 4 || s[1] != 3 || s[2] != spec.height || s[3] != spec.width)
    return invalid_argument("preprocess: output shape ", s.to_string(), ", expected Nx3x", spec.height, "x",
                            spec.width);
  if (batch_index < 0 || batch_index >= s[0])
    return out_of_range("preprocess: batch index ", batch_index, " outside output batch ", s[0]);
  const int64_t plane = s[2] * s[3];
  return preprocess_into(bgr, spec, out.as<float>() + batch_index * 3 * plane, s[3], plane);
}

}  // namespace ep::pipeline
