// Expand (broadcast to a shape) and Tile (repeat along each axis). Both are strided reads of
// the input: Expand with stride 0 on broadcast dims, Tile through the view [r0, d0, r1, d1, ...]
// whose repeat dims have stride 0.
#include "kernels/ref/data_movement.h"
#include "kernels/ref/ref_kernels.h"

namespace ep::kernels::ref {
namespace {

class RepeatKernel : public Kernel {
 public:
  Status run(const RunContext& ctx) noexcept override {
    const TensorView& y = ctx.outputs[0];
    strided_copy(ctx.inputs[0].data, 0, view_shape_, in_strides_, y.data, y.dtype);
    return Status::ok();
  }

 protected:
  Shape view_shape_;
  std::vector<int64_t> in_strides_;
};

class ExpandKernel final : public RepeatKernel {
 public:
  Status prepare(PrepareContext& ctx) override {
    EP_RETURN_IF_ERROR(ctx.expect_inputs(2, 2));
    const TensorInfo& x = ctx.input(0);
    EP_RETURN_IF_ERROR(expect_static(ctx, x.shape, "input"));
    EP_ASSIGN_OR_RETURN(std::vector<int64_t> dims, constant_ints(ctx, 1, "shape"));
    for (int64_t d : dims)
      if (d < 0) return ctx.error("shape ", Shape(dims).to_string(), " has a negative dim");
    EP_ASSIGN_OR_RETURN(view_shape_, broadcast_shapes(ctx, {x.shape, Shape(dims)}));
    EP_RETURN_IF_ERROR(expect_static(ctx, view_shape_, "output"));
    in_strides_ = broadcast_strides(x.shape, view_shape_);
    ctx.set_output(0, x.dtype, view_shape_);
    return Status::ok();
  }
};

class TileKernel final : public RepeatKernel {
 public:
  Status prepare(PrepareContext& ctx) override {
    EP_RETURN_IF_ERROR(ctx.expect_inputs(2, 2));
    const TensorInfo& x = ctx.input(0);
    EP_RETURN_IF_ERROR(expect_static(ctx, x.shape, "input"));
    EP_ASSIGN_OR_RETURN(std::vector<int64_t> reps, constant_ints(ctx, 1, "repeats"));
    if (reps.size() != x.shape.rank()) return ctx.error(reps.size(), " repeats for input rank ", x.shape.rank());
    const std::vector<int64_t> st = strides_of(x.shape);
    std::vector<int64_t> view, out;
    in_strides_.clear();
    for (size_t i = 0; i < reps.size(); ++i) {
      if (reps[i] < 0) return ctx.error("repeats[", i, "] is ", reps[i]);
      EP_ASSIGN_OR_RETURN(int64_t d, checked_dim_mul(ctx, reps[i], x.shape[i]));
      out.push_back(d);
      view.insert(view.end(), {reps[i], x.shape[i]});
      in_strides_.insert(in_strides_.end(), {0, st[i]});
    }
    EP_RETURN_IF_ERROR(expect_static(ctx, Shape(out), "output"));
    view_shape_ = Shape(view);
    ctx.set_output(0, x.dtype, Shape(out));
    return Status::ok();
  }
};

}  // namespace

std::unique_ptr<Kernel> make_expand() { return std::make_unique<ExpandKernel>(); }
std::unique_ptr<Kernel> make_tile() { return std::make_unique<TileKernel>(); }

}  // namespace ep::kernels::ref
