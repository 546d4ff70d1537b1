// int8 depthwise convolutions (group == Cin == Cout, 16k channels, stride 1 or 2, kernels up
// to 5 wide and 8 high, u8 in, u8/i8/f32 out): the PP-OCRv4 detector's 3x3 and 5x5 layers.
//
// Why: oneDNN 2.6's jit_int8 kernel runs them no faster than its f32 depthwise (2.0-2.2 ms of
// the INT8 detector's ~11 at one thread, Zen 5). Here one vpdpbusd sums 4 taps of a row for
// 16 channels: each input row is converted once into 64-byte vectors T_b whose dword lane c
// holds channel c's bytes at 4 consecutive padded columns 4b..4b+3 (the padding filled with
// the input zero point), so at stride 1 output column 4b+j of a kernel row is T_b and T_{b+1}
// against channel c's weights shifted by j bytes (zeros where no tap falls): 6 vpdpbusd per
// 4x16 outputs per kernel row at kw 3, 8 at kw 5 (stride 2: T_{2b+j/2}, T_{2b+j/2+1}, shifted
// by 2j mod 4; as many). The zero point's share is then one constant per channel (x_zero *
// sum of its weights), the sums' starting value, and the epilogue has the channels in the
// lanes: dequantize with per-lane scale and bias, the post-op chain (the requantization last,
// as FusedConv appends it; hard swish + requantization and requantization alone written out,
// others through tile::apply_post_ops), round, saturate, 16 bytes per pixel. The same
// formulas as NarrowInt8Conv. Needs AVX512-VNNI, BW and VBMI (the byte permutes).
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/fused_conv.h"

namespace ep::kernels {

class DepthwiseInt8 {
 public:
  // Whether the node is one this class computes (see above): false in a build without
  // AVX512-VNNI/VBMI.
  static bool supports(const FusedConvParams& p);

  // Packs the weights [C, 1, kh, kw] (s8) as per 16 channels [ky][j][half] vectors and the
  // per-channel constants, picks the epilogue; returns the scratch bytes run() needs.
  size_t prepare(const FusedConvParams& p, const int8_t* w, const float* b);

  // x [N, H, W, C] u8, y [N, OH, OW, C] as p.y_dtype; scratch of prepare()'s size.
  // Threads: the calling thread's OpenMP team, as many as at prepare().
  void run(const uint8_t* x, void* y, void* scratch) const;

 private:
  void pack(const int8_t* w, const float* b);  // w_, zsum_, scale_, bias_
  size_t tag_bytes() const { return (static_cast<size_t>(p_.kh) * 8 + 63) / 64 * 64; }
  void convert_row(const uint8_t* x, int64_t img, int64_t iy, uint8_t* dst) const;
  // The kh converted rows output row r reads (a ring of kh slots in the worker's scratch).
  void gather_rows(const uint8_t* x, char* scratch, int64_t r, const uint8_t** rows) const;
  // The post-op chains with an epilogue of their own (the detector's depthwise layers end in
  // hard swish then the requantization); others take tile::apply_post_ops' dispatch.
  enum class Chain { generic, hard_swish_linear, linear, none };
  bool sixth_exact() const;  // see depthwise_int8.cc
  static constexpr int64_t kMaxKw = 5;  // a block's 4 output columns read 8 padded columns
  static constexpr int64_t kMaxKh = 8;
  struct GroupArgs;  // depthwise_int8.cc
  template <int S, int KW, int KH, Chain CH>
  void run_rows(const uint8_t* x, void* y, char* scratch, int64_t row0, int64_t row1) const;
  template <int S, int KW, int KH, Chain CH, int NB, bool FULL>
  static void run_blocks(const GroupArgs& a, int64_t b);

  FusedConvParams p_;
  int64_t groups_ = 0;        // C / 16
  int64_t blocks_ = 0;        // converted vectors per row and group: padded columns / 4
  int64_t row_bytes_ = 0;     // one converted row: groups_ * blocks_ * 64
  std::vector<int8_t> w_;     // [C/16][kh][4][2][64]: weights shifted by output column j
  std::vector<int32_t> zsum_; // [C]: x_zero * sum of the channel's weights
  std::vector<float> scale_, bias_;  // [C]: x_scale * w_scale, bias
  std::vector<uint8_t> zero_row_;    // a converted row outside the image: all zero point
  Chain chain_ = Chain::generic;
  float linear_a_ = 1.f, linear_b_ = 0.f;  // the chain's last op where it is linear
  alignas(64) uint8_t out_index_[64] = {};  // quantized epilogue: vpermb to pixel-major
  alignas(64) uint8_t lanes_index_[64] = {};    // convert_row's byte permutes (see prepare())
  alignas(64) uint8_t pair_index_[2][64] = {};
  size_t worker_bytes_ = 0;
  int workers_ = 1;
};

}  // namespace ep::kernels
