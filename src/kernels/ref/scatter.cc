// ScatterND and ScatterElements (and the deprecated Scatter, opsets 9-10): the output is the
// data with some positions replaced, or combined by `reduction`, with values from `updates`.
#include <algorithm>
#include <cstring>
#include <string>

#include "kernels/ref/data_movement.h"
#include "kernels/ref/ref_kernels.h"

namespace ep::kernels::ref {
namespace {

enum class Reduction { none, add, mul, max, min };

template <typename T>
void combine(Reduction r, T& dst, T v) {
  switch (r) {
    case Reduction::none: dst = v; break;
    case Reduction::add: dst = static_cast<T>(dst + v); break;
    case Reduction::mul: dst = static_cast<T>(dst * v); break;
    case Reduction::max: dst = std::max(dst, v); break;
    case Reduction::min: dst = std::min(dst, v); break;
  }
}

int64_t index_at(const TensorView& v, int64_t i) {
  return v.dtype == DType::i32 ? v.as<int32_t>()[i] : v.as<int64_t>()[i];
}

// Calls f(T{}) with the element type, or with an unsigned type of its size when only
// plain assignment is needed (so bool and f16 scatter too).
template <typename F>
void dispatch_scatter(DType dt, Reduction r, F&& f) {
  if (r == Reduction::none) {
    dispatch_by_size(dt, f);
    return;
  }
  dispatch<float, double, int8_t, uint8_t, int16_t, uint16_t, int32_t, uint32_t, int64_t, uint64_t>(dt, f);
}

class ScatterKernel : public Kernel {
 protected:
  // Checks the three inputs' dtypes and reads `reduction`.
  Status prepare_common(const PrepareContext& ctx) {
    label_ = ctx.node().label();
    EP_RETURN_IF_ERROR(ctx.expect_inputs(3, 3));
    const TensorInfo& data = ctx.input(0);
    for (size_t i = 0; i < 3; ++i) EP_RETURN_IF_ERROR(expect_static(ctx, ctx.input(i).shape, "input"));
    const DType it = ctx.input(1).dtype;
    if (it != DType::i32 && it != DType::i64) return ctx.error("indices have dtype ", dtype_name(it), ", expected i32 or i64");
    if (ctx.input(2).dtype != data.dtype)
      return ctx.error("updates dtype ", dtype_name(ctx.input(2).dtype), " differs from data ", dtype_name(data.dtype));
    EP_ASSIGN_OR_RETURN(std::string red, ctx.node().attr_string("reduction", std::string("none")));
    if (red == "none") reduction_ = Reduction::none;
    else if (red == "add" && ctx.opset() >= 16) reduction_ = Reduction::add;
    else if (red == "mul" && ctx.opset() >= 16) reduction_ = Reduction::mul;
    else if (red == "max" && ctx.opset() >= 18) reduction_ = Reduction::max;
    else if (red == "min" && ctx.opset() >= 18) reduction_ = Reduction::min;
    else return ctx.error("reduction '", red, "' is not valid at opset ", ctx.opset());
    const bool numeric = dtype_is_integer(data.dtype) || data.dtype == DType::f32 || data.dtype == DType::f64;
    if (reduction_ != Reduction::none && !numeric)
      return ctx.unsupported_error("reduction '", red, "' on dtype ", dtype_name(data.dtype));
    return Status::ok();
  }
  Status wrap(int64_t* idx, int64_t dim) const {
    if (*idx < -dim || *idx >= dim) return out_of_range(label_, ": index ", *idx, " is out of range for a dim of ", dim);
    if (*idx < 0) *idx += dim;
    return Status::ok();
  }
  static void copy_data(const RunContext& ctx) {
    const TensorView& y = ctx.outputs[0];
    if (y.nbytes()) std::memcpy(y.data, ctx.inputs[0].data, y.nbytes());
  }

  std::string label_;
  Reduction reduction_ = Reduction::none;
};

class ScatterNDKernel final : public ScatterKernel {
 public:
  Status prepare(PrepareContext& ctx) override {
    EP_RETURN_IF_ERROR(prepare_common(ctx));
    const Shape& data = ctx.input(0).shape;
    const Shape& ind = ctx.input(1).shape;
    const Shape& upd = ctx.input(2).shape;
    if (data.rank() < 1 || ind.rank() < 1) return ctx.error("data and indices need rank >= 1");
    const int64_t k = ind[ind.rank() - 1];
    if (k < 1 || k > static_cast<int64_t>(data.rank()))
      return ctx.error("indices last dim ", k, " must be in [1, ", data.rank(), "]");
    std::vector<int64_t> want(ind.dims().begin(), ind.dims().end() - 1);
    want.insert(want.end(), data.dims().begin() + k, data.dims().end());
    if (upd != Shape(want)) return ctx.error("updates shape ", upd.to_string(), ", expected ", Shape(want).to_string());
    k_ = static_cast<size_t>(k);
    ctx.set_output(0, ctx.input(0).dtype, data);
    return Status::ok();
  }

