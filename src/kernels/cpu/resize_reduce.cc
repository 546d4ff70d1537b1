// Nearest-neighbour Resize through per-axis index tables, copying whole unresized inner
// blocks (the channels of an NHWC tensor) at once; ReduceMean over a contiguous run of
// axes and GlobalAveragePool, accumulating in double like the reference kernels (over
// channels, in float within blocks of 64 rows first).
#if defined(__AVX512F__)
// GCC 12 reports the intrinsics' undefined pass-through operands (_mm512_undefined_epi32) as
// "may be used uninitialized" once bf16.h's and quantize.h's conversions are inlined here;
// they are not read.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <omp.h>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/cpu/bf16.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/quantize.h"
#include "kernels/ref/common.h"
#include "kernels/ref/data_movement.h"

namespace ep::kernels::cpu {
namespace {

// Per axis, the input index each output index of a nearest Resize reads (`scale` as the Resize
// computes it: its scales value, or sizes / input).
std::vector<std::vector<int64_t>> nearest_tables(const Shape& in, const std::vector<int64_t>& out,
                                                 const std::vector<double>& scale, const std::string& ctm,
                                                 const std::string& nearest) {
  std::vector<std::vector<int64_t>> tables(out.size());
  for (size_t a = 0; a < out.size(); ++a) {
    for (int64_t o = 0; o < out[a]; ++o) {
      const double c = ctm == "asymmetric" ? o / scale[a] : (o + 0.5) / scale[a] - 0.5;
      double r;
      if (nearest == "floor") r = std::floor(c);
      else if (nearest == "ceil") r = std::ceil(c);
      else if (nearest == "round_prefer_ceil") r = std::floor(c + 0.5);
      else r = std::ceil(c - 0.5);  // round_prefer_floor (resize_nearest_form)
      tables[a].push_back(std::clamp<int64_t>(static_cast<int64_t>(r), 0, in[a] - 1));
    }
  }
  return tables;
}

}  // namespace

Result<std::vector<std::vector<int64_t>>> resize_nearest_tables(const PrepareContext& ctx, size_t x_at) {
  const ir::Node& n = ctx.node();
  const TensorInfo& x = ctx.input(x_at);
  EP_ASSIGN_OR_RETURN(std::string ctm, n.attr_string("coordinate_transformation_mode", std::string("half_pixel")));
  EP_ASSIGN_OR_RETURN(std::string nearest, n.attr_string("nearest_mode", std::string("round_prefer_floor")));
  if (!resize_nearest_form(n))
    return ctx.unsupported_error(
        "fast Resize covers nearest with asymmetric or half_pixel coordinates and nearest_mode floor, ceil or "
        "round_prefer_floor/ceil");
  const size_t rank = x.shape.rank();
  std::vector<double> scale(rank, 1.0);
  std::vector<int64_t> out(rank);
  const size_t scales_at = x_at + 2, sizes_at = x_at + 3;
  if (ctx.num_inputs() > sizes_at && ctx.has_input(sizes_at) && ctx.input(sizes_at).shape.numel() > 0) {
    EP_ASSIGN_OR_RETURN(std::vector<int64_t> sizes, ref::constant_ints(ctx, sizes_at, "sizes"));
    if (sizes.size() != rank) return ctx.unsupported_error("sizes rank");
    for (size_t a = 0; a < rank; ++a) {
      out[a] = sizes[a];
      scale[a] = static_cast<double>(sizes[a]) / static_cast<double>(x.shape[a]);
    }
  } else if (ctx.num_inputs() > scales_at && ctx.has_input(scales_at) && ctx.input(scales_at).constant &&
             ctx.input(scales_at).dtype == DType::f32 &&
             static_cast<size_t>(ctx.input(scales_at).shape.numel()) == rank) {
    for (size_t a = 0; a < rank; ++a) {
      scale[a] = ctx.input(scales_at).constant->as<float>()[a];
      const double o = std::floor(static_cast<double>(x.shape[a]) * scale[a]);
      if (!(o >= 0 && o <= 0x1p62)) return ctx.error("scales[", a, "] = ", scale[a], " gives no usable size");
      out[a] = static_cast<int64_t>(o);
    }
  } else {
    return ctx.unsupported_error("fast Resize needs constant scales or sizes");
  }
  for (size_t a = 0; a < rank; ++a)
    if (out[a] <= 0 || x.shape[a] <= 0 || scale[a] <= 0) return ctx.unsupported_error("empty or degenerate resize");
  return nearest_tables(x.shape, out, scale, ctm, nearest);
}

namespace {

// Also edgepipe.ResizeAdd(A, X, roi, scales, sizes[, y_scale, y_zero_point[, A_scale]]) = A +
// Resize(X, roi, scales, sizes) with Resize's attributes (passes/fold_resize_add.cc): each
// copied block added to A's instead, f32 or bf16, the same sums and rounding as the Add it
// replaces; with y_scale (f32 only), the sums quantized as the QuantizeLinear after the Add
// would (u8, or i8 by the zero point's type) and written as such; with A_scale (one value per
// channel of the last axis; f32, or bf16/f32 with bf16 A), A + A * A_scale (the ScaleAdd that
// made A, rounded as it rounds) in place of A.
class ResizeNearest final : public Kernel {
 public:
  explicit ResizeNearest(bool add) : add_(add), in_(add ? 1 : 0) {}

