// Reduce* ops: sum, mean, max, min, prod, L1, L2, log-sum, log-sum-exp, sum of squares.
// Float types accumulate in double, integer types in int64 (exact sums and products).
#include <cmath>
#include <limits>

#include "kernels/ref/common.h"
#include "kernels/ref/ref_kernels.h"

namespace ep::kernels::ref {
namespace {

enum class RedOp { sum, mean, max, min, prod, l1, l2, log_sum, log_sum_exp, sum_square };

template <typename Acc>
Acc initial(RedOp op) {
  switch (op) {
    case RedOp::prod: return Acc(1);
    case RedOp::max:
      if constexpr (std::is_floating_point_v<Acc>) return -std::numeric_limits<Acc>::infinity();
      else return std::numeric_limits<Acc>::lowest();
    case RedOp::min:
      if constexpr (std::is_floating_point_v<Acc>) return std::numeric_limits<Acc>::infinity();
      else return std::numeric_limits<Acc>::max();
    case RedOp::log_sum_exp:  // first pass finds the maximum (see run)
      if constexpr (std::is_floating_point_v<Acc>) return -std::numeric_limits<Acc>::infinity();
      else return std::numeric_limits<Acc>::lowest();
    default: return Acc(0);
  }
}

// Integer sums and products wrap (two's complement) instead of overflowing into UB.
template <typename Acc>
Acc wrap_add(Acc a, Acc b) {
  if constexpr (std::is_integral_v<Acc>) return static_cast<Acc>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
  else return a + b;
}
template <typename Acc>
Acc wrap_mul(Acc a, Acc b) {
  if constexpr (std::is_integral_v<Acc>) return static_cast<Acc>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b));
  else return a * b;
}

// One accumulation step. NaN propagates through max and min as in numpy.
template <typename Acc>
Acc step(RedOp op, Acc acc, Acc x) {
  switch (op) {
    case RedOp::sum: case RedOp::mean: case RedOp::log_sum: return wrap_add(acc, x);
    case RedOp::max:
      if constexpr (std::is_floating_point_v<Acc>) {
        if (std::isnan(acc) || std::isnan(x)) return std::numeric_limits<Acc>::quiet_NaN();
      }
      return x > acc ? x : acc;
    case RedOp::min:
      if constexpr (std::is_floating_point_v<Acc>) {
        if (std::isnan(acc) || std::isnan(x)) return std::numeric_limits<Acc>::quiet_NaN();
      }
      return x < acc ? x : acc;
    case RedOp::prod: return wrap_mul(acc, x);
    case RedOp::l1: return wrap_add(acc, x < 0 ? wrap_mul(x, Acc(-1)) : x);
    case RedOp::l2: case RedOp::sum_square: return wrap_add(acc, wrap_mul(x, x));
    case RedOp::log_sum_exp: return acc;  // handled in run
  }
  return acc;
}

// The final value from the accumulator; `count` is the number of reduced elements.
template <typename Acc>
double finish(RedOp op, Acc acc, int64_t count) {
  const double a = static_cast<double>(acc);
  switch (op) {
    case RedOp::mean: return a / static_cast<double>(count);
    case RedOp::l2: return std::sqrt(a);
    case RedOp::log_sum: return std::log(a);
    default: return a;
  }
}

class ReduceKernel final : public Kernel {
 public:
  ReduceKernel(RedOp op, int axes_input_opset) : op_(op), axes_input_opset_(axes_input_opset) {}

  Status prepare(PrepareContext& ctx) override {
    const ir::Node& n = ctx.node();
    const bool axes_as_input = ctx.opset() >= axes_input_opset_;
    EP_RETURN_IF_ERROR(ctx.expect_inputs(1, axes_as_input ? 2 : 1));
    const TensorInfo& x = ctx.input(0);
    if (!(x.dtype == DType::f32 || x.dtype == DType::f64 || x.dtype == DType::i32 || x.dtype == DType::i64 ||
          x.dtype == DType::i8 || x.dtype == DType::u8 || x.dtype == DType::u32))
      return ctx.unsupported_error("dtype ", dtype_name(x.dtype));
    EP_ASSIGN_OR_RETURN(int64_t keepdims, n.attr_int("keepdims", 1));
    int64_t noop = 0;
    std::vector<int64_t> axes;
    if (axes_as_input) {
      if (n.has_attr("axes")) return ctx.error("axes is an input since opset ", axes_input_opset_, ", not an attribute");
      EP_ASSIGN_OR_RETURN(noop, n.attr_int("noop_with_empty_axes", 0));
      if (ctx.has_input(1)) {
        EP_ASSIGN_OR_RETURN(axes, constant_ints(ctx, 1, "axes"));
      }
    } else {
      if (n.has_attr("noop_with_empty_axes")) return ctx.error("noop_with_empty_axes needs opset ", axes_input_opset_);
      EP_ASSIGN_OR_RETURN(axes, n.attr_ints("axes", std::vector<int64_t>{}));
    }
    const int64_t rank = static_cast<int64_t>(x.shape.rank());
    reduced_.assign(rank, false);
    // With noop_with_empty_axes every element is "reduced" alone, so ReduceSumSquare still
    // squares it, as the ONNX reference does.
    if (axes.empty() && noop == 0) reduced_.assign(rank, true);
    for (int64_t a : axes) {
      EP_ASSIGN_OR_RETURN(int64_t ax, ctx.normalize_axis(a, rank, "axes entry"));
      if (rank == 0) continue;
      if (reduced_[ax]) return ctx.error("axis ", a, " is listed twice");
      reduced_[ax] = true;
    }
    std::vector<int64_t> out_dims;
    count_ = 1;
    for (int64_t d = 0; d < rank; ++d) {
      if (!reduced_[d]) out_dims.push_back(x.shape[d]);
      else {
        count_ *= x.shape[d];
        if (keepdims) out_dims.push_back(1);
      }
    }
    const Shape out(out_dims);
    ctx.set_output(0, x.dtype, out);
    ctx.request_scratch(static_cast<size_t>(out.numel()) * sizeof(double) * 2);
    return Status::ok();
  }

