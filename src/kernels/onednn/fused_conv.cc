// edgepipe.FusedConv on oneDNN: one convolution primitive with the element-wise chain as
// post-ops. Weights are reordered once in prepare into the layout the primitive picked;
// the scratchpad comes from the session arena, so run() allocates nothing of its own.
// bf16: weights become bf16 in that reorder; an f32 input is converted into scratch first.
// Winograd: f32 3x3 stride-1 convolutions run oneDNN's Winograd F(4x4,3x3)/F(2x2,3x3)
// kernels (2-2.5x faster than its direct kernels on this CPU, error of the same order). They
// only take nChw16c activations and no post-ops but ReLU and sum, so run() copies the NHWC
// input into a blocked scratch buffer, and copies the result back to NHWC applying the whole
// post-op chain on the way (bench/conv_algorithm.sh compares the two per model). oneDNN has
// Winograd kernels only with AVX-512; without it, edgepipe's own F(4x4,3x3) and, for
// outputs under 8x8, F(2x2,3x3) on oneDNN's matmul take those convolutions, and its stride-2
// form the wider 3x3 stride-2 ones (onednn/winograd.h), 1x1 convolutions ending in swish,
// sigmoid or hard swish run in pixel chunks with the chain applied in cache
// (onednn/chunked_pointwise.h), spatial ones ending in those with input channels off the
// multiples of 8 in bands of rows, the chain applied to each band (onednn/banded_conv.h),
// and other spatial f32 convolutions take the copy route through nChw8c for oneDNN's AVX2
// direct kernels (see blocked_direct_case()), unless the layout pass kept the activations in
// nChw8c between convolutions (layout NCHW8c; passes/layout_blocked.cc): then the primitive
// reads and writes them in place. Depthwise convolutions keep oneDNN's own post-ops: in bands
// with the chain applied after (hard swish) the detector's were slower in-model (16 channels
// at 320x320 2.12 -> 2.32 ms).
// int8: u8/s8 input with a runtime source zero point, s8 weights with per-channel output
// scales s_x*s_w (oneDNN 2.x adds the bias before them, so it is divided by them here), the
// post-ops on the dequantized values, and requantization as a last linear post-op.
#include <algorithm>
#include <cstring>
#include <new>
#include <set>
#include <unordered_map>

#include "edgepipe/arena.h"
#include "kernels/cpu/blocked.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/vexp.h"
#include "kernels/fused_conv.h"
#include "kernels/onednn/banded_conv.h"
#include "kernels/onednn/chunked_pointwise.h"
#include "kernels/onednn/context.h"
#include "kernels/onednn/depthwise_int8.h"
#include "kernels/onednn/onednn_kernels.h"
#include "kernels/onednn/narrow_int8_conv.h"
#include "kernels/onednn/winograd_int16.h"
#include "kernels/onednn/pointwise_int8.h"
#include "kernels/onednn/shuffle_convt.h"
#include "kernels/onednn/winograd.h"

namespace ep::kernels {

void apply_post_op_span(const PostOp& op, float* v, const float* r, int64_t count) {
  const float a = op.a, b = op.b;
  switch (op.kind) {
    case PostOpKind::relu:
      for (int64_t i = 0; i < count; ++i) v[i] = v[i] > 0 ? v[i] : 0;
      break;
    case PostOpKind::clip:
      for (int64_t i = 0; i < count; ++i) v[i] = std::min(std::max(v[i], a), b);
      break;
    case PostOpKind::linear:
      for (int64_t i = 0; i < count; ++i) v[i] = a * v[i] + b;
      break;
    case PostOpKind::hard_swish: {
      // vhard_swish's form (no division); written out for AVX2, where the `omp simd` loop of
      // it measured 0.59 ns per value against 0.25.
      int64_t i = 0;
#if defined(__AVX2__) && defined(__FMA__)
      const __m256 k = _mm256_set1_ps(1.f / 6.f), half = _mm256_set1_ps(0.5f), zero = _mm256_setzero_ps(),
                   one = _mm256_set1_ps(1.f);
      for (; i + 8 <= count; i += 8) {
        const __m256 x = _mm256_loadu_ps(v + i);
        const __m256 c = _mm256_min_ps(_mm256_max_ps(_mm256_fmadd_ps(x, k, half), zero), one);
        _mm256_storeu_ps(v + i, _mm256_mul_ps(x, c));
      }
#endif
      for (; i < count; ++i) v[i] = vhard_swish(v[i]);
      break;
    }
    case PostOpKind::sigmoid:
    case PostOpKind::swish: {
      const bool swish = op.kind == PostOpKind::swish;
      int64_t i = 0;
#if defined(__AVX2__) && defined(__FMA__)
      // Two vectors per step (vexp8); the numerator is x for swish, 1 for sigmoid.
      const __m256 one = _mm256_set1_ps(1.f), zero = _mm256_setzero_ps();
      for (; i + 16 <= count; i += 16) {
        const __m256 x0 = _mm256_loadu_ps(v + i), x1 = _mm256_loadu_ps(v + i + 8);
        const __m256 d0 = _mm256_add_ps(one, vexp8(_mm256_sub_ps(zero, x0)));
        const __m256 d1 = _mm256_add_ps(one, vexp8(_mm256_sub_ps(zero, x1)));
        _mm256_storeu_ps(v + i, _mm256_div_ps(swish ? x0 : one, d0));
        _mm256_storeu_ps(v + i + 8, _mm256_div_ps(swish ? x1 : one, d1));
      }
#endif
      for (; i < count; ++i) v[i] = (swish ? v[i] : 1.f) / (1.f + vexp(-v[i]));
      break;
    }
    case PostOpKind::residual:
      for (int64_t i = 0; i < count; ++i) v[i] += r[i];
      break;
  }
}

namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

dt to_dnnl(DType d) {
  switch (d) {
    case DType::bf16: return dt::bf16;
    case DType::u8: return dt::u8;
    case DType::i8: return dt::s8;
    default: return dt::f32;
  }
}

class OnednnFusedConv final : public Kernel {
 public:
  Status prepare(PrepareContext& ctx) override {
    EP_ASSIGN_OR_RETURN(p_, prepare_fused_conv(ctx));
    if (cpu::fused_conv_runs_as_gemv(p_) && ctx.input(1).constant)
      return ctx.unsupported_error("1x1 convolutions at 1x1 output run on the cpu GEMV");
    if (cpu::fused_conv_runs_as_panels(p_) && !cpu::fused_conv_runs_as_gemv(p_) && !onednn_without_avx512() &&
        ctx.input(1).constant && (!ctx.has_input(2) || ctx.input(2).constant))
      return ctx.unsupported_error("convolutions with at most 64 output pixels run on the cpu panel kernel");
    // (The AVX-512 pointwise kernel; with the AVX2 path forced, ChunkedPointwise instead.)
    if (cpu::fused_conv_runs_as_pointwise(p_) && !onednn_without_avx512() && ctx.input(1).constant &&
        (!ctx.has_input(2) || ctx.input(2).constant))
      return ctx.unsupported_error("narrow 1x1 NHWC convolutions run on the cpu pointwise kernel");
    EP_RETURN_IF_ERROR(normalize_post_ops(ctx));
    // Weights and bias must be known now to be reordered once.
    if (!ctx.input(1).constant || (ctx.has_input(2) && !ctx.input(2).constant))
      return ctx.unsupported_error("oneDNN path needs constant weights");
    std::string isa;
    if (p_.precision == ConvPrecision::bf16 && !onednn_has_bf16(&isa))
      return ctx.unsupported_error("oneDNN has no bf16 convolution on this CPU (", isa, ")");
    if (p_.precision == ConvPrecision::int8 &&
        !onednn_int8_conv_exact(p_.x_dtype, static_cast<const int8_t*>(ctx.input(1).constant->data()),
                                ctx.input(1).constant->numel())) {
      onednn_has_vnni(&isa);
      return ctx.unsupported_error("oneDNN's int8 convolution on this CPU (", isa,
                                   ", no VNNI) sums u8*s8 pairs in saturating 16 bits: it needs u8 input and "
                                   "weights in [-64, 63]");
    }
    try {
      build(ctx);
    } catch (const dnnl::error& e) {
      return ctx.unsupported_error("oneDNN declined: ", e.what());
    }
    return Status::ok();
  }

