// Slice: per axis a start, an end and a step (negative steps walk backwards), clamped as the
// ONNX spec says; the result is a strided view of the input, copied out.
#include <algorithm>

#include "kernels/ref/data_movement.h"
#include "kernels/ref/ref_kernels.h"

namespace ep::kernels::ref {
namespace {

struct SliceArgs {
  std::vector<int64_t> starts, ends, axes, steps;
};

// Attributes before opset 10, inputs (starts, ends, axes, steps) from 10.
Result<SliceArgs> read_args(const PrepareContext& ctx) {
  SliceArgs a;
  const ir::Node& n = ctx.node();
  if (ctx.opset() < 10) {
    EP_ASSIGN_OR_RETURN(a.starts, n.attr_ints("starts"));
    EP_ASSIGN_OR_RETURN(a.ends, n.attr_ints("ends"));
    if (n.has_attr("axes")) {
      EP_ASSIGN_OR_RETURN(a.axes, n.attr_ints("axes"));
    }
  } else {
    EP_ASSIGN_OR_RETURN(a.starts, constant_ints(ctx, 1, "starts"));
    EP_ASSIGN_OR_RETURN(a.ends, constant_ints(ctx, 2, "ends"));
    if (ctx.has_input(3)) {
      EP_ASSIGN_OR_RETURN(a.axes, constant_ints(ctx, 3, "axes"));
    }
    if (ctx.has_input(4)) {
      EP_ASSIGN_OR_RETURN(a.steps, constant_ints(ctx, 4, "steps"));
    }
  }
  const size_t k = a.starts.size();
  if (a.ends.size() != k) return ctx.error(k, " starts but ", a.ends.size(), " ends");
  if (a.axes.empty() && !(ctx.opset() >= 10 && ctx.has_input(3)))
    for (size_t i = 0; i < k; ++i) a.axes.push_back(static_cast<int64_t>(i));
  if (a.steps.empty() && !(ctx.opset() >= 10 && ctx.has_input(4))) a.steps.assign(k, 1);
  if (a.axes.size() != k) return ctx.error(k, " starts but ", a.axes.size(), " axes");
  if (a.steps.size() != k) return ctx.error(k, " starts but ", a.steps.size(), " steps");
  return a;
}

// The spec's clamping: negative values count from the end; then starts and ends are
// clamped to [0, dim] going forward, to [0, dim-1] and [-1, dim-1] going backward.
void clamp_range(int64_t dim, int64_t start, int64_t end, int64_t step, int64_t* first, int64_t* len) {
  *first = 0;
  *len = 0;
  if (dim == 0) return;
  if (start < 0) start += dim;  // cannot overflow: dim >= 0
  if (end < 0) end += dim;
  if (step > 0) {
    start = std::clamp<int64_t>(start, 0, dim);
    end = std::clamp<int64_t>(end, 0, dim);
    if (end > start) *len = (end - start - 1) / step + 1;
  } else {
    start = std::clamp<int64_t>(start, 0, dim - 1);
    end = std::clamp<int64_t>(end, -1, dim - 1);
    if (start > end) *len = (start - end - 1) / (-step) + 1;
  }
  if (*len > 0) *first = start;
}

class SliceKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& ctx) override {
    EP_ASSIGN_OR_RETURN(view_, slice_view(ctx));
    ctx.set_output(0, ctx.input(0).dtype, view_.shape);
    return Status::ok();
  }

  Status run(const RunContext& ctx) noexcept override {
    const TensorView& y = ctx.outputs[0];
    strided_copy(ctx.inputs[0].data, view_.base, view_.shape, view_.strides, y.data, y.dtype);
    return Status::ok();
  }

 private:
  StridedView view_;
};

}  // namespace

Result<StridedView> slice_view(const PrepareContext& ctx) {
  EP_RETURN_IF_ERROR(ctx.expect_inputs(ctx.opset() >= 10 ? 3 : 1, ctx.opset() >= 10 ? 5 : 1));
  const TensorInfo& x = ctx.input(0);
  EP_RETURN_IF_ERROR(expect_static(ctx, x.shape, "input"));
  EP_ASSIGN_OR_RETURN(SliceArgs a, read_args(ctx));
  const int64_t rank = static_cast<int64_t>(x.shape.rank());
  EP_ASSIGN_OR_RETURN(a.axes, normalize_axes(ctx, a.axes, rank));
  const std::vector<int64_t> st = strides_of(x.shape);
  std::vector<int64_t> dims = x.shape.dims();
  StridedView v;
  v.strides = st;
  for (size_t i = 0; i < a.axes.size(); ++i) {
    const size_t ax = static_cast<size_t>(a.axes[i]);
    if (a.steps[i] == 0) return ctx.error("step for axis ", ax, " is 0");
    // A step past the dim takes at most one element; clamping it keeps the stride from overflowing.
    const int64_t lim = std::max<int64_t>(x.shape[ax], 1);
    const int64_t step = std::clamp(a.steps[i], -lim, lim);
    int64_t start = 0, len = 0;
    clamp_range(x.shape[ax], a.starts[i], a.ends[i], step, &start, &len);
    dims[ax] = len;
    v.strides[ax] = st[ax] * step;
    v.base += start * st[ax];
  }
  v.shape = Shape(dims);
  if (v.shape.numel() == 0) v.base = 0;  // nothing is read
  return v;
}

std::unique_ptr<Kernel> make_slice() { return std::make_unique<SliceKernel>(); }

}  // namespace ep::kernels::ref
