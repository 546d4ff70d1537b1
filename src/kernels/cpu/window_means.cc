// edgepipe.WindowMeans (cpu_kernels.h): per tap of a stride-1 kernel, the mean of the
// dequantized input over the window that tap reads across all output pixels; with them the
// spatial mean of an int8 convolution's output is one f32 1x1 convolution (passes/
// fold_resize_add.cc, fold_conv_scale_add). Each tap's window is the whole image less a few
// border rows and columns (the padding reads zeros: the zero point, dequantized), so one pass
// sums every row and the taps take their sums from those, less the border pixels they skip.
// GCC 12 reports the AVX-512 intrinsics' undefined pass-through operands as "may be used
// uninitialized" where they are inlined (see onednn/narrow_int8_conv.cc); they are not read.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <algorithm>
#include <cstdint>
#include <vector>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "kernels/cpu/cpu_kernels.h"

namespace ep::kernels::cpu {
namespace {

class WindowMeans final : public Kernel {
 public:
  Status prepare(PrepareContext& ctx) override {
    EP_RETURN_IF_ERROR(ctx.expect_inputs(3, 3));
    const TensorInfo &x = ctx.input(0), &s = ctx.input(1), &z = ctx.input(2);
    if (x.dtype != DType::u8 || x.shape.rank() != 4)
      return ctx.error("X must be u8 [N, H, W, C], not ", x.shape.to_string());
    if (s.dtype != DType::f32 || s.shape.numel() != 1 || !s.constant)
      return ctx.error("x_scale must be a constant one-value f32");
    if (z.dtype != DType::u8 || z.shape.numel() != 1 || !z.constant)
      return ctx.error("x_zero_point must be a constant one-value u8");
    EP_ASSIGN_OR_RETURN(std::vector<int64_t> k, ctx.node().attr_ints("kernel_shape"));
    EP_ASSIGN_OR_RETURN(std::vector<int64_t> pads, ctx.node().attr_ints("pads"));
    if (k.size() != 2 || pads.size() != 4 || k[0] < 1 || k[1] < 1 ||
        std::any_of(pads.begin(), pads.end(), [&](int64_t p) { return p < 0 || p >= std::max(k[0], k[1]); }))
      return ctx.error("kernel_shape [kh, kw] and pads [top, left, bottom, right] (each under the kernel)");
    n_ = x.shape[0];
    h_ = x.shape[1];
    w_ = x.shape[2];
    c_ = x.shape[3];
    kh_ = k[0];
    kw_ = k[1];
    pt_ = pads[0];
    pl_ = pads[1];
    oh_ = h_ + pads[0] + pads[2] - kh_ + 1;
    ow_ = w_ + pads[1] + pads[3] - kw_ + 1;
    if (oh_ < 1 || ow_ < 1) return ctx.error("the kernel is larger than the padded input");
    scale_ = s.constant->as<float>()[0];
    zero_ = z.constant->as<uint8_t>()[0];
    ctx.set_output(0, DType::f32, Shape{n_, 1, 1, kh_ * kw_ * c_});
    return Status::ok();
  }

