// 1x1 stride-1 f32 NHWC convolutions as one product Y[P, Cout] = X[P, Cin] W^T + B over the
// P = N*H*W pixels, on an AVX-512 register-tiled kernel that applies the post-ops to the
// accumulators before they are stored.
//
// Why: oneDNN 2.6's NHWC 1x1 kernels (brgconv_1x1) reach 45-80 GFLOP/s on the narrow layers
// of YOLO-style C3 blocks (32-128 channels) where this CPU's fp32 peak is ~117, and its
// swish post-op costs another 10-30%; ONNX Runtime's own NCHWc kernels ran YOLOv5s' 1x1
// layers about 1.5x faster than oneDNN (bench/compare_ort_layers.sh). Without a swish or
// sigmoid, oneDNN's kernels match or beat this one (ResNet-50, MobileNetV3, the PP-OCRv4
// detector), and below 32 input channels the product is bound by its stores: those layers
// stay on oneDNN (fused_conv_runs_as_pointwise).
//
// Layout: the weights are packed once into panels of 16*NV output channels (NV = 1..4 vectors),
// each panel K x (16*NV) contiguous with columns past Cout zero, the bias beside them. A run
// walks blocks of kBlockRows pixels (split across the session's threads); inside a block,
// each panel's columns are computed MR rows at a time with MR*NV accumulators in registers
// (MR*NV = 24 of the 32 vector registers), summed over k in order from the bias, then the
// post-ops, then one store per vector (masked past Cout). The last rows of the product, when
// fewer than MR, go through a zero-padded copy in scratch so the tile never reads or writes
// past the tensors.
// GCC 12 reports the AVX-512 intrinsics' undefined pass-through operands (`__Y` of
// _mm512_undefined_ps) as "may be used uninitialized" where they are inlined (some builds,
// e.g. the sanitizer ones); they are not read. Before any include: the state at the
// intrinsic headers' own lines is what counts.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <algorithm>
#include <cstring>
#include <memory>

#include <omp.h>