  bool may_overwrite_input(size_t i) const override { return sum_ && i == 3; }
  std::string implementation() const override { return shuffle_ ? impl_ + " as 1x1 + pixel shuffle" : impl_; }

  Status run(const RunContext& ctx) noexcept override {
    try {
      char* scratch = static_cast<char*>(ctx.scratch);
      if (block_) {
        run_blocked(ctx);
        return Status::ok();
      }
      if (use_winograd_int16_) {
        winograd_int16_.run(static_cast<const uint8_t*>(ctx.inputs[0].data), ctx.outputs[0].data, ctx.scratch);
        return Status::ok();
      }
      if (use_narrow_int8_) {
        narrow_int8_.run(static_cast<const uint8_t*>(ctx.inputs[0].data), ctx.outputs[0].data, ctx.scratch);
        return Status::ok();
      }
      if (use_pointwise_int8_) {
        pointwise_int8_.run(static_cast<const uint8_t*>(ctx.inputs[0].data), ctx.outputs[0].data);
        return Status::ok();
      }
      if (use_depthwise_int8_) {
        depthwise_int8_.run(static_cast<const uint8_t*>(ctx.inputs[0].data), ctx.outputs[0].data, ctx.scratch);
        return Status::ok();
      }
      if (use_shuffle_convt_) {
        shuffle_convt_.run(ctx.inputs[0].data, static_cast<float*>(ctx.outputs[0].data), ctx.scratch);
        return Status::ok();
      }
      if (use_chunked_ || use_banded_) {
        const float* r = residual_input_ >= 0 ? static_cast<const float*>(ctx.inputs[3].data) : nullptr;
        const auto* x = static_cast<const float*>(ctx.inputs[0].data);
        auto* y = static_cast<float*>(ctx.outputs[0].data);
        if (use_chunked_) chunked_.run(x, y, r, ctx.scratch);
        else banded_.run(x, y, r, ctx.scratch);
        return Status::ok();
      }
      if (use_wino43_ || use_wino23_ || use_winos2_) {  // f32, or bf16 (x, y, r as the node has them)
        const void* r = residual_input_ >= 0 ? ctx.inputs[3].data : nullptr;
        const void* x = ctx.inputs[0].data;
        void* y = ctx.outputs[0].data;
        if (use_wino43_) wino43_.run(x, y, r, ctx.scratch);
        else if (use_wino23_) wino23_.run(x, y, r, ctx.scratch);
        else winos2_.run(x, y, r, ctx.scratch);
        return Status::ok();
      }
      if (shuffle_) {
        run_shuffled(ctx);
        return Status::ok();
      }
      if (convert_bytes_) {  // f32 input of a bf16 convolution
        user_src_.set_data_handle(ctx.inputs[0].data);
        src_.set_data_handle(scratch + tmp_bytes_);
        onednn::execute(convert_, convert_args_);
      } else {
        src_.set_data_handle(ctx.inputs[0].data);
      }
      dst_.set_data_handle(ctx.outputs[0].data);
      if (residual_index_ >= 0) residual_.set_data_handle(ctx.inputs[3].data);
      // A sum post-op adds what the destination holds: the residual, unless the session
      // placed the output over it already.
      if (sum_ && ctx.outputs[0].data != ctx.inputs[3].data)
        std::memcpy(ctx.outputs[0].data, ctx.inputs[3].data, ctx.outputs[0].nbytes());
      if (scratch_bytes_) scratch_.set_data_handle(scratch + tmp_bytes_ + convert_bytes_);
      onednn::execute(prim_, c_args_);
    } catch (const dnnl::error& e) {
      return internal_error("oneDNN convolution failed: ", e.what());
    }
    return Status::ok();
  }

 private:
  // Merges adjacent linear post-ops, and declines chains that repeat an eltwise algorithm:
  // oneDNN 2.6's brgemm kernels apply the first op's parameters to a repeated algorithm
  // (caught by fused_conv_test with distinct parameters per post-op).
  Status normalize_post_ops(const PrepareContext& ctx) {
    std::vector<PostOp> merged, ops = p_.post_ops;
    if (p_.precision == ConvPrecision::int8 && p_.y_dtype != DType::f32)  // requantize
      ops.push_back(PostOp{PostOpKind::linear, 1.f / p_.y_scale, static_cast<float>(p_.y_zero)});
    for (const PostOp& op : ops) {
      if (op.kind == PostOpKind::linear && !merged.empty() && merged.back().kind == PostOpKind::linear) {
        PostOp& prev = merged.back();  // a2*(a1*x + b1) + b2
        prev.b = op.a * prev.b + op.b;
        prev.a = op.a * prev.a;
        continue;
      }
      merged.push_back(op);
    }
    p_.post_ops = std::move(merged);
    // These run the chain themselves.
    if (narrow_int8_case(ctx) || winograd_int16_case(ctx) || pointwise_int8_case(ctx) || depthwise_int8_case(ctx)) return Status::ok();
    if (repeats_post_op_algorithm()) return ctx.unsupported_error("oneDNN 2.6 mixes up a repeated post-op algorithm");
    return Status::ok();
  }

  bool repeats_post_op_algorithm() const {
    std::set<PostOpKind> seen;
    for (const PostOp& op : p_.post_ops)
      if (op.kind != PostOpKind::residual && !seen.insert(op.kind).second) return true;
    return false;
  }

  // A ConvTranspose whose kernel equals its stride (no padding, no groups) writes each
  // input pixel to its own k x k output block: a 1x1 convolution to Cout*k*k channels,
  // then a scatter of the blocks. oneDNN 2.6's NHWC deconvolution takes 300 ms on the
  // detector's 24-channel 160x160 layer; this takes well under a millisecond.
  bool pixel_shuffle_case() const {
    const FusedConvParams& p = p_;
    return p.transposed && p.nhwc && p.group == 1 && p.kh == p.stride[0] && p.kw == p.stride[1] &&
           p.dilation[0] == 1 && p.dilation[1] == 1 && p.pad_begin[0] == 0 && p.pad_begin[1] == 0 &&
           p.pad_end[0] == 0 && p.pad_end[1] == 0 && residual_index_ < 0 &&
           std::none_of(p.post_ops.begin(), p.post_ops.end(), [](const PostOp& o) { return o.kind == PostOpKind::residual; });
  }

