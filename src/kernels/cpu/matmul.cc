// MatMul, Gemm and 1x1 FusedConv at 1x1 output with at most PackedGemv::kMaxRows rows
// against constant f32 weights: the weight-bound products (classifier heads, squeeze-excite
// blocks). Everything else is declined here and runs on oneDNN.
#include <algorithm>

#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/gemv.h"
#include "kernels/fused_conv.h"

namespace ep::kernels::cpu {
namespace {

// How a MatMul/Gemm node maps onto PackedGemv, or why it does not.
struct MatMulPlan {
  int64_t rows = 0, k = 0, n = 0;
  int64_t stride_k = 0, stride_j = 0;  // of B
  Shape y_shape;
  float alpha = 1.f, beta = 1.f;
  int64_t c_row_stride = 0, c_col_stride = 0;  // C broadcast against [rows, n]
};

Result<MatMulPlan> plan_matmul(const PrepareContext& ctx, bool gemm) {
  EP_RETURN_IF_ERROR(ctx.expect_inputs(2, gemm ? 3 : 2));
  const TensorInfo& a = ctx.input(0);
  const TensorInfo& b = ctx.input(1);
  if (a.dtype != DType::f32 || b.dtype != DType::f32) return ctx.unsupported_error("GEMV path is f32 only");
  if (!b.constant || b.shape.rank() != 2) return ctx.unsupported_error("GEMV path needs a constant 2-D B");
  EP_ASSIGN_OR_RETURN(std::string precision, ctx.node().attr_string("precision", std::string("f32")));
  if (precision != "f32") return ctx.unsupported_error("GEMV path is f32 only");
  if (a.shape.rank() < 1 || a.shape.numel() == 0 || b.shape.numel() == 0) return ctx.unsupported_error("empty or scalar operands");
  MatMulPlan p;
  if (gemm) {
    if (a.shape.rank() != 2) return ctx.error("Gemm operands must be 2-D");
    EP_ASSIGN_OR_RETURN(int64_t ta, ctx.node().attr_int("transA", 0));
    EP_ASSIGN_OR_RETURN(int64_t tb, ctx.node().attr_int("transB", 0));
    EP_ASSIGN_OR_RETURN(p.alpha, ctx.node().attr_float("alpha", 1.f));
    EP_ASSIGN_OR_RETURN(p.beta, ctx.node().attr_float("beta", 1.f));
    p.rows = ta ? a.shape[1] : a.shape[0];
    p.k = ta ? a.shape[0] : a.shape[1];
    if (ta && p.rows != 1) return ctx.unsupported_error("GEMV path takes transA only for one row");
    const int64_t bk = tb ? b.shape[1] : b.shape[0];
    p.n = tb ? b.shape[0] : b.shape[1];
    if (bk != p.k) return ctx.error("inner dimensions differ: ", p.k, " and ", bk);
    p.stride_k = tb ? 1 : p.n;
    p.stride_j = tb ? p.k : 1;
    p.y_shape = Shape{p.rows, p.n};
    if (ctx.has_input(2)) {
      const TensorInfo& c = ctx.input(2);
      if (c.dtype != DType::f32) return ctx.unsupported_error("C must be f32");
      const Shape& cs = c.shape;
      int64_t cr = 1, cc = 1;
      if (cs.rank() == 1) cc = cs[0];
      else if (cs.rank() == 2) cr = cs[0], cc = cs[1];
      else if (cs.rank() != 0) return ctx.error("C of rank ", cs.rank());
      if ((cr != 1 && cr != p.rows) || (cc != 1 && cc != p.n)) return ctx.error("C ", cs.to_string(), " does not broadcast to ", p.y_shape.to_string());
      p.c_col_stride = cc == 1 ? 0 : 1;
      p.c_row_stride = cr == 1 ? 0 : cc;
    }
  } else {
    p.k = a.shape[a.shape.rank() - 1];
    p.rows = a.shape.numel() / p.k;
    if (b.shape[0] != p.k) return ctx.error("inner dimensions differ: ", p.k, " and ", b.shape[0]);
    p.n = b.shape[1];
    p.stride_k = p.n;
    p.stride_j = 1;
    std::vector<int64_t> y(a.shape.dims().begin(), a.shape.dims().end() - 1);
    y.push_back(p.n);
    p.y_shape = Shape(y);
  }
  if (!gemv_case(p.rows, p.k, p.n)) return ctx.unsupported_error("GEMV path takes 1 to ", PackedGemv::kMaxRows, " rows");
  return p;
}

class GemvMatMul final : public Kernel {
 public:
  explicit GemvMatMul(bool gemm) : gemm_(gemm) {}