#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/conv_tile.h"
#include "kernels/fused_conv.h"

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace ep::kernels::cpu {

#if defined(__AVX512F__)
namespace {

using tile::Epilogue;
using tile::kLanes;
constexpr int64_t kBlockRows = 24;  // a multiple of every MR below
constexpr int64_t kMaxPanelWidth = 4 * kLanes;

// rows MR x (16*NV) columns of the product: a (row stride lda), the panel b (K x 16*NV),
// its bias, into c (row stride ldc); `last` masks the panel's last vector.
template <int MR, int NV>
void tile_fn(const float* a, int64_t lda, const float* b, const float* bias, int64_t k_count, float* c, int64_t ldc,
             __mmask16 last, const Epilogue& e, int64_t r_row0, int64_t r_col0) {
  __m512 acc[MR][NV];
#pragma GCC unroll 4
  for (int j = 0; j < NV; ++j) {
    const __m512 bj = _mm512_loadu_ps(bias + j * kLanes);
#pragma GCC unroll 24
    for (int i = 0; i < MR; ++i) acc[i][j] = bj;
  }
  for (int64_t k = 0; k < k_count; ++k) {
    __m512 bk[NV];
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) bk[j] = _mm512_load_ps(b + k * NV * kLanes + j * kLanes);
#pragma GCC unroll 24
    for (int i = 0; i < MR; ++i) {
      const __m512 ai = _mm512_set1_ps(a[i * lda + k]);
#pragma GCC unroll 4
      for (int j = 0; j < NV; ++j) acc[i][j] = _mm512_fmadd_ps(ai, bk[j], acc[i][j]);
    }
  }
  tile::apply_post_ops<MR, NV>(acc, e, last, r_row0, r_col0);
  tile::store_tile<MR, NV>(acc, c, ldc, last);
}

using TileFn = void (*)(const float*, int64_t, const float*, const float*, int64_t, float*, int64_t, __mmask16,
                        const Epilogue&, int64_t, int64_t);

struct Panel {
  int64_t col0 = 0;     // first output channel
  int64_t width = 0;    // output channels it holds (<= 16 * nv)
  int nv = 0, mr = 0;   // vectors per row, rows per tile
  TileFn fn = nullptr;
  int64_t offset = 0;   // into packed_ (floats); bias at bias_offset
  int64_t bias_offset = 0;
};

Panel make_panel(int64_t col0, int64_t width) {
  Panel p;
  p.col0 = col0;
  p.width = width;
  p.nv = static_cast<int>((width + kLanes - 1) / kLanes);
  switch (p.nv) {
    case 1: p.mr = 24, p.fn = tile_fn<24, 1>; break;
    case 2: p.mr = 12, p.fn = tile_fn<12, 2>; break;
    case 3: p.mr = 8, p.fn = tile_fn<8, 3>; break;
    default: p.mr = 6, p.fn = tile_fn<6, 4>; break;
  }
  return p;
}

class PointwiseConv final : public Kernel {
 public:
  Status prepare(PrepareContext& ctx) override {
    EP_ASSIGN_OR_RETURN(p_, prepare_fused_conv(ctx));
    if (!fused_conv_runs_as_pointwise(p_))
      return ctx.unsupported_error("the cpu pointwise kernel takes f32 1x1 stride-1 unpadded NHWC convolutions");
    if (!ctx.input(1).constant || (ctx.has_input(2) && !ctx.input(2).constant))
      return ctx.unsupported_error("the cpu pointwise kernel needs constant weights and bias");
    residual_ = ctx.num_inputs() > 3 && ctx.has_input(3);
    const int64_t K = p_.cin, N = p_.cout;
    // Panels of 64 columns, the rest in one panel of 16, 32 or 48 (the last vector masked).
    for (int64_t col = 0; col < N; col += kMaxPanelWidth) panels_.push_back(make_panel(col, std::min(kMaxPanelWidth, N - col)));
    int64_t floats = 0, bias_floats = 0;
    for (Panel& panel : panels_) {
      panel.offset = floats;
      panel.bias_offset = bias_floats;
      floats += K * panel.nv * kLanes;
      bias_floats += panel.nv * kLanes;
    }
    packed_ = Tensor(DType::f32, Shape{floats + bias_floats});
    float* dst = packed_.as<float>();
    std::memset(dst, 0, static_cast<size_t>(packed_.nbytes()));
    const float* w = ctx.input(1).constant->as<float>();  // [Cout, Cin, 1, 1]
    const float* bias = ctx.has_input(2) ? ctx.input(2).constant->as<float>() : nullptr;
    bias_base_ = floats;
    for (const Panel& panel : panels_) {
      const int64_t width = panel.nv * kLanes;
      for (int64_t k = 0; k < K; ++k)
        for (int64_t j = 0; j < panel.width; ++j) dst[panel.offset + k * width + j] = w[(panel.col0 + j) * K + k];
      if (bias)
        for (int64_t j = 0; j < panel.width; ++j) dst[bias_base_ + panel.bias_offset + j] = bias[panel.col0 + j];
    }
    // The tail tile's copies: A rows, C rows and residual rows of the widest tile.
    ctx.request_scratch(static_cast<size_t>(kBlockRows * (K + 2 * kMaxPanelWidth)) * sizeof(float));
    return Status::ok();
  }

  // A tile loads its residual rows before it stores them (the tail through copies), and a
  // thread writes only its own rows: the output may sit over the residual.
  bool may_overwrite_input(size_t i) const override { return residual_ && i == 3; }

  Status run(const RunContext& ctx) noexcept override {
    const float* x = ctx.inputs[0].as<float>();
    float* y = ctx.outputs[0].as<float>();
    const float* r = residual_ ? ctx.inputs[3].as<float>() : nullptr;
    const int64_t K = p_.cin, N = p_.cout, rows = p_.n * p_.oh * p_.ow;
    const int64_t blocks = (rows + kBlockRows - 1) / kBlockRows;
    const bool par = blocks > 1 && rows * (K + N) * static_cast<int64_t>(sizeof(float)) >= kParallelWorkBytes &&
                     omp_get_max_threads() > 1;
    float* scratch = static_cast<float*>(ctx.scratch);
#pragma omp parallel for if (parallel: par) schedule(static)
    for (int64_t blk = 0; blk < blocks; ++blk) run_block(x, r, y, blk * kBlockRows, std::min(kBlockRows, rows - blk * kBlockRows), scratch);
    return Status::ok();
  }

 private:
  void run_block(const float* x, const float* r, float* y, int64_t row0, int64_t count, float* scratch) const {
    const int64_t K = p_.cin, N = p_.cout;
    const float* packed = packed_.as<float>();
    for (const Panel& panel : panels_) {
      const int64_t rem = panel.width - (panel.nv - 1) * kLanes;
      const __mmask16 last = static_cast<__mmask16>((1u << rem) - 1u);
      const float* b = packed + panel.offset;
      const float* bias = packed + bias_base_ + panel.bias_offset;
      Epilogue e{p_.post_ops.data(), static_cast<int>(p_.post_ops.size()), r, N};
      int64_t i = 0;
      for (; i + panel.mr <= count; i += panel.mr)
        panel.fn(x + (row0 + i) * K, K, b, bias, K, y + (row0 + i) * N + panel.col0, N, last, e, row0 + i, panel.col0);
      if (i == count) continue;
      // Fewer than MR rows left (only in the product's last block): through zero-padded copies.
      const int64_t tail = count - i, width = panel.nv * kLanes;
      float* a_tail = scratch;
      float* c_tail = a_tail + kBlockRows * K;
      float* r_tail = c_tail + kBlockRows * kMaxPanelWidth;
      std::memset(a_tail, 0, static_cast<size_t>(panel.mr * K) * sizeof(float));
      std::memcpy(a_tail, x + (row0 + i) * K, static_cast<size_t>(tail * K) * sizeof(float));
      Epilogue te = e;
      if (r) {
        std::memset(r_tail, 0, static_cast<size_t>(panel.mr * width) * sizeof(float));
        for (int64_t t = 0; t < tail; ++t)
          std::memcpy(r_tail + t * width, r + (row0 + i + t) * N + panel.col0, static_cast<size_t>(panel.width) * sizeof(float));
        te.r = r_tail;
        te.ldr = width;
      }
      panel.fn(a_tail, K, b, bias, K, c_tail, width, last, te, 0, 0);
      for (int64_t t = 0; t < tail; ++t)
        std::memcpy(y + (row0 + i + t) * N + panel.col0, c_tail + t * width, static_cast<size_t>(panel.width) * sizeof(float));
    }
  }

  FusedConvParams p_;
  bool residual_ = false;
  std::vector<Panel> panels_;
  Tensor packed_;  // the panels, then their biases (16 * nv floats each)
  int64_t bias_base_ = 0;
};

}  // namespace
#endif  // __AVX512F__

