// f32 element-wise ops: broadcasting collapsed to at most four strided dims with a tight
// contiguous (or scalar-broadcast) innermost loop; large tensors split across threads.
// Binary ops also take bf16 operands (widened, computed in f32, rounded to a bf16 output).
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "kernels/cpu/bf16.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/quantize.h"
#include "kernels/cpu/vexp.h"
#include "kernels/ref/common.h"

#if defined(__AVX512F__)
// GCC 12 reports the intrinsics' undefined pass-through operands (_mm512_undefined_epi32) as
// "may be used uninitialized" once bf16.h's conversions are inlined here; they are not read.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace ep::kernels::cpu {
namespace {

constexpr int64_t kParallelMin = kParallelBytes / 4;  // f32 elements

enum class Bin { add, sub, mul, div, scale_add };

// out[i] = a[i*sa] op b[i*sb] for the innermost run, sa and sb each 0 or 1.
template <Bin op>
inline void bin_run(const float* a, int64_t sa, const float* b, int64_t sb, float* y, int64_t n) {
  if constexpr (op == Bin::scale_add) {
    scale_add_run(a, sa, b, sb, y, n);
    return;
  }
  auto f = [](float x, float z) {
    if constexpr (op == Bin::add) return x + z;
    else if constexpr (op == Bin::sub) return x - z;
    else if constexpr (op == Bin::mul) return x * z;
    else return x / z;
  };
  if (sa == 1 && sb == 1) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) y[i] = f(a[i], b[i]);
  } else if (sa == 1) {
    const float z = b[0];
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) y[i] = f(a[i], z);
  } else if (sb == 1) {
    const float x = a[0];
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) y[i] = f(x, b[i]);
  } else {
    const float v = f(a[0], b[0]);
    for (int64_t i = 0; i < n; ++i) y[i] = v;
  }
}

// y[r, j] = a[r, j] op b[j] (or a[j] op b[r, j] when `a_repeats`) over `rows` rows of n: a
// per-channel vector against the pixels of one channel block of a blocked activation
// (n = 8), where one call per row of 8 would cost more than the arithmetic.
template <Bin op>
inline void bin_rows(const float* a, const float* b, float* y, int64_t rows, int64_t n, bool a_repeats) {
  if constexpr (op == Bin::scale_add) {
    if (!a_repeats) {
      scale_add_rows(a, b, y, rows, n);
      return;
    }
  }
  const int64_t sa = a_repeats ? 0 : n, sb = a_repeats ? n : 0;
  if (n == 8) {
    for (int64_t r = 0; r < rows; ++r) bin_run<op>(a + r * sa, 1, b + r * sb, 1, y + r * 8, 8);
  } else {
    for (int64_t r = 0; r < rows; ++r) bin_run<op>(a + r * sa, 1, b + r * sb, 1, y + r * n, n);
  }
}

class BinaryKernel final : public Kernel {
 public:
  explicit BinaryKernel(Bin op) : op_(op) {}

  Status prepare(PrepareContext& ctx) override {
    EP_RETURN_IF_ERROR(ctx.expect_inputs(2, op_ == Bin::scale_add ? 4 : 2));
    if (ctx.num_inputs() > 2) return prepare_quantized(ctx);
    const TensorInfo& a = ctx.input(0);
    const TensorInfo& b = ctx.input(1);
    auto f32_or_bf16 = [](DType t) { return t == DType::f32 || t == DType::bf16; };
    if (!f32_or_bf16(a.dtype) || !f32_or_bf16(b.dtype)) return ctx.unsupported_error("fast path is f32 or bf16 only");
    EP_ASSIGN_OR_RETURN(Shape out, ref::broadcast_shapes(ctx, {a.shape, b.shape}));
    collapse(out, ref::broadcast_strides(a.shape, out), ref::broadcast_strides(b.shape, out));
    if (dims_.size() > 4) return ctx.unsupported_error("broadcast pattern too irregular for the fast path");
    // bf16 operands (a bf16 session's activations, passes/precision_bf16.cc) are widened,
    // computed in f32 and, when either is bf16, the result rounded to bf16.
    a_bf16_ = a.dtype == DType::bf16;
    b_bf16_ = b.dtype == DType::bf16;
    a_whole_ = a.shape == out;
    b_whole_ = b.shape == out;
    ctx.set_output(0, a_bf16_ || b_bf16_ ? DType::bf16 : DType::f32, out);
    return Status::ok();
  }

