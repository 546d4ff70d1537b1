// One core's arithmetic peaks, so a kernel's rate can be read against the hardware's: f32 FMA
// with 256-bit vectors, and where the build has them 512-bit f32 FMA and AVX512-VNNI int8
// (vpdpbusd: 64 u8 x s8 products per instruction, counted as 2 ops each). 12 independent
// chains each (enough to hide the latency), the accumulators named so they stay in registers.
// Build and run with bench/fma_peak.sh (-march=native).
#include <immintrin.h>

#include <chrono>
#include <cstdio>

namespace {

constexpr long kSteps = 100000000;

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

#define EP_CHAINS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)

void f32_256() {
#define EP_DECL(i) __m256 a##i = _mm256_set1_ps(static_cast<float>(i));
  EP_CHAINS(EP_DECL)
#undef EP_DECL
  const __m256 b = _mm256_set1_ps(1.0000001f), c = _mm256_set1_ps(1e-9f);
  const auto t0 = std::chrono::steady_clock::now();
  for (long s = 0; s < kSteps; ++s) {
#define EP_STEP(i) a##i = _mm256_fmadd_ps(a##i, b, c);
    EP_CHAINS(EP_STEP)
#undef EP_STEP
  }
  const double t = seconds_since(t0);
  float sum = 0;  // keeps the chains live
#define EP_SUM(i) sum += _mm256_cvtss_f32(a##i);
  EP_CHAINS(EP_SUM)
#undef EP_SUM
  std::printf("f32 FMA, 256-bit: %.1f GFLOP/s (checksum %g)\n", kSteps * 12.0 * 16 / t / 1e9, static_cast<double>(sum));
}

#if defined(__AVX512F__)
void f32_512() {
#define EP_DECL(i) __m512 a##i = _mm512_set1_ps(static_cast<float>(i));
  EP_CHAINS(EP_DECL)
#undef EP_DECL
  const __m512 b = _mm512_set1_ps(1.0000001f), c = _mm512_set1_ps(1e-9f);
  const auto t0 = std::chrono::steady_clock::now();
  for (long s = 0; s < kSteps; ++s) {
#define EP_STEP(i) a##i = _mm512_fmadd_ps(a##i, b, c);
    EP_CHAINS(EP_STEP)
#undef EP_STEP
  }
  const double t = seconds_since(t0);
  float sum = 0;
#define EP_SUM(i) sum += _mm512_cvtss_f32(a##i);
  EP_CHAINS(EP_SUM)
#undef EP_SUM
  std::printf("f32 FMA, 512-bit: %.1f GFLOP/s (checksum %g)\n", kSteps * 12.0 * 32 / t / 1e9, static_cast<double>(sum));
}
#endif

#if defined(__AVX512VNNI__)
void int8_vnni() {
#define EP_DECL(i) __m512i a##i = _mm512_set1_epi32(i);
  EP_CHAINS(EP_DECL)
#undef EP_DECL
  const __m512i u = _mm512_set1_epi8(3), w = _mm512_set1_epi8(5);
  const auto t0 = std::chrono::steady_clock::now();
  for (long s = 0; s < kSteps; ++s) {
#define EP_STEP(i) a##i = _mm512_dpbusd_epi32(a##i, u, w);
    EP_CHAINS(EP_STEP)
#undef EP_STEP
  }
  const double t = seconds_since(t0);
  long sum = 0;
#define EP_SUM(i) sum += _mm512_reduce_add_epi32(a##i);
  EP_CHAINS(EP_SUM)
#undef EP_SUM
  std::printf("int8 VNNI (vpdpbusd): %.1f GOPS (checksum %ld)\n", kSteps * 12.0 * 128 / t / 1e9, sum);
}
#endif

}  // namespace

int main() {
  f32_256();
#if defined(__AVX512F__)
  f32_512();
#endif
#if defined(__AVX512VNNI__)
  int8_vnni();
#endif
}
