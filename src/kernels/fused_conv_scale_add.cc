// edgepipe.FusedConvScaleAdd (see fused_conv.h): a FusedConv with an f32 output A that only
// a quantized edgepipe.ScaleAdd reads (and spatial means, which the pass took from A's
// input), as one node. The two parts are prepared as nodes of their own (detached copies,
// so every error names the part). Where WinogradInt16 or NarrowInt8Conv takes the convolution,
// the ScaleAdd and its quantizer run in its store and A is never written: the PP-OCRv4 INT8
// detector's RSE neck layers (at 160x160: 2.4 MB of f32 that a mean and the ScaleAdd read back).
// Elsewhere the two parts run in turn, A in scratch.
#include <string_view>

#include "edgepipe/arena.h"
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
    split(ctx.node());
    conv_.inputs = {ctx.input(0), ctx.input(1), ctx.has_input(2) ? ctx.input(2) : TensorInfo{}};
    static constexpr std::string_view kConv[] = {"onednn", "cpu", "ref"}, kAdd[] = {"ref"};
    EP_RETURN_IF_ERROR(prepare_kernel_part(conv_, ctx.num_threads(), kConv));
    if (conv_.output.dtype != DType::f32) return ctx.error("the convolution's output must be f32");
    mid_.dtype = conv_.output.dtype;
    mid_.shape = conv_.output.shape;
    add_.inputs = {conv_.output};
    for (size_t i = 3; i < n_in; ++i) add_.inputs.push_back(ctx.has_input(i) ? ctx.input(i) : TensorInfo{});
    EP_RETURN_IF_ERROR(prepare_kernel_part(add_, ctx.num_threads(), kAdd));
    ctx.set_output(0, add_.output.dtype, add_.output.shape);
    if (try_fused(ctx)) return Status::ok();
    impl_ = conv_.kernel->implementation() + (conv_.kernel->implementation().empty() ? "" : ", then ") + "scale_add";
    for (size_t i = 0; i < 3; ++i) conv_in_[i] = TensorView{conv_.inputs[i].dtype, conv_.inputs[i].shape, nullptr};
    add_in_.assign(add_.inputs.size(), TensorView{});
    for (size_t i = 0; i < add_.inputs.size(); ++i)
      add_in_[i] = TensorView{add_.inputs[i].dtype, add_.inputs[i].shape, nullptr};
    mid_view_[0] = TensorView{mid_.dtype, mid_.shape, nullptr};
    mid_bytes_ = arena_align(static_cast<size_t>(mid_.shape.numel()) * dtype_size(mid_.dtype));
    ctx.request_scratch(mid_bytes_ + std::max(conv_.scratch, add_.scratch));
    return Status::ok();
  }

  std::string implementation() const override { return impl_; }

  Status run(const RunContext& ctx) noexcept override {
    if (fused_ != Fused::none) {
      const auto* x = static_cast<const uint8_t*>(ctx.inputs[0].data);
      if (fused_ == Fused::winograd) winograd_.run(x, ctx.outputs[0].data, ctx.scratch, ctx.inputs[3].as<float>());
      else narrow_.run(x, ctx.outputs[0].data, ctx.scratch, ctx.inputs[3].as<float>());
      return Status::ok();
    }
    char* scratch = static_cast<char*>(ctx.scratch);
    for (size_t i = 0; i < 3; ++i) conv_in_[i].data = i < ctx.inputs.size() ? ctx.inputs[i].data : nullptr;
    mid_view_[0].data = scratch;
    add_in_[0].data = scratch;
    for (size_t i = 1; i < add_in_.size(); ++i) add_in_[i].data = i + 2 < ctx.inputs.size() ? ctx.inputs[i + 2].data : nullptr;
    EP_RETURN_IF_ERROR(conv_.kernel->run(RunContext{conv_in_, mid_view_, scratch + mid_bytes_}));
    return add_.kernel->run(RunContext{add_in_, ctx.outputs, scratch + mid_bytes_});
  }

 private:
  // The convolution reads X, W, B and writes mid_; the ScaleAdd reads mid_ and inputs 3 on.
  void split(const ir::Node& n) {
    conv_.node.name = n.name + "/conv";
    add_.node.name = n.name + "/scale_add";
    mid_.name = n.name + "/conv_output";
    conv_.node.op_type = kFusedConvOp;
    add_.node.op_type = "ScaleAdd";
    for (ir::Node* p : {&conv_.node, &add_.node}) {
      p->domain = kFusedConvDomain;
      p->opset = 1;
    }
    conv_.node.inputs = {n.input(0), n.input(1), n.input(2)};
    conv_.node.outputs = {&mid_};
    conv_.node.attrs = n.attrs;
    add_.node.inputs = {&mid_};
    for (size_t i = 3; i < n.inputs.size(); ++i) add_.node.inputs.push_back(n.inputs[i]);
    add_.node.outputs = {n.output(0)};
  }

  // WinogradInt16 or NarrowInt8Conv with the ScaleAdd in its store, where the convolution is
  // one FusedConv would run on it (constant int8 weights, an f32 bias) without post-ops
  // (FusedConv merges adjacent affine ones first) and s has one value per output channel.
  bool try_fused(PrepareContext& ctx) {
    const TensorInfo &w = ctx.input(1), &s = ctx.input(3);
    auto algo = ctx.node().attr_string("algorithm", std::string("auto"));
    if (!algo.is_ok() || *algo != "auto" || !w.constant || w.dtype != DType::i8 ||
        (ctx.has_input(2) && (!ctx.input(2).constant || ctx.input(2).dtype != DType::f32)))
      return false;
    PrepareContext conv_ctx(conv_.node, conv_.inputs, ctx.num_threads());
    Result<FusedConvParams> p = prepare_fused_conv(conv_ctx);
    if (!p.is_ok() || p->y_dtype != DType::f32 || !p->post_ops.empty() || s.dtype != DType::f32 ||
        s.shape.numel() != p->cout)
      return false;
    auto q = cpu::quantize_to(ctx, 4, 5);  // the ScaleAdd part's prepare checked them
    if (!q.is_ok()) return false;
    const auto* wd = static_cast<const int8_t*>(w.constant->data());
    const float* bd = ctx.has_input(2) ? static_cast<const float*>(ctx.input(2).constant->data()) : nullptr;
    // As FusedConv picks them (onednn/fused_conv.cc): WinogradInt16 where it gains, else
    // NarrowInt8Conv.
    if (WinogradInt16::gains(*p)) {
      ctx.request_scratch(winograd_.prepare(*p, wd, bd));
      winograd_.set_scale_add(*q);
      fused_ = Fused::winograd;
      impl_ = "edgepipe:winograd_int16 + scale_add";
    } else if (NarrowInt8Conv::supports(*p)) {
      ctx.request_scratch(narrow_.prepare(*p, wd, bd));
      narrow_.set_scale_add(*q);
      fused_ = Fused::narrow;
      impl_ = "edgepipe:narrow_int8 + scale_add";
    } else {
      return false;
    }
    conv_.kernel.reset();
    add_.kernel.reset();
    return true;
  }

  KernelPart conv_, add_;
  ir::Value mid_;
  size_t mid_bytes_ = 0;
  TensorView conv_in_[3], mid_view_[1];
  std::vector<TensorView> add_in_;
  enum class Fused { none, winograd, narrow } fused_ = Fused::none;
  WinogradInt16 winograd_;
  NarrowInt8Conv narrow_;
  std::string impl_;
};

}  // namespace

std::unique_ptr<Kernel> make_fused_conv_scale_add() { return std::make_unique<FusedConvScaleAddKernel>(); }

}  // namespace ep::kernels
