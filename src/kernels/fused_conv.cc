#include "kernels/fused_conv.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace ep::kernels {

bool has_post_op(const std::vector<PostOp>& ops, PostOpKind kind) {
  return std::any_of(ops.begin(), ops.end(), [kind](const PostOp& o) { return o.kind == kind; });
}

bool has_exp_post_op(const std::vector<PostOp>& ops) {
  return has_post_op(ops, PostOpKind::swish) || has_post_op(ops, PostOpKind::sigmoid);
}

bool has_slow_avx2_post_op(const std::vector<PostOp>& ops) {
  return has_exp_post_op(ops) || has_post_op(ops, PostOpKind::hard_swish);
}

float apply_post_op(const PostOp& op, float x, float r) {
  switch (op.kind) {
    case PostOpKind::relu: return x > 0 ? x : 0;
    case PostOpKind::clip: return std::min(std::max(x, op.a), op.b);
    case PostOpKind::linear: return op.a * x + op.b;
    case PostOpKind::hard_swish: return x * std::min(std::max(x + 3.f, 0.f), 6.f) / 6.f;
    case PostOpKind::sigmoid: return 1.f / (1.f + std::exp(-x));
    case PostOpKind::swish: return x / (1.f + std::exp(-x));
    case PostOpKind::residual: return x + r;
  }
  return x;
}

bool int8_nhwc_u8_form(const FusedConvParams& p) {
  return p.precision == ConvPrecision::int8 && p.x_dtype == DType::u8 && !p.transposed && p.nhwc && p.block == 0 &&
         !has_post_op(p.post_ops, PostOpKind::residual) &&
         (p.y_dtype == DType::u8 || p.y_dtype == DType::i8 || p.y_dtype == DType::f32) &&
         (p.w_scales.size() == 1 || static_cast<int64_t>(p.w_scales.size()) == p.cout);
}

int32_t quantize_value(float x, float scale, int32_t zero, DType dtype) {
  const float q = std::nearbyint(x / scale) + static_cast<float>(zero);
  const float lo = dtype == DType::u8 ? 0.f : -128.f, hi = dtype == DType::u8 ? 255.f : 127.f;
  return static_cast<int32_t>(std::min(std::max(q, lo), hi));
}

