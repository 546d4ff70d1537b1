// GCC 12 reports the AVX-512 intrinsics' undefined pass-through operands as "may be used
// uninitialized" (or "used uninitialized") where they are inlined (see narrow_int8_conv.cc);
// they are not read.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include "kernels/onednn/depthwise_int8.h"

#include <omp.h>

#include <algorithm>
#include <cmath>

#include "edgepipe/arena.h"
#include "kernels/cpu/conv_tile.h"

#if defined(__AVX512F__) && defined(__AVX512VNNI__) && defined(__AVX512BW__) && defined(__AVX512VBMI__)
#define EP_DEPTHWISE_INT8 1
#include <immintrin.h>
#endif

namespace ep::kernels {

bool DepthwiseInt8::supports(const FusedConvParams& p) {
#if defined(EP_DEPTHWISE_INT8)
  return int8_nhwc_u8_form(p) && p.group > 1 && p.group == p.cin && p.group == p.cout && p.cin % 16 == 0 &&
         (p.stride[0] == 1 || p.stride[0] == 2) && p.stride[1] == p.stride[0] && p.dilation[0] == 1 &&
         p.dilation[1] == 1 && p.kw >= 1 && p.kw <= kMaxKw && p.kh >= 1 && p.kh <= kMaxKh && p.ow >= 1 && p.oh >= 1;
#else
  (void)p;
  return false;
#endif
}

void DepthwiseInt8::pack(const int8_t* w, const float* b) {
  const FusedConvParams& p = p_;
  w_.assign(static_cast<size_t>(groups_ * p.kh * 8 * 64), 0);
  zsum_.assign(static_cast<size_t>(p.cout), 0);
  scale_.assign(static_cast<size_t>(p.cout), 0.f);
  bias_.assign(static_cast<size_t>(p.cout), 0.f);
  for (int64_t c = 0; c < p.cout; ++c) {
    const int64_t g = c / 16, lane = c % 16;
    int32_t sum = 0;
    for (int64_t ky = 0; ky < p.kh; ++ky) {
      const int8_t* wr = w + (c * p.kh + ky) * p.kw;
      for (int64_t kx = 0; kx < p.kw; ++kx) sum += wr[kx];
      // Output column 4b+j reads padded columns S(4b+j) + kx: vector S*b + (S*j)/4 + h, byte k
      // is tap kx = 4h + k - (S*j)%4.
      for (int64_t j = 0; j < 4; ++j)
        for (int64_t h = 0; h < 2; ++h)
          for (int64_t k = 0; k < 4; ++k) {
            const int64_t kx = 4 * h + k - p.stride[1] * j % 4;
            if (kx >= 0 && kx < p.kw)
              w_[static_cast<size_t>((((g * p.kh + ky) * 4 + j) * 2 + h) * 64 + lane * 4 + k)] = wr[kx];
          }
    }
    zsum_[static_cast<size_t>(c)] = p.x_zero * sum;
    scale_[static_cast<size_t>(c)] = p.x_scale * p.w_scales[p.w_scales.size() == 1 ? 0 : static_cast<size_t>(c)];
    bias_[static_cast<size_t>(c)] = b ? b[c] : 0.f;
  }
}

size_t DepthwiseInt8::prepare(const FusedConvParams& p, const int8_t* w, const float* b) {
  p_ = p;
  groups_ = p.cin / 16;
  // Output blocks of 4 columns (block b reads vectors S*b .. S*b + S), and the last block's
  // last vector.
  blocks_ = (p.ow + 3) / 4 * p.stride[1] + 1;
  row_bytes_ = groups_ * blocks_ * 64;
  pack(w, b);
  zero_row_.assign(static_cast<size_t>(row_bytes_), static_cast<uint8_t>(p.x_zero));
  // After the two packs of the quantized epilogue, 128-bit lane L holds channels 4L..4L+3 of
  // pixels 0-3 (4 bytes each); output byte 16 * pixel + channel comes from there.
  for (int d = 0; d < 64; ++d) out_index_[d] = static_cast<uint8_t>(d % 16 / 4 * 16 + d / 16 * 4 + d % 4);
  // Converted byte 4 * channel + pixel: from 4 pixels x 16 channels (lanes_index_), or from
  // two vectors of pixels 0-1 and 2-3, 32 bytes (two groups) each, for group h (pair_index_).
  for (int d = 0; d < 64; ++d) {
    const int ch = d / 4, px = d % 4;
    lanes_index_[d] = static_cast<uint8_t>(px * 16 + ch);
    for (int h = 0; h < 2; ++h) pair_index_[h][d] = static_cast<uint8_t>(px / 2 * 64 + px % 2 * 32 + h * 16 + ch);
  }
  const std::vector<PostOp>& ops = p.post_ops;
  const size_t n_ops = ops.size();
  const bool ends_linear = n_ops > 0 && ops.back().kind == PostOpKind::linear;
  chain_ = Chain::generic;
  if (n_ops == 0) chain_ = Chain::none;
  if (n_ops == 1 && ends_linear) chain_ = Chain::linear;
  if (n_ops == 2 && ends_linear && ops[0].kind == PostOpKind::hard_swish) chain_ = Chain::hard_swish_linear;
  if (ends_linear) {
    linear_a_ = ops.back().a;
    linear_b_ = ops.back().b;
  }
  if (chain_ == Chain::hard_swish_linear && !sixth_exact()) chain_ = Chain::generic;
  workers_ = std::max(1, omp_get_max_threads());
  // A worker's scratch: the ring's tags (which input row each slot holds), then its kh
  // converted rows.
  worker_bytes_ = tag_bytes() + arena_align(static_cast<size_t>(p.kh * row_bytes_));
  return worker_bytes_ * static_cast<size_t>(workers_);
}

// hard swish divides y = x * clamp(x + 3, 0, 6) by 6. q = y * RN(1/6) corrected by one fma,
// q - RN(q * 6 - y) * RN(1/6), is the correctly rounded y / 6 for y = +-0 and every finite
// |y| >= 6 * FLT_MIN (checked on all 2^32 floats; below that, in the subnormals, it is not).
// A nonzero x = acc * scale + bias is a multiple of the finer of scale's and bias's ulps, so
// where those are at least 2^-100 and no x can overflow, y is 0 or in that range.
bool DepthwiseInt8::sixth_exact() const {
  for (size_t c = 0; c < scale_.size(); ++c) {
    const float s = scale_[c], b = bias_[c];
    if (!(std::fabs(s) * 2147483648.f + std::fabs(b) < 1e30f)) return false;
    if ((s != 0.f && std::ilogb(s) < -77) || (b != 0.f && std::ilogb(b) < -77)) return false;
  }
  return true;
}

#if defined(EP_DEPTHWISE_INT8)
namespace tile = cpu::tile;

// Input row iy of image img as [group][block] vectors (see the header): padded column j is
// input column j - pad_left, the zero point outside the row. (The sizes are copied to locals:
// the stores go through uint8_t pointers, which could alias the object's fields.)
void DepthwiseInt8::convert_row(const uint8_t* x, int64_t img, int64_t iy, uint8_t* dst) const {
  const int64_t c = p_.cin, pl = p_.pad_begin[1], w = p_.w, groups = groups_, gstride = blocks_ * 64;
  const int64_t blocks = blocks_, pairs = groups_ / 2;
  const uint8_t* src = x + (img * p_.h + iy) * w * c;
  const __m512i idx = _mm512_load_si512(lanes_index_);
  const __m512i pair0 = _mm512_load_si512(pair_index_[0]), pair1 = _mm512_load_si512(pair_index_[1]);
  const __m128i zero = _mm_set1_epi8(static_cast<char>(p_.x_zero));
  auto load32 = [](const uint8_t* at) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(at)); };
  for (int64_t bb = 0; bb < blocks; ++bb) {
    const int64_t ix0 = 4 * bb - pl;
    uint8_t* d = dst + bb * 64;
    if (ix0 >= 0 && ix0 + 4 <= w) {
      const uint8_t* s = src + ix0 * c;
      if (c == 16) {  // the 4 pixels are one vector
        _mm512_storeu_si512(d, _mm512_permutexvar_epi8(idx, _mm512_loadu_si512(s)));
        continue;
      }
      // Two groups at a time: 32 bytes of each pixel, pixels 0-1 and 2-3 in two vectors, one
      // two-source byte permute per group.
      for (int64_t q = 0; q < pairs; ++q, s += 32, d += 2 * gstride) {
        const __m512i u0 = _mm512_inserti64x4(_mm512_castsi256_si512(load32(s)), load32(s + c), 1);
        const __m512i u1 = _mm512_inserti64x4(_mm512_castsi256_si512(load32(s + 2 * c)), load32(s + 3 * c), 1);
        _mm512_storeu_si512(d, _mm512_permutex2var_epi8(u0, pair0, u1));
        _mm512_storeu_si512(d + gstride, _mm512_permutex2var_epi8(u0, pair1, u1));
      }
      if (groups % 2) {
        __m512i v = _mm512_castsi128_si512(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s)));
        v = _mm512_inserti32x4(v, _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + c)), 1);
        v = _mm512_inserti32x4(v, _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + 2 * c)), 2);
        v = _mm512_inserti32x4(v, _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + 3 * c)), 3);
        _mm512_storeu_si512(d, _mm512_permutexvar_epi8(idx, v));
      }
      continue;
    }
    for (int64_t g = 0; g < groups; ++g) {  // a block over the row's edge
      __m128i px[4];
      for (int64_t k = 0; k < 4; ++k) {
        const int64_t ix = ix0 + k;
        px[k] = ix >= 0 && ix < w ? _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + ix * c + g * 16)) : zero;
      }
      __m512i v = _mm512_castsi128_si512(px[0]);
      v = _mm512_inserti32x4(v, px[1], 1);
      v = _mm512_inserti32x4(v, px[2], 2);
      v = _mm512_inserti32x4(v, px[3], 3);
      _mm512_storeu_si512(d + g * gstride, _mm512_permutexvar_epi8(idx, v));
    }
  }
}

