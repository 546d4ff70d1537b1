#include "kernels/onednn/winograd.h"

#include <omp.h>

#include <algorithm>
#include <cstring>

#include "edgepipe/arena.h"

#if defined(__AVX2__)
#include <immintrin.h>
#endif
#if defined(__AVX2__) && defined(__FMA__)
#define EP_WINOGRAD_SMALL 1
#endif

namespace ep::kernels {
namespace {

using dnnl::memory;

constexpr int64_t kLanes = 8;          // channels per vector: one AVX2 register of f32
constexpr int64_t kMinTilesPerWorker = 64;  // below this per thread the matmul splits instead
constexpr int64_t kChunkTiles = 192;  // tiles per matmul: V and M of a 64-channel layer 1.8 MB each, in L3

#if defined(EP_WINOGRAD_SMALL)
// MR rows of a position's product, 8*NV output channels: c[i][.] = sum_k a[i][k] b[k][.], the
// panel b (K x 8*NV) read once, in order, straight from the packed weights.
template <int MR, int NV>
void small_tile(const float* a, int64_t lda, const float* b, int64_t k_count, float* c, int64_t ldc) {
  __m256 acc[MR][NV];
#pragma GCC unroll 6
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 2
    for (int j = 0; j < NV; ++j) acc[i][j] = _mm256_setzero_ps();
  for (int64_t k = 0; k < k_count; ++k) {
    __m256 bk[NV];
#pragma GCC unroll 2
    for (int j = 0; j < NV; ++j) bk[j] = _mm256_loadu_ps(b + (k * NV + j) * 8);
#pragma GCC unroll 6
    for (int i = 0; i < MR; ++i) {
      const __m256 ai = _mm256_broadcast_ss(a + i * lda + k);
#pragma GCC unroll 2
      for (int j = 0; j < NV; ++j) acc[i][j] = _mm256_fmadd_ps(ai, bk[j], acc[i][j]);
    }
  }
#pragma GCC unroll 6
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 2
    for (int j = 0; j < NV; ++j) _mm256_storeu_ps(c + i * ldc + j * 8, acc[i][j]);
}

// All `rows` rows of one panel: 6 at a time, then the rest.
template <int NV>
void small_panel(const float* a, int64_t lda, int64_t rows, const float* b, int64_t k_count, float* c, int64_t ldc) {
  using Fn = void (*)(const float*, int64_t, const float*, int64_t, float*, int64_t);
  static constexpr Fn kTail[] = {nullptr, small_tile<1, NV>, small_tile<2, NV>, small_tile<3, NV>, small_tile<4, NV>,
                                 small_tile<5, NV>};
  int64_t i = 0;
  for (; i + 6 <= rows; i += 6) small_tile<6, NV>(a + i * lda, lda, b, k_count, c + i * ldc, ldc);
  if (i < rows) kTail[rows - i](a + i * lda, lda, b, k_count, c + i * ldc, ldc);
}
#endif

// kLanes values at element offset i of an f32 or bf16 array, and back.
inline void load_lanes(const void* src, DType dt, int64_t i, float* d) {
  if (dt == DType::bf16) {
    const uint16_t* s = static_cast<const uint16_t*>(src) + i;
#if defined(__AVX2__)
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s));
    _mm256_storeu_ps(d, _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16)));
#else
    for (int64_t l = 0; l < kLanes; ++l) d[l] = bf16_to_f32(s[l]);
#endif
  } else {
    std::memcpy(d, static_cast<const float*>(src) + i, kLanes * sizeof(float));
  }
}

inline void store_lanes(const float* s, void* dst, DType dt, int64_t i) {
  if (dt == DType::bf16) {
    uint16_t* d = static_cast<uint16_t*>(dst) + i;
#if defined(__AVX512BF16__) && defined(__AVX512VL__)
    const __m128bh h = _mm256_cvtneps_pbh(_mm256_loadu_ps(s));  // round to nearest even, as f32_to_bf16
    std::memcpy(d, &h, sizeof(h));
#else
    for (int64_t l = 0; l < kLanes; ++l) d[l] = f32_to_bf16(s[l]);
#endif
  } else {
    std::memcpy(static_cast<float*>(dst) + i, s, kLanes * sizeof(float));
  }
}

