// vpdpbusd (u8 x s8 groups of 4 summed into int32 lanes) as inline asm, for the int8 kernels'
// inner loops: GCC 12 can keep an intrinsic's accumulators apart from their results across a
// loop (a register move or a spill per instruction; PointwiseInt8's 48 -> 48 layer took 0.34
// instead of 0.19 ms), the tied asm operand cannot. (An embedded {1to16} broadcast of the
// weights in NarrowInt8Conv's loop measured the same as its separate vpbroadcastd.)
// AVX512-VNNI builds only.
#pragma once

#if defined(__AVX512VNNI__)
#include <immintrin.h>

namespace ep::kernels::cpu {

// acc + x . w per 4-byte group (x unsigned, w signed).
inline __m512i dpbusd(__m512i acc, __m512i x, const __m512i& w) {
  asm("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(x), "vm"(w));
  return acc;
}

// acc + x . w per pair of int16 (both signed), wrapping; the same reason as dpbusd.
inline __m512i dpwssd(__m512i acc, __m512i x, const __m512i& w) {
  asm("vpdpwssd %2, %1, %0" : "+v"(acc) : "v"(x), "vm"(w));
  return acc;
}

}  // namespace ep::kernels::cpu

#endif  // __AVX512VNNI__
