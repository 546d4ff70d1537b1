// edgepipe.FusedConvResizeAdd (see fused_conv.h): a FusedConv whose f32 output A only an
// edgepipe.ResizeAdd reads, as one node. The two parts are prepared as nodes of their own
// (detached copies with the split attributes, so every error names the part). Where
// PointwiseInt8 takes the convolution, the ResizeAdd runs in its epilogue and A is never
// written: the PP-OCRv4 INT8 detector's 12 -> 96 1x1 at 160x160 wrote 9.8 MB of f32 that the
// neck's ResizeAdd read back. Elsewhere the two parts run in turn, A in scratch.
#include <string_view>

#include "edgepipe/arena.h"
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
    split(ctx.node());
    conv_.inputs = {ctx.input(0), ctx.input(1), ctx.has_input(2) ? ctx.input(2) : TensorInfo{}};
    static constexpr std::string_view kConv[] = {"onednn", "cpu", "ref"}, kAdd[] = {"cpu"};
    EP_RETURN_IF_ERROR(prepare_kernel_part(conv_, ctx.num_threads(), kConv));
    if (conv_.output.dtype != DType::f32) return ctx.error("the convolution's output must be f32");
    mid_.dtype = conv_.output.dtype;
    mid_.shape = conv_.output.shape;
    add_.inputs = {conv_.output};
    for (size_t i = 3; i < n_in; ++i) add_.inputs.push_back(ctx.has_input(i) ? ctx.input(i) : TensorInfo{});
    EP_RETURN_IF_ERROR(prepare_kernel_part(add_, ctx.num_threads(), kAdd));
    ctx.set_output(0, add_.output.dtype, add_.output.shape);
    fused_ = try_fused(ctx);
    impl_ = fused_ ? "edgepipe:pointwise_int8 + resize_add"
                   : conv_.kernel->implementation() + (conv_.kernel->implementation().empty() ? "" : ", then ") +
                         "resize_add";
    if (fused_) return Status::ok();
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
    if (fused_) {
      const float* a_scale = ctx.inputs.size() > 9 && ctx.inputs[9].data ? ctx.inputs[9].as<float>() : nullptr;
      pointwise_.run_resize_add(static_cast<const uint8_t*>(ctx.inputs[0].data), ctx.outputs[0].data,
                                ctx.inputs[3].as<float>(), a_scale);
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
  // The convolution reads X, W, B and writes mid_; the ResizeAdd reads mid_ and the node's
  // inputs from 3 on. Resize's attributes carry the prefix "resize_".
  void split(const ir::Node& n) {
    conv_.node.name = n.name + "/conv";
    add_.node.name = n.name + "/resize_add";
    mid_.name = n.name + "/conv_output";
    conv_.node.op_type = kFusedConvOp;
    add_.node.op_type = "ResizeAdd";
    for (ir::Node* p : {&conv_.node, &add_.node}) {
      p->domain = kFusedConvDomain;
      p->opset = 1;
    }
    conv_.node.inputs = {n.input(0), n.input(1), n.input(2)};
    conv_.node.outputs = {&mid_};
    add_.node.inputs = {&mid_};
    for (size_t i = 3; i < n.inputs.size(); ++i) add_.node.inputs.push_back(n.inputs[i]);
    add_.node.outputs = {n.output(0)};
    const std::string_view prefix = kResizeAttrPrefix;
    for (const auto& [key, value] : n.attrs) {
      if (key.compare(0, prefix.size(), prefix) == 0) add_.node.attrs[key.substr(prefix.size())] = value;
      else conv_.node.attrs[key] = value;
    }
  }

  // PointwiseInt8 with the ResizeAdd in its epilogue, where it takes the convolution (constant
  // weights and bias, NHWC) and the resize only moves rows and columns of [N, H, W, C].
  bool try_fused(const PrepareContext& ctx) {
    const TensorInfo &w = ctx.input(1), &x = ctx.input(3);
    if (!w.constant || w.dtype != DType::i8 || (ctx.has_input(2) && (!ctx.input(2).constant || ctx.input(2).dtype != DType::f32)))
      return false;
    PrepareContext conv_ctx(conv_.node, conv_.inputs, ctx.num_threads());
    Result<FusedConvParams> p = prepare_fused_conv(conv_ctx);
    if (!p.is_ok() || !PointwiseInt8::supports(*p) || p->y_dtype != DType::f32 || x.dtype != DType::f32 ||
        x.shape.rank() != 4 || x.shape[0] != p->n || x.shape[3] != p->cout)
      return false;
    PrepareContext add_ctx(add_.node, add_.inputs, ctx.num_threads());
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
    conv_.kernel.reset();
    add_.kernel.reset();
    return true;
  }

  KernelPart conv_, add_;
  ir::Value mid_;
  size_t mid_bytes_ = 0;
  TensorView conv_in_[3], mid_view_[1];
  std::vector<TensorView> add_in_;
  bool fused_ = false;
  PointwiseInt8 pointwise_;
  std::string impl_;
};

}  // namespace

std::unique_ptr<Kernel> make_fused_conv_resize_add() { return std::make_unique<FusedConvResizeAddKernel>(); }

}  // namespace ep::kernels
