// Gather, GatherElements and GatherND: copies selected by index tensors. Indices are data,
// so their range is checked in run() and reported as out_of_range.
#include <cstring>
#include <string>

#include "kernels/ref/data_movement.h"
#include "kernels/ref/ref_kernels.h"

namespace ep::kernels::ref {
namespace {

int64_t product(const std::vector<int64_t>& d, size_t from, size_t to) {
  int64_t p = 1;
  for (size_t i = from; i < to; ++i) p *= d[i];
  return p;
}

Status expect_index_dtype(const PrepareContext& ctx, size_t i) {
  const DType t = ctx.input(i).dtype;
  if (t != DType::i32 && t != DType::i64) return ctx.error("indices have dtype ", dtype_name(t), ", expected i32 or i64");
  return Status::ok();
}

int64_t index_at(const TensorView& v, int64_t i) {
  return v.dtype == DType::i32 ? v.as<int32_t>()[i] : v.as<int64_t>()[i];
}

// Common state: the node's label for run-time errors.
class IndexKernel : public Kernel {
 protected:
  Status prepare_common(const PrepareContext& ctx, size_t in_min, size_t in_max) {
    label_ = ctx.node().label();
    EP_RETURN_IF_ERROR(ctx.expect_inputs(in_min, in_max));
    EP_RETURN_IF_ERROR(expect_index_dtype(ctx, 1));
    EP_RETURN_IF_ERROR(expect_static(ctx, ctx.input(0).shape, "data"));
    return expect_static(ctx, ctx.input(1).shape, "indices");
  }
  // Checks idx against [-dim, dim) and makes it non-negative.
  Status wrap(int64_t* idx, int64_t dim) const {
    if (*idx < -dim || *idx >= dim) return out_of_range(label_, ": index ", *idx, " is out of range for a dim of ", dim);
    if (*idx < 0) *idx += dim;
    return Status::ok();
  }
  std::string label_;
};

class GatherKernel final : public IndexKernel {
 public:
  Status prepare(PrepareContext& ctx) override {
    EP_RETURN_IF_ERROR(prepare_common(ctx, 2, 2));
    const Shape& data = ctx.input(0).shape;
    const Shape& ind = ctx.input(1).shape;
    if (data.rank() == 0) return ctx.error("data is a scalar");
    EP_ASSIGN_OR_RETURN(int64_t axis, ctx.node().attr_int("axis", 0));
    EP_ASSIGN_OR_RETURN(axis, ctx.normalize_axis(axis, static_cast<int64_t>(data.rank())));
    axis_ = static_cast<size_t>(axis);
    std::vector<int64_t> dims(data.dims().begin(), data.dims().begin() + axis);
    dims.insert(dims.end(), ind.dims().begin(), ind.dims().end());
    dims.insert(dims.end(), data.dims().begin() + axis + 1, data.dims().end());
    ctx.set_output(0, ctx.input(0).dtype, Shape(dims));
    return Status::ok();
  }

  Status run(const RunContext& ctx) noexcept override {
    const TensorView& data = ctx.inputs[0];
    const TensorView& ind = ctx.inputs[1];
    const size_t esize = dtype_size(data.dtype);
    const int64_t outer = product(data.shape.dims(), 0, axis_);
    const int64_t dim = data.shape[axis_];
    const size_t block = static_cast<size_t>(product(data.shape.dims(), axis_ + 1, data.shape.rank())) * esize;
    const int64_t n = ind.numel();
    const char* src = static_cast<const char*>(data.data);
    char* dst = static_cast<char*>(ctx.outputs[0].data);
    if (block == 0) return Status::ok();
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t j = 0; j < n; ++j) {
        int64_t idx = index_at(ind, j);
        EP_RETURN_IF_ERROR(wrap(&idx, dim));
        std::memcpy(dst + static_cast<size_t>(o * n + j) * block, src + static_cast<size_t>(o * dim + idx) * block, block);
      }
    return Status::ok();
  }

 private:
  size_t axis_ = 0;
};

class GatherElementsKernel final : public IndexKernel {
 public:
  Status prepare(PrepareContext& ctx) override {
    EP_RETURN_IF_ERROR(prepare_common(ctx, 2, 2));
    const Shape& data = ctx.input(0).shape;
    const Shape& ind = ctx.input(1).shape;
    if (data.rank() == 0 || ind.rank() != data.rank())
      return ctx.error("data ", data.to_string(), " and indices ", ind.to_string(), " need the same rank >= 1");
    EP_ASSIGN_OR_RETURN(int64_t axis, ctx.node().attr_int("axis", 0));
    EP_ASSIGN_OR_RETURN(axis, ctx.normalize_axis(axis, static_cast<int64_t>(data.rank())));
    axis_ = static_cast<size_t>(axis);
    // Off the axis, an index position is also a data position, so it must lie inside data.
    for (size_t d = 0; d < data.rank(); ++d)
      if (d != axis_ && ind[d] > data[d])
        return ctx.error("indices ", ind.to_string(), " exceed data ", data.to_string(), " on axis ", d);
    ctx.set_output(0, ctx.input(0).dtype, ind);
    return Status::ok();
  }

