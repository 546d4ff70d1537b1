// TopK: the k largest (or smallest) values along an axis and their i64 indices.
// Equal values keep index order (the lower index first), which the ONNX spec asks for.
#include <algorithm>
#include <cmath>

#include "kernels/ref/common.h"
#include "kernels/ref/ref_kernels.h"

namespace ep::kernels::ref {
namespace {

class TopKKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& ctx) override {
    const ir::Node& n = ctx.node();
    const bool k_input = ctx.opset() >= 10;
    EP_RETURN_IF_ERROR(ctx.expect_inputs(k_input ? 2 : 1, k_input ? 2 : 1));
    const TensorInfo& x = ctx.input(0);
    if (!(x.dtype == DType::f32 || x.dtype == DType::f64 || x.dtype == DType::i32 || x.dtype == DType::i64 ||
          x.dtype == DType::i8 || x.dtype == DType::u8))
      return ctx.unsupported_error("dtype ", dtype_name(x.dtype));
    const int64_t rank = static_cast<int64_t>(x.shape.rank());
    if (rank == 0) return ctx.error("input must have rank >= 1");
    EP_ASSIGN_OR_RETURN(int64_t axis, n.attr_int("axis", -1));
    EP_ASSIGN_OR_RETURN(axis_, ctx.normalize_axis(axis, rank));
    if (k_input) {
      EP_ASSIGN_OR_RETURN(std::vector<int64_t> k, constant_ints(ctx, 1, "K"));
      if (k.size() != 1) return ctx.error("K must hold one value, got ", k.size());
      k_ = k[0];
    } else {
      EP_ASSIGN_OR_RETURN(k_, n.attr_int("k"));
    }
    if (k_ < 0 || k_ > x.shape[axis_])
      return ctx.error("K ", k_, " is out of range for axis ", axis_, " of size ", x.shape[axis_]);
    EP_ASSIGN_OR_RETURN(int64_t largest, n.attr_int("largest", 1));
    EP_ASSIGN_OR_RETURN(int64_t sorted, n.attr_int("sorted", 1));
    if (ctx.opset() < 11 && (largest != 1 || sorted != 1)) return ctx.error("largest/sorted need opset 11");
    largest_ = largest != 0;  // sorted=0 leaves the order free; we return sorted output anyway
    Shape out = x.shape;
    out[axis_] = k_;
    ctx.set_output(0, x.dtype, out);
    if (ctx.output_requested(1)) ctx.set_output(1, DType::i64, out);
    ctx.request_scratch(static_cast<size_t>(x.shape[axis_]) * sizeof(int64_t));
    return Status::ok();
  }

  Status run(const RunContext& ctx) noexcept override {
    const TensorView& x = ctx.inputs[0];
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis_; ++d) outer *= x.shape[d];
    for (size_t d = axis_ + 1; d < x.shape.rank(); ++d) inner *= x.shape[d];
    const int64_t len = x.shape[axis_];
    int64_t* order = static_cast<int64_t*>(ctx.scratch);
    int64_t* pi = ctx.outputs.size() > 1 ? ctx.outputs[1].as<int64_t>() : nullptr;
    dispatch<float, double, int32_t, int64_t, int8_t, uint8_t>(x.dtype, [&](auto tag) {
      using T = decltype(tag);
      const T* px = x.as<T>();
      T* pv = ctx.outputs[0].as<T>();
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t i = 0; i < inner; ++i) {
          const T* base = px + o * len * inner + i;
          for (int64_t k = 0; k < len; ++k) order[k] = k;
          // NaN counts as the largest value (numpy's sort order).
          auto before = [&](int64_t a, int64_t b) {
            const T va = base[a * inner], vb = base[b * inner];
            bool a_first = false, b_first = false;
            if constexpr (std::is_floating_point_v<T>) {
              const bool na = std::isnan(va), nb = std::isnan(vb);
              if (na || nb) {
                if (na && nb) return a < b;
                return largest_ ? na : nb;
              }
            }
            a_first = largest_ ? va > vb : va < vb;
            b_first = largest_ ? vb > va : vb < va;
            if (a_first != b_first) return a_first;
            return a < b;
          };
          std::partial_sort(order, order + k_, order + len, before);
          for (int64_t k = 0; k < k_; ++k) {
            const int64_t at = (o * k_ + k) * inner + i;
            pv[at] = base[order[k] * inner];
            if (pi) pi[at] = order[k];
          }
        }
    });
    return Status::ok();
  }

 private:
  int64_t axis_ = 0;
  int64_t k_ = 0;
  bool largest_ = true;
};

}  // namespace

std::unique_ptr<Kernel> make_top_k() { return std::make_unique<TopKKernel>(); }

}  // namespace ep::kernels::ref
