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

// Runs 12 chains of `step` (V -> V) kSteps times from make(0..11); prints ops_per_step * 12 *
// kSteps over the time, and a checksum of the chains (lane0(V) -> double) that keeps them live.
template <typename V, typename Make, typename Step, typename Lane0>
void peak(const char* what, const char* unit, double ops_per_step, Make make, Step step, Lane0 lane0) {
#define EP_CHAINS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#define EP_DECL(i) V a##i = make(i);
  EP_CHAINS(EP_DECL)
  const auto t0 = std::chrono::steady_clock::now();
  for (long s = 0; s < kSteps; ++s) {
#define EP_STEP(i) a##i = step(a##i);
    EP_CHAINS(EP_STEP)
  }
  const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double sum = 0;
#define EP_SUM(i) sum += lane0(a##i);
  EP_CHAINS(EP_SUM)
#undef EP_SUM
#undef EP_STEP
#undef EP_DECL
#undef EP_CHAINS
  std::printf("%s: %.1f %s (checksum %g)\n", what, kSteps * 12.0 * ops_per_step / t / 1e9, unit, sum);
}

}  // namespace

int main() {
  {
    const __m256 b = _mm256_set1_ps(1.0000001f), c = _mm256_set1_ps(1e-9f);
    peak<__m256>(
        "f32 FMA, 256-bit", "GFLOP/s", 16, [](int i) { return _mm256_set1_ps(static_cast<float>(i)); },
        [&](__m256 a) { return _mm256_fmadd_ps(a, b, c); }, [](__m256 a) { return double{_mm256_cvtss_f32(a)}; });
  }
#if defined(__AVX512F__)
  {
    const __m512 b = _mm512_set1_ps(1.0000001f), c = _mm512_set1_ps(1e-9f);
    peak<__m512>(
        "f32 FMA, 512-bit", "GFLOP/s", 32, [](int i) { return _mm512_set1_ps(static_cast<float>(i)); },
        [&](__m512 a) { return _mm512_fmadd_ps(a, b, c); }, [](__m512 a) { return double{_mm512_cvtss_f32(a)}; });
  }
#endif
#if defined(__AVX512VNNI__)
  {
    const __m512i u = _mm512_set1_epi8(3), w = _mm512_set1_epi8(5);
    peak<__m512i>(
        "int8 VNNI (vpdpbusd)", "GOPS", 128, [](int i) { return _mm512_set1_epi32(i); },
        [&](__m512i a) { return _mm512_dpbusd_epi32(a, u, w); },
        [](__m512i a) { return static_cast<double>(_mm512_reduce_add_epi32(a)); });
  }
#endif
}