void DepthwiseInt8::gather_rows(const uint8_t* x, char* scratch, int64_t r, const uint8_t** rows) const {
  const FusedConvParams& p = p_;
  auto* tags = reinterpret_cast<int64_t*>(scratch);
  uint8_t* ring = reinterpret_cast<uint8_t*>(scratch) + tag_bytes();
  const int64_t img = r / p.oh, oy = r % p.oh;
  for (int64_t ky = 0; ky < p.kh; ++ky) {
    const int64_t iy = oy * p.stride[0] - p.pad_begin[0] + ky;
    if (iy < 0 || iy >= p.h) {
      rows[ky] = zero_row_.data();
      continue;
    }
    // kh consecutive input rows take distinct slots.
    const int64_t slot = iy % p.kh, key = img * p.h + iy;
    uint8_t* d = ring + slot * row_bytes_;
    if (tags[slot] != key) {
      convert_row(x, img, iy, d);
      tags[slot] = key;
    }
    rows[ky] = d;
  }
}

// What the blocks of one output row and channel group read, copied out of the object: the
// output is stored through char pointers, which could alias anything reached through `this`
// (GCC reloaded the fields after every store).
struct DepthwiseInt8::GroupArgs {
  const uint8_t* rows[kMaxKh];  // the converted input rows, at this group's vectors
  const int8_t* w;              // [kh][4][2] weight vectors
  __m512i zneg, out_index;
  __m512 scale, bias, la, lb;
  const PostOp* ops;
  int n_ops;
  int64_t kh, ow, c;
  DType y_dtype;
  char* y;  // the output row at this group's first channel
};