// d[0..5] -> B^T d (one column of the 6x6 patch).
inline void bt4(const float* d, int64_t s, float* o, int64_t os) {
  const float d0 = d[0], d1 = d[s], d2 = d[2 * s], d3 = d[3 * s], d4 = d[4 * s], d5 = d[5 * s];
  o[0] = 4.f * d0 - 5.f * d2 + d4;
  o[os] = -4.f * d1 - 4.f * d2 + d3 + d4;
  o[2 * os] = 4.f * d1 - 4.f * d2 - d3 + d4;
  o[3 * os] = -2.f * d1 - d2 + 2.f * d3 + d4;
  o[4 * os] = 2.f * d1 - d2 - 2.f * d3 + d4;
  o[5 * os] = 4.f * d1 - 5.f * d3 + d5;
}

// m[0..5] -> A^T m.
inline void at4(const float* m, int64_t s, float* o, int64_t os) {
  const float m0 = m[0], m1 = m[s], m2 = m[2 * s], m3 = m[3 * s], m4 = m[4 * s], m5 = m[5 * s];
  o[0] = m0 + m1 + m2 + m3 + m4;
  o[os] = m1 - m2 + 2.f * m3 - 2.f * m4;
  o[2 * os] = m1 + m2 + 4.f * m3 + 4.f * m4;
  o[3 * os] = m1 - m2 + 8.f * m3 - 8.f * m4 + m5;
}

// g[0..2] -> G g (in double: the weights are transformed once).
inline void gt4(const double* g, int64_t s, double* o, int64_t os) {
  const double g0 = g[0], g1 = g[s], g2 = g[2 * s];
  o[0] = g0 / 4;
  o[os] = -(g0 + g1 + g2) / 6;
  o[2 * os] = -(g0 - g1 + g2) / 6;
  o[3 * os] = g0 / 24 + g1 / 12 + g2 / 6;
  o[4 * os] = g0 / 24 - g1 / 12 + g2 / 6;
  o[5 * os] = g2;
}


// F(2x2, 3x3): d[0..3] -> B^T d, m[0..3] -> A^T m, g[0..2] -> G g.
inline void bt2(const float* d, int64_t s, float* o, int64_t os) {
  const float d0 = d[0], d1 = d[s], d2 = d[2 * s], d3 = d[3 * s];
  o[0] = d0 - d2;
  o[os] = d1 + d2;
  o[2 * os] = d2 - d1;
  o[3 * os] = d1 - d3;
}

inline void at2(const float* m, int64_t s, float* o, int64_t os) {
  const float m0 = m[0], m1 = m[s], m2 = m[2 * s], m3 = m[3 * s];
  o[0] = m0 + m1 + m2;
  o[os] = m1 - m2 - m3;
}

inline void gt2(const double* g, int64_t s, double* o, int64_t os) {
  const double g0 = g[0], g1 = g[s], g2 = g[2 * s];
  o[0] = g0;
  o[os] = (g0 + g1 + g2) / 2;
  o[2 * os] = (g0 - g1 + g2) / 2;
  o[3 * os] = g2;
}

// Stride 2 (see winograd.h): along one axis, 9 samples -> 9 positions, the F(4, 2) transform
// of the even samples then the odd samples as they are.
inline void bts2(const float* d, int64_t s, float* o, int64_t os) {
  const float e0 = d[0], e1 = d[2 * s], e2 = d[4 * s], e3 = d[6 * s], e4 = d[8 * s];
  o[0] = 2.f * e0 - e1 - 2.f * e2 + e3;
  o[os] = -2.f * e1 - e2 + e3;
  o[2 * os] = 2.f * e1 - 3.f * e2 + e3;
  o[3 * os] = e3 - e1;
  o[4 * os] = 2.f * e1 - e2 - 2.f * e3 + e4;
  for (int i = 0; i < 4; ++i) o[(5 + i) * os] = d[(2 * i + 1) * s];
}

// m[0..8] -> 4 outputs: A^T of F(4, 2) on the first 5, plus the odd products.
inline void ats2(const float* m, int64_t s, float* o, int64_t os) {
  const float m0 = m[0], m1 = m[s], m2 = m[2 * s], m3 = m[3 * s], m4 = m[4 * s];
  o[0] = m0 + m1 + m2 + m3 + m[5 * s];
  o[os] = m1 - m2 + 2.f * m3 + m[6 * s];
  o[2 * os] = m1 + m2 + 4.f * m3 + m[7 * s];
  o[3 * os] = m1 - m2 + 8.f * m3 + m4 + m[8 * s];
}

