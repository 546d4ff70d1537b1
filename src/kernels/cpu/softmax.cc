// Softmax over the innermost axis (the classifier and CTC heads): max-subtracted exp
// (vexp, vectorised), accumulated in float per row.
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/vexp.h"

namespace ep::kernels::cpu {
namespace {

class SoftmaxLastAxis final : public Kernel {
 public:
  Status prepare(PrepareContext& ctx) override {
    const TensorInfo& x = ctx.input(0);
    if (x.dtype != DType::f32) return ctx.unsupported_error("fast Softmax is f32 only");
    const int64_t rank = static_cast<int64_t>(x.shape.rank());
    if (rank == 0) return ctx.unsupported_error("scalar");
    EP_ASSIGN_OR_RETURN(int64_t axis, ctx.node().attr_int("axis", ctx.opset() < 13 ? 1 : -1));
    EP_ASSIGN_OR_RETURN(axis, ctx.normalize_axis(axis, rank));
    // Before opset 13 the input is flattened to 2-D at `axis`; both forms reduce the
    // innermost run when the axis is the last one.
    if (axis != rank - 1) return ctx.unsupported_error("fast Softmax reduces the last axis only");
    cols_ = x.shape[rank - 1];
    rows_ = cols_ == 0 ? 0 : x.shape.numel() / cols_;
    ctx.set_output(0, DType::f32, x.shape);
    return Status::ok();
  }

  Status run(const RunContext& ctx) noexcept override {
    const float* x = ctx.inputs[0].as<float>();
    float* y = ctx.outputs[0].as<float>();
    const int64_t cols = cols_;
#pragma omp parallel for if (rows_ * cols_ >= (1 << 15)) schedule(static)
    for (int64_t r = 0; r < rows_; ++r) {
      const float* xr = x + r * cols;
      float* yr = y + r * cols;
      float m = xr[0];
#pragma omp simd reduction(max : m)
      for (int64_t c = 1; c < cols; ++c) m = xr[c] > m ? xr[c] : m;
      float sum = 0.f;
#pragma omp simd reduction(+ : sum)
      for (int64_t c = 0; c < cols; ++c) {
        const float e = vexp(xr[c] - m);
        yr[c] = e;
        sum += e;
      }
      const float inv = 1.f / sum;
#pragma omp simd
      for (int64_t c = 0; c < cols; ++c) yr[c] *= inv;
    }
    return Status::ok();
  }

 private:
  int64_t rows_ = 0, cols_ = 0;
};

}  // namespace

std::unique_ptr<Kernel> make_softmax() { return std::make_unique<SoftmaxLastAxis>(); }

}  // namespace ep::kernels::cpu
