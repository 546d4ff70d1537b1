// Transpose as a batched 2-D transpose ([B, I, J, E] -> [B, J, I, E]) in cache-sized tiles:
// the layout changes at a graph's edges (NCHW <-> NHWC) are all of this form, and so is a
// detection head's move of whole boxes (E: trailing axes the permutation keeps).
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <type_traits>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "kernels/cpu/bf16.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/ref/data_movement.h"

namespace ep::kernels::cpu {
namespace {

class Transpose2d final : public Kernel {
 public:
  explicit Transpose2d(bool to_bf16) : to_bf16_(to_bf16) {}

  Status prepare(PrepareContext& ctx) override {
    const TensorInfo& x = ctx.input(0);
    if (to_bf16_ && x.dtype != DType::f32) return ctx.error("takes f32 input, not ", dtype_name(x.dtype));
    const size_t rank = x.shape.rank();
    std::vector<int64_t> perm;
    if (ctx.node().has_attr("perm")) {
      EP_ASSIGN_OR_RETURN(perm, ctx.node().attr_ints("perm"));
    } else {
      for (size_t a = rank; a-- > 0;) perm.push_back(static_cast<int64_t>(a));
    }
    if (perm.size() != rank) return ctx.unsupported_error("perm length");
    // perm = [0..k-1, then a rotation of the rest]: leading axes kept, then axes [k, m) and [m, rank) swapped.
    // Trailing kept axes [t, rank) travel together: one element of esize * their product bytes
    // (YOLOv5's [1,80,80,3,85] -> [1,3,80,80,85] moves 340-byte boxes).
    size_t k = 0, t = rank;
    while (k < rank && perm[k] == static_cast<int64_t>(k)) ++k;
    if (k == rank) return ctx.unsupported_error("identity");
    while (t > k && perm[t - 1] == static_cast<int64_t>(t - 1)) --t;
    const int64_t m = perm[k], tt = static_cast<int64_t>(t);
    for (size_t a = k; a < t; ++a) {
      const int64_t want = a < k + (t - static_cast<size_t>(m)) ? m + static_cast<int64_t>(a - k)
                                                                : static_cast<int64_t>(k) + static_cast<int64_t>(a - k) - (tt - m);
      if (perm[a] != want) return ctx.unsupported_error("not a batched 2-D transpose");
    }
    b_ = i_ = j_ = 1;
    int64_t block = 1;
    for (size_t a = 0; a < rank; ++a) {
      const int64_t ai = static_cast<int64_t>(a);
      (a < k ? b_ : ai < m ? i_ : ai < tt ? j_ : block) *= x.shape[a];
    }
    esize_ = dtype_size(x.dtype) * static_cast<size_t>(block);
    if (esize_ == 0) return ctx.unsupported_error("element size");
    std::vector<int64_t> out(rank);
    for (size_t a = 0; a < rank; ++a) out[a] = x.shape[static_cast<size_t>(perm[a])];
    ctx.set_output(0, to_bf16_ ? DType::bf16 : x.dtype, Shape(out));
    if (to_bf16_) {
      if (block != 1) return ctx.unsupported_error("bf16 output moves single values only");
#if !(defined(__AVX512F__) && defined(__AVX512BF16__) && defined(__AVX512VL__))
      ctx.request_scratch(static_cast<size_t>(b_ * i_ * j_) * sizeof(float));
#else
      if (i_ != 3) ctx.request_scratch(static_cast<size_t>(b_ * i_ * j_) * sizeof(float));
#endif
    }
    return Status::ok();
  }