namespace {

Result<DType> dtype_attr(const PrepareContext& ctx, const char* name) {
  EP_ASSIGN_OR_RETURN(std::string s, ctx.node().attr_string(name, std::string("f32")));
  if (s == "f32") return DType::f32;
  if (s == "bf16") return DType::bf16;
  if (s == "u8") return DType::u8;
  if (s == "i8") return DType::i8;
  return ctx.error(name, " '", s, "' is not f32, bf16, u8 or i8");
}

// Reads and checks the precision attributes and the dtypes they allow.
Status prepare_precision(PrepareContext& ctx, FusedConvParams& p) {
  const ir::Node& n = ctx.node();
  EP_ASSIGN_OR_RETURN(std::string prec, n.attr_string("precision", std::string("f32")));
  EP_ASSIGN_OR_RETURN(p.y_dtype, dtype_attr(ctx, "output_dtype"));
  p.x_dtype = ctx.input(0).dtype;
  const DType w = ctx.input(1).dtype;
  auto one_of = [](DType d, std::initializer_list<DType> l) { return std::find(l.begin(), l.end(), d) != l.end(); };
  if (prec == "f32") {
    p.precision = ConvPrecision::f32;
    if (p.x_dtype != DType::f32 || w != DType::f32 || p.y_dtype != DType::f32)
      return ctx.unsupported_error("precision f32 needs f32 input, weights and output");
  } else if (prec == "bf16") {
    p.precision = ConvPrecision::bf16;
    if (!one_of(p.x_dtype, {DType::f32, DType::bf16}) || w != DType::f32 || !one_of(p.y_dtype, {DType::f32, DType::bf16}))
      return ctx.unsupported_error("precision bf16 needs f32/bf16 input and output and f32 weights");
  } else if (prec == "int8") {
    p.precision = ConvPrecision::int8;
    if (!one_of(p.x_dtype, {DType::u8, DType::i8}) || w != DType::i8 || !one_of(p.y_dtype, {DType::u8, DType::i8, DType::f32}))
      return ctx.unsupported_error("precision int8 needs u8/i8 input, i8 weights and u8/i8/f32 output");
    EP_ASSIGN_OR_RETURN(p.x_scale, n.attr_float("x_scale"));
    EP_ASSIGN_OR_RETURN(int64_t xz, n.attr_int("x_zero_point", 0));
    EP_ASSIGN_OR_RETURN(p.y_scale, n.attr_float("y_scale", 1.f));
    EP_ASSIGN_OR_RETURN(int64_t yz, n.attr_int("y_zero_point", 0));
    EP_ASSIGN_OR_RETURN(p.w_scales, n.attr_floats("w_scales"));
    const auto in_range = [](int64_t z, DType d) { return d == DType::u8 ? z >= 0 && z <= 255 : z >= -128 && z <= 127; };
    if (!in_range(xz, p.x_dtype) || (p.y_dtype != DType::f32 && !in_range(yz, p.y_dtype)))
      return ctx.error("zero point out of the range of its type");
    p.x_zero = static_cast<int32_t>(xz);
    p.y_zero = static_cast<int32_t>(yz);
    if (p.w_scales.size() == 1) p.w_scales.assign(static_cast<size_t>(p.cout), p.w_scales[0]);
    if (static_cast<int64_t>(p.w_scales.size()) != p.cout) return ctx.error("w_scales needs 1 or ", p.cout, " values");
    // Weight scales may carry a folded BatchNormalization's sign.
    auto bad = [](float s) { return !(s > 0.f) || !std::isfinite(s); };
    if (bad(p.x_scale) || bad(p.y_scale) || std::any_of(p.w_scales.begin(), p.w_scales.end(), [](float s) { return !std::isfinite(s); }))
      return ctx.error("x_scale and y_scale must be positive and finite, w_scales finite");
  } else {
    return ctx.error("precision '", prec, "' is not f32, bf16 or int8");
  }
  return Status::ok();
}

}  // namespace

