// f32 NHWC convolutions with a spatial kernel ending in swish, sigmoid or hard swish that no
// other AVX2 path of fused_conv.cc takes (YOLOv5's stem: 6x6 stride 2, 3 -> 32 channels, not
// a multiple of 8 for the nChw8c copy route; MobileNetV3's, 3 -> 16 with hard swish):
// oneDNN 2.6's AVX2 swish/logistic post-ops cost ~2.3 ns per output value on a Zen 1, more
// than a third of that layer, its hard swish ~0.7 ns. The output goes through in bands of
// rows, each a convolution over just the input rows it needs (with the image's own top or
// bottom padding where the band touches an edge, none inside), and the chain is applied to
// the band while it is in cache (apply_post_op_span: swish 1.4 ns per value, hard swish
// 0.25). A band's output is about 160 KB; with several threads the bands per image are a
// multiple of the thread count (at least one band per thread), of equal rows, and each
// thread takes whole bands with its own memories and scratchpad. Only a few band shapes
// occur (first, middle, last, a shorter tail): one primitive each, all sharing the weights
// reordered once.
#pragma once

#include <vector>

#include "kernels/fused_conv.h"
#include "kernels/onednn/context.h"

namespace ep::kernels {

class BandedConv {
 public:
  // Whether the shape is one this class computes (see the top of the file).
  static bool supports(const FusedConvParams& p);

  // Reorders the weights [Cout, Cin, kH, kW] once and creates the primitives; returns the
  // scratch bytes run() needs. Throws dnnl::error where oneDNN declines or would run its
  // reference kernel.
  size_t prepare(const FusedConvParams& p, const float* w, const float* b);

  // x [N, H, W, Cin], y [N, OH, OW, Cout], r the residual (as y) or null; scratch of
  // prepare()'s size. No allocation.
  void run(const float* x, float* y, const float* r, void* scratch) const;

 private:
  // Output rows, input rows and the padding rows above and below them of one band.
  struct BandShape {
    int64_t rows, in_rows, pad_top, pad_bottom;
    bool operator==(const BandShape&) const = default;
  };
  struct Conv {
    BandShape shape;
    dnnl::convolution_forward prim;
    std::vector<onednn::RunMemories> workers;
  };
  struct Band {
    int64_t row0, in_row0;  // first output row, first input row read
    size_t conv;            // into convs_
  };
  dnnl::convolution_forward::primitive_desc describe(const BandShape& s) const;
  size_t conv_for(const BandShape& s);
  void run_band(const float* x, float* y, const float* r, int64_t item, int64_t worker, char* scratch) const;

  FusedConvParams p_;
  int64_t workers_ = 1;
  dnnl::memory weights_, bias_;
  std::vector<Conv> convs_;
  std::vector<Band> bands_;  // per image
  size_t pad_bytes_ = 0;
};

}  // namespace ep::kernels