  Status prepare(PrepareContext& ctx) override {
    // (ResizeAdd: its pass took the Resize from an opset-11+ graph.)
    if (!add_ && ctx.opset() < 11) return ctx.unsupported_error("fast Resize starts at opset 11");
    if (add_ && (ctx.num_inputs() < 2 || !ctx.has_input(1) || ctx.input(0).dtype != ctx.input(1).dtype ||
                 (ctx.input(0).dtype != DType::f32 && ctx.input(0).dtype != DType::bf16)))
      return ctx.error("takes A and X (both f32 or both bf16), then Resize's roi, scales and sizes");
    const TensorInfo& x = ctx.input(in_);
    quantized_ = add_ && ctx.num_inputs() > 5 && ctx.has_input(5);
    if (quantized_) {
      if (x.dtype != DType::f32) return ctx.error("a quantized output takes f32 A and X");
      EP_ASSIGN_OR_RETURN(quant_, quantize_to(ctx, 5, 6));
    }
    scaled_ = add_ && ctx.num_inputs() > 7 && ctx.has_input(7);
    if (scaled_) {
      const TensorInfo& a = ctx.input(0);
      const TensorInfo& s = ctx.input(7);
      const int64_t c = a.shape.rank() ? a.shape[a.shape.rank() - 1] : 0;
      const bool types = x.dtype == DType::f32 ? s.dtype == DType::f32
                                               : x.dtype == DType::bf16 && (s.dtype == DType::f32 || s.dtype == DType::bf16);
      if (!types || c <= 0 || s.shape.numel() != c || s.shape.rank() > a.shape.rank() ||
          (s.shape.rank() && s.shape[s.shape.rank() - 1] != c))
        return ctx.error("A_scale must be f32 (or bf16 with bf16 A) with one value per channel of A's last axis (", c, ")");
      channels_ = c;
      s_bf16_ = s.dtype == DType::bf16;
      s_wide_.assign(s_bf16_ ? static_cast<size_t>(c) : 0, 0.f);
    }
    if (dtype_size(x.dtype) != 4 && dtype_size(x.dtype) != 2 && dtype_size(x.dtype) != 1)
      return ctx.unsupported_error("fast Resize copies 1, 2 or 4-byte elements");
    EP_ASSIGN_OR_RETURN(tables_, resize_nearest_tables(ctx, in_));
    const size_t rank = x.shape.rank();
    std::vector<int64_t> out(rank);
    for (size_t a = 0; a < rank; ++a) out[a] = static_cast<int64_t>(tables_[a].size());
    // The largest inner block that is copied unchanged.
    inner_axes_ = 0;
    block_ = 1;
    for (size_t a = rank; a-- > 0;) {
      bool identity = out[a] == x.shape[a];
      for (int64_t o = 0; identity && o < out[a]; ++o) identity = tables_[a][o] == o;
      if (!identity) break;
      ++inner_axes_;
      block_ *= out[a];
    }
    in_strides_ = ref::strides_of(x.shape);
    out_shape_ = Shape(out);
    esize_ = dtype_size(x.dtype);
    if (add_ && ctx.input(0).shape != out_shape_)
      return ctx.error("A has shape ", ctx.input(0).shape.to_string(), ", the resized X ", out_shape_.to_string());
    if (scaled_ && block_ % channels_ != 0)
      return ctx.unsupported_error("A_scale needs the channels unresized (the copied block ", block_, " values)");
    ctx.set_output(0, quantized_ ? quant_.q : x.dtype, out_shape_);
    return Status::ok();
  }

  // ResizeAdd: the output may sit over A (each value reads A's at its own place first); not a
  // quantized one, whose rows land at other rows' places in A.
  bool may_overwrite_input(size_t i) const override { return add_ && !quantized_ && i == 0; }