  Status run(const RunContext& ctx) noexcept override {
    const TensorView& data = ctx.inputs[0];
    const TensorView& ind = ctx.inputs[1];
    std::vector<int64_t> st[1] = {strides_of(data.shape)};
    const int64_t axis_stride = st[0][axis_];
    const int64_t dim = data.shape[axis_];
    st[0][axis_] = 0;  // the index supplies the position on the axis
    Status status;
    dispatch_by_size(data.dtype, [&](auto tag) {
      using U = decltype(tag);
      const U* src = data.as<U>();
      U* dst = ctx.outputs[0].as<U>();
      for_each_index(ind.shape, st, [&](int64_t i, const int64_t* o) {
        int64_t idx = index_at(ind, i);
        if (!status.is_ok()) return;
        status = wrap(&idx, dim);
        if (status.is_ok()) dst[i] = src[o[0] + idx * axis_stride];
      });
    });
    return status;
  }

 private:
  size_t axis_ = 0;
};

class GatherNDKernel final : public IndexKernel {
 public:
  Status prepare(PrepareContext& ctx) override {
    EP_RETURN_IF_ERROR(prepare_common(ctx, 2, 2));
    const Shape& data = ctx.input(0).shape;
    const Shape& ind = ctx.input(1).shape;
    EP_ASSIGN_OR_RETURN(int64_t b, ctx.node().attr_int("batch_dims", 0));
    const int64_t r = static_cast<int64_t>(data.rank()), q = static_cast<int64_t>(ind.rank());
    if (r < 1 || q < 1) return ctx.error("data and indices need rank >= 1");
    if (b < 0 || b >= std::min(r, q)) return ctx.error("batch_dims ", b, " must be in [0, min(ranks))");
    const int64_t k = ind[static_cast<size_t>(q - 1)];
    if (k < 1 || k > r - b) return ctx.error("indices last dim ", k, " must be in [1, ", r - b, "]");
    for (size_t d = 0; d < static_cast<size_t>(b); ++d)
      if (ind[d] != data[d]) return ctx.error("batch dim ", d, " differs: data ", data.to_string(), ", indices ", ind.to_string());
    b_ = static_cast<size_t>(b);
    k_ = static_cast<size_t>(k);
    std::vector<int64_t> dims(ind.dims().begin(), ind.dims().end() - 1);
    dims.insert(dims.end(), data.dims().begin() + b + k, data.dims().end());
    ctx.set_output(0, ctx.input(0).dtype, Shape(dims));
    return Status::ok();
  }

  Status run(const RunContext& ctx) noexcept override {
    const TensorView& data = ctx.inputs[0];
    const TensorView& ind = ctx.inputs[1];
    const std::vector<int64_t>& dd = data.shape.dims();
    const std::vector<int64_t> st = strides_of(data.shape);
    const size_t esize = dtype_size(data.dtype);
    const int64_t batches = product(dd, 0, b_);
    const int64_t batch_elems = product(dd, b_, dd.size());
    const int64_t tuples = product(ind.shape.dims(), b_, ind.shape.rank() - 1);  // per batch
    const int64_t slice = product(dd, b_ + k_, dd.size());
    const char* src = static_cast<const char*>(data.data);
    char* dst = static_cast<char*>(ctx.outputs[0].data);
    for (int64_t bi = 0; bi < batches; ++bi)
      for (int64_t t = 0; t < tuples; ++t) {
        int64_t off = bi * batch_elems;
        const int64_t tuple = (bi * tuples + t) * static_cast<int64_t>(k_);
        for (size_t j = 0; j < k_; ++j) {
          int64_t idx = index_at(ind, tuple + static_cast<int64_t>(j));
          EP_RETURN_IF_ERROR(wrap(&idx, dd[b_ + j]));
          off += idx * st[b_ + j];
        }
        const size_t bytes = static_cast<size_t>(slice) * esize;
        if (bytes) std::memcpy(dst + static_cast<size_t>(bi * tuples + t) * bytes, src + static_cast<size_t>(off) * esize, bytes);
      }
    return Status::ok();
  }

 private:
  size_t b_ = 0, k_ = 0;
};

}  // namespace

std::unique_ptr<Kernel> make_gather() { return std::make_unique<GatherKernel>(); }
std::unique_ptr<Kernel> make_gather_elements() { return std::make_unique<GatherElementsKernel>(); }
std::unique_ptr<Kernel> make_gather_nd() { return std::make_unique<GatherNDKernel>(); }

}  // namespace ep::kernels::ref