  Status run(const RunContext& ctx) noexcept override {
    if (to_bf16_) {
      auto* y = static_cast<uint16_t*>(ctx.outputs[0].data);
#if defined(__AVX512F__) && defined(__AVX512BF16__) && defined(__AVX512VL__)
      if (i_ == 3 && j_ > 1) {  // an RGB image's planes into bf16 pixels in one pass
        for (int64_t b = 0; b < b_; ++b)
          interleave3<uint32_t, true>(static_cast<const uint32_t*>(ctx.inputs[0].data) + b * 3 * j_, y + b * 3 * j_,
                                      parallel());
        return Status::ok();
      }
#endif
      // Otherwise transposed as f32 into scratch, then rounded.
      float* t = static_cast<float*>(ctx.scratch);
      go<uint32_t>(ctx.inputs[0].data, t);
      f32_to_bf16_span(t, y, b_ * i_ * j_);
      return Status::ok();
    }
    switch (esize_) {
      case 1: go<uint8_t>(ctx.inputs[0].data, ctx.outputs[0].data); break;
      case 2: go<uint16_t>(ctx.inputs[0].data, ctx.outputs[0].data); break;
      case 4: go<uint32_t>(ctx.inputs[0].data, ctx.outputs[0].data); break;
      case 8: go<uint64_t>(ctx.inputs[0].data, ctx.outputs[0].data); break;
      default: blocks(ctx); break;
    }
    return Status::ok();
  }

 private:
  // Interleaves N planes (an image's channels into NHWC) in one pass over the columns.
  template <typename T, int N>
  void interleave(const T* x, T* y) const {
    const bool par = parallel();
    for (int64_t b = 0; b < b_; ++b) {
      const T* xb = x + b * N * j_;
      T* yb = y + b * N * j_;
#if defined(__AVX512F__)
      if constexpr (sizeof(T) == 4 && N == 3) {
        interleave3(reinterpret_cast<const uint32_t*>(xb), reinterpret_cast<uint32_t*>(yb), par);
        continue;
      }
#endif
#if defined(__AVX512VBMI__)
      if constexpr (sizeof(T) == 1 && N == 3) {
        interleave3(reinterpret_cast<const uint8_t*>(xb), reinterpret_cast<uint8_t*>(yb), par);
        continue;
      }
#endif
#pragma omp parallel for if (parallel: par) schedule(static)
      for (int64_t j = 0; j < j_; ++j)
        for (int i = 0; i < N; ++i) yb[j * N + i] = xb[i * j_ + j];
    }
  }

#if defined(__AVX512F__)
  // Three planes (an RGB image) into pixels, a vector of each plane per step (16 pixels of
  // 4-byte values, or with AVX512_VBMI 64 of bytes: a QDQ model's quantized input, 0.23 ->
  // 0.031 ms for the detector's 3x640x640 on Zen 5), each output vector put together by two
  // two-source permutes (first the a and b values, then c's).
  // kBf16: f32 values (E uint32_t) rounded to bf16 as they are stored (y: uint16_t).
  template <typename E, bool kBf16 = false>
  void interleave3(const E* x, void* yv, bool par) const {
    constexpr int kL = 64 / static_cast<int>(sizeof(E));
    using Index = std::conditional_t<sizeof(E) == 1, uint8_t, int32_t>;
    alignas(64) static const struct Tables {
      Index ab[3][kL], c[3][kL];
      Tables() {
        for (int v = 0; v < 3; ++v)
          for (int l = 0; l < kL; ++l) {
            const int g = kL * v + l, pixel = g / 3, ch = g % 3;
            ab[v][l] = static_cast<Index>(ch == 0 ? pixel : ch == 1 ? kL + pixel : 0);  // from a or from b
            c[v][l] = static_cast<Index>(ch == 2 ? kL + pixel : l);                     // c's value, else keep
          }
      }
    } t;
    auto permute = [](__m512i lo, const Index* idx, __m512i hi) {
      const __m512i i = _mm512_load_si512(idx);
      if constexpr (sizeof(E) == 4) {
        return _mm512_permutex2var_epi32(lo, i, hi);
      } else {
#if defined(__AVX512VBMI__)
        return _mm512_permutex2var_epi8(lo, i, hi);
#endif
      }
    };
    const int64_t n = j_, full = n / kL;
    const E* a = x;
    const E* b = x + n;
    const E* c = x + 2 * n;
#pragma omp parallel for if (parallel: par) schedule(static)
    for (int64_t q = 0; q < full; ++q) {
      const __m512i va = _mm512_loadu_si512(a + kL * q), vb = _mm512_loadu_si512(b + kL * q),
                    vc = _mm512_loadu_si512(c + kL * q);
      for (int v = 0; v < 3; ++v) {
        const __m512i r = permute(permute(va, t.ab[v], vb), t.c[v], vc);
        if constexpr (kBf16) {
#if defined(__AVX512BF16__) && defined(__AVX512VL__)
          const __m256bh h = _mm512_cvtneps_pbh(_mm512_castsi512_ps(r));
          _mm256_storeu_si256(reinterpret_cast<__m256i*>(static_cast<uint16_t*>(yv) + 3 * kL * q + kL * v),
                              reinterpret_cast<const __m256i&>(h));
#endif
        } else {
          _mm512_storeu_si512(static_cast<E*>(yv) + 3 * kL * q + kL * v, r);
        }
      }
    }
    for (int64_t j = full * kL; j < n; ++j)
      for (int i = 0; i < 3; ++i) {
        if constexpr (kBf16) {
          float f;
          std::memcpy(&f, x + i * n + j, 4);
          static_cast<uint16_t*>(yv)[j * 3 + i] = f32_to_bf16(f);
        } else {
          static_cast<E*>(yv)[j * 3 + i] = x[i * n + j];
        }
      }
  }
#endif

