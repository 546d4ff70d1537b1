// QuantizeLinear and DequantizeLinear (opsets 10, 13, 19, 21):
//   q = saturate(round_half_even(x / scale) + zero_point),  x' = (q - zero_point) * scale
// with one scale per tensor, per slice along `axis` (13+) or per block of `block_size`
// elements along `axis` (21). INT4/UINT4 tensors arrive unpacked, one value per i8/u8
// element (the importer unpacks ONNX's two-per-byte layout), so DequantizeLinear reads them
// as i8/u8; QuantizeLinear writes only 8-bit types here (no DType holds a 4-bit range).
#include <cmath>
#include <limits>

#include "kernels/ref/common.h"
#include "kernels/ref/ref_kernels.h"

namespace ep::kernels::ref {
namespace {

// ONNX TensorProto element types accepted by QuantizeLinear's output_dtype (opset 21).
constexpr int64_t kOnnxUint8 = 2;
constexpr int64_t kOnnxInt8 = 3;

// How scale and zero point map onto the elements of x: x viewed as [outer, dim, inner]
// around `axis`; a parameter index is 0 (per tensor), a (per axis) or o*blocks*inner +
// (a/block)*inner + i (blocked, parameters shaped like x with dim replaced by blocks).
struct Layout {
  int64_t outer = 1, dim = 1, inner = 1;
  int64_t block = 0;  // 0: not blocked
  bool per_tensor = true;

  int64_t blocks() const { return block ? (dim + block - 1) / block : 1; }
  template <typename F>
  void for_each(F&& f) const {  // f(element index, parameter index)
    int64_t e = 0;
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t a = 0; a < dim; ++a)
        for (int64_t i = 0; i < inner; ++i, ++e) {
          int64_t p = 0;
          if (block) p = (o * blocks() + a / block) * inner + i;
          else if (!per_tensor) p = a;
          f(e, p);
        }
  }
};

// Validates scale (input 1) and zero point (input 2) against x (input 0); fills `layout`.
Status prepare_layout(const PrepareContext& ctx, Layout& layout) {
  const Shape& x = ctx.input(0).shape;
  const Shape& s = ctx.input(1).shape;
  if (ctx.has_input(2) && ctx.input(2).shape != s)
    return ctx.error("zero point shape ", ctx.input(2).shape.to_string(), " differs from scale shape ", s.to_string());
  EP_ASSIGN_OR_RETURN(int64_t block, ctx.node().attr_int("block_size", 0));
  if (block < 0) return ctx.error("block_size ", block, " is negative");
  if (block > 0 && ctx.opset() < 21) return ctx.error("block_size needs opset 21, the model imports ", ctx.opset());
  const bool scalar = s.rank() == 0 || (s.rank() == 1 && s[0] == 1 && block == 0);
  if (scalar && block == 0) {
    layout = Layout{};
    layout.outer = x.numel();
    return Status::ok();
  }
  if (ctx.opset() < 13) return ctx.error("scale of shape ", s.to_string(), " must be a scalar before opset 13");
  EP_ASSIGN_OR_RETURN(int64_t axis_attr, ctx.node().attr_int("axis", 1));
  EP_ASSIGN_OR_RETURN(int64_t axis, ctx.normalize_axis(axis_attr, static_cast<int64_t>(x.rank())));
  if (x.rank() == 0) return ctx.error("a scalar input needs a scalar scale, got ", s.to_string());
  layout.per_tensor = false;
  layout.block = block;
  layout.dim = x[static_cast<size_t>(axis)];
  for (size_t d = 0; d < static_cast<size_t>(axis); ++d) layout.outer *= x[d];
  for (size_t d = static_cast<size_t>(axis) + 1; d < x.rank(); ++d) layout.inner *= x[d];
  if (block == 0) {
    if (s.rank() != 1 || s[0] != layout.dim)
      return ctx.error("per-axis scale of shape ", s.to_string(), " must have ", layout.dim, " values (axis ", axis,
                       " of input ", x.to_string(), ")");
    return Status::ok();
  }
  Shape want = x;
  want[static_cast<size_t>(axis)] = layout.blocks();
  if (s != want)
    return ctx.error("blocked scale of shape ", s.to_string(), " must be ", want.to_string(), " for input ",
                     x.to_string(), ", axis ", axis, ", block_size ", block);
  return Status::ok();
}

template <typename Q>
Q saturate_round(float x, float scale, int32_t zero_point) {
  float v = x / scale;
  if (std::isnan(v)) v = 0.0f;                  // a defined answer instead of undefined behaviour
  v = std::nearbyint(v) + static_cast<float>(zero_point);  // default rounding mode: half to even
  constexpr float lo = std::numeric_limits<Q>::min(), hi = std::numeric_limits<Q>::max();
  return static_cast<Q>(v < lo ? lo : (v > hi ? hi : v));
}

class QuantizeLinearKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& ctx) override {
    EP_RETURN_IF_ERROR(ctx.expect_inputs(2, 3));
    if (ctx.input(0).dtype != DType::f32) return ctx.unsupported_error("input dtype ", dtype_name(ctx.input(0).dtype));
    if (ctx.input(1).dtype != DType::f32) return ctx.unsupported_error("scale dtype ", dtype_name(ctx.input(1).dtype));
    DType out = DType::u8;
    EP_ASSIGN_OR_RETURN(int64_t output_dtype, ctx.node().attr_int("output_dtype", 0));
    if (output_dtype == kOnnxInt8) out = DType::i8;
    else if (output_dtype != 0 && output_dtype != kOnnxUint8)
      return ctx.unsupported_error("output_dtype ", output_dtype, " (only UINT8 and INT8 here)");
    if (ctx.has_input(2)) {
      const DType zp = ctx.input(2).dtype;
      if (zp != DType::u8 && zp != DType::i8) return ctx.unsupported_error("zero point dtype ", dtype_name(zp));
      if (output_dtype != 0 && zp != out)
        return ctx.error("zero point dtype ", dtype_name(zp), " differs from output_dtype ", output_dtype);
      out = zp;
    }
    EP_RETURN_IF_ERROR(prepare_layout(ctx, layout_));
    ctx.set_output(0, out, ctx.input(0).shape);
    return Status::ok();
  }

  Status run(const RunContext& ctx) noexcept override {
    const float* x = ctx.inputs[0].as<float>();
    const float* scale = ctx.inputs[1].as<float>();
    const void* zp = ctx.inputs.size() > 2 ? ctx.inputs[2].data : nullptr;
    dispatch<uint8_t, int8_t>(ctx.outputs[0].dtype, [&](auto tag) {
      using Q = decltype(tag);
      const Q* z = static_cast<const Q*>(zp);
      Q* y = ctx.outputs[0].as<Q>();
      layout_.for_each([&](int64_t e, int64_t p) { y[e] = saturate_round<Q>(x[e], scale[p], z ? z[p] : 0); });
    });
    return Status::ok();
  }

 private:
  Layout layout_;
};

class DequantizeLinearKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& ctx) override {
    EP_RETURN_IF_ERROR(ctx.expect_inputs(2, 3));
    const DType x = ctx.input(0).dtype;
    if (x != DType::u8 && x != DType::i8 && x != DType::i32) return ctx.unsupported_error("input dtype ", dtype_name(x));
    if (ctx.input(1).dtype != DType::f32) return ctx.unsupported_error("scale dtype ", dtype_name(ctx.input(1).dtype));
    if (ctx.has_input(2) && ctx.input(2).dtype != x)
      return ctx.error("zero point dtype ", dtype_name(ctx.input(2).dtype), " differs from input dtype ", dtype_name(x));
    EP_RETURN_IF_ERROR(prepare_layout(ctx, layout_));
    ctx.set_output(0, DType::f32, ctx.input(0).shape);
    return Status::ok();
  }

  Status run(const RunContext& ctx) noexcept override {
    const float* scale = ctx.inputs[1].as<float>();
    const void* zp = ctx.inputs.size() > 2 ? ctx.inputs[2].data : nullptr;
    float* y = ctx.outputs[0].as<float>();
    dispatch<uint8_t, int8_t, int32_t>(ctx.inputs[0].dtype, [&](auto tag) {
      using Q = decltype(tag);
      const Q* x = ctx.inputs[0].as<Q>();
      const Q* z = static_cast<const Q*>(zp);
      layout_.for_each([&](int64_t e, int64_t p) {
        const int64_t centred = static_cast<int64_t>(x[e]) - (z ? static_cast<int64_t>(z[p]) : 0);
        y[e] = static_cast<float>(centred) * scale[p];
      });
    });
    return Status::ok();
  }

 private:
  Layout layout_;
};

}  // namespace

std::unique_ptr<Kernel> make_quantize_linear() { return std::make_unique<QuantizeLinearKernel>(); }
std::unique_ptr<Kernel> make_dequantize_linear() { return std::make_unique<DequantizeLinearKernel>(); }

}  // namespace ep::kernels::ref
