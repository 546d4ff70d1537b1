// edgepipe.FusedConv on oneDNN: one convolution primitive with the element-wise chain as
// post-ops. Weights are reordered once in prepare into the layout the primitive picked;
// the scratchpad comes from the session arena, so run() allocates nothing of its own.
#include <set>
#include <unordered_map>

#include "kernels/fused_conv.h"
#include "kernels/onednn/context.h"

namespace ep::kernels {
namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

class OnednnFusedConv final : public Kernel {
 public:
  Status prepare(PrepareContext& ctx) override {
    EP_ASSIGN_OR_RETURN(p_, prepare_fused_conv(ctx));
    EP_RETURN_IF_ERROR(normalize_post_ops(ctx));
    // Weights and bias must be known now to be reordered once.
    if (!ctx.input(1).constant || (ctx.has_input(2) && !ctx.input(2).constant))
      return ctx.unsupported_error("oneDNN path needs constant weights");
    try {
      build(ctx);
    } catch (const dnnl::error& e) {
      return ctx.unsupported_error("oneDNN declined: ", e.what());
    }
    return Status::ok();
  }

  Status run(const RunContext& ctx) noexcept override {
    try {
      src_.set_data_handle(ctx.inputs[0].data);
      dst_.set_data_handle(ctx.outputs[0].data);
      if (residual_index_ >= 0) residual_.set_data_handle(ctx.inputs[3].data);
      if (scratch_bytes_) scratch_.set_data_handle(ctx.scratch);
      prim_.execute(onednn::thread_stream(), args_);
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
    std::vector<PostOp> merged;
    for (const PostOp& op : p_.post_ops) {
      if (op.kind == PostOpKind::linear && !merged.empty() && merged.back().kind == PostOpKind::linear) {
        PostOp& prev = merged.back();  // a2*(a1*x + b1) + b2
        prev.b = op.a * prev.b + op.b;
        prev.a = op.a * prev.a;
        continue;
      }
      merged.push_back(op);
    }
    std::set<PostOpKind> seen;
    for (const PostOp& op : merged)
      if (op.kind != PostOpKind::residual && !seen.insert(op.kind).second)
        return ctx.unsupported_error("oneDNN 2.6 mixes up a repeated post-op algorithm");
    p_.post_ops = std::move(merged);
    return Status::ok();
  }

  void build(PrepareContext& ctx) {
    dnnl::engine& eng = onednn::cpu_engine();
    const FusedConvParams& p = p_;
    const tag act = p.nhwc ? tag::nhwc : tag::nchw;
    const memory::dims src_dims{p.n, p.cin, p.h, p.w}, dst_dims{p.n, p.cout, p.oh, p.ow};
    memory::dims w_dims{p.cout, p.cin / p.group, p.kh, p.kw};
    tag w_tag = tag::oihw;
    if (p.group > 1) {
      w_dims = {p.group, p.cout / p.group, p.cin / p.group, p.kh, p.kw};
      w_tag = tag::goihw;
    }
    const memory::desc src_md(src_dims, dt::f32, act), dst_md(dst_dims, dt::f32, act);
    const memory::desc w_any(w_dims, dt::f32, tag::any), b_md({p.cout}, dt::f32, tag::a);
    const memory::dims strides{p.stride[0], p.stride[1]};
    const memory::dims dil{p.dilation[0] - 1, p.dilation[1] - 1};  // oneDNN counts extra gaps
    const memory::dims pl{p.pad_begin[0], p.pad_begin[1]}, pr{p.pad_end[0], p.pad_end[1]};
    const bool has_bias = ctx.has_input(2);
    auto desc = has_bias ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference,
                                                           dnnl::algorithm::convolution_direct, src_md, w_any, b_md,
                                                           dst_md, strides, dil, pl, pr)
                         : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference,
                                                           dnnl::algorithm::convolution_direct, src_md, w_any,
                                                           dst_md, strides, dil, pl, pr);
    dnnl::post_ops ops;
    int index = 0;
    for (const PostOp& op : p.post_ops) {
      switch (op.kind) {
        case PostOpKind::relu: ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f); break;
        case PostOpKind::clip: ops.append_eltwise(1.f, dnnl::algorithm::eltwise_clip_v2, op.a, op.b); break;
        case PostOpKind::linear: ops.append_eltwise(1.f, dnnl::algorithm::eltwise_linear, op.a, op.b); break;
        case PostOpKind::hard_swish: ops.append_eltwise(1.f, dnnl::algorithm::eltwise_hardswish, 0.f, 0.f); break;
        case PostOpKind::sigmoid: ops.append_eltwise(1.f, dnnl::algorithm::eltwise_logistic, 0.f, 0.f); break;
        case PostOpKind::swish: ops.append_eltwise(1.f, dnnl::algorithm::eltwise_swish, 1.f, 0.f); break;
        case PostOpKind::residual:
          ops.append_binary(dnnl::algorithm::binary_add, dst_md);
          residual_index_ = index;
          break;
      }
      ++index;
    }
    dnnl::primitive_attr attr;
    attr.set_post_ops(ops);
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    const dnnl::convolution_forward::primitive_desc pd(desc, attr, eng);
    prim_ = dnnl::convolution_forward(pd);
    // Weights: user OIHW -> the primitive's layout, once.
    const memory user_w({w_dims, dt::f32, w_tag}, eng, const_cast<void*>(ctx.input(1).constant->data()));
    weights_ = memory(pd.weights_desc(), eng);
    dnnl::reorder(user_w, weights_).execute(onednn::thread_stream(), const_cast<memory&>(user_w), weights_);
    onednn::thread_stream().wait();
    src_ = memory(src_md, eng, DNNL_MEMORY_NONE);
    dst_ = memory(dst_md, eng, DNNL_MEMORY_NONE);
    args_ = {{DNNL_ARG_SRC, src_}, {DNNL_ARG_WEIGHTS, weights_}, {DNNL_ARG_DST, dst_}};
    if (has_bias) {
      bias_ = memory(b_md, eng);
      std::memcpy(bias_.get_data_handle(), ctx.input(2).constant->data(), static_cast<size_t>(p.cout) * 4);
      args_[DNNL_ARG_BIAS] = bias_;
    }
    if (residual_index_ >= 0) {
      residual_ = memory(dst_md, eng, DNNL_MEMORY_NONE);
      args_[DNNL_ARG_ATTR_MULTIPLE_POST_OP(residual_index_) | DNNL_ARG_SRC_1] = residual_;
    }
    scratch_bytes_ = pd.scratchpad_desc().get_size();
    if (scratch_bytes_) {
      scratch_ = memory(pd.scratchpad_desc(), eng, DNNL_MEMORY_NONE);
      args_[DNNL_ARG_SCRATCHPAD] = scratch_;
      ctx.request_scratch(scratch_bytes_);
    }
  }

  FusedConvParams p_;
  dnnl::convolution_forward prim_;
  memory weights_, bias_, src_, dst_, residual_, scratch_;
  std::unordered_map<int, memory> args_;
  int residual_index_ = -1;
  size_t scratch_bytes_ = 0;
};

}  // namespace

std::unique_ptr<Kernel> make_onednn_fused_conv() { return std::make_unique<OnednnFusedConv>(); }

}  // namespace ep::kernels