// taps g[0..2] -> 9: G of F(4, 2) on (g0, g2), then g1 for each odd position.
inline void gts2(const double* g, int64_t s, double* o, int64_t os) {
  const double g0 = g[0], g1 = g[s], g2 = g[2 * s];
  o[0] = g0 / 2;
  o[os] = -(g0 + g2) / 2;
  o[2 * os] = (g2 - g0) / 6;
  o[3 * os] = (g0 + 2 * g2) / 6;
  o[4 * os] = g2;
  for (int i = 0; i < 4; ++i) o[(5 + i) * os] = g1;
}

template <int M, int S>
inline void bt(const float* d, int64_t s, float* o, int64_t os) {
  if constexpr (S == 2) bts2(d, s, o, os);
  else if constexpr (M == 4) bt4(d, s, o, os);
  else bt2(d, s, o, os);
}
template <int M, int S>
inline void at(const float* m, int64_t s, float* o, int64_t os) {
  if constexpr (S == 2) ats2(m, s, o, os);
  else if constexpr (M == 4) at4(m, s, o, os);
  else at2(m, s, o, os);
}
template <int M, int S>
inline void gt(const double* g, int64_t s, double* o, int64_t os) {
  if constexpr (S == 2) gts2(g, s, o, os);
  else if constexpr (M == 4) gt4(g, s, o, os);
  else gt2(g, s, o, os);
}

}  // namespace

template <int M, int S>
bool Winograd<M, S>::supports(const FusedConvParams& p) {
  const auto f32_or_bf16 = [](DType d) { return d == DType::f32 || d == DType::bf16; };
  const bool f32 = p.precision == ConvPrecision::f32 && p.x_dtype == DType::f32 && p.y_dtype == DType::f32 &&
                   p.r_dtype == DType::f32;
  const bool bf16 = p.precision == ConvPrecision::bf16 && S == 1 && p.nhwc && f32_or_bf16(p.x_dtype) &&
                    f32_or_bf16(p.y_dtype) && f32_or_bf16(p.r_dtype);
  return (f32 || bf16) && !p.transposed && (p.nhwc || p.block == kLanes) && p.group == 1 && p.kh == 3 && p.kw == 3 &&
         p.stride[0] == S && p.stride[1] == S && p.dilation[0] == 1 && p.dilation[1] == 1 && p.cin % kLanes == 0 &&
         p.cout % kLanes == 0;
}

// S = 1: position i * kA + j, one weight each. S = 2, with 0-4 the even positions of an axis
// and 5-8 the odd ones: even-even (25, own weights), then even-odd grouped by the even row i
// (4 positions each, weight 25 + i), odd-even grouped by the even column j (weight 30 + j),
// odd-odd (16 positions, weight 35).
template <int M, int S>
int64_t Winograd<M, S>::position(int64_t i, int64_t j) {
  if constexpr (S == 1) {
    return i * kA + j;
  } else {
    if (i < 5 && j < 5) return i * 5 + j;
    if (i < 5) return 25 + i * 4 + (j - 5);
    if (j < 5) return 45 + j * 4 + (i - 5);
    return 65 + (i - 5) * 4 + (j - 5);
  }
}

template <int M, int S>
int64_t Winograd<M, S>::weight_index(int64_t i, int64_t j) {
  if constexpr (S == 1) {
    return i * kA + j;
  } else {
    if (i < 5 && j < 5) return i * 5 + j;
    if (i < 5) return 25 + i;
    if (j < 5) return 30 + j;
    return 35;
  }
}

template <int M, int S>
std::vector<typename Winograd<M, S>::Group> Winograd<M, S>::groups() {
  if constexpr (S == 1) return {{0, kT, 1, 0}};
  else return {{0, 25, 1, 0}, {25, 10, 4, 25}, {65, 1, 16, 35}};
}

