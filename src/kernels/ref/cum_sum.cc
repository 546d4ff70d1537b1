// CumSum: running sums along an axis, optionally exclusive and/or reversed.
// Float types sum in double, integers in their own type (wrapping like numpy).
#include "kernels/ref/common.h"
#include "kernels/ref/ref_kernels.h"

namespace ep::kernels::ref {
namespace {

// Integer sums wrap (two's complement) instead of overflowing into UB.
template <typename Acc>
Acc add(Acc a, Acc b) {
  if constexpr (std::is_integral_v<Acc>) {
    using U = std::make_unsigned_t<Acc>;
    return static_cast<Acc>(static_cast<U>(static_cast<U>(a) + static_cast<U>(b)));
  } else {
    return a + b;
  }
}

class CumSumKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& ctx) override {
    const ir::Node& n = ctx.node();
    EP_RETURN_IF_ERROR(ctx.expect_inputs(2, 2));
    const TensorInfo& x = ctx.input(0);
    if (!(x.dtype == DType::f32 || x.dtype == DType::f64 || x.dtype == DType::i32 || x.dtype == DType::i64 ||
          x.dtype == DType::u32 || x.dtype == DType::u64))
      return ctx.unsupported_error("dtype ", dtype_name(x.dtype));
    const int64_t rank = static_cast<int64_t>(x.shape.rank());
    if (rank == 0) return ctx.error("input must have rank >= 1");
    const TensorInfo& a = ctx.input(1);
    if (a.dtype != DType::i32 && a.dtype != DType::i64) return ctx.error("axis has dtype ", dtype_name(a.dtype));
    if (a.shape.rank() > 1 || a.shape.numel() != 1) return ctx.error("axis must be a scalar");
    // The output shape does not depend on the axis, so a runtime axis is read in run().
    axis_known_ = a.constant != nullptr;
    if (axis_known_) {
      EP_ASSIGN_OR_RETURN(std::vector<int64_t> axis, constant_ints(ctx, 1, "axis"));
      EP_ASSIGN_OR_RETURN(axis_, ctx.normalize_axis(axis[0], rank));
    }
    EP_ASSIGN_OR_RETURN(int64_t exclusive, n.attr_int("exclusive", 0));
    EP_ASSIGN_OR_RETURN(int64_t reverse, n.attr_int("reverse", 0));
    exclusive_ = exclusive != 0;
    reverse_ = reverse != 0;
    ctx.set_output(0, x.dtype, x.shape);
    return Status::ok();
  }

  Status run(const RunContext& ctx) noexcept override {
    const TensorView& x = ctx.inputs[0];
    int64_t axis = axis_;
    if (!axis_known_) {
      const int64_t rank = static_cast<int64_t>(x.shape.rank());
      axis = view_get_i64(ctx.inputs[1], 0);
      if (axis < -rank || axis >= rank) return out_of_range("CumSum axis ", axis, " is out of range for rank ", rank);
      if (axis < 0) axis += rank;
    }
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= x.shape[d];
    for (size_t d = axis + 1; d < x.shape.rank(); ++d) inner *= x.shape[d];
    const int64_t len = x.shape[axis];
    dispatch<float, double, int32_t, int64_t, uint32_t, uint64_t>(x.dtype, [&](auto tag) {
      using T = decltype(tag);
      using Acc = std::conditional_t<std::is_floating_point_v<T>, double, T>;
      const T* px = x.as<T>();
      T* py = ctx.outputs[0].as<T>();
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t i = 0; i < inner; ++i) {
          const int64_t base = o * len * inner + i;
          Acc acc = 0;
          for (int64_t step = 0; step < len; ++step) {
            const int64_t k = reverse_ ? len - 1 - step : step;
            const int64_t at = base + k * inner;
            if (exclusive_) {
              py[at] = static_cast<T>(acc);
              acc = add<Acc>(acc, static_cast<Acc>(px[at]));
            } else {
              acc = add<Acc>(acc, static_cast<Acc>(px[at]));
              py[at] = static_cast<T>(acc);
            }
          }
        }
    });
    return Status::ok();
  }

 private:
  int64_t axis_ = 0;
  bool axis_known_ = false;
  bool exclusive_ = false;
  bool reverse_ = false;
};

}  // namespace

std::unique_ptr<Kernel> make_cum_sum() { return std::make_unique<CumSumKernel>(); }

}  // namespace ep::kernels::ref
