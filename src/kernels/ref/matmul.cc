// Gemm, MatMul (numpy batching) and MatMulInteger, all on the shared GEMM loop.
#include <algorithm>

#include "kernels/ref/common.h"
#include "kernels/ref/gemm.h"
#include "kernels/ref/ref_kernels.h"

namespace ep::kernels::ref {
namespace {

bool matmul_dtype(DType t) {
  return t == DType::f32 || t == DType::f64 || t == DType::i32 || t == DType::i64 || t == DType::u32 ||
         t == DType::u64;
}

class GemmKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& ctx) override {
    const ir::Node& n = ctx.node();
    EP_RETURN_IF_ERROR(ctx.expect_inputs(2, 3));
    const TensorInfo& a = ctx.input(0);
    const TensorInfo& b = ctx.input(1);
    if (!matmul_dtype(a.dtype)) return ctx.unsupported_error("dtype ", dtype_name(a.dtype));
    if (b.dtype != a.dtype) return ctx.error("input dtypes differ: ", dtype_name(a.dtype), " and ", dtype_name(b.dtype));
    if (a.shape.rank() != 2 || b.shape.rank() != 2)
      return ctx.error("A and B must be matrices, got ", a.shape.to_string(), " and ", b.shape.to_string());
    EP_ASSIGN_OR_RETURN(alpha_, n.attr_float("alpha", 1.0f));
    EP_ASSIGN_OR_RETURN(beta_, n.attr_float("beta", 1.0f));
    EP_ASSIGN_OR_RETURN(int64_t ta, n.attr_int("transA", 0));
    EP_ASSIGN_OR_RETURN(int64_t tb, n.attr_int("transB", 0));
    trans_a_ = ta != 0;
    trans_b_ = tb != 0;
    m_ = trans_a_ ? a.shape[1] : a.shape[0];
    k_ = trans_a_ ? a.shape[0] : a.shape[1];
    n_ = trans_b_ ? b.shape[0] : b.shape[1];
    const int64_t kb = trans_b_ ? b.shape[1] : b.shape[0];
    if (kb != k_) return ctx.error("inner dims differ: A ", a.shape.to_string(), " and B ", b.shape.to_string());
    const Shape out{m_, n_};
    if (ctx.has_input(2)) {
      const TensorInfo& c = ctx.input(2);
      if (c.dtype != a.dtype) return ctx.error("C dtype ", dtype_name(c.dtype), " differs from A");
      EP_ASSIGN_OR_RETURN(Shape bs, broadcast_shapes(ctx, {out, c.shape}));
      if (bs != out || c.shape.rank() > 2)
        return ctx.error("C shape ", c.shape.to_string(), " does not broadcast to ", out.to_string());
    }
    ctx.set_output(0, a.dtype, out);
    return Status::ok();
  }

  Status run(const RunContext& ctx) noexcept override {
    const TensorView& a = ctx.inputs[0];
    const TensorView& b = ctx.inputs[1];
    const TensorView* c = ctx.inputs.size() > 2 && ctx.inputs[2].data ? &ctx.inputs[2] : nullptr;
    const TensorView& y = ctx.outputs[0];
    dispatch<float, double, int32_t, int64_t, uint32_t, uint64_t>(a.dtype, [&](auto tag) {
      using T = decltype(tag);
      T* py = y.as<T>();
      std::fill(py, py + m_ * n_, T(0));
      gemm_accumulate<T>(m_, n_, k_, a.as<T>(), trans_a_ ? 1 : k_, trans_a_ ? m_ : 1, b.as<T>(), trans_b_ ? 1 : n_,
                         trans_b_ ? k_ : 1, py, n_);
      const std::vector<int64_t> st[2] = {strides_of(y.shape), c ? broadcast_strides(c->shape, y.shape)
                                                                  : std::vector<int64_t>{0, 0}};
      const T* pc = c ? c->as<T>() : nullptr;
      const bool exact = alpha_ == 1.0f && (beta_ == 1.0f || !pc);  // keeps integer results exact
      for_each_index(y.shape, st, [&](int64_t, const int64_t* o) {
        const T cv = pc ? pc[o[1]] : T(0);
        if (exact) {
          py[o[0]] = static_cast<T>(py[o[0]] + cv);
        } else {
          py[o[0]] = static_cast<T>(static_cast<double>(alpha_) * static_cast<double>(py[o[0]]) +
                                    static_cast<double>(beta_) * static_cast<double>(cv));
        }
      });
    });
    return Status::ok();
  }