  // The pixel-shuffle form in bands of band_rows_ input rows of band_images_ images (the
  // primitive's shape): each band's 1x1 output into scratch, then scattered, so the scatter
  // reads what was just written (in L2) instead of the whole output's worth from memory.
  void run_shuffled(const RunContext& ctx) {
    const FusedConvParams& p = p_;
    char* scratch = static_cast<char*>(ctx.scratch);
    char* x = static_cast<char*>(const_cast<void*>(ctx.inputs[0].data));
    const int64_t row_in = p.w * p.cin * static_cast<int64_t>(dtype_size(p.x_dtype));
    if (scratch_bytes_) scratch_.set_data_handle(scratch + tmp_bytes_ + convert_bytes_);
    dst_.set_data_handle(scratch);
    for (int64_t n0 = 0; n0 < p.n; n0 += band_images_)
      for (int64_t h0 = 0; h0 < p.h; h0 += band_rows_) {
        char* band = x + (n0 * p.h + h0) * row_in;
        if (convert_bytes_) {  // f32 input of a bf16 convolution
          user_src_.set_data_handle(band);
          src_.set_data_handle(scratch + tmp_bytes_);
          onednn::execute(convert_, convert_args_);
        } else {
          src_.set_data_handle(band);
        }
        onednn::execute(prim_, c_args_);
        scatter(scratch, static_cast<char*>(ctx.outputs[0].data), n0, h0);
      }
  }

  // tmp [band_images_, band_rows_, W, (ky*kw + kx)*Cout + oc] (input rows h0.. of images n0..)
  // -> y [N, H*kh, W*kw, Cout], writing y in order.
  void scatter(const char* tmp, char* y, int64_t n0, int64_t h0) const {
    const FusedConvParams& p = p_;
    const int64_t es = static_cast<int64_t>(dtype_size(p.y_dtype));
    const int64_t cout = p.cout * es, taps = p.kh * p.kw;  // in bytes
    for (int64_t n = n0; n < n0 + band_images_; ++n)
      for (int64_t h = h0; h < h0 + band_rows_; ++h)
        for (int64_t ky = 0; ky < p.kh; ++ky) {
          char* row = y + (n * p.oh + h * p.kh + ky) * p.ow * cout;
          const char* src_row = tmp + ((n - n0) * band_rows_ + h - h0) * p.w * cout * taps + ky * p.kw * cout;
          for (int64_t w = 0; w < p.w; ++w)  // kx-major blocks are contiguous
            std::memcpy(row + w * p.kw * cout, src_row + w * cout * taps, static_cast<size_t>(p.kw * cout));
        }
  }

  // Weights reordered once from the user's layout into the primitive's (owned); bias copied
  // (owned) when there is one; src and dst bound per run. Fills args_.
  void bind_memories(const memory::desc& user_w_md, const void* w_data, const memory::desc& weights_md,
                     const memory::desc& src_md, const memory::desc& dst_md, const memory::desc& b_md,
                     const void* b_data) {
    dnnl::engine& eng = onednn::cpu_engine();
    const memory user_w(user_w_md, eng, const_cast<void*>(w_data));
    weights_buf_.reset(alloc_buffer(weights_md.get_size()));  // large ones on huge pages
    if (!weights_buf_) throw std::bad_alloc();
    weights_ = memory(weights_md, eng, weights_buf_.get());
    dnnl::reorder(user_w, weights_).execute(onednn::thread_stream(), const_cast<memory&>(user_w), weights_);
    onednn::thread_stream().wait();
    src_ = memory(src_md, eng, DNNL_MEMORY_NONE);
    dst_ = memory(dst_md, eng, DNNL_MEMORY_NONE);
    args_ = {{DNNL_ARG_SRC, src_}, {DNNL_ARG_WEIGHTS, weights_}, {DNNL_ARG_DST, dst_}};
    if (b_data) {
      bias_ = memory(b_md, eng);
      std::memcpy(bias_.get_data_handle(), b_data, b_md.get_size());
      args_[DNNL_ARG_BIAS] = bias_;
    }
  }

  // f32 3x3 stride-1 undilated ungrouped NHWC convolutions with at least 16 channels each
  // way (below that the channel padding to 16 wastes most of the work), unless the node
  // asks for the direct algorithm (SessionOptions::conv_algorithm).
  bool winograd_case(const PrepareContext& ctx) const {
    const FusedConvParams& p = p_;
    auto algo = ctx.node().attr_string("algorithm", std::string("auto"));
    return algo.is_ok() && *algo == "auto" && p.precision == ConvPrecision::f32 && !p.transposed && p.nhwc &&
           p.group == 1 && p.kh == 3 && p.kw == 3 && p.stride[0] == 1 && p.stride[1] == 1 && p.dilation[0] == 1 &&
           p.dilation[1] == 1 && p.cin >= 16 && p.cout >= 16 && p.x_dtype == DType::f32 &&
           p.y_dtype == DType::f32 && p.r_dtype == DType::f32;
  }

  // Where oneDNN has no Winograd kernel (CPUs without AVX-512): ours, for the shapes
  // WinogradF43 takes with at least 16 channels each way (below that the matmuls are too
  // thin to gain) and outputs of at least 8x8, unless the node asks for the direct algorithm.
  // 1x1 convolutions with a swish, sigmoid or hard swish on a CPU without AVX-512: oneDNN's
  // AVX2 post-op is the slow part (chunked_pointwise.h); with hard swish alone at any size
  // (Zen 1, one thread: MobileNetV3's 112 -> 672 at 14x14 0.86 -> 0.83 ms, the detector's
  // 16 -> 32 at 320x320 5.23 -> 5.03). Not measured on AVX-512 CPUs: left to oneDNN.
  bool chunked_pointwise_case(const PrepareContext& ctx) const {
    auto algo = ctx.node().attr_string("algorithm", std::string("auto"));
    return algo.is_ok() && *algo == "auto" && onednn_without_avx512() && ChunkedPointwise::supports(p_) &&
           (p_.n * p_.h * p_.w >= 256 || !has_exp_post_op(p_.post_ops));
  }

  // ConvTranspose with kernel = stride and at most 4 outputs per input pixel on AVX-512
  // (shuffle_convt.h): PP-OCRv4 det's last layer, 24 -> 1 channel at 320x320 -> 640x640 with
  // sigmoid, Zen 5, one thread, in-model: 1.2 ms on oneDNN (pixel-shuffle form) -> 0.49 f32,
  // 0.97 -> 0.64 bf16.
  bool shuffle_convt_case(const PrepareContext& ctx) const {
    auto algo = ctx.node().attr_string("algorithm", std::string("auto"));
    const DType wt = p_.precision == ConvPrecision::int8 ? DType::i8 : DType::f32;
    return algo.is_ok() && *algo == "auto" && ShuffleConvT::supports(p_) && ctx.input(1).dtype == wt;
  }

  // int8 3x3, pads 1, 17-24 output channels (winograd_int16.h), at least 64 wide
  // (WinogradInt16::gains): the detector's 96 -> 24 layers at 160x160 and 80x80. Zen 5, one
  // thread, in-model, medians of 11 alternated runs against NarrowInt8Conv (a concurrent build on
  // the machine): u8 out 1.39-1.46 -> 1.13-1.29 ms, f32 out 1.45-1.58 -> 1.32-1.49 (one set of
  // five 1.51 -> 1.67); the INT8 det -0.2 to -0.45 ms. With its cheaper input conversion
  // (vpermt2w byte transposes) also at 80x80, with the RSE ScaleAdd in its store (9 rounds):
  // 0.352 -> 0.320. Narrower it loses (lanes idle past the row's last tile, per-band costs):
  // 40x40 0.123 -> 0.129, 20x20 0.043 -> 0.047.
  // On AMX CPUs oneDNN's kernels take these (narrow_int8_choice()).
  bool winograd_int16_case(const PrepareContext& ctx) const {
    return narrow_int8_choice_is(ctx, NarrowInt8Choice::winograd_int16);
  }