template <int M, int S>
size_t Winograd<M, S>::prepare(const FusedConvParams& p, const float* w, const float* b) {
  p_ = p;
  tiles_h_ = (p.oh + M - 1) / M;
  tiles_w_ = (p.ow + M - 1) / M;
  tiles_ = tiles_h_ * tiles_w_;
  groups_ = groups();
  // With several threads and enough tiles, each thread takes whole chunks (transforms and a
  // single-threaded matmul on its own scratch): three fork-joins per chunk and the matmul's
  // own split cost more there (ResNet's 56x56 layer scaled 1.55x on 2 threads). Layers with
  // few tiles and many channels keep one chunk at a time, the matmul split across threads,
  // so the transformed weights are read once.
  const int64_t threads = omp_get_max_threads();
  workers_ = threads > 1 && tiles_ * p.n >= threads * kMinTilesPerWorker ? threads : 1;
  // Chunks of at most kChunkTiles, as even as they go (196 tiles: 98 + 98, not 192 + 4),
  // and at least one per worker.
  const int64_t chunk_tiles = kChunkTiles * 36 / std::max<int64_t>(kT, 36);  // stride 2: V and M per tile 81/36 larger
  int64_t chunks = (tiles_ + chunk_tiles - 1) / chunk_tiles;
  if (workers_ > 1 && p.n == 1) chunks = (std::max(chunks, workers_) + workers_ - 1) / workers_ * workers_;
  chunk_ = (tiles_ + chunks - 1) / chunks;
  tail_tiles_ = tiles_ % chunk_;
  // U[weight_index(i, j)][ci][co] = (G g G^T)[i][j] for g = w[co][ci].
  u_.assign(static_cast<size_t>(kU * p.cin * p.cout), 0.f);
  for (int64_t co = 0; co < p.cout; ++co)
    for (int64_t ci = 0; ci < p.cin; ++ci) {
      double g[9], tmp[kA * 3], u[kT];
      for (int i = 0; i < 9; ++i) g[i] = w[(co * p.cin + ci) * 9 + i];
      for (int j = 0; j < 3; ++j) gt<M, S>(g + j, 3, tmp + j, 3);  // columns: tmp [A][3]
      for (int i = 0; i < kA; ++i) gt<M, S>(tmp + i * 3, 1, u + i * kA, 1);  // rows: u [A][A]
      for (int64_t i = 0; i < kA; ++i)  // (positions sharing a weight write the same value)
        for (int64_t j = 0; j < kA; ++j)
          u_[static_cast<size_t>((weight_index(i, j) * p.cin + ci) * p.cout + co)] = static_cast<float>(u[i * kA + j]);
    }
  bias_.assign(static_cast<size_t>(p.cout), 0.f);
  if (b) std::copy(b, b + p.cout, bias_.begin());
  bf16_ = p.precision == ConvPrecision::bf16;
  if (bf16_) {
    u_bf16_.resize(u_.size());
    std::transform(u_.begin(), u_.end(), u_bf16_.begin(), f32_to_bf16);
    BufferVector<float>().swap(u_);
  }
  const size_t v_elem = bf16_ ? sizeof(uint16_t) : sizeof(float);
  fast16_ = S == 1 && p.nhwc && p.cin % 16 == 0 && (bf16_ ? kBf16Vectorized : kVector16);
#if defined(EP_WINOGRAD_SMALL)
  small_ = M == 2 && S == 1 && workers_ == 1 && tiles_ <= kSmallTiles && !bf16_;
#endif
  if (small_) {
    // Panels of 16 output channels (the last of 8 when Cout is an odd multiple of 8), each
    // Cin x width contiguous; then U itself is not kept.
    packed_.assign(u_.size(), 0.f);
    for (int64_t u = 0; u < kU; ++u)
      for (int64_t col = 0; col < p.cout; col += 16) {
        const int64_t width = std::min<int64_t>(16, p.cout - col);
        float* dst = packed_.data() + u * p.cin * p.cout + col * p.cin;
        for (int64_t ci = 0; ci < p.cin; ++ci)
          std::copy_n(u_.data() + (u * p.cin + ci) * p.cout + col, width, dst + ci * width);
      }
    BufferVector<float>().swap(u_);
    v_bytes_ = arena_align(static_cast<size_t>(kT * chunk_ * p.cin) * sizeof(float));
    m_bytes_ = arena_align(static_cast<size_t>(kT * chunk_ * p.cout) * sizeof(float));
    pad_bytes_ = 0;
    return v_bytes_ + m_bytes_;
  }

  dnnl::engine& eng = onednn::cpu_engine();
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  using tag = memory::format_tag;
  const auto f32 = memory::data_type::f32, in_dt = bf16_ ? memory::data_type::bf16 : f32;
  wei_.clear();
  for (const Group& g : groups_) {
    void* u = bf16_ ? static_cast<void*>(u_bf16_.data() + g.u0 * p.cin * p.cout)
                    : static_cast<void*>(u_.data() + g.u0 * p.cin * p.cout);
    wei_.emplace_back(memory::desc({g.batch, p.cin, p.cout}, in_dt, tag::abc), eng, u);
  }
  // Per chunk size, one primitive per group; per worker, its own memories (handles set per
  // run) and arguments.
  auto make = [&](int64_t tiles, Matmul& mm) {
    mm.workers.resize(static_cast<size_t>(workers_));
    for (size_t gi = 0; gi < groups_.size(); ++gi) {
      const Group& g = groups_[gi];
      const memory::desc s_md({g.batch, g.rows * tiles, p.cin}, in_dt, tag::abc);
      const memory::desc d_md({g.batch, g.rows * tiles, p.cout}, f32, tag::abc);
      const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(s_md, wei_[gi].get_desc(), d_md), attr, eng);
      if (onednn::is_reference_impl(pd.impl_info_str())) throw dnnl::error(dnnl_unimplemented, "reference matmul");
      mm.prims.emplace_back(pd);
      pad_bytes_ = std::max(pad_bytes_, pd.scratchpad_desc().get_size());
      for (std::vector<onednn::RunMemories>& wk : mm.workers)
        wk.push_back(onednn::run_memories(s_md, d_md, pd.scratchpad_desc(), {{DNNL_ARG_WEIGHTS, wei_[gi]}}));
    }
  };
  make(chunk_, full_);
  if (tail_tiles_) make(tail_tiles_, tail_);
  v_bytes_ = arena_align(static_cast<size_t>(kT * chunk_ * p.cin) * v_elem);
  m_bytes_ = arena_align(static_cast<size_t>(kT * chunk_ * p.cout) * sizeof(float));
  pad_bytes_ = arena_align(pad_bytes_);
  return static_cast<size_t>(workers_) * (v_bytes_ + m_bytes_ + pad_bytes_);
}