 private:
  float alpha_ = 1, beta_ = 1;
  bool trans_a_ = false, trans_b_ = false;
  int64_t m_ = 0, n_ = 0, k_ = 0;
};

// Numpy matmul geometry: 1-D operands are promoted to matrices and the added dim dropped.
struct MatMulPlan {
  int64_t m = 0, n = 0, k = 0;
  Shape batch;                        // broadcast batch dims
  std::vector<int64_t> a_batch_strides, b_batch_strides;  // in matrices, 0 when broadcast
};

Result<Shape> plan_matmul(const PrepareContext& ctx, const Shape& a, const Shape& b, MatMulPlan& p) {
  if (a.rank() == 0 || b.rank() == 0) return ctx.error("MatMul operands must have rank >= 1");
  std::vector<int64_t> ad = a.dims(), bd = b.dims();
  if (ad.size() == 1) ad.insert(ad.begin(), 1);
  if (bd.size() == 1) bd.push_back(1);
  p.m = ad[ad.size() - 2];
  p.k = ad.back();
  p.n = bd.back();
  if (bd[bd.size() - 2] != p.k)
    return ctx.error("inner dims differ: ", a.to_string(), " and ", b.to_string());
  const Shape ab(std::vector<int64_t>(ad.begin(), ad.end() - 2)), bb(std::vector<int64_t>(bd.begin(), bd.end() - 2));
  EP_ASSIGN_OR_RETURN(p.batch, broadcast_shapes(ctx, {ab, bb}));
  p.a_batch_strides = broadcast_strides(ab, p.batch);
  p.b_batch_strides = broadcast_strides(bb, p.batch);
  std::vector<int64_t> out = p.batch.dims();
  if (a.rank() > 1) out.push_back(p.m);
  if (b.rank() > 1) out.push_back(p.n);
  Shape s(out);
  EP_ASSIGN_OR_RETURN(int64_t numel, checked_numel(s));
  (void)numel;
  return s;
}

// y[batch] = a[batch] x b[batch] for every (broadcast) batch index.
template <typename T>
void matmul_run(const MatMulPlan& p, const T* a, const T* b, T* y) {
  const std::vector<int64_t> st[3] = {strides_of(p.batch), p.a_batch_strides, p.b_batch_strides};
  for_each_index(p.batch, st, [&](int64_t, const int64_t* o) {
    T* yb = y + o[0] * p.m * p.n;
    std::fill(yb, yb + p.m * p.n, T(0));
    gemm_accumulate<T>(p.m, p.n, p.k, a + o[1] * p.m * p.k, p.k, 1, b + o[2] * p.k * p.n, p.n, 1, yb, p.n);
  });
}

class MatMulKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& ctx) override {
    EP_RETURN_IF_ERROR(ctx.expect_inputs(2, 2));
    const TensorInfo& a = ctx.input(0);
    const TensorInfo& b = ctx.input(1);
    if (!matmul_dtype(a.dtype)) return ctx.unsupported_error("dtype ", dtype_name(a.dtype));
    if (b.dtype != a.dtype) return ctx.error("input dtypes differ: ", dtype_name(a.dtype), " and ", dtype_name(b.dtype));
    EP_ASSIGN_OR_RETURN(Shape out, plan_matmul(ctx, a.shape, b.shape, p_));
    ctx.set_output(0, a.dtype, out);
    return Status::ok();
  }

  Status run(const RunContext& ctx) noexcept override {
    const TensorView& a = ctx.inputs[0];
    dispatch<float, double, int32_t, int64_t, uint32_t, uint64_t>(a.dtype, [&](auto tag) {
      using T = decltype(tag);
      matmul_run<T>(p_, a.as<T>(), ctx.inputs[1].as<T>(), ctx.outputs[0].as<T>());
    });
    return Status::ok();
  }

 private:
  MatMulPlan p_;
};

