// f32 NHWC convolutions with few output pixels (ResNet-50's 7x7 stage: 49 pixels, 512-2048
// channels, 2-9 MB of weights per layer) as a product Y[P, Cout] = im2col(X)[P, K] W[K, Cout]
// whose loop order streams the weights from memory exactly once.
//
// Why: at 49 pixels each weight is used 49 times, so the layer is as much a matter of moving
// its weights as of multiplying. oneDNN 2.6's kernels for these shapes (brgconv 1x1, the
// direct 3x3) reach 200-215 GFLOP/s on one Zen 5 core whose FMA peak is ~272, and scale to
// 1.65-1.85x on two; ONNX Runtime is no faster there.
//
// Layout and loop order: the weights are packed once into panels of 16*NV output channels
// (NV = 1..4 vectors), each panel K x (16*NV) contiguous with K ordered tap-major
// (k = (ky * kw + kx) * Cin + c) and columns past Cout zero. K is cut into segments of at
// most kSegment channels of one tap. The output channels are split evenly between the threads,
// each share cut into panels (the two threads of a session each stream half the weights); for
// each segment of a panel a thread walks all the output pixels MR = 7 at a time, so the
// segment's 128 KB of weights come from memory once and from L2 for the other pixel blocks,
// while the segment after next is prefetched into L2 across those blocks (without that the
// 1x1 layers ran 0.53 ms instead of 0.44: ResNet-50 streams ~100 MB of weights per
// inference, from DRAM). A tile's MR input rows are pointers into X for that tap (the
// im2col is never materialised; padding reads a zero row). Partial sums over segments
// live in Y itself; the last segment applies the post-ops (conv_tile.h) and stores.
// GCC 12 reports the AVX-512 intrinsics' undefined pass-through operands (`__Y` of
// _mm512_undefined_ps) as "may be used uninitialized" where they are inlined (some builds,
// e.g. the sanitizer ones); they are not read. Before any include: the state at the
// intrinsic headers' own lines is what counts.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/conv_tile.h"
#include "kernels/fused_conv.h"

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace ep::kernels::cpu {

namespace {
// Up to 64 output pixels (ResNet-50's and MobileNetV3's 7x7 stages). Zen 5, in-model: at 14x14
// and larger this kernel was 3-14% slower than oneDNN's (each weight is reused enough there for
// oneDNN to stay compute-bound), and those 3x3 layers run as Winograd.
constexpr int64_t kMaxPixels = 64;
constexpr int64_t kMinDepth = 64;  // K = Cin * kh * kw below this: bound by the stores
}  // namespace

bool fused_conv_runs_as_panels(const FusedConvParams& p) {
#if defined(__AVX512F__)
  const int64_t pixels = p.n * p.oh * p.ow;
  return p.precision == ConvPrecision::f32 && !p.transposed && p.nhwc && p.block == 0 && p.group == 1 &&
         p.x_dtype == DType::f32 && p.y_dtype == DType::f32 && p.r_dtype == DType::f32 && pixels > 1 &&
         pixels <= kMaxPixels && p.cin * p.kh * p.kw >= kMinDepth && p.cout >= 16;
#else
  (void)p;
  return false;
#endif
}

#if defined(__AVX512F__)
namespace {

using tile::Epilogue;
using tile::kLanes;
constexpr int kMR = 7;              // pixels per tile: 7 x 4 accumulators + 4 weight vectors = 32 registers
constexpr int64_t kSegment = 512;   // channels of one tap per K segment (x 64 columns x 4 B = 128 KB)
constexpr int64_t kPanelWidth = 4 * kLanes;
constexpr size_t kPrefetchSegments = 2;  // how far ahead the weights are fetched into L2

// MR pixels x (16*NV) channels over one K segment of `k_count`: a[i] is pixel i's input row
// for the segment, b the panel's rows for it. first: start from the bias, else from what c
// holds; last: the post-ops, then store; else store the partial sums.
// pf: `lines` cache lines of weights a later segment needs, fetched into L2 one every `every`
// rows of k (the caller spreads a segment's lines over its pixel blocks).
struct Prefetch {
  const char* at = nullptr;
  int64_t lines = 0, every = 1;
};

template <int MR, int NV>
void panel_tile(const float* const* a, const float* b, int64_t k_count, float* c, int64_t ldc, const float* bias,
                bool first, bool last_segment, __mmask16 last, const Epilogue& e, int64_t r_row0, int64_t r_col0,
                const Prefetch& pf) {
  __m512 acc[MR][NV];
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) {
      const bool masked = j == NV - 1 && last != 0xffff;
      acc[i][j] = first ? _mm512_loadu_ps(bias + j * kLanes)
                        : masked ? _mm512_maskz_loadu_ps(last, c + i * ldc + j * kLanes)
                                 : _mm512_loadu_ps(c + i * ldc + j * kLanes);
    }
  const float* ai[MR];
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i) ai[i] = a[i];
  const char *pf_at = pf.at, *pf_end = pf.at + pf.lines * 64;
  int64_t pf_k = 0;
  for (int64_t k = 0; k < k_count; ++k) {
    __m512 bk[NV];
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) bk[j] = _mm512_load_ps(b + k * NV * kLanes + j * kLanes);
    // This segment's weights 16 rows ahead (4 KB at NV = 4) into L1.
    _mm_prefetch(reinterpret_cast<const char*>(b + (k + 16) * NV * kLanes), _MM_HINT_T0);
    if (k == pf_k && pf_at < pf_end) {
      _mm_prefetch(pf_at, _MM_HINT_T1);
      pf_at += 64;
      pf_k += pf.every;
    }
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      const __m512 av = _mm512_set1_ps(ai[i][k]);
#pragma GCC unroll 4
      for (int j = 0; j < NV; ++j) acc[i][j] = _mm512_fmadd_ps(av, bk[j], acc[i][j]);
    }
  }
  if (last_segment) tile::apply_post_ops<MR, NV>(acc, e, last, r_row0, r_col0);
  tile::store_tile<MR, NV>(acc, c, ldc, last);
}

