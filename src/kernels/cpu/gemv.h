// Products of a few rows with a constant matrix: y[m, :] = a[m, :] * B for m < 4. At one row
// this is bound by reading B (MobileNetV3's classifier streams 10 MB of weights for 2.5
// MFLOP), and oneDNN 2.6's matmul and 1x1 convolution read it at ~10 GB/s where the L3
// delivers ~90. B is packed once into panels of 16 columns, each panel K x 16 contiguous,
// and a run reads four neighbouring panels side by side (four streams: faster from memory
// than one), each exactly once, with the partial sums in registers. Blocks of
// 16 products are summed in f32 and the blocks in double, rounded once with the bias added:
// closer to the f64 oracle than a plain f32 sum, at the speed of one.
// Used by the cpu MatMul/Gemm kernels and the cpu FusedConv for 1x1 convolutions at 1x1
// output (squeeze-excite blocks); the oneDNN kernels decline exactly these cases.
#pragma once

#include <cstdint>

#include "edgepipe/tensor.h"

namespace ep::kernels::cpu {

class PackedGemv {
 public:
  static constexpr int64_t kMaxRows = 4;
  static constexpr int64_t kPanel = 16;
  static constexpr int64_t kGroup = 4;  // panels read side by side

  // B(k, j) = b[k * stride_k + j * stride_j] for k < K, j < N; bias[j] (N values) or none.
  void pack(const float* b, int64_t k, int64_t n, int64_t stride_k, int64_t stride_j, const float* bias = nullptr);
  // y[m * N + j] = sum_k a[m * K + k] * B(k, j) + bias[j] for m < rows (1..kMaxRows). Splits the
  // panels across the calling thread's OpenMP team when B is large enough to pay for it.
  void run(const float* a, int64_t rows, float* y) const noexcept;

  int64_t k() const { return k_; }
  int64_t n() const { return n_; }

 private:
  int64_t k_ = 0, n_ = 0, panels_ = 0;
  Tensor packed_;  // [panels, K, 16], columns past N zero
  Tensor bias_;    // [panels * 64], zero where there is none
};

// True when a product with `rows` rows against a K x N constant goes to PackedGemv: B of at
// least kMinElements (192 KB). Below that B stays in L2 between runs and oneDNN is as fast
// (squeeze-excite layers of 72x24 to 96x384: within 0.003 ms either way); leaving them on
// oneDNN also keeps the PP-OCRv4 detector's rounding as it was, whose distance to the f64
// oracle (ort_agreement) sits just under its bound.
inline constexpr int64_t kGemvMinElements = 48 << 10;
inline bool gemv_case(int64_t rows, int64_t k, int64_t n) {
  return rows >= 1 && rows <= PackedGemv::kMaxRows && k >= 1 && n >= 1 && k * n >= kGemvMinElements;
}

}  // namespace ep::kernels::cpu