template <int M, int S>
int64_t Winograd<M, S>::pixel_offset(int64_t img, int64_t h, int64_t w, int64_t block, int64_t channels, int64_t height,
                                  int64_t width) const {
  if (p_.block) return (((img * (channels / kLanes) + block) * height + h) * width + w) * kLanes;
  return ((img * height + h) * width + w) * channels + block * kLanes;
}

template <int M, int S>
void Winograd<M, S>::input_transform(const void* x, int64_t img, int64_t t0, int64_t count, void* v) const {
  const FusedConvParams& p = p_;
  const int64_t blocks = p.cin / kLanes, pos_stride = count * p.cin;  // V is [A*A][count][Cin]
  const bool par = count * blocks > 8 && omp_get_max_threads() > 1;
  // Neighbouring iterations read neighbouring memory: in NHWC the channel blocks of a pixel,
  // in NCHW8c the tiles of a block's plane.
  const bool block_major = p.block != 0;
#pragma omp parallel for if (par) schedule(static)
  for (int64_t it = 0; it < count * blocks; ++it) {
    const int64_t t = block_major ? it % count : it / blocks, cb = block_major ? it / count : it % blocks;
    const int64_t tile = t0 + t, iy0 = tile / tiles_w_ * M * S - p.pad_begin[0],
                ix0 = tile % tiles_w_ * M * S - p.pad_begin[1];
    alignas(32) float d[kA][kA][kLanes], tmp[kA][kA][kLanes];
    for (int64_t i = 0; i < kA; ++i)
      for (int64_t j = 0; j < kA; ++j) {
        const int64_t iy = iy0 + i, ix = ix0 + j;
        if (iy < 0 || iy >= p.h || ix < 0 || ix >= p.w) std::memset(d[i][j], 0, sizeof(d[i][j]));
        else load_lanes(x, p.x_dtype, pixel_offset(img, iy, ix, cb, p.cin, p.h, p.w), d[i][j]);
      }
    for (int64_t j = 0; j < kA; ++j)
#pragma omp simd
      for (int64_t l = 0; l < kLanes; ++l) bt<M, S>(&d[0][j][l], kA * kLanes, &tmp[0][j][l], kA * kLanes);
    const int64_t out = t * p.cin + cb * kLanes;
    for (int64_t i = 0; i < kA; ++i) {
      alignas(32) float row[kA][kLanes];
#pragma omp simd
      for (int64_t l = 0; l < kLanes; ++l) bt<M, S>(&tmp[i][0][l], kLanes, &row[0][l], kLanes);
      for (int64_t j = 0; j < kA; ++j)
        store_lanes(row[j], v, bf16_ ? DType::bf16 : DType::f32, out + position(i, j) * pos_stride);
    }
  }
}