using PanelTileFn = void (*)(const float* const*, const float*, int64_t, float*, int64_t, const float*, bool, bool,
                             __mmask16, const Epilogue&, int64_t, int64_t, const Prefetch&);

template <int NV>
PanelTileFn tile_for_rows(int rows) {
  switch (rows) {
    case 1: return panel_tile<1, NV>;
    case 2: return panel_tile<2, NV>;
    case 3: return panel_tile<3, NV>;
    case 4: return panel_tile<4, NV>;
    case 5: return panel_tile<5, NV>;
    case 6: return panel_tile<6, NV>;
    default: return panel_tile<7, NV>;
  }
}

PanelTileFn tile_for(int rows, int nv) {
  switch (nv) {
    case 1: return tile_for_rows<1>(rows);
    case 2: return tile_for_rows<2>(rows);
    case 3: return tile_for_rows<3>(rows);
    default: return tile_for_rows<4>(rows);
  }
}

class PanelConv final : public Kernel {
 public:
  Status prepare(PrepareContext& ctx) override {
    EP_ASSIGN_OR_RETURN(p_, prepare_fused_conv(ctx));
    if (!fused_conv_runs_as_panels(p_))
      return ctx.unsupported_error("the cpu panel kernel takes f32 NHWC convolutions of at most ", kMaxPixels,
                                   " output pixels");
    if (!ctx.input(1).constant || (ctx.has_input(2) && !ctx.input(2).constant))
      return ctx.unsupported_error("the cpu panel kernel needs constant weights and bias");
    residual_ = ctx.num_inputs() > 3 && ctx.has_input(3);
    const FusedConvParams& p = p_;
    const int64_t taps = p.kh * p.kw, K = taps * p.cin, N = p.cout;
    // Segments: each tap's channels in pieces of at most kSegment.
    for (int64_t t = 0; t < taps; ++t)
      for (int64_t c0 = 0; c0 < p.cin; c0 += kSegment) segments_.push_back({t, c0, std::min(kSegment, p.cin - c0)});
    // The output channels' vectors (the last one masked where Cout ends inside it) split
    // evenly between the threads, each share cut into panels of up to 4 vectors: Cout = 160 on
    // two threads is 64 + 16 columns each, not 64 + 64 against 32.
    const int64_t threads = std::max(1, ctx.num_threads());
    const int64_t vectors = (N + kLanes - 1) / kLanes, groups = std::min(threads, vectors);
    int64_t floats = 0;
    for (int64_t g = 0; g < groups; ++g) {
      group_begin_.push_back(panels_.size());
      const int64_t v1 = vectors * (g + 1) / groups;
      for (int64_t v = vectors * g / groups; v < v1; v += 4) {
        Panel panel;
        panel.col0 = v * kLanes;
        panel.nv = static_cast<int>(std::min<int64_t>(4, v1 - v));
        panel.width = std::min<int64_t>(panel.nv * kLanes, N - panel.col0);
        panel.offset = floats;
        floats += K * panel.nv * kLanes;
        panels_.push_back(panel);
      }
    }
    group_begin_.push_back(panels_.size());
    const int64_t bias_floats = static_cast<int64_t>(panels_.size()) * kPanelWidth;
    packed_ = Tensor(DType::f32, Shape{floats + bias_floats});
    float* dst = packed_.as<float>();
    std::memset(dst, 0, static_cast<size_t>(packed_.nbytes()));
    const float* w = ctx.input(1).constant->as<float>();  // [Cout, Cin, kh, kw]
    const float* bias = ctx.has_input(2) ? ctx.input(2).constant->as<float>() : nullptr;
    bias_base_ = floats;
    for (size_t pi = 0; pi < panels_.size(); ++pi) {
      const Panel& panel = panels_[pi];
      const int64_t width = panel.nv * kLanes;
      for (int64_t j = 0; j < panel.width; ++j) {
        const int64_t oc = panel.col0 + j;
        for (int64_t c = 0; c < p.cin; ++c)
          for (int64_t t = 0; t < taps; ++t) dst[panel.offset + (t * p.cin + c) * width + j] = w[(oc * p.cin + c) * taps + t];
        if (bias) dst[bias_base_ + static_cast<int64_t>(pi) * kPanelWidth + j] = bias[oc];
      }
    }
    // Each output pixel's input row per tap (element offset into X), or -1 in the padding.
    const int64_t pixels = p.n * p.oh * p.ow;
    rows_.assign(static_cast<size_t>(pixels * taps), -1);
    for (int64_t m = 0; m < pixels; ++m) {
      const int64_t img = m / (p.oh * p.ow), oy = m / p.ow % p.oh, ox = m % p.ow;
      for (int64_t ky = 0; ky < p.kh; ++ky)
        for (int64_t kx = 0; kx < p.kw; ++kx) {
          const int64_t iy = oy * p.stride[0] - p.pad_begin[0] + ky * p.dilation[0];
          const int64_t ix = ox * p.stride[1] - p.pad_begin[1] + kx * p.dilation[1];
          if (iy >= 0 && iy < p.h && ix >= 0 && ix < p.w)
            rows_[static_cast<size_t>(m * taps + ky * p.kw + kx)] = ((img * p.h + iy) * p.w + ix) * p.cin;
        }
    }
    zeros_.assign(static_cast<size_t>(std::min(kSegment, p.cin)), 0.f);
    return Status::ok();
  }

