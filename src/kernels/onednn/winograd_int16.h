// int8 3x3 convolutions with 17 to 24 output channels (the PP-OCRv4 detector's neck/head
// 96 -> 24 layers) as Winograd F(4x4, 3x3) in int16: 36 multiplies per 4x4 output tile and
// channel instead of 144, two per vpdpwssd lane, so about half NarrowInt8Conv's multiply
// instructions (its loop already runs near the core's vpdpbusd rate).
//
// Input: d = x - x_zero (|d| <= 255), V = B^T d B exact in int16 (B's row abs-sums are at
// most 10, so |V| <= 25500); the padding is the zero point, d = 0. Weights: U = G g G^T of the
// int8 weights in double, quantized per (position, output channel) over the input channels
// to int16 with a bound that keeps the int32 sums over Cin exact (no overflow for any input).
// The 36 products are int32 sums of vpdpwssd over channel pairs, with 16 tiles in the lanes
// (8 tiles of two tile rows); the output transform, bias, post-op chain and requantization
// run in f32 as NarrowInt8Conv's epilogue. u8 input, stride 1, pads 1, NHWC; AVX512-VNNI and
// VBMI (the output's byte permutes).
//
// Precision: the int16 step of U is as coarse as exact int32 sums need (sum |V| |U| < 2^31
// for any input), and the output transform multiplies its rounding by up to 64: on uniform
// full-range inputs and weights up to 4 output steps off (0.05 on average), where the direct
// kernels are at most 1; the detector's IoU moved 0.97243 -> 0.97237 (20 frames).
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/cpu/quantize.h"
#include "kernels/fused_conv.h"
#include "kernels/onednn/pixel_block_store.h"

namespace ep::kernels {

class WinogradInt16 {
 public:
  // Whether the node is one this class computes (see above): false in a build without
  // AVX512-VNNI.
  static bool supports(const FusedConvParams& p);
  // supports(p), and the output wide enough for it to gain over NarrowInt8Conv (fused_conv.cc:
  // narrower, lanes idle past a row's last tile and the per-band costs outweigh it).
  static bool gains(const FusedConvParams& p) { return supports(p) && p.ow >= 64; }

  // Transforms and packs the weights [Cout, Cin, 3, 3] (s8); returns the scratch bytes run()
  // needs.
  size_t prepare(const FusedConvParams& p, const int8_t* w, const float* b);

  // After prepare() with p.y_dtype f32: run() writes y = QuantizeLinear(A + A * s[oc]) as q.q
  // instead of the f32 output A, each operation rounded as edgepipe.ScaleAdd with y_scale
  // computes it (the bytes of A through that step; passes' fold_conv_scale_add).
  void set_scale_add(const cpu::QuantizeTo& q) { store_.set_scale_add(q); }

  // x [N, H, W, Cin] u8, y [N, OH, OW, Cout] as p.y_dtype (or set_scale_add's type, with s:
  // Cout values); scratch of prepare()'s size. Threads: the calling thread's OpenMP team, as
  // many as at prepare().
  void run(const uint8_t* x, void* y, void* scratch, const float* s = nullptr) const;

 private:
  static constexpr int kOc = 24;  // accumulators: output channels, padded with zero weights
  static constexpr int kP = 36;   // 6x6 transform positions
  struct Buffers;
  void pack_channel(const int8_t* w, int64_t oc);
  void convert_row(const uint8_t* x, int64_t img, int64_t iy, int64_t r, int32_t* rows) const;
  void run_band(const uint8_t* x, void* y, const Buffers& b, int64_t img, int64_t ty0, bool next) const;
  void transform_input(const Buffers& b, int64_t ty0, int64_t sx) const;
  void multiply(const Buffers& b) const;
  void transform_output(const Buffers& b, int64_t oc) const;
  void store(const Buffers& b, void* y, int64_t img, int64_t ty0, int64_t sx) const;

  FusedConvParams p_;
  int64_t c2_ = 0;       // Cin / 2: int16 pairs
  int64_t strips_ = 0;   // strips of 8 tiles across
  int64_t groups_ = 0;   // 4-column groups per converted row and phase
  std::vector<int32_t> u_;           // [36][c2][kOc] int16 pairs
  std::vector<float> scale_;         // [36][kOc]: x_scale * w_scale * the position's int16 step
  std::vector<float> bias_;          // [kOc]
  PixelBlockStore store_;            // the 16-pixel blocks into NHWC
  size_t row_bytes_ = 0, v_bytes_ = 0, m_bytes_ = 0, f_bytes_ = 0, worker_bytes_ = 0;
  int workers_ = 1;
};

}  // namespace ep::kernels
