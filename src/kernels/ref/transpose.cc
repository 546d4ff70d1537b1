// Permutations of axes: Transpose, and DepthToSpace / SpaceToDepth, which are a reshape,
// a transpose and a reshape. Each prepares a (virtual shape, input strides) view for strided_copy.
#include <numeric>

#include "kernels/ref/data_movement.h"
#include "kernels/ref/ref_kernels.h"

namespace ep::kernels::ref {
namespace {

class PermuteKernel : public Kernel {
 public:
  Status run(const RunContext& ctx) noexcept override {
    const TensorView& y = ctx.outputs[0];
    strided_copy(ctx.inputs[0].data, 0, view_shape_, in_strides_, y.data, y.dtype);
    return Status::ok();
  }

 protected:
  Shape view_shape_;                 // the output, seen in as many dims as the permutation needs
  std::vector<int64_t> in_strides_;  // where each of those dims steps in the input
};

class TransposeKernel final : public PermuteKernel {
 public:
  Status prepare(PrepareContext& ctx) override {
    EP_RETURN_IF_ERROR(ctx.expect_inputs(1, 1));
    const TensorInfo& x = ctx.input(0);
    EP_RETURN_IF_ERROR(expect_static(ctx, x.shape, "input"));
    const size_t rank = x.shape.rank();
    std::vector<int64_t> perm(rank);
    std::iota(perm.rbegin(), perm.rend(), 0);  // default: reverse the axes
    if (ctx.node().has_attr("perm")) {
      EP_ASSIGN_OR_RETURN(perm, ctx.node().attr_ints("perm"));
      if (perm.size() != rank) return ctx.error("perm has ", perm.size(), " entries for rank ", rank);
      EP_ASSIGN_OR_RETURN(perm, normalize_axes(ctx, perm, static_cast<int64_t>(rank), "perm"));
    }
    std::vector<int64_t> dims(rank);
    for (size_t i = 0; i < rank; ++i) dims[i] = x.shape[static_cast<size_t>(perm[i])];
    view_shape_ = Shape(dims);
    in_strides_ = permuted_strides(x.shape, perm);
    ctx.set_output(0, x.dtype, view_shape_);
    return Status::ok();
  }
};

// Validates the NCHW input and the blocksize shared by both ops.
Result<int64_t> prepare_block(PrepareContext& ctx) {
  EP_RETURN_IF_ERROR(ctx.expect_inputs(1, 1));
  const Shape& s = ctx.input(0).shape;
  if (s.rank() != 4) return ctx.error("input rank ", s.rank(), ", expected 4 (NCHW)");
  EP_RETURN_IF_ERROR(expect_static(ctx, s, "input"));
  EP_ASSIGN_OR_RETURN(int64_t bs, ctx.node().attr_int("blocksize"));
  if (bs <= 0) return ctx.error("blocksize ", bs, " must be positive");
  return bs;
}

class DepthToSpaceKernel final : public PermuteKernel {
 public:
  Status prepare(PrepareContext& ctx) override {
    EP_ASSIGN_OR_RETURN(int64_t bs, prepare_block(ctx));
    const TensorInfo& x = ctx.input(0);
    const int64_t n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3];
    EP_ASSIGN_OR_RETURN(int64_t bs2, checked_dim_mul(ctx, bs, bs));
    if (c % bs2 != 0) return ctx.error("channels ", c, " are not a multiple of blocksize^2 = ", bs2);
    const int64_t oc = c / bs2;
    EP_ASSIGN_OR_RETURN(std::string mode, ctx.node().attr_string("mode", std::string("DCR")));
    if (mode == "DCR") {  // input viewed as [n, bs, bs, oc, h, w]
      set_view(Shape{n, bs, bs, oc, h, w}, {0, 3, 4, 1, 5, 2});
    } else if (mode == "CRD") {  // input viewed as [n, oc, bs, bs, h, w]
      set_view(Shape{n, oc, bs, bs, h, w}, {0, 1, 4, 2, 5, 3});
    } else {
      return ctx.error("mode '", mode, "' is not DCR or CRD");
    }
    EP_ASSIGN_OR_RETURN(int64_t oh, checked_dim_mul(ctx, h, bs));
    EP_ASSIGN_OR_RETURN(int64_t ow, checked_dim_mul(ctx, w, bs));
    ctx.set_output(0, x.dtype, Shape{n, oc, oh, ow});
    return Status::ok();
  }

 private:
  void set_view(const Shape& in_view, const std::vector<int64_t>& perm) {
    std::vector<int64_t> dims(perm.size());
    for (size_t i = 0; i < perm.size(); ++i) dims[i] = in_view[static_cast<size_t>(perm[i])];
    view_shape_ = Shape(dims);
    in_strides_ = permuted_strides(in_view, perm);
  }
};

class SpaceToDepthKernel final : public PermuteKernel {
 public:
  Status prepare(PrepareContext& ctx) override {
    EP_ASSIGN_OR_RETURN(int64_t bs, prepare_block(ctx));
    const TensorInfo& x = ctx.input(0);
    const int64_t n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3];
    if (h % bs != 0 || w % bs != 0) return ctx.error("spatial size ", h, "x", w, " is not a multiple of blocksize ", bs);
    // input viewed as [n, c, h/bs, bs, w/bs, bs], output as [n, bs, bs, c, h/bs, w/bs]
    const Shape in_view{n, c, h / bs, bs, w / bs, bs};
    const std::vector<int64_t> perm = {0, 3, 5, 1, 2, 4};
    view_shape_ = Shape{n, bs, bs, c, h / bs, w / bs};
    in_strides_ = permuted_strides(in_view, perm);
    ctx.set_output(0, x.dtype, Shape{n, c * bs * bs, h / bs, w / bs});
    return Status::ok();
  }
};

}  // namespace

std::unique_ptr<Kernel> make_transpose() { return std::make_unique<TransposeKernel>(); }
std::unique_ptr<Kernel> make_depth_to_space() { return std::make_unique<DepthToSpaceKernel>(); }
std::unique_ptr<Kernel> make_space_to_depth() { return std::make_unique<SpaceToDepthKernel>(); }

}  // namespace ep::kernels::ref