  Status run(const RunContext& ctx) noexcept override {
    const void* a = ctx.inputs[0].data;
    const void* b = ctx.inputs[1].data;
    void* y = ctx.outputs[0].data;
    if (quantized_) {
      run_quantized(static_cast<const float*>(a), static_cast<const float*>(b), static_cast<char*>(y));
      return Status::ok();
    }
    with_op([&]<Bin op>() {
      if (a_bf16_ || b_bf16_) loop_bf16<op>(a, b, y);
      else loop<op>(static_cast<const float*>(a), static_cast<const float*>(b), static_cast<float*>(y));
    });
    return Status::ok();
  }

 private:
  // ScaleAdd(x, s, y_scale, y_zero_point) (passes/fold_resize_add.cc: a QuantizeLinear that
  // alone read the sum): f32 x [.., C], f32 s with C values along x's last axis, per-tensor
  // y_scale (constant f32) and y_zero_point (constant u8 or i8, the output's type).
  Status prepare_quantized(PrepareContext& ctx) {
    const TensorInfo &a = ctx.input(0), &b = ctx.input(1);
    const int64_t c = a.shape.rank() ? a.shape[a.shape.rank() - 1] : 0;
    if (a.dtype != DType::f32 || b.dtype != DType::f32 || c <= 0 || b.shape.numel() != c ||
        b.shape.rank() > a.shape.rank() || b.shape[b.shape.rank() - 1] != c)
      return ctx.error("a quantized ScaleAdd takes f32 x and f32 s with one value per channel of x's last axis");
    EP_ASSIGN_OR_RETURN(quant_, quantize_to(ctx, 2, 3));
    quantized_ = true;
    channels_ = c;
    rows_ = a.shape.numel() / c;
    ctx.set_output(0, quant_.q, a.shape);
    return Status::ok();
  }

  // Rows of C: the ScaleAdd's sums (scale_add_rows / scale_add_run, its own roundings) into a
  // piece on the stack (whole rows where C fits), then QuantizeLinear's quantizer over the
  // piece: the bytes of the two steps it replaces.
  void run_quantized(const float* a, const float* b, char* y) const {
    constexpr int64_t kPiece = 256;
    const int64_t c = channels_, group = std::max<int64_t>(1, kPiece / c);
    const int64_t items = (rows_ + group - 1) / group;
    const bool par = items > 1 && rows_ * c >= kParallelMin && omp_get_max_threads() > 1;
#pragma omp parallel for if (par) schedule(static)
    for (int64_t it = 0; it < items; ++it) {
      alignas(64) float sum[kPiece];
      const int64_t r0 = it * group, rows = std::min(group, rows_ - r0);
      if (c <= kPiece) {
        scale_add_rows(a + r0 * c, b, sum, rows, c);
        quantize_span(sum, y + r0 * c, rows * c, quant_);
        continue;
      }
      for (int64_t j = 0; j < c; j += kPiece) {
        const int64_t m = std::min(kPiece, c - j);
        scale_add_run(a + r0 * c + j, 1, b + j, 1, sum, m);
        quantize_span(sum, y + r0 * c + j, m, quant_);
      }
    }
  }

  // Calls f.template operator()<op>() for this kernel's op.
  template <typename F>
  void with_op(F&& f) const {
    switch (op_) {
      case Bin::add: f.template operator()<Bin::add>(); break;
      case Bin::sub: f.template operator()<Bin::sub>(); break;
      case Bin::mul: f.template operator()<Bin::mul>(); break;
      case Bin::div: f.template operator()<Bin::div>(); break;
      case Bin::scale_add: f.template operator()<Bin::scale_add>(); break;
    }
  }

  // Merges adjacent dims whose strides continue each other, for both operands at once.
  void collapse(const Shape& out, std::vector<int64_t> sa, std::vector<int64_t> sb) {
    dims_.clear();
    sa_.clear();
    sb_.clear();
    for (size_t i = 0; i < out.rank(); ++i) {
      if (out[i] == 1) continue;
      if (!dims_.empty() && sa_.back() == sa[i] * out[i] && sb_.back() == sb[i] * out[i]) {
        dims_.back() *= out[i];
        sa_.back() = sa[i];
        sb_.back() = sb[i];
        continue;
      }
      dims_.push_back(out[i]);
      sa_.push_back(sa[i]);
      sb_.push_back(sb[i]);
    }
    if (dims_.empty()) {
      dims_ = {1};
      sa_ = {0};
      sb_ = {0};
    }
    // The innermost run must be contiguous or broadcast for each operand.
    if ((sa_.back() > 1) || (sb_.back() > 1)) {
      dims_.push_back(1);
      sa_.push_back(0);
      sb_.push_back(0);
    }
    while (dims_.size() < 4) {  // pad on the outside to a fixed depth
      dims_.insert(dims_.begin(), 1);
      sa_.insert(sa_.begin(), 0);
      sb_.insert(sb_.begin(), 0);
    }
  }