  Status run(const RunContext& ctx) noexcept override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    dispatch<float, double, int32_t, int64_t, int8_t, uint8_t, uint32_t>(x.dtype, [&](auto tag) {
      using T = decltype(tag);
      using Acc = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;
      compute<T, Acc>(x, y, static_cast<Acc*>(ctx.scratch));
    });
    return Status::ok();
  }

 private:
  // Strides of the output seen from the input's index space: 0 along reduced dims.
  std::vector<int64_t> out_strides_in_input(const Shape& in) const {
    std::vector<int64_t> st(in.rank(), 0);
    int64_t s = 1;
    for (size_t d = in.rank(); d-- > 0;) {
      if (reduced_[d]) continue;
      st[d] = s;
      s *= in[d];
    }
    return st;
  }

  template <typename T, typename Acc>
  void compute(const TensorView& x, const TensorView& y, Acc* acc) const {
    const T* px = x.as<T>();
    T* py = y.as<T>();
    const int64_t n_out = y.numel();
    const std::vector<int64_t> st[2] = {strides_of(x.shape), out_strides_in_input(x.shape)};
    for (int64_t i = 0; i < n_out; ++i) acc[i] = initial<Acc>(op_);
    if (op_ == RedOp::log_sum_exp) {
      // Stable: max first, then sum exp(x - max) in a second accumulator.
      for_each_index(x.shape, st, [&](int64_t, const int64_t* o) {
        acc[o[1]] = step<Acc>(RedOp::max, acc[o[1]], static_cast<Acc>(px[o[0]]));
      });
      double* sums = reinterpret_cast<double*>(acc + n_out);
      for (int64_t i = 0; i < n_out; ++i) sums[i] = 0;
      for_each_index(x.shape, st, [&](int64_t, const int64_t* o) {
        const double m = static_cast<double>(acc[o[1]]);
        if (std::isfinite(m)) sums[o[1]] += std::exp(static_cast<double>(px[o[0]]) - m);
      });
      for (int64_t i = 0; i < n_out; ++i) {
        const double m = static_cast<double>(acc[i]);
        py[i] = to_out<T>(std::isfinite(m) ? m + std::log(sums[i]) : m);
      }
      return;
    }
    for_each_index(x.shape, st, [&](int64_t, const int64_t* o) {
      acc[o[1]] = step<Acc>(op_, acc[o[1]], static_cast<Acc>(px[o[0]]));
    });
    for (int64_t i = 0; i < n_out; ++i) py[i] = cast_out<T>(finish<Acc>(op_, acc[i], count_), acc[i]);
  }

  // Integer results that need no float step (sum, prod, max...) stay exact.
  template <typename T, typename Acc>
  T cast_out(double v, Acc exact) const {
    if constexpr (std::is_integral_v<T>) {
      if (op_ != RedOp::mean && op_ != RedOp::l2 && op_ != RedOp::log_sum) return static_cast<T>(exact);
      return to_out<T>(v);
    } else {
      return static_cast<T>(v);
    }
  }

  // double -> T; integer outputs of NaN or infinite values become 0 rather than UB.
  template <typename T>
  static T to_out(double v) {
    if constexpr (std::is_integral_v<T>) {
      if (!std::isfinite(v) || v < static_cast<double>(std::numeric_limits<T>::lowest()) ||
          v > static_cast<double>(std::numeric_limits<T>::max()))
        return T(0);
    }
    return static_cast<T>(v);
  }

  RedOp op_;
  int axes_input_opset_;
  std::vector<bool> reduced_;
  int64_t count_ = 1;
};

template <RedOp Op, int AxesInputOpset>
std::unique_ptr<Kernel> make() {
  return std::make_unique<ReduceKernel>(Op, AxesInputOpset);
}

}  // namespace

std::unique_ptr<Kernel> make_reduce_sum() { return make<RedOp::sum, 13>(); }
std::unique_ptr<Kernel> make_reduce_mean() { return make<RedOp::mean, 18>(); }
std::unique_ptr<Kernel> make_reduce_max() { return make<RedOp::max, 18>(); }
std::unique_ptr<Kernel> make_reduce_min() { return make<RedOp::min, 18>(); }
std::unique_ptr<Kernel> make_reduce_prod() { return make<RedOp::prod, 18>(); }
std::unique_ptr<Kernel> make_reduce_l1() { return make<RedOp::l1, 18>(); }
std::unique_ptr<Kernel> make_reduce_l2() { return make<RedOp::l2, 18>(); }
std::unique_ptr<Kernel> make_reduce_log_sum() { return make<RedOp::log_sum, 18>(); }
std::unique_ptr<Kernel> make_reduce_log_sum_exp() { return make<RedOp::log_sum_exp, 18>(); }
std::unique_ptr<Kernel> make_reduce_sum_square() { return make<RedOp::sum_square, 18>(); }

}  // namespace ep::kernels::ref