  // int8 with 17-24 output channels (narrow_int8_conv.h): the detector's 3x3 96 -> 24 layers,
  // Zen 5, one thread, in-model: 1.59 -> 1.24-1.32 ms at 160x160 (two), 0.46 -> 0.32 at 80x80.
  bool narrow_int8_case(const PrepareContext& ctx) const {
    return narrow_int8_choice_is(ctx, NarrowInt8Choice::narrow_int8);
  }

  bool narrow_int8_choice_is(const PrepareContext& ctx, NarrowInt8Choice kernel) const {
    auto algo = ctx.node().attr_string("algorithm", std::string("auto"));
    return algo.is_ok() && *algo == "auto" && ctx.input(1).dtype == DType::i8 &&
           narrow_int8_choice(p_, !repeats_post_op_algorithm()) == kernel;
  }

  // int8 1x1 with 4-48 input channels and 16-48 output channels (16-96 with f32 outputs)
  // (pointwise_int8.h). The detector, Zen 5, one thread, in-model, against oneDNN's brgemm 1x1:
  // 16 -> 32 at 320x320 0.46 -> 0.30 ms, 32 -> 48 and 48 -> 48 at 160x160 0.21 -> 0.15 and
  // 0.25 -> 0.19, 12 -> 96 (f32 out) at 160x160 0.45 -> 0.33; the INT8 det 11.77 -> 11.36 ms.
  bool pointwise_int8_case(const PrepareContext& ctx) const {
    auto algo = ctx.node().attr_string("algorithm", std::string("auto"));
    return algo.is_ok() && *algo == "auto" && PointwiseInt8::supports(p_) && ctx.input(1).dtype == DType::i8;
  }

  // int8 depthwise, stride 1 or 2, kernels up to 5 wide (depthwise_int8.h): all of the
  // detector's, Zen 5, one thread, in-model, medians of 7 alternated runs against oneDNN's
  // jit_int8: 3x3 16ch@320 0.358 -> 0.219 ms, 48@160 0.262 -> 0.172, 96@80 0.163 -> 0.114;
  // 5x5 192@40 0.162-0.166 -> 0.080-0.089, 384@20 0.091-0.095 -> 0.048-0.057; stride 2 3x3
  // 32@160 out 0.165 -> 0.157, 48@80 0.068 -> 0.058, 96@40 0.040 -> 0.033, 5x5 192@20 0.052 ->
  // 0.037 (depthwise total 2.04 -> 1.28 ms; at two threads 1.09 -> 0.66).
  bool depthwise_int8_case(const PrepareContext& ctx) const {
    auto algo = ctx.node().attr_string("algorithm", std::string("auto"));
    return algo.is_ok() && *algo == "auto" && DepthwiseInt8::supports(p_) && ctx.input(1).dtype == DType::i8;
  }

  bool winograd_f43_case(const PrepareContext& ctx) const {
    auto algo = ctx.node().attr_string("algorithm", std::string("auto"));
    return algo.is_ok() && *algo == "auto" && (onednn_without_avx512() || winograd_f43_avx512_case()) &&
           WinogradF43::supports(p_) && p_.cin >= 16 && p_.cout >= 16 && p_.oh >= 8 && p_.ow >= 8;
  }

  // f32 on AVX-512, where oneDNN has Winograd kernels too: ours with the 16-channel input
  // transform (winograd.h) for NHWC inputs of 16k channels whose output tiles waste at most
  // 15% on padding. Zen 5, one thread, in-model: YOLOv5s' 256 -> 256 at 20x20 2.27 -> 0.99 ms
  // (oneDNN's F(4x4) kernel), 128 -> 128 at 40x40 1.06-1.19 -> 0.81-0.95, ResNet-50's
  // 128 -> 128 at 28x28 0.59-0.72 -> 0.39-0.41 (its F(2x2) kernel); ResNet's 14x14 layers (16
  // tiles covering 16x16) measured slower (0.66-0.71 -> 0.72-0.75) and keep oneDNN's.
  bool winograd_f43_avx512_case() const {
    const FusedConvParams& p = p_;
    const int64_t covered = (p.oh + 3) / 4 * 4 * ((p.ow + 3) / 4 * 4);
    return WinogradF43::kVector16 && p.precision == ConvPrecision::f32 && p.nhwc && p.cin % 16 == 0 &&
           covered * 100 <= p.oh * p.ow * 115;
  }

  // bf16 3x3 stride-1 NHWC convolutions with at least 16 channels each way and outputs of at
  // least 8x8 on a CPU with AVX512_BF16: our Winograd with the matmuls in bf16 (oneDNN 2.6
  // has no bf16 Winograd; its direct bf16 kernel pads the detector's 24 output channels to
  // 32). Zen 5, one thread, the detector's 96 -> 24 at 160x160: direct bf16 3.10 ms, f32
  // Winograd (oneDNN's) 3.4, this 1.9 (the whole bf16 detector 16.9 -> 14.1 ms; at 2 threads
  // 14.1 -> 12.8). Its rounding is coarser than the direct kernel's: see winograd.h. Not on
  // AMX, where oneDNN's direct bf16 kernel (brgconv:avx512_core_amx_bf16) runs those layers
  // faster and rounds finer: the two 160x160 layers 1.69-1.85 -> 1.05 ms, the bf16 detector
  // 18.4 -> 16.1 ms (a Xeon with AMX, one thread, in-model).
  bool winograd_bf16_case(const PrepareContext& ctx) const {
    auto algo = ctx.node().attr_string("algorithm", std::string("auto"));
    return algo.is_ok() && *algo == "auto" && p_.precision == ConvPrecision::bf16 && onednn_has_bf16() &&
           !onednn_has_amx() && WinogradF43::kBf16Vectorized && WinogradF43::supports(p_) && p_.cin >= 16 &&
           p_.cout >= 16 && p_.oh >= 8 && p_.ow >= 8;
  }

  // Outputs from 4x4 to under 8x8 take F(2x2, 3x3): ResNet-50's 7x7 layers (16 tiles of 4x4
  // instead of 4 of 6x6, 16 products per channel pair instead of the direct 49 * 9 / 16).
  // On AVX-512, f32 outputs of at least 8x8 that F(4x4) tiles would pad by more than 15%
  // but F(2x2) tiles at most as much: ResNet-50's 14x14 layers (49 tiles covering 14x14
  // exactly, against 16 of 4x4 covering 16x16), Zen 5, one thread, in-model: 0.64-0.69 ms on
  // oneDNN's Winograd -> 0.60-0.63. Its 7x7 layers stay on oneDNN's (F(2x2)'s 16 tiles per
  // matmul ran them in 1.9 ms against 1.0: small_matmul is AVX2 code).
  bool winograd_f23_case(const PrepareContext& ctx) const {
    auto algo = ctx.node().attr_string("algorithm", std::string("auto"));
    if (!algo.is_ok() || *algo != "auto" || !WinogradF23::supports(p_) || p_.cin < 16 || p_.cout < 16) return false;
    if (onednn_without_avx512()) return std::min(p_.oh, p_.ow) >= 4 && std::min(p_.oh, p_.ow) < 8;
    const FusedConvParams& p = p_;
    const int64_t covered2 = (p.oh + 1) / 2 * 2 * ((p.ow + 1) / 2 * 2);
    return WinogradF43::kVector16 && p.precision == ConvPrecision::f32 && p.nhwc && p.oh >= 8 && p.ow >= 8 &&
           !winograd_f43_avx512_case() && covered2 * 100 <= p.oh * p.ow * 115;
  }

