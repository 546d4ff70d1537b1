#include "pipeline/preprocess.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#ifdef __AVX512VBMI__
#include <immintrin.h>
#endif

namespace ep::pipeline {
namespace {

// OpenCV's INTER_LINEAR convention: pixel centres at +0.5, so
// src = (d + 0.5) * (src_n / dst_n) - 0.5, clamped to the border (replicate).
// Returns the left tap s and weight f of the right tap s + 1; s is kept <= src_n - 2 (a
// position at or past the last centre becomes s = src_n - 2, f = 1, the same value), so
// both taps are always in the row; src_n == 1 gives s = 0, f = 0 (the caller clamps s + 1).
struct Tap {
  int s;
  float f;
};
Tap axis_tap(int d, int src_n, double ratio) {
  float f = static_cast<float>((d + 0.5) * ratio - 0.5);
  int s = static_cast<int>(std::floor(f));
  f -= static_cast<float>(s);
  if (s < 0) s = 0, f = 0;
  if (s >= src_n - 1) s = std::max(src_n - 2, 0), f = src_n > 1 ? 1.f : 0.f;
  return {s, f};
}

// The same double ratio cv::resize computes (1 / inv_scale), so positions agree bit for bit.
double axis_ratio(int src_n, int dst_n) { return 1.0 / (static_cast<double>(dst_n) / src_n); }

// Horizontal taps: output column x blends the 6 bytes at offset[x] (left pixel's BGR, then
// the right pixel's) with weight w[x]. Columns below `fast` may read those 6 bytes as one
// 8-byte load without passing the row's end. Columns below `block_end` (a multiple of 16)
// take the byte-permute path, whose blocks of 16 columns read their taps from `windows`
// 128-byte windows of the row, each starting at the window's first column's offset.
struct ColumnTable {
  std::vector<int32_t> offset;
  std::vector<float> w;
  int fast = 0;
  int block_end = 0;
  int windows = 0;
};

constexpr int kBlock = 16;
constexpr int kWindowBytes = 128;  // what one two-register byte permute can index

#ifdef __AVX512VBMI__
constexpr bool kHaveBytePermute = true;
#else
constexpr bool kHaveBytePermute = false;
#endif

// Longest prefix of whole blocks that `windows` windows per block can serve: each window's
// 6 tap bytes of all its columns lie inside its 128 bytes, which lie inside the row.
int block_prefix(const std::vector<int32_t>& offset, int row_bytes, int windows) {
  const int lanes = kBlock / windows, n = static_cast<int>(offset.size());
  int x = 0;
  for (; x + kBlock <= n; x += kBlock)
    for (int w = 0; w < windows; ++w) {
      const int base = offset[x + w * lanes];
      if (base + kWindowBytes > row_bytes || offset[x + w * lanes + lanes - 1] + 6 - base > kWindowBytes)
        return x;
    }
  return x;
}

void build_columns(int src_n, int dst_n, ColumnTable& t) {
  t.offset.resize(dst_n);
  t.w.resize(dst_n);
  t.fast = 0;
  const double ratio = axis_ratio(src_n, dst_n);
  for (int d = 0; d < dst_n; ++d) {
    const Tap tap = axis_tap(d, src_n, ratio);
    t.offset[d] = 3 * tap.s;
    t.w[d] = tap.f;
    if (3 * tap.s + 8 <= 3 * src_n) t.fast = d + 1;  // s is non-decreasing in d
  }
  // Fewest windows per block (each costs two permutes) that serve within two blocks as many
  // columns as the most would; past ~13x downscale all columns take the scalar path.
  t.block_end = 0;
  t.windows = 0;
  if (!kHaveBytePermute) return;
  int end[3], best = 0;
  for (int i = 0; i < 3; ++i) best = std::max(best, end[i] = block_prefix(t.offset, 3 * src_n, 1 << i));
  for (int i = 0; i < 3 && best > 0 && t.windows == 0; ++i)
    if (end[i] >= best - 2 * kBlock) t.windows = 1 << i, t.block_end = end[i];
}

#ifdef __AVX512VBMI__
// One block of 16 columns. Two byte permutes per window pull each column's 6 tap bytes into
// its int32 lane, as B0 G0 R0 B1 and G1 R1 0 0; the windows' lanes are OR-ed together.
template <int kWindows>
void resample_block(const uint8_t* src, const uint8_t* ahead, const int32_t* offset, const float* w, float* r0,
                    float* r1, float* r2) {
  constexpr int kLanes = kBlock / kWindows;
  const __m512i off = _mm512_loadu_si512(offset);
  // Byte b of a lane indexes its column's offset + b: spread the offset to the 4 bytes.
  const __m512i spread = _mm512_set_epi32(0x0c0c0c0c, 0x08080808, 0x04040404, 0, 0x0c0c0c0c, 0x08080808, 0x04040404, 0,
                                          0x0c0c0c0c, 0x08080808, 0x04040404, 0, 0x0c0c0c0c, 0x08080808, 0x04040404, 0);
  __m512i first = _mm512_setzero_si512(), second = _mm512_setzero_si512();
  for (int win = 0; win < kWindows; ++win) {
    const int base = offset[win * kLanes];
    const __m512i lo = _mm512_loadu_si512(src + base), hi = _mm512_loadu_si512(src + base + 64);
    __builtin_prefetch(ahead + base);
    __builtin_prefetch(ahead + base + 64);
    const __mmask64 lanes = ((~0ull) >> (64 - 4 * kLanes)) << (4 * kLanes * win);
    const __m512i idx = _mm512_add_epi32(_mm512_shuffle_epi8(_mm512_sub_epi32(off, _mm512_set1_epi32(base)), spread),
                                         _mm512_set1_epi32(0x03020100));
    const __m512i idx2 = _mm512_add_epi32(idx, _mm512_set1_epi32(0x04040404));
    first = _mm512_or_si512(first, _mm512_maskz_permutex2var_epi8(lanes, lo, idx, hi));
    second = _mm512_or_si512(second, _mm512_maskz_permutex2var_epi8(lanes & 0x3333333333333333ull, lo, idx2, hi));
  }
  // Vector-extension arithmetic from here: GCC 12's shift and convert intrinsics trip a
  // -Wmaybe-uninitialized false positive.
  using U32x16 = uint32_t __attribute__((vector_size(64)));
  using F32x16 = float __attribute__((vector_size(64)));
  const U32x16 p = reinterpret_cast<U32x16>(first), q = reinterpret_cast<U32x16>(second);
  const U32x16 t[6] = {p & 0xff, (p >> 8) & 0xff, (p >> 16) & 0xff, p >> 24, q & 0xff, q >> 8};
  F32x16 wx;
  std::memcpy(&wx, w, sizeof wx);
  float* out[3] = {r0, r1, r2};
  for (int c = 0; c < 3; ++c) {
    const F32x16 a = __builtin_convertvector(t[c], F32x16), b = __builtin_convertvector(t[c + 3], F32x16);
    const F32x16 v = a + wx * (b - a);
    std::memcpy(out[c], &v, sizeof v);
  }
}
#endif

// Horizontal pass of one source row into three planar float rows (source channel order).
// Whole blocks take byte permutes straight from the row where the CPU has them, and
// prefetch the same bytes of row `ahead` (a later source row the pass will need: rows are
// 1-2 pages, so the hardware prefetcher loses the stream at each new row). The rest:
// a scalar loop copies each column's 6 tap bytes into a 64-bit word (one load, one store;
// GCC's vpgatherdq version measured ~2x slower), then a branch-free loop GCC vectorises
// unpacks the bytes and blends them in float.
void resample_row(const uint8_t* src, const uint8_t* ahead, int src_cols, const ColumnTable& t, int n,
                  uint64_t* __restrict taps, float* __restrict r0, float* __restrict r1, float* __restrict r2) {
  const int32_t* __restrict offset = t.offset.data();
  const float* __restrict w = t.w.data();
  int x0 = 0;
#ifdef __AVX512VBMI__
  auto blocks = [&](auto block) {
    for (; x0 < t.block_end; x0 += kBlock) block(src, ahead, offset + x0, w + x0, r0 + x0, r1 + x0, r2 + x0);
  };
  if (t.windows == 1) blocks(resample_block<1>);
  if (t.windows == 2) blocks(resample_block<2>);
  if (t.windows == 4) blocks(resample_block<4>);
#endif
  for (int x = x0; x < std::min(t.fast, n); ++x) {
    uint64_t v;
    std::memcpy(&v, src + offset[x], sizeof v);
    asm("" : "+r"(v));  // keeps GCC from turning this into vpgatherdq
    taps[x] = v;
  }
  for (int x = std::max(x0, t.fast); x < n; ++x) {
    const uint8_t* a = src + offset[x];
    const uint8_t* b = src_cols > 1 ? a + 3 : a;
    uint64_t v = 0;
    for (int k = 0; k < 3; ++k) v |= uint64_t{a[k]} << (8 * k) | uint64_t{b[k]} << (8 * k + 24);
    taps[x] = v;
  }
  for (int x = x0; x < n; ++x) {
    const uint64_t v = taps[x];
    const float b0 = static_cast<float>(static_cast<int32_t>(v & 0xff));
    const float g0 = static_cast<float>(static_cast<int32_t>((v >> 8) & 0xff));
    const float q0 = static_cast<float>(static_cast<int32_t>((v >> 16) & 0xff));
    const float b1 = static_cast<float>(static_cast<int32_t>((v >> 24) & 0xff));
    const float g1 = static_cast<float>(static_cast<int32_t>((v >> 32) & 0xff));
    const float q1 = static_cast<float>(static_cast<int32_t>((v >> 40) & 0xff));
    r0[x] = b0 + w[x] * (b1 - b0);
    r1[x] = g0 + w[x] * (g1 - g0);
    r2[x] = q0 + w[x] * (q1 - q0);
  }
}

// Source rows resampled horizontally into planar float rows, two at a time (each output
// row blends two), each resampled once: the rows the output needs are non-decreasing.
// Kept per thread and reused, so steady-state calls do not allocate.
class ResampledRows {
 public:
  // Plans columns and vertical taps for `image` resized to `cw` x `ch`.
  void prepare(const cv::Mat& image, int cw, int ch) {
    image_ = &image;
    cw_ = cw;
    build_columns(image.cols, cw, columns_);
    rows_.resize(static_cast<size_t>(6) * cw);
    taps_.resize(cw);
    const double ratio = axis_ratio(image.rows, ch);
    ytaps_.resize(ch);
    needed_.clear();
    for (int cy = 0; cy < ch; ++cy) {
      Tap& t = ytaps_[cy];
      t = axis_tap(cy, image.rows, ratio);
      if (t.f == 1) t.s += 1, t.f = 0;  // one row only, as for weight 0
      for (int r = t.s; r <= (t.f == 0 ? t.s : t.s + 1); ++r)
        if (needed_.empty() || needed_.back() < r) needed_.push_back(r);
    }
    tag_[0] = tag_[1] = -1;
    next_ = 0;
  }