Result<FusedConvParams> prepare_fused_conv(PrepareContext& ctx) {
  const ir::Node& n = ctx.node();
  EP_RETURN_IF_ERROR(ctx.expect_inputs(2, 4));
  FusedConvParams p;
  EP_ASSIGN_OR_RETURN(std::string layout, n.attr_string("layout", std::string("NCHW")));
  if (layout != "NCHW" && layout != "NHWC" && layout != "NCHW8c")
    return ctx.error("layout '", layout, "' is not NCHW, NHWC or NCHW8c");
  p.nhwc = layout == "NHWC";
  p.block = layout == "NCHW8c" ? 8 : 0;
  const TensorInfo& x = ctx.input(0);
  const TensorInfo& w = ctx.input(1);
  const size_t x_rank = p.block ? 5 : 4;
  if (x.shape.rank() != x_rank || w.shape.rank() != 4)
    return ctx.error("input rank ", x.shape.rank(), " and weight rank ", w.shape.rank(), ", expected ", x_rank, " and 4");
  if (p.block && x.shape[4] != p.block) return ctx.error("layout ", layout, " needs an input [N, C/8, H, W, 8], got ", x.shape.to_string());
  p.n = x.shape[0];
  // NCHW8c: the channels past C in the last block are padding; C comes from the weights.
  p.cin = p.block ? 0 : p.nhwc ? x.shape[3] : x.shape[1];
  p.h = p.nhwc ? x.shape[1] : x.shape[2];
  p.w = p.nhwc ? x.shape[2] : x.shape[3];
  p.transposed = n.op_type == kFusedConvTransposeOp;
  if (p.block && p.transposed) return ctx.unsupported_error("FusedConvTranspose has no NCHW8c layout");
  p.kh = w.shape[2];
  p.kw = w.shape[3];
  EP_ASSIGN_OR_RETURN(p.group, n.attr_int("group", 1));
  if (p.group < 1) return ctx.error("group ", p.group, " is not positive");
  if (p.block) p.cin = w.shape[1] * p.group;
  p.cout = p.transposed ? w.shape[1] * p.group : w.shape[0];
  const bool fits = p.transposed ? w.shape[0] == p.cin && p.cin % p.group == 0
                                 : p.cin % p.group == 0 && p.cout % p.group == 0 && w.shape[1] * p.group == p.cin;
  if (!fits) return ctx.error("group ", p.group, " does not fit input channels ", p.cin, " and weight ", w.shape.to_string());
  EP_ASSIGN_OR_RETURN(std::vector<int64_t> strides, n.attr_ints("strides", std::vector<int64_t>{1, 1}));
  EP_ASSIGN_OR_RETURN(std::vector<int64_t> dil, n.attr_ints("dilations", std::vector<int64_t>{1, 1}));
  EP_ASSIGN_OR_RETURN(std::vector<int64_t> pads, n.attr_ints("pads", std::vector<int64_t>{0, 0, 0, 0}));
  if (strides.size() != 2 || dil.size() != 2 || pads.size() != 4) return ctx.error("strides, dilations or pads has the wrong length");
  for (int i = 0; i < 2; ++i) {
    p.stride[i] = strides[i];
    p.dilation[i] = dil[i];
    p.pad_begin[i] = pads[i];
    p.pad_end[i] = pads[i + 2];
    if (p.stride[i] < 1 || p.dilation[i] < 1 || p.pad_begin[i] < 0 || p.pad_end[i] < 0)
      return ctx.error("strides and dilations must be >= 1 and pads >= 0");
  }
  const int64_t ekh = (p.kh - 1) * p.dilation[0] + 1, ekw = (p.kw - 1) * p.dilation[1] + 1;
  if (p.transposed) {
    p.oh = (p.h - 1) * p.stride[0] + ekh - p.pad_begin[0] - p.pad_end[0];
    p.ow = (p.w - 1) * p.stride[1] + ekw - p.pad_begin[1] - p.pad_end[1];
  } else {
    p.oh = (p.h + p.pad_begin[0] + p.pad_end[0] - ekh) / p.stride[0] + 1;
    p.ow = (p.w + p.pad_begin[1] + p.pad_end[1] - ekw) / p.stride[1] + 1;
  }
  if (p.oh < 1 || p.ow < 1) return ctx.error("the kernel is larger than the padded input");
  if (p.block && x.shape[1] != (p.cin + p.block - 1) / p.block)
    return ctx.error("input ", x.shape.to_string(), " does not hold the weights' ", p.cin, " channels in blocks of ", p.block);
  EP_RETURN_IF_ERROR(prepare_precision(ctx, p));
  if (ctx.has_input(2)) {
    const TensorInfo& b = ctx.input(2);
    if (b.dtype != DType::f32 || b.shape.rank() != 1 || b.shape[0] != p.cout)
      return ctx.error("bias shape ", b.shape.to_string(), ", expected ", p.cout);
  }
  const Shape y = p.block   ? Shape{p.n, (p.cout + p.block - 1) / p.block, p.oh, p.ow, p.block}
                  : p.nhwc ? Shape{p.n, p.oh, p.ow, p.cout}
                           : Shape{p.n, p.cout, p.oh, p.ow};
  EP_ASSIGN_OR_RETURN(std::vector<int64_t> kinds, n.attr_ints("post_ops", std::vector<int64_t>{}));
  EP_ASSIGN_OR_RETURN(std::vector<float> params, n.attr_floats("post_op_params", std::vector<float>{}));
  if (params.size() != 2 * kinds.size()) return ctx.error("post_op_params must hold two values per post-op");
  bool residual = false;
  for (size_t i = 0; i < kinds.size(); ++i) {
    if (kinds[i] < 1 || kinds[i] > 7) return ctx.error("unknown post-op kind ", kinds[i]);
    p.post_ops.push_back(PostOp{static_cast<PostOpKind>(kinds[i]), params[2 * i], params[2 * i + 1]});
    if (p.post_ops.back().kind == PostOpKind::residual) {
      if (residual) return ctx.error("at most one residual post-op");
      residual = true;
    }
  }
  if (residual != ctx.has_input(3)) return ctx.error("a residual post-op needs exactly the fourth input");
  if (residual) {
    p.r_dtype = ctx.input(3).dtype;
    const bool r_ok = p.r_dtype == DType::f32 || (p.precision == ConvPrecision::bf16 && p.r_dtype == DType::bf16);
    if (!r_ok || ctx.input(3).shape != y)
      return ctx.error("residual ", dtype_name(p.r_dtype), " ", ctx.input(3).shape.to_string(), ", expected ", y.to_string());
  }
  ctx.set_output(0, p.y_dtype, y);
  if (p.block && p.h == 1 && p.w == 1 && p.oh == 1 && p.ow == 1 && p.cin % p.block == 0 &&
      p.cout % p.block == 0) {  // the same bytes as NHWC
    p.block = 0;
    p.nhwc = true;
  }
  return p;
}

