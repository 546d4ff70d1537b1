// int8 convolutions with 17 to 24 output channels (the PP-OCRv4 detector's 3x3 96 -> 24 layers
// at 160x160 and 80x80, 45% of its multiply-adds), with 16 output pixels of a row across the
// vector lanes instead of 16 output channels.
//
// Why: oneDNN 2.6's VNNI kernels put output channels in the lanes, so 24 channels take two
// 16-lane vectors, a third of them idle: 600-665 GOPS on a Zen 5 core whose VNNI peak is
// ~1080. Here each of 24 accumulators is one output channel for 16 pixels; per tap and group
// of 4 input channels, one load of the 16 pixels' 4 channels and 24 vpdpbusd against each
// channel's 4 weights broadcast from memory.
//
// That load needs the input as [C/4][W][4] per row: each band of output rows first converts
// the input rows it reads (16x16 transposes of 4-byte groups), with the padding filled with
// the input zero point, so every output sums all taps and the zero point's share is one
// constant per channel, subtracted in integers. The epilogue dequantizes per channel, runs
// the post-op chain, requantizes (u8/i8) or not (f32), and transposes the 16 pixels x 24
// channels back to NHWC. u8 input, stride 1, no dilation, groups or residual; AVX512-VNNI
// and VBMI (the byte permutes).
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/fused_conv.h"
#include "kernels/onednn/pixel_block_store.h"

namespace ep::kernels {

// Which kernel FusedConv (and FusedConvScaleAdd, which must agree) gives an int8 convolution
// with constant int8 weights: oneDNN's on AMX CPUs where it takes the post-op chain
// (`onednn_takes_chain`: its AMX kernels win there), else WinogradInt16 where it gains, else
// NarrowInt8Conv where it supports the shape, else oneDNN's. Figures in narrow_int8_conv.cc.
enum class NarrowInt8Choice { onednn, winograd_int16, narrow_int8 };
NarrowInt8Choice narrow_int8_choice(const FusedConvParams& p, bool onednn_takes_chain);

class NarrowInt8Conv {
 public:
  // Whether the node is one this class computes (see above): false in a build without
  // AVX512-VNNI.
  static bool supports(const FusedConvParams& p);

  // Packs the weights [Cout, Cin, kh, kw] (s8) as [kh][Cin/4][kw][24] groups of 4 and the
  // per-channel constants; returns the scratch bytes run() needs.
  size_t prepare(const FusedConvParams& p, const int8_t* w, const float* b);

  // After prepare() with p.y_dtype f32: run() writes y = QuantizeLinear(A + A * s[oc]) as q.q
  // instead of the f32 output A, each operation rounded as edgepipe.ScaleAdd with y_scale
  // computes it (PixelBlockStore::ScaleAddQuantize).
  void set_scale_add(const cpu::QuantizeTo& q) { store_.set_scale_add(q); }

  // x [N, H, W, Cin] u8, y [N, OH, OW, Cout] as p.y_dtype (or set_scale_add's type, with s:
  // Cout values); scratch of prepare()'s size. Threads: the calling thread's OpenMP team, as
  // many as at prepare().
  void run(const uint8_t* x, void* y, void* scratch, const float* s = nullptr) const;

 private:
  static constexpr int kOc = 24;       // accumulators: output channels, padded with zero weights
  static constexpr int64_t kBand = 8;  // output rows per converted band
  void convert_row(const uint8_t* x, int64_t img, int64_t iy, int32_t* dst) const;
  void run_rows(const uint8_t* x, void* y, int32_t* buf, int64_t row0, int64_t row1, const float* s) const;

  FusedConvParams p_;
  int64_t c4_ = 0;    // Cin / 4
  int64_t wbuf_ = 0;  // 4-byte groups per converted row and channel group
  std::vector<int32_t> w_;      // [kh][c4][kw][kOc]
  std::vector<int32_t> zsum_;   // [kOc]: x_zero * sum of the channel's weights
  std::vector<float> scale_, bias_;  // [kOc]: x_scale * w_scale, bias
  PixelBlockStore store_;            // the 16-pixel blocks into NHWC
  size_t worker_bytes_ = 0;
  int workers_ = 1;
};

}  // namespace ep::kernels
