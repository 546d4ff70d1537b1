// Element-wise binary ops with multidirectional broadcasting: arithmetic and comparisons.
#include <cmath>

#include "kernels/ref/common.h"
#include "kernels/ref/ref_kernels.h"

namespace ep::kernels::ref {
namespace {

enum class BinOp { add, sub, mul, div, pow, mod, fmod, equal, less, greater, less_equal, greater_equal, bit_and, bit_or, bit_xor };

bool is_comparison(BinOp op) {
  return op == BinOp::equal || op == BinOp::less || op == BinOp::greater || op == BinOp::less_equal ||
         op == BinOp::greater_equal;
}
bool is_logical(BinOp op) { return op == BinOp::bit_and || op == BinOp::bit_or || op == BinOp::bit_xor; }

template <typename T>
T apply(BinOp op, T a, T b) {
  if constexpr (std::is_same_v<T, bool>) {
    switch (op) {
      case BinOp::bit_and: return a && b;
      case BinOp::bit_or: return a || b;
      case BinOp::bit_xor: return a != b;
      default: return false;
    }
  } else {
  switch (op) {
    case BinOp::add: return static_cast<T>(a + b);
    case BinOp::sub: return static_cast<T>(a - b);
    case BinOp::mul: return static_cast<T>(a * b);
    case BinOp::div:
      if constexpr (std::is_integral_v<T>) return b == 0 ? T(0) : static_cast<T>(a / b);
      else return a / b;
    case BinOp::pow: return static_cast<T>(std::pow(static_cast<double>(a), static_cast<double>(b)));
    case BinOp::mod:  // integer Mod follows the divisor's sign (Python semantics)
      if constexpr (std::is_integral_v<T>) {
        if (b == 0) return T(0);
        T r = static_cast<T>(a % b);
        if (r != 0 && ((r < 0) != (b < 0))) r = static_cast<T>(r + b);
        return r;
      } else {
        T r = std::fmod(a, b);
        if (r != 0 && ((r < 0) != (b < 0))) r += b;
        return r;
      }
    case BinOp::fmod:
      if constexpr (std::is_integral_v<T>) return b == 0 ? T(0) : static_cast<T>(a % b);
      else return std::fmod(a, b);
    case BinOp::bit_and: return static_cast<T>(a && b);
    case BinOp::bit_or: return static_cast<T>(a || b);
    case BinOp::bit_xor: return static_cast<T>((a != 0) != (b != 0));
    default: return T(0);
  }
  }
}

template <typename T>
bool compare(BinOp op, T a, T b) {
  switch (op) {
    case BinOp::equal: return a == b;
    case BinOp::less: return a < b;
    case BinOp::greater: return a > b;
    case BinOp::less_equal: return a <= b;
    case BinOp::greater_equal: return a >= b;
    default: return false;
  }
}

class BinaryKernel final : public Kernel {
 public:
  explicit BinaryKernel(BinOp op) : op_(op) {}

  Status prepare(PrepareContext& ctx) override {
    EP_RETURN_IF_ERROR(ctx.expect_inputs(2, 2));
    const TensorInfo& a = ctx.input(0);
    const TensorInfo& b = ctx.input(1);
    DType out_dtype = a.dtype;
    if (op_ == BinOp::pow) {
      // Pow allows a different exponent type; the exponent is converted.
      if (!dtype_is_float(a.dtype) && a.dtype != DType::i32 && a.dtype != DType::i64)
        return ctx.unsupported_error("dtype ", dtype_name(a.dtype));
    } else if (a.dtype != b.dtype) {
      return ctx.error("input dtypes differ: ", dtype_name(a.dtype), " and ", dtype_name(b.dtype));
    }
    if (is_logical(op_) && a.dtype != DType::boolean) return ctx.error("expects bool inputs, got ", dtype_name(a.dtype));
    if (is_comparison(op_)) out_dtype = DType::boolean;
    if (!supported(a.dtype) || !supported(b.dtype)) return ctx.unsupported_error("dtype ", dtype_name(a.dtype));
    if (op_ == BinOp::mod) {
      EP_ASSIGN_OR_RETURN(int64_t fmod, ctx.node().attr_int("fmod", 0));
      fmod_ = fmod == 1;
      if (!fmod_ && dtype_is_float(a.dtype)) return ctx.error("Mod of floats requires fmod=1");
    }
    EP_ASSIGN_OR_RETURN(Shape out, broadcast_shapes(ctx, {a.shape, b.shape}));
    ctx.set_output(0, out_dtype, out);
    return Status::ok();
  }

