// The inner loop of edgepipe.ScaleAdd, y = a + a * b, in a file compiled with
// -ffp-contract=off (CMakeLists.txt): GCC would otherwise fuse the multiply and the add into
// one fma, and the fused op would no longer round like the Mul then Add it replaces.
#include "kernels/cpu/cpu_kernels.h"

namespace ep::kernels::cpu {

void scale_add_run(const float* a, int64_t sa, const float* b, int64_t sb, float* y, int64_t n) {
  if (sa == 1 && sb == 1) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) y[i] = a[i] + a[i] * b[i];
  } else if (sa == 1) {
    const float z = b[0];
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) y[i] = a[i] + a[i] * z;
  } else if (sb == 1) {
    const float x = a[0];
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) y[i] = x + x * b[i];
  } else {
    const float v = a[0] + a[0] * b[0];
    for (int64_t i = 0; i < n; ++i) y[i] = v;
  }
}

void scale_add_rows(const float* a, const float* b, float* y, int64_t rows, int64_t n) {
  if (n == 8) {
    for (int64_t r = 0; r < rows; ++r, a += 8, y += 8) {
#pragma omp simd
      for (int64_t i = 0; i < 8; ++i) y[i] = a[i] + a[i] * b[i];
    }
    return;
  }
  for (int64_t r = 0; r < rows; ++r, a += n, y += n) scale_add_run(a, 1, b, 1, y, n);
}

// y = (a + a * s) + b over n values: a ScaleAdd's result added to a ResizeAdd's upsampled block,
// each rounding as the ScaleAdd and the Add compute it.
void scale_add_plus(const float* a, const float* s, const float* b, float* y, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) y[i] = (a[i] + a[i] * s[i]) + b[i];
}

}  // namespace ep::kernels::cpu