  Status run(const RunContext& ctx) noexcept override {
    const char* x = static_cast<const char*>(ctx.inputs[in_].data);
    char* y = static_cast<char*>(ctx.outputs[0].data);
    const char* a = add_ ? static_cast<const char*>(ctx.inputs[0].data) : nullptr;
    a_scale_ = scaled_ ? ctx.inputs[7].as<float>() : nullptr;
    if (scaled_ && s_bf16_) {  // widened once per run
      bf16_to_f32_span(static_cast<const uint16_t*>(ctx.inputs[7].data), s_wide_.data(), channels_);
      a_scale_ = s_wide_.data();
    }
    const size_t outer_rank = tables_.size() - inner_axes_;
    const size_t bytes = static_cast<size_t>(block_) * esize_;
    const int64_t out_bytes = block_ * static_cast<int64_t>(quantized_ ? 1 : esize_);  // per block
    if (outer_rank == 0) {
      if (add_) add_block(a, x, y, block_);
      else std::memcpy(y, x, bytes);
      return Status::ok();
    }
    // Rows along the last resized axis: its table walked with one offset computation per row.
    const size_t last = outer_rank - 1;
    const int64_t row_len = out_shape_[last];
    const std::vector<int64_t>& cols = tables_[last];
    int64_t rows = 1;
    for (size_t a = 0; a < last; ++a) rows *= out_shape_[a];
    const bool par = rows > 1 && static_cast<int64_t>(rows * row_len * bytes) >= kParallelBytes && omp_get_max_threads() > 1;
#pragma omp parallel for if (par) schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      int64_t off = 0, rest = r;
      for (size_t a = last; a-- > 0;) {  // r's index along each outer resized axis
        off += tables_[a][static_cast<size_t>(rest % out_shape_[a])] * in_strides_[a];
        rest /= out_shape_[a];
      }
      const char* src = x + off * static_cast<int64_t>(esize_);
      char* dst = y + r * row_len * static_cast<int64_t>(bytes);
      const int64_t stride = in_strides_[last] * static_cast<int64_t>(esize_);
      if (add_) {
        const char* ar = a + r * row_len * static_cast<int64_t>(bytes);
        char* yr = y + r * row_len * out_bytes;
        for (int64_t j = 0; j < row_len; ++j)
          add_block(ar + j * static_cast<int64_t>(bytes), src + cols[static_cast<size_t>(j)] * stride, yr + j * out_bytes,
                    block_);
      } else if (bytes == 32) {  // a block of 8 channels (blocked layout): a fixed-size copy
        for (int64_t j = 0; j < row_len; ++j) std::memcpy(dst + j * 32, src + cols[static_cast<size_t>(j)] * stride, 32);
      } else {
        for (int64_t j = 0; j < row_len; ++j)
          std::memcpy(dst + j * static_cast<int64_t>(bytes), src + cols[static_cast<size_t>(j)] * stride, bytes);
      }
    }
    return Status::ok();
  }

 private:
  // y = a + b over n elements: f32, or bf16 widened, summed in f32 and rounded once (as the
  // bf16 Add it replaces computes), or f32 sums quantized.
  void add_block(const char* a, const char* b, char* y, int64_t n) const {
    constexpr int64_t kPiece = 256;
    if (scaled_ && esize_ == 2) {  // bf16: the ScaleAdd's sum rounded to bf16, then the Add's
      const uint16_t* ah = reinterpret_cast<const uint16_t*>(a);
      const uint16_t* bh = reinterpret_cast<const uint16_t*>(b);
      uint16_t* yh = reinterpret_cast<uint16_t*>(y);
#if defined(__AVX512BF16__) && defined(__AVX512VL__)
      if (channels_ % 16 == 0) {  // in registers (the _round forms: no fma contraction, as above)
        auto widen = [](__m256i h) { return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16)); };
        auto load = [](const uint16_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); };
        auto narrow = [](__m512 v) {
          const __m256bh h = _mm512_cvtneps_pbh(v);
          return reinterpret_cast<const __m256i&>(h);
        };
        constexpr int kR = _MM_FROUND_CUR_DIRECTION;
        for (int64_t c0 = 0; c0 < n; c0 += channels_)
          for (int64_t i = 0; i < channels_; i += 16) {
            const __m512 av = widen(load(ah + c0 + i));
            const __m512 t = _mm512_add_round_ps(av, _mm512_mul_round_ps(av, _mm512_loadu_ps(a_scale_ + i), kR), kR);
            const __m512 sum = _mm512_add_round_ps(widen(narrow(t)), widen(load(bh + c0 + i)), kR);
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(yh + c0 + i), narrow(sum));
          }
        return;
      }
