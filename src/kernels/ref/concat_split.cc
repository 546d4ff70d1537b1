// Concat and Split: both move contiguous blocks of `dim(axis) * inner` elements per outer index.
#include <cstring>

#include "kernels/ref/data_movement.h"
#include "kernels/ref/ref_kernels.h"

namespace ep::kernels::ref {
namespace {

// Product of dims [from, to).
int64_t dims_product(const Shape& s, size_t from, size_t to) {
  int64_t p = 1;
  for (size_t i = from; i < to; ++i) p *= s[i];
  return p;
}

class ConcatKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& ctx) override {
    EP_ASSIGN_OR_RETURN(size_t axis, concat_prepare(ctx));
    axis_ = axis;
    return Status::ok();
  }

  Status run(const RunContext& ctx) noexcept override {
    const TensorView& y = ctx.outputs[0];
    const size_t esize = dtype_size(y.dtype);
    const int64_t outer = dims_product(y.shape, 0, axis_);
    const int64_t inner = dims_product(y.shape, axis_ + 1, y.shape.rank());
    char* dst = static_cast<char*>(y.data);
    for (int64_t o = 0; o < outer; ++o) {
      for (const TensorView& x : ctx.inputs) {
        const size_t block = static_cast<size_t>(x.shape[axis_] * inner) * esize;
        if (block == 0) continue;
        copy_run(dst, static_cast<const char*>(x.data) + static_cast<size_t>(o) * block, block);
        dst += block;
      }
    }
    return Status::ok();
  }

 private:
  size_t axis_ = 0;
};

class SplitKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& ctx) override {
    EP_RETURN_IF_ERROR(ctx.expect_inputs(1, ctx.opset() >= 13 ? 2 : 1));
    const TensorInfo& x = ctx.input(0);
    EP_RETURN_IF_ERROR(expect_static(ctx, x.shape, "input"));
    const int64_t rank = static_cast<int64_t>(x.shape.rank());
    if (rank == 0) return ctx.error("cannot split a scalar");
    EP_ASSIGN_OR_RETURN(int64_t axis, ctx.node().attr_int("axis", 0));
    EP_ASSIGN_OR_RETURN(axis, ctx.normalize_axis(axis, rank));
    axis_ = static_cast<size_t>(axis);
    EP_ASSIGN_OR_RETURN(sizes_, split_sizes(ctx, x.shape[axis_]));
    for (size_t i = 0; i < sizes_.size(); ++i) {
      Shape s = x.shape;
      s[axis_] = sizes_[i];
      ctx.set_output(i, x.dtype, s);
    }
    return Status::ok();
  }

  Status run(const RunContext& ctx) noexcept override {
    const TensorView& x = ctx.inputs[0];
    const size_t esize = dtype_size(x.dtype);
    const int64_t outer = dims_product(x.shape, 0, axis_);
    const int64_t inner = dims_product(x.shape, axis_ + 1, x.shape.rank());
    const size_t in_block = static_cast<size_t>(x.shape[axis_] * inner) * esize;
    size_t start = 0;  // byte offset of output i's part inside one outer block
    for (size_t i = 0; i < sizes_.size(); ++i) {
      const size_t block = static_cast<size_t>(sizes_[i] * inner) * esize;
      char* dst = static_cast<char*>(ctx.outputs[i].data);
      if (dst && block)
        for (int64_t o = 0; o < outer; ++o)
          std::memcpy(dst + static_cast<size_t>(o) * block,
                      static_cast<const char*>(x.data) + static_cast<size_t>(o) * in_block + start, block);
      start += block;
    }
    return Status::ok();
  }

 private:
  // Sizes along the axis, from `split` (attribute before 13, input after), `num_outputs` (18),
  // or else equal parts, one per output.
  Result<std::vector<int64_t>> split_sizes(const PrepareContext& ctx, int64_t dim) const {
    const int64_t outs = static_cast<int64_t>(ctx.num_outputs());
    EP_ASSIGN_OR_RETURN(IntsArg split, ints_attr_or_input(ctx, "split", 1, 13));
    if (split.present) {
      if (ctx.opset() >= 18 && ctx.node().has_attr("num_outputs"))
        return ctx.error("both split and num_outputs are given");
      if (static_cast<int64_t>(split.values.size()) != outs)
        return ctx.error("split has ", split.values.size(), " entries for ", outs, " outputs");
      int64_t sum = 0;
      for (int64_t s : split.values) {
        if (s < 0) return ctx.error("split size ", s, " is negative");
        sum += s;
      }
      if (sum != dim) return ctx.error("split sizes sum to ", sum, ", axis ", axis_, " has ", dim);
      return split.values;
    }
    if (outs < 1) return ctx.error("has no outputs");
    if (ctx.opset() >= 18 && ctx.node().has_attr("num_outputs")) {
      EP_ASSIGN_OR_RETURN(int64_t n, ctx.node().attr_int("num_outputs"));
      if (n != outs) return ctx.error("num_outputs ", n, " but the node has ", outs, " outputs");
      // Parts of ceil(dim / n); the last one takes what is left.
      const int64_t part = (dim + n - 1) / n;
      std::vector<int64_t> sizes(static_cast<size_t>(n));
      int64_t left = dim;
      for (int64_t& s : sizes) {
        s = std::min(part, left);
        left -= s;
      }
      return sizes;
    }
    if (dim % outs != 0) return ctx.error("axis ", axis_, " of size ", dim, " does not split into ", outs, " equal parts");
    return std::vector<int64_t>(static_cast<size_t>(outs), dim / outs);
  }

  size_t axis_ = 0;
  std::vector<int64_t> sizes_;
};

}  // namespace

Result<size_t> concat_prepare(PrepareContext& ctx) {
  const size_t n = ctx.num_inputs();
  EP_RETURN_IF_ERROR(ctx.expect_inputs(1, n < 1 ? 1 : n));
  const TensorInfo& x0 = ctx.input(0);
  const int64_t rank = static_cast<int64_t>(x0.shape.rank());
  if (rank == 0) return ctx.error("cannot concatenate scalars");
  EP_ASSIGN_OR_RETURN(int64_t a, ctx.node().attr_int("axis"));
  EP_ASSIGN_OR_RETURN(a, ctx.normalize_axis(a, rank));
  const size_t axis = static_cast<size_t>(a);
  Shape out = x0.shape;
  out[axis] = 0;
  for (size_t i = 0; i < n; ++i) {
    const TensorInfo& xi = ctx.input(i);
    EP_RETURN_IF_ERROR(expect_static(ctx, xi.shape, "input"));
    if (xi.dtype != x0.dtype) return ctx.error("input ", i, " has dtype ", dtype_name(xi.dtype), ", input 0 ", dtype_name(x0.dtype));
    if (xi.shape.rank() != x0.shape.rank()) return ctx.error("input ", i, " has rank ", xi.shape.rank(), ", input 0 ", rank);
    for (size_t d = 0; d < xi.shape.rank(); ++d)
      if (d != axis && xi.shape[d] != x0.shape[d])
        return ctx.error("input ", i, " shape ", xi.shape.to_string(), " does not match input 0 ", x0.shape.to_string(),
                         " off axis ", axis);
    out[axis] += xi.shape[axis];
  }
  EP_RETURN_IF_ERROR(expect_static(ctx, out, "output"));
  ctx.set_output(0, x0.dtype, out);
  return axis;
}

std::unique_ptr<Kernel> make_concat() { return std::make_unique<ConcatKernel>(); }
std::unique_ptr<Kernel> make_split() { return std::make_unique<SplitKernel>(); }

}  // namespace ep::kernels::ref