#if defined(__AVX512F__)
// B^T d over kA registers (S = 1), the same sums as bt4 / bt2.
template <int M>
inline void bt_v16(const __m512* d, __m512* o) {
  if constexpr (M == 4) {
    const __m512 four = _mm512_set1_ps(4.f), five = _mm512_set1_ps(5.f), two = _mm512_set1_ps(2.f);
    o[0] = _mm512_fmadd_ps(four, d[0], _mm512_fnmadd_ps(five, d[2], d[4]));
    o[1] = _mm512_fnmadd_ps(four, _mm512_add_ps(d[1], d[2]), _mm512_add_ps(d[3], d[4]));
    o[2] = _mm512_fmadd_ps(four, _mm512_sub_ps(d[1], d[2]), _mm512_sub_ps(d[4], d[3]));
    o[3] = _mm512_fmadd_ps(two, _mm512_sub_ps(d[3], d[1]), _mm512_sub_ps(d[4], d[2]));
    o[4] = _mm512_fnmadd_ps(two, _mm512_sub_ps(d[3], d[1]), _mm512_sub_ps(d[4], d[2]));
    o[5] = _mm512_fmadd_ps(four, d[1], _mm512_fnmadd_ps(five, d[3], d[5]));
  } else {
    o[0] = _mm512_sub_ps(d[0], d[2]);
    o[1] = _mm512_add_ps(d[1], d[2]);
    o[2] = _mm512_sub_ps(d[2], d[1]);
    o[3] = _mm512_sub_ps(d[1], d[3]);
  }
}
#endif