#endif
      alignas(64) float wa[kPiece], wb[kPiece];
      alignas(64) uint16_t t[kPiece];
      for (int64_t c0 = 0; c0 < n; c0 += channels_)
        for (int64_t i0 = 0; i0 < channels_; i0 += kPiece) {
          const int64_t m = std::min(kPiece, channels_ - i0), at = c0 + i0;
          bf16_to_f32_span(ah + at, wa, m);
          scale_add_run(wa, 1, a_scale_ + i0, 1, wa, m);
          f32_to_bf16_span(wa, t, m);
          bf16_to_f32_span(t, wa, m);
          bf16_to_f32_span(bh + at, wb, m);
#pragma omp simd
          for (int64_t i = 0; i < m; ++i) wa[i] += wb[i];
          f32_to_bf16_span(wa, yh + at, m);
        }
      return;
    }
    if (scaled_) {  // whole channel runs: n is a multiple of channels_
      const float* af = reinterpret_cast<const float*>(a);
      const float* bf = reinterpret_cast<const float*>(b);
#if defined(__AVX512F__)
      if (quantized_ && channels_ % 16 == 0) {
        // One pass in registers. The _round forms keep the multiply and the adds separate
        // operations (GCC contracts the plain intrinsics' a * s + a into an fma, which would
        // round once where the ScaleAdd rounds twice).
        const __m512 qs = _mm512_set1_ps(quant_.scale), qr = _mm512_set1_ps(quant_.recip()),
                     qz = _mm512_set1_ps(quant_.zero), lo = _mm512_set1_ps(quant_.lo()), hi = _mm512_set1_ps(quant_.hi());
        constexpr int kR = _MM_FROUND_CUR_DIRECTION;
        for (int64_t c0 = 0; c0 < n; c0 += channels_)
          for (int64_t i = 0; i < channels_; i += 16) {
            const __m512 av = _mm512_loadu_ps(af + c0 + i);
            __m512 t = _mm512_add_round_ps(av, _mm512_mul_round_ps(av, _mm512_loadu_ps(a_scale_ + i), kR), kR);
            t = _mm512_add_round_ps(t, _mm512_loadu_ps(bf + c0 + i), kR);
            _mm_storeu_si128(reinterpret_cast<__m128i*>(y + c0 + i), quantize16(t, qs, qr, qz, lo, hi));
          }
        return;
      }
#endif
      alignas(64) float sum[kPiece];
      for (int64_t c0 = 0; c0 < n; c0 += channels_)
        for (int64_t i0 = 0; i0 < channels_; i0 += kPiece) {
          const int64_t m = std::min(kPiece, channels_ - i0), at = c0 + i0;
          float* out = quantized_ ? sum : reinterpret_cast<float*>(y) + at;
          scale_add_plus(af + at, a_scale_ + i0, bf + at, out, m);
          if (quantized_) quantize_span(sum, y + at, m, quant_);
        }
      return;
    }
    if (quantized_) {
      const float* af = reinterpret_cast<const float*>(a);
      const float* bf = reinterpret_cast<const float*>(b);
#if defined(__AVX512F__)
      const __m512 s = _mm512_set1_ps(quant_.scale), r = _mm512_set1_ps(quant_.recip()),
                   z = _mm512_set1_ps(quant_.zero), lo = _mm512_set1_ps(quant_.lo()), hi = _mm512_set1_ps(quant_.hi());
      int64_t i = 0;
      for (; i + 16 <= n; i += 16)
        _mm_storeu_si128(reinterpret_cast<__m128i*>(y + i),
                         quantize16(_mm512_add_ps(_mm512_loadu_ps(af + i), _mm512_loadu_ps(bf + i)), s, r, z, lo, hi));
      af += i;
      bf += i;
      y += i;
      n -= i;
#endif
      alignas(64) float sum[kPiece];
      for (int64_t i0 = 0; i0 < n; i0 += kPiece) {
        const int64_t m = std::min(kPiece, n - i0);
#pragma omp simd
        for (int64_t i = 0; i < m; ++i) sum[i] = af[i0 + i] + bf[i0 + i];
        quantize_span(sum, y + i0, m, quant_);
      }
      return;
    }
    if (esize_ == 4) {
      const float* af = reinterpret_cast<const float*>(a);
      const float* bf = reinterpret_cast<const float*>(b);
      float* yf = reinterpret_cast<float*>(y);
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) yf[i] = af[i] + bf[i];
      return;
    }
    int64_t done = 0;
