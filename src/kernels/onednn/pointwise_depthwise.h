// A 1x1 convolution and the depthwise convolution that reads its output (the expand and
// depthwise layers of an inverted-residual block), computed band by band so the expanded
// tensor never goes out to memory whole. MobileNetV3's 16 -> 64 at 112x112 expands to 3.2
// MB: written out by the 1x1 and read back by a stride-2 depthwise that took 0.22 to 1.1 ms
// (median 0.41) in-model on a Zen 1 core, against 0.22 with its input in cache.
//
// The depthwise output goes in bands of rows. A band's expanded input rows are computed into
// a buffer of the worker's own (~256 KB, in L2) by a oneDNN 1x1 convolution over just those
// rows of the input, and the depthwise reads them there and writes its rows of the output.
// The rows two consecutive bands share (k - stride of them) move to the front of the buffer
// instead of being computed again. With several threads each takes a contiguous part of the
// rows (its first band computing the rows it shares with its neighbour again). Chains with a
// post-op oneDNN's AVX2 kernels run slowly (hard swish, sigmoid, swish) are applied to each
// band in cache (apply_post_op_span); others stay oneDNN post-ops.
//
// (oneDNN's own fusion, post_ops::append_dw, was measured first: in 2.6 it computes garbage
// on NHWC activations, fuses in one kernel only above ~1 MB of expanded tensor per thread,
// and with the nChw8c copies it needs on both sides gained 0.22 ms on that layer.)
#pragma once

#include <vector>

#include "kernels/fused_conv.h"
#include "kernels/onednn/context.h"

namespace ep::kernels {

class PointwiseDepthwise {
 public:
  // Whether the pair is one this class computes: f32 NHWC, a 1x1 (stride 1, no padding, no
  // groups) and a depthwise of the 1x1's output channels (any kernel size and stride,
  // padding under the kernel size), element-wise chains without a residual.
  static bool supports(const FusedConvParams& pw, const FusedConvParams& dw);

  // Reorders the weights (OIHW for the 1x1, [C, 1, kH, kW] for the depthwise) once and
  // creates the primitives; returns the scratch bytes run() needs. Throws dnnl::error where
  // oneDNN declines or would run a reference kernel.
  size_t prepare(const FusedConvParams& pw, const FusedConvParams& dw, const float* w, const float* b,
                 const float* wd, const float* bd);

  // x [N, H, W, Cin] -> y [N, OH, OW, C]; scratch of prepare()'s size, 64-byte aligned. No
  // allocation.
  void run(const float* x, float* y, void* scratch) const;

  int64_t workers() const { return workers_; }
  int64_t band_rows() const { return band_rows_; }

 private:
  struct Prim {
    int64_t rows, in_rows, pad_top, pad_bottom;  // 1x1: rows only
    dnnl::convolution_forward prim;
    std::vector<onednn::RunMemories> workers;
  };
  // One band of a worker's part: output rows [row0, row0 + rows), expanded rows [in0, in1]
  // (those it needs), of which rows [new0, in1] are computed for it.
  struct Band {
    int64_t row0, in0, in1, new0;
    size_t pw, dw;  // into pw_prims_, dw_prims_
  };
  size_t pw_prim(int64_t rows);
  size_t dw_prim(int64_t rows, int64_t in_rows, int64_t pad_top, int64_t pad_bottom);
  void run_part(const float* x, float* y, int64_t img, int64_t part, int64_t worker, char* scratch) const;

  FusedConvParams pw_, dw_;
  bool pw_chain_in_prim_ = true, dw_chain_in_prim_ = true;
  int64_t workers_ = 1, band_rows_ = 1;
  dnnl::memory w_, b_, wd_, bd_;
  std::vector<Prim> pw_prims_, dw_prims_;
  std::vector<std::vector<Band>> parts_;  // per part of an image
  size_t buf_bytes_ = 0, pad_bytes_ = 0;  // per worker
};

}  // namespace ep::kernels
