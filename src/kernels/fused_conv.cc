#include "kernels/fused_conv.h"

#include <cmath>

namespace ep::kernels {

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

Result<FusedConvParams> prepare_fused_conv(PrepareContext& ctx) {
  const ir::Node& n = ctx.node();
  EP_RETURN_IF_ERROR(ctx.expect_inputs(2, 4));
  FusedConvParams p;
  EP_ASSIGN_OR_RETURN(std::string layout, n.attr_string("layout", std::string("NCHW")));
  if (layout != "NCHW" && layout != "NHWC") return ctx.error("layout '", layout, "' is not NCHW or NHWC");
  p.nhwc = layout == "NHWC";
  const TensorInfo& x = ctx.input(0);
  const TensorInfo& w = ctx.input(1);
  if (x.dtype != DType::f32 || w.dtype != DType::f32) return ctx.unsupported_error("only f32 is supported");
  if (x.shape.rank() != 4 || w.shape.rank() != 4)
    return ctx.error("input rank ", x.shape.rank(), " and weight rank ", w.shape.rank(), ", expected 4 and 4");
  p.n = x.shape[0];
  p.cin = p.nhwc ? x.shape[3] : x.shape[1];
  p.h = p.nhwc ? x.shape[1] : x.shape[2];
  p.w = p.nhwc ? x.shape[2] : x.shape[3];
  p.transposed = n.op_type == kFusedConvTransposeOp;
  p.kh = w.shape[2];
  p.kw = w.shape[3];
  EP_ASSIGN_OR_RETURN(p.group, n.attr_int("group", 1));
  if (p.group < 1) return ctx.error("group ", p.group, " is not positive");
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
  if (ctx.has_input(2)) {
    const TensorInfo& b = ctx.input(2);
    if (b.dtype != DType::f32 || b.shape.rank() != 1 || b.shape[0] != p.cout)
      return ctx.error("bias shape ", b.shape.to_string(), ", expected ", p.cout);
  }
  const Shape y = p.nhwc ? Shape{p.n, p.oh, p.ow, p.cout} : Shape{p.n, p.cout, p.oh, p.ow};
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
  if (residual && (ctx.input(3).dtype != DType::f32 || ctx.input(3).shape != y))
    return ctx.error("residual shape ", ctx.input(3).shape.to_string(), ", expected ", y.to_string());
  ctx.set_output(0, DType::f32, y);
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
    const float* x = ctx.inputs[0].as<float>();
    const float* w = ctx.inputs[1].as<float>();
    const float* b = ctx.inputs.size() > 2 && ctx.inputs[2].data ? ctx.inputs[2].as<float>() : nullptr;
    const float* r = ctx.inputs.size() > 3 && ctx.inputs[3].data ? ctx.inputs[3].as<float>() : nullptr;
    float* y = ctx.outputs[0].as<float>();
    const FusedConvParams& p = p_;
    const int64_t cin_g = p.cin / p.group, cout_g = p.cout / p.group;
    auto xi = [&](int64_t n, int64_t c, int64_t h, int64_t w_) {
      return p.nhwc ? ((n * p.h + h) * p.w + w_) * p.cin + c : ((n * p.cin + c) * p.h + h) * p.w + w_;
    };
    auto yi = [&](int64_t n, int64_t c, int64_t h, int64_t w_) {
      return p.nhwc ? ((n * p.oh + h) * p.ow + w_) * p.cout + c : ((n * p.cout + c) * p.oh + h) * p.ow + w_;
    };
    for (int64_t n = 0; n < p.n; ++n)
      for (int64_t oc = 0; oc < p.cout; ++oc) {
        const int64_t g = oc / cout_g;
        for (int64_t oh = 0; oh < p.oh; ++oh)
          for (int64_t ow = 0; ow < p.ow; ++ow) {
            double acc = b ? b[oc] : 0.0;
            if (p.transposed) {
              acc += transposed_sum(x, w, n, g, oc % cout_g, oh, ow, xi);
            } else
            for (int64_t ic = 0; ic < cin_g; ++ic)
              for (int64_t ky = 0; ky < p.kh; ++ky) {
                const int64_t ih = oh * p.stride[0] - p.pad_begin[0] + ky * p.dilation[0];
                if (ih < 0 || ih >= p.h) continue;
                for (int64_t kx = 0; kx < p.kw; ++kx) {
                  const int64_t iw = ow * p.stride[1] - p.pad_begin[1] + kx * p.dilation[1];
                  if (iw < 0 || iw >= p.w) continue;
                  acc += static_cast<double>(x[xi(n, g * cin_g + ic, ih, iw)]) *
                         w[((oc * cin_g + ic) * p.kh + ky) * p.kw + kx];
                }
              }
            const int64_t o = yi(n, oc, oh, ow);
            float v = static_cast<float>(acc);
            for (const PostOp& op : p.post_ops) v = apply_post_op(op, v, r ? r[o] : 0.f);
            y[o] = v;
          }
      }
    return Status::ok();
  }

 private:
  // Deconvolution as a gather: the inputs whose scatter reaches output (oh, ow).
  template <typename Index>
  double transposed_sum(const float* x, const float* w, int64_t n, int64_t g, int64_t ocg, int64_t oh, int64_t ow,
                        Index xi) const {
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
          acc += static_cast<double>(x[xi(n, c, ty / p.stride[0], tx / p.stride[1])]) *
                 w[((c * cout_g + ocg) * p.kh + ky) * p.kw + kx];
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
