// Ops that only change the shape (Reshape, Flatten, Squeeze, Unsqueeze, Identity, Dropout at
// inference) and ops that report it (Shape, Size). The data is copied byte for byte.
#include <algorithm>
#include <cstring>

#include "kernels/ref/data_movement.h"
#include "kernels/ref/ref_kernels.h"

namespace ep::kernels::ref {
namespace {

// run(): output 0 is input 0's bytes; subclasses only decide the output shape.
class CopyKernel : public Kernel {
 public:
  Status run(const RunContext& ctx) noexcept override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    if (y.nbytes() && y.data != x.data) std::memcpy(y.data, x.data, y.nbytes());
    return Status::ok();
  }
};

class ReshapeKernel final : public CopyKernel {
 public:
  Status prepare(PrepareContext& ctx) override {
    EP_RETURN_IF_ERROR(ctx.expect_inputs(2, 2));
    const TensorInfo& x = ctx.input(0);
    EP_RETURN_IF_ERROR(expect_static(ctx, x.shape, "input"));
    EP_ASSIGN_OR_RETURN(std::vector<int64_t> dims, constant_ints(ctx, 1, "shape"));
    EP_ASSIGN_OR_RETURN(int64_t allowzero, ctx.node().attr_int("allowzero", 0));
    int64_t infer_at = -1, known = 1;
    for (size_t i = 0; i < dims.size(); ++i) {
      int64_t& d = dims[i];
      if (d == 0 && allowzero == 0) {  // 0 copies the input's dim at the same position
        if (i >= x.shape.rank()) return ctx.error("shape[", i, "] is 0 but the input has rank ", x.shape.rank());
        d = x.shape[i];
      }
      if (d == -1) {
        if (infer_at >= 0) return ctx.error("shape has more than one -1");
        infer_at = static_cast<int64_t>(i);
        continue;
      }
      if (d < -1) return ctx.error("shape[", i, "] is ", d);
      EP_ASSIGN_OR_RETURN(known, checked_dim_mul(ctx, known, d));
    }
    const int64_t n = x.shape.numel();
    if (infer_at >= 0) {
      if (known == 0 || n % known != 0)
        return ctx.error("cannot infer the -1 of shape for input ", x.shape.to_string());
      dims[static_cast<size_t>(infer_at)] = n / known;
    } else if (known != n) {
      return ctx.error("shape ", Shape(dims).to_string(), " does not hold the ", n, " elements of input ",
                       x.shape.to_string());
    }
    ctx.set_output(0, x.dtype, Shape(dims));
    return Status::ok();
  }
};

class FlattenKernel final : public CopyKernel {
 public:
  Status prepare(PrepareContext& ctx) override {
    EP_RETURN_IF_ERROR(ctx.expect_inputs(1, 1));
    const TensorInfo& x = ctx.input(0);
    EP_RETURN_IF_ERROR(expect_static(ctx, x.shape, "input"));
    const int64_t rank = static_cast<int64_t>(x.shape.rank());
    EP_ASSIGN_OR_RETURN(int64_t axis, ctx.node().attr_int("axis", 1));
    if (axis < -rank || axis > rank) return ctx.error("axis ", axis, " is out of range for rank ", rank);
    if (axis < 0) axis += rank;
    int64_t outer = 1, inner = 1;
    for (int64_t i = 0; i < rank; ++i) (i < axis ? outer : inner) *= x.shape[static_cast<size_t>(i)];
    ctx.set_output(0, x.dtype, Shape{outer, inner});
    return Status::ok();
  }
};

class SqueezeKernel final : public CopyKernel {
 public:
  Status prepare(PrepareContext& ctx) override {
    EP_RETURN_IF_ERROR(ctx.expect_inputs(1, ctx.opset() >= 13 ? 2 : 1));
    const TensorInfo& x = ctx.input(0);
    EP_RETURN_IF_ERROR(expect_static(ctx, x.shape, "input"));
    const int64_t rank = static_cast<int64_t>(x.shape.rank());
    EP_ASSIGN_OR_RETURN(IntsArg axes, ints_attr_or_input(ctx, "axes", 1, 13));
    std::vector<bool> drop(x.shape.rank(), false);
    if (!axes.present) {  // no axes: every dim of size 1 goes
      for (size_t i = 0; i < x.shape.rank(); ++i) drop[i] = x.shape[i] == 1;
    } else {
      EP_ASSIGN_OR_RETURN(std::vector<int64_t> ax, normalize_axes(ctx, axes.values, rank));
      for (int64_t a : ax) {
        if (x.shape[static_cast<size_t>(a)] != 1)
          return ctx.error("cannot squeeze axis ", a, " of size ", x.shape[static_cast<size_t>(a)]);
        drop[static_cast<size_t>(a)] = true;
      }
    }
    std::vector<int64_t> dims;
    for (size_t i = 0; i < x.shape.rank(); ++i)
      if (!drop[i]) dims.push_back(x.shape[i]);
    ctx.set_output(0, x.dtype, Shape(dims));
    return Status::ok();
  }
};

class UnsqueezeKernel final : public CopyKernel {
 public:
  Status prepare(PrepareContext& ctx) override {
    EP_RETURN_IF_ERROR(ctx.expect_inputs(ctx.opset() >= 13 ? 2 : 1, ctx.opset() >= 13 ? 2 : 1));
    const TensorInfo& x = ctx.input(0);
    EP_RETURN_IF_ERROR(expect_static(ctx, x.shape, "input"));
    EP_ASSIGN_OR_RETURN(IntsArg axes, ints_attr_or_input(ctx, "axes", 1, 13));
    if (!axes.present) return ctx.error("axes are required");
    const int64_t out_rank = static_cast<int64_t>(x.shape.rank() + axes.values.size());
    EP_ASSIGN_OR_RETURN(std::vector<int64_t> ax, normalize_axes(ctx, axes.values, out_rank));
    std::vector<int64_t> dims(static_cast<size_t>(out_rank), 0);
    for (int64_t a : ax) dims[static_cast<size_t>(a)] = -1;  // marks an inserted 1
    size_t next = 0;
    for (int64_t& d : dims) d = d == -1 ? 1 : x.shape[next++];
    ctx.set_output(0, x.dtype, Shape(dims));
    return Status::ok();
  }
};

class IdentityKernel final : public CopyKernel {
 public:
  Status prepare(PrepareContext& ctx) override {
    EP_RETURN_IF_ERROR(ctx.expect_inputs(1, 1));
    ctx.set_output(0, ctx.input(0).dtype, ctx.input(0).shape);
    return Status::ok();
  }
};

// Inference-only Dropout: the identity, with a mask that keeps everything.
class DropoutKernel final : public CopyKernel {
 public:
  Status prepare(PrepareContext& ctx) override {
    EP_RETURN_IF_ERROR(ctx.expect_inputs(1, ctx.opset() >= 12 ? 3 : 1));
    const TensorInfo& x = ctx.input(0);
    if (ctx.opset() >= 12 && ctx.has_input(2)) {
      const TensorInfo& t = ctx.input(2);
      if (t.dtype != DType::boolean || t.shape.numel() != 1) return ctx.error("training_mode must be a bool scalar");
      if (!t.constant) return ctx.unsupported_error("training_mode (input 2)", kMustBeConstant);
      if (t.constant->as<bool>()[0] && !ratio_is_zero(ctx))
        return ctx.unsupported_error("training mode (random dropout) is not supported");
    }
    ctx.set_output(0, x.dtype, x.shape);
    // The mask became bool at opset 10; before, it had the input's type.
    if (ctx.output_requested(1)) ctx.set_output(1, ctx.opset() >= 10 ? DType::boolean : x.dtype, x.shape);
    return Status::ok();
  }

