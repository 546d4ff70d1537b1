// 2-D MaxPool and AveragePool in NCHW (the ONNX ops' fast path) or NHWC / NCHW8c
// (edgepipe.MaxPool / edgepipe.AveragePool, made by the layout passes): plain window loops,
// f32, explicit pads, floor rounding, no dilation, no Indices output. AveragePool divides by
// the taps inside the input, or by the whole window with count_include_pad (with floor
// rounding every window lies inside the padded input). Output rows are split across the
// calling thread's OpenMP team for large inputs.
#include <omp.h>

#include <algorithm>
#include <limits>

#include "kernels/cpu/cpu_kernels.h"

namespace ep::kernels::cpu {
namespace {

enum class Pool { max, average };

template <Pool P>
class Pool2d final : public Kernel {
 public:
  explicit Pool2d(bool internal) : internal_(internal) {}

  Status prepare(PrepareContext& ctx) override {
    const ir::Node& n = ctx.node();
    EP_RETURN_IF_ERROR(ctx.expect_inputs(1, 1));
    const TensorInfo& x = ctx.input(0);
    EP_ASSIGN_OR_RETURN(std::string layout, n.attr_string("layout", std::string("NCHW")));
    if (!internal_ && n.has_attr("layout")) return ctx.error("unknown attribute 'layout'");
    if (layout != "NCHW" && layout != "NHWC" && layout != "NCHW8c") return ctx.error("layout '", layout, "'");
    const bool blocked = layout == "NCHW8c";
    if (x.dtype != DType::f32 || x.shape.rank() != (blocked ? 5u : 4u)) return ctx.unsupported_error("2-D f32 only");
    if (blocked && x.shape[4] != 8) return ctx.error("layout NCHW8c needs an input [N, C/8, H, W, 8]");
    if (ctx.output_requested(1)) return ctx.unsupported_error("Indices output");
    nhwc_ = layout != "NCHW";
    EP_ASSIGN_OR_RETURN(std::string auto_pad, n.attr_string("auto_pad", std::string("NOTSET")));
    EP_ASSIGN_OR_RETURN(int64_t ceil_mode, n.attr_int("ceil_mode", 0));
    EP_ASSIGN_OR_RETURN(std::vector<int64_t> k, n.attr_ints("kernel_shape"));
    EP_ASSIGN_OR_RETURN(std::vector<int64_t> s, n.attr_ints("strides", std::vector<int64_t>{1, 1}));
    EP_ASSIGN_OR_RETURN(std::vector<int64_t> d, n.attr_ints("dilations", std::vector<int64_t>{1, 1}));
    EP_ASSIGN_OR_RETURN(std::vector<int64_t> p, n.attr_ints("pads", std::vector<int64_t>{0, 0, 0, 0}));
    EP_ASSIGN_OR_RETURN(int64_t include_pad, n.attr_int("count_include_pad", 0));
    if ((auto_pad != "NOTSET" && auto_pad != "VALID") || ceil_mode != 0 || k.size() != 2 || s.size() != 2 ||
        d != std::vector<int64_t>{1, 1} || p.size() != 4)
      return ctx.unsupported_error("fast pooling covers explicit pads, floor rounding, no dilation");
    if (auto_pad == "VALID") p = {0, 0, 0, 0};
    include_pad_ = include_pad != 0;
    // NCHW8c [N, C/8, H, W, 8] pools as N*C/8 NHWC images of 8 channels.
    c_ = blocked ? 8 : nhwc_ ? x.shape[3] : x.shape[1];
    h_ = blocked || !nhwc_ ? x.shape[2] : x.shape[1];
    w_ = blocked || !nhwc_ ? x.shape[3] : x.shape[2];
    n_ = blocked ? x.shape[0] * x.shape[1] : x.shape[0];
    kh_ = k[0], kw_ = k[1], sh_ = s[0], sw_ = s[1], pt_ = p[0], pl_ = p[1];
    if (kh_ < 1 || kw_ < 1 || sh_ < 1 || sw_ < 1 || p[0] < 0 || p[1] < 0 || p[2] < 0 || p[3] < 0)
      return ctx.error("kernel_shape and strides must be positive, pads non-negative");
    oh_ = (h_ + p[0] + p[2] - kh_) / sh_ + 1;
    ow_ = (w_ + p[1] + p[3] - kw_) / sw_ + 1;
    if (oh_ < 1 || ow_ < 1) return ctx.error("the window is larger than the padded input");
    separable_ = P == Pool::max && nhwc_ && sh_ == 1 && sw_ == 1 && kh_ * kw_ >= 9;
    if (separable_) ctx.request_scratch(static_cast<size_t>(n_ * h_ * ow_ * c_) * sizeof(float));
    ctx.set_output(0, DType::f32, blocked ? Shape{x.shape[0], x.shape[1], oh_, ow_, 8}
                                  : nhwc_ ? Shape{n_, oh_, ow_, c_}
                                          : Shape{n_, c_, oh_, ow_});
    return Status::ok();
  }

