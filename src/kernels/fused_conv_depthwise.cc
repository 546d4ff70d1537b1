// edgepipe.FusedConvDepthwise (see fused_conv.h): the node stands for two FusedConvs, a 1x1
// and the depthwise that reads its output. Both kernels validate and prepare it as those two
// nodes (detached copies carrying the split attributes, so every error names the part); the
// reference kernel then runs the two reference FusedConvs in turn, the intermediate tensor in
// scratch. The fast kernel runs the pair band by band (onednn/pointwise_depthwise.h) and,
// where that declines, the two FusedConvs on the kernels a session would pick for them (oneDNN, cpu,
// reference: the first that takes each), so the node never runs slower than the pair did.
#include <string_view>

#include "edgepipe/arena.h"
#include "kernels/fused_conv.h"
#include "kernels/kernel_part.h"
#include "kernels/onednn/pointwise_depthwise.h"

namespace ep::kernels {
namespace {

class FusedConvDepthwiseKernel final : public Kernel {
 public:
  explicit FusedConvDepthwiseKernel(bool fast) : fast_(fast) {}

  Status prepare(PrepareContext& ctx) override {
    const ir::Node& n = ctx.node();
    if (ctx.num_inputs() < 4 || ctx.num_inputs() > 5 || !ctx.has_input(0) || !ctx.has_input(1) || !ctx.has_input(3))
      return ctx.error("takes X, W and B (optional) of the 1x1 convolution, then W and B (optional) of the depthwise");
    if (ctx.num_outputs() != 1) return ctx.error("has one output, not ", ctx.num_outputs());
    split(n);
    pw_.inputs = {ctx.input(0), ctx.input(1), ctx.has_input(2) ? ctx.input(2) : TensorInfo{}};
    // The reference kernels' prepare validates each part and gives the intermediate shape.
    static constexpr std::string_view kRef[] = {"ref"};
    EP_RETURN_IF_ERROR(prepare_kernel_part(pw_, ctx.num_threads(), kRef));
    mid_.dtype = pw_.output.dtype;
    mid_.shape = pw_.output.shape;
    dw_.inputs = {pw_.output, ctx.input(3), ctx.has_input(4) ? ctx.input(4) : TensorInfo{}};
    EP_RETURN_IF_ERROR(prepare_kernel_part(dw_, ctx.num_threads(), kRef));
    ctx.set_output(0, dw_.output.dtype, dw_.output.shape);
    if (fast_) {
      if (try_fused(ctx)) return Status::ok();
      static constexpr std::string_view kFast[] = {"onednn", "cpu", "ref"};
      EP_RETURN_IF_ERROR(prepare_kernel_part(pw_, ctx.num_threads(), kFast));
      EP_RETURN_IF_ERROR(prepare_kernel_part(dw_, ctx.num_threads(), kFast));
    }
    for (size_t i = 0; i < 3; ++i) {
      pw_in_[i] = TensorView{pw_.inputs[i].dtype, pw_.inputs[i].shape, nullptr};
      dw_in_[i] = TensorView{dw_.inputs[i].dtype, dw_.inputs[i].shape, nullptr};
    }
    mid_view_[0] = TensorView{mid_.dtype, mid_.shape, nullptr};
    mid_bytes_ = arena_align(static_cast<size_t>(mid_.shape.numel()) * dtype_size(mid_.dtype));
    ctx.request_scratch(mid_bytes_ + std::max(pw_.scratch, dw_.scratch));
    return Status::ok();
  }