namespace {

// Stores NB blocks of 4 pixels x 16 channels from output block b on: f32, or rounded (nearest
// even) and saturated to 16 then 8 bits, then permuted to pixel-major (a: GroupArgs).
template <int NB, bool FULL>
inline __attribute__((always_inline)) void store_blocks(const auto& a, __m512 (&v)[NB * 4][1], int64_t b) {
  const int64_t c = a.c;
#pragma GCC unroll 2
  for (int n = 0; n < NB; ++n) {
    const int64_t px0 = 4 * (b + n), count = FULL ? 4 : std::min<int64_t>(4, a.ow - px0);
    if (a.y_dtype == DType::f32) {
      float* yf = reinterpret_cast<float*>(a.y) + px0 * c;
      for (int64_t k = 0; k < count; ++k) _mm512_storeu_ps(yf + k * c, v[n * 4 + k][0]);
      continue;
    }
    const __m512i lo = _mm512_packs_epi32(_mm512_cvtps_epi32(v[n * 4][0]), _mm512_cvtps_epi32(v[n * 4 + 1][0]));
    const __m512i hi = _mm512_packs_epi32(_mm512_cvtps_epi32(v[n * 4 + 2][0]), _mm512_cvtps_epi32(v[n * 4 + 3][0]));
    const __m512i q = a.y_dtype == DType::u8 ? _mm512_packus_epi16(lo, hi) : _mm512_packs_epi16(lo, hi);
    const __m512i o = _mm512_permutexvar_epi8(a.out_index, q);
    char* yq = a.y + px0 * c;
    if (c == 16 && count == 4) {
      _mm512_storeu_si512(yq, o);
      continue;
    }
    _mm_storeu_si128(reinterpret_cast<__m128i*>(yq), _mm512_castsi512_si128(o));
    if (count > 1) _mm_storeu_si128(reinterpret_cast<__m128i*>(yq + c), _mm512_extracti32x4_epi32(o, 1));
    if (count > 2) _mm_storeu_si128(reinterpret_cast<__m128i*>(yq + 2 * c), _mm512_extracti32x4_epi32(o, 2));
    if (count > 3) _mm_storeu_si128(reinterpret_cast<__m128i*>(yq + 3 * c), _mm512_extracti32x4_epi32(o, 3));
  }
}

}  // namespace

