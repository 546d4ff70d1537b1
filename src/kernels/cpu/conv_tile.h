// The epilogue of the AVX-512 register-tiled convolution products (pointwise_conv.cc,
// panel_conv.cc): an MR x NV tile of accumulators (MR output pixels, NV vectors of 16 output
// channels) through the FusedConv post-op chain, then stored, the last vector masked where the
// panel ends before it. AVX-512 builds only.
#pragma once

#if defined(__AVX512F__)
#include <immintrin.h>

#include <cstdint>

#include "kernels/cpu/vexp.h"
#include "kernels/fused_conv.h"

namespace ep::kernels::cpu::tile {

inline constexpr int64_t kLanes = 16;

// 1 / (1 + exp(-x)); the division is exact IEEE (a reciprocal estimate would move the
// result by an ulp, and the detector's f64 agreement has little room).
inline __m512 sigmoid16(__m512 x) {
  const __m512 one = _mm512_set1_ps(1.f);
  return _mm512_div_ps(one, _mm512_add_ps(one, vexp16(_mm512_sub_ps(_mm512_setzero_ps(), x))));
}

struct Epilogue {
  const PostOp* ops = nullptr;
  int count = 0;
  const float* r = nullptr;  // residual rows (row stride ldr), or null
  int64_t ldr = 0;
};

// acc[i][j] = f(acc[i][j]) over a tile, fully unrolled.
template <int MR, int NV, typename F>
inline void for_tile(__m512 (&acc)[MR][NV], F f) {
#pragma GCC unroll 24
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) acc[i][j] = f(acc[i][j]);
}

// The post-ops one at a time over the whole tile: the dispatch once per op, and the MR*NV
// independent exp evaluations of a sigmoid interleave. Tile row i, vector j reads its residual
// at e.r + (r_row0 + i) * e.ldr + r_col0 + 16 * j (`last` masks the tile's last vector).
template <int MR, int NV>
inline void apply_post_ops(__m512 (&acc)[MR][NV], const Epilogue& e, __mmask16 last, int64_t r_row0, int64_t r_col0) {
  for (int o = 0; o < e.count; ++o) {
    const PostOp& op = e.ops[o];
    switch (op.kind) {
      case PostOpKind::relu: for_tile<MR, NV>(acc, [](__m512 v) { return _mm512_max_ps(v, _mm512_setzero_ps()); }); break;
      case PostOpKind::clip: {
        const __m512 lo = _mm512_set1_ps(op.a), hi = _mm512_set1_ps(op.b);
        for_tile<MR, NV>(acc, [&](__m512 v) { return _mm512_min_ps(_mm512_max_ps(v, lo), hi); });
        break;
      }
      case PostOpKind::linear: {
        const __m512 a = _mm512_set1_ps(op.a), b = _mm512_set1_ps(op.b);
        for_tile<MR, NV>(acc, [&](__m512 v) { return _mm512_add_ps(_mm512_mul_ps(a, v), b); });
        break;
      }
      case PostOpKind::hard_swish:
        for_tile<MR, NV>(acc, [](__m512 v) {
          const __m512 t = _mm512_min_ps(_mm512_max_ps(_mm512_add_ps(v, _mm512_set1_ps(3.f)), _mm512_setzero_ps()),
                                         _mm512_set1_ps(6.f));
          return _mm512_div_ps(_mm512_mul_ps(v, t), _mm512_set1_ps(6.f));
        });
        break;
      case PostOpKind::sigmoid: for_tile<MR, NV>(acc, [](__m512 v) { return sigmoid16(v); }); break;
      case PostOpKind::swish:
        for_tile<MR, NV>(acc, [](__m512 v) {
          return _mm512_div_ps(v, _mm512_add_ps(_mm512_set1_ps(1.f), vexp16(_mm512_sub_ps(_mm512_setzero_ps(), v))));
        });
        break;
      case PostOpKind::residual:
#pragma GCC unroll 24
        for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
          for (int j = 0; j < NV; ++j) {
            const float* r_at = e.r + (r_row0 + i) * e.ldr + r_col0 + j * kLanes;
            acc[i][j] = _mm512_add_ps(acc[i][j], j == NV - 1 && last != 0xffff ? _mm512_maskz_loadu_ps(last, r_at)
                                                                                 : _mm512_loadu_ps(r_at));
          }
        break;
    }
  }
}

// Row i of the tile to c + i * ldc. Zen 4 and 5 retire a masked 512-bit store far slower than
// a plain one: only a partial last vector is masked.
template <int MR, int NV>
inline void store_tile(const __m512 (&acc)[MR][NV], float* c, int64_t ldc, __mmask16 last) {
#pragma GCC unroll 24
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) {
      if (j == NV - 1 && last != 0xffff)
        _mm512_mask_storeu_ps(c + i * ldc + j * kLanes, last, acc[i][j]);
      else
        _mm512_storeu_ps(c + i * ldc + j * kLanes, acc[i][j]);
    }
}

// Transposes and masks the int8 kernels (NarrowInt8Conv, WinogradInt16) share.
// r[i] lane j -> r[j] lane i, for 16 vectors of 16 4-byte values.
inline void transpose16(__m512i (&r)[16]) {
  __m512i t[16], u[16];
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 4; ++i) {
    u[4 * i + 0] = _mm512_unpacklo_epi64(t[4 * i + 0], t[4 * i + 2]);
    u[4 * i + 1] = _mm512_unpackhi_epi64(t[4 * i + 0], t[4 * i + 2]);
    u[4 * i + 2] = _mm512_unpacklo_epi64(t[4 * i + 1], t[4 * i + 3]);
    u[4 * i + 3] = _mm512_unpackhi_epi64(t[4 * i + 1], t[4 * i + 3]);
  }
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 4; ++j) {
      t[8 * i + j] = _mm512_shuffle_i32x4(u[8 * i + j], u[8 * i + 4 + j], 0x88);
      t[8 * i + 4 + j] = _mm512_shuffle_i32x4(u[8 * i + j], u[8 * i + 4 + j], 0xdd);
    }
  for (int j = 0; j < 8; ++j) {
    r[j] = _mm512_shuffle_i32x4(t[j], t[8 + j], 0x88);
    r[8 + j] = _mm512_shuffle_i32x4(t[j], t[8 + j], 0xdd);
  }
}

inline __mmask16 first_lanes(int64_t n) { return static_cast<__mmask16>(n >= 16 ? 0xffff : (1u << n) - 1u); }

}  // namespace ep::kernels::cpu::tile

#endif  // __AVX512F__
