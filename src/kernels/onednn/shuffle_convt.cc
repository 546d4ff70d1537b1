#include "kernels/onednn/shuffle_convt.h"

#include <omp.h>

#include <algorithm>
#include <cstring>

#include "edgepipe/arena.h"
#include "kernels/cpu/bf16.h"

#if defined(__AVX512F__)
#include <immintrin.h>
// GCC 12 reports the intrinsics' undefined pass-through operands (_mm512_undefined_ps) as
// "may be used uninitialized" once they are inlined here; they are not read.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace ep::kernels {

bool ShuffleConvT::supports(const FusedConvParams& p) {
#if defined(__AVX512F__)
  const bool residual = has_post_op(p.post_ops, PostOpKind::residual);
  return p.transposed && p.nhwc && p.block == 0 && p.group == 1 && p.kh == p.stride[0] && p.kw == p.stride[1] &&
         p.dilation[0] == 1 && p.dilation[1] == 1 && p.pad_begin[0] == 0 && p.pad_begin[1] == 0 &&
         p.pad_end[0] == 0 && p.pad_end[1] == 0 && !residual && p.cout * p.kh * p.kw <= 4 &&
         p.y_dtype == DType::f32 &&
         (((p.precision == ConvPrecision::f32 || p.precision == ConvPrecision::bf16) &&
           (p.x_dtype == DType::f32 || p.x_dtype == DType::bf16)) ||
          // int8: the integer sums exact in f32 (below 2^24: 255 * 128 per channel)
          (p.precision == ConvPrecision::int8 && p.x_dtype == DType::u8 && p.cin <= 512));
#else
  (void)p;
  return false;
#endif
}

size_t ShuffleConvT::prepare(const FusedConvParams& p, const void* w_data, const float* b) {
  p_ = p;
  taps_ = p.kh * p.kw;
  outs_ = p.cout * taps_;
  const bool bf16 = p.precision == ConvPrecision::bf16;
  int8_ = p.precision == ConvPrecision::int8;
  // int8: the weights as the integers they are, and per output x_scale * w_scale applied to
  // the exact integer sum of (x - x_zero) * w.
  auto w = [&](int64_t i) {
    return int8_ ? static_cast<float>(static_cast<const int8_t*>(w_data)[i]) : static_cast<const float*>(w_data)[i];
  };
  cin4_ = (p.cin + 3) / 4 * 4;
  // Channel c's weights for output t in lane 4j + t of row c, for each pixel lane j.
  w_.assign(static_cast<size_t>(cin4_ * 16), 0.f);
  b_.assign(16, 0.f);
  for (int64_t ic = 0; ic < p.cin; ++ic)
    for (int64_t oc = 0; oc < p.cout; ++oc)
      for (int64_t t = 0; t < taps_; ++t) {
        const float v = w((ic * p.cout + oc) * taps_ + t);
        for (int64_t j = 0; j < 4; ++j)
          w_[static_cast<size_t>(ic * 16 + 4 * j + t * p.cout + oc)] = bf16 ? bf16_to_f32(f32_to_bf16(v)) : v;
      }
  scale_.assign(16, 1.f);
  for (int64_t t = 0; t < taps_; ++t)
    for (int64_t oc = 0; oc < p.cout; ++oc)
      for (int64_t j = 0; j < 4; ++j) {
        b_[static_cast<size_t>(4 * j + t * p.cout + oc)] = b ? b[oc] : 0.f;
        if (int8_) scale_[static_cast<size_t>(4 * j + t * p.cout + oc)] = p.x_scale * p.w_scales[static_cast<size_t>(oc)];
      }
  wq_.clear();
  zcomp_.clear();
#if defined(__AVX512VNNI__) && defined(__AVX512BW__) && defined(__AVX512VL__)
  if (int8_) {
    wq_.assign(static_cast<size_t>(cin4_ / 4 * 16), 0);
    // sums_int8_vnni's byte permutes: lane j, byte q of half h <- byte j * Cin + 16 h + q of
    // the four pixels (the bytes past Cin meet zero weights).
    perm_.assign(128, 0);
    for (int64_t h = 0; h < 2; ++h)
      for (int64_t j = 0; j < 4; ++j)
        for (int64_t q = 0; q < 16; ++q)
          perm_[static_cast<size_t>(h * 64 + j * 16 + q)] = static_cast<uint8_t>(std::min<int64_t>(j * p.cin + 16 * h + q, 127));
    zcomp_.assign(16, 0);
    for (int64_t ic = 0; ic < p.cin; ++ic)
      for (int64_t oc = 0; oc < p.cout; ++oc)
        for (int64_t t = 0; t < taps_; ++t) {
          const int32_t v = static_cast<const int8_t*>(w_data)[(ic * p.cout + oc) * taps_ + t];
          for (int64_t j = 0; j < 4; ++j) {
            const size_t lane = static_cast<size_t>(4 * j + t * p.cout + oc);
            uint32_t& word = reinterpret_cast<uint32_t&>(wq_[static_cast<size_t>(ic / 4 * 16) + lane]);
            word |= static_cast<uint32_t>(static_cast<uint8_t>(v)) << (8 * (ic % 4));
            zcomp_[lane] += p.x_zero * v;
          }
        }
  }
#endif
  workers_ = std::max(1, omp_get_max_threads());
  // Per thread: a chunk's outputs (4 per pixel, a group of 4 past the last) and its pixels'
  // channels as f32 rows of cin4_.
  worker_bytes_ = arena_align(static_cast<size_t>(4 * (kChunk + 4) + kChunk * cin4_) * sizeof(float));
  return worker_bytes_ * static_cast<size_t>(workers_);
}