  // The partial sums live in the output until the last segment reads the residual: the
  // output must not sit over it.
  bool may_overwrite_input(size_t) const override { return false; }

  Status run(const RunContext& ctx) noexcept override {
    const float* x = ctx.inputs[0].as<float>();
    float* y = ctx.outputs[0].as<float>();
    const float* r = residual_ ? ctx.inputs[3].as<float>() : nullptr;
    const int64_t groups = static_cast<int64_t>(group_begin_.size()) - 1;
    const int64_t work = p_.n * p_.oh * p_.ow * p_.cout * p_.cin * p_.kh * p_.kw;
    const bool par = groups > 1 && work >= (int64_t{1} << 20);
#pragma omp parallel for if (par) num_threads(static_cast<int>(groups)) schedule(static)
    for (int64_t g = 0; g < groups; ++g)
      for (size_t i = group_begin_[static_cast<size_t>(g)]; i < group_begin_[static_cast<size_t>(g) + 1]; ++i)
        run_panel(x, r, y, i, group_begin_[static_cast<size_t>(g) + 1]);
    return Status::ok();
  }

 private:
  struct Panel {
    int64_t col0 = 0, width = 0;  // first output channel, channels held (<= 16 * nv)
    int nv = 0;
    int64_t offset = 0;  // into packed_ (floats)
  };
  struct Segment {
    int64_t tap, c0, count;
  };