  Status run(const RunContext& ctx) noexcept override {
    const float* x = ctx.inputs[0].as<float>();
    float* y = ctx.outputs[0].as<float>();
    const bool par = n_ * oh_ > 1 && n_ * c_ * h_ * w_ * 4 >= kParallelBytes && omp_get_max_threads() > 1;
    if (separable_) {
      // Split by work, not bytes: kh + kw comparisons per value (SPPF's 400 KB gains at 2 threads).
      const bool split = n_ * oh_ > 1 && omp_get_max_threads() > 1 && n_ * c_ * h_ * w_ * (kh_ + kw_) >= kParallelBytes;
      run_separable(x, y, static_cast<float*>(ctx.scratch), split);
      return Status::ok();
    }
#pragma omp parallel for collapse(2) if (par) schedule(static)
    for (int64_t n = 0; n < n_; ++n)
      for (int64_t oh = 0; oh < oh_; ++oh) {
        const int64_t h0 = std::max<int64_t>(oh * sh_ - pt_, 0), h1 = std::min(oh * sh_ - pt_ + kh_, h_);
        for (int64_t ow = 0; ow < ow_; ++ow) {
          const int64_t w0 = std::max<int64_t>(ow * sw_ - pl_, 0), w1 = std::min(ow * sw_ - pl_ + kw_, w_);
          // A window wholly in the padding averages nothing: 0, as the reference kernel gives.
          const int64_t taps = include_pad_ ? kh_ * kw_ : std::max<int64_t>(h1 - h0, 0) * std::max<int64_t>(w1 - w0, 0);
          const float scale = taps > 0 ? 1.f / static_cast<float>(taps) : 0.f;
          // ... and its max is the lowest float, as in the reference kernel and ONNX Runtime.
          const bool empty = h1 <= h0 || w1 <= w0;
          if (nhwc_ && c_ == 8) {  // a channel block of NCHW8c: the running value in one register
            float m[8];
            std::fill(m, m + 8, kStart);
            for (int64_t ih = h0; ih < h1; ++ih)
              for (int64_t iw = w0; iw < w1; ++iw) {
                const float* in = x + ((n * h_ + ih) * w_ + iw) * 8;
#pragma omp simd
                for (int64_t c = 0; c < 8; ++c) m[c] = step(m[c], in[c]);
              }
            float* out = y + ((n * oh_ + oh) * ow_ + ow) * 8;
#pragma omp simd
            for (int64_t c = 0; c < 8; ++c) out[c] = finish(m[c], scale, empty);
          } else if (nhwc_) {  // vectorised over channels
            float* out = y + ((n * oh_ + oh) * ow_ + ow) * c_;
            std::fill(out, out + c_, kStart);
            for (int64_t ih = h0; ih < h1; ++ih)
              for (int64_t iw = w0; iw < w1; ++iw) {
                const float* in = x + ((n * h_ + ih) * w_ + iw) * c_;
#pragma omp simd
                for (int64_t c = 0; c < c_; ++c) out[c] = step(out[c], in[c]);
              }
#pragma omp simd
            for (int64_t c = 0; c < c_; ++c) out[c] = finish(out[c], scale, empty);
          } else {
            for (int64_t c = 0; c < c_; ++c) {
              const float* in = x + (n * c_ + c) * h_ * w_;
              float m = kStart;
              for (int64_t ih = h0; ih < h1; ++ih)
                for (int64_t iw = w0; iw < w1; ++iw) m = step(m, in[ih * w_ + iw]);
              y[((n * c_ + c) * oh_ + oh) * ow_ + ow] = finish(m, scale, empty);
            }
          }
        }
      }
    return Status::ok();
  }