  Status run(const RunContext& ctx) noexcept override {
    if (fused_) {
      try {
        fused_->run(static_cast<const float*>(ctx.inputs[0].data), static_cast<float*>(ctx.outputs[0].data),
                    ctx.scratch);
      } catch (const dnnl::error& e) {
        return internal_error("oneDNN 1x1 + depthwise convolution bands failed: ", e.what());
      }
      return Status::ok();
    }
    // The views were shaped in prepare(); only the addresses change (no allocation here).
    char* scratch = static_cast<char*>(ctx.scratch);
    for (size_t i = 0; i < 3; ++i) pw_in_[i].data = i < ctx.inputs.size() ? ctx.inputs[i].data : nullptr;
    mid_view_[0].data = scratch;
    dw_in_[0].data = scratch;
    for (size_t i = 1; i < 3; ++i) dw_in_[i].data = i + 2 < ctx.inputs.size() ? ctx.inputs[i + 2].data : nullptr;
    EP_RETURN_IF_ERROR(pw_.kernel->run(RunContext{pw_in_, mid_view_, scratch + mid_bytes_}));
    return dw_.kernel->run(RunContext{dw_in_, ctx.outputs, scratch + mid_bytes_});
  }

 private:
  // The two parts' nodes: the 1x1 reads X, W, B and writes mid_; the depthwise reads mid_
  // and the node's last two inputs and writes its output. Attributes by prefix.
  void split(const ir::Node& n) {
    pw_.node.name = n.name + "/pointwise";
    dw_.node.name = n.name + "/depthwise";
    mid_.name = n.name + "/pointwise_output";
    for (ir::Node* p : {&pw_.node, &dw_.node}) {
      p->op_type = kFusedConvOp;
      p->domain = kFusedConvDomain;
      p->opset = 1;
    }
    pw_.node.inputs = {n.input(0), n.input(1), n.input(2)};
    pw_.node.outputs = {&mid_};
    dw_.node.inputs = {&mid_, n.input(3), n.input(4)};
    dw_.node.outputs = {n.output(0)};
    const std::string_view prefix = kDepthwiseAttrPrefix;
    for (const auto& [key, value] : n.attrs) {
      if (key.compare(0, prefix.size(), prefix) == 0) dw_.node.attrs[key.substr(prefix.size())] = value;
      else pw_.node.attrs[key] = value;
    }
  }

  // The banded pair (onednn/pointwise_depthwise.h) where it takes the node (constant weights).
  bool try_fused(PrepareContext& ctx) {
    auto constant = [&](size_t i) -> const float* {
      if (!ctx.has_input(i) || !ctx.input(i).constant || ctx.input(i).dtype != DType::f32) return nullptr;
      return static_cast<const float*>(ctx.input(i).constant->data());
    };
    const float *w = constant(1), *wd = constant(3), *b = constant(2), *bd = constant(4);
    if (!w || !wd || (ctx.has_input(2) && !b) || (ctx.has_input(4) && !bd)) return false;
    PrepareContext pw_ctx(pw_.node, pw_.inputs, ctx.num_threads()), dw_ctx(dw_.node, dw_.inputs, ctx.num_threads());
    Result<FusedConvParams> pw = prepare_fused_conv(pw_ctx), dw = prepare_fused_conv(dw_ctx);
    if (!pw.is_ok() || !dw.is_ok()) return false;
    if (!PointwiseDepthwise::supports(*pw, *dw)) return false;
    auto fused = std::make_unique<PointwiseDepthwise>();
    size_t bytes = 0;
    try {
      bytes = fused->prepare(*pw, *dw, w, b, wd, bd);
    } catch (const dnnl::error&) {
      return false;
    }
    ctx.request_scratch(bytes);
    fused_ = std::move(fused);
    pw_.kernel.reset();
    dw_.kernel.reset();
    return true;
  }

  bool fast_;
  KernelPart pw_, dw_;
  ir::Value mid_;
  size_t mid_bytes_ = 0;
  TensorView pw_in_[3], mid_view_[1], dw_in_[3];  // the parts' views when they run one after the other
  std::unique_ptr<PointwiseDepthwise> fused_;
};

}  // namespace

std::unique_ptr<Kernel> make_ref_fused_conv_depthwise() { return std::make_unique<FusedConvDepthwiseKernel>(false); }
std::unique_ptr<Kernel> make_onednn_fused_conv_depthwise() { return std::make_unique<FusedConvDepthwiseKernel>(true); }

}  // namespace ep::kernels