#if defined(__AVX512BF16__) && defined(__AVX512VL__)
    const uint16_t* ah = reinterpret_cast<const uint16_t*>(a);
    const uint16_t* bh = reinterpret_cast<const uint16_t*>(b);
    uint16_t* yh = reinterpret_cast<uint16_t*>(y);
    auto widen = [](const uint16_t* p) {
      return _mm512_castsi512_ps(
          _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))), 16));
    };
    for (; done + 16 <= n; done += 16) {
      const __m256bh h = _mm512_cvtneps_pbh(_mm512_add_ps(widen(ah + done), widen(bh + done)));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(yh + done), reinterpret_cast<const __m256i&>(h));
    }
#endif
    alignas(64) float wa[kPiece], wb[kPiece];
    a += done * 2;
    b += done * 2;
    y += done * 2;
    n -= done;
    for (int64_t i0 = 0; i0 < n; i0 += kPiece) {
      const int64_t m = std::min(kPiece, n - i0);
      bf16_to_f32_span(reinterpret_cast<const uint16_t*>(a) + i0, wa, m);
      bf16_to_f32_span(reinterpret_cast<const uint16_t*>(b) + i0, wb, m);
#pragma omp simd
      for (int64_t i = 0; i < m; ++i) wa[i] += wb[i];
      f32_to_bf16_span(wa, reinterpret_cast<uint16_t*>(y) + i0, m);
    }
  }

  bool add_ = false;
  bool quantized_ = false;  // ResizeAdd with y_scale
  QuantizeTo quant_;
  bool scaled_ = false;  // ResizeAdd with A_scale
  bool s_bf16_ = false;
  std::vector<float> s_wide_;  // a bf16 A_scale widened
  int64_t channels_ = 0;  // A_scale's values
  const float* a_scale_ = nullptr;  // this run's
  size_t in_ = 0;  // X's input index
  std::vector<std::vector<int64_t>> tables_;
  std::vector<int64_t> in_strides_;
  Shape out_shape_;
  size_t inner_axes_ = 0, esize_ = 4;
  int64_t block_ = 1;
};

// edgepipe.ResizeConcat(X0, .., Xn-1) = Concat(Resize(X0), .., Resize(Xn-1)) along the last
// axis (passes/fold_resize_concat.cc): each input nearest-resized (or not: scales 1) straight
// into its slice of the output, no resized tensor written in between. Attributes: axis (the
// last), Resize's coordinate_transformation_mode and nearest_mode, `scales` (rank per input:
// its Resize's scales), `scale_from_sizes` (per input, 1 where its Resize had sizes: the scale is
// then output / input, as Resize computes it), output_shape. Any element type; bit-exact.
class ResizeConcat final : public Kernel {
 public:
  Status prepare(PrepareContext& ctx) override {
    const ir::Node& n = ctx.node();
    const size_t count = ctx.num_inputs();
    if (count == 0) return ctx.error("needs at least one input");
    EP_ASSIGN_OR_RETURN(std::vector<int64_t> out, n.attr_ints("output_shape"));
    EP_ASSIGN_OR_RETURN(std::vector<float> scales, n.attr_floats("scales"));
    EP_ASSIGN_OR_RETURN(std::vector<int64_t> from_sizes, n.attr_ints("scale_from_sizes"));
    EP_ASSIGN_OR_RETURN(std::string ctm, n.attr_string("coordinate_transformation_mode", std::string("half_pixel")));
    EP_ASSIGN_OR_RETURN(std::string nearest, n.attr_string("nearest_mode", std::string("round_prefer_floor")));
    const size_t rank = out.size();
    EP_ASSIGN_OR_RETURN(int64_t axis, n.attr_int("axis"));
    if (rank < 2 || axis != static_cast<int64_t>(rank) - 1)
      return ctx.error("concatenates along the last axis of rank 2 or more, got axis ", axis, " of rank ", rank);
    if (scales.size() != count * rank || from_sizes.size() != count)
      return ctx.error("scales needs ", count * rank, " values and scale_from_sizes ", count);
    const DType t = ctx.input(0).dtype;
    esize_ = dtype_size(t);
    inputs_.assign(count, {});
    int64_t channels = 0;
    for (size_t i = 0; i < count; ++i) {
      const TensorInfo& x = ctx.input(i);
      if (x.dtype != t || x.shape.rank() != rank) return ctx.error("input ", i, ": dtype or rank differs from input 0");
      std::vector<double> scale(rank);
      std::vector<int64_t> size(rank);
      for (size_t a = 0; a < rank; ++a) {
        // (with sizes, the last axis is the input's own: the pass took only Resizes that keep it)
        scale[a] = from_sizes[i] ? (a + 1 == rank ? 1.0 : static_cast<double>(out[a]) / static_cast<double>(x.shape[a]))
                                 : scales[i * rank + a];
        if (x.shape[a] <= 0 || !(scale[a] > 0)) return ctx.unsupported_error("input ", i, ": empty or degenerate resize");
        const double o = std::floor(static_cast<double>(x.shape[a]) * scale[a]);
        if (!(o <= 0x1p62)) return ctx.error("input ", i, ": scale ", scale[a], " gives no usable size");
        size[a] = from_sizes[i] ? out[a] : static_cast<int64_t>(o);
      }
      size[rank - 1] = x.shape[rank - 1];  // the concatenated axis keeps its own length
      for (size_t a = 0; a + 1 < rank; ++a)
        if (size[a] != out[a])
          return ctx.error("input ", i, " ", x.shape.to_string(), " resizes to ", Shape(size).to_string(),
                           ", the output is ", Shape(out).to_string());
      if (scale[rank - 1] != 1.0) return ctx.unsupported_error("input ", i, " is resized along the concatenated axis");
      Input& in = inputs_[i];
      in.tables = nearest_tables(x.shape, size, scale, ctm, nearest);
      in.strides = ref::strides_of(x.shape);
      in.offset = channels;
      in.channels = x.shape[rank - 1];
      channels += in.channels;
    }
    if (channels != out[rank - 1]) return ctx.error("inputs have ", channels, " values along the axis, output_shape ", out[rank - 1]);
    out_ = out;
    ctx.set_output(0, t, Shape(out));
    return Status::ok();
  }

