// int8 1x1 convolutions with few input channels (4-48) and 16-48 output channels (16-96 with
// f32 outputs): the detector's backbone 16 -> 32 at 320x320, 32 -> 48 and 48 -> 48 at
// 160x160, and its neck's 12 -> 96, 18 -> 96 and 42 -> 96 with f32 outputs.
//
// Why: with 4 to 12 vpdpbusd per 16 outputs, these layers are bound by what follows the sums
// (dequantize, post-ops, requantize, store), and oneDNN 2.6's brgemm 1x1 kernel spends ~10
// cycles per 16 u8 outputs on the detector's 16 -> 32 layer (115 GMAC/s on a Zen 5 core).
// Here a tile of P pixels x NV vectors of 16 output channels stays in registers: per group of
// 4 input channels, one broadcast per pixel and NV vpdpbusd against weights held in vectors
// (the vpdpbusd in asm: GCC 12 moves or spills the intrinsic's accumulator each time).
// The epilogue runs the whole tile per step: the leading affine ops fold into one per-channel
// multiply-add, hard swish multiplies by 1/6 where the reference divides (a few float ulps,
// which move a quantized output only next to a rounding tie), and quantized outputs pack four vectors
// into one 64-byte store (two saturating packs and a dword permute) instead of four
// narrowing stores. u8 input, no padding, stride or groups, no residual; AVX512-VNNI.
#pragma once

#include <cstdint>
#include <vector>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "kernels/cpu/quantize.h"
#include "kernels/fused_conv.h"

namespace ep::kernels {

class PointwiseInt8 {
 public:
  // Whether the node is one this class computes (see above): false in a build without
  // AVX512-VNNI, and for chains holding an exp or a residual.
  static bool supports(const FusedConvParams& p);

  // Packs the weights [Cout, Cin, 1, 1] (s8) as [ceil(Cin/4)][Cout] groups of 4 and folds the
  // dequantization and the chain's leading affine ops into one per-channel multiply-add.
  // Returns the scratch bytes run() needs (none).
  size_t prepare(const FusedConvParams& p, const int8_t* w, const float* b);

  // x [N, H, W, Cin] u8, y [N, H, W, Cout] as p.y_dtype. Threads: the calling thread's OpenMP
  // team, as many as at prepare().
  void run(const uint8_t* x, void* y) const;

  // The ResizeAdd that edgepipe.FusedConvResizeAdd applies to an f32 output A, in the epilogue:
  // y = (A + A * a_scale) + X[n, rows[oy], cols[ox], :] (without a_scale, A + X[..]), each
  // operation rounded as ResizeAdd rounds it, quantized as it quantizes or left f32. X is
  // [N, xh, xw, Cout] f32.
  struct ResizeAdd {
    std::vector<int64_t> rows, cols;
    int64_t xh = 0, xw = 0;
    bool scaled = false, quantized = false;
    cpu::QuantizeTo quant;
  };
  // After prepare(), with p.y_dtype f32: run_resize_add() then computes y as above.
  void set_resize_add(ResizeAdd r) { tail_ = std::move(r); }
  void run_resize_add(const uint8_t* x, void* y, const float* rx, const float* a_scale) const;

  // The tile for a count of 16-channel vectors: pixels per tile.
  static int tile_pixels(int64_t nv);

 private:
  // This run's X and A_scale for the ResizeAdd epilogue.
  struct TailInputs {
    const float* x = nullptr;
    const float* a_scale = nullptr;
    float q_recip = 0.f;  // tail_.quant.recip(), once per run
  };
  // The epilogue: the plain outputs, or the ResizeAdd's with its options read at run time, or
  // fixed as scaled and quantized (the detector's neck: no per-vector tests of the options).
  enum Tail : int { kNoTail, kTailAny, kTailScaledQuantized };
  template <int P, int NV, int kTail>
  void run_tiles(const uint8_t* x, void* y, int64_t px0, int64_t px1, int64_t base, const TailInputs& t) const;
  template <int kTail>
  void run_range(const uint8_t* x, void* y, int64_t px0, int64_t px1, const TailInputs& t) const;
  template <int kTail>
  void run_all(const uint8_t* x, void* y, const TailInputs& t) const;
#if defined(__AVX512F__)
  struct Place {
    int64_t img = 0, oy = 0, ox = 0;
  };
  template <int P, int NV, int kTail>
  void resize_add_tile(const __m512 (&v)[P * NV], void* y, int64_t px, Place& at, const TailInputs& t) const;
#endif

  FusedConvParams p_;
  int64_t c4_ = 0;                      // ceil(Cin / 4)
  std::vector<int32_t> w_;              // [c4][Cout]
  std::vector<int32_t> zsum_;           // [Cout]: x_zero * sum of the channel's weights
  std::vector<float> scale_, shift_;    // [Cout]: the folded affine step
  std::vector<PostOp> rest_;            // the chain after the folded affine ops
  ResizeAdd tail_;
  int workers_ = 1;
};

}  // namespace ep::kernels
