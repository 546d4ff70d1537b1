// IsNaN and IsInf: bool masks of special float values.
#include <cmath>

#include "kernels/ref/common.h"
#include "kernels/ref/ref_kernels.h"

namespace ep::kernels::ref {
namespace {

class SpecialValueKernel final : public Kernel {
 public:
  explicit SpecialValueKernel(bool is_inf) : is_inf_(is_inf) {}

  Status prepare(PrepareContext& ctx) override {
    EP_RETURN_IF_ERROR(ctx.expect_inputs(1, 1));
    const TensorInfo& x = ctx.input(0);
    if (x.dtype != DType::f32 && x.dtype != DType::f64) return ctx.unsupported_error("dtype ", dtype_name(x.dtype));
    if (is_inf_) {
      EP_ASSIGN_OR_RETURN(int64_t pos, ctx.node().attr_int("detect_positive", 1));
      EP_ASSIGN_OR_RETURN(int64_t neg, ctx.node().attr_int("detect_negative", 1));
      positive_ = pos != 0;
      negative_ = neg != 0;
    }
    ctx.set_output(0, DType::boolean, x.shape);
    return Status::ok();
  }

  Status run(const RunContext& ctx) noexcept override {
    const TensorView& x = ctx.inputs[0];
    bool* py = ctx.outputs[0].as<bool>();
    dispatch<float, double>(x.dtype, [&](auto tag) {
      using T = decltype(tag);
      const T* px = x.as<T>();
      for (int64_t i = 0; i < x.numel(); ++i) {
        const T v = px[i];
        py[i] = is_inf_ ? (std::isinf(v) && ((v > 0 && positive_) || (v < 0 && negative_))) : std::isnan(v);
      }
    });
    return Status::ok();
  }

 private:
  bool is_inf_;
  bool positive_ = true;
  bool negative_ = true;
};

}  // namespace

std::unique_ptr<Kernel> make_is_nan() { return std::make_unique<SpecialValueKernel>(false); }
std::unique_ptr<Kernel> make_is_inf() { return std::make_unique<SpecialValueKernel>(true); }

}  // namespace ep::kernels::ref