  template <Bin op>
  void loop(const float* a, const float* b, float* y) const {
    const int64_t d0 = dims_[0], d1 = dims_[1], d2 = dims_[2], n = dims_[3];
    const bool b_repeats = sa_[2] == n && sb_[2] == 0, a_repeats = sa_[2] == 0 && sb_[2] == n;
    if (n <= 16 && sa_[3] == 1 && sb_[3] == 1 && (a_repeats || b_repeats)) {  // short runs, one repeated
      const int64_t blocks = d0 * d1;
      const bool par = blocks > 1 && blocks * d2 * n >= kParallelMin && omp_get_max_threads() > 1;
#pragma omp parallel for if (par) schedule(static)
      for (int64_t o = 0; o < blocks; ++o) {
        const int64_t i0 = o / d1, i1 = o % d1;
        bin_rows<op>(a + i0 * sa_[0] + i1 * sa_[1], b + i0 * sb_[0] + i1 * sb_[1], y + o * d2 * n, d2, n, a_repeats);
      }
      return;
    }
    const int64_t outer = d0 * d1 * d2;
    const bool par = outer > 1 && outer * n >= kParallelMin && omp_get_max_threads() > 1;
#pragma omp parallel for if (par) schedule(static)
    for (int64_t o = 0; o < outer; ++o) {
      const int64_t i0 = o / (d1 * d2), i1 = (o / d2) % d1, i2 = o % d2;
      const int64_t oa = i0 * sa_[0] + i1 * sa_[1] + i2 * sa_[2];
      const int64_t ob = i0 * sb_[0] + i1 * sb_[1] + i2 * sb_[2];
      bin_run<op>(a + oa, sa_[3], b + ob, sb_[3], y + o * n, n);
    }
  }

  // With a bf16 operand: the innermost runs in pieces of at most kPiece elements (long runs
  // split, short ones grouped, each group of rows one work item across threads), bf16
  // operands widened into stack buffers (a broadcast row once per item), bin_run in f32, the
  // result narrowed into the bf16 output.
  template <Bin op>
  void loop_bf16(const void* a, const void* b, void* y) const {
    constexpr int64_t kPiece = 512;
    const int64_t d1 = dims_[1], d2 = dims_[2], n = dims_[3], outer = dims_[0] * d1 * d2;
    const int64_t pieces = (n + kPiece - 1) / kPiece, rows = n >= kPiece ? 1 : kPiece / n;
    const int64_t items = n >= kPiece ? outer * pieces : (outer + rows - 1) / rows;
    const bool par = items > 1 && outer * n >= kParallelMin && omp_get_max_threads() > 1;
    const int64_t sa = sa_[3], sb = sb_[3];
#pragma omp parallel for if (par) schedule(static)
    for (int64_t item = 0; item < items; ++item) {
      float abuf[kPiece], bbuf[kPiece], ybuf[kPiece];
      int64_t a_at = -1, b_at = -1;  // what abuf and bbuf hold
      auto operand = [](const void* p, bool bf16, int64_t off, int64_t count, float* buf, int64_t& at) -> const float* {
        if (!bf16) return static_cast<const float*>(p) + off;
        if (at != off) bf16_to_f32_span(static_cast<const uint16_t*>(p) + off, buf, count);
        at = off;
        return buf;
      };
      const int64_t o0 = n >= kPiece ? item / pieces : item * rows, o1 = n >= kPiece ? o0 + 1 : std::min(outer, o0 + rows);
      const int64_t j0 = n >= kPiece ? item % pieces * kPiece : 0, m = std::min(kPiece, n - j0);
      // An operand that is the whole tensor (no broadcast) is widened for all rows at once.
      const int64_t count = (o1 - o0) * m;
      const bool a_whole = a_bf16_ && a_whole_, b_whole = b_bf16_ && b_whole_;
      if (a_whole) bf16_to_f32_span(static_cast<const uint16_t*>(a) + o0 * n + j0, abuf, count);
      if (b_whole) bf16_to_f32_span(static_cast<const uint16_t*>(b) + o0 * n + j0, bbuf, count);
      int64_t i0 = o0 / (d1 * d2), i1 = (o0 / d2) % d1, i2 = o0 % d2;  // o's index, stepped below
      for (int64_t o = o0; o < o1; ++o) {
        const int64_t row = (o - o0) * m;
        const int64_t oa = i0 * sa_[0] + i1 * sa_[1] + i2 * sa_[2] + j0 * sa;
        const int64_t ob = i0 * sb_[0] + i1 * sb_[1] + i2 * sb_[2] + j0 * sb;
        const float* pa = a_whole ? abuf + row : operand(a, a_bf16_, oa, sa ? m : 1, abuf, a_at);
        const float* pb = b_whole ? bbuf + row : operand(b, b_bf16_, ob, sb ? m : 1, bbuf, b_at);
        bin_run<op>(pa, sa, pb, sb, ybuf + row, m);
        if (++i2 == d2) {
          i2 = 0;
          if (++i1 == d1) i1 = 0, ++i0;
        }
      }
      f32_to_bf16_span(ybuf, static_cast<uint16_t*>(y) + o0 * n + j0, count);
    }
  }

