// 1x1 stride-1 f32 NHWC convolutions whose post-op chain oneDNN 2.6 runs slowly on AVX2
// (swish, sigmoid: ~2 ns per output value on a Zen 1, its exp in the JIT post-op; hard swish
// ~0.7 ns, where ReLU costs nothing: 24 -> 72 at 56x56 0.29 -> 0.48 ms, 16 -> 48 at 160x160
// 1.30 -> 2.15). The pixels go through in chunks, each a 1x1 convolution on [1, C, 1, chunk]
// (bias only, the same reordered weights), and the chain is applied to the chunk's output
// while it is still in cache (apply_post_op_span: swish 1.4 ns per value, hard swish 0.25).
// A chunk's output is 160 KB, or twice the weights where they are larger (each chunk reads
// them all). Zen 1, one thread, swish: 64->32 at 160x160 5.0 -> 4.4 ms, 128->64 at 80x80 3.9
// -> 3.6 ms, 32->32 at 160x160 3.5 -> 2.9 ms. With several threads the chunks are a multiple
// of the thread count, of equal size, and each thread takes whole chunks with its own
// memories and scratchpad. (With AVX-512 the cpu pointwise kernel,
// kernels/cpu/pointwise_conv.cc, answers the same cost.)
#pragma once

#include <vector>

#include "kernels/fused_conv.h"
#include "kernels/onednn/context.h"

namespace ep::kernels {

class ChunkedPointwise {
 public:
  // Whether the shape is one this class computes (see the top of the file).
  static bool supports(const FusedConvParams& p);

  // Reorders the weights [Cout, Cin, 1, 1] once and creates the primitives; returns the
  // scratch bytes run() needs. Throws dnnl::error where oneDNN declines.
  size_t prepare(const FusedConvParams& p, const float* w, const float* b);

  // x [N, H, W, Cin], y [N, H, W, Cout], r the residual (as y) or null; scratch of
  // prepare()'s size. No allocation.
  void run(const float* x, float* y, const float* r, void* scratch) const;

 private:
  struct Conv {
    dnnl::convolution_forward prim;
    std::vector<onednn::RunMemories> workers;
  };
  dnnl::convolution_forward::primitive_desc describe(int64_t pixels) const;
  void build(int64_t pixels, Conv& conv);
  void run_chunk(const float* x, float* y, const float* r, int64_t p0, int64_t worker, char* scratch) const;

  FusedConvParams p_;
  int64_t pixels_ = 0, chunk_ = 0, tail_ = 0;  // N*H*W; pixels per chunk; in the last (0: none)
  int64_t workers_ = 1;
  dnnl::memory weights_, bias_;
  Conv full_, tail_conv_;
  size_t pad_bytes_ = 0;
};

}  // namespace ep::kernels
