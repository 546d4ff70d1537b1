// edgepipe.ToBlocked and edgepipe.FromBlocked: the layout changes passes/layout_blocked.cc
// puts at the edges of a region of blocked activations.
//   ToBlocked:   X [N, H, W, C] (NHWC) -> Y [N, ceil(C/B), H, W, B] (oneDNN's nChwBc), the
//                channels past C zero; attribute block (8, the default, or 16).
//   FromBlocked: X [N, ceil(C/B), H, W, B] -> Y [N, H, W, C]; B read from X's last dim, C from
//                the attribute channels (default: all of X's, no padding).
// Any element type of 4 bytes (the regions are f32). The copy loops are plain enough to be
// their own reference.
#include "kernels/cpu/blocked.h"
#include "kernels/cpu/cpu_kernels.h"

namespace ep::kernels::cpu {
namespace {

class BlockedLayout final : public Kernel {
 public:
  explicit BlockedLayout(bool to) : to_(to) {}

  Status prepare(PrepareContext& ctx) override {
    EP_RETURN_IF_ERROR(ctx.expect_inputs(1, 1));
    const TensorInfo& x = ctx.input(0);
    if (dtype_size(x.dtype) != 4) return ctx.error("blocked layouts hold 4-byte elements, got ", dtype_name(x.dtype));
    if (to_) {
      EP_ASSIGN_OR_RETURN(block_, ctx.node().attr_int("block", 8));
      if (block_ != 8 && block_ != 16) return ctx.error("block ", block_, " is not 8 or 16");
      if (x.shape.rank() != 4) return ctx.error("input ", x.shape.to_string(), " is not NHWC");
      n_ = x.shape[0], pixels_ = x.shape[1] * x.shape[2], c_ = x.shape[3];
      ctx.set_output(0, x.dtype, Shape{n_, (c_ + block_ - 1) / block_, x.shape[1], x.shape[2], block_});
    } else {
      if (x.shape.rank() != 5 || (x.shape[4] != 8 && x.shape[4] != 16))
        return ctx.error("input ", x.shape.to_string(), " is not [N, C/B, H, W, B] with B 8 or 16");
      block_ = x.shape[4];
      n_ = x.shape[0], pixels_ = x.shape[2] * x.shape[3];
      EP_ASSIGN_OR_RETURN(c_, ctx.node().attr_int("channels", x.shape[1] * block_));
      if (c_ < 1 || (c_ + block_ - 1) / block_ != x.shape[1])
        return ctx.error("channels ", c_, " do not fill the ", x.shape[1], " blocks of ", x.shape.to_string());
      ctx.set_output(0, x.dtype, Shape{n_, x.shape[2], x.shape[3], c_});
    }
    return Status::ok();
  }

  Status run(const RunContext& ctx) noexcept override {
    const float* x = static_cast<const float*>(ctx.inputs[0].data);
    float* y = static_cast<float*>(ctx.outputs[0].data);
    const bool par = n_ * pixels_ * c_ * 4 >= kParallelBytes;
    if (to_) {
      if (block_ == 16) to_blocked<16>(x, y, n_, pixels_, c_, par);
      else to_blocked<8>(x, y, n_, pixels_, c_, par);
    } else {
      if (block_ == 16) from_blocked<16>(x, y, n_, pixels_, c_, par);
      else from_blocked<8>(x, y, n_, pixels_, c_, par);
    }
    return Status::ok();
  }

 private:
  bool to_;
  int64_t block_ = 8, n_ = 0, pixels_ = 0, c_ = 0;
};

}  // namespace

std::unique_ptr<Kernel> make_to_blocked() { return std::make_unique<BlockedLayout>(true); }
std::unique_ptr<Kernel> make_from_blocked() { return std::make_unique<BlockedLayout>(false); }

}  // namespace ep::kernels::cpu
