// edgepipe.FusedConvResizeAdd (see fused_conv.h): a FusedConv whose f32 output A only an
// edgepipe.ResizeAdd reads, as one node. The two parts are prepared as nodes of their own
// (detached copies with the split attributes, so every error names the part). Where
// PointwiseInt8 takes the convolution, the ResizeAdd runs in its epilogue and A is never
// written: the PP-OCRv4 INT8 detector's 12 -> 96 1x1 at 160x160 wrote 9.8 MB of f32 that the
// neck's ResizeAdd read back. Elsewhere the two parts run in turn, A in scratch.
#include <string_view>

#include "kernels/cpu/cpu_kernels.h"
#include "kernels/fused_conv.h"
#include "kernels/kernel_part.h"
#include "kernels/onednn/pointwise_int8.h"

namespace ep::kernels {
namespace {

class FusedConvResizeAddKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& ctx) override {
    const size_t n_in = ctx.num_inputs();
    if (n_in < 4 || n_in > 10 || !ctx.has_input(0) || !ctx.has_input(1) || !ctx.has_input(3))
      return ctx.error("takes X, W and B (optional) of the convolution, then ResizeAdd's X, roi, scales, sizes, "
                       "y_scale, y_zero_point and A_scale");
    if (ctx.num_outputs() != 1) return ctx.error("has one output, not ", ctx.num_outputs());
    static constexpr std::string_view kAdd[] = {"cpu"};
    EP_RETURN_IF_ERROR(parts_.prepare(ctx, "ResizeAdd", kResizeAttrPrefix, kAdd));
    fused_ = try_fused(ctx);
    impl_ = fused_ ? "edgepipe:pointwise_int8 + resize_add" : parts_.implementation("resize_add");
    if (fused_) parts_.drop();
    else parts_.plan(ctx);
    return Status::ok();
  }

  std::string implementation() const override { return impl_; }

  Status run(const RunContext& ctx) noexcept override {
    if (!fused_) return parts_.run(ctx);
    const float* a_scale = ctx.inputs.size() > 9 && ctx.inputs[9].data ? ctx.inputs[9].as<float>() : nullptr;
    pointwise_.run_resize_add(static_cast<const uint8_t*>(ctx.inputs[0].data), ctx.outputs[0].data,
                              ctx.inputs[3].as<float>(), a_scale);
    return Status::ok();
  }

 private:
  // PointwiseInt8 with the ResizeAdd in its epilogue, where it takes the convolution (constant
  // weights and bias, NHWC) and the resize only moves rows and columns of [N, H, W, C].
  bool try_fused(const PrepareContext& ctx) {
    const TensorInfo &w = ctx.input(1), &x = ctx.input(3);
    if (!w.constant || w.dtype != DType::i8 || (ctx.has_input(2) && (!ctx.input(2).constant || ctx.input(2).dtype != DType::f32)))
      return false;
    PrepareContext conv_ctx(parts_.conv.node, parts_.conv.inputs, ctx.num_threads());
    Result<FusedConvParams> p = prepare_fused_conv(conv_ctx);
    if (!p.is_ok() || !PointwiseInt8::supports(*p) || p->y_dtype != DType::f32 || x.dtype != DType::f32 ||
        x.shape.rank() != 4 || x.shape[0] != p->n || x.shape[3] != p->cout)
      return false;
    PrepareContext add_ctx(parts_.step.node, parts_.step.inputs, ctx.num_threads());
    auto tables = cpu::resize_nearest_tables(add_ctx, 1);
    if (!tables.is_ok() || tables->size() != 4) return false;
    const auto& t = *tables;
    const std::vector<int64_t> out = {static_cast<int64_t>(t[0].size()), static_cast<int64_t>(t[1].size()),
                                      static_cast<int64_t>(t[2].size()), static_cast<int64_t>(t[3].size())};
    if (out != std::vector<int64_t>{p->n, p->oh, p->ow, p->cout}) return false;
    for (size_t a : {size_t{0}, size_t{3}})
      for (int64_t i = 0; i < out[a]; ++i)
        if (t[a][static_cast<size_t>(i)] != i) return false;
    PointwiseInt8::ResizeAdd r;
    r.rows = t[1];
    r.cols = t[2];
    r.xh = x.shape[1];
    r.xw = x.shape[2];
    const size_t n_in = ctx.num_inputs();
    r.scaled = n_in > 9 && ctx.has_input(9);
    if (r.scaled && ctx.input(9).dtype != DType::f32) return false;
    r.quantized = n_in > 7 && ctx.has_input(7);
    if (r.quantized) {
      auto q = cpu::quantize_to(ctx, 7, 8);  // the ResizeAdd part's prepare checked them
      if (!q.is_ok()) return false;
      r.quant = *q;
    }
    pointwise_.prepare(*p, static_cast<const int8_t*>(w.constant->data()),
                       ctx.has_input(2) ? static_cast<const float*>(ctx.input(2).constant->data()) : nullptr);
    pointwise_.set_resize_add(std::move(r));
    return true;
  }

  ConvThenStep parts_;
  bool fused_ = false;
  PointwiseInt8 pointwise_;
  std::string impl_;
};

}  // namespace

std::unique_ptr<Kernel> make_fused_conv_resize_add() { return std::make_unique<FusedConvResizeAddKernel>(); }

}  // namespace ep::kernels
