// ConvTranspose with kernel = stride, no padding, and at most 4 outputs per input pixel
// (Cout * kh * kw <= 4): the last layer of a DB text detector's head (PP-OCRv4 det: 24
// channels at 320x320 -> one probability map at 640x640, then sigmoid). Each input pixel
// gives its own kh x kw block of outputs, a dot product of its channels per output. oneDNN
// runs it (as the equivalent 1x1 convolution, fused_conv.cc's pixel-shuffle form) with the 4
// output channels padded to 16 and a scatter pass after; here four pixels share a vector,
// one 128-bit lane each holding that pixel's 4 outputs: per input channel one FMA of the
// channel's value (loaded 4 channels at a time into the lane, then broadcast within it)
// against its 4 weights. A chunk of pixels' outputs go through the post-op chain in cache,
// then into their rows. f32 NHWC, AVX-512; input f32 or (bf16 sessions) bf16, weights rounded to
// bf16 there so the products are the bf16 convolution's, summed in f32. int8 (u8 input) with
// VNNI: the same lanes, each taking 4 channels per vpdpbusd (the pixel's 16 channels loaded
// into its lane, each group of 4 broadcast within it), exact int32 sums.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/fused_conv.h"

namespace ep::kernels {

class ShuffleConvT {
 public:
  // Whether the shape is one this class computes (see the top of the file): false in a build
  // without AVX-512.
  static bool supports(const FusedConvParams& p);

  // Packs the weights [Cin, Cout, kh, kw] as [Cin][16] (output t = (ky * kw + kx) * Cout + oc
  // in lanes t, 4 + t, 8 + t, 12 + t) and the bias; returns the scratch bytes run() needs.
  // w: f32, or int8 (p.precision int8, scaled by p.w_scales).
  size_t prepare(const FusedConvParams& p, const void* w, const float* b);

  // x [N, H, W, Cin] (f32, bf16 or u8 as p.x_dtype), y [N, H * kh, W * kw, Cout] f32; scratch of
  // prepare()'s size. Threads: the calling thread's OpenMP team, as many as at prepare().
  void run(const void* x, float* y, void* scratch) const;

 private:
  void sums_int8_vnni(const uint8_t* xr, int64_t count, float* packed) const;

  static constexpr int64_t kChunk = 64;  // pixels whose outputs go through the chain together
  FusedConvParams p_;
  int64_t taps_ = 0, outs_ = 0;  // kh * kw; Cout * kh * kw
  int64_t cin4_ = 0;             // Cin rounded up to 4
  std::vector<float> w_, b_;     // [cin4_][4 pixels][4 outputs], [4][4]
  std::vector<float> scale_;     // int8: x_scale * w_scale per lane, as b_
  // int8 with VNNI: per group of 4 input channels, each lane's 4 weights as bytes (lanes as
  // w_); per lane x_zero * the sum of its output's weights (subtracted from the u8 sums).
  std::vector<int32_t> wq_, zcomp_;
  std::vector<uint8_t> perm_;  // int8, Cin <= 32: the two byte permutes' indices
  bool int8_ = false;
  size_t worker_bytes_ = 0;
  int64_t workers_ = 1;
};

}  // namespace ep::kernels