namespace {

// Direct convolution loops: slow and obviously right.
class RefFusedConv final : public Kernel {
 public:
  Status prepare(PrepareContext& ctx) override {
    EP_ASSIGN_OR_RETURN(p_, prepare_fused_conv(ctx));
    return Status::ok();
  }

  Status run(const RunContext& ctx) noexcept override {
    const void* x = ctx.inputs[0].data;
    const void* w = ctx.inputs[1].data;
    const float* b = ctx.inputs.size() > 2 && ctx.inputs[2].data ? ctx.inputs[2].as<float>() : nullptr;
    const void* r = ctx.inputs.size() > 3 ? ctx.inputs[3].data : nullptr;
    void* y = ctx.outputs[0].data;
    const FusedConvParams& p = p_;
    const int64_t cin_g = p.cin / p.group, cout_g = p.cout / p.group;
    const int64_t B = p.block;  // NCHW8c: [N, C/B, H, W, B]
    auto xi = [&](int64_t n, int64_t c, int64_t h, int64_t w_) {
      if (B) return ((((n * ((p.cin + B - 1) / B) + c / B) * p.h + h) * p.w + w_) * B) + c % B;
      return p.nhwc ? ((n * p.h + h) * p.w + w_) * p.cin + c : ((n * p.cin + c) * p.h + h) * p.w + w_;
    };
    auto yi = [&](int64_t n, int64_t c, int64_t h, int64_t w_) {
      if (B) return ((((n * ((p.cout + B - 1) / B) + c / B) * p.oh + h) * p.ow + w_) * B) + c % B;
      return p.nhwc ? ((n * p.oh + h) * p.ow + w_) * p.cout + c : ((n * p.cout + c) * p.oh + h) * p.ow + w_;
    };
    const Values v{p, x, w, r};
    for (int64_t n = 0; n < p.n; ++n)
      for (int64_t oc = 0; oc < p.cout; ++oc) {
        const int64_t g = oc / cout_g;
        for (int64_t oh = 0; oh < p.oh; ++oh)
          for (int64_t ow = 0; ow < p.ow; ++ow) {
            double acc = b ? b[oc] : 0.0;
            if (p.transposed) {
              acc += transposed_sum(v, n, g, oc % cout_g, oh, ow, xi);
            } else
            for (int64_t ic = 0; ic < cin_g; ++ic)
              for (int64_t ky = 0; ky < p.kh; ++ky) {
                const int64_t ih = oh * p.stride[0] - p.pad_begin[0] + ky * p.dilation[0];
                if (ih < 0 || ih >= p.h) continue;
                for (int64_t kx = 0; kx < p.kw; ++kx) {
                  const int64_t iw = ow * p.stride[1] - p.pad_begin[1] + kx * p.dilation[1];
                  if (iw < 0 || iw >= p.w) continue;
                  acc += static_cast<double>(v.x(xi(n, g * cin_g + ic, ih, iw))) *
                         v.w(((oc * cin_g + ic) * p.kh + ky) * p.kw + kx, oc);
                }
              }
            const int64_t o = yi(n, oc, oh, ow);
            float val = static_cast<float>(acc);
            for (const PostOp& op : p.post_ops) val = apply_post_op(op, val, r ? v.r(o) : 0.f);
            v.store(y, o, val);
          }
      }
    if (B && p.cout % B)  // NCHW8c: the last block's padding lanes hold zeros
      for (int64_t n = 0; n < p.n; ++n)
        for (int64_t oc = p.cout; oc < (p.cout + B - 1) / B * B; ++oc)
          for (int64_t oh = 0; oh < p.oh; ++oh)
            for (int64_t ow = 0; ow < p.ow; ++ow) v.store(y, yi(n, oc, oh, ow), 0.f);
    return Status::ok();
  }

