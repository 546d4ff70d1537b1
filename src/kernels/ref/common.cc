#include "kernels/ref/common.h"

#include <algorithm>

namespace ep::kernels::ref {

Result<Shape> broadcast_shapes(const PrepareContext& ctx, const std::vector<Shape>& shapes) {
  size_t rank = 0;
  for (const Shape& s : shapes) rank = std::max(rank, s.rank());
  std::vector<int64_t> out(rank, 1);
  for (const Shape& s : shapes) {
    const size_t off = rank - s.rank();
    for (size_t i = 0; i < s.rank(); ++i) {
      const int64_t d = s[i];
      int64_t& o = out[off + i];
      if (d == o || d == 1) continue;
      if (o == 1) {
        o = d;
        continue;
      }
      std::string all;
      for (const Shape& t : shapes) all += (all.empty() ? "" : ", ") + t.to_string();
      return ctx.error("shapes ", all, " cannot be broadcast together");
    }
  }
  return Shape(out);
}

std::vector<int64_t> strides_of(const Shape& s) {
  std::vector<int64_t> st(s.rank(), 1);
  for (size_t i = s.rank(); i-- > 1;) st[i - 1] = st[i] * s[i];
  return st;
}

std::vector<int64_t> broadcast_strides(const Shape& in, const Shape& out) {
  std::vector<int64_t> st(out.rank(), 0);
  const std::vector<int64_t> own = strides_of(in);
  const size_t off = out.rank() - in.rank();
  for (size_t i = 0; i < in.rank(); ++i) st[off + i] = in[i] == 1 ? 0 : own[i];
  return st;
}

Result<std::vector<int64_t>> constant_ints(const PrepareContext& ctx, size_t i, std::string_view what) {
  if (!ctx.has_input(i)) return ctx.error(what, " (input ", i, ") is missing");
  const TensorInfo& in = ctx.input(i);
  if (!in.constant)
    return ctx.unsupported_error(what, " (input ", i, ") must be known before run (a constant or computable from static shapes)");
  if (in.dtype != DType::i64 && in.dtype != DType::i32)
    return ctx.error(what, " (input ", i, ") has dtype ", dtype_name(in.dtype), ", expected i64 or i32");
  std::vector<int64_t> v(static_cast<size_t>(in.constant->numel()));
  const TensorView view = in.constant->view();
  for (size_t k = 0; k < v.size(); ++k) v[k] = view_get_i64(view, static_cast<int64_t>(k));
  return v;
}

}  // namespace ep::kernels::ref