  // The two resampled rows content row `cy` blends; returns the second one's weight.
  float pair(int cy, const float** a, const float** b) {
    const Tap t = ytaps_[cy];
    *a = row(t.s, t.s + 1);
    *b = t.f == 0 ? *a : row(t.s + 1, t.s);
    return t.f;
  }

 private:
  // Planar row (3 x cw floats, source channel order) for source row `r`, resampled into
  // the slot not holding `keep` (the other row the current output row needs).
  const float* row(int r, int keep) {
    for (int k = 0; k < 2; ++k)
      if (tag_[k] == r) return rows_.data() + k * 3 * cw_;
    const int k = tag_[0] == keep ? 1 : 0;
    float* slot = rows_.data() + k * 3 * cw_;
    const int ahead = needed_[std::min(next_ + 1, needed_.size() - 1)];
    resample_row(image_->ptr<uint8_t>(r), image_->ptr<uint8_t>(ahead), image_->cols, columns_, cw_, taps_.data(), slot,
                 slot + cw_, slot + 2 * cw_);
    tag_[k] = r;
    ++next_;
    return slot;
  }

  const cv::Mat* image_ = nullptr;
  int cw_ = 0;
  ColumnTable columns_;
  std::vector<float> rows_;     // 2 slots x 3 channels x cw
  std::vector<uint64_t> taps_;  // one row's gathered tap bytes
  std::vector<Tap> ytaps_;      // per content row
  std::vector<int> needed_;     // source rows to resample, in order
  int tag_[2] = {-1, -1};       // source row in each slot
  size_t next_ = 0;             // index in needed_ of the next row to resample
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
  thread_local ResampledRows rows;
  rows.prepare(bgr, cw, ch);
  for (int y = 0; y < spec.height; ++y) {
    const int cy = y - oy;
    if (cy < 0 || cy >= ch) {  // letterbox border row
      for (int c = 0; c < 3; ++c) std::fill_n(dst + c * channel_stride + y * row_stride, spec.width, pad[c]);
      continue;
    }
    const float *r0, *r1;
    const float fy = rows.pair(cy, &r0, &r1);
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