  Status run(const RunContext& ctx) noexcept override {
    EP_RETURN_IF_ERROR(CopyKernel::run(ctx));
    if (ctx.outputs.size() < 2 || !ctx.outputs[1].data) return Status::ok();
    const TensorView& m = ctx.outputs[1];
    const int64_t n = m.numel();
    if (m.dtype == DType::f16 || m.dtype == DType::bf16) {  // opset < 10: the mask has x's type
      const uint16_t one = m.dtype == DType::f16 ? f32_to_f16(1.f) : f32_to_bf16(1.f);
      for (int64_t i = 0; i < n; ++i) m.as<uint16_t>()[i] = one;
    }
    dispatch<bool, float, double>(m.dtype, [&](auto tag) {
      using T = decltype(tag);
      for (int64_t i = 0; i < n; ++i) m.as<T>()[i] = static_cast<T>(1);
    });
    return Status::ok();
  }

 private:
  static bool ratio_is_zero(const PrepareContext& ctx) {
    if (!ctx.has_input(1)) return false;  // the default ratio is 0.5
    const TensorInfo& r = ctx.input(1);
    return r.constant && r.constant->numel() == 1 && view_get_f64(r.constant->view(), 0) == 0.0;
  }
};

class ShapeKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& ctx) override {
    EP_RETURN_IF_ERROR(ctx.expect_inputs(1, 1));
    const Shape& s = ctx.input(0).shape;
    EP_RETURN_IF_ERROR(expect_static(ctx, s, "input"));
    const int64_t rank = static_cast<int64_t>(s.rank());
    EP_ASSIGN_OR_RETURN(int64_t start, ctx.node().attr_int("start", 0));
    EP_ASSIGN_OR_RETURN(int64_t end, ctx.node().attr_int("end", rank));
    // Out-of-range start/end are clamped, as the spec says.
    start = std::clamp(start < 0 ? start + rank : start, int64_t{0}, rank);
    end = std::clamp(end < 0 ? end + rank : end, int64_t{0}, rank);
    dims_.assign(s.dims().begin() + start, s.dims().begin() + std::max(start, end));
    ctx.set_output(0, DType::i64, Shape{static_cast<int64_t>(dims_.size())});
    return Status::ok();
  }
  Status run(const RunContext& ctx) noexcept override {
    for (size_t i = 0; i < dims_.size(); ++i) ctx.outputs[0].as<int64_t>()[i] = dims_[i];
    return Status::ok();
  }

 private:
  std::vector<int64_t> dims_;
};

class SizeKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& ctx) override {
    EP_RETURN_IF_ERROR(ctx.expect_inputs(1, 1));
    EP_RETURN_IF_ERROR(expect_static(ctx, ctx.input(0).shape, "input"));
    numel_ = ctx.input(0).shape.numel();
    ctx.set_output(0, DType::i64, Shape{});
    return Status::ok();
  }
  Status run(const RunContext& ctx) noexcept override {
    ctx.outputs[0].as<int64_t>()[0] = numel_;
    return Status::ok();
  }

 private:
  int64_t numel_ = 0;
};

}  // namespace

std::unique_ptr<Kernel> make_shape() { return std::make_unique<ShapeKernel>(); }
std::unique_ptr<Kernel> make_size() { return std::make_unique<SizeKernel>(); }
std::unique_ptr<Kernel> make_reshape() { return std::make_unique<ReshapeKernel>(); }
std::unique_ptr<Kernel> make_flatten() { return std::make_unique<FlattenKernel>(); }
std::unique_ptr<Kernel> make_squeeze() { return std::make_unique<SqueezeKernel>(); }
std::unique_ptr<Kernel> make_unsqueeze() { return std::make_unique<UnsqueezeKernel>(); }
std::unique_ptr<Kernel> make_identity() { return std::make_unique<IdentityKernel>(); }
std::unique_ptr<Kernel> make_dropout() { return std::make_unique<DropoutKernel>(); }

}  // namespace ep::kernels::ref