#if defined(__AVX512F__)
#if defined(__AVX512VNNI__) && defined(__AVX512BW__) && defined(__AVX512VL__)
// u8 x s8 products summed exactly by vpdpbusd, x_zero's share taken out, then per lane
// x_scale * w_scale and the bias: the chunk's `count` pixels from xr into packed.
void ShuffleConvT::sums_int8_vnni(const uint8_t* xr, int64_t count, float* packed) const {
  const int64_t cin = p_.cin;
  const __m512 bias = _mm512_loadu_ps(b_.data()), scale = _mm512_loadu_ps(scale_.data());
  const __m512i zcomp = _mm512_loadu_si512(zcomp_.data());
  // Per 16 channels, the four pixels' bytes into their lanes, then each group of 4 broadcast
  // within its lane against the lane's 4 weights.
  auto dot = [&](__m512i acc, __m512i v, int64_t c) {
    const int64_t m = std::min<int64_t>(16, cin - c);
    const int32_t* wg = wq_.data() + c / 4 * 16;
    acc = _mm512_dpbusd_epi32(acc, _mm512_shuffle_epi32(v, _MM_PERM_AAAA), _mm512_loadu_si512(wg));
    if (m > 4) acc = _mm512_dpbusd_epi32(acc, _mm512_shuffle_epi32(v, _MM_PERM_BBBB), _mm512_loadu_si512(wg + 16));
    if (m > 8) acc = _mm512_dpbusd_epi32(acc, _mm512_shuffle_epi32(v, _MM_PERM_CCCC), _mm512_loadu_si512(wg + 32));
    if (m > 12) acc = _mm512_dpbusd_epi32(acc, _mm512_shuffle_epi32(v, _MM_PERM_DDDD), _mm512_loadu_si512(wg + 48));
    return acc;
  };
  auto finish = [&](__m512i acc, int64_t i) {
    const __m512 sum = _mm512_cvtepi32_ps(_mm512_sub_epi32(acc, zcomp));
    _mm512_storeu_ps(packed + i * 4, _mm512_fmadd_ps(sum, scale, bias));
  };
  int64_t i = 0;
#if defined(__AVX512VBMI__)
  // Up to 32 channels: the four pixels' 4 * Cin bytes are two 64-byte loads, and each 16
  // channels' lanes one byte permute of them (the detector's 24: eight masked 16-byte loads
  // and six inserts per 4 pixels before, waiting on the loads). The loads stay within the
  // chunk's bytes; the last pixels take the path below.
  if (cin <= 32) {
    const __m512i lo = _mm512_loadu_si512(perm_.data()), hi = _mm512_loadu_si512(perm_.data() + 64);
    for (; i + 4 <= count && i * cin + 128 <= count * cin; i += 4) {
      const uint8_t* b = xr + i * cin;
      const __m512i a0 = _mm512_loadu_si512(b), a1 = _mm512_loadu_si512(b + 64);
      __m512i acc = dot(_mm512_setzero_si512(), _mm512_permutex2var_epi8(a0, lo, a1), 0);
      if (cin > 16) acc = dot(acc, _mm512_permutex2var_epi8(a0, hi, a1), 16);
      finish(acc, i);
    }
  }
#endif
  for (; i < count; i += 4) {
    const uint8_t* px[4];
    for (int j = 0; j < 4; ++j) px[j] = xr + std::min(i + j, count - 1) * cin;  // past the end: a repeat
    __m512i acc = _mm512_setzero_si512();
    for (int64_t c = 0; c < cin; c += 16) {
      const int64_t m = std::min<int64_t>(16, cin - c);
      const __mmask16 mk = static_cast<__mmask16>(m == 16 ? 0xffff : (1u << m) - 1);
      __m512i v = _mm512_castsi128_si512(_mm_maskz_loadu_epi8(mk, px[0] + c));
      v = _mm512_inserti32x4(v, _mm_maskz_loadu_epi8(mk, px[1] + c), 1);
      v = _mm512_inserti32x4(v, _mm_maskz_loadu_epi8(mk, px[2] + c), 2);
      v = _mm512_inserti32x4(v, _mm_maskz_loadu_epi8(mk, px[3] + c), 3);
      acc = dot(acc, v, c);
    }
    finish(acc, i);
  }
}
#endif