  Status run(const RunContext& ctx) noexcept override {
    copy_data(ctx);
    const TensorView& ind = ctx.inputs[1];
    const TensorView& upd = ctx.inputs[2];
    const TensorView& y = ctx.outputs[0];
    const std::vector<int64_t> st = strides_of(y.shape);
    const int64_t slice = st[k_ - 1];  // elements per index tuple: prod(dims[k:])
    const int64_t tuples = ind.numel() / static_cast<int64_t>(k_);
    Status status;
    dispatch_scatter(y.dtype, reduction_, [&](auto tag) {
      using T = decltype(tag);
      T* dst = y.as<T>();
      const T* src = upd.as<T>();
      for (int64_t t = 0; t < tuples && status.is_ok(); ++t) {
        int64_t off = 0;
        for (size_t j = 0; j < k_ && status.is_ok(); ++j) {
          int64_t idx = index_at(ind, t * static_cast<int64_t>(k_) + static_cast<int64_t>(j));
          status = wrap(&idx, y.shape[j]);
          off += idx * st[j];
        }
        if (!status.is_ok()) break;
        for (int64_t e = 0; e < slice; ++e) combine(reduction_, dst[off + e], src[t * slice + e]);
      }
    });
    return status;
  }

 private:
  size_t k_ = 1;
};

class ScatterElementsKernel final : public ScatterKernel {
 public:
  Status prepare(PrepareContext& ctx) override {
    EP_RETURN_IF_ERROR(prepare_common(ctx));
    const Shape& data = ctx.input(0).shape;
    const Shape& ind = ctx.input(1).shape;
    if (ctx.input(2).shape != ind)
      return ctx.error("updates shape ", ctx.input(2).shape.to_string(), " differs from indices ", ind.to_string());
    if (data.rank() == 0 || ind.rank() != data.rank())
      return ctx.error("data ", data.to_string(), " and indices ", ind.to_string(), " need the same rank >= 1");
    EP_ASSIGN_OR_RETURN(int64_t axis, ctx.node().attr_int("axis", 0));
    EP_ASSIGN_OR_RETURN(axis, ctx.normalize_axis(axis, static_cast<int64_t>(data.rank())));
    axis_ = static_cast<size_t>(axis);
    for (size_t d = 0; d < data.rank(); ++d)
      if (d != axis_ && ind[d] > data[d])
        return ctx.error("indices ", ind.to_string(), " exceed data ", data.to_string(), " on axis ", d);
    ctx.set_output(0, ctx.input(0).dtype, data);
    return Status::ok();
  }

  Status run(const RunContext& ctx) noexcept override {
    copy_data(ctx);
    const TensorView& ind = ctx.inputs[1];
    const TensorView& upd = ctx.inputs[2];
    const TensorView& y = ctx.outputs[0];
    std::vector<int64_t> st[1] = {strides_of(y.shape)};
    const int64_t axis_stride = st[0][axis_];
    const int64_t dim = y.shape[axis_];
    st[0][axis_] = 0;  // the index supplies the position on the axis
    Status status;
    dispatch_scatter(y.dtype, reduction_, [&](auto tag) {
      using T = decltype(tag);
      T* dst = y.as<T>();
      const T* src = upd.as<T>();
      for_each_index(ind.shape, st, [&](int64_t i, const int64_t* o) {
        if (!status.is_ok()) return;
        int64_t idx = index_at(ind, i);
        status = wrap(&idx, dim);
        if (status.is_ok()) combine(reduction_, dst[o[0] + idx * axis_stride], src[i]);
      });
    });
    return status;
  }

 private:
  size_t axis_ = 0;
};

}  // namespace

std::unique_ptr<Kernel> make_scatter_nd() { return std::make_unique<ScatterNDKernel>(); }
std::unique_ptr<Kernel> make_scatter_elements() { return std::make_unique<ScatterElementsKernel>(); }

}  // namespace ep::kernels::ref
