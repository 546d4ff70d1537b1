// bf16 <-> f32 over spans, for the fast kernels that take bf16 activations (a bf16 session's
// element-wise ops, Resize, Concat and means between convolutions; passes/precision_bf16.cc).
// Widening is exact; narrowing rounds to nearest even as f32_to_bf16 (AVX512_BF16's vcvtneps2bf16
// where the build has it).
#pragma once

#include <cstdint>

#include "edgepipe/dtype.h"

#if defined(__AVX512BF16__) && defined(__AVX512VL__)
#include <immintrin.h>
#endif

namespace ep::kernels::cpu {

inline void bf16_to_f32_span(const uint16_t* x, float* y, int64_t n) {
  int64_t i = 0;
#if defined(__AVX512BF16__) && defined(__AVX512VL__)
  for (; i + 16 <= n; i += 16) {
    const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i));
    _mm512_storeu_ps(y + i, _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16)));
  }
#endif
  for (; i < n; ++i) y[i] = bf16_to_f32(x[i]);
}

inline void f32_to_bf16_span(const float* x, uint16_t* y, int64_t n) {
  int64_t i = 0;
#if defined(__AVX512BF16__) && defined(__AVX512VL__)
  for (; i + 16 <= n; i += 16) {
    const __m256bh h = _mm512_cvtneps_pbh(_mm512_loadu_ps(x + i));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + i), reinterpret_cast<const __m256i&>(h));
  }
#endif
  for (; i < n; ++i) y[i] = f32_to_bf16(x[i]);
}

}  // namespace ep::kernels::cpu
