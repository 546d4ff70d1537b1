// Variadic element-wise Min, Max, Sum and Mean over N >= 1 inputs with multidirectional broadcasting.
#include <cmath>
#include <limits>

#include "kernels/ref/common.h"
#include "kernels/ref/ref_kernels.h"

namespace ep::kernels::ref {
namespace {

enum class VarOp { min, max, sum, mean };

template <typename T>
T fold(VarOp op, T acc, T x) {
  if constexpr (std::is_floating_point_v<T>) {  // NaN propagates, as np.maximum does
    if ((op == VarOp::min || op == VarOp::max) && (std::isnan(acc) || std::isnan(x)))
      return std::numeric_limits<T>::quiet_NaN();
  }
  switch (op) {
    case VarOp::min: return x < acc ? x : acc;
    case VarOp::max: return x > acc ? x : acc;
    default:
      if constexpr (std::is_integral_v<T>) {  // wrap rather than overflow into UB
        using U = std::make_unsigned_t<T>;
        return static_cast<T>(static_cast<U>(static_cast<U>(acc) + static_cast<U>(x)));
      } else {
        return acc + x;
      }
  }
}

class VariadicKernel final : public Kernel {
 public:
  explicit VariadicKernel(VarOp op) : op_(op) {}

  Status prepare(PrepareContext& ctx) override {
    if (ctx.num_inputs() == 0) return ctx.error("needs at least one input");
    EP_RETURN_IF_ERROR(ctx.expect_inputs(ctx.num_inputs(), ctx.num_inputs()));
    const DType dt = ctx.input(0).dtype;
    const bool is_float = dt == DType::f32 || dt == DType::f64;
    const bool is_int = dtype_is_integer(dt) && dt != DType::boolean;
    if (!(is_float || (is_int && op_ != VarOp::mean))) return ctx.unsupported_error("dtype ", dtype_name(dt));
    std::vector<Shape> shapes;
    for (size_t i = 0; i < ctx.num_inputs(); ++i) {
      if (ctx.input(i).dtype != dt)
        return ctx.error("input ", i, " has dtype ", dtype_name(ctx.input(i).dtype), ", expected ", dtype_name(dt));
      shapes.push_back(ctx.input(i).shape);
    }
    EP_ASSIGN_OR_RETURN(Shape out, broadcast_shapes(ctx, shapes));
    ctx.set_output(0, dt, out);
    return Status::ok();
  }

  Status run(const RunContext& ctx) noexcept override {
    const TensorView& y = ctx.outputs[0];
    dispatch<float, double, int8_t, uint8_t, int16_t, uint16_t, int32_t, uint32_t, int64_t, uint64_t>(
        y.dtype, [&](auto tag) {
          using T = decltype(tag);
          T* py = y.as<T>();
          for (size_t k = 0; k < ctx.inputs.size(); ++k) {
            const T* px = ctx.inputs[k].as<T>();
            const std::vector<int64_t> st[2] = {strides_of(y.shape), broadcast_strides(ctx.inputs[k].shape, y.shape)};
            for_each_index(y.shape, st, [&](int64_t, const int64_t* o) {
              py[o[0]] = k == 0 ? px[o[1]] : fold<T>(op_, py[o[0]], px[o[1]]);
            });
          }
          if constexpr (std::is_floating_point_v<T>) {
            if (op_ == VarOp::mean) {
              const T n = static_cast<T>(ctx.inputs.size());
              for (int64_t i = 0; i < y.numel(); ++i) py[i] /= n;
            }
          }
        });
    return Status::ok();
  }

 private:
  VarOp op_;
};

}  // namespace

std::unique_ptr<Kernel> make_min() { return std::make_unique<VariadicKernel>(VarOp::min); }
std::unique_ptr<Kernel> make_max() { return std::make_unique<VariadicKernel>(VarOp::max); }
std::unique_ptr<Kernel> make_sum() { return std::make_unique<VariadicKernel>(VarOp::sum); }
std::unique_ptr<Kernel> make_mean() { return std::make_unique<VariadicKernel>(VarOp::mean); }

}  // namespace ep::kernels::ref