 private:
  // Stride-1 max pooling on NHWC (YOLO's SPPF: 5x5 windows) in two passes: the max over each
  // input row's kw-wide windows into tmp [N, H, OW, C], then over kh of those rows: kh + kw
  // comparisons per output value instead of kh * kw (20x20x256: 0.38 -> 0.19 ms at one thread,
  // 0.39 -> 0.11 at two).
  void run_separable(const float* x, float* y, float* tmp, bool par) const {
#pragma omp parallel for collapse(2) if (par) schedule(static)
    for (int64_t n = 0; n < n_; ++n)
      for (int64_t ih = 0; ih < h_; ++ih)
        for (int64_t ow = 0; ow < ow_; ++ow) {
          const int64_t w0 = std::max<int64_t>(ow - pl_, 0), w1 = std::min(ow - pl_ + kw_, w_);
          float* out = tmp + ((n * h_ + ih) * ow_ + ow) * c_;
          std::fill(out, out + c_, kStart);
          for (int64_t iw = w0; iw < w1; ++iw) {
            const float* in = x + ((n * h_ + ih) * w_ + iw) * c_;
#pragma omp simd
            for (int64_t c = 0; c < c_; ++c) out[c] = step(out[c], in[c]);
          }
        }
#pragma omp parallel for collapse(2) if (par) schedule(static)
    for (int64_t n = 0; n < n_; ++n)
      for (int64_t oh = 0; oh < oh_; ++oh) {
        const int64_t h0 = std::max<int64_t>(oh - pt_, 0), h1 = std::min(oh - pt_ + kh_, h_);
        for (int64_t ow = 0; ow < ow_; ++ow) {
          const int64_t w0 = std::max<int64_t>(ow - pl_, 0), w1 = std::min(ow - pl_ + kw_, w_);
          const bool empty = h1 <= h0 || w1 <= w0;
          float* out = y + ((n * oh_ + oh) * ow_ + ow) * c_;
          std::fill(out, out + c_, kStart);
          for (int64_t ih = h0; ih < h1; ++ih) {
            const float* in = tmp + ((n * h_ + ih) * ow_ + ow) * c_;
#pragma omp simd
            for (int64_t c = 0; c < c_; ++c) out[c] = step(out[c], in[c]);
          }
#pragma omp simd
          for (int64_t c = 0; c < c_; ++c) out[c] = finish(out[c], 1.f, empty);
        }
      }
  }

  static constexpr float kStart = P == Pool::max ? -std::numeric_limits<float>::infinity() : 0.f;
  static float step(float acc, float v) {
    if constexpr (P == Pool::max) return acc < v ? v : acc;  // as std::max: a NaN tap is skipped
    return acc + v;
  }
  static float finish(float acc, float scale, bool empty) {
    if constexpr (P == Pool::max) return empty ? std::numeric_limits<float>::lowest() : acc;
    return acc * scale;
  }

  bool internal_;
  bool nhwc_ = false, include_pad_ = false, separable_ = false;
  int64_t n_ = 0, c_ = 0, h_ = 0, w_ = 0, kh_ = 1, kw_ = 1, sh_ = 1, sw_ = 1, pt_ = 0, pl_ = 0, oh_ = 0, ow_ = 0;
};

}  // namespace

std::unique_ptr<Kernel> make_max_pool() { return std::make_unique<Pool2d<Pool::max>>(false); }
std::unique_ptr<Kernel> make_max_pool_layout() { return std::make_unique<Pool2d<Pool::max>>(true); }
std::unique_ptr<Kernel> make_average_pool() { return std::make_unique<Pool2d<Pool::average>>(false); }
std::unique_ptr<Kernel> make_average_pool_layout() { return std::make_unique<Pool2d<Pool::average>>(true); }

}  // namespace ep::kernels::cpu