 private:
  // Element access by precision: what the fast kernels compute, written plainly.
  struct Values {
    const FusedConvParams& p;
    const void* x_;
    const void* w_;
    const void* r_;
    static float round_bf16(float f) { return bf16_to_f32(f32_to_bf16(f)); }
    float x(int64_t i) const {
      switch (p.x_dtype) {
        case DType::bf16: return bf16_to_f32(static_cast<const uint16_t*>(x_)[i]);
        case DType::u8: return static_cast<float>(static_cast<const uint8_t*>(x_)[i] - p.x_zero) * p.x_scale;
        case DType::i8: return static_cast<float>(static_cast<const int8_t*>(x_)[i] - p.x_zero) * p.x_scale;
        default: {
          const float f = static_cast<const float*>(x_)[i];
          return p.precision == ConvPrecision::bf16 ? round_bf16(f) : f;
        }
      }
    }
    float w(int64_t i, int64_t oc) const {
      if (p.precision == ConvPrecision::int8) return static_cast<float>(static_cast<const int8_t*>(w_)[i]) * p.w_scales[oc];
      const float f = static_cast<const float*>(w_)[i];
      return p.precision == ConvPrecision::bf16 ? round_bf16(f) : f;
    }
    float r(int64_t i) const {
      return p.r_dtype == DType::bf16 ? bf16_to_f32(static_cast<const uint16_t*>(r_)[i]) : static_cast<const float*>(r_)[i];
    }
    void store(void* y, int64_t i, float f) const {
      switch (p.y_dtype) {
        case DType::bf16: static_cast<uint16_t*>(y)[i] = f32_to_bf16(f); break;
        case DType::u8: static_cast<uint8_t*>(y)[i] = static_cast<uint8_t>(quantize_value(f, p.y_scale, p.y_zero, DType::u8)); break;
        case DType::i8: static_cast<int8_t*>(y)[i] = static_cast<int8_t>(quantize_value(f, p.y_scale, p.y_zero, DType::i8)); break;
        default: static_cast<float*>(y)[i] = f;
      }
    }
  };

  // Deconvolution as a gather: the inputs whose scatter reaches output (oh, ow).
  template <typename Index>
  double transposed_sum(const Values& v, int64_t n, int64_t g, int64_t ocg, int64_t oh, int64_t ow, Index xi) const {
    const FusedConvParams& p = p_;
    const int64_t cin_g = p.cin / p.group, cout_g = p.cout / p.group;
    double acc = 0;
    for (int64_t ky = 0; ky < p.kh; ++ky) {
      const int64_t ty = oh + p.pad_begin[0] - ky * p.dilation[0];
      if (ty < 0 || ty % p.stride[0] != 0 || ty / p.stride[0] >= p.h) continue;
      for (int64_t kx = 0; kx < p.kw; ++kx) {
        const int64_t tx = ow + p.pad_begin[1] - kx * p.dilation[1];
        if (tx < 0 || tx % p.stride[1] != 0 || tx / p.stride[1] >= p.w) continue;
        for (int64_t ic = 0; ic < cin_g; ++ic) {
          const int64_t c = g * cin_g + ic;
          acc += static_cast<double>(v.x(xi(n, c, ty / p.stride[0], tx / p.stride[1]))) *
                 v.w(((c * cout_g + ocg) * p.kh + ky) * p.kw + kx, g * cout_g + ocg);
        }
      }
    }
    return acc;
  }

  FusedConvParams p_;
};

}  // namespace

std::unique_ptr<Kernel> make_ref_fused_conv() { return std::make_unique<RefFusedConv>(); }

}  // namespace ep::kernels
