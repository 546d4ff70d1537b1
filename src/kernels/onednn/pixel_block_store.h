// The NHWC store of the int8 kernels that compute 16 output pixels in the vector lanes and
// up to 24 output channels as separate vectors (NarrowInt8Conv, WinogradInt16): f32 values
// [channel][16 pixels] transposed 16 channels at a time; quantized ones as 16 bytes per
// channel, four channels to a vector, each 64-byte output vector (pixel-major) picked from
// those by byte permutes (AVX512-VBMI).
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "edgepipe/dtype.h"
#include "kernels/cpu/quantize.h"

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VBMI__)
#include <immintrin.h>

#include "kernels/cpu/conv_tile.h"
#endif

namespace ep::kernels {

class PixelBlockStore {
 public:
  static constexpr int64_t kChannels = 24;

  // Output vector j of a quantized block takes byte b from pixel g / Cout, channel g % Cout
  // (g = 64 j + b), which sits at byte 16 * channel + pixel of the four-channel vectors: the
  // pair of those vectors holding it (0-1, 2-3, 4-5) and its place in the pair.
  // Quantized blocks from f32 values A as edgepipe.ScaleAdd(A, s, y_scale, y_zero_point) writes
  // them (Narrow): the kernels' set_scale_add(), whose output is then that step's.
  void set_scale_add(const cpu::QuantizeTo& q) {
    scale_add_ = true;
    quant_ = q;
  }
  bool scale_adds() const { return scale_add_; }

  void prepare(int64_t cout) {
    cout_ = cout;
    shuffles_.assign(static_cast<size_t>((16 * cout + 63) / 64), Shuffle{});
    for (size_t j = 0; j < shuffles_.size(); ++j)
      for (int64_t b = 0; b < 64; ++b) {
        const int64_t g = static_cast<int64_t>(j) * 64 + b;
        if (g >= 16 * cout) break;
        const int64_t src = g % cout * 16 + g / cout, pair = src / 128;
        shuffles_[j].index[pair][b] = static_cast<uint8_t>(src % 128);
        shuffles_[j].take[pair] |= uint64_t{1} << b;
      }
  }

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VBMI__)
  // 16 values rounded (nearest even) and saturated to u8 or i8.
  static __m128i narrow16(__m512 v, DType y) {
    const __m512i r = _mm512_cvtps_epi32(v);
    return y == DType::u8 ? _mm512_cvtusepi32_epi8(_mm512_max_epi32(r, _mm512_setzero_si512()))
                          : _mm512_cvtsepi32_epi8(r);
  }

  // edgepipe.ScaleAdd's a + a * s with y_scale (one channel's 16 pixels, s its value): the
  // multiply and the add each rounded (the _round forms, which GCC does not contract), then
  // ScaleAdd's quantizer; the bytes of an f32 output through that step.
  struct ScaleAddQuantize {
    explicit ScaleAddQuantize(const cpu::QuantizeTo& q)
        : scale(_mm512_set1_ps(q.scale)), recip(_mm512_set1_ps(q.recip())), zero(_mm512_set1_ps(q.zero)),
          lo(_mm512_set1_ps(q.lo())), hi(_mm512_set1_ps(q.hi())) {}
    __m128i operator()(__m512 a, float s) const {
      constexpr int kR = _MM_FROUND_CUR_DIRECTION;
      const __m512 v = _mm512_add_round_ps(a, _mm512_mul_round_ps(a, _mm512_set1_ps(s), kR), kR);
      return cpu::quantize16(v, scale, recip, zero, lo, hi);
    }
    __m512 scale, recip, zero, lo, hi;
  };

  // A quantized block's narrowing of one channel's 16 values, set up once per run: through
  // ScaleAdd with s where set_scale_add() was called, else narrow16 to y.
  struct Narrow {
    Narrow(const PixelBlockStore& store, DType y, const float* s)
        : scale_add(store.quant_), y(y), s(store.scale_add_ ? s : nullptr) {}
    __m128i operator()(__m512 v, int64_t oc) const { return s ? scale_add(v, s[oc]) : narrow16(v, y); }
    ScaleAddQuantize scale_add;
    DType y;
    const float* s;
  };

  // Channels 4q..4q+3's 16 bytes as one vector.
  static __m512i join4(const __m128i (&part)[4]) {
    __m512i t = _mm512_inserti32x4(_mm512_castsi128_si512(part[0]), part[1], 1);
    t = _mm512_inserti32x4(t, part[2], 2);
    return _mm512_inserti32x4(t, part[3], 3);
  }

  // The quantized block t (join4 of channels 0-3, 4-7, ...; zeros past Cout) -> np pixels at
  // out (row stride Cout).
  void store_quantized(const __m512i (&t)[kChannels / 4], char* out, int64_t np) const {
    const int64_t bytes = np * cout_;
    for (int64_t j = 0; j * 64 < bytes; ++j) {
      const Shuffle& sh = shuffles_[static_cast<size_t>(j)];
      __m512i o = _mm512_permutex2var_epi8(t[0], _mm512_load_si512(sh.index[0]), t[1]);
      o = _mm512_mask_mov_epi8(o, sh.take[1], _mm512_permutex2var_epi8(t[2], _mm512_load_si512(sh.index[1]), t[3]));
      o = _mm512_mask_mov_epi8(o, sh.take[2], _mm512_permutex2var_epi8(t[4], _mm512_load_si512(sh.index[2]), t[5]));
      if (bytes - j * 64 >= 64) _mm512_storeu_si512(out + j * 64, o);
      else _mm512_mask_storeu_epi8(out + j * 64, (~__mmask64{0}) >> (64 - (bytes - j * 64)), o);
    }
  }

  // f [channel][16 pixels] (64-byte aligned) -> np pixels at y (row stride Cout), 16 channels
  // at a time. Zen 4 and 5 retire masked stores slowly: only where the channels need them.
  void store_f32(const float* f, float* y, int64_t np) const {
    for (int64_t c0 = 0; c0 < cout_; c0 += 16) {
      const int64_t nc = std::min<int64_t>(16, cout_ - c0);
      __m512i t[16];
      for (int64_t i = 0; i < 16; ++i)
        t[i] = i < nc ? _mm512_castps_si512(_mm512_load_ps(f + (c0 + i) * 16)) : _mm512_setzero_si512();
      cpu::tile::transpose16(t);
      for (int64_t px = 0; px < np; ++px) {
        float* d = y + px * cout_ + c0;
        if (nc == 16) _mm512_storeu_ps(d, _mm512_castsi512_ps(t[px]));
        else if (nc == 8) _mm256_storeu_ps(d, _mm512_castps512_ps256(_mm512_castsi512_ps(t[px])));
        else _mm512_mask_storeu_ps(d, cpu::tile::first_lanes(nc), _mm512_castsi512_ps(t[px]));
      }
    }
  }
#endif

 private:
  struct Shuffle {
    alignas(64) uint8_t index[3][64] = {};  // vpermt2b indices into vector pairs 0-1, 2-3, 4-5
    uint64_t take[3] = {};                  // the bytes each pair supplies
  };
  int64_t cout_ = 0;
  std::vector<Shuffle> shuffles_;  // per 64 bytes of a quantized block
  bool scale_add_ = false;         // set_scale_add()
  cpu::QuantizeTo quant_;
};

}  // namespace ep::kernels