  Status run(const RunContext& ctx) noexcept override {
    const TensorView& a = ctx.inputs[0];
    const TensorView& b = ctx.inputs[1];
    const TensorView& y = ctx.outputs[0];
    const std::vector<int64_t> st[3] = {strides_of(y.shape), broadcast_strides(a.shape, y.shape),
                                        broadcast_strides(b.shape, y.shape)};
    const BinOp op = (op_ == BinOp::mod && fmod_) ? BinOp::fmod : op_;
    dispatch<float, double, int8_t, uint8_t, int16_t, uint16_t, int32_t, uint32_t, int64_t, uint64_t, bool>(
        a.dtype, [&](auto tag) {
          using T = decltype(tag);
          const T* pa = a.as<T>();
          if (is_comparison(op)) {
            const T* pb = b.as<T>();
            bool* py = y.as<bool>();
            for_each_index(y.shape, st, [&](int64_t, const int64_t* o) { py[o[0]] = compare<T>(op, pa[o[1]], pb[o[2]]); });
          } else if (a.dtype != b.dtype) {  // Pow with a differently typed exponent
            T* py = y.as<T>();
            for_each_index(y.shape, st, [&](int64_t, const int64_t* o) {
              py[o[0]] = static_cast<T>(std::pow(static_cast<double>(pa[o[1]]), view_get_f64(b, o[2])));
            });
          } else {
            const T* pb = b.as<T>();
            T* py = y.as<T>();
            for_each_index(y.shape, st, [&](int64_t, const int64_t* o) { py[o[0]] = apply<T>(op, pa[o[1]], pb[o[2]]); });
          }
        });
    return Status::ok();
  }

 private:
  static bool supported(DType t) { return t != DType::f16 && t != DType::bf16 && t != DType::undefined; }
  BinOp op_;
  bool fmod_ = false;
};

template <BinOp Op>
std::unique_ptr<Kernel> make() {
  return std::make_unique<BinaryKernel>(Op);
}

}  // namespace

std::unique_ptr<Kernel> make_add() { return make<BinOp::add>(); }
std::unique_ptr<Kernel> make_sub() { return make<BinOp::sub>(); }
std::unique_ptr<Kernel> make_mul() { return make<BinOp::mul>(); }
std::unique_ptr<Kernel> make_div() { return make<BinOp::div>(); }
std::unique_ptr<Kernel> make_pow() { return make<BinOp::pow>(); }
std::unique_ptr<Kernel> make_mod() { return make<BinOp::mod>(); }
std::unique_ptr<Kernel> make_equal() { return make<BinOp::equal>(); }
std::unique_ptr<Kernel> make_less() { return make<BinOp::less>(); }
std::unique_ptr<Kernel> make_greater() { return make<BinOp::greater>(); }
std::unique_ptr<Kernel> make_less_or_equal() { return make<BinOp::less_equal>(); }
std::unique_ptr<Kernel> make_greater_or_equal() { return make<BinOp::greater_equal>(); }
std::unique_ptr<Kernel> make_and() { return make<BinOp::bit_and>(); }
std::unique_ptr<Kernel> make_or() { return make<BinOp::bit_or>(); }
std::unique_ptr<Kernel> make_xor() { return make<BinOp::bit_xor>(); }

}  // namespace ep::kernels::ref
