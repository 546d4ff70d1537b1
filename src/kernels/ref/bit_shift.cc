// BitShift on unsigned integers with multidirectional broadcasting. Shifts of the
// type's width or more give 0 (C++ leaves them undefined; numpy gives 0).
#include "kernels/ref/common.h"
#include "kernels/ref/ref_kernels.h"

namespace ep::kernels::ref {
namespace {

class BitShiftKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& ctx) override {
    EP_RETURN_IF_ERROR(ctx.expect_inputs(2, 2));
    const TensorInfo& a = ctx.input(0);
    const TensorInfo& b = ctx.input(1);
    if (a.dtype != b.dtype) return ctx.error("input dtypes differ: ", dtype_name(a.dtype), " and ", dtype_name(b.dtype));
    if (!(a.dtype == DType::u8 || a.dtype == DType::u16 || a.dtype == DType::u32 || a.dtype == DType::u64))
      return ctx.error("dtype ", dtype_name(a.dtype), " is not an unsigned integer");
    EP_ASSIGN_OR_RETURN(std::string dir, ctx.node().attr_string("direction"));
    if (dir != "LEFT" && dir != "RIGHT") return ctx.error("direction '", dir, "' is not LEFT or RIGHT");
    left_ = dir == "LEFT";
    EP_ASSIGN_OR_RETURN(Shape out, broadcast_shapes(ctx, {a.shape, b.shape}));
    ctx.set_output(0, a.dtype, out);
    return Status::ok();
  }

  Status run(const RunContext& ctx) noexcept override {
    const TensorView& a = ctx.inputs[0];
    const TensorView& b = ctx.inputs[1];
    const TensorView& y = ctx.outputs[0];
    const std::vector<int64_t> st[3] = {strides_of(y.shape), broadcast_strides(a.shape, y.shape),
                                        broadcast_strides(b.shape, y.shape)};
    dispatch<uint8_t, uint16_t, uint32_t, uint64_t>(a.dtype, [&](auto tag) {
      using T = decltype(tag);
      const T* pa = a.as<T>();
      const T* pb = b.as<T>();
      T* py = y.as<T>();
      constexpr uint64_t kBits = sizeof(T) * 8;
      for_each_index(y.shape, st, [&](int64_t, const int64_t* o) {
        const uint64_t s = pb[o[2]];
        const uint64_t v = pa[o[1]];
        py[o[0]] = s >= kBits ? T(0) : static_cast<T>(left_ ? v << s : v >> s);
      });
    });
    return Status::ok();
  }

 private:
  bool left_ = true;
};

}  // namespace

std::unique_ptr<Kernel> make_bit_shift() { return std::make_unique<BitShiftKernel>(); }

}  // namespace ep::kernels::ref
