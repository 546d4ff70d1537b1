// Winograd F(4x4, 3x3) convolution for CPUs where oneDNN has none (its Winograd kernels are
// AVX-512 only): f32 3x3 stride-1 (and stride-2, see S below) undilated ungrouped convolutions with channels in
// multiples of 8, on NHWC or nChw8c activations. Each 4x4 output tile is computed from a 6x6
// input patch with 36 multiplications per input/output channel pair instead of 144:
//   V = B^T d B (input transform, per tile and input channel),
//   M[k] = V[k] U[k] for each of the 36 positions k (a batched matmul on oneDNN: tiles x Cin
//          times Cin x Cout; U = G g G^T is transformed once, at prepare),
//   Y = A^T M A (output transform) + bias, then the post-op chain on each 4x4 tile while it is
//       in registers (a pass over the whole output afterwards read it back from memory).
// Transform matrices from Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks"
// (2016). Tiles go through in chunks so that V and M stay in cache between the steps.
// The rounding differs from a direct convolution's (transforms with factors up to 8): up to
// about 7e-6 of the largest output on fused_conv_test's 96-channel cases (the direct
// kernel's ~1e-7), which WinogradMatchesReference bounds at 2e-5.
// bf16 (p.precision == bf16, NHWC, CPUs with AVX512_BF16): the transforms run in f32, V and
// U are rounded to bf16 and the 36 matmuls run on oneDNN's bf16 kernels (f32 accumulation,
// f32 M); input, output and residual may each be f32 or bf16. Rounding V and U (8 bits of
// mantissa) after transforms with factors up to 5 (B) and before ones up to 8 (A) costs more
// than a direct bf16 convolution's rounding of x and w: on random data the worst error over
// the largest output is 8.3e-2 against the direct kernel's 3.7e-3 (WinogradMatchesBf16Oracle
// prints both); on the detector the maps agree with FP32's as closely as before.
#pragma once

#include <memory>
#include <vector>

#include "edgepipe/arena.h"
#include "kernels/fused_conv.h"
#include "kernels/onednn/context.h"

namespace ep::kernels {

// F(M x M, 3x3): M = 4 (6x6 input tiles, 36 products) or M = 2 (4x4 tiles, 16 products, for
// outputs under 8x8 such as ResNet's 7x7 layers, where 4x4 tiles would leave few rows per
// matmul and mostly padding).
// S = 2: stride-2 3x3 convolutions, 4x4 output tiles from 9x9 input patches. Along each axis
// the 9 samples s0..s8 of a tile split by parity: y_t = w0 s_2t + w2 s_2t+2 + w1 s_2t+1, an
// F(4, 2) correlation of the even samples with (w0, w2) (5 products, points 0, 1, -1, 2, inf)
// beside the odd samples times w1 (4 products). That pair is again a bilinear algorithm
// y = A^T[(G g) o (B^T d)] with 9 positions, so it nests in 2D like any Winograd algorithm:
// 81 products per 16 outputs instead of 144 (the even-even quarter is F(4x4, 2x2), the
// odd-odd quarter the direct w1,1 products). Only 36 of the 81 transformed weights differ:
// a position odd along an axis has the same weight at all 4 odd positions there. The
// positions sharing one are stored next to each other, so they go through one matmul with
// 4 or 16 times the rows: the transformed weights are 4x the direct ones, as for F(4x4, 3x3).
template <int M, int S = 1>
class Winograd {
 public:
  // Whether the shape is one this class computes (see the top of the file).
  static bool supports(const FusedConvParams& p);
  // Whether this build has the 16-channel input transform (AVX-512F at compile time; see
  // input_transform16) and converts to and from bf16 with vector instructions (AVX512_BF16);
  // without the latter the bf16 form is right but slow, and sessions keep the direct kernel.
#if defined(__AVX512F__)
  static constexpr bool kVector16 = true;
#else
  static constexpr bool kVector16 = false;
#endif
#if defined(__AVX512F__) && defined(__AVX512BF16__) && defined(__AVX512VL__)
  static constexpr bool kBf16Vectorized = true;
#else
  static constexpr bool kBf16Vectorized = false;
#endif

  // Transforms the weights [Cout, Cin, 3, 3] and creates the matmul primitives; returns the
  // scratch bytes run() needs. Throws dnnl::error where oneDNN declines.
  size_t prepare(const FusedConvParams& p, const float* w, const float* b);