// Output columns 4b .. 4(b+NB)-1 of one group: the integer sums (from -zsum: the zero point's
// share), then the epilogue, all in registers. KH 0: a.kh rows. FULL: all 4 NB columns are in
// the row.
template <int S, int KW, int KH, DepthwiseInt8::Chain CH, int NB, bool FULL>
inline __attribute__((always_inline)) void DepthwiseInt8::run_blocks(const GroupArgs& a, int64_t b) {
  __m512i acc[NB][4];
#pragma GCC unroll 8
  for (int i = 0; i < NB * 4; ++i) acc[i / 4][i % 4] = a.zneg;
  const int64_t kh = KH ? KH : a.kh;
#pragma GCC unroll 5
  for (int64_t ky = 0; ky < kh; ++ky) {
    const uint8_t* t = a.rows[ky] + S * b * 64;
    const int8_t* wk = a.w + ky * 8 * 64;
    __m512i tv[S * NB + 1];
#pragma GCC unroll 5
    for (int n = 0; n <= S * NB; ++n) tv[n] = _mm512_loadu_si512(t + n * 64);
#pragma GCC unroll 2
    for (int n = 0; n < NB; ++n)
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j) {
        const int q = S * n + S * j / 4;  // T_q and T_{q+1}
        acc[n][j] = _mm512_dpbusd_epi32(acc[n][j], tv[q], _mm512_loadu_si512(wk + j * 128));
        if (S * j % 4 + KW > 4)
          acc[n][j] = _mm512_dpbusd_epi32(acc[n][j], tv[q + 1], _mm512_loadu_si512(wk + j * 128 + 64));
      }
  }
  __m512 v[NB * 4][1];
#pragma GCC unroll 8
  for (int i = 0; i < NB * 4; ++i) v[i][0] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc[i / 4][i % 4]), a.scale, a.bias);
  if constexpr (CH == Chain::generic) {
    const tile::Epilogue e{a.ops, a.n_ops, nullptr, 0};
    tile::apply_post_ops<NB * 4, 1>(v, e, 0xffff, 0, 0);
  } else {
    // tile::apply_post_ops' formulas, op by op.
#pragma GCC unroll 8
    for (int i = 0; i < NB * 4; ++i) {
      __m512 x = v[i][0];
      if constexpr (CH == Chain::hard_swish_linear) {
        // x * t / 6 with the division as a product and one fma correction (see sixth_exact()).
        const __m512 six = _mm512_set1_ps(6.f), sixth = _mm512_set1_ps(1.f / 6.f);
        const __m512 t = _mm512_min_ps(_mm512_max_ps(_mm512_add_ps(x, _mm512_set1_ps(3.f)), _mm512_setzero_ps()), six);
        const __m512 y = _mm512_mul_ps(x, t), q = _mm512_mul_ps(y, sixth);
        x = _mm512_fnmadd_ps(_mm512_fmsub_ps(q, six, y), sixth, q);
      }
      if constexpr (CH != Chain::none) x = _mm512_add_ps(_mm512_mul_ps(a.la, x), a.lb);
      v[i][0] = x;
    }
  }
  store_blocks<NB, FULL>(a, v, b);
}