  Status run(const RunContext& ctx) noexcept override {
    const size_t rank = out_.size(), last = rank - 2;  // `last`: the columns, walked by table
    const int64_t cols = out_[last];
    int64_t rows = 1;
    for (size_t a = 0; a < last; ++a) rows *= out_[a];
    const int64_t pixel = out_[rank - 1] * static_cast<int64_t>(esize_);  // output bytes per column
    char* y = static_cast<char*>(ctx.outputs[0].data);
    const bool par = rows > 1 && rows * cols * pixel >= kParallelBytes && omp_get_max_threads() > 1;
#pragma omp parallel for if (par) schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      char* dst_row = y + r * cols * pixel;
      for (size_t i = 0; i < inputs_.size(); ++i) {
        const Input& in = inputs_[i];
        int64_t off = 0, rest = r;
        for (size_t a = last; a-- > 0;) {
          off += in.tables[a][static_cast<size_t>(rest % out_[a])] * in.strides[a];
          rest /= out_[a];
        }
        const char* src = static_cast<const char*>(ctx.inputs[i].data) + off * static_cast<int64_t>(esize_);
        const std::vector<int64_t>& col = in.tables[last];
        const int64_t stride = in.strides[last] * static_cast<int64_t>(esize_);
        const size_t bytes = static_cast<size_t>(in.channels) * esize_;
        char* dst = dst_row + in.offset * static_cast<int64_t>(esize_);
        for (int64_t j = 0; j < cols; ++j)
          ref::copy_run(dst + j * pixel, src + col[static_cast<size_t>(j)] * stride, bytes);
      }
    }
    return Status::ok();
  }

 private:
  struct Input {
    std::vector<std::vector<int64_t>> tables;  // per axis (the last: unused)
    std::vector<int64_t> strides;              // elements
    int64_t offset = 0, channels = 0;          // where its values start along the axis, how many
  };
  std::vector<Input> inputs_;
  std::vector<int64_t> out_;
  size_t esize_ = 4;
};

#if defined(__AVX2__)
// acc[i, i + 8V) += the float sums of rows [r0, r1) of x (rows `inner` apart) over those
// channels, in V registers.
template <int V>
void add_block_sums(const float* x, int64_t inner, int64_t r0, int64_t r1, int64_t i, double* acc) {
  __m256 s[V];
  for (int v = 0; v < V; ++v) s[v] = _mm256_setzero_ps();
  for (int64_t r = r0; r < r1; ++r)
    for (int v = 0; v < V; ++v) s[v] = _mm256_add_ps(s[v], _mm256_loadu_ps(x + r * inner + i + 8 * v));
  alignas(32) float part[8 * V];
  for (int v = 0; v < V; ++v) _mm256_store_ps(part + 8 * v, s[v]);
  for (int j = 0; j < 8 * V; ++j) acc[i + j] += part[j];
}
#endif