// MatMulInteger: operands minus zero points, widened to i32 in scratch, then MatMul.
class MatMulIntegerKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& ctx) override {
    EP_RETURN_IF_ERROR(ctx.expect_inputs(2, 4));
    const TensorInfo& a = ctx.input(0);
    const TensorInfo& b = ctx.input(1);
    for (size_t i = 0; i < 4; ++i) {
      if (!ctx.has_input(i)) continue;
      const DType t = ctx.input(i).dtype;
      if (t != DType::i8 && t != DType::u8) return ctx.error("input ", i, " has dtype ", dtype_name(t), ", expected i8 or u8");
      if (i >= 2 && t != ctx.input(i - 2).dtype) return ctx.error("zero point ", i, " dtype differs from its operand");
    }
    EP_ASSIGN_OR_RETURN(Shape out, plan_matmul(ctx, a.shape, b.shape, p_));
    // Zero points: per tensor, or per row of A / per column of B.
    if (ctx.has_input(2)) {
      const Shape& z = ctx.input(2).shape;
      if (!(z.numel() == 1 || (z.rank() == 1 && z[0] == p_.m))) return ctx.unsupported_error("a_zero_point shape ", z.to_string());
    }
    if (ctx.has_input(3)) {
      const Shape& z = ctx.input(3).shape;
      if (!(z.numel() == 1 || (z.rank() == 1 && z[0] == p_.n))) return ctx.unsupported_error("b_zero_point shape ", z.to_string());
    }
    ctx.request_scratch(static_cast<size_t>(a.shape.numel() + b.shape.numel()) * sizeof(int32_t));
    ctx.set_output(0, DType::i32, out);
    return Status::ok();
  }

  Status run(const RunContext& ctx) noexcept override {
    const TensorView& a = ctx.inputs[0];
    const TensorView& b = ctx.inputs[1];
    int32_t* wa = static_cast<int32_t*>(ctx.scratch);
    int32_t* wb = wa + a.numel();
    const TensorView* za = ctx.inputs.size() > 2 && ctx.inputs[2].data ? &ctx.inputs[2] : nullptr;
    const TensorView* zb = ctx.inputs.size() > 3 && ctx.inputs[3].data ? &ctx.inputs[3] : nullptr;
    for (int64_t i = 0; i < a.numel(); ++i) {  // element i lies in row (i / k) % m
      const int64_t z = !za ? 0 : view_get_i64(*za, za->numel() == 1 ? 0 : (i / p_.k) % p_.m);
      wa[i] = static_cast<int32_t>(view_get_i64(a, i) - z);
    }
    for (int64_t i = 0; i < b.numel(); ++i) {  // element i lies in column i % n
      const int64_t z = !zb ? 0 : view_get_i64(*zb, zb->numel() == 1 ? 0 : i % p_.n);
      wb[i] = static_cast<int32_t>(view_get_i64(b, i) - z);
    }
    matmul_run<int32_t>(p_, wa, wb, ctx.outputs[0].as<int32_t>());
    return Status::ok();
  }

 private:
  MatMulPlan p_;
};

}  // namespace

std::unique_ptr<Kernel> make_gemm() { return std::make_unique<GemmKernel>(); }
std::unique_ptr<Kernel> make_matmul() { return std::make_unique<MatMulKernel>(); }
std::unique_ptr<Kernel> make_matmul_integer() { return std::make_unique<MatMulIntegerKernel>(); }

}  // namespace ep::kernels::ref
