// edgepipe.FusedConv on oneDNN: one convolution primitive with the element-wise chain as
// post-ops. Weights are reordered once in prepare into the layout the primitive picked;
// the scratchpad comes from the session arena, so run() allocates nothing of its own.
#include <algorithm>
#include <cstring>
#include <set>
#include <unordered_map>

#include "edgepipe/arena.h"
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
      char* scratch = static_cast<char*>(ctx.scratch);
      src_.set_data_handle(ctx.inputs[0].data);
      dst_.set_data_handle(shuffle_ ? scratch : ctx.outputs[0].data);
      if (residual_index_ >= 0) residual_.set_data_handle(ctx.inputs[3].data);
      if (scratch_bytes_) scratch_.set_data_handle(scratch + tmp_bytes_);
      onednn::execute(prim_, c_args_);
      if (shuffle_) scatter(reinterpret_cast<const float*>(scratch), ctx.outputs[0].as<float>());
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

  // tmp [N, H, W, (ky*kw + kx)*Cout + oc] -> y [N, H*kh, W*kw, Cout], writing y in order.
  void scatter(const float* tmp, float* y) const {
    const FusedConvParams& p = p_;
    const int64_t cout = p.cout, taps = p.kh * p.kw;
    for (int64_t n = 0; n < p.n; ++n)
      for (int64_t h = 0; h < p.h; ++h)
        for (int64_t ky = 0; ky < p.kh; ++ky) {
          float* row = y + (n * p.oh + h * p.kh + ky) * p.ow * cout;
          const float* src_row = tmp + (n * p.h + h) * p.w * cout * taps + ky * p.kw * cout;
          for (int64_t w = 0; w < p.w; ++w) {
            const float* src = src_row + w * cout * taps;
            float* dst = row + w * p.kw * cout;
            for (int64_t i = 0; i < p.kw * cout; ++i) dst[i] = src[i];  // kx-major blocks are contiguous
          }
        }
  }

  void build(PrepareContext& ctx) {
    dnnl::engine& eng = onednn::cpu_engine();
    FusedConvParams p = p_;
    const void* w_data = ctx.input(1).constant->data();
    const void* b_data = ctx.has_input(2) ? ctx.input(2).constant->data() : nullptr;
    shuffle_ = pixel_shuffle_case();
    if (shuffle_) {  // rewrite as the 1x1 convolution; see pixel_shuffle_case()
      const int64_t taps = p.kh * p.kw, cout = p.cout;
      shuffle_w_ = Tensor(DType::f32, Shape{cout * taps, p.cin, 1, 1});
      shuffle_b_ = Tensor(DType::f32, Shape{cout * taps});
      const float* w = static_cast<const float*>(w_data);
      for (int64_t ic = 0; ic < p.cin; ++ic)
        for (int64_t oc = 0; oc < cout; ++oc)
          for (int64_t t = 0; t < taps; ++t)
            shuffle_w_.as<float>()[(t * cout + oc) * p.cin + ic] = w[(ic * cout + oc) * taps + t];
      for (int64_t t = 0; t < taps; ++t)
        for (int64_t oc = 0; oc < cout; ++oc)
          shuffle_b_.as<float>()[t * cout + oc] = b_data ? static_cast<const float*>(b_data)[oc] : 0.f;
      w_data = shuffle_w_.data();
      b_data = shuffle_b_.data();
      p.transposed = false;
      p.cout = cout * taps;
      p.kh = p.kw = 1;
      p.stride[0] = p.stride[1] = 1;
      p.oh = p.h;
      p.ow = p.w;
      tmp_bytes_ = arena_align(static_cast<size_t>(p.n * p.h * p.w * p.cout) * sizeof(float));
    }
    const tag act = p.nhwc ? tag::nhwc : tag::nchw;
    const memory::dims src_dims{p.n, p.cin, p.h, p.w}, dst_dims{p.n, p.cout, p.oh, p.ow};
    memory::dims w_dims{p.cout, p.cin / p.group, p.kh, p.kw};
    // ONNX ConvTranspose weights are [Cin, Cout/group, kH, kW]: oneDNN's (g)iohw.
    tag w_tag = p.transposed ? tag::iohw : tag::oihw;
    if (p.group > 1) {
      w_dims = {p.group, p.cout / p.group, p.cin / p.group, p.kh, p.kw};
      w_tag = p.transposed ? tag::giohw : tag::goihw;
    }
    const memory::desc src_md(src_dims, dt::f32, act), dst_md(dst_dims, dt::f32, act);
    const memory::desc w_any(w_dims, dt::f32, tag::any), b_md({p.cout}, dt::f32, tag::a);
    const memory::dims strides{p.stride[0], p.stride[1]};
    const memory::dims dil{p.dilation[0] - 1, p.dilation[1] - 1};  // oneDNN counts extra gaps
    const memory::dims pl{p.pad_begin[0], p.pad_begin[1]}, pr{p.pad_end[0], p.pad_end[1]};
    const bool has_bias = b_data != nullptr;
    const dnnl::primitive_attr attr = make_attr(dst_md);
    memory::desc weights_md, scratch_md;
    if (p.transposed) {
      using D = dnnl::deconvolution_forward;
      auto desc = has_bias ? D::desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::deconvolution_direct, src_md,
                                     w_any, b_md, dst_md, strides, dil, pl, pr)
                           : D::desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::deconvolution_direct, src_md,
                                     w_any, dst_md, strides, dil, pl, pr);
      const D::primitive_desc pd(desc, attr, eng);
      prim_ = D(pd);
      weights_md = pd.weights_desc();
      scratch_md = pd.scratchpad_desc();
    } else {
      using C = dnnl::convolution_forward;
      auto desc = has_bias ? C::desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src_md,
                                     w_any, b_md, dst_md, strides, dil, pl, pr)
                           : C::desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src_md,
                                     w_any, dst_md, strides, dil, pl, pr);
      const C::primitive_desc pd(desc, attr, eng);
      prim_ = C(pd);
      weights_md = pd.weights_desc();
      scratch_md = pd.scratchpad_desc();
    }
    // Weights: user layout -> the primitive's, once.
    const memory user_w({w_dims, dt::f32, w_tag}, eng, const_cast<void*>(w_data));
    weights_ = memory(weights_md, eng);
    dnnl::reorder(user_w, weights_).execute(onednn::thread_stream(), const_cast<memory&>(user_w), weights_);
    onednn::thread_stream().wait();
    src_ = memory(src_md, eng, DNNL_MEMORY_NONE);
    dst_ = memory(dst_md, eng, DNNL_MEMORY_NONE);
    args_ = {{DNNL_ARG_SRC, src_}, {DNNL_ARG_WEIGHTS, weights_}, {DNNL_ARG_DST, dst_}};
    if (has_bias) {
      bias_ = memory(b_md, eng);
      std::memcpy(bias_.get_data_handle(), b_data, static_cast<size_t>(p.cout) * 4);
      args_[DNNL_ARG_BIAS] = bias_;
    }
    if (residual_index_ >= 0) {
      residual_ = memory(dst_md, eng, DNNL_MEMORY_NONE);
      args_[DNNL_ARG_ATTR_MULTIPLE_POST_OP(residual_index_) | DNNL_ARG_SRC_1] = residual_;
    }
    scratch_bytes_ = scratch_md.get_size();
    if (scratch_bytes_) {
      scratch_ = memory(scratch_md, eng, DNNL_MEMORY_NONE);
      args_[DNNL_ARG_SCRATCHPAD] = scratch_;
    }
    if (scratch_bytes_ + tmp_bytes_) ctx.request_scratch(tmp_bytes_ + scratch_bytes_);
    c_args_ = onednn::exec_args(args_);
  }

  dnnl::primitive_attr make_attr(const memory::desc& dst_md) {
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
          ops.append_binary(dnnl::algorithm::binary_add, dst_md);
          residual_index_ = index;
          break;
      }
      ++index;
    }
    dnnl::primitive_attr attr;
    attr.set_post_ops(ops);
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    return attr;
  }

  FusedConvParams p_;
  dnnl::primitive prim_;
  memory weights_, bias_, src_, dst_, residual_, scratch_;
  std::unordered_map<int, memory> args_;
  onednn::ExecArgs c_args_;  // args_ for the C API, built once
  int residual_index_ = -1;
  size_t scratch_bytes_ = 0;
  bool shuffle_ = false;
  size_t tmp_bytes_ = 0;  // the 1x1 convolution's output, ahead of oneDNN's scratchpad
  Tensor shuffle_w_, shuffle_b_;
};

}  // namespace

std::unique_ptr<Kernel> make_onednn_fused_conv() { return std::make_unique<OnednnFusedConv>(); }

}  // namespace ep::kernels
