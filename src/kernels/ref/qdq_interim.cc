// INTERIM QuantizeLinear/DequantizeLinear (per tensor and per axis, u8/i8) so that QDQ
// graphs load and run on this branch. helper/quant-tool's src/kernels/ref/quantize.cc is
// the real reference (blocked, opset 21 output_dtype, int4); when it merges, this file and
// its two registry rows go.
#include <cmath>

#include "kernels/fused_conv.h"
#include "kernels/ref/ref_kernels.h"

namespace ep::kernels::ref {
namespace {

class QdqInterim final : public Kernel {
 public:
  explicit QdqInterim(bool quantize) : quantize_(quantize) {}

  Status prepare(PrepareContext& ctx) override {
    EP_RETURN_IF_ERROR(ctx.expect_inputs(2, 3));
    const TensorInfo& x = ctx.input(0);
    const TensorInfo& s = ctx.input(1);
    if (s.dtype != DType::f32) return ctx.unsupported_error("scale must be f32");
    q_type_ = quantize_ ? (ctx.has_input(2) ? ctx.input(2).dtype : DType::u8) : x.dtype;
    if (q_type_ != DType::u8 && q_type_ != DType::i8) return ctx.unsupported_error("only u8/i8 here");
    if (quantize_ && x.dtype != DType::f32) return ctx.unsupported_error("only f32 input");
    if (ctx.has_input(2) && (ctx.input(2).dtype != q_type_ || ctx.input(2).shape != s.shape))
      return ctx.error("zero point must match the scale's shape and the quantized type");
    EP_ASSIGN_OR_RETURN(int64_t axis, ctx.node().attr_int("axis", 1));
    EP_ASSIGN_OR_RETURN(int64_t block, ctx.node().attr_int("block_size", 0));
    if (block != 0) return ctx.unsupported_error("blocked quantization");
    inner_ = 1;
    dim_ = 1;
    if (s.shape.numel() != 1) {
      EP_ASSIGN_OR_RETURN(axis, ctx.normalize_axis(axis, static_cast<int64_t>(x.shape.rank())));
      dim_ = x.shape[static_cast<size_t>(axis)];
      if (s.shape.rank() != 1 || s.shape[0] != dim_) return ctx.error("scale shape ", s.shape.to_string(), " does not fit axis ", axis);
      for (size_t a = static_cast<size_t>(axis) + 1; a < x.shape.rank(); ++a) inner_ *= x.shape[a];
    }
    ctx.set_output(0, quantize_ ? q_type_ : DType::f32, x.shape);
    return Status::ok();
  }

  Status run(const RunContext& ctx) noexcept override {
    const TensorView& x = ctx.inputs[0];
    const float* s = ctx.inputs[1].as<float>();
    const void* z = ctx.inputs.size() > 2 ? ctx.inputs[2].data : nullptr;
    auto zero = [&](int64_t p) -> int32_t {
      if (!z) return 0;
      return q_type_ == DType::u8 ? static_cast<const uint8_t*>(z)[p] : static_cast<const int8_t*>(z)[p];
    };
    for (int64_t i = 0; i < x.shape.numel(); ++i) {
      const int64_t p = dim_ == 1 ? 0 : (i / inner_) % dim_;
      if (quantize_) {
        const int32_t q = quantize_value(x.as<float>()[i], s[p], zero(p), q_type_);
        if (q_type_ == DType::u8) ctx.outputs[0].as<uint8_t>()[i] = static_cast<uint8_t>(q);
        else ctx.outputs[0].as<int8_t>()[i] = static_cast<int8_t>(q);
      } else {
        const int32_t q = q_type_ == DType::u8 ? x.as<uint8_t>()[i] : x.as<int8_t>()[i];
        ctx.outputs[0].as<float>()[i] = static_cast<float>(q - zero(p)) * s[p];
      }
    }
    return Status::ok();
  }

 private:
  bool quantize_;
  DType q_type_ = DType::u8;
  int64_t dim_ = 1, inner_ = 1;
};

}  // namespace

std::unique_ptr<Kernel> make_quantize_linear_interim() { return std::make_unique<QdqInterim>(true); }
std::unique_ptr<Kernel> make_dequantize_linear_interim() { return std::make_unique<QdqInterim>(false); }

}  // namespace ep::kernels::ref