bool fused_conv_runs_as_pointwise(const FusedConvParams& p) {
#if defined(__AVX512F__)
  // Squeeze-excite layers (one pixel per image) stay with the GEMV or oneDNN.
  constexpr int64_t kBlockRowsMin = kBlockRows;
  const bool shape = p.precision == ConvPrecision::f32 && !p.transposed && p.nhwc && p.group == 1 && p.kh == 1 &&
                     p.kw == 1 && p.stride[0] == 1 && p.stride[1] == 1 && p.pad_begin[0] == 0 && p.pad_begin[1] == 0 &&
                     p.pad_end[0] == 0 && p.pad_end[1] == 0 && p.x_dtype == DType::f32 && p.y_dtype == DType::f32 &&
                     p.r_dtype == DType::f32 && p.n * p.oh * p.ow >= kBlockRowsMin;
  // oneDNN's swish and logistic post-ops cost 10-30% of a narrow layer; with none of them
  // its brgemm kernels match or beat this one (measured on MobileNetV3, ResNet-50 and the
  // PP-OCRv4 detector), and below 32 input channels the product is bound by the stores.
  return shape && has_exp_post_op(p.post_ops) && p.cin >= 32;
#else
  (void)p;
  return false;
#endif
}

namespace {

// The cpu backend's FusedConv: the GEMV for 1x1 outputs, the panel kernel for small outputs,
// the pointwise kernel for the rest it takes; whichever applies is chosen in prepare().
class CpuFusedConv final : public Kernel {
 public:
  Status prepare(PrepareContext& ctx) override {
    EP_ASSIGN_OR_RETURN(FusedConvParams p, prepare_fused_conv(ctx));
    name_ = "edgepipe:gemv";
#if defined(__AVX512F__)
    if (fused_conv_runs_as_gemv(p)) {
      impl_ = make_gemv_fused_conv();
    } else if (fused_conv_runs_as_panels(p)) {
      impl_ = make_panel_fused_conv();
      name_ = "edgepipe:panel";
    } else if (fused_conv_runs_as_pointwise(p)) {
      impl_ = std::make_unique<PointwiseConv>();
      name_ = "edgepipe:pointwise";
    }
#endif
    if (!impl_) impl_ = make_gemv_fused_conv();
    return impl_->prepare(ctx);
  }
  Status run(const RunContext& ctx) noexcept override { return impl_->run(ctx); }
  bool may_overwrite_input(size_t i) const override { return impl_ && impl_->may_overwrite_input(i); }
  std::string implementation() const override { return name_; }

 private:
  std::unique_ptr<Kernel> impl_;
  std::string name_;
};

}  // namespace

std::unique_ptr<Kernel> make_fused_conv() { return std::make_unique<CpuFusedConv>(); }

}  // namespace ep::kernels::cpu
