// Pieces shared by the data-movement kernels (shape ops, transpose, slice, gather, ...):
// they copy elements without looking at their type, so every dtype works the same way.
#pragma once

#include <cstring>

#include <cstdint>
#include <string_view>
#include <vector>

#include "kernels/ref/common.h"

namespace ep::kernels::ref {

// The wording of constant_ints' error, for other inputs needed at prepare time: callers (and
// the backend test runner) recognise it.
inline constexpr std::string_view kMustBeConstant =
    " must be known before run (a constant or computable from static shapes)";

// Calls f(U{}) with U the unsigned integer of dt's byte size: a copy needs no more than that.
template <typename F>
void dispatch_by_size(DType dt, F&& f) {
  switch (dtype_size(dt)) {
    case 1: f(uint8_t{}); break;
    case 2: f(uint16_t{}); break;
    case 4: f(uint32_t{}); break;
    case 8: f(uint64_t{}); break;
    default: break;
  }
}

// memcpy for the short runs of strided copies and concatenations (a few elements each, as
// YOLOv5's 2-wide box slices): fixed-size moves the compiler inlines, instead of a library
// call per run.
inline void copy_run(char* dst, const char* src, size_t bytes) {
  if (bytes > 256) {
    std::memcpy(dst, src, bytes);
    return;
  }
  // Fixed-size pieces the compiler makes single moves, the last one overlapping the one before
  // (dst and src never overlap): a call to memcpy per 96-byte run (an NHWC pixel of 24 floats)
  // was most of a channel concatenation's time.
  if (bytes >= 32) {
    size_t i = 0;
    for (; i + 32 <= bytes; i += 32) std::memcpy(dst + i, src + i, 32);
    if (i < bytes) std::memcpy(dst + bytes - 32, src + bytes - 32, 32);
    return;
  }
  if (bytes >= 8) {
    size_t i = 0;
    for (; i + 8 <= bytes; i += 8) std::memcpy(dst + i, src + i, 8);
    if (i < bytes) std::memcpy(dst + bytes - 8, src + bytes - 8, 8);
    return;
  }
  if (bytes >= 4) {
    std::memcpy(dst, src, 4);
    std::memcpy(dst + bytes - 4, src + bytes - 4, 4);
    return;
  }
  for (size_t i = 0; i < bytes; ++i) dst[i] = src[i];
}

// out[i] (contiguous, `shape`) = in[base + sum_d idx_d * in_strides[d]]; offsets in elements.
// Transpose, Slice, Expand, Tile and DepthToSpace are all this one loop on different views.
void strided_copy(const void* in, int64_t base, const Shape& shape, const std::vector<int64_t>& in_strides,
                  void* out, DType dt);

// What Slice reads: out[i] (contiguous, `shape`) = in[base + sum_d idx_d * strides[d]], with
// ONNX's clamping of starts, ends and steps applied (slice.cc; the cpu Slice shares it).
struct StridedView {
  Shape shape;
  std::vector<int64_t> strides;
  int64_t base = 0;
};
Result<StridedView> slice_view(const PrepareContext& ctx);

// Checks Concat's inputs and attribute, sets its output, and returns the normalised axis
// (concat_split.cc; the cpu Concat shares it).
Result<size_t> concat_prepare(PrepareContext& ctx);

// Writes `v` converted to dt at dst (for fill values given as attributes).
void store_scalar(DType dt, double v, void* dst);

// Row-major strides of `shape`, reordered: result[i] = strides[perm[i]].
std::vector<int64_t> permuted_strides(const Shape& shape, const std::vector<int64_t>& perm);

// Normalises axes against rank; errors on out-of-range or repeated axes.
Result<std::vector<int64_t>> normalize_axes(const PrepareContext& ctx, std::vector<int64_t> axes, int64_t rank,
                                            std::string_view what = "axes");

// Error unless every dim is known and non-negative and the element count fits.
Status expect_static(const PrepareContext& ctx, const Shape& s, std::string_view what);

// a * b for dims, with an error instead of overflow.
Result<int64_t> checked_dim_mul(const PrepareContext& ctx, int64_t a, int64_t b);

// The DType of an ONNX TensorProto.DataType value (the `to` of Cast, `dtype` of EyeLike).
Result<DType> dtype_from_onnx_enum(const PrepareContext& ctx, int64_t v, std::string_view what);

// The integer values of an attribute before `input_since`, else of constant input `input`.
// `present` is false when neither is given (the caller picks the default).
struct IntsArg {
  std::vector<int64_t> values;
  bool present = false;
};
Result<IntsArg> ints_attr_or_input(const PrepareContext& ctx, std::string_view attr, size_t input, int input_since);

}  // namespace ep::kernels::ref
