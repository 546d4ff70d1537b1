// edgepipe.FusedConvScaleAdd (see fused_conv.h): a FusedConv with an f32 output A that only
// a quantized edgepipe.ScaleAdd reads (and spatial means, which the pass took from A's
// input), as one node. The two parts are prepared as nodes of their own (detached copies,
// so every error names the part). Where WinogradInt16 or NarrowInt8Conv takes the convolution,
// the ScaleAdd and its quantizer run in its store and A is never written: the PP-OCRv4 INT8
// detector's RSE neck layers (at 160x160: 2.4 MB of f32 that a mean and the ScaleAdd read back).
// Elsewhere the two parts run in turn, A in scratch.
#include <string_view>

#include "kernels/cpu/quantize.h"
#include "kernels/fused_conv.h"
#include "kernels/kernel_part.h"
#include "kernels/onednn/narrow_int8_conv.h"
#include "kernels/onednn/winograd_int16.h"

namespace ep::kernels {
namespace {

class FusedConvScaleAddKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& ctx) override {
    const size_t n_in = ctx.num_inputs();
    if (n_in < 5 || n_in > 6 || !ctx.has_input(0) || !ctx.has_input(1) || !ctx.has_input(3) || !ctx.has_input(4))
      return ctx.error("takes X, W and B (optional) of the convolution, then ScaleAdd's s, y_scale and y_zero_point "
                       "(optional)");
    if (ctx.num_outputs() != 1) return ctx.error("has one output, not ", ctx.num_outputs());
    static constexpr std::string_view kAdd[] = {"ref"};
    EP_RETURN_IF_ERROR(parts_.prepare(ctx, "ScaleAdd", "", kAdd));
    if (try_fused(ctx)) {
      parts_.drop();
    } else {
      impl_ = parts_.implementation("scale_add");
      parts_.plan(ctx);
    }
    return Status::ok();
  }

  std::string implementation() const override { return impl_; }

  Status run(const RunContext& ctx) noexcept override {
    if (fused_ == Fused::none) return parts_.run(ctx);
    const auto* x = static_cast<const uint8_t*>(ctx.inputs[0].data);
    if (fused_ == Fused::winograd) winograd_.run(x, ctx.outputs[0].data, ctx.scratch, ctx.inputs[3].as<float>());
    else narrow_.run(x, ctx.outputs[0].data, ctx.scratch, ctx.inputs[3].as<float>());
    return Status::ok();
  }

 private:
  // WinogradInt16 or NarrowInt8Conv with the ScaleAdd in its store, where the convolution is
  // one FusedConv would run on it (constant int8 weights, an f32 bias) without post-ops
  // (FusedConv merges adjacent affine ones first) and s has one value per output channel.
  bool try_fused(PrepareContext& ctx) {
    const TensorInfo &w = ctx.input(1), &s = ctx.input(3);
    auto algo = ctx.node().attr_string("algorithm", std::string("auto"));
    if (!algo.is_ok() || *algo != "auto" || !w.constant || w.dtype != DType::i8 ||
        (ctx.has_input(2) && (!ctx.input(2).constant || ctx.input(2).dtype != DType::f32)))
      return false;
    PrepareContext conv_ctx(parts_.conv.node, parts_.conv.inputs, ctx.num_threads());
    Result<FusedConvParams> p = prepare_fused_conv(conv_ctx);
    if (!p.is_ok() || p->y_dtype != DType::f32 || !p->post_ops.empty() || s.dtype != DType::f32 ||
        s.shape.numel() != p->cout)
      return false;
    auto q = cpu::quantize_to(ctx, 4, 5);  // the ScaleAdd part's prepare checked them
    if (!q.is_ok()) return false;
    const auto* wd = static_cast<const int8_t*>(w.constant->data());
    const float* bd = ctx.has_input(2) ? static_cast<const float*>(ctx.input(2).constant->data()) : nullptr;
    // As FusedConv picks them (oneDNN takes a convolution without post-ops).
    const NarrowInt8Choice kernel = narrow_int8_choice(*p, true);
    if (kernel == NarrowInt8Choice::winograd_int16) {
      ctx.request_scratch(winograd_.prepare(*p, wd, bd));
      winograd_.set_scale_add(*q);
      fused_ = Fused::winograd;
      impl_ = "edgepipe:winograd_int16 + scale_add";
    } else if (kernel == NarrowInt8Choice::narrow_int8) {
      ctx.request_scratch(narrow_.prepare(*p, wd, bd));
      narrow_.set_scale_add(*q);
      fused_ = Fused::narrow;
      impl_ = "edgepipe:narrow_int8 + scale_add";
    } else {
      return false;
    }
    return true;
  }

  ConvThenStep parts_;
  enum class Fused { none, winograd, narrow } fused_ = Fused::none;
  WinogradInt16 winograd_;
  NarrowInt8Conv narrow_;
  std::string impl_;
};

}  // namespace

std::unique_ptr<Kernel> make_fused_conv_scale_add() { return std::make_unique<FusedConvScaleAddKernel>(); }

}  // namespace ep::kernels