  // Large moves are split across the calling thread's OpenMP team.
  bool parallel() const {
    return static_cast<size_t>(b_ * i_ * j_) * esize_ >= kParallelBytes && omp_get_max_threads() > 1;
  }

  template <typename T>
  void go(const void* xv, void* yv) const {
    const T* x = static_cast<const T*>(xv);
    T* y = static_cast<T*>(yv);
    if (i_ == 1 || j_ == 1) {  // moves a size-1 axis only: the bytes stay in order
      std::memcpy(y, x, static_cast<size_t>(b_ * i_ * j_) * sizeof(T));
      return;
    }
    if (i_ == 3) return interleave<T, 3>(x, y);
    if (i_ == 4) return interleave<T, 4>(x, y);
    constexpr int64_t kTile = 32;
    const int64_t i_tiles = (i_ + kTile - 1) / kTile;
#pragma omp parallel for if (parallel: parallel()) schedule(static)
    for (int64_t bt = 0; bt < b_ * i_tiles; ++bt) {
      const int64_t b = bt / i_tiles, i0 = (bt % i_tiles) * kTile;
      const T* xb = x + b * i_ * j_;
      T* yb = y + b * i_ * j_;
      for (int64_t j0 = 0; j0 < j_; j0 += kTile) {
        const int64_t i1 = std::min(i_, i0 + kTile), j1 = std::min(j_, j0 + kTile);
        for (int64_t j = j0; j < j1; ++j)
          for (int64_t i = i0; i < i1; ++i) yb[j * i_ + i] = xb[i * j_ + j];
      }
    }
  }

  // Elements of any other size: written in order, each a contiguous run of the input.
  void blocks(const RunContext& ctx) const {
    const char* x = static_cast<const char*>(ctx.inputs[0].data);
    char* y = static_cast<char*>(ctx.outputs[0].data);
    const size_t e = esize_;
    const int64_t plane = i_ * j_;
#pragma omp parallel for if (parallel: parallel()) schedule(static)
    for (int64_t t = 0; t < b_ * plane; ++t) {  // output element t = (b, j, i)
      const int64_t b = t / plane, r = t % plane, j = r / i_, i = r % i_;
      ref::copy_run(y + static_cast<size_t>(t) * e, x + static_cast<size_t>(b * plane + i * j_ + j) * e, e);
    }
  }

  bool to_bf16_ = false;  // edgepipe.Transpose: f32 in, bf16 out
  int64_t b_ = 1, i_ = 1, j_ = 1;
  size_t esize_ = 4;  // bytes of one moved element (trailing kept axes included)
};

}  // namespace

std::unique_ptr<Kernel> make_transpose() { return std::make_unique<Transpose2d>(false); }
std::unique_ptr<Kernel> make_transpose_to_bf16() { return std::make_unique<Transpose2d>(true); }

}  // namespace ep::kernels::cpu