// Mean over [outer, reduced, inner] views: ReduceMean with contiguous axes, GlobalAveragePool.
// Over channels (inner > 8) each block of kRowBlock rows is summed in float, 32 or 8 channels
// at a time in registers, and the block sums are added in double: the double adds of every row
// (a conversion and half-width vectors) made the detector's 160x160x96 mean 1.26 ms.
class MeanKernel final : public Kernel {
  static constexpr int64_t kRowBlock = 64;

 public:
  explicit MeanKernel(bool global_pool) : global_pool_(global_pool) {}

  Status prepare(PrepareContext& ctx) override {
    const TensorInfo& x = ctx.input(0);
    if (x.dtype != DType::f32 && x.dtype != DType::bf16) return ctx.unsupported_error("fast mean is f32 or bf16 only");
    bf16_ = x.dtype == DType::bf16;
    const int64_t rank = static_cast<int64_t>(x.shape.rank());
    std::vector<int64_t> axes;
    bool keepdims = true;
    if (global_pool_) {
      if (rank < 3) return ctx.error("input rank ", rank, ", expected at least 3");
      for (int64_t a = 2; a < rank; ++a) axes.push_back(a);
    } else {
      const ir::Node& n = ctx.node();
      EP_ASSIGN_OR_RETURN(int64_t kd, n.attr_int("keepdims", 1));
      keepdims = kd != 0;
      if (ctx.opset() < 18) {
        if (!n.has_attr("axes")) return ctx.unsupported_error("fast ReduceMean needs explicit axes");
        EP_ASSIGN_OR_RETURN(axes, n.attr_ints("axes"));
      } else {
        if (!ctx.has_input(1)) return ctx.unsupported_error("fast ReduceMean needs explicit axes");
        EP_ASSIGN_OR_RETURN(axes, ref::constant_ints(ctx, 1, "axes"));
      }
      for (int64_t& a : axes) {
        EP_ASSIGN_OR_RETURN(a, ctx.normalize_axis(a, rank, "axes"));
      }
      std::sort(axes.begin(), axes.end());
      if (axes.empty()) return ctx.unsupported_error("empty axes");
    }
    for (size_t i = 1; i < axes.size(); ++i)
      if (axes[i] != axes[i - 1] + 1) return ctx.unsupported_error("fast mean needs contiguous axes");
    outer_ = reduced_ = inner_ = 1;
    std::vector<int64_t> out;
    for (int64_t a = 0; a < rank; ++a) {
      const bool r = a >= axes.front() && a <= axes.back();
      (a < axes.front() ? outer_ : (r ? reduced_ : inner_)) *= x.shape[a];
      if (!r) out.push_back(x.shape[a]);
      else if (keepdims) out.push_back(1);
    }
    if (reduced_ == 0) return ctx.unsupported_error("empty reduction");
    // bf16: each block of rows is widened into scratch before it is summed (by each thread,
    // its own channels).
    ctx.request_scratch(static_cast<size_t>(inner_) * sizeof(double) +
                        (bf16_ ? static_cast<size_t>(kRowBlock * inner_) * sizeof(float) : 0));
    ctx.set_output(0, x.dtype, Shape(out));
    return Status::ok();
  }

