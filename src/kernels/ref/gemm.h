// The one matrix-multiply loop of the reference kernels (Conv via im2col, ConvTranspose,
// Gemm, MatMul). Plain C++ in i-k-j order with fixed-width column tiles, so that g++ -O2
// (whose cheap vectorizer needs known trip counts and no aliasing) emits SIMD code for the
// innermost loop. No intrinsics, no threads: it stays an obviously right oracle.
#pragma once

#include <algorithm>
#include <cstdint>

namespace ep::kernels::ref {

namespace gemm_detail {

inline constexpr int64_t kTile = 256;  // columns per tile: a C tile row stays in L1

// c[j] += a0*b0[j] + a1*b1[j] + a2*b2[j] + a3*b3[j] for j < kTile. Four rows per pass
// quarter the loads and stores of c.
template <typename T>
inline void axpy4_tile(T* __restrict c, T a0, const T* __restrict b0, T a1, const T* __restrict b1, T a2,
                       const T* __restrict b2, T a3, const T* __restrict b3) {
  for (int64_t j = 0; j < kTile; ++j) c[j] += a0 * b0[j] + a1 * b1[j] + a2 * b2[j] + a3 * b3[j];
}

template <typename T>
inline void axpy_tile(T* __restrict c, T a, const T* __restrict b) {
  for (int64_t j = 0; j < kTile; ++j) c[j] += a * b[j];
}

template <typename T>
inline void axpy(T* c, T a, const T* b, int64_t n) {
  for (int64_t j = 0; j < n; ++j) c[j] += a * b[j];
}

}  // namespace gemm_detail

// c[i*ldc + j] += sum_p a[i*a_rs + p*a_cs] * b[p*b_rs + j*b_cs], for i < m, j < n, p < k.
// c must not overlap a or b.
template <typename T>
void gemm_accumulate(int64_t m, int64_t n, int64_t k, const T* a, int64_t a_rs, int64_t a_cs, const T* b,
                     int64_t b_rs, int64_t b_cs, T* c, int64_t ldc) {
  using namespace gemm_detail;
  if (b_cs != 1) {  // transposed B: no contiguous rows of B, so take dot products instead
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        T sum = T(0);
        for (int64_t p = 0; p < k; ++p) sum += a[i * a_rs + p * a_cs] * b[p * b_rs + j * b_cs];
        c[i * ldc + j] += sum;
      }
    return;
  }
  for (int64_t j0 = 0; j0 < n; j0 += kTile) {
    const int64_t jn = std::min(kTile, n - j0);
    for (int64_t i = 0; i < m; ++i) {
      T* cr = c + i * ldc + j0;
      const T* ar = a + i * a_rs;
      const T* br = b + j0;
      int64_t p = 0;
      if (jn == kTile) {
        for (; p + 4 <= k; p += 4)
          axpy4_tile<T>(cr, ar[p * a_cs], br + p * b_rs, ar[(p + 1) * a_cs], br + (p + 1) * b_rs, ar[(p + 2) * a_cs],
                        br + (p + 2) * b_rs, ar[(p + 3) * a_cs], br + (p + 3) * b_rs);
        for (; p < k; ++p) axpy_tile<T>(cr, ar[p * a_cs], br + p * b_rs);
      } else {
        for (; p < k; ++p) axpy<T>(cr, ar[p * a_cs], br + p * b_rs, jn);
      }
    }
  }
}

}  // namespace ep::kernels::ref
