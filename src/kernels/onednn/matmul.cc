// MatMul and Gemm on oneDNN's matmul primitive (f32), but for products of a few rows with a
// constant B, which the cpu GEMV reads at cache speed (kernels/cpu/gemv.h). Batch dims broadcast as in numpy;
// Gemm's transposes become strides and C its bias. Declines 1-D operands, alpha/beta
// other than 1, and C that is not a row vector, scalar or full matrix.
// precision "bf16" (an attribute passes/precision_bf16.cc sets where B is constant): B is
// reordered to bf16 once, A converted into scratch on each run, accumulation and Y in f32.
#include <algorithm>
#include <unordered_map>

#include "edgepipe/arena.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/onednn/context.h"
#include "kernels/onednn/onednn_kernels.h"

namespace ep::kernels {
namespace {

using dnnl::memory;
using dt = memory::data_type;

memory::dims row_major_strides(const memory::dims& d) {
  memory::dims s(d.size(), 1);
  for (size_t i = d.size(); i-- > 1;) s[i - 1] = s[i] * d[i];
  return s;
}

class OnednnMatMul final : public Kernel {
 public:
  explicit OnednnMatMul(bool gemm) : gemm_(gemm) {}

  Status prepare(PrepareContext& ctx) override {
    EP_RETURN_IF_ERROR(ctx.expect_inputs(2, gemm_ ? 3 : 2));
    if (cpu::matmul_runs_as_gemv(ctx, gemm_)) return ctx.unsupported_error("a few rows against constant weights run on the cpu GEMV");
    const TensorInfo& a = ctx.input(0);
    const TensorInfo& b = ctx.input(1);
    if (a.dtype != DType::f32 || b.dtype != DType::f32) return ctx.unsupported_error("oneDNN matmul path is f32 only");
    if (a.shape.rank() < 2 || b.shape.rank() < 2) return ctx.unsupported_error("1-D operands");
    if (a.shape.numel() == 0 || b.shape.numel() == 0) return ctx.unsupported_error("empty operands");
    const size_t rank = std::max(a.shape.rank(), b.shape.rank());
    if (gemm_ && rank != 2) return ctx.error("Gemm operands must be 2-D");
    memory::dims ad(rank, 1), bd(rank, 1), as, bs;
    for (size_t i = 0; i < a.shape.rank(); ++i) ad[rank - a.shape.rank() + i] = a.shape[i];
    for (size_t i = 0; i < b.shape.rank(); ++i) bd[rank - b.shape.rank() + i] = b.shape[i];
    as = row_major_strides(ad);
    bs = row_major_strides(bd);
    if (gemm_) {
      const ir::Node& n = ctx.node();
      EP_ASSIGN_OR_RETURN(int64_t ta, n.attr_int("transA", 0));
      EP_ASSIGN_OR_RETURN(int64_t tb, n.attr_int("transB", 0));
      EP_ASSIGN_OR_RETURN(float alpha, n.attr_float("alpha", 1.f));
      EP_ASSIGN_OR_RETURN(float beta, n.attr_float("beta", 1.f));
      if (alpha != 1.f || (ctx.has_input(2) && beta != 1.f)) return ctx.unsupported_error("alpha/beta other than 1");
      if (ta) {
        std::swap(ad[0], ad[1]);
        std::swap(as[0], as[1]);
      }
      if (tb) {
        std::swap(bd[0], bd[1]);
        std::swap(bs[0], bs[1]);
      }
    }
    const int64_t m = ad[rank - 2], k = ad[rank - 1], nn = bd[rank - 1];
    if (bd[rank - 2] != k) return ctx.error("inner dimensions differ: ", k, " and ", bd[rank - 2]);
    memory::dims yd(rank);
    for (size_t i = 0; i + 2 < rank; ++i) {
      if (ad[i] != bd[i] && ad[i] != 1 && bd[i] != 1) return ctx.error("batch dimensions cannot be broadcast");
      yd[i] = std::max(ad[i], bd[i]);
    }
    yd[rank - 2] = m;
    yd[rank - 1] = nn;
    const memory::desc a_md(ad, dt::f32, as), b_md(bd, dt::f32, bs), y_md(yd, dt::f32, row_major_strides(yd));
    memory::desc c_md;
    if (gemm_ && ctx.has_input(2)) {
      const Shape& c = ctx.input(2).shape;
      memory::dims cd{1, 1};
      if (c.rank() == 1) cd = {1, c[0]};
      else if (c.rank() == 2) cd = {c[0], c[1]};
      else if (c.rank() != 0) return ctx.unsupported_error("bias rank");
      if ((cd[0] != 1 && cd[0] != m) || (cd[1] != 1 && cd[1] != nn) || ctx.input(2).dtype != DType::f32)
        return ctx.unsupported_error("bias shape ", c.to_string());
      c_md = memory::desc(cd, dt::f32, row_major_strides(cd));
    }
    EP_ASSIGN_OR_RETURN(std::string precision, ctx.node().attr_string("precision", std::string("f32")));
    bf16_ = precision == "bf16";
    if (bf16_ && !b.constant) return ctx.unsupported_error("bf16 matmul needs constant B");
    std::string isa;
    if (bf16_ && !onednn_has_bf16(&isa)) return ctx.unsupported_error("oneDNN has no bf16 matmul on this CPU (", isa, ")");
    try {
      dnnl::engine& eng = onednn::cpu_engine();
      dnnl::primitive_attr attr;
      attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
      const memory::desc a16(ad, dt::bf16, as), b16(bd, dt::bf16, bs);
      const memory::desc& a_use = bf16_ ? a16 : a_md;
      const memory::desc& b_use = bf16_ ? b16 : b_md;
      const auto desc = c_md ? dnnl::matmul::desc(a_use, b_use, c_md, y_md) : dnnl::matmul::desc(a_use, b_use, y_md);
      const dnnl::matmul::primitive_desc pd(desc, attr, eng);
      prim_ = dnnl::matmul(pd);
      a_ = memory(a_use, eng, DNNL_MEMORY_NONE);
      b_ = memory(b_use, eng, DNNL_MEMORY_NONE);
      if (bf16_) {  // B once to bf16 (owned); A through scratch on every run
        b_ = memory(b16, eng);
        const memory user_b(b_md, eng, const_cast<void*>(b.constant->data()));
        dnnl::reorder(user_b, b_).execute(onednn::thread_stream(), const_cast<memory&>(user_b), b_);
        onednn::thread_stream().wait();
        user_a_ = memory(a_md, eng, DNNL_MEMORY_NONE);
        convert_ = dnnl::reorder(user_a_, a_);
        convert_args_ = onednn::exec_args({{DNNL_ARG_FROM, user_a_}, {DNNL_ARG_TO, a_}});
        convert_bytes_ = arena_align(a16.get_size());
      }
      y_ = memory(y_md, eng, DNNL_MEMORY_NONE);
      args_ = {{DNNL_ARG_SRC, a_}, {DNNL_ARG_WEIGHTS, b_}, {DNNL_ARG_DST, y_}};
      if (c_md) {
        c_ = memory(c_md, eng, DNNL_MEMORY_NONE);
        args_[DNNL_ARG_BIAS] = c_;
      }
      scratch_bytes_ = pd.scratchpad_desc().get_size();
      if (scratch_bytes_) {
        scratch_ = memory(pd.scratchpad_desc(), eng, DNNL_MEMORY_NONE);
        args_[DNNL_ARG_SCRATCHPAD] = scratch_;
      }
      if (scratch_bytes_ + convert_bytes_) ctx.request_scratch(convert_bytes_ + scratch_bytes_);
      c_args_ = onednn::exec_args(args_);
    } catch (const dnnl::error& e) {
      return ctx.unsupported_error("oneDNN declined: ", e.what());
    }
    ctx.set_output(0, DType::f32, Shape(std::vector<int64_t>(yd.begin(), yd.end())));
    return Status::ok();
  }