  Status prepare(PrepareContext& ctx) override {
    EP_ASSIGN_OR_RETURN(p_, plan_matmul(ctx, gemm_));
    has_c_ = gemm_ && ctx.has_input(2);
    // A constant row-vector (or scalar) C with alpha = beta = 1 is a bias: added in double.
    std::vector<float> bias;
    if (has_c_ && ctx.input(2).constant && p_.alpha == 1.f && p_.beta == 1.f && p_.c_row_stride == 0) {
      const float* c = ctx.input(2).constant->as<float>();
      for (int64_t j = 0; j < p_.n; ++j) bias.push_back(c[j * p_.c_col_stride]);
      has_c_ = false;
    }
    gemv_.pack(ctx.input(1).constant->as<float>(), p_.k, p_.n, p_.stride_k, p_.stride_j, bias.empty() ? nullptr : bias.data());
    ctx.set_output(0, DType::f32, p_.y_shape);
    return Status::ok();
  }

  Status run(const RunContext& ctx) noexcept override {
    float* y = ctx.outputs[0].as<float>();
    gemv_.run(ctx.inputs[0].as<float>(), p_.rows, y);
    if (p_.alpha == 1.f && !has_c_) return Status::ok();
    const float* c = has_c_ ? ctx.inputs[2].as<float>() : nullptr;
    for (int64_t r = 0; r < p_.rows; ++r)
      for (int64_t j = 0; j < p_.n; ++j) {
        float& v = y[r * p_.n + j];
        v = p_.alpha * v;
        if (c) v += p_.beta * c[r * p_.c_row_stride + j * p_.c_col_stride];
      }
    return Status::ok();
  }

 private:
  bool gemm_;
  bool has_c_ = false;
  MatMulPlan p_;
  PackedGemv gemv_;
};

bool conv_gemv_case(const FusedConvParams& p) {
  return p.precision == ConvPrecision::f32 && !p.transposed && p.group == 1 && p.kh == 1 && p.kw == 1 && p.oh == 1 &&
         p.ow == 1 && p.pad_begin[0] == 0 && p.pad_begin[1] == 0 && p.x_dtype == DType::f32 && p.r_dtype == DType::f32 &&
         gemv_case(p.n, p.cin, p.cout);
}

// A 1x1 convolution whose input and output are one pixel: Y[n, :] = X[n, :] W^T + B (one
// rounding), then the post-ops in order (NCHW and NHWC are the same bytes at 1x1).
class GemvFusedConv final : public Kernel {
 public:
  Status prepare(PrepareContext& ctx) override {
    EP_ASSIGN_OR_RETURN(p_, prepare_fused_conv(ctx));
    if (!conv_gemv_case(p_)) return ctx.unsupported_error("GEMV path takes f32 1x1 convolutions at 1x1 output, up to ", PackedGemv::kMaxRows, " images");
    if (!ctx.input(1).constant || (ctx.has_input(2) && !ctx.input(2).constant))
      return ctx.unsupported_error("GEMV path needs constant weights and bias");
    // W [Cout, Cin, 1, 1]: B(k, j) = W[j, k].
    gemv_.pack(ctx.input(1).constant->as<float>(), p_.cin, p_.cout, 1, p_.cin,
               ctx.has_input(2) ? ctx.input(2).constant->as<float>() : nullptr);
    return Status::ok();
  }

  Status run(const RunContext& ctx) noexcept override {
    float* y = ctx.outputs[0].as<float>();
    gemv_.run(ctx.inputs[0].as<float>(), p_.n, y);
    if (p_.post_ops.empty()) return Status::ok();
    const float* r = ctx.inputs.size() > 3 && ctx.inputs[3].data ? ctx.inputs[3].as<float>() : nullptr;
    for (int64_t i = 0; i < p_.n; ++i)
      for (int64_t c = 0; c < p_.cout; ++c) {
        const int64_t at = i * p_.cout + c;
        float v = y[at];
        for (const PostOp& op : p_.post_ops) v = apply_post_op(op, v, r ? r[at] : 0.f);
        y[at] = v;
      }
    return Status::ok();
  }

 private:
  FusedConvParams p_;
  PackedGemv gemv_;
};

}  // namespace

bool matmul_runs_as_gemv(const PrepareContext& ctx, bool gemm) { return plan_matmul(ctx, gemm).is_ok(); }
bool fused_conv_runs_as_gemv(const FusedConvParams& p) { return conv_gemv_case(p); }

std::unique_ptr<Kernel> make_gemv_matmul() { return std::make_unique<GemvMatMul>(false); }
std::unique_ptr<Kernel> make_gemv_gemm() { return std::make_unique<GemvMatMul>(true); }
std::unique_ptr<Kernel> make_gemv_fused_conv() { return std::make_unique<GemvFusedConv>(); }

}  // namespace ep::kernels::cpu
