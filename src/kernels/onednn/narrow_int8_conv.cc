// GCC 12 reports the AVX-512 intrinsics' undefined pass-through operands (`__Y` of
// _mm512_undefined_ps) as "may be used uninitialized" where they are inlined (some builds,
// e.g. the sanitizer ones); they are not read. Before any include: the state at the
// intrinsic headers' own lines is what counts.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include "kernels/onednn/narrow_int8_conv.h"

#include <omp.h>

#include <algorithm>
#include <cstring>

#include "edgepipe/arena.h"
#include "kernels/cpu/conv_tile.h"
#include "kernels/onednn/onednn_kernels.h"
#include "kernels/onednn/winograd_int16.h"

#if defined(__AVX512F__) && defined(__AVX512VNNI__) && defined(__AVX512BW__) && defined(__AVX512VBMI__)
#define EP_NARROW_INT8 1
#include <immintrin.h>
#endif

namespace ep::kernels {

#if defined(EP_NARROW_INT8)
namespace tile = cpu::tile;
#endif

// On AMX CPUs oneDNN's kernels beat both of edgepipe's. A Xeon with AMX-INT8 (Sapphire
// Rapids class), one thread, in-model, the detector's 3x3 96 -> 24 layers: 160x160
// WinogradInt16 1.64-1.70 ms -> oneDNN's jit:avx512_core_amx_int8 0.72-0.76, 80x80 0.53 ->
// 0.22, 40x40 and 20x20 NarrowInt8Conv 0.30 (three) -> ~0.13; the INT8 det 12.65 -> 10.31 ms
// (5 alternated rounds). Chains oneDNN declines keep edgepipe's kernels.
NarrowInt8Choice narrow_int8_choice(const FusedConvParams& p, bool onednn_takes_chain) {
  if (onednn_takes_chain && onednn_has_amx()) return NarrowInt8Choice::onednn;
  if (WinogradInt16::gains(p)) return NarrowInt8Choice::winograd_int16;
  if (NarrowInt8Conv::supports(p)) return NarrowInt8Choice::narrow_int8;
  return NarrowInt8Choice::onednn;
}

bool NarrowInt8Conv::supports(const FusedConvParams& p) {
#if defined(EP_NARROW_INT8)
  return int8_nhwc_u8_form(p) && p.group == 1 && p.stride[0] == 1 && p.stride[1] == 1 && p.dilation[0] == 1 &&
         p.dilation[1] == 1 && p.cout > 16 && p.cout <= kOc && p.cin % 4 == 0 && p.cin >= 16 && p.ow >= 16;
#else
  (void)p;
  return false;
#endif
}

size_t NarrowInt8Conv::prepare(const FusedConvParams& p, const int8_t* w, const float* b) {
  p_ = p;
  c4_ = p.cin / 4;
  // A row's groups: the left padding, the row, the right padding, then room for the last
  // 16-pixel vector's loads at every kx.
  wbuf_ = (p.pad_begin[1] + (p.ow + 15) / 16 * 16 + p.kw - 1 + 15) / 16 * 16;
  w_.assign(static_cast<size_t>(p.kh * c4_ * p.kw * kOc), 0);
  zsum_.assign(kOc, 0);
  scale_.assign(kOc, 0.f);
  bias_.assign(kOc, 0.f);
  for (int64_t oc = 0; oc < p.cout; ++oc) {
    int32_t sum = 0;
    for (int64_t ky = 0; ky < p.kh; ++ky)
      for (int64_t c4 = 0; c4 < c4_; ++c4)
        for (int64_t kx = 0; kx < p.kw; ++kx) {
          uint32_t packed = 0;
          for (int64_t j = 0; j < 4; ++j) {
            const int8_t v = w[((oc * p.cin + c4 * 4 + j) * p.kh + ky) * p.kw + kx];
            sum += v;
            packed |= static_cast<uint32_t>(static_cast<uint8_t>(v)) << (8 * j);
          }
          w_[static_cast<size_t>(((ky * c4_ + c4) * p.kw + kx) * kOc + oc)] = static_cast<int32_t>(packed);
        }
    zsum_[static_cast<size_t>(oc)] = p.x_zero * sum;
    scale_[static_cast<size_t>(oc)] = p.x_scale * p.w_scales[p.w_scales.size() == 1 ? 0 : static_cast<size_t>(oc)];
    bias_[static_cast<size_t>(oc)] = b ? b[oc] : 0.f;
  }
  store_.prepare(p.cout);
  workers_ = std::max(1, omp_get_max_threads());
  const int64_t band_in_rows = kBand + p.kh - 1;
  worker_bytes_ = arena_align(static_cast<size_t>(band_in_rows * c4_ * wbuf_) * sizeof(int32_t));
  return worker_bytes_ * static_cast<size_t>(workers_);
}

#if defined(EP_NARROW_INT8)
// Input row iy of image img as [c4][wbuf] groups of 4 bytes, group column j holding input
// column j - pad_left; the zero point where that is outside the row (or the row outside the
// image).
void NarrowInt8Conv::convert_row(const uint8_t* x, int64_t img, int64_t iy, int32_t* dst) const {
  const FusedConvParams& p = p_;
  const int32_t zero4 = static_cast<int32_t>(static_cast<uint32_t>(p.x_zero & 0xff) * 0x01010101u);
  if (iy < 0 || iy >= p.h) {
    std::fill(dst, dst + c4_ * wbuf_, zero4);
    return;
  }
  const int64_t pl = p.pad_begin[1];
  for (int64_t c4 = 0; c4 < c4_; ++c4) {
    int32_t* d = dst + c4 * wbuf_;
    std::fill(d, d + pl, zero4);
    std::fill(d + pl + p.w, d + wbuf_, zero4);
  }
  const int32_t* src = reinterpret_cast<const int32_t*>(x + (img * p.h + iy) * p.w * p.cin);
  const __m512i zero = _mm512_set1_epi32(zero4);
  for (int64_t px0 = 0; px0 < p.w; px0 += 16) {
    const int64_t np = std::min<int64_t>(16, p.w - px0);
    for (int64_t g0 = 0; g0 < c4_; g0 += 16) {
      const int64_t ng = std::min<int64_t>(16, c4_ - g0);
      const __mmask16 gm = tile::first_lanes(ng);
      __m512i r[16];
      for (int64_t i = 0; i < 16; ++i) r[i] = i < np ? _mm512_maskz_loadu_epi32(gm, src + (px0 + i) * c4_ + g0) : zero;
      tile::transpose16(r);
      for (int64_t j = 0; j < ng; ++j) {
        int32_t* d = dst + (g0 + j) * wbuf_ + pl + px0;
        if (np == 16) _mm512_storeu_si512(d, r[j]);
        else _mm512_mask_storeu_epi32(d, tile::first_lanes(np), r[j]);
      }
    }
  }
}

void NarrowInt8Conv::run_rows(const uint8_t* x, void* y, int32_t* buf, int64_t row0, int64_t row1,
                              const float* s) const {
  const FusedConvParams& p = p_;
  const int64_t cout = p.cout, kw = p.kw, c4n = c4_, wb = wbuf_;
  const int32_t* wp0 = w_.data();
  alignas(64) float f[kOc * 16];
  const PixelBlockStore::Narrow narrow(store_, p.y_dtype, s);
  auto dequantize = [&](__m512i a, int64_t oc) {
    const size_t c = static_cast<size_t>(oc);
    return _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(a, _mm512_set1_epi32(zsum_[c]))),
                           _mm512_set1_ps(scale_[c]), _mm512_set1_ps(bias_[c]));
  };
  for (int64_t r0 = row0; r0 < row1;) {
    // A band: up to kBand output rows of one image, its input rows converted first.
    const int64_t img = r0 / p.oh, oy0 = r0 % p.oh, count = std::min({kBand, row1 - r0, p.oh - oy0});
    const int64_t iy0 = oy0 - p.pad_begin[0], in_rows = count + p.kh - 1;
    for (int64_t i = 0; i < in_rows; ++i) convert_row(x, img, iy0 + i, buf + i * c4n * wb);
    for (int64_t r = 0; r < count; ++r) {
      const int64_t oy = oy0 + r;
      for (int64_t xv = 0; xv < p.ow; xv += 16) {
        __m512i acc[kOc];
#pragma GCC unroll 24
        for (int oc = 0; oc < kOc; ++oc) acc[oc] = _mm512_setzero_si512();
        const int32_t* wp = wp0;
        for (int64_t ky = 0; ky < p.kh; ++ky) {
          const int32_t* row = buf + (r + ky) * c4n * wb + xv;
          for (int64_t g = 0; g < c4n; ++g) {
            const int32_t* src = row + g * wb;
            for (int64_t kx = 0; kx < kw; ++kx, wp += kOc) {
              const __m512i v = _mm512_loadu_si512(src + kx);
#pragma GCC unroll 24
              for (int oc = 0; oc < kOc; ++oc) acc[oc] = _mm512_dpbusd_epi32(acc[oc], v, _mm512_set1_epi32(wp[oc]));
            }
          }
        }
        // Per channel: the exact integer sum less the zero point's share, dequantized, then
        // the post-op chain (with the requantization's affine step last for u8/i8 outputs).
        const int64_t np = std::min<int64_t>(16, p.ow - xv);
        const int64_t out0 = ((img * p.oh + oy) * p.ow + xv) * cout;
        const tile::Epilogue e{p.post_ops.data(), static_cast<int>(p.post_ops.size()), nullptr, 0};
        if (p.y_dtype == DType::f32 && !store_.scale_adds()) {
          for (int64_t oc = 0; oc < cout; ++oc) {
            __m512 v[1][1] = {{dequantize(acc[oc], oc)}};
            tile::apply_post_ops<1, 1>(v, e, 0xffff, 0, 0);
            _mm512_store_ps(f + oc * 16, v[0][0]);
          }
          store_.store_f32(f, static_cast<float*>(y) + out0, np);
          continue;
        }
        // Quantized: 16 bytes per channel (16 pixels), four channels to a vector.
        __m512i t[kOc / 4];
        for (int64_t q = 0; q < kOc / 4; ++q) {
          __m128i part[4];
          for (int64_t j = 0; j < 4; ++j) {
            const int64_t oc = 4 * q + j;
            if (oc >= cout) {
              part[j] = _mm_setzero_si128();
              continue;
            }
            __m512 v[1][1] = {{dequantize(acc[oc], oc)}};
            tile::apply_post_ops<1, 1>(v, e, 0xffff, 0, 0);
            part[j] = narrow(v[0][0], oc);
          }
          t[q] = PixelBlockStore::join4(part);
        }
        store_.store_quantized(t, static_cast<char*>(y) + out0, np);
      }
    }
    r0 += count;
  }
}

void NarrowInt8Conv::run(const uint8_t* x, void* y, void* scratch, const float* s) const {
  const int64_t rows = p_.n * p_.oh;
  const int64_t workers = std::min<int64_t>(workers_, rows);
#pragma omp parallel num_threads(static_cast<int>(workers)) if (workers > 1)
  {
    const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
    int32_t* buf = reinterpret_cast<int32_t*>(static_cast<char*>(scratch) + static_cast<size_t>(t) * worker_bytes_);
    run_rows(x, y, buf, rows * t / nt, rows * (t + 1) / nt, s);
  }
}
#else
void NarrowInt8Conv::convert_row(const uint8_t*, int64_t, int64_t, int32_t*) const {}
void NarrowInt8Conv::run_rows(const uint8_t*, void*, int32_t*, int64_t, int64_t, const float*) const {}
void NarrowInt8Conv::run(const uint8_t*, void*, void*, const float*) const {}  // supports() is false
#endif

}  // namespace ep::kernels
