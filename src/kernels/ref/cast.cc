// Cast and CastLike between every numeric dtype and bool; f16/bf16 go through float.
// Float to integer saturates (NaN gives 0): ONNX leaves out-of-range casts undefined, and a
// defined answer beats undefined behaviour in C++.
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "kernels/ref/data_movement.h"
#include "kernels/ref/ref_kernels.h"

namespace ep::kernels::ref {
namespace {

struct F16 { uint16_t bits; };
struct BF16 { uint16_t bits; };

// Calls f(T{}) for every dtype, with F16/BF16 standing for the half types.
template <typename F>
bool dispatch_all(DType dt, F&& f) {
  if (dt == DType::f16) return f(F16{}), true;
  if (dt == DType::bf16) return f(BF16{}), true;
  return dispatch<float, double, int8_t, uint8_t, int16_t, uint16_t, int32_t, uint32_t, int64_t, uint64_t, bool>(dt, f);
}

template <typename T>
auto widen(T v) {
  if constexpr (std::is_same_v<T, F16>) return f16_to_f32(v.bits);
  else if constexpr (std::is_same_v<T, BF16>) return bf16_to_f32(v.bits);
  else return v;
}

template <typename To, typename From>
To convert(From v) {
  if constexpr (std::is_same_v<To, F16>) {
    return F16{f32_to_f16(static_cast<float>(v))};
  } else if constexpr (std::is_same_v<To, BF16>) {
    return BF16{f32_to_bf16(static_cast<float>(v))};
  } else if constexpr (std::is_same_v<To, bool>) {
    return v != static_cast<From>(0);  // NaN is true, as in numpy
  } else if constexpr (std::is_integral_v<To> && std::is_floating_point_v<From>) {
    if (std::isnan(v)) return To(0);
    if (v <= static_cast<From>(std::numeric_limits<To>::lowest())) return std::numeric_limits<To>::lowest();
    if (v >= static_cast<From>(std::numeric_limits<To>::max())) return std::numeric_limits<To>::max();
    return static_cast<To>(v);
  } else {
    return static_cast<To>(v);
  }
}

class CastKernel final : public Kernel {
 public:
  explicit CastKernel(bool like) : like_(like) {}

  Status prepare(PrepareContext& ctx) override {
    EP_RETURN_IF_ERROR(ctx.expect_inputs(like_ ? 2 : 1, like_ ? 2 : 1));
    const TensorInfo& x = ctx.input(0);
    DType to = DType::undefined;
    if (like_) {
      to = ctx.input(1).dtype;
    } else {
      EP_ASSIGN_OR_RETURN(int64_t onnx_to, ctx.node().attr_int("to"));
      EP_ASSIGN_OR_RETURN(to, dtype_from_onnx_enum(ctx, onnx_to, "attribute 'to'"));
    }
    if (dtype_size(x.dtype) == 0) return ctx.unsupported_error("input dtype ", dtype_name(x.dtype));
    ctx.set_output(0, to, x.shape);
    return Status::ok();
  }

  Status run(const RunContext& ctx) noexcept override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    const int64_t n = x.numel();
    if (x.dtype == y.dtype) {
      if (y.nbytes()) std::memcpy(y.data, x.data, y.nbytes());
      return Status::ok();
    }
    dispatch_all(x.dtype, [&](auto in_tag) {
      using In = decltype(in_tag);
      dispatch_all(y.dtype, [&](auto out_tag) {
        using Out = decltype(out_tag);
        const In* src = x.as<In>();
        Out* dst = y.as<Out>();
        for (int64_t i = 0; i < n; ++i) dst[i] = convert<Out>(widen(src[i]));
      });
    });
    return Status::ok();
  }

 private:
  bool like_;
};

}  // namespace

std::unique_ptr<Kernel> make_cast() { return std::make_unique<CastKernel>(false); }
std::unique_ptr<Kernel> make_cast_like() { return std::make_unique<CastKernel>(true); }

}  // namespace ep::kernels::ref