template <int M, int S>
void Winograd<M, S>::input_transform16(const void* x, int64_t img, int64_t t0, int64_t count, void* v) const {
#if defined(__AVX512F__)
  if constexpr (S == 1) {
    const FusedConvParams& p = p_;
    const int64_t blocks = p.cin / 16, pos_stride = count * p.cin;  // V is [A*A][count][Cin], f32 or bf16
    const bool par = count * blocks > 8 && omp_get_max_threads() > 1;
    const bool x16 = p.x_dtype == DType::bf16;
    [[maybe_unused]] auto* vv = static_cast<uint16_t*>(v);
    auto* vf = static_cast<float*>(v);
#pragma omp parallel for if (par) schedule(static)
    for (int64_t it = 0; it < count * blocks; ++it) {
      const int64_t t = it / blocks, cb = it % blocks;
      const int64_t tile = t0 + t, iy0 = tile / tiles_w_ * M - p.pad_begin[0], ix0 = tile % tiles_w_ * M - p.pad_begin[1];
      // The columns the next tile adds, a tile ahead: without it the loads of a layer's input
      // (9.8 MB at 160x160x96) waited on memory, the detector's two such transforms 0.98 ->
      // 0.65 ms each (Zen 5, one thread).
      if (cb == 0) {
        const int64_t px0 = ix0 + kA, px1 = std::min(ix0 + kA + M, p.w);
        if (px0 >= 0 && px0 < px1)
          for (int64_t i = 0; i < kA; ++i) {
            const int64_t iy = iy0 + i;
            if (iy < 0 || iy >= p.h) continue;
            const char* a = static_cast<const char*>(x) + ((img * p.h + iy) * p.w + px0) * p.cin * dtype_size(p.x_dtype);
            const int64_t bytes = (px1 - px0) * p.cin * static_cast<int64_t>(dtype_size(p.x_dtype));
            for (int64_t b = 0; b < bytes; b += 64) _mm_prefetch(a + b, _MM_HINT_T0);
          }
      }
      __m512 tmp[kA][kA];
      for (int64_t j = 0; j < kA; ++j) {
        __m512 col[kA];
        const int64_t ix = ix0 + j;
        for (int64_t i = 0; i < kA; ++i) {
          const int64_t iy = iy0 + i;
          if (iy < 0 || iy >= p.h || ix < 0 || ix >= p.w) {
            col[i] = _mm512_setzero_ps();
          } else {
            const int64_t off = ((img * p.h + iy) * p.w + ix) * p.cin + cb * 16;
            col[i] = x16 ? _mm512_castsi512_ps(_mm512_maskz_slli_epi32(0xFFFF,
                               _mm512_maskz_cvtepu16_epi32(0xFFFF, _mm256_loadu_si256(
                                   reinterpret_cast<const __m256i*>(static_cast<const uint16_t*>(x) + off))),
                               16))
                         : _mm512_loadu_ps(static_cast<const float*>(x) + off);
          }
        }
        __m512 o[kA];
        bt_v16<M>(col, o);
        for (int64_t i = 0; i < kA; ++i) tmp[i][j] = o[i];
      }
      const int64_t out = t * p.cin + cb * 16;
      for (int64_t i = 0; i < kA; ++i) {
        __m512 o[kA];
        bt_v16<M>(tmp[i], o);
        for (int64_t j = 0; j < kA; ++j) {
#if defined(__AVX512BF16__) && defined(__AVX512VL__)
          if (bf16_) {
            const __m256bh h = _mm512_cvtneps_pbh(o[j]);
            std::memcpy(vv + out + (i * kA + j) * pos_stride, &h, sizeof(h));
            continue;
          }
#endif
          _mm512_storeu_ps(vf + out + (i * kA + j) * pos_stride, o[j]);
        }
      }
    }
    return;
  }
#endif
  input_transform(x, img, t0, count, v);
}

template <int M, int S>
void Winograd<M, S>::output_transform(const float* m, int64_t img, int64_t t0, int64_t count, void* y,
                                   const void* r) const {
  // Conv + bias, then the post-op chain on the tile (residual taps gathered beside it), then
  // the tile's pixels inside the output are written.
  const FusedConvParams& p = p_;
  const int64_t blocks = p.cout / kLanes, pos_stride = count * p.cout;  // the products are [A*A][count][Cout]
  const bool par = count * blocks > 8 && omp_get_max_threads() > 1;
  const bool block_major = p.block != 0;  // as in input_transform
#pragma omp parallel for if (par) schedule(static)
  for (int64_t it = 0; it < count * blocks; ++it) {
    const int64_t t = block_major ? it % count : it / blocks, ob = block_major ? it / count : it % blocks;
    const int64_t tile = t0 + t, oy0 = tile / tiles_w_ * M, ox0 = tile % tiles_w_ * M;
    alignas(32) float mm[kA][kA][kLanes], tmp[M][kA][kLanes], o[M][M][kLanes], res[M][M][kLanes];
    const float* src = m + t * p.cout + ob * kLanes;
    for (int64_t i = 0; i < kA; ++i)
      for (int64_t j = 0; j < kA; ++j) std::memcpy(mm[i][j], src + position(i, j) * pos_stride, sizeof(mm[i][j]));
    for (int64_t j = 0; j < kA; ++j)
#pragma omp simd
      for (int64_t l = 0; l < kLanes; ++l) at<M, S>(&mm[0][j][l], kA * kLanes, &tmp[0][j][l], kA * kLanes);
    for (int64_t i = 0; i < M; ++i)
#pragma omp simd
      for (int64_t l = 0; l < kLanes; ++l) at<M, S>(&tmp[i][0][l], kLanes, &o[i][0][l], kLanes);
    const float* bias = bias_.data() + ob * kLanes;
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < M; ++j)
#pragma omp simd
        for (int64_t l = 0; l < kLanes; ++l) o[i][j][l] += bias[l];
    const int64_t rows = std::min<int64_t>(M, p.oh - oy0), cols = std::min<int64_t>(M, p.ow - ox0);
    if (!p.post_ops.empty()) {
      if (r) {  // pixels past the output's edge add zero (they are not written)
        std::memset(res, 0, sizeof(res));
        for (int64_t i = 0; i < rows; ++i)
          for (int64_t j = 0; j < cols; ++j)
            load_lanes(r, p.r_dtype, pixel_offset(img, oy0 + i, ox0 + j, ob, p.cout, p.oh, p.ow), res[i][j]);
      }
      for (const PostOp& op : p.post_ops) apply_post_op_span(op, &o[0][0][0], r ? &res[0][0][0] : nullptr, M * M * kLanes);
    }
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j)
        store_lanes(o[i][j], y, p.y_dtype, pixel_offset(img, oy0 + i, ox0 + j, ob, p.cout, p.oh, p.ow));
  }
}

