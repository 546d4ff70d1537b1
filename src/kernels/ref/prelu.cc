// PRelu: y = x < 0 ? slope * x : x, the slope broadcast unidirectionally to x.
#include "kernels/ref/common.h"
#include "kernels/ref/ref_kernels.h"

namespace ep::kernels::ref {
namespace {

class PReluKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& ctx) override {
    EP_RETURN_IF_ERROR(ctx.expect_inputs(2, 2));
    const TensorInfo& x = ctx.input(0);
    const TensorInfo& slope = ctx.input(1);
    const bool is_int = x.dtype == DType::i32 || x.dtype == DType::i64 || x.dtype == DType::u32 || x.dtype == DType::u64;
    if (!(x.dtype == DType::f32 || x.dtype == DType::f64 || (is_int && ctx.opset() >= 9)))
      return ctx.unsupported_error("dtype ", dtype_name(x.dtype));
    if (slope.dtype != x.dtype) return ctx.error("slope dtype ", dtype_name(slope.dtype), " differs from input");
    EP_ASSIGN_OR_RETURN(Shape b, broadcast_shapes(ctx, {x.shape, slope.shape}));
    if (b != x.shape)
      return ctx.error("slope shape ", slope.shape.to_string(), " does not broadcast to input ", x.shape.to_string());
    ctx.set_output(0, x.dtype, x.shape);
    return Status::ok();
  }

  Status run(const RunContext& ctx) noexcept override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& s = ctx.inputs[1];
    const std::vector<int64_t> st[2] = {strides_of(x.shape), broadcast_strides(s.shape, x.shape)};
    dispatch<float, double, int32_t, int64_t, uint32_t, uint64_t>(x.dtype, [&](auto tag) {
      using T = decltype(tag);
      const T* px = x.as<T>();
      const T* ps = s.as<T>();
      T* py = ctx.outputs[0].as<T>();
      for_each_index(x.shape, st, [&](int64_t, const int64_t* o) {
        const T v = px[o[0]];
        if constexpr (std::is_unsigned_v<T>) py[o[0]] = v;  // never negative
        else py[o[0]] = v < T(0) ? static_cast<T>(ps[o[1]] * v) : v;
      });
    });
    return Status::ok();
  }
};

}  // namespace

std::unique_ptr<Kernel> make_prelu() { return std::make_unique<PReluKernel>(); }

}  // namespace ep::kernels::ref