  Bin op_;
  std::vector<int64_t> dims_, sa_, sb_;
  bool a_bf16_ = false, b_bf16_ = false;
  bool a_whole_ = false, b_whole_ = false;  // the operand has the output's shape
  bool quantized_ = false;                  // ScaleAdd with y_scale and y_zero_point
  QuantizeTo quant_;
  int64_t channels_ = 0, rows_ = 0;
};

enum class Un { relu, sigmoid, clip, hard_sigmoid, hard_swish, tanh };

class UnaryKernel final : public Kernel {
 public:
  explicit UnaryKernel(Un op) : op_(op) {}

  Status prepare(PrepareContext& ctx) override {
    const ir::Node& n = ctx.node();
    EP_RETURN_IF_ERROR(ctx.expect_inputs(1, op_ == Un::clip ? 3 : 1));
    const TensorInfo& x = ctx.input(0);
    if (x.dtype != DType::f32) return ctx.unsupported_error("fast path is f32 only");
    if (op_ == Un::hard_sigmoid) {
      EP_ASSIGN_OR_RETURN(alpha_, n.attr_float("alpha", 0.2f));
      EP_ASSIGN_OR_RETURN(beta_, n.attr_float("beta", 0.5f));
    }
    if (op_ == Un::clip) {
      lo_ = -std::numeric_limits<float>::infinity();
      hi_ = std::numeric_limits<float>::infinity();
      if (ctx.opset() < 11) {
        EP_ASSIGN_OR_RETURN(lo_, n.attr_float("min", std::numeric_limits<float>::lowest()));
        EP_ASSIGN_OR_RETURN(hi_, n.attr_float("max", std::numeric_limits<float>::max()));
      } else {
        for (size_t i = 1; i < ctx.num_inputs(); ++i) {
          if (!ctx.has_input(i)) continue;
          const TensorInfo& b = ctx.input(i);
          if (!b.constant || b.dtype != DType::f32 || b.shape.numel() != 1)
            return ctx.unsupported_error("fast Clip needs constant scalar bounds");
          (i == 1 ? lo_ : hi_) = b.constant->as<float>()[0];
        }
      }
    }
    ctx.set_output(0, DType::f32, x.shape);
    return Status::ok();
  }

