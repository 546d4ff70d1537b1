// ArgMax and ArgMin: the index (i64) of the extreme value along one axis.
#include <cmath>

#include "kernels/ref/common.h"
#include "kernels/ref/ref_kernels.h"

namespace ep::kernels::ref {
namespace {

class ArgExtremumKernel final : public Kernel {
 public:
  explicit ArgExtremumKernel(bool is_max) : is_max_(is_max) {}

  Status prepare(PrepareContext& ctx) override {
    const ir::Node& n = ctx.node();
    EP_RETURN_IF_ERROR(ctx.expect_inputs(1, 1));
    const TensorInfo& x = ctx.input(0);
    if (!(x.dtype == DType::f32 || x.dtype == DType::f64 || x.dtype == DType::i32 || x.dtype == DType::i64 ||
          x.dtype == DType::i8 || x.dtype == DType::u8))
      return ctx.unsupported_error("dtype ", dtype_name(x.dtype));
    const int64_t rank = static_cast<int64_t>(x.shape.rank());
    if (rank == 0) return ctx.error("input must have rank >= 1");
    EP_ASSIGN_OR_RETURN(int64_t axis, n.attr_int("axis", 0));
    EP_ASSIGN_OR_RETURN(axis_, ctx.normalize_axis(axis, rank));
    EP_ASSIGN_OR_RETURN(int64_t keepdims, n.attr_int("keepdims", 1));
    EP_ASSIGN_OR_RETURN(int64_t last, n.attr_int("select_last_index", 0));
    if (last != 0 && ctx.opset() < 12) return ctx.error("select_last_index needs opset 12");
    select_last_ = last != 0;
    if (x.shape[axis_] == 0) return ctx.error("cannot take Arg", is_max_ ? "Max" : "Min", " over an empty axis");
    std::vector<int64_t> dims;
    for (int64_t d = 0; d < rank; ++d) {
      if (d != axis_) dims.push_back(x.shape[d]);
      else if (keepdims) dims.push_back(1);
    }
    ctx.set_output(0, DType::i64, Shape(dims));
    return Status::ok();
  }

  Status run(const RunContext& ctx) noexcept override {
    const TensorView& x = ctx.inputs[0];
    int64_t* py = ctx.outputs[0].as<int64_t>();
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis_; ++d) outer *= x.shape[d];
    for (size_t d = axis_ + 1; d < x.shape.rank(); ++d) inner *= x.shape[d];
    const int64_t len = x.shape[axis_];
    dispatch<float, double, int32_t, int64_t, int8_t, uint8_t>(x.dtype, [&](auto tag) {
      using T = decltype(tag);
      const T* px = x.as<T>();
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t i = 0; i < inner; ++i) {
          const T* base = px + o * len * inner + i;
          int64_t best = 0;
          for (int64_t k = 1; k < len; ++k)
            if (better(base[k * inner], base[best * inner])) best = k;
          py[o * inner + i] = best;
        }
    });
    return Status::ok();
  }

 private:
  // Whether candidate v replaces the current best b. NaN wins (and the first NaN stays) as in numpy.
  template <typename T>
  bool better(T v, T b) const {
    if constexpr (std::is_floating_point_v<T>) {
      if (std::isnan(b)) return select_last_ && std::isnan(v);
      if (std::isnan(v)) return true;
    }
    if (v == b) return select_last_;
    return is_max_ ? v > b : v < b;
  }

  bool is_max_;
  int64_t axis_ = 0;
  bool select_last_ = false;
};

}  // namespace

std::unique_ptr<Kernel> make_arg_max() { return std::make_unique<ArgExtremumKernel>(true); }
std::unique_ptr<Kernel> make_arg_min() { return std::make_unique<ArgExtremumKernel>(false); }

}  // namespace ep::kernels::ref
