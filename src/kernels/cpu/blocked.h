// Copies between channels-last activations [N, P, C] (P pixels) and oneDNN's blocked layout
// [N, ceil(C/B), P, B] (nChw8c for B = 8, nChw16c for 16). Channels past C are written as
// zero on the way in (they meet zero weights, but garbage could be NaN). Pixels are split
// in chunks across the calling thread's OpenMP team.
#pragma once

#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace ep::kernels::cpu {

inline constexpr int64_t kBlockedChunk = 128;  // pixels per task

// Calls f(img, p0, p1) for every chunk of pixels [p0, p1) of every image, in parallel
// when `parallel` and there is more than one chunk.
template <typename F>
void for_pixel_chunks(int64_t n, int64_t pixels, bool parallel, F&& f) {
  const int64_t chunks = (pixels + kBlockedChunk - 1) / kBlockedChunk;
#pragma omp parallel for schedule(static) if (parallel && n * chunks > 1 && omp_get_max_threads() > 1)
  for (int64_t t = 0; t < n * chunks; ++t) {
    const int64_t img = t / chunks, p0 = (t % chunks) * kBlockedChunk;
    f(img, p0, std::min(pixels, p0 + kBlockedChunk));
  }
}

// x [N, P, C] -> b [N, ceil(C/B), P, B].
template <int64_t B>
void to_blocked(const float* x, float* b, int64_t n, int64_t pixels, int64_t c, bool parallel = true) {
  const int64_t blocks = (c + B - 1) / B;
  for_pixel_chunks(n, pixels, parallel, [&](int64_t img, int64_t p0, int64_t p1) {
    for (int64_t blk = 0; blk < blocks; ++blk) {
      const int64_t c0 = blk * B, width = std::min<int64_t>(B, c - c0);
      float* dst = b + ((img * blocks + blk) * pixels + p0) * B;
      const float* src = x + (img * pixels + p0) * c + c0;
      if (width == B) {  // a fixed-size copy compiles to vector moves
        for (int64_t q = p0; q < p1; ++q, dst += B, src += c) std::memcpy(dst, src, B * 4);
        continue;
      }
      for (int64_t q = p0; q < p1; ++q, dst += B, src += c) {
        std::memcpy(dst, src, static_cast<size_t>(width) * 4);
        std::memset(dst + width, 0, static_cast<size_t>(B - width) * 4);
      }
    }
  });
}

// b [N, ceil(C/B), P, B] -> y [N, P, C] for the pixels [p0, p1) of image img.
template <int64_t B>
void from_blocked_chunk(const float* b, float* y, int64_t img, int64_t p0, int64_t p1, int64_t pixels, int64_t c) {
  const int64_t blocks = (c + B - 1) / B;
  for (int64_t blk = 0; blk < blocks; ++blk) {
    const int64_t c0 = blk * B, width = std::min<int64_t>(B, c - c0);
    const float* src = b + ((img * blocks + blk) * pixels + p0) * B;
    float* dst = y + (img * pixels + p0) * c + c0;
    if (width == B) {
      for (int64_t q = p0; q < p1; ++q, src += B, dst += c) std::memcpy(dst, src, B * 4);
    } else {
      for (int64_t q = p0; q < p1; ++q, src += B, dst += c) std::memcpy(dst, src, static_cast<size_t>(width) * 4);
    }
  }
}

template <int64_t B>
void from_blocked(const float* b, float* y, int64_t n, int64_t pixels, int64_t c, bool parallel = true) {
  for_pixel_chunks(n, pixels, parallel,
                   [&](int64_t img, int64_t p0, int64_t p1) { from_blocked_chunk<B>(b, y, img, p0, p1, pixels, c); });
}

}  // namespace ep::kernels::cpu
