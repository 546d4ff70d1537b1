// Ops that make tensors from little: ConstantOfShape, Range, EyeLike and OneHot.
#include <cmath>
#include <cstring>
#include <limits>

#include "kernels/ref/data_movement.h"
#include "kernels/ref/ref_kernels.h"

namespace ep::kernels::ref {
namespace {

// Writes `value` (one element of dt's size) to all n elements at dst.
void fill(DType dt, void* dst, int64_t n, const void* value) {
  dispatch_by_size(dt, [&](auto tag) {
    using U = decltype(tag);
    U v;
    std::memcpy(&v, value, sizeof(U));
    for (int64_t i = 0; i < n; ++i) static_cast<U*>(dst)[i] = v;
  });
}

class ConstantOfShapeKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& ctx) override {
    EP_RETURN_IF_ERROR(ctx.expect_inputs(1, 1));
    EP_ASSIGN_OR_RETURN(std::vector<int64_t> dims, constant_ints(ctx, 0, "shape"));
    DType dt = DType::f32;
    std::memset(value_, 0, sizeof(value_));
    if (ctx.node().has_attr("value")) {
      EP_ASSIGN_OR_RETURN(std::shared_ptr<const Tensor> v, ctx.node().attr_tensor("value"));
      if (!v || v->numel() != 1) return ctx.error("attribute 'value' must hold exactly one element");
      dt = v->dtype();
      if (dtype_size(dt) == 0 || dtype_size(dt) > sizeof(value_)) return ctx.unsupported_error("value dtype ", dtype_name(dt));
      std::memcpy(value_, v->data(), dtype_size(dt));
    }
    for (int64_t d : dims)
      if (d < 0) return ctx.error("shape ", Shape(dims).to_string(), " has a negative dim");
    EP_RETURN_IF_ERROR(expect_static(ctx, Shape(dims), "output"));
    ctx.set_output(0, dt, Shape(dims));
    return Status::ok();
  }
  Status run(const RunContext& ctx) noexcept override {
    const TensorView& y = ctx.outputs[0];
    fill(y.dtype, y.data, y.numel(), value_);
    return Status::ok();
  }

 private:
  uint8_t value_[8];
};

class RangeKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& ctx) override {
    EP_RETURN_IF_ERROR(ctx.expect_inputs(3, 3));
    const DType dt = ctx.input(0).dtype;
    if (dt != DType::f32 && dt != DType::f64 && dt != DType::i16 && dt != DType::i32 && dt != DType::i64)
      return ctx.error("dtype ", dtype_name(dt), " is not f32, f64, i16, i32 or i64");
    double v[3];
    for (size_t i = 0; i < 3; ++i) {
      const TensorInfo& in = ctx.input(i);
      if (in.dtype != dt) return ctx.error("input ", i, " has dtype ", dtype_name(in.dtype), ", input 0 ", dtype_name(dt));
      if (in.shape.numel() != 1) return ctx.error("input ", i, " is not a scalar");
      // The output's length depends on the values, so they must be known before run.
      if (!in.constant) return ctx.unsupported_error("input ", i, kMustBeConstant);
      v[i] = view_get_f64(in.constant->view(), 0);
    }
    if (v[2] == 0) return ctx.error("delta is 0");
    EP_ASSIGN_OR_RETURN(int64_t n, count(ctx, dt, v));
    ctx.set_output(0, dt, Shape{n});
    return Status::ok();
  }

  Status run(const RunContext& ctx) noexcept override {
    const TensorView& y = ctx.outputs[0];
    const int64_t n = y.numel();
    dispatch<float, double, int16_t, int32_t, int64_t>(y.dtype, [&](auto tag) {
      using T = decltype(tag);
      const T start = ctx.inputs[0].as<T>()[0], delta = ctx.inputs[2].as<T>()[0];
      for (int64_t i = 0; i < n; ++i) y.as<T>()[i] = static_cast<T>(start + static_cast<T>(i) * delta);
    });
    return Status::ok();
  }

 private:
  // max(ceil((limit - start) / delta), 0), exact for integers.
  static Result<int64_t> count(const PrepareContext& ctx, DType dt, const double* v) {
    if (dtype_is_integer(dt)) {
      const TensorView s = ctx.input(0).constant->view(), l = ctx.input(1).constant->view(), d = ctx.input(2).constant->view();
      const __int128 span = static_cast<__int128>(view_get_i64(l, 0)) - view_get_i64(s, 0);
      const __int128 delta = view_get_i64(d, 0);
      __int128 q = span / delta;  // truncates toward 0: already the ceiling when negative
      if (q * delta != span && (span > 0) == (delta > 0)) ++q;
      if (q > (__int128{1} << 40)) return ctx.error("range of ", static_cast<int64_t>(q), " elements");
      return static_cast<int64_t>(q < 0 ? 0 : q);
    }
    const double n = std::ceil((v[1] - v[0]) / v[2]);
    if (std::isnan(n) || n > static_cast<double>(int64_t{1} << 40)) return ctx.error("range of ", n, " elements");
    return static_cast<int64_t>(n < 0 ? 0 : n);
  }
};

class EyeLikeKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& ctx) override {
    EP_RETURN_IF_ERROR(ctx.expect_inputs(1, 1));
    const TensorInfo& x = ctx.input(0);
    if (x.shape.rank() != 2) return ctx.error("input rank ", x.shape.rank(), ", expected 2");
    EP_RETURN_IF_ERROR(expect_static(ctx, x.shape, "input"));
    DType dt = x.dtype;
    if (ctx.node().has_attr("dtype")) {
      EP_ASSIGN_OR_RETURN(int64_t e, ctx.node().attr_int("dtype"));
      EP_ASSIGN_OR_RETURN(dt, dtype_from_onnx_enum(ctx, e, "attribute 'dtype'"));
    }
    EP_ASSIGN_OR_RETURN(k_, ctx.node().attr_int("k", 0));
    std::memset(one_, 0, sizeof(one_));
    store_scalar(dt, 1.0, one_);
    ctx.set_output(0, dt, x.shape);
    return Status::ok();
  }
  Status run(const RunContext& ctx) noexcept override {
    const TensorView& y = ctx.outputs[0];
    const int64_t rows = y.shape[0], cols = y.shape[1];
    const size_t esize = dtype_size(y.dtype);
    if (y.nbytes()) std::memset(y.data, 0, y.nbytes());
    for (int64_t i = 0; i < rows; ++i) {
      const int64_t j = i + k_;  // k_ is bounded by the attribute's int64; i is small
      if (j >= 0 && j < cols) std::memcpy(static_cast<char*>(y.data) + static_cast<size_t>(i * cols + j) * esize, one_, esize);
    }
    return Status::ok();
  }

 private:
  int64_t k_ = 0;
  uint8_t one_[8];
};

class OneHotKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& ctx) override {
    EP_RETURN_IF_ERROR(ctx.expect_inputs(3, 3));
    const TensorInfo& ind = ctx.input(0);
    const TensorInfo& depth = ctx.input(1);
    const TensorInfo& values = ctx.input(2);
    EP_RETURN_IF_ERROR(expect_static(ctx, ind.shape, "indices"));
    if (dtype_size(ind.dtype) == 0 || ind.dtype == DType::boolean) return ctx.error("indices dtype ", dtype_name(ind.dtype));
    if (depth.shape.numel() != 1) return ctx.error("depth is not a scalar");
    if (!depth.constant) return ctx.unsupported_error("depth (input 1)", kMustBeConstant);
    const double d = view_get_f64(depth.constant->view(), 0);
    if (!(d >= 1 && d < static_cast<double>(int64_t{1} << 40))) return ctx.error("depth ", d, " is out of range");
    depth_ = static_cast<int64_t>(d);
    if (values.shape.numel() != 2) return ctx.error("values must hold [off, on]");
    const int64_t r = static_cast<int64_t>(ind.shape.rank());
    EP_ASSIGN_OR_RETURN(int64_t axis, ctx.node().attr_int("axis", -1));
    if (axis < -(r + 1) || axis > r) return ctx.error("axis ", axis, " is out of range for output rank ", r + 1);
    axis_ = static_cast<size_t>(axis < 0 ? axis + r + 1 : axis);
    std::vector<int64_t> dims = ind.shape.dims();
    dims.insert(dims.begin() + static_cast<int64_t>(axis_), depth_);
    EP_RETURN_IF_ERROR(expect_static(ctx, Shape(dims), "output"));
    ctx.set_output(0, values.dtype, Shape(dims));
    return Status::ok();
  }

  Status run(const RunContext& ctx) noexcept override {
    const TensorView& ind = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    const size_t esize = dtype_size(y.dtype);
    const char* off = static_cast<const char*>(ctx.inputs[2].data);
    const char* on = off + esize;
    int64_t outer = 1, inner = 1;
    for (size_t d = 0; d < ind.shape.rank(); ++d) (d < axis_ ? outer : inner) *= ind.shape[d];
    fill(y.dtype, y.data, y.numel(), off);
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) {
        int64_t idx = view_get_i64(ind, o * inner + i);
        if (idx < 0) idx += depth_;  // negative indices count from the end; others out of range stay off
        if (idx < 0 || idx >= depth_) continue;
        std::memcpy(static_cast<char*>(y.data) + static_cast<size_t>((o * depth_ + idx) * inner + i) * esize, on, esize);
      }
    return Status::ok();
  }

 private:
  int64_t depth_ = 1;
  size_t axis_ = 0;
};

}  // namespace

std::unique_ptr<Kernel> make_constant_of_shape() { return std::make_unique<ConstantOfShapeKernel>(); }
std::unique_ptr<Kernel> make_range() { return std::make_unique<RangeKernel>(); }
std::unique_ptr<Kernel> make_eye_like() { return std::make_unique<EyeLikeKernel>(); }
std::unique_ptr<Kernel> make_one_hot() { return std::make_unique<OneHotKernel>(); }

}  // namespace ep::kernels::ref
