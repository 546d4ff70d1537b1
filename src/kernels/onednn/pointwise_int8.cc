// GCC 12 reports the AVX-512 intrinsics' undefined pass-through operands as "(may be) used
// uninitialized" where they are inlined (see narrow_int8_conv.cc; here also those of the
// _round forms); they are not read.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include "kernels/onednn/pointwise_int8.h"

#include <omp.h>

#include <algorithm>
#include <cstring>

#if defined(__AVX512F__) && defined(__AVX512VNNI__) && defined(__AVX512BW__)
#define EP_POINTWISE_INT8 1
#include <immintrin.h>

#include "kernels/cpu/vnni.h"
#endif

namespace ep::kernels {

namespace {
// Quantized outputs of more than 48 channels stay on oneDNN: the detector's 48 -> 96 at
// 80x80 measured 0.17 ms here against 0.14 (in-model, Zen 5, one thread), while its f32
// 12 -> 96 at 160x160 gains (0.45 -> 0.33).
constexpr int64_t kMaxCin = 48, kMaxVectors = 6, kMaxQuantizedVectors = 3, kMinPixels = 64;
}  // namespace

bool PointwiseInt8::supports(const FusedConvParams& p) {
#if defined(EP_POINTWISE_INT8)
  for (const PostOp& op : p.post_ops)  // no exp in the epilogue; the residual: below
    if (op.kind == PostOpKind::sigmoid || op.kind == PostOpKind::swish) return false;
  return int8_nhwc_u8_form(p) && p.group == 1 && p.kh == 1 && p.kw == 1 && p.stride[0] == 1 && p.stride[1] == 1 &&
         p.pad_begin[0] == 0 && p.pad_begin[1] == 0 && p.pad_end[0] == 0 && p.pad_end[1] == 0 && p.cin >= 4 &&
         p.cin <= kMaxCin && p.cout % 16 == 0 &&
         p.cout / 16 <= (p.y_dtype == DType::f32 ? kMaxVectors : kMaxQuantizedVectors) &&
         p.n * p.oh * p.ow >= kMinPixels;
#else
  (void)p;
  return false;
#endif
}

int PointwiseInt8::tile_pixels(int64_t nv) {
  // P * NV accumulators within 24 registers, and a multiple of 4 vectors per tile (the
  // quantized store packs four).
  switch (nv) {
    case 1: return 12;
    case 2: return 8;
    case 3: return 8;
    case 4: return 5;
    case 5: return 4;
    default: return 4;
  }
}

size_t PointwiseInt8::prepare(const FusedConvParams& p, const int8_t* w, const float* b) {
  p_ = p;
  c4_ = (p.cin + 3) / 4;
  w_.assign(static_cast<size_t>(c4_ * p.cout), 0);
  zsum_.assign(static_cast<size_t>(p.cout), 0);
  scale_.assign(static_cast<size_t>(p.cout), 0.f);
  shift_.assign(static_cast<size_t>(p.cout), 0.f);
  // The leading linear op (the normalized chain merges adjacent ones) folds into the
  // dequantization: a * (s * acc + bias) + c.
  size_t first = 0;
  float a = 1.f, c = 0.f;
  if (!p.post_ops.empty() && p.post_ops[0].kind == PostOpKind::linear) {
    a = p.post_ops[0].a;
    c = p.post_ops[0].b;
    first = 1;
  }
  for (int64_t oc = 0; oc < p.cout; ++oc) {
    int32_t sum = 0;
    for (int64_t ic = 0; ic < p.cin; ++ic) {
      const int8_t v = w[oc * p.cin + ic];
      sum += v;
      auto& packed = reinterpret_cast<uint32_t&>(w_[static_cast<size_t>(ic / 4 * p.cout + oc)]);
      packed |= static_cast<uint32_t>(static_cast<uint8_t>(v)) << (8 * (ic % 4));
    }
    const size_t o = static_cast<size_t>(oc);
    zsum_[o] = p.x_zero * sum;
    const float s = p.x_scale * p.w_scales[p.w_scales.size() == 1 ? 0 : o];
    scale_[o] = a * s;
    shift_[o] = a * (b ? b[oc] : 0.f) + c;
  }
  rest_.assign(p.post_ops.begin() + static_cast<std::ptrdiff_t>(first), p.post_ops.end());
  workers_ = std::max(1, omp_get_max_threads());
  return 0;
}

#if defined(EP_POINTWISE_INT8)
namespace {

// Ops after the folded affine step, over a whole tile. hard_swish as x * clamp(x / 6 + 1/2)
// with 1/6 rounded (the reference divides (x * clamp(x + 3)) by 6: a few ulps apart).
template <int N>
inline void apply_rest(__m512 (&v)[N], const std::vector<PostOp>& ops) {
  for (const PostOp& op : ops) {
    switch (op.kind) {
      case PostOpKind::relu:
#pragma GCC unroll 24
        for (int i = 0; i < N; ++i) v[i] = _mm512_max_ps(v[i], _mm512_setzero_ps());
        break;
      case PostOpKind::clip: {
        const __m512 lo = _mm512_set1_ps(op.a), hi = _mm512_set1_ps(op.b);
#pragma GCC unroll 24
        for (int i = 0; i < N; ++i) v[i] = _mm512_min_ps(_mm512_max_ps(v[i], lo), hi);
        break;
      }
      case PostOpKind::linear: {
        const __m512 a = _mm512_set1_ps(op.a), b = _mm512_set1_ps(op.b);
#pragma GCC unroll 24
        for (int i = 0; i < N; ++i) v[i] = _mm512_fmadd_ps(v[i], a, b);
        break;
      }
      case PostOpKind::hard_swish: {
        const __m512 sixth = _mm512_set1_ps(1.f / 6.f), half = _mm512_set1_ps(0.5f), one = _mm512_set1_ps(1.f);
#pragma GCC unroll 24
        for (int i = 0; i < N; ++i) {
          // x * clamp(x + 3, 0, 6) / 6 as x * clamp(x / 6 + 1/2, 0, 1)
          const __m512 t = _mm512_min_ps(_mm512_max_ps(_mm512_fmadd_ps(v[i], sixth, half), _mm512_setzero_ps()), one);
          v[i] = _mm512_mul_ps(v[i], t);
        }
        break;
      }
      default: break;  // supports() declines the rest
    }
  }
}

inline int32_t load4(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

}  // namespace

// The ResizeAdd epilogue over a tile (PointwiseInt8::ResizeAdd). The _round forms keep each
// multiply and add a rounding of its own, as ResizeAdd's (GCC contracts plain intrinsics).
template <int P, int NV, int kTail>
void PointwiseInt8::resize_add_tile(const __m512 (&v)[P * NV], void* y, int64_t px, Place& place,
                                    const TailInputs& t) const {
  constexpr int kR = _MM_FROUND_CUR_DIRECTION;
  // Locals: GCC reloads members after every store through y (it may alias them).
  const ResizeAdd& r = tail_;
  const int64_t cout = p_.cout, oh = p_.oh, ow = p_.ow, xh = r.xh, xw = r.xw;
  const int64_t *rows = r.rows.data(), *cols = r.cols.data();
  const bool scaled = kTail == kTailScaledQuantized || r.scaled;
  const bool quantized = kTail == kTailScaledQuantized || r.quantized;
  const float *x = t.x, *a_scale = t.a_scale;
  const cpu::QuantizeTo& q = r.quant;
  const __m512 qs = _mm512_set1_ps(q.scale), qr = _mm512_set1_ps(t.q_recip), qz = _mm512_set1_ps(q.zero),
               lo = _mm512_set1_ps(q.lo()), hi = _mm512_set1_ps(q.hi());
  Place at = place;
#pragma GCC unroll 24
  for (int i = 0; i < P; ++i) {
    const float* xr = x + ((at.img * xh + rows[at.oy]) * xw + cols[at.ox]) * cout;
#pragma GCC unroll 6
    for (int j = 0; j < NV; ++j) {
      __m512 a = v[i * NV + j];
      if (scaled) a = _mm512_add_round_ps(a, _mm512_mul_round_ps(a, _mm512_loadu_ps(a_scale + 16 * j), kR), kR);
      const __m512 sum = _mm512_add_round_ps(a, _mm512_loadu_ps(xr + 16 * j), kR);
      const int64_t o = (px + i) * cout + 16 * j;
      if (quantized)
        _mm_storeu_si128(reinterpret_cast<__m128i*>(static_cast<char*>(y) + o), cpu::quantize16(sum, qs, qr, qz, lo, hi));
      else
        _mm512_storeu_ps(static_cast<float*>(y) + o, sum);
    }
    if (++at.ox == ow) {  // the next pixel's place
      at.ox = 0;
      if (++at.oy == oh) {
        at.oy = 0;
        ++at.img;
      }
    }
  }
  place = at;
}

// Pixels [px0, px1) in tiles of P pixels (px1 - px0 a multiple of P), NV vectors each; x's
// pixel 0 is the tensor's pixel `base` (the ResizeAdd epilogue's place in X).
template <int P, int NV, int kTail>
void PointwiseInt8::run_tiles(const uint8_t* x, void* y, int64_t px0, int64_t px1, int64_t base,
                              const TailInputs& t) const {
  constexpr int N = P * NV;
  const int64_t cin = p_.cin, cout = p_.cout;
  const int32_t* wp = w_.data();
  // The per-channel constants are read from memory in each tile's epilogue: held in
  // registers across the sums they would push accumulators out of them.
  const int32_t* zsum = zsum_.data();
  const float *scale = scale_.data(), *shift = shift_.data();
  Place at;  // the ResizeAdd epilogue's output pixel, advanced pixel by pixel
  if constexpr (kTail != kNoTail) {
    const int64_t g = base + px0;
    at = Place{g / (p_.oh * p_.ow), g / p_.ow % p_.oh, g % p_.ow};
  }
  const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  for (int64_t px = px0; px < px1; px += P) {
    const uint8_t* xp = x + px * cin;
    __m512i acc[P][NV];
#pragma GCC unroll 24
    for (int i = 0; i < P; ++i)
#pragma GCC unroll 6
      for (int j = 0; j < NV; ++j) acc[i][j] = _mm512_setzero_si512();
    // Groups of 4 input channels; the last one may read up to 3 bytes of the next pixel,
    // against zero weights (run_range keeps the tensor's last pixel off this path).
#pragma GCC unroll 1
    for (int64_t k = 0; k < c4_; ++k) {
      __m512i wv[NV];
#pragma GCC unroll 6
      for (int j = 0; j < NV; ++j) wv[j] = _mm512_loadu_si512(wp + k * cout + 16 * j);
#pragma GCC unroll 24
      for (int i = 0; i < P; ++i) {
        const __m512i xv = _mm512_set1_epi32(load4(xp + i * cin + 4 * k));
#pragma GCC unroll 6
        for (int j = 0; j < NV; ++j) acc[i][j] = cpu::dpbusd(acc[i][j], xv, wv[j]);
      }
    }
    __m512 v[N];
#pragma GCC unroll 24
    for (int i = 0; i < P; ++i)
#pragma GCC unroll 6
      for (int j = 0; j < NV; ++j)
        v[i * NV + j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(acc[i][j], _mm512_loadu_si512(zsum + 16 * j))),
                                        _mm512_loadu_ps(scale + 16 * j), _mm512_loadu_ps(shift + 16 * j));
    apply_rest<N>(v, rest_);
    if constexpr (kTail != kNoTail) {
      resize_add_tile<P, NV, kTail>(v, y, px, at, t);
      continue;
    }
    if (p_.y_dtype == DType::f32) {
      float* yp = static_cast<float*>(y) + px * cout;
#pragma GCC unroll 24
      for (int i = 0; i < N; ++i) _mm512_storeu_ps(yp + 16 * i, v[i]);
      continue;
    }
    // Four vectors -> 64 bytes: saturating packs interleave them by 128-bit lane (lane l:
    // v0, v1, v2, v3's dwords l), the permute puts them back in order.
    char* yp = static_cast<char*>(y) + px * cout;
    const bool u8 = p_.y_dtype == DType::u8;
#pragma GCC unroll 6
    for (int g = 0; g < N / 4; ++g) {
      const __m512i a = _mm512_packs_epi32(_mm512_cvtps_epi32(v[4 * g]), _mm512_cvtps_epi32(v[4 * g + 1]));
      const __m512i b = _mm512_packs_epi32(_mm512_cvtps_epi32(v[4 * g + 2]), _mm512_cvtps_epi32(v[4 * g + 3]));
      const __m512i q = u8 ? _mm512_packus_epi16(a, b) : _mm512_packs_epi16(a, b);
      _mm512_storeu_si512(yp + 64 * g, _mm512_permutexvar_epi32(order, q));
    }
  }
}

template <int kTail>
void PointwiseInt8::run_range(const uint8_t* x, void* y, int64_t px0, int64_t px1, const TailInputs& t) const {
  // With Cin off 4, the tensor's last pixel goes through the staging buffer (its last group
  // of 4 would read past the tensor).
  const int64_t nv = p_.cout / 16, tp = tile_pixels(nv);
  const int64_t last = p_.cin % 4 && px1 == p_.n * p_.oh * p_.ow ? px1 - 1 : px1;
  const int64_t whole = px0 + std::max<int64_t>(0, last - px0) / tp * tp;
  switch (nv) {
    case 1: run_tiles<12, 1, kTail>(x, y, px0, whole, 0, t); break;
    case 2: run_tiles<8, 2, kTail>(x, y, px0, whole, 0, t); break;
    case 3: run_tiles<8, 3, kTail>(x, y, px0, whole, 0, t); break;
    case 4: run_tiles<5, 4, kTail>(x, y, px0, whole, 0, t); break;
    case 5: run_tiles<4, 5, kTail>(x, y, px0, whole, 0, t); break;
    default: run_tiles<4, 6, kTail>(x, y, px0, whole, 0, t); break;
  }
  if (whole == px1) return;
  const int64_t cin = p_.cin, cout = p_.cout;
  alignas(64) uint8_t xs[4 * kMaxCin + 4] = {};
  if constexpr (kTail != kNoTail) {
    // One pixel at a time, a tile of one pixel over a copy of its input (the last group of 4
    // reads the copy's zeros), written straight to its place: the ResizeAdd epilogue reads X
    // at each pixel's own place, so no pixel past the range may go through it.
    const int64_t ysize = tail_.quantized ? 1 : 4;
    for (int64_t px = whole; px < px1; ++px) {
      std::memcpy(xs, x + px * cin, static_cast<size_t>(cin));
      char* yp = static_cast<char*>(y) + px * cout * ysize;
      switch (nv) {
        case 1: run_tiles<1, 1, kTail>(xs, yp, 0, 1, px, t); break;
        case 2: run_tiles<1, 2, kTail>(xs, yp, 0, 1, px, t); break;
        case 3: run_tiles<1, 3, kTail>(xs, yp, 0, 1, px, t); break;
        case 4: run_tiles<1, 4, kTail>(xs, yp, 0, 1, px, t); break;
        case 5: run_tiles<1, 5, kTail>(xs, yp, 0, 1, px, t); break;
        default: run_tiles<1, 6, kTail>(xs, yp, 0, 1, px, t); break;
      }
    }
    return;
  }
  // Otherwise up to 4 pixels at a time through staging buffers of 4 pixels (zeros after the
  // last), which keeps the packed store.
  const size_t ysize = p_.y_dtype == DType::f32 ? 4 : 1;
  alignas(64) char ys[4 * kMaxVectors * 16 * 4];
  for (int64_t px = whole; px < px1; px += 4) {
    const int64_t n = std::min<int64_t>(4, px1 - px);
    std::memcpy(xs, x + px * cin, static_cast<size_t>(n * cin));
    std::memset(xs + n * cin, 0, static_cast<size_t>((4 - n) * cin));
    switch (nv) {
      case 1: run_tiles<4, 1, kNoTail>(xs, ys, 0, 4, 0, t); break;
      case 2: run_tiles<4, 2, kNoTail>(xs, ys, 0, 4, 0, t); break;
      case 3: run_tiles<4, 3, kNoTail>(xs, ys, 0, 4, 0, t); break;
      case 4: run_tiles<4, 4, kNoTail>(xs, ys, 0, 4, 0, t); break;
      case 5: run_tiles<4, 5, kNoTail>(xs, ys, 0, 4, 0, t); break;
      default: run_tiles<4, 6, kNoTail>(xs, ys, 0, 4, 0, t); break;
    }
    std::memcpy(static_cast<char*>(y) + static_cast<size_t>(px * cout) * ysize, ys,
                static_cast<size_t>(n * cout) * ysize);
  }
}

template <int kTail>
void PointwiseInt8::run_all(const uint8_t* x, void* y, const TailInputs& t) const {
  const int64_t pixels = p_.n * p_.oh * p_.ow, tp = tile_pixels(p_.cout / 16);
  const int64_t tiles = (pixels + tp - 1) / tp, workers = std::min<int64_t>(workers_, tiles);
#pragma omp parallel num_threads(static_cast<int>(workers)) if (workers > 1)
  {
    const int64_t i = omp_get_thread_num(), nt = omp_get_num_threads();
    const int64_t begin = tiles * i / nt * tp, end = std::min(pixels, tiles * (i + 1) / nt * tp);
    run_range<kTail>(x, y, begin, end, t);
  }
}

void PointwiseInt8::run(const uint8_t* x, void* y) const { run_all<kNoTail>(x, y, TailInputs{}); }

void PointwiseInt8::run_resize_add(const uint8_t* x, void* y, const float* rx, const float* a_scale) const {
  const TailInputs t{rx, a_scale, tail_.quant.recip()};
  if (tail_.scaled && tail_.quantized && a_scale) run_all<kTailScaledQuantized>(x, y, t);
  else run_all<kTailAny>(x, y, t);
}
#else
void PointwiseInt8::run(const uint8_t*, void*) const {}  // supports() is false
void PointwiseInt8::run_resize_add(const uint8_t*, void*, const float*, const float*) const {}
#endif

}  // namespace ep::kernels
