// One core's f32 FMA peak: 12 independent chains of 256-bit FMAs (enough to hide the
// latency on AVX2 CPUs), so a kernel's GFLOP/s can be read against the hardware's.
// Build and run with bench/fma_peak.sh.
#include <immintrin.h>

#include <chrono>
#include <cstdio>

int main() {
  __m256 acc[12];
  for (auto& a : acc) a = _mm256_setzero_ps();
  const __m256 b = _mm256_set1_ps(1.0000001f), c = _mm256_set1_ps(1e-9f);
  const long steps = 200000000;
  const auto t0 = std::chrono::steady_clock::now();
  for (long i = 0; i < steps; ++i)
    for (auto& a : acc) a = _mm256_fmadd_ps(a, b, c);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  float sum = 0;  // keeps the chains live
  for (auto& a : acc) sum += _mm256_cvtss_f32(a);
  std::printf("f32 FMA peak, one core: %.1f GFLOP/s (checksum %g)\n", static_cast<double>(steps) * 12 * 16 / s / 1e9,
              static_cast<double>(sum));
}