template <int S, int KW, int KH, DepthwiseInt8::Chain CH>
void DepthwiseInt8::run_rows(const uint8_t* x, void* y, char* scratch, int64_t row0, int64_t row1) const {
  const FusedConvParams& p = p_;
  const int64_t kh = p.kh, nblk = (p.ow + 3) / 4, full = p.ow / 4, y_size = p.y_dtype == DType::f32 ? 4 : 1;
  auto* tags = reinterpret_cast<int64_t*>(scratch);
  std::fill(tags, tags + kh, int64_t{-1});
  const uint8_t* rows[kMaxKh];
  GroupArgs a;
  a.out_index = _mm512_loadu_si512(out_index_);
  a.la = _mm512_set1_ps(linear_a_);
  a.lb = _mm512_set1_ps(linear_b_);
  a.ops = p.post_ops.data();
  a.n_ops = static_cast<int>(p.post_ops.size());
  a.kh = kh;
  a.ow = p.ow;
  a.c = p.cout;
  a.y_dtype = p.y_dtype;
  for (int64_t r = row0; r < row1; ++r) {
    gather_rows(x, scratch, r, rows);
    for (int64_t g = 0; g < groups_; ++g) {
      for (int64_t ky = 0; ky < kh; ++ky) a.rows[ky] = rows[ky] + g * blocks_ * 64;
      a.w = w_.data() + g * kh * 8 * 64;
      a.zneg = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_loadu_si512(zsum_.data() + g * 16));
      a.scale = _mm512_loadu_ps(scale_.data() + g * 16);
      a.bias = _mm512_loadu_ps(bias_.data() + g * 16);
      a.y = static_cast<char*>(y) + (r * p.ow * p.cout + g * 16) * y_size;
      const GroupArgs ga = a;  // a local no pointer reaches: stays in registers across the stores
      int64_t b = 0;
      for (; b + 2 <= full; b += 2) run_blocks<S, KW, KH, CH, 2, true>(ga, b);
      for (; b < nblk; ++b) run_blocks<S, KW, KH, CH, 1, false>(ga, b);
    }
  }
}

void DepthwiseInt8::run(const uint8_t* x, void* y, void* scratch) const {
  const int64_t rows = p_.n * p_.oh;
  const int64_t workers = std::min<int64_t>(workers_, rows);
#pragma omp parallel num_threads(static_cast<int>(workers)) if (workers > 1)
  {
    const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
    char* s = static_cast<char*>(scratch) + static_cast<size_t>(t) * worker_bytes_;
    const int64_t r0 = rows * t / nt, r1 = rows * (t + 1) / nt;
    // 3x3 and 5x5 unrolled; other kernels as 5 wide (zero weights past kw), kh rows.
    auto with_stride = [&]<int KW, int KH, Chain CH>() {
      if (p_.stride[1] == 2) run_rows<2, KW, KH, CH>(x, y, s, r0, r1);
      else run_rows<1, KW, KH, CH>(x, y, s, r0, r1);
    };
    auto with_kw = [&]<Chain CH>() {
      if (p_.kw == 3 && p_.kh == 3) with_stride.template operator()<3, 3, CH>();
      else if (p_.kw == 5 && p_.kh == 5) with_stride.template operator()<5, 5, CH>();
      else with_stride.template operator()<5, 0, CH>();
    };
    switch (chain_) {
      case Chain::hard_swish_linear: with_kw.template operator()<Chain::hard_swish_linear>(); break;
      case Chain::linear: with_kw.template operator()<Chain::linear>(); break;
      case Chain::none: with_kw.template operator()<Chain::none>(); break;
      default: with_kw.template operator()<Chain::generic>(); break;
    }
  }
}
#else
void DepthwiseInt8::convert_row(const uint8_t*, int64_t, int64_t, uint8_t*) const {}
void DepthwiseInt8::gather_rows(const uint8_t*, char*, int64_t, const uint8_t**) const {}
void DepthwiseInt8::run(const uint8_t*, void*, void*) const {}  // supports() is false
#endif

}  // namespace ep::kernels