  // x and y in p's layout (NHWC or NCHW8c); r the residual (same layout as y) or null;
  // scratch of prepare()'s size (per worker thread: V, M, oneDNN's scratchpad). No allocation.
  // Each of x, y and r is f32, or bf16 where p.x_dtype, y_dtype or r_dtype says so.
  void run(const void* x, void* y, const void* r, void* scratch) const;

 private:
  static constexpr int64_t kA = S == 1 ? M + 2 : 2 * M + 1, kT = kA * kA;  // input tile side, products per tile
  static constexpr int64_t kU = S == 1 ? kT : 36;  // distinct transformed weights per channel pair
  // Where the product at (row, column) position (i, j) of a tile is kept in V and M, and which
  // transformed weight it takes (see the top of the file).
  static int64_t position(int64_t i, int64_t j);
  static int64_t weight_index(int64_t i, int64_t j);
  // Positions pos0 .. pos0 + batch * rows - 1 as a batched matmul: batch items of `rows` times
  // the chunk's tiles, each times the weights u0 + item.
  struct Group {
    int64_t pos0, batch, rows, u0;
  };
  static std::vector<Group> groups();

  void input_transform(const void* x, int64_t img, int64_t t0, int64_t count, void* v) const;
  // NHWC, stride 1, Cin a multiple of 16, AVX-512: the same on 16 channels per vector, the
  // patch's columns transformed straight from the loaded registers, V stored as f32 or bf16
  // (the 8-lane form above took 2.9 of the detector's 3.5 ms of bf16 Winograd input
  // transforms on Zen 5).
  void input_transform16(const void* x, int64_t img, int64_t t0, int64_t count, void* v) const;
  void output_transform(const float* m, int64_t img, int64_t t0, int64_t count, void* y, const void* r) const;
  void run_chunk(const void* x, void* y, const void* r, int64_t img, int64_t t0, int64_t worker,
                 char* scratch) const;
  int64_t pixel_offset(int64_t img, int64_t h, int64_t w, int64_t block, int64_t channels, int64_t height,
                       int64_t width) const;

  // F(2x2) with few tiles per image (ResNet's 7x7 layers: 16): each position's matmul has
  // only that many rows, and oneDNN's packs the weights again on every call (layer4's
  // 16 x [16x512 x 512x512] took 4.9 ms, 27 GFLOP/s); a register-tiled kernel reads them
  // pre-packed instead (small_matmul in winograd.cc): layer4's 3x3 layers 5.1 -> 4.5 ms at
  // 1 thread, 3.0 -> 2.7 at 2 (Zen 1, in-model, alternated). F(4x4) at 14x14 (16 tiles,
  // 256 channels) measured no faster, so it keeps oneDNN's. AVX2 with FMA only.
  static constexpr int64_t kSmallTiles = 24;
  void small_matmul(const float* v, float* m, int64_t count) const;

  FusedConvParams p_;
  bool small_ = false;
  BufferVector<float> packed_;                     // small_: [kU][Cout/16 panels][Cin][16], a last panel of 8
  int64_t tiles_h_ = 0, tiles_w_ = 0, tiles_ = 0;  // per image
  int64_t chunk_ = 0;                              // tiles per matmul
  BufferVector<float> u_;                          // [kU][Cin][Cout]
  BufferVector<uint16_t> u_bf16_;                  // bf16: U rounded to bf16 (then u_ is not kept)
  bool bf16_ = false;                              // p.precision == bf16: V and U in bf16 (see the top)
  bool fast16_ = false;                            // input_transform16 takes the input transform
  std::vector<float> bias_;                        // [Cout], zeros without a bias
  std::vector<Group> groups_;
  // The matmuls (one per group) for one chunk size, and per worker thread the memories bound
  // to its scratch (V, M, oneDNN's scratchpad) and the arguments built from them.
  struct Matmul {
    std::vector<dnnl::matmul> prims;
    std::vector<std::vector<onednn::RunMemories>> workers;  // [worker][group]
  };
  Matmul full_, tail_;
  int64_t tail_tiles_ = 0;                         // tiles in the last chunk of an image (0: none)
  int64_t workers_ = 1;                            // threads taking whole chunks (see prepare())
  std::vector<dnnl::memory> wei_;                  // per group, into u_
  size_t v_bytes_ = 0, m_bytes_ = 0, pad_bytes_ = 0;
};

using WinogradF43 = Winograd<4>;
using WinogradF23 = Winograd<2>;
using WinogradS2 = Winograd<4, 2>;  // stride 2

}  // namespace ep::kernels
