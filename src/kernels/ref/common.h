// Shared pieces of the reference kernels: broadcasting, strides, dtype dispatch.
#pragma once

#include <cstdint>
#include <type_traits>
#include <vector>

#include "edgepipe/tensor.h"
#include "kernels/kernel.h"

namespace ep::kernels::ref {

// Numpy-style multidirectional broadcast of two or more shapes.
Result<Shape> broadcast_shapes(const PrepareContext& ctx, const std::vector<Shape>& shapes);

// Row-major strides, in elements.
std::vector<int64_t> strides_of(const Shape& s);

// Strides of `in` viewed as `out` under broadcasting (0 on broadcast dims). Ranks are right-aligned.
std::vector<int64_t> broadcast_strides(const Shape& in, const Shape& out);

// Calls f(T{}) with T the C++ type of dtype, for the types listed. Returns false when not listed.
template <typename... Ts, typename F>
bool dispatch(DType dt, F&& f) {
  bool done = false;
  ((!done && dt == dtype_of<Ts>() ? (f(Ts{}), done = true) : false), ...);
  return done;
}

// Iterates an N-d index over `shape`, calling f(flat_out_index, offsets...) with the offset
// of each operand given its strides. Plain and obviously right; the fast path lives elsewhere.
template <size_t N, typename F>
void for_each_index(const Shape& shape, const std::vector<int64_t> (&strides)[N], F&& f) {
  const size_t rank = shape.rank();
  const int64_t total = shape.numel();
  if (total == 0) return;
  std::vector<int64_t> idx(rank, 0);
  int64_t off[N] = {};
  for (int64_t i = 0; i < total; ++i) {
    f(i, off);
    for (size_t d = rank; d-- > 0;) {
      ++idx[d];
      for (size_t k = 0; k < N; ++k) off[k] += strides[k][d];
      if (idx[d] < shape[d]) break;
      for (size_t k = 0; k < N; ++k) off[k] -= strides[k][d] * shape[d];
      idx[d] = 0;
    }
  }
}

// Reads the constant integer tensor of input i into a vector (for shape-like inputs).
Result<std::vector<int64_t>> constant_ints(const PrepareContext& ctx, size_t i, std::string_view what);

}  // namespace ep::kernels::ref