  Status run(const RunContext& ctx) noexcept override {
    const void* x = ctx.inputs[0].data;
    void* y = ctx.outputs[0].data;
    double* acc = static_cast<double*>(ctx.scratch);
    float* wide = reinterpret_cast<float*>(acc + inner_);  // bf16: [kRowBlock][inner]
    const double inv = 1.0 / static_cast<double>(reduced_);
    const bool bf = bf16_;
    auto at = [x, bf](int64_t i) {
      return bf ? bf16_to_f32(static_cast<const uint16_t*>(x)[i]) : static_cast<const float*>(x)[i];
    };
    auto put = [y, bf](int64_t i, double v) {
      if (bf) static_cast<uint16_t*>(y)[i] = f32_to_bf16(static_cast<float>(v));
      else static_cast<float*>(y)[i] = static_cast<float>(v);
    };
    // Threads take channel ranges (multiples of 16): each channel is summed in the same order
    // whatever the thread count.
    const int64_t chunks = inner_ >= 32 && outer_ * reduced_ * inner_ * 4 >= kParallelBytes ? std::min<int64_t>(omp_get_max_threads(), inner_ / 16) : 1;
    for (int64_t o = 0; o < outer_; ++o) {
      const int64_t xo = o * reduced_ * inner_;
      if (inner_ == 1) {
        double s = 0;
        for (int64_t r = 0; r < reduced_; ++r) s += at(xo + r);
        put(o, s * inv);
        continue;
      }
      if (inner_ == 8) {  // a channel block of a blocked activation: sums in registers
        double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        if (bf) {
          for (int64_t r = 0; r < reduced_; ++r)
            for (int64_t i = 0; i < 8; ++i) s[i] += at(xo + r * 8 + i);
        } else {
          const float* xf = static_cast<const float*>(x) + xo;
          for (int64_t r = 0; r < reduced_; ++r)
#pragma omp simd
            for (int64_t i = 0; i < 8; ++i) s[i] += xf[r * 8 + i];
        }
        for (int64_t i = 0; i < 8; ++i) put(o * 8 + i, s[i] * inv);
        continue;
      }
#pragma omp parallel for if (chunks > 1) num_threads(chunks) schedule(static)
      for (int64_t c = 0; c < chunks; ++c) {
        const int64_t i0 = inner_ * c / chunks / 16 * 16, i1 = c + 1 == chunks ? inner_ : inner_ * (c + 1) / chunks / 16 * 16;
        for (int64_t i = i0; i < i1; ++i) acc[i] = 0;
        for (int64_t r0 = 0; r0 < reduced_; r0 += kRowBlock) {
          const int64_t r1 = std::min(reduced_, r0 + kRowBlock);
          // The block's rows as f32, rows `inner_` apart: the input itself, or its channels
          // [i0, i1) widened into `wide` (row r0 first).
          const float* rows = static_cast<const float*>(x) + xo;
          int64_t b0 = r0, b1 = r1;
          if (bf) {
            const uint16_t* xb = static_cast<const uint16_t*>(x) + xo;
            if (i0 == 0 && i1 == inner_)  // whole rows: the block is contiguous, one call
              bf16_to_f32_span(xb + r0 * inner_, wide, (r1 - r0) * inner_);
            else
              for (int64_t r = r0; r < r1; ++r)
                bf16_to_f32_span(xb + r * inner_ + i0, wide + (r - r0) * inner_ + i0, i1 - i0);
            rows = wide;
            b0 = 0;
            b1 = r1 - r0;
          }
          int64_t i = i0;
#if defined(__AVX2__)
          for (; i + 32 <= i1; i += 32) add_block_sums<4>(rows, inner_, b0, b1, i, acc);  // 4 chains of adds
          for (; i + 8 <= i1; i += 8) add_block_sums<1>(rows, inner_, b0, b1, i, acc);
#endif
          for (; i < i1; ++i) {
            float part = 0;
            for (int64_t r = b0; r < b1; ++r) part += rows[r * inner_ + i];
            acc[i] += part;
          }
        }
        for (int64_t i = i0; i < i1; ++i) put(o * inner_ + i, acc[i] * inv);
      }
    }
    return Status::ok();
  }

 private:
  bool global_pool_;
  bool bf16_ = false;  // bf16 input and output, summed in f32 / double as f32
  int64_t outer_ = 1, reduced_ = 1, inner_ = 1;
};

}  // namespace

bool resize_nearest_form(const ir::Node& n) {
  auto mode = n.attr_string("mode", std::string("nearest"));
  auto ctm = n.attr_string("coordinate_transformation_mode", std::string("half_pixel"));
  auto nearest = n.attr_string("nearest_mode", std::string("round_prefer_floor"));
  return mode.is_ok() && *mode == "nearest" && ctm.is_ok() && (*ctm == "asymmetric" || *ctm == "half_pixel") &&
         nearest.is_ok() &&
         (*nearest == "floor" || *nearest == "ceil" || *nearest == "round_prefer_ceil" ||
          *nearest == "round_prefer_floor") &&
         !n.has_attr("axes") && !n.has_attr("antialias") && !n.has_attr("keep_aspect_ratio_policy") &&
         !n.has_attr("exclude_outside");
}

std::unique_ptr<Kernel> make_resize() { return std::make_unique<ResizeNearest>(false); }
std::unique_ptr<Kernel> make_resize_add() { return std::make_unique<ResizeNearest>(true); }
std::unique_ptr<Kernel> make_resize_concat() { return std::make_unique<ResizeConcat>(); }
std::unique_ptr<Kernel> make_reduce_mean() { return std::make_unique<MeanKernel>(false); }
std::unique_ptr<Kernel> make_global_average_pool() { return std::make_unique<MeanKernel>(true); }

}  // namespace ep::kernels::cpu
