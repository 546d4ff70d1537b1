// Per-element choices: Where (condition picks X or Y, broadcast three ways), Trilu (keeps a
// triangle, zeroes the rest) and Not (the one unary logical op).
#include <cstring>

#include "kernels/ref/data_movement.h"
#include "kernels/ref/ref_kernels.h"

namespace ep::kernels::ref {
namespace {

class WhereKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& ctx) override {
    EP_RETURN_IF_ERROR(ctx.expect_inputs(3, 3));
    const TensorInfo& c = ctx.input(0);
    const TensorInfo& x = ctx.input(1);
    const TensorInfo& y = ctx.input(2);
    if (c.dtype != DType::boolean) return ctx.error("condition has dtype ", dtype_name(c.dtype), ", expected bool");
    if (x.dtype != y.dtype) return ctx.error("X and Y dtypes differ: ", dtype_name(x.dtype), " and ", dtype_name(y.dtype));
    EP_ASSIGN_OR_RETURN(Shape out, broadcast_shapes(ctx, {c.shape, x.shape, y.shape}));
    EP_RETURN_IF_ERROR(expect_static(ctx, out, "output"));
    ctx.set_output(0, x.dtype, out);
    return Status::ok();
  }

  Status run(const RunContext& ctx) noexcept override {
    const TensorView& c = ctx.inputs[0];
    const TensorView& x = ctx.inputs[1];
    const TensorView& y = ctx.inputs[2];
    const TensorView& out = ctx.outputs[0];
    const std::vector<int64_t> st[3] = {broadcast_strides(c.shape, out.shape), broadcast_strides(x.shape, out.shape),
                                        broadcast_strides(y.shape, out.shape)};
    const bool* pc = c.as<bool>();
    dispatch_by_size(out.dtype, [&](auto tag) {
      using U = decltype(tag);
      const U* px = x.as<U>();
      const U* py = y.as<U>();
      U* po = out.as<U>();
      for_each_index(out.shape, st, [&](int64_t i, const int64_t* o) { po[i] = pc[o[0]] ? px[o[1]] : py[o[2]]; });
    });
    return Status::ok();
  }
};

class TriluKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& ctx) override {
    EP_RETURN_IF_ERROR(ctx.expect_inputs(1, 2));
    const TensorInfo& x = ctx.input(0);
    if (x.shape.rank() < 2) return ctx.error("input rank ", x.shape.rank(), ", expected >= 2");
    EP_RETURN_IF_ERROR(expect_static(ctx, x.shape, "input"));
    if (ctx.has_input(1)) {  // k is data: read in run
      const TensorInfo& k = ctx.input(1);
      if (k.dtype != DType::i64 || k.shape.numel() != 1) return ctx.error("k must be an i64 scalar");
    }
    EP_ASSIGN_OR_RETURN(int64_t upper, ctx.node().attr_int("upper", 1));
    upper_ = upper != 0;
    ctx.set_output(0, x.dtype, x.shape);
    return Status::ok();
  }

  Status run(const RunContext& ctx) noexcept override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    const int64_t k = ctx.inputs.size() > 1 && ctx.inputs[1].data ? ctx.inputs[1].as<int64_t>()[0] : 0;
    const size_t r = x.shape.rank();
    const int64_t rows = x.shape[r - 2], cols = x.shape[r - 1];
    const int64_t mats = rows * cols == 0 ? 0 : x.numel() / (rows * cols);
    const size_t esize = dtype_size(x.dtype);
    if (y.nbytes()) std::memcpy(y.data, x.data, y.nbytes());
    char* p = static_cast<char*>(y.data);
    for (int64_t m = 0; m < mats; ++m)
      for (int64_t i = 0; i < rows; ++i)
        for (int64_t j = 0; j < cols; ++j) {
          // Kept: j - i >= k (upper) or j - i <= k (lower); written to avoid i + k overflowing.
          const bool keep = upper_ ? (j - i >= k) : (j - i <= k);
          if (!keep) std::memset(p + static_cast<size_t>((m * rows + i) * cols + j) * esize, 0, esize);
        }
    return Status::ok();
  }

 private:
  bool upper_ = true;
};

class NotKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& ctx) override {
    EP_RETURN_IF_ERROR(ctx.expect_inputs(1, 1));
    const TensorInfo& x = ctx.input(0);
    if (x.dtype != DType::boolean) return ctx.error("dtype ", dtype_name(x.dtype), ", expected bool");
    ctx.set_output(0, DType::boolean, x.shape);
    return Status::ok();
  }
  Status run(const RunContext& ctx) noexcept override {
    const int64_t n = ctx.inputs[0].numel();
    for (int64_t i = 0; i < n; ++i) ctx.outputs[0].as<bool>()[i] = !ctx.inputs[0].as<bool>()[i];
    return Status::ok();
  }
};

}  // namespace

std::unique_ptr<Kernel> make_where() { return std::make_unique<WhereKernel>(); }
std::unique_ptr<Kernel> make_trilu() { return std::make_unique<TriluKernel>(); }
std::unique_ptr<Kernel> make_not() { return std::make_unique<NotKernel>(); }

}  // namespace ep::kernels::ref
