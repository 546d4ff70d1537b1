// Per-tensor quantization of f32 values to u8/i8 as QuantizeLinear computes it (x / scale,
// round half to even, NaN to 0, + zero point, saturate): one definition for the QuantizeLinear
// kernel and the steps that write quantized outputs themselves (ResizeAdd).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "edgepipe/dtype.h"
#include "kernels/kernel.h"

namespace ep::kernels::cpu {

struct QuantizeTo {
  DType q = DType::u8;  // u8 or i8
  float scale = 1.f;
  float zero = 0.f;
  float lo() const { return q == DType::u8 ? 0.f : -128.f; }
  float hi() const { return q == DType::u8 ? 255.f : 127.f; }
  // RN(1 / scale) for quantize16, NaN where it is not a normal number (the error bound there
  // needs its full precision; NaN sends every vector through the division).
  float recip() const {
    const float r = 1.f / scale;
    return std::isnormal(r) ? r : std::numeric_limits<float>::quiet_NaN();
  }
};

// The per-tensor quantization a step that writes a quantized output reads from its inputs
// `scale_at` (y_scale: a constant positive one-value f32) and `zero_at` (y_zero_point: a
// constant one-value u8 or i8, the output's type; u8 and 0 when absent), as QuantizeLinear.
inline Result<QuantizeTo> quantize_to(const PrepareContext& ctx, size_t scale_at, size_t zero_at) {
  const TensorInfo& s = ctx.input(scale_at);
  if (!s.constant || s.dtype != DType::f32 || s.shape.numel() != 1)
    return ctx.error("y_scale must be a constant one-value f32");
  QuantizeTo q{DType::u8, s.constant->as<float>()[0], 0.f};
  if (!(q.scale > 0.f)) return ctx.error("y_scale must be positive");
  if (ctx.num_inputs() > zero_at && ctx.has_input(zero_at)) {
    const TensorInfo& z = ctx.input(zero_at);
    if (!z.constant || (z.dtype != DType::u8 && z.dtype != DType::i8) || z.shape.numel() != 1)
      return ctx.error("y_zero_point must be a constant one-value u8 or i8");
    q.q = z.dtype;
    q.zero = static_cast<float>(z.dtype == DType::u8 ? z.constant->as<uint8_t>()[0] : z.constant->as<int8_t>()[0]);
  }
  return q;
}

#if defined(__AVX512F__)
// 16 values: round half to even of the IEEE quotient x / scale, NaN -> 0, + zero, clamp; the
// bytes in the low 128 bits. `recip` is RN(1 / scale). A division per 16 values bound the
// INT8 detector's requantizing steps (vdivps' throughput, not memory), so the quotient is taken
// as q0 = RN(x * recip), within |q0| * 2^-21.9 of RN(x / scale) (two roundings of 2^-24 each,
// and the reference's own): where every lane's q0 is further than |q0| * 2^-20 from a
// half-integer, RN(x / scale) rounds to the same integer as q0. Lanes near a tie (about 1 in
// 10^4 values at |q| ~ 100), NaN or infinite send the vector through the division.
inline __m128i quantize16(__m512 v, __m512 scale, __m512 recip, __m512 zero, __m512 lo, __m512 hi) {
  const __m512 q0 = _mm512_mul_ps(v, recip);
  __m512 n = _mm512_roundscale_ps(q0, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m512 margin = _mm512_fnmadd_ps(_mm512_abs_ps(q0), _mm512_set1_ps(0x1p-20f), _mm512_set1_ps(0.5f));
  if (_mm512_cmp_ps_mask(_mm512_abs_ps(_mm512_sub_ps(q0, n)), margin, _CMP_LT_OQ) != 0xffff) {
    __m512 q = _mm512_div_ps(v, scale);
    q = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(q, q, _CMP_ORD_Q), q);  // NaN -> 0
    n = _mm512_roundscale_ps(q, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
  n = _mm512_add_ps(n, zero);
  return _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(_mm512_min_ps(_mm512_max_ps(n, lo), hi)));
}
#endif

// y[i] = quantized x[i], i < n, on the calling thread (y: n bytes of t.q).
inline void quantize_span(const float* x, void* y, int64_t n, const QuantizeTo& t) {
  auto* out = static_cast<uint8_t*>(y);  // i8 values are stored as their bytes
  int64_t i = 0;
#if defined(__AVX512F__)
  const __m512 s = _mm512_set1_ps(t.scale), r = _mm512_set1_ps(t.recip()), z = _mm512_set1_ps(t.zero),
               lo = _mm512_set1_ps(t.lo()), hi = _mm512_set1_ps(t.hi());
  for (; i + 16 <= n; i += 16)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), quantize16(_mm512_loadu_ps(x + i), s, r, z, lo, hi));
  if (i < n) {  // a masked load, the bytes copied (a masked vpmovdb store is microcoded on AMD)
    alignas(16) uint8_t tail[16];
    _mm_store_si128(reinterpret_cast<__m128i*>(tail),
                    quantize16(_mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << (n - i)) - 1), x + i), s, r, z, lo, hi));
    std::memcpy(out + i, tail, static_cast<size_t>(n - i));
  }
#else
  const float lo = t.lo(), hi = t.hi();
  for (; i < n; ++i) {
    float v = x[i] / t.scale;
    v = v == v ? v : 0.f;  // NaN -> 0
    v = std::nearbyint(v) + t.zero;
    v = v < lo ? lo : (v > hi ? hi : v);
    if (t.q == DType::u8) out[i] = static_cast<uint8_t>(v);
    else out[i] = static_cast<uint8_t>(static_cast<int8_t>(v));
  }
#endif
}

}  // namespace ep::kernels::cpu