template <int M, int S>
void Winograd<M, S>::small_matmul(const float* v, float* m, int64_t count) const {
#if defined(EP_WINOGRAD_SMALL)
  // M[k] = V[k] U[k] for each position k: one item per (position, panel of 16 channels).
  const int64_t cin = p_.cin, cout = p_.cout, panels = (cout + 15) / 16;
  const bool par = omp_get_max_threads() > 1 && kT * panels > 1;
#pragma omp parallel for if (par) schedule(static)
  for (int64_t item = 0; item < kT * panels; ++item) {
    const int64_t k = item / panels, col = item % panels * 16;
    const float* a = v + k * count * cin;
    const float* b = packed_.data() + k * cin * cout + col * cin;
    float* c = m + k * count * cout + col;
    if (cout - col >= 16) small_panel<2>(a, cin, count, b, cin, c, cout);
    else small_panel<1>(a, cin, count, b, cin, c, cout);
  }
#else
  (void)v, (void)m, (void)count;
#endif
}

template <int M, int S>
void Winograd<M, S>::run_chunk(const void* x, void* y, const void* r, int64_t img, int64_t t0, int64_t worker,
                            char* scratch) const {
  const int64_t count = std::min(chunk_, tiles_ - t0);  // the last chunk may be the tail
  char* base = scratch + static_cast<size_t>(worker) * (v_bytes_ + m_bytes_ + pad_bytes_);
  char* v = base;
  float* m = reinterpret_cast<float*>(base + v_bytes_);
  const size_t v_elem = bf16_ ? sizeof(uint16_t) : sizeof(float);
  if (fast16_) input_transform16(x, img, t0, count, v);
  else input_transform(x, img, t0, count, v);
  if (small_) {
    small_matmul(reinterpret_cast<const float*>(v), m, count);
  } else {
    const Matmul& mm = count == chunk_ ? full_ : tail_;
    const std::vector<onednn::RunMemories>& wk = mm.workers[static_cast<size_t>(worker)];
    for (size_t gi = 0; gi < groups_.size(); ++gi) {
      const int64_t pos0 = groups_[gi].pos0;
      wk[gi].src.set_data_handle(v + static_cast<size_t>(pos0 * count * p_.cin) * v_elem);
      wk[gi].dst.set_data_handle(m + pos0 * count * p_.cout);
      if (wk[gi].pad) wk[gi].pad.set_data_handle(base + v_bytes_ + m_bytes_);
      onednn::execute(mm.prims[gi], wk[gi].args);
    }
  }
  output_transform(m, img, t0, count, y, r);
}

template <int M, int S>
void Winograd<M, S>::run(const void* x, void* y, const void* r, void* scratch) const {
  char* base = static_cast<char*>(scratch);
  const int64_t per_image = (tiles_ + chunk_ - 1) / chunk_;
  if (workers_ > 1) {  // whole chunks per thread; the transforms and matmul inside run on it alone
#pragma omp parallel for schedule(static) num_threads(workers_)
    for (int64_t item = 0; item < p_.n * per_image; ++item)
      run_chunk(x, y, r, item / per_image, item % per_image * chunk_, omp_get_thread_num(), base);
  } else {
    for (int64_t item = 0; item < p_.n * per_image; ++item)
      run_chunk(x, y, r, item / per_image, item % per_image * chunk_, 0, base);
  }
}

template class Winograd<4>;
template class Winograd<2>;
template class Winograd<4, 2>;

}  // namespace ep::kernels
