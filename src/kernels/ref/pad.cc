// Pad: modes constant, reflect, edge and wrap (opset 19); negative pads crop. Each output axis
// gets a table from output position to input position (-1: the pad value), built in prepare.
#include <cstdlib>
#include <cstring>
#include <string>

#include "kernels/ref/data_movement.h"
#include "kernels/ref/ref_kernels.h"

namespace ep::kernels::ref {
namespace {

enum class PadMode { constant, reflect, edge, wrap };

// Input position read for output position o of an axis of size d padded by `before`.
int64_t source_index(PadMode mode, int64_t o, int64_t d, int64_t before) {
  int64_t i = o - before;
  if (i >= 0 && i < d) return i;
  switch (mode) {
    case PadMode::constant: return -1;
    case PadMode::edge: return i < 0 ? 0 : d - 1;
    case PadMode::wrap: return ((i % d) + d) % d;
    case PadMode::reflect: {  // mirror without repeating the edge, as numpy's 'reflect'
      if (d == 1) return 0;
      const int64_t period = 2 * (d - 1);
      i = ((i % period) + period) % period;
      return i < d ? i : period - i;
    }
  }
  return -1;
}

class PadKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& ctx) override {
    const bool inputs = ctx.opset() >= 11;
    EP_RETURN_IF_ERROR(ctx.expect_inputs(inputs ? 2 : 1, inputs ? (ctx.opset() >= 18 ? 4 : 3) : 1));
    const TensorInfo& x = ctx.input(0);
    EP_RETURN_IF_ERROR(expect_static(ctx, x.shape, "input"));
    EP_RETURN_IF_ERROR(read_mode(ctx));
    const int64_t rank = static_cast<int64_t>(x.shape.rank());
    std::vector<int64_t> pads, axes;
    if (inputs) {
      EP_ASSIGN_OR_RETURN(pads, constant_ints(ctx, 1, "pads"));
      if (ctx.has_input(3)) {
        EP_ASSIGN_OR_RETURN(axes, constant_ints(ctx, 3, "axes"));
      } else {
        for (int64_t i = 0; i < rank; ++i) axes.push_back(i);
      }
    } else {
      EP_ASSIGN_OR_RETURN(pads, ctx.node().attr_ints("pads"));
      for (int64_t i = 0; i < rank; ++i) axes.push_back(i);
    }
    EP_ASSIGN_OR_RETURN(axes, normalize_axes(ctx, axes, rank));
    if (pads.size() != 2 * axes.size()) return ctx.error(pads.size(), " pads for ", axes.size(), " axes");
    EP_RETURN_IF_ERROR(read_value(ctx));
    std::vector<int64_t> before(x.shape.rank(), 0), after(x.shape.rank(), 0);
    for (size_t i = 0; i < axes.size(); ++i) {
      before[static_cast<size_t>(axes[i])] = pads[i];
      after[static_cast<size_t>(axes[i])] = pads[i + axes.size()];
    }
    return build_maps(ctx, before, after);
  }

  Status run(const RunContext& ctx) noexcept override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    const std::vector<int64_t> st = strides_of(x.shape);
    uint8_t value[8];
    std::memcpy(value, value_, sizeof(value));
    if (value_input_ && ctx.inputs.size() > 2 && ctx.inputs[2].data && ctx.inputs[2].numel() > 0)
      std::memcpy(value, ctx.inputs[2].data, dtype_size(x.dtype));
    const size_t rank = y.shape.rank();
    const int64_t total = y.numel();
    dispatch_by_size(x.dtype, [&](auto tag) {
      using U = decltype(tag);
      U fill;
      std::memcpy(&fill, value, sizeof(U));
      const U* src = x.as<U>();
      U* dst = y.as<U>();
      std::vector<int64_t> idx(rank, 0);
      for (int64_t i = 0; i < total; ++i) {
        int64_t off = 0;
        bool pad = false;
        for (size_t d = 0; d < rank && !pad; ++d) {
          const int64_t s = maps_[d][static_cast<size_t>(idx[d])];
          pad = s < 0;
          off += s * st[d];
        }
        dst[i] = pad ? fill : src[off];
        for (size_t d = rank; d-- > 0;) {
          if (++idx[d] < y.shape[d]) break;
          idx[d] = 0;
        }
      }
    });
    return Status::ok();
  }

 private:
  Status read_mode(const PrepareContext& ctx) {
    EP_ASSIGN_OR_RETURN(std::string mode, ctx.node().attr_string("mode", std::string("constant")));
    if (mode == "constant") mode_ = PadMode::constant;
    else if (mode == "reflect") mode_ = PadMode::reflect;
    else if (mode == "edge") mode_ = PadMode::edge;
    else if (mode == "wrap" && ctx.opset() >= 19) mode_ = PadMode::wrap;
    else return ctx.error("mode '", mode, "' is not valid at opset ", ctx.opset());
    return Status::ok();
  }

  // The pad value: attribute `value` before opset 11, else optional input 2 (read in run).
  Status read_value(const PrepareContext& ctx) {
    const DType dt = ctx.input(0).dtype;
    std::memset(value_, 0, sizeof(value_));
    if (ctx.opset() < 11) {
      EP_ASSIGN_OR_RETURN(float v, ctx.node().attr_float("value", 0.f));
      store_scalar(dt, v, value_);
      return Status::ok();
    }
    value_input_ = ctx.has_input(2);
    if (value_input_ && ctx.input(2).dtype != dt)
      return ctx.error("constant_value dtype ", dtype_name(ctx.input(2).dtype), " differs from input ", dtype_name(dt));
    if (value_input_ && ctx.input(2).shape.numel() > 1) return ctx.error("constant_value is not a scalar");
    return Status::ok();
  }

  Status build_maps(PrepareContext& ctx, const std::vector<int64_t>& before, const std::vector<int64_t>& after) {
    const Shape& in = ctx.input(0).shape;
    std::vector<int64_t> dims(in.rank());
    maps_.assign(in.rank(), {});
    for (size_t d = 0; d < in.rank(); ++d) {
      constexpr int64_t kLimit = int64_t{1} << 60;  // keeps the sum below from overflowing
      const bool sane = before[d] > -kLimit && before[d] < kLimit && after[d] > -kLimit && after[d] < kLimit;
      dims[d] = sane ? in[d] + before[d] + after[d] : -1;
      if (dims[d] < 0)
        return ctx.error("pads ", before[d], ", ", after[d], " on axis ", d, " of size ", in[d], " are invalid");
      if (mode_ != PadMode::constant && in[d] == 0 && dims[d] > 0)
        return ctx.error("cannot pad the empty axis ", d, " in a mode other than constant");
    }
    EP_RETURN_IF_ERROR(expect_static(ctx, Shape(dims), "output"));
    if (Shape(dims).numel() > 0)  // else the tables could be long for nothing
      for (size_t d = 0; d < in.rank(); ++d)
      for (int64_t o = 0; o < dims[d]; ++o) maps_[d].push_back(source_index(mode_, o, in[d], before[d]));
    ctx.set_output(0, ctx.input(0).dtype, Shape(dims));
    return Status::ok();
  }

  PadMode mode_ = PadMode::constant;
  uint8_t value_[8];
  bool value_input_ = false;
  std::vector<std::vector<int64_t>> maps_;
};

}  // namespace

std::unique_ptr<Kernel> make_pad() { return std::make_unique<PadKernel>(); }

}  // namespace ep::kernels::ref
