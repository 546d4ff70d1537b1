// Softmax, LogSoftmax and Hardmax. Before opset 13 the input is coerced to 2-D at `axis`
// (default 1) and the op runs over the whole second dim; from 13 it runs over one axis
// (default -1).
#include <cmath>

#include "kernels/ref/common.h"
#include "kernels/ref/ref_kernels.h"

namespace ep::kernels::ref {
namespace {

enum class SoftOp { softmax, log_softmax, hardmax };

// One row: `len` values `stride` apart.
template <typename T>
void soft_row(SoftOp op, const T* x, T* y, int64_t len, int64_t stride) {
  if (len == 0) return;
  int64_t arg = 0;
  for (int64_t i = 1; i < len; ++i)
    if (x[i * stride] > x[arg * stride]) arg = i;
  if (op == SoftOp::hardmax) {
    for (int64_t i = 0; i < len; ++i) y[i * stride] = T(i == arg ? 1 : 0);
    return;
  }
  const double mx = static_cast<double>(x[arg * stride]);
  double sum = 0;
  for (int64_t i = 0; i < len; ++i) sum += std::exp(static_cast<double>(x[i * stride]) - mx);
  const double log_sum = std::log(sum);
  for (int64_t i = 0; i < len; ++i) {
    const double d = static_cast<double>(x[i * stride]) - mx;
    y[i * stride] = static_cast<T>(op == SoftOp::softmax ? std::exp(d) / sum : d - log_sum);
  }
}

class SoftKernel final : public Kernel {
 public:
  explicit SoftKernel(SoftOp op) : op_(op) {}

  Status prepare(PrepareContext& ctx) override {
    EP_RETURN_IF_ERROR(ctx.expect_inputs(1, 1));
    const TensorInfo& x = ctx.input(0);
    if (x.dtype != DType::f32 && x.dtype != DType::f64) return ctx.unsupported_error("dtype ", dtype_name(x.dtype));
    const int64_t rank = static_cast<int64_t>(x.shape.rank());
    const bool coerce_2d = ctx.opset() < 13;
    EP_ASSIGN_OR_RETURN(int64_t axis_attr, ctx.node().attr_int("axis", coerce_2d ? 1 : -1));
    EP_ASSIGN_OR_RETURN(int64_t axis, ctx.normalize_axis(axis_attr, rank));
    outer_ = 1;
    len_ = 1;
    inner_ = 1;
    for (int64_t d = 0; d < rank; ++d) {
      const int64_t v = x.shape[static_cast<size_t>(d)];
      if (d < axis) outer_ *= v;
      else if (d == axis || coerce_2d) len_ *= v;
      else inner_ *= v;
    }
    ctx.set_output(0, x.dtype, x.shape);
    return Status::ok();
  }

  Status run(const RunContext& ctx) noexcept override {
    dispatch<float, double>(ctx.inputs[0].dtype, [&](auto tag) {
      using T = decltype(tag);
      const T* x = ctx.inputs[0].as<T>();
      T* y = ctx.outputs[0].as<T>();
      for (int64_t o = 0; o < outer_; ++o)
        for (int64_t i = 0; i < inner_; ++i) {
          const int64_t base = o * len_ * inner_ + i;
          soft_row<T>(op_, x + base, y + base, len_, inner_);
        }
    });
    return Status::ok();
  }

 private:
  SoftOp op_;
  int64_t outer_ = 1, len_ = 1, inner_ = 1;
};

}  // namespace

std::unique_ptr<Kernel> make_softmax() { return std::make_unique<SoftKernel>(SoftOp::softmax); }
std::unique_ptr<Kernel> make_log_softmax() { return std::make_unique<SoftKernel>(SoftOp::log_softmax); }
std::unique_ptr<Kernel> make_hardmax() { return std::make_unique<SoftKernel>(SoftOp::hardmax); }

}  // namespace ep::kernels::ref