  Status run(const RunContext& ctx) noexcept override {
    try {
      if (bf16_) {
        user_a_.set_data_handle(ctx.inputs[0].data);
        a_.set_data_handle(ctx.scratch);
        onednn::execute(convert_, convert_args_);
      } else {
        a_.set_data_handle(ctx.inputs[0].data);
        b_.set_data_handle(ctx.inputs[1].data);
      }
      if (c_) c_.set_data_handle(ctx.inputs[2].data);
      y_.set_data_handle(ctx.outputs[0].data);
      if (scratch_bytes_) scratch_.set_data_handle(static_cast<char*>(ctx.scratch) + convert_bytes_);
      onednn::execute(prim_, c_args_);
    } catch (const dnnl::error& e) {
      return internal_error("oneDNN matmul failed: ", e.what());
    }
    return Status::ok();
  }

 private:
  bool gemm_;
  dnnl::matmul prim_;
  memory a_, b_, c_, y_, scratch_, user_a_;
  bool bf16_ = false;
  dnnl::primitive convert_;  // f32 A -> bf16, into the start of scratch
  onednn::ExecArgs convert_args_;
  size_t convert_bytes_ = 0;
  std::unordered_map<int, memory> args_;
  onednn::ExecArgs c_args_;  // args_ for the C API, built once
  size_t scratch_bytes_ = 0;
};

}  // namespace

std::unique_ptr<Kernel> make_onednn_matmul() { return std::make_unique<OnednnMatMul>(false); }
std::unique_ptr<Kernel> make_onednn_gemm() { return std::make_unique<OnednnMatMul>(true); }

}  // namespace ep::kernels
