#include "kernels/cpu/gemv.h"

#include <omp.h>

#include <algorithm>
#include <cstring>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "kernels/cpu/cpu_kernels.h"

namespace ep::kernels::cpu {
namespace {

constexpr int64_t P = PackedGemv::kPanel;

// out[j] = sum_k a[k] * panel[k * P + j] + bias[j] for one row and one panel, summed in
// double and rounded once: as exact as the f64 oracle for these layers, and free, since the
// loop waits on reading the panel.
void panel_row(const float* a, int64_t K, const float* panel, const float* bias, float* out) {
#if defined(__AVX512F__)
  __m512d acc[8];
  for (int i = 0; i < 8; ++i) acc[i] = _mm512_setzero_pd();
  for (int64_t k = 0; k < K; ++k) {
    const __m512d ak = _mm512_set1_pd(a[k]);
    const float* pk = panel + k * P;
    for (int j = 0; j < 4; ++j) {
      const __m512 v = _mm512_load_ps(pk + 16 * j);
      const __m256 hi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1));
      acc[2 * j] = _mm512_fmadd_pd(ak, _mm512_cvtps_pd(_mm512_castps512_ps256(v)), acc[2 * j]);
      acc[2 * j + 1] = _mm512_fmadd_pd(ak, _mm512_cvtps_pd(hi), acc[2 * j + 1]);
    }
  }
  for (int i = 0; i < 8; ++i) {
    const __m512d s = _mm512_add_pd(acc[i], _mm512_cvtps_pd(_mm256_load_ps(bias + 8 * i)));
    _mm256_storeu_ps(out + 8 * i, _mm512_cvtpd_ps(s));
  }
#else
  double acc[P] = {};
  for (int64_t k = 0; k < K; ++k) {
    const double ak = a[k];
    const float* pk = panel + k * P;
#pragma omp simd
    for (int64_t j = 0; j < P; ++j) acc[j] += ak * pk[j];
  }
  for (int64_t j = 0; j < P; ++j) out[j] = static_cast<float>(acc[j] + bias[j]);
#endif
}

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
  const int64_t K = k_, N = n_;
  const bool par = panels_ > 1 && K * N * static_cast<int64_t>(sizeof(float)) >= kParallelWorkBytes && omp_get_max_threads() > 1;
#pragma omp parallel for if (par) schedule(static)
  for (int64_t p = 0; p < panels_; ++p) {
    const int64_t j0 = p * P, width = std::min(P, N - j0);
    for (int64_t r = 0; r < rows; ++r) {  // rows after the first read the panel from L2
      alignas(64) float out[P];
      panel_row(a + r * K, K, packed + p * K * P, bias + j0, out);
      std::memcpy(y + r * N + j0, out, static_cast<size_t>(width) * sizeof(float));
    }
  }
}

}  // namespace ep::kernels::cpu