  // Stride-2 3x3 convolutions (WinogradS2: 81 products per 4x4 output tile instead of 144)
  // with at least 64 channels each way and 16 tiles. Zen 1, one thread, against the direct
  // kernel through nChw8c: YOLOv5s' 64 -> 128 at 80x80 28.4 -> 23.0 ms, 128 -> 256 at 40x40
  // 26.9 -> 18.8, 256 -> 512 at 20x20 26.0 -> 17.7, ResNet-50's 128 -> 128 at 28x28 7.1 -> 5.0,
  // 256 -> 256 at 14x14 (16 tiles) 6.6 -> 6.1; but 32 -> 64 at 160x160 31.8 -> 32.9 (the
  // transforms, 81 values per tile and channel, outweigh a 32-deep product) and 512 -> 512 at
  // 7x7 (4 tiles) 7.4 -> 10.0 (each matmul row reads 4x the direct kernel's weights).
  bool winograd_s2_case(const PrepareContext& ctx) const {
    auto algo = ctx.node().attr_string("algorithm", std::string("auto"));
    return algo.is_ok() && *algo == "auto" && onednn_without_avx512() && WinogradS2::supports(p_) &&
           p_.cin >= 64 && p_.cout >= 64 && (p_.oh + 3) / 4 * ((p_.ow + 3) / 4) >= 16;
  }

  // f32 NHWC convolutions with a spatial kernel on a CPU without AVX-512: oneDNN's AVX2
  // direct kernels are much faster on nChw8c than on NHWC activations (Zen 1, one thread:
  // ResNet's 3x3 64->64 at 56x56 7.27 -> 6.04 ms, its stride-2 128->128 10.3 -> 6.2 ms; ONNX
  // Runtime's blocked kernels take 6.1 and 6.3), far more than the two layout copies cost.
  // Channel counts that are multiples of 8 only (no padded lanes); 1x1 convolutions gain
  // nothing (2.97 vs 2.74 ms at best) and stay NHWC.
  bool blocked_direct_case(const PrepareContext& ctx) const {
    const FusedConvParams& p = p_;
    auto algo = ctx.node().attr_string("algorithm", std::string("auto"));
    return algo.is_ok() && *algo == "auto" && onednn_without_avx512() && p.precision == ConvPrecision::f32 &&
           !p.transposed && p.nhwc && p.group == 1 && p.kh * p.kw > 1 && p.dilation[0] == 1 && p.dilation[1] == 1 &&
           p.cin % 8 == 0 && p.cout % 8 == 0 && p.x_dtype == DType::f32 && p.y_dtype == DType::f32 &&
           p.r_dtype == DType::f32;
  }

  // Spatial convolutions ending in swish or sigmoid that the nChw8c route does not take, with
  // at least 1 MB of output, or in hard swish at any size, on a CPU without AVX-512
  // (banded_conv.h). Zen 1, one thread: YOLOv5s' stem (6x6 stride 2, 3 -> 32 at 320x320) 25.9
  // -> 23.6 ms (2 threads: 13.4 -> 12.6), MobileNetV3's (3x3 stride 2, 3 -> 16, hard swish)
  // 0.46 -> 0.41 ms.
  bool banded_case(const PrepareContext& ctx) const {
    auto algo = ctx.node().attr_string("algorithm", std::string("auto"));
    return algo.is_ok() && *algo == "auto" && onednn_without_avx512() && BandedConv::supports(p_) &&
           !blocked_direct_case(ctx) && (p_.n * p_.oh * p_.ow * p_.cout * 4 >= (1 << 20) || !has_exp_post_op(p_.post_ops));
  }

  // Creates a primitive on blocked activations (nChw16c for Winograd, nChw8c for the AVX2
  // direct kernels) with no post-ops: run() copies the NHWC input in and the result back,
  // applying the post-op chain on the way. False where oneDNN has none for this shape.
  bool build_blocked(PrepareContext& ctx, const void* w_data, const void* b_data, dnnl::algorithm algorithm,
                     int64_t block) {
    using C = dnnl::convolution_forward;
    dnnl::engine& eng = onednn::cpu_engine();
    const FusedConvParams& p = p_;
    const tag act = block == 16 ? tag::nChw16c : tag::nChw8c;
    const memory::desc src_md({p.n, p.cin, p.h, p.w}, dt::f32, act);
    const memory::desc dst_md({p.n, p.cout, p.oh, p.ow}, dt::f32, act);
    const memory::desc w_any({p.cout, p.cin, p.kh, p.kw}, dt::f32, tag::any), b_md({p.cout}, dt::f32, tag::a);
    const memory::dims strides{p.stride[0], p.stride[1]}, dil{0, 0}, pl{p.pad_begin[0], p.pad_begin[1]},
        pr{p.pad_end[0], p.pad_end[1]};
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    C::primitive_desc pd;
    try {
      auto desc = b_data ? C::desc(dnnl::prop_kind::forward_inference, algorithm, src_md, w_any, b_md, dst_md, strides,
                                   dil, pl, pr)
                         : C::desc(dnnl::prop_kind::forward_inference, algorithm, src_md, w_any, dst_md, strides, dil,
                                   pl, pr);
      pd = C::primitive_desc(desc, attr, eng);
      if (onednn::is_reference_impl(pd.impl_info_str())) return false;
    } catch (const dnnl::error&) {
      return false;
    }
    prim_ = C(pd);
    impl_ = std::string("onednn:") + pd.impl_info_str();
    bind_memories({{p.cout, p.cin, p.kh, p.kw}, dt::f32, tag::oihw}, w_data, pd.weights_desc(), src_md, dst_md, b_md,
                  b_data);
    const memory::desc scratch_md = pd.scratchpad_desc();
    scratch_bytes_ = scratch_md.get_size();
    if (scratch_bytes_) {
      scratch_ = memory(scratch_md, eng, DNNL_MEMORY_NONE);
      args_[DNNL_ARG_SCRATCHPAD] = scratch_;
    }
    blk_src_bytes_ = arena_align(src_md.get_size());
    blk_dst_bytes_ = arena_align(dst_md.get_size());
    ctx.request_scratch(blk_src_bytes_ + blk_dst_bytes_ + scratch_bytes_);
    c_args_ = onednn::exec_args(args_);
    block_ = block;
    return true;
  }

  // Scratch: [blocked input | blocked output | oneDNN's scratchpad].
  void run_blocked(const RunContext& ctx) const {
    const FusedConvParams& p = p_;
    char* scratch = static_cast<char*>(ctx.scratch);
    float* bx = reinterpret_cast<float*>(scratch);
    float* by = reinterpret_cast<float*>(scratch + blk_src_bytes_);
    const float* x = static_cast<const float*>(ctx.inputs[0].data);
    if (block_ == 16) cpu::to_blocked<16>(x, bx, p.n, p.h * p.w, p.cin);
    else cpu::to_blocked<8>(x, bx, p.n, p.h * p.w, p.cin);
    src_.set_data_handle(bx);
    dst_.set_data_handle(by);
    if (scratch_bytes_) scratch_.set_data_handle(scratch + blk_src_bytes_ + blk_dst_bytes_);
    onednn::execute(prim_, c_args_);
    const float* r = residual_input_ >= 0 ? static_cast<const float*>(ctx.inputs[static_cast<size_t>(residual_input_)].data)
                                          : nullptr;
    float* y = static_cast<float*>(ctx.outputs[0].data);
    if (block_ == 16) from_blocked_with_post_ops<16>(by, y, r, p.n, p.oh * p.ow, p.cout);
    else from_blocked_with_post_ops<8>(by, y, r, p.n, p.oh * p.ow, p.cout);
  }