  // Panel `panel_index` over every pixel; the weights ahead are prefetched up to the group's
  // end (panels before `group_end`).
  void run_panel(const float* x, const float* r, float* y, size_t panel_index, size_t group_end) const {
    const FusedConvParams& p = p_;
    const Panel& panel = panels_[panel_index];
    const int64_t taps = p.kh * p.kw, N = p.cout, width = panel.nv * kLanes;
    const int64_t pixels = p.n * p.oh * p.ow, blocks = (pixels + kMR - 1) / kMR;
    const __mmask16 last = static_cast<__mmask16>((1u << (panel.width - (panel.nv - 1) * kLanes)) - 1u);
    const float* packed = packed_.as<float>();
    const float* bias = packed + bias_base_ + static_cast<int64_t>(panel_index) * kPanelWidth;
    const Epilogue e{p.post_ops.data(), static_cast<int>(p.post_ops.size()), r, N};
    const PanelTileFn full = tile_for(kMR, panel.nv);
    for (size_t s = 0; s < segments_.size(); ++s) {
      const Segment& seg = segments_[s];
      const float* b = packed + panel.offset + (seg.tap * p.cin + seg.c0) * width;
      const bool first = s == 0, last_segment = s + 1 == segments_.size();
      // The weights kPrefetchSegments segments ahead in this thread's order (on into its next
      // panels) come into L2 while this one runs, spread over its pixel blocks: the first block
      // of a segment then reads them from L2, not from memory.
      const char* next = nullptr;
      int64_t next_bytes = 0;
      {
        size_t ns = s + kPrefetchSegments;
        size_t np = panel_index;
        while (ns >= segments_.size() && np + 1 < group_end) {
          ns -= segments_.size();
          ++np;
        }
        if (ns < segments_.size()) {
          const Panel& q = panels_[np];
          const Segment& g = segments_[ns];
          next = reinterpret_cast<const char*>(packed + q.offset + (g.tap * p.cin + g.c0) * q.nv * kLanes);
          next_bytes = g.count * q.nv * kLanes * 4;
        }
      }
      const int64_t lines = (next_bytes + 63) / 64, per_block = (lines + blocks - 1) / blocks;
      for (int64_t blk = 0; blk < blocks; ++blk) {
        const int64_t m0 = blk * kMR, rows = std::min<int64_t>(kMR, pixels - m0);
        const float* a[kMR];
        for (int64_t i = 0; i < rows; ++i) {
          const int64_t at = rows_[static_cast<size_t>((m0 + i) * taps + seg.tap)];
          a[i] = at >= 0 ? x + at + seg.c0 : zeros_.data();
        }
        const PanelTileFn fn = rows == kMR ? full : tile_for(static_cast<int>(rows), panel.nv);
        Prefetch pf;
        if (next) {
          const int64_t l0 = blk * per_block;
          pf.at = next + l0 * 64;
          pf.lines = std::max<int64_t>(0, std::min(per_block, lines - l0));
          pf.every = std::max<int64_t>(1, seg.count / std::max<int64_t>(1, pf.lines));
        }
        fn(a, b, seg.count, y + m0 * N + panel.col0, N, bias, first, last_segment, last, e, m0, panel.col0, pf);
      }
    }
  }

  FusedConvParams p_;
  bool residual_ = false;
  std::vector<Panel> panels_;      // thread group g's are [group_begin_[g], group_begin_[g + 1])
  std::vector<size_t> group_begin_;
  std::vector<Segment> segments_;
  std::vector<int64_t> rows_;  // [pixel][tap] -> offset into X, -1 for padding
  std::vector<float> zeros_;
  Tensor packed_;  // the panels, then 64 bias floats per panel
  int64_t bias_base_ = 0;
};

}  // namespace

std::unique_ptr<Kernel> make_panel_fused_conv() { return std::make_unique<PanelConv>(); }
#else
std::unique_ptr<Kernel> make_panel_fused_conv() { return nullptr; }  // fused_conv_runs_as_panels is false
#endif

}  // namespace ep::kernels::cpu