  Status run(const RunContext& ctx) noexcept override {
    const auto* x = ctx.inputs[0].as<uint8_t>();
    float* y = ctx.outputs[0].as<float>();
    const int64_t taps = kh_ * kw_;
    // Input rows [r0[ky], r1[ky]) and columns [c0[kx], c1[kx]) each tap reads inside the image.
    std::vector<int64_t> r0(kh_), r1(kh_), c0(kw_), c1(kw_);
    for (int64_t ky = 0; ky < kh_; ++ky) {
      r0[ky] = std::max<int64_t>(0, ky - pt_);
      r1[ky] = std::min(h_, ky - pt_ + oh_);
    }
    for (int64_t kx = 0; kx < kw_; ++kx) {
      c0[kx] = std::max<int64_t>(0, kx - pl_);
      c1[kx] = std::min(w_, kx - pl_ + ow_);
    }
    std::vector<int32_t> rows(h_ * c_);  // per row, its sums per channel
    std::vector<int64_t> total(c_), sums(taps * c_);
    std::vector<int32_t> cols(w_ * c_);  // the border columns' sums per channel
    for (int64_t n = 0; n < n_; ++n) {
      const uint8_t* xn = x + n * h_ * w_ * c_;
      for (int64_t r = 0; r < h_; ++r) row_sums(xn + r * w_ * c_, rows.data() + r * c_);
      std::fill(total.begin(), total.end(), 0);
      for (int64_t r = 0; r < h_; ++r)
        for (int64_t c = 0; c < c_; ++c) total[c] += rows[r * c_ + c];
      // S(ky, kx) = total - the rows ky skips - the columns kx skips (each over the rows ky
      // reads: the column's sum less its pixels in the rows ky skips).
      auto skipped = [](int64_t i, int64_t lo, int64_t hi) { return i < lo || i >= hi; };
      for (int64_t cl = 0; cl < w_; ++cl) {  // the border columns' sums, once each
        bool any = false;
        for (int64_t kx = 0; kx < kw_; ++kx) any = any || skipped(cl, c0[kx], c1[kx]);
        if (!any) continue;
        int32_t* sc = cols.data() + cl * c_;
        std::fill(sc, sc + c_, 0);
        for (int64_t r = 0; r < h_; ++r)
          for (int64_t c = 0; c < c_; ++c) sc[c] += xn[(r * w_ + cl) * c_ + c];
      }
      for (int64_t ky = 0; ky < kh_; ++ky)
        for (int64_t kx = 0; kx < kw_; ++kx) {
          int64_t* s = sums.data() + (ky * kw_ + kx) * c_;
          for (int64_t c = 0; c < c_; ++c) s[c] = total[c];
          for (int64_t r = 0; r < h_; ++r)
            if (skipped(r, r0[ky], r1[ky]))
              for (int64_t c = 0; c < c_; ++c) s[c] -= rows[r * c_ + c];
          for (int64_t cl = 0; cl < w_; ++cl) {
            if (!skipped(cl, c0[kx], c1[kx])) continue;
            for (int64_t c = 0; c < c_; ++c) s[c] -= cols[cl * c_ + c];
            for (int64_t r = 0; r < h_; ++r)  // the corner pixels, subtracted twice above
              if (skipped(r, r0[ky], r1[ky]))
                for (int64_t c = 0; c < c_; ++c) s[c] += xn[(r * w_ + cl) * c_ + c];
          }
        }
      // mean = x_scale * (sum - zero * count) / (OH * OW): the padding's zero points add nothing.
      const double k = static_cast<double>(scale_) / static_cast<double>(oh_ * ow_);
      for (int64_t ky = 0; ky < kh_; ++ky)
        for (int64_t kx = 0; kx < kw_; ++kx) {
          const int64_t t = ky * kw_ + kx, count = (r1[ky] - r0[ky]) * (c1[kx] - c0[kx]);
          for (int64_t c = 0; c < c_; ++c)
            y[n * taps * c_ + t * c_ + c] =
                static_cast<float>(k * static_cast<double>(sums[t * c_ + c] - static_cast<int64_t>(zero_) * count));
        }
    }
    return Status::ok();
  }

 private:
  // Per channel, the sum of one row's W pixels (at most W * 255: int32 up to 8M columns).
  // (Bound by reading X: 16-bit sums, half the adds, measured no faster at 160x160x96.)
  void row_sums(const uint8_t* xr, int32_t* row) const {
    int64_t c = 0;
#if defined(__AVX512F__)
    for (; c + 32 <= c_; c += 32) {
      __m512i a0 = _mm512_setzero_si512(), a1 = a0;
      for (int64_t col = 0; col < w_; ++col) {
        const uint8_t* p = xr + col * c_ + c;
        a0 = _mm512_add_epi32(a0, _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
        a1 = _mm512_add_epi32(a1, _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16))));
      }
      _mm512_storeu_si512(row + c, a0);
      _mm512_storeu_si512(row + c + 16, a1);
    }
#endif
    for (int64_t r = c; r < c_; ++r) row[r] = 0;
    for (int64_t col = 0; col < w_ && c < c_; ++col)
      for (int64_t r = c; r < c_; ++r) row[r] += xr[col * c_ + r];
  }

  int64_t n_ = 0, h_ = 0, w_ = 0, c_ = 0, kh_ = 0, kw_ = 0, pt_ = 0, pl_ = 0, oh_ = 0, ow_ = 0;
  float scale_ = 1.f;
  uint8_t zero_ = 0;
};

}  // namespace

std::unique_ptr<Kernel> make_window_means() { return std::make_unique<WindowMeans>(); }

}  // namespace ep::kernels::cpu