  // b [N, ceil(C/B), P, B] -> y [N, P, C], then the post-op chain over each chunk while it
  // is in cache (same formulas as apply_post_op; exp by vexp).
  template <int64_t B>
  void from_blocked_with_post_ops(const float* b, float* y, const float* r, int64_t n, int64_t pixels,
                                  int64_t c) const {
    cpu::for_pixel_chunks(n, pixels, true, [&](int64_t img, int64_t p0, int64_t p1) {
      cpu::from_blocked_chunk<B>(b, y, img, p0, p1, pixels, c);
      const int64_t begin = (img * pixels + p0) * c, count = (p1 - p0) * c;
      float* v = y + begin;
      for (const PostOp& op : p_.post_ops) apply_post_op_span(op, v, r ? r + begin : nullptr, count);
    });
  }

  void build(PrepareContext& ctx) {
    dnnl::engine& eng = onednn::cpu_engine();
    FusedConvParams p = p_;
    const void* w_data = ctx.input(1).constant->data();
    const void* b_data = ctx.has_input(2) ? ctx.input(2).constant->data() : nullptr;
    // The paths below that run the chain themselves read the residual from input 3.
    const bool has_residual = has_post_op(p.post_ops, PostOpKind::residual);
    if (shuffle_convt_case(ctx)) {
      ctx.request_scratch(shuffle_convt_.prepare(p, w_data, static_cast<const float*>(b_data)));
      use_shuffle_convt_ = true;
      impl_ = "edgepipe:shuffle_convt";
      return;
    }
    if (winograd_int16_case(ctx)) {
      const auto* w = static_cast<const int8_t*>(w_data);
      ctx.request_scratch(winograd_int16_.prepare(p, w, static_cast<const float*>(b_data)));
      use_winograd_int16_ = true;
      impl_ = "edgepipe:winograd_int16";
      return;
    }
    if (narrow_int8_case(ctx)) {
      ctx.request_scratch(narrow_int8_.prepare(p, static_cast<const int8_t*>(w_data), static_cast<const float*>(b_data)));
      use_narrow_int8_ = true;
      impl_ = "edgepipe:narrow_int8";
      return;
    }
    if (pointwise_int8_case(ctx)) {
      ctx.request_scratch(pointwise_int8_.prepare(p, static_cast<const int8_t*>(w_data), static_cast<const float*>(b_data)));
      use_pointwise_int8_ = true;
      impl_ = "edgepipe:pointwise_int8";
      return;
    }
    if (depthwise_int8_case(ctx)) {
      const auto* w = static_cast<const int8_t*>(w_data);
      ctx.request_scratch(depthwise_int8_.prepare(p, w, static_cast<const float*>(b_data)));
      use_depthwise_int8_ = true;
      impl_ = "edgepipe:depthwise_int8";
      return;
    }
    // Winograd where oneDNN has it (AVX-512), else ours (F(4x4, 3x3) on oneDNN's matmul),
    // else the AVX2 direct kernels on nChw8c.
    if (chunked_pointwise_case(ctx)) {
      ctx.request_scratch(chunked_.prepare(p, static_cast<const float*>(w_data), static_cast<const float*>(b_data)));
      if (has_residual) residual_input_ = 3;
      use_chunked_ = true;
      impl_ = "edgepipe:chunked_pointwise";
      return;
    }
    if (winograd_f43_case(ctx) || winograd_f23_case(ctx) || winograd_s2_case(ctx) || winograd_bf16_case(ctx)) {
      use_wino43_ = winograd_f43_case(ctx) || winograd_bf16_case(ctx);
      use_wino23_ = winograd_f23_case(ctx);
      use_winos2_ = !use_wino43_ && !use_wino23_;
      const auto* w = static_cast<const float*>(w_data);
      const auto* b = static_cast<const float*>(b_data);
      ctx.request_scratch(use_wino43_   ? wino43_.prepare(p, w, b)
                          : use_wino23_ ? wino23_.prepare(p, w, b)
                                        : winos2_.prepare(p, w, b));
      if (has_residual) residual_input_ = 3;
      impl_ = use_wino43_ ? "edgepipe:winograd_f4x4" : use_wino23_ ? "edgepipe:winograd_f2x2" : "edgepipe:winograd_stride2";
      return;
    }
    if (banded_case(ctx)) {
      try {
        ctx.request_scratch(banded_.prepare(p, static_cast<const float*>(w_data), static_cast<const float*>(b_data)));
        if (has_residual) residual_input_ = 3;
        use_banded_ = true;
        impl_ = "edgepipe:banded";
        return;
      } catch (const dnnl::error&) {  // one primitive for the whole output, below
      }
    }
    const bool wino = winograd_case(ctx), blocked = blocked_direct_case(ctx);
    if (wino || blocked) {
      if (has_residual) residual_input_ = 3;
      if (wino && build_blocked(ctx, w_data, b_data, dnnl::algorithm::convolution_winograd, 16)) return;
      if (blocked && build_blocked(ctx, w_data, b_data, dnnl::algorithm::convolution_direct, 8)) return;
      residual_input_ = -1;
    }
    shuffle_ = pixel_shuffle_case();
    if (shuffle_) {  // rewrite as the 1x1 convolution; see pixel_shuffle_case()
      const int64_t taps = p.kh * p.kw, cout = p.cout;
      const DType wt = ctx.input(1).dtype;
      const size_t es = dtype_size(wt);
      shuffle_w_ = Tensor(wt, Shape{cout * taps, p.cin, 1, 1});
      shuffle_b_ = Tensor(DType::f32, Shape{cout * taps});
      const char* w = static_cast<const char*>(w_data);
      for (int64_t ic = 0; ic < p.cin; ++ic)
        for (int64_t oc = 0; oc < cout; ++oc)
          for (int64_t t = 0; t < taps; ++t)
            std::memcpy(static_cast<char*>(shuffle_w_.data()) + static_cast<size_t>((t * cout + oc) * p.cin + ic) * es,
                        w + static_cast<size_t>((ic * cout + oc) * taps + t) * es, es);
      if (!p.w_scales.empty()) {
        std::vector<float> s;
        for (int64_t t = 0; t < taps; ++t) s.insert(s.end(), p.w_scales.begin(), p.w_scales.end());
        p.w_scales = std::move(s);
      }
      for (int64_t t = 0; t < taps; ++t)
        for (int64_t oc = 0; oc < cout; ++oc)
          shuffle_b_.as<float>()[t * cout + oc] = b_data ? static_cast<const float*>(b_data)[oc] : 0.f;
      w_data = shuffle_w_.data();
      b_data = shuffle_b_.data();
      p.transposed = false;
      p.cout = cout * taps;
      p.kh = p.kw = 1;
      p.stride[0] = p.stride[1] = 1;
      // Bands whose 1x1 output fits half of a 1 MB L2: the whole tensor, or else the largest
      // divisor of H rows of one image that does. One primitive of the band's shape.
      const int64_t row_bytes = p.w * p.cout * static_cast<int64_t>(dtype_size(p.y_dtype));
      band_images_ = p.n;
      band_rows_ = p.h;
      if (p.n * p.h * row_bytes > kShuffleBand) {
        band_images_ = 1;
        for (band_rows_ = std::clamp<int64_t>(kShuffleBand / row_bytes, 1, p.h); p.h % band_rows_; --band_rows_) {
        }
      }
      p.n = band_images_;
      p.h = p.oh = band_rows_;
      p.ow = p.w;
      tmp_bytes_ = arena_align(static_cast<size_t>(p.n * p.h * p.w * p.cout) * dtype_size(p.y_dtype));
    }
    const bool bf16 = p.precision == ConvPrecision::bf16, int8 = p.precision == ConvPrecision::int8;
    const dt src_dt = bf16 ? dt::bf16 : to_dnnl(p.x_dtype), w_dt = bf16 ? dt::bf16 : int8 ? dt::s8 : dt::f32;
    const tag act = p.block == 8 ? tag::nChw8c : p.nhwc ? tag::nhwc : tag::nchw;
    const memory::dims src_dims{p.n, p.cin, p.h, p.w}, dst_dims{p.n, p.cout, p.oh, p.ow};
    memory::dims w_dims{p.cout, p.cin / p.group, p.kh, p.kw};
    // ONNX ConvTranspose weights are [Cin, Cout/group, kH, kW]: oneDNN's (g)iohw.
    tag w_tag = p.transposed ? tag::iohw : tag::oihw;
    if (p.group > 1) {
      w_dims = {p.group, p.cout / p.group, p.cin / p.group, p.kh, p.kw};
      w_tag = p.transposed ? tag::giohw : tag::goihw;
    }
    const memory::desc src_md(src_dims, src_dt, act), dst_md(dst_dims, to_dnnl(p.y_dtype), act);
    const memory::desc w_any(w_dims, w_dt, tag::any), b_md({p.cout}, dt::f32, tag::a);
    const memory::dims strides{p.stride[0], p.stride[1]};
    const memory::dims dil{p.dilation[0] - 1, p.dilation[1] - 1};  // oneDNN counts extra gaps
    const memory::dims pl{p.pad_begin[0], p.pad_begin[1]}, pr{p.pad_end[0], p.pad_end[1]};
    const bool has_bias = b_data != nullptr;
    // The residual as oneDNN's sum post-op (the destination holds it and the kernel adds it
    // as it stores: the session can place the output over a residual nobody reads later, and
    // the store then hits the lines just read) where the destination can hold it: f32, same
    // type, and the destination is the output itself. A sum oneDNN cannot place in the chain
    // falls back to a binary add reading the residual from its own buffer.
    const memory::desc residual_md(dst_dims, to_dnnl(p.r_dtype), act);
    const bool try_sum = !shuffle_ && !p.transposed && p.precision == ConvPrecision::f32 && p.r_dtype == p.y_dtype;
    dnnl::primitive_attr attr = make_attr(residual_md, p, try_sum);
    memory::desc weights_md, scratch_md;
    if (p.transposed) {
      using D = dnnl::deconvolution_forward;
      auto desc = has_bias ? D::desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::deconvolution_direct, src_md,
                                     w_any, b_md, dst_md, strides, dil, pl, pr)
                           : D::desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::deconvolution_direct, src_md,
                                     w_any, dst_md, strides, dil, pl, pr);
      const D::primitive_desc pd(desc, attr, eng);
      prim_ = D(pd);
      impl_ = std::string("onednn:") + pd.impl_info_str();
      weights_md = pd.weights_desc();
      scratch_md = pd.scratchpad_desc();
    } else {
      using C = dnnl::convolution_forward;
      auto desc = has_bias ? C::desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src_md,
                                     w_any, b_md, dst_md, strides, dil, pl, pr)
                           : C::desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src_md,
                                     w_any, dst_md, strides, dil, pl, pr);
      C::primitive_desc pd;
      // Some oneDNN kernels take a sum only as the first post-op (the AVX2 direct ones): for
      // the rest oneDNN either declines or hands the chain to its reference kernel, ~40x
      // slower. Either way the residual goes back to a binary add.
      try {
        pd = C::primitive_desc(desc, attr, eng);
        if (sum_ && onednn::is_reference_impl(pd.impl_info_str())) throw dnnl::error(dnnl_unimplemented, "reference");
      } catch (const dnnl::error&) {
        if (!sum_) throw;
        attr = make_attr(residual_md, p, false);
        pd = C::primitive_desc(desc, attr, eng);
      }
      // Where oneDNN 2.6's first-ranked kernel is not its fastest for the shape, the
      // implementations are walked to the one that is (kept where the walk does not find it).
      auto prefer = [&](const char* impl) {
        C::primitive_desc alt(desc, attr, eng);
        auto found = [&] { return std::string(alt.impl_info_str()).rfind(impl, 0) == 0; };
        while (!found() && alt.next_impl()) {
        }
        if (found()) pd = alt;
      };
      const std::string first_impl = pd.impl_info_str();
      const bool brg = first_impl.rfind("brg", 0) == 0 || first_impl.rfind("brdgmm", 0) == 0;
      // NHWC depthwise: its jit_dw kernel takes NHWC too and is faster than brdgmm up to a few
      // hundred channels. Zen 5, f32, one / two threads, oneDNN alone: MobileNetV3's 72
      // channels at 56x56 0.054 -> 0.037 / 0.028 -> 0.020 ms, its 5x5 120 at 28x28 0.047 ->
      // 0.023 / 0.025 -> 0.013, 16 at 112x112 0.035 -> 0.021, the detector's 48 at 160x160
      // 0.21 -> 0.17, 96 at 80x80 0.11 -> 0.089; 384 at 20x20 0.065 -> 0.061; at 480-960
      // channels (14x14 and 7x7) brdgmm is as fast or faster (0.015 vs 0.018).
      if (brg && p.nhwc && p.group > 1 && p.group == p.cin && p.group == p.cout && p.cout <= 384) prefer("jit_dw");
      // f32 3x3 first layers (3 input channels): its direct jit kernel. Same conditions:
      // MobileNetV3's stride-2 stem 0.060 -> 0.051 / 0.030 -> 0.025 ms (in-model, with hard
      // swish, 0.075 -> 0.059 at one thread), the detector's 0.46 -> 0.41 / 0.23 -> 0.21
      // (in-model 0.51 -> 0.43). YOLOv5s' 6x6 stem ran faster alone (3.39 -> 2.91) but slower
      // in-model with its swish (3.50 -> 3.66), ResNet-50's 7x7 slower alone (0.89 -> 0.93):
      // both stay on brgconv.
      if (brg && p.nhwc && p.precision == ConvPrecision::f32 && p.group == 1 && p.cin <= 4 && p.kh <= 3 && p.kw <= 3)
        prefer("jit:");
      // int8 1x1 on AMX with at most 48 input channels (an AMX tile row takes 64) or under 16
      // output pixels (the squeeze-excite convolutions: the tile setup dominates): its AVX-512
      // VNNI brgemm kernel. A Xeon with AMX, one thread, in-model, 5 alternated rounds: the
      // detector's SE convolutions at 1x1 0.005-0.013 -> 0.003-0.006 ms (sixteen), 48 -> 96
      // at 80x80 0.282 -> 0.254, 48 -> 12 at 160x160 0.128 -> 0.117, the head's 24 -> 96
      // (its 2x2 ConvTranspose) 0.74 -> 0.61; from 96 input channels AMX wins (96 -> 96 at
      // 80x80 0.279 against 0.329, 192 -> 192 at 40x40 0.16 against 0.23).
      if (int8 && first_impl.find("_amx") != std::string::npos && p.group == 1 && p.kh == 1 && p.kw == 1 &&
          (p.cin <= 48 || p.n * p.oh * p.ow < 16))
        prefer("brgconv_1x1:avx512_core_vnni");
      prim_ = C(pd);
      impl_ = std::string("onednn:") + pd.impl_info_str();
      weights_md = pd.weights_desc();
      scratch_md = pd.scratchpad_desc();
    }
    bind_memories({w_dims, int8 ? dt::s8 : dt::f32, w_tag}, w_data, weights_md, src_md, dst_md, b_md,
                  has_bias ? b_data : nullptr);
    if (has_bias && int8) {  // added to the s32 accumulator, before the output scales
      float* b = static_cast<float*>(bias_.get_data_handle());
      for (int64_t o = 0; o < p.cout; ++o) b[o] /= p.x_scale * p.w_scales[static_cast<size_t>(o)];
    }
    if (int8 && p.x_zero != 0) {
      src_zero_ = memory({{1}, dt::s32, tag::x}, eng);
      *static_cast<int32_t*>(src_zero_.get_data_handle()) = p.x_zero;
      args_[DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC] = src_zero_;
    }
    if (bf16 && p.x_dtype == DType::f32) {  // the input arrives in f32: convert it into scratch
      user_src_ = memory({src_dims, dt::f32, act}, eng, DNNL_MEMORY_NONE);
      convert_ = dnnl::reorder(user_src_, src_);
      convert_bytes_ = arena_align(src_md.get_size());
      convert_args_ = onednn::exec_args({{DNNL_ARG_FROM, user_src_}, {DNNL_ARG_TO, src_}});
    }
    if (residual_index_ >= 0) {
      residual_ = memory(memory::desc(dst_dims, to_dnnl(p.r_dtype), act), eng, DNNL_MEMORY_NONE);
      args_[DNNL_ARG_ATTR_MULTIPLE_POST_OP(residual_index_) | DNNL_ARG_SRC_1] = residual_;
    }
    scratch_bytes_ = scratch_md.get_size();
    if (scratch_bytes_) {
      scratch_ = memory(scratch_md, eng, DNNL_MEMORY_NONE);
      args_[DNNL_ARG_SCRATCHPAD] = scratch_;
    }
    if (scratch_bytes_ + tmp_bytes_ + convert_bytes_) ctx.request_scratch(tmp_bytes_ + convert_bytes_ + scratch_bytes_);
    c_args_ = onednn::exec_args(args_);
  }

  dnnl::primitive_attr make_attr(const memory::desc& residual_md, const FusedConvParams& p, bool use_sum) {
    sum_ = false;
    residual_index_ = -1;
    dnnl::post_ops ops;
    int index = 0;
    for (const PostOp& op : p_.post_ops) {
      switch (op.kind) {
        case PostOpKind::relu: ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f); break;
        case PostOpKind::clip: ops.append_eltwise(1.f, dnnl::algorithm::eltwise_clip_v2, op.a, op.b); break;
        case PostOpKind::linear: ops.append_eltwise(1.f, dnnl::algorithm::eltwise_linear, op.a, op.b); break;
        case PostOpKind::hard_swish: ops.append_eltwise(1.f, dnnl::algorithm::eltwise_hardswish, 0.f, 0.f); break;
        case PostOpKind::sigmoid: ops.append_eltwise(1.f, dnnl::algorithm::eltwise_logistic, 0.f, 0.f); break;
        case PostOpKind::swish: ops.append_eltwise(1.f, dnnl::algorithm::eltwise_swish, 1.f, 0.f); break;
        case PostOpKind::residual:
          if (use_sum) {
            ops.append_sum(1.f);
            sum_ = true;
          } else {
            ops.append_binary(dnnl::algorithm::binary_add, residual_md);
            residual_index_ = index;
          }
          break;
      }
      ++index;
    }
    dnnl::primitive_attr attr;
    if (p.precision == ConvPrecision::int8) {
      std::vector<float> scales(p.w_scales.size());
      for (size_t o = 0; o < scales.size(); ++o) scales[o] = p.x_scale * p.w_scales[o];
      attr.set_output_scales(1 << 1, scales);  // per output channel (dst dim 1)
      if (p.x_zero != 0) attr.set_zero_points(DNNL_ARG_SRC, 0, {DNNL_RUNTIME_S32_VAL});
    }
    attr.set_post_ops(ops);
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    return attr;
  }

  FusedConvParams p_;
  dnnl::primitive prim_;
  Buffer weights_buf_;  // what weights_ holds (declared first: destroyed after it)
  memory weights_, bias_, src_, dst_, residual_, scratch_, src_zero_, user_src_;
  dnnl::primitive convert_;    // f32 -> bf16 input, when the producer is not bf16
  onednn::ExecArgs convert_args_;
  size_t convert_bytes_ = 0;   // the converted input, after tmp
  std::unordered_map<int, memory> args_;
  onednn::ExecArgs c_args_;  // args_ for the C API, built once
  int residual_index_ = -1;
  bool sum_ = false;                  // the residual is a sum post-op: run() puts it in the output first
  int64_t block_ = 0;                 // 16 or 8: blocked activations (see build_blocked())
  WinogradF43 wino43_;                // our Winograd (see winograd_f43_case())
  WinogradF23 wino23_;                // ... for small outputs (winograd_f23_case())
  WinogradS2 winos2_;                 // ... for stride 2 (winograd_s2_case())
  bool use_wino43_ = false, use_wino23_ = false, use_winos2_ = false;
  ChunkedPointwise chunked_;          // see chunked_pointwise_case()
  bool use_chunked_ = false;
  BandedConv banded_;                 // see banded_case()
  bool use_banded_ = false;
  ShuffleConvT shuffle_convt_;
  NarrowInt8Conv narrow_int8_;
  bool use_narrow_int8_ = false;
  WinogradInt16 winograd_int16_;
  bool use_winograd_int16_ = false;
  PointwiseInt8 pointwise_int8_;
  bool use_pointwise_int8_ = false;
  DepthwiseInt8 depthwise_int8_;
  bool use_depthwise_int8_ = false;
  std::string impl_;  // implementation(): which of the paths above, or oneDNN's name
  bool use_shuffle_convt_ = false;
  int residual_input_ = -1;           // blocked path: the residual's input index, added in run()
  size_t blk_src_bytes_ = 0, blk_dst_bytes_ = 0;
  size_t scratch_bytes_ = 0;
  bool shuffle_ = false;
  static constexpr int64_t kShuffleBand = 512 << 10;
  int64_t band_images_ = 1, band_rows_ = 1;  // a band of the pixel-shuffle form
  size_t tmp_bytes_ = 0;  // the 1x1 convolution's output, ahead of oneDNN's scratchpad
  Tensor shuffle_w_, shuffle_b_;
};

}  // namespace

std::unique_ptr<Kernel> make_onednn_fused_conv() { return std::make_unique<OnednnFusedConv>(); }

}  // namespace ep::kernels