  Status run(const RunContext& ctx) noexcept override {
    const float* x = ctx.inputs[0].as<float>();
    float* y = ctx.outputs[0].as<float>();
    const int64_t n = ctx.inputs[0].numel();
    const float lo = lo_, hi = hi_, alpha = alpha_, beta = beta_;
    const bool par = n >= kParallelMin && omp_get_max_threads() > 1;
    switch (op_) {
      case Un::relu:
#pragma omp parallel for simd if (parallel: par)
        for (int64_t i = 0; i < n; ++i) y[i] = x[i] > 0.f ? x[i] : 0.f;
        break;
      case Un::sigmoid:
#pragma omp parallel for simd if (parallel: par)
        for (int64_t i = 0; i < n; ++i) y[i] = 1.f / (1.f + vexp(-x[i]));
        break;
      case Un::tanh:
#pragma omp parallel for simd if (parallel: par)
        for (int64_t i = 0; i < n; ++i) {
          // tanh x = 1 - 2 / (e^2x + 1); near 0 the odd Taylor terms keep the relative error small.
          const float v = x[i], v2 = v * v;
          const float near0 = v * (1.f + v2 * (-1.f / 3.f + v2 * (2.f / 15.f + v2 * (-17.f / 315.f))));
          y[i] = std::fabs(v) < 0.125f ? near0 : 1.f - 2.f / (vexp(2.f * v) + 1.f);
        }
        break;
      case Un::clip:
#pragma omp parallel for simd if (parallel: par)
        for (int64_t i = 0; i < n; ++i) y[i] = vclamp(x[i], lo, hi);
        break;
      case Un::hard_sigmoid:
#pragma omp parallel for simd if (parallel: par)
        for (int64_t i = 0; i < n; ++i) y[i] = vclamp(alpha * x[i] + beta, 0.f, 1.f);
        break;
      case Un::hard_swish:
#pragma omp parallel for simd if (parallel: par)
        for (int64_t i = 0; i < n; ++i) y[i] = vhard_swish(x[i]);
        break;
    }
    return Status::ok();
  }

 private:
  Un op_;
  float lo_ = 0, hi_ = 0, alpha_ = 0, beta_ = 0;
};

}  // namespace

// Pow with a constant scalar exponent (YOLOv5's (2 sigmoid)^2 box sizes): x*x for 2 (one
// rounding of the exact square, as pow), std::pow otherwise. Other forms go to the reference.
class PowKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& ctx) override {
    EP_RETURN_IF_ERROR(ctx.expect_inputs(2, 2));
    const TensorInfo& x = ctx.input(0);
    const TensorInfo& e = ctx.input(1);
    if (x.dtype != DType::f32 || !e.constant || e.shape.numel() != 1 || e.shape.rank() > x.shape.rank())
      return ctx.unsupported_error("fast Pow needs f32 x and a constant scalar exponent");
    switch (e.dtype) {
      case DType::f32: exponent_ = e.constant->as<float>()[0]; break;
      case DType::f64: exponent_ = static_cast<float>(e.constant->as<double>()[0]); break;
      case DType::i32: exponent_ = static_cast<float>(e.constant->as<int32_t>()[0]); break;
      case DType::i64: exponent_ = static_cast<float>(e.constant->as<int64_t>()[0]); break;
      default: return ctx.unsupported_error("exponent type");
    }
    ctx.set_output(0, DType::f32, x.shape);
    return Status::ok();
  }

  Status run(const RunContext& ctx) noexcept override {
    const float* x = ctx.inputs[0].as<float>();
    float* y = ctx.outputs[0].as<float>();
    const int64_t n = ctx.inputs[0].numel();
    const float e = exponent_;
    if (e == 2.f) {
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) y[i] = x[i] * x[i];
    } else {
      for (int64_t i = 0; i < n; ++i) y[i] = std::pow(x[i], e);
    }
    return Status::ok();
  }

 private:
  float exponent_ = 1.f;
};

std::unique_ptr<Kernel> make_add() { return std::make_unique<BinaryKernel>(Bin::add); }
std::unique_ptr<Kernel> make_sub() { return std::make_unique<BinaryKernel>(Bin::sub); }
std::unique_ptr<Kernel> make_mul() { return std::make_unique<BinaryKernel>(Bin::mul); }
std::unique_ptr<Kernel> make_div() { return std::make_unique<BinaryKernel>(Bin::div); }
std::unique_ptr<Kernel> make_pow() { return std::make_unique<PowKernel>(); }
std::unique_ptr<Kernel> make_scale_add() { return std::make_unique<BinaryKernel>(Bin::scale_add); }
std::unique_ptr<Kernel> make_relu() { return std::make_unique<UnaryKernel>(Un::relu); }
std::unique_ptr<Kernel> make_sigmoid() { return std::make_unique<UnaryKernel>(Un::sigmoid); }
std::unique_ptr<Kernel> make_clip() { return std::make_unique<UnaryKernel>(Un::clip); }
std::unique_ptr<Kernel> make_hard_sigmoid() { return std::make_unique<UnaryKernel>(Un::hard_sigmoid); }
std::unique_ptr<Kernel> make_hard_swish() { return std::make_unique<UnaryKernel>(Un::hard_swish); }
std::unique_ptr<Kernel> make_tanh() { return std::make_unique<UnaryKernel>(Un::tanh); }

}  // namespace ep::kernels::cpu
