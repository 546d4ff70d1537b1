// Per-tensor QuantizeLinear (f32 -> u8/i8) and DequantizeLinear (u8/i8 -> f32) as tight
// vectorized loops: what a QDQ model leaves between its int8 convolutions (graph input,
// Concat, Add) runs at memory speed. Same arithmetic as kernels/ref/quantize.cc (x / scale,
// round half to even, NaN to 0, saturate); per-axis, blocked and 4-bit cases go there.
#include <omp.h>

#include <cmath>
#include <cstdint>
#include <cstring>

#if defined(__AVX512F__)
#include <immintrin.h>
// GCC 12 reports the intrinsics' undefined pass-through operands (_mm512_undefined_ps) as
// "may be used uninitialized" once they are inlined here; they are not read.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include "kernels/cpu/cpu_kernels.h"

namespace ep::kernels::cpu {
namespace {

constexpr int64_t kParallelMin = 1 << 16;

// Scalar scale and zero point, as inputs 1 and 2.
Status check_per_tensor(const PrepareContext& ctx, DType q) {
  if (ctx.input(1).dtype != DType::f32 || ctx.input(1).shape.numel() != 1)
    return ctx.unsupported_error("fast path is per tensor with an f32 scale");
  if (ctx.has_input(2) && (ctx.input(2).dtype != q || ctx.input(2).shape.numel() != 1))
    return ctx.unsupported_error("fast path needs a one-value zero point of the quantized type");
  auto block = ctx.node().attr_int("block_size", 0);
  if (!block.is_ok() || *block != 0) return ctx.unsupported_error("blocked quantization");
  return Status::ok();
}

int32_t zero_of(const RunContext& ctx, DType q) {
  if (ctx.inputs.size() < 3 || !ctx.inputs[2].data) return 0;
  return q == DType::u8 ? ctx.inputs[2].as<uint8_t>()[0] : ctx.inputs[2].as<int8_t>()[0];
}

class Quantize final : public Kernel {
 public:
  Status prepare(PrepareContext& ctx) override {
    EP_RETURN_IF_ERROR(ctx.expect_inputs(2, 3));
    if (ctx.input(0).dtype != DType::f32) return ctx.unsupported_error("fast path is f32 input only");
    EP_ASSIGN_OR_RETURN(int64_t output_dtype, ctx.node().attr_int("output_dtype", 0));
    q_ = ctx.has_input(2) ? ctx.input(2).dtype : (output_dtype == 3 ? DType::i8 : DType::u8);
    if ((q_ != DType::u8 && q_ != DType::i8) || (output_dtype != 0 && output_dtype != (q_ == DType::u8 ? 2 : 3)))
      return ctx.unsupported_error("fast path writes u8 or i8");
    EP_RETURN_IF_ERROR(check_per_tensor(ctx, q_));
    ctx.set_output(0, q_, ctx.input(0).shape);
    return Status::ok();
  }

  Status run(const RunContext& ctx) noexcept override {
    const float* x = ctx.inputs[0].as<float>();
    const float s = ctx.inputs[1].as<float>()[0];
    const float z = static_cast<float>(zero_of(ctx, q_));
    const int64_t n = ctx.inputs[0].shape.numel();
    if (q_ == DType::u8) go(x, ctx.outputs[0].as<uint8_t>(), n, s, z, 0.f, 255.f);
    else go(x, ctx.outputs[0].as<int8_t>(), n, s, z, -128.f, 127.f);
    return Status::ok();
  }

 private:
  template <typename Q>
  static void go(const float* x, Q* y, int64_t n, float s, float z, float lo, float hi) {
#if defined(__AVX512F__)
    // 16 values a step with the same arithmetic (IEEE division, round half to even, NaN to 0,
    // clamp): GCC made the loop below a chain of mask compares and spills. The INT8 detector's
    // 160x160x96 neck input 0.60 -> 0.32 ms, its 3x640x640 input 0.31 -> 0.20 (Zen 5, in-model).
    const __m512 vs = _mm512_set1_ps(s), vz = _mm512_set1_ps(z), vlo = _mm512_set1_ps(lo), vhi = _mm512_set1_ps(hi);
    const int64_t steps = n / 16;
    auto one = [&](__m512 v) {
      v = _mm512_div_ps(v, vs);
      v = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v, v, _CMP_ORD_Q), v);  // NaN -> 0
      v = _mm512_add_ps(_mm512_roundscale_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), vz);
      return _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(_mm512_min_ps(_mm512_max_ps(v, vlo), vhi)));
    };
    // Full steps with plain loads and stores (a masked vpmovdb store is microcoded on AMD).
#pragma omp parallel for if (parallel: n >= kParallelMin) schedule(static)
    for (int64_t k = 0; k < steps; ++k)
      _mm_storeu_si128(reinterpret_cast<__m128i*>(y + k * 16), one(_mm512_loadu_ps(x + k * 16)));
    if (const int64_t i = steps * 16; i < n) {
      const __m128i q = one(_mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << (n - i)) - 1), x + i));
      alignas(16) uint8_t tail[16];
      _mm_store_si128(reinterpret_cast<__m128i*>(tail), q);
      std::memcpy(y + i, tail, static_cast<size_t>(n - i));
    }
#else
#pragma omp parallel for simd if (parallel: n >= kParallelMin) schedule(static)
    for (int64_t i = 0; i < n; ++i) {
      float v = x[i] / s;
      v = v == v ? v : 0.f;  // NaN -> 0
      v = std::nearbyint(v) + z;
      y[i] = static_cast<Q>(v < lo ? lo : (v > hi ? hi : v));
    }
#endif
  }

  DType q_ = DType::u8;
};

class Dequantize final : public Kernel {
 public:
  Status prepare(PrepareContext& ctx) override {
    EP_RETURN_IF_ERROR(ctx.expect_inputs(2, 3));
    q_ = ctx.input(0).dtype;
    if (q_ != DType::u8 && q_ != DType::i8) return ctx.unsupported_error("fast path reads u8 or i8");
    EP_RETURN_IF_ERROR(check_per_tensor(ctx, q_));
    ctx.set_output(0, DType::f32, ctx.input(0).shape);
    return Status::ok();
  }

  Status run(const RunContext& ctx) noexcept override {
    const float s = ctx.inputs[1].as<float>()[0];
    const int32_t z = zero_of(ctx, q_);
    const int64_t n = ctx.inputs[0].shape.numel();
    float* y = ctx.outputs[0].as<float>();
    if (q_ == DType::u8) go(ctx.inputs[0].as<uint8_t>(), y, n, s, z);
    else go(ctx.inputs[0].as<int8_t>(), y, n, s, z);
    return Status::ok();
  }

 private:
  template <typename Q>
  static void go(const Q* x, float* y, int64_t n, float s, int32_t z) {
#pragma omp parallel for simd if (parallel: n >= kParallelMin) schedule(static)
    for (int64_t i = 0; i < n; ++i) y[i] = static_cast<float>(static_cast<int32_t>(x[i]) - z) * s;
  }

  DType q_ = DType::u8;
};

}  // namespace

std::unique_ptr<Kernel> make_quantize_linear() { return std::make_unique<Quantize>(); }
std::unique_ptr<Kernel> make_dequantize_linear() { return std::make_unique<Dequantize>(); }

}  // namespace ep::kernels::cpu
