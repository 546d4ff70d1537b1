#include "kernels/cpu/gemv.h"

#include <omp.h>

#include <algorithm>
#include <cstring>

#if defined(__AVX2__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "kernels/cpu/cpu_kernels.h"

namespace ep::kernels::cpu {
namespace {

constexpr int64_t P = PackedGemv::kPanel;
constexpr int64_t G = PackedGemv::kGroup;
// Steps of k summed in f32 registers before they are added to the double totals: each f32
// part carries at most kFold products, the long sum is double. Against the f64 oracle:
// ~2e-6 relative to the products' magnitude, where a plain f32 sum over K = 50000 drifts by 1e-5.
constexpr int64_t kFold = 16;

// out[g * P + j] = sum_k a[k] * panel_g[k * P + j] + bias[g * P + j] for one row and the
// C (<= G) consecutive panels from `panels`: FMAs into f32 vector registers (enough
// independent chains to hide the FMA latency), every kFold steps widened and added to double
// totals, rounded once with the bias at the end. The panels are read side by side, G streams
// at once: one stream of 64-column panels reached ~11 GB/s from memory on a Zen 1 core, four
// of 16 columns ~15 (MobileNetV3's classifier 0.64 -> 0.45 ms, its 960x240 squeeze-excite
// layers 0.11 -> 0.07, with the caches holding dirty lines as in-model). Summing every
// product in double, as this did before that, made the loop compute-bound with AVX2, whose
// doubles are 4 to a register.
// The panel count C (1..G) is a template argument so each loop over the panels unrolls.
template <int64_t C>
void group_row(const float* a, int64_t K, const float* panels, const float* bias, float* out) {
  // The double totals live in L1: the registers hold the f32 parts.
  alignas(64) double total[C * P];
  alignas(64) float part[C * P];
  for (int64_t j = 0; j < C * P; ++j) total[j] = bias[j];
  const int64_t stride = K * P;  // from one panel to the next
  for (int64_t k0 = 0; k0 < K; k0 += kFold) {
    const int64_t k1 = std::min(K, k0 + kFold);
#if defined(__AVX512F__)
    __m512 acc[C];
    for (int64_t g = 0; g < C; ++g) acc[g] = _mm512_setzero_ps();
    for (int64_t k = k0; k < k1; ++k) {
      const __m512 ak = _mm512_set1_ps(a[k]);
      const float* pk = panels + k * P;
      for (int64_t g = 0; g < C; ++g) acc[g] = _mm512_fmadd_ps(ak, _mm512_load_ps(pk + g * stride), acc[g]);
    }
    for (int64_t g = 0; g < C; ++g) _mm512_store_ps(part + g * P, acc[g]);
#elif defined(__AVX2__) && defined(__FMA__)
    __m256 acc[2 * C];
    for (int64_t i = 0; i < 2 * C; ++i) acc[i] = _mm256_setzero_ps();
    for (int64_t k = k0; k < k1; ++k) {
      const __m256 ak = _mm256_set1_ps(a[k]);
      const float* pk = panels + k * P;
      for (int64_t g = 0; g < C; ++g) {
        acc[2 * g] = _mm256_fmadd_ps(ak, _mm256_load_ps(pk + g * stride), acc[2 * g]);
        acc[2 * g + 1] = _mm256_fmadd_ps(ak, _mm256_load_ps(pk + g * stride + 8), acc[2 * g + 1]);
      }
    }
    for (int64_t g = 0; g < C; ++g) {
      _mm256_store_ps(part + g * P, acc[2 * g]);
      _mm256_store_ps(part + g * P + 8, acc[2 * g + 1]);
    }
#else
    for (int64_t j = 0; j < C * P; ++j) part[j] = 0.f;
    for (int64_t k = k0; k < k1; ++k) {
      const float ak = a[k];
      for (int64_t g = 0; g < C; ++g) {
        const float* pk = panels + g * stride + k * P;
        float* pg = part + g * P;
#pragma omp simd
        for (int64_t j = 0; j < P; ++j) pg[j] += ak * pk[j];
      }
    }
#endif
#pragma omp simd
    for (int64_t j = 0; j < C * P; ++j) total[j] += part[j];
  }
  for (int64_t j = 0; j < C * P; ++j) out[j] = static_cast<float>(total[j]);
}

using GroupRow = void (*)(const float*, int64_t, const float*, const float*, float*);
constexpr GroupRow kGroupRow[G + 1] = {nullptr, group_row<1>, group_row<2>, group_row<3>, group_row<4>};
static_assert(G == 4, "kGroupRow lists one group_row per panel count");

}  // namespace

void PackedGemv::pack(const float* b, int64_t k, int64_t n, int64_t stride_k, int64_t stride_j, const float* bias) {
  k_ = k;
  n_ = n;
  panels_ = (n + P - 1) / P;
  packed_ = Tensor(DType::f32, Shape{panels_, k, P});
  bias_ = Tensor(DType::f32, Shape{panels_ * P});
  for (int64_t j = 0; j < panels_ * P; ++j) bias_.as<float>()[j] = bias && j < n ? bias[j] : 0.f;
  float* dst = packed_.as<float>();
  for (int64_t p = 0; p < panels_; ++p)
    for (int64_t kk = 0; kk < k; ++kk) {
      float* row = dst + (p * k + kk) * P;
      for (int64_t j = 0; j < P; ++j) {
        const int64_t col = p * P + j;
        row[j] = col < n ? b[kk * stride_k + col * stride_j] : 0.f;
      }
    }
}

void PackedGemv::run(const float* a, int64_t rows, float* y) const noexcept {
  const float* packed = packed_.as<float>();
  const float* bias = bias_.as<float>();
  const int64_t K = k_, N = n_, groups = (panels_ + G - 1) / G;
  const bool par = groups > 1 && K * N * static_cast<int64_t>(sizeof(float)) >= kParallelWorkBytes && omp_get_max_threads() > 1;
#pragma omp parallel for if (par) schedule(static)
  for (int64_t q = 0; q < groups; ++q) {
    const int64_t p0 = q * G, count = std::min(G, panels_ - p0);
    const int64_t j0 = p0 * P, width = std::min(count * P, N - j0);
    for (int64_t r = 0; r < rows; ++r) {  // rows after the first read the group from L2
      alignas(64) float out[G * P];
      kGroupRow[count](a + r * K, K, packed + p0 * K * P, bias + j0, out);
      std::memcpy(y + r * N + j0, out, static_cast<size_t>(width) * sizeof(float));
    }
  }
}

}  // namespace ep::kernels::cpu