void ShuffleConvT::run(const void* x, float* y, void* scratch) const {
  const FusedConvParams& p = p_;
  const int64_t rows = p.n * p.h, chunks = (p.w + kChunk - 1) / kChunk, items = rows * chunks;
  const bool x_bf16 = p.x_dtype == DType::bf16, round_x = p.precision == ConvPrecision::bf16 && !x_bf16;
  const int64_t cin = p.cin, cinp = cin4_, row_out = p.kw * p.cout;  // one output row's values per pixel
  const bool stage = x_bf16 || round_x || int8_ || cinp != cin;
  const float x_zero = static_cast<float>(p.x_zero);
#pragma omp parallel for if (workers_ > 1 && items > 1) num_threads(workers_) schedule(static)
  for (int64_t item = 0; item < items; ++item) {
    float* packed = reinterpret_cast<float*>(static_cast<char*>(scratch) + omp_get_thread_num() * worker_bytes_);
    float* wide = packed + 4 * (kChunk + 4);
    const int64_t row = item / chunks, w0 = item % chunks * kChunk, count = std::min(p.w, w0 + kChunk) - w0;
    const int64_t at = (row * p.w + w0) * cin;
#if defined(__AVX512VNNI__) && defined(__AVX512BW__) && defined(__AVX512VL__)
    if (int8_) {
      sums_int8_vnni(static_cast<const uint8_t*>(x) + at, count, packed);
    } else
#endif
    {
      // The chunk's pixels as f32 rows of cinp channels (zero past cin): the input itself where
      // it is that already, else widened, rounded to bf16 or padded into `wide`.
      const float* xs = static_cast<const float*>(x) + at;
      if (int8_ && cinp == cin) {  // x - x_zero, 16 values at a time (the chunk is contiguous)
        const int64_t n = count * cin;
        const __m512 zero = _mm512_set1_ps(x_zero);
        int64_t i = 0;
        for (; i + 16 <= n; i += 16) {
          const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(static_cast<const uint8_t*>(x) + at + i));
          const __m512i v = _mm512_cvtepu8_epi32(q);
          _mm512_storeu_ps(wide + i, _mm512_sub_ps(_mm512_cvtepi32_ps(v), zero));
        }
        for (; i < n; ++i) wide[i] = static_cast<float>(static_cast<const uint8_t*>(x)[at + i]) - x_zero;
        xs = wide;
      } else if (x_bf16 && cinp == cin) {  // the chunk is contiguous: widened in one call
        cpu::bf16_to_f32_span(static_cast<const uint16_t*>(x) + at, wide, count * cin);
        xs = wide;
      } else if (stage) {
        for (int64_t i = 0; i < count; ++i) {
          float* d = wide + i * cinp;
          if (x_bf16) {
            cpu::bf16_to_f32_span(static_cast<const uint16_t*>(x) + at + i * cin, d, cin);
          } else if (int8_) {
            for (int64_t c = 0; c < cin; ++c) d[c] = static_cast<float>(static_cast<const uint8_t*>(x)[at + i * cin + c]) - x_zero;
          } else {
            const float* src = static_cast<const float*>(x) + at + i * cin;
            for (int64_t c = 0; c < cin; ++c) d[c] = round_x ? bf16_to_f32(f32_to_bf16(src[c])) : src[c];
          }
          for (int64_t c = cin; c < cinp; ++c) d[c] = 0.f;
        }
        xs = wide;
      }
      // Four pixels per vector, a 128-bit lane each, that lane's four outputs: per group of four
      // channels, the four pixels' channels loaded into their lanes, then each channel
      // broadcast within its lane (vpermilps) against the channel's four weights.
      const __m512 bias = _mm512_loadu_ps(b_.data()), scale = _mm512_loadu_ps(scale_.data());
      for (int64_t i = 0; i < count; i += 4) {
        const float* px[4];
        for (int j = 0; j < 4; ++j) px[j] = xs + std::min(i + j, count - 1) * cinp;  // past the end: a repeat
        __m512 acc0 = int8_ ? _mm512_setzero_ps() : bias, acc1 = _mm512_setzero_ps();
        for (int64_t c = 0; c < cinp; c += 4) {
          __m512 v = _mm512_castps128_ps512(_mm_loadu_ps(px[0] + c));
          v = _mm512_insertf32x4(v, _mm_loadu_ps(px[1] + c), 1);
          v = _mm512_insertf32x4(v, _mm_loadu_ps(px[2] + c), 2);
          v = _mm512_insertf32x4(v, _mm_loadu_ps(px[3] + c), 3);
          const float* wc = w_.data() + c * 16;
          acc0 = _mm512_fmadd_ps(_mm512_permute_ps(v, 0x00), _mm512_loadu_ps(wc), acc0);
          acc1 = _mm512_fmadd_ps(_mm512_permute_ps(v, 0x55), _mm512_loadu_ps(wc + 16), acc1);
          acc0 = _mm512_fmadd_ps(_mm512_permute_ps(v, 0xaa), _mm512_loadu_ps(wc + 32), acc0);
          acc1 = _mm512_fmadd_ps(_mm512_permute_ps(v, 0xff), _mm512_loadu_ps(wc + 48), acc1);
        }
        const __m512 sum = _mm512_add_ps(acc0, acc1);
        _mm512_storeu_ps(packed + i * 4, int8_ ? _mm512_fmadd_ps(sum, scale, bias) : sum);
      }
    }
    const int64_t values = count * 4;
    for (const PostOp& op : p.post_ops) apply_post_op_span(op, packed, nullptr, values);
    // Output t = (ky * kw + kx) * Cout + oc of pixel w goes to output row row * kh + ky,
    // column w * kw + kx, channel oc.
    const int64_t img = row / p.h, h = row % p.h;
    for (int64_t ky = 0; ky < p.kh; ++ky) {
      float* out = y + ((img * p.oh + h * p.kh + ky) * p.ow + w0 * p.kw) * p.cout;
      const float* src = packed + ky * row_out;
      if (row_out == 2) {
        for (int64_t i = 0; i < count; ++i) std::memcpy(out + i * 2, src + i * 4, 8);
      } else {
        for (int64_t i = 0; i < count; ++i)
          for (int64_t j = 0; j < row_out; ++j) out[i * row_out + j] = src[i * 4 + j];
      }
    }
  }
}
#else
void ShuffleConvT::run(const void*, float*, void*) const {}  // supports() is false
#endif

}  // namespace ep::kernels
