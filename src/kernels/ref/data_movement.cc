#include "kernels/ref/data_movement.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

namespace ep::kernels::ref {

namespace {

// Where the view reads runs of contiguous elements (innermost stride 1, as in most Slices
// and in Concat-like Expands), copies them with memcpy: dims of size 1 dropped, adjacent
// dims merged where the input is contiguous across them. False (nothing done) otherwise.
bool copy_rows(const char* src, const Shape& shape, const std::vector<int64_t>& in_strides, char* dst, size_t es) {
  std::vector<int64_t> dims, strides;  // outermost first
  for (size_t d = 0; d < shape.rank(); ++d) {
    if (shape[d] == 1) continue;
    if (!dims.empty() && strides.back() == in_strides[d] * shape[d]) {
      dims.back() *= shape[d];
      strides.back() = in_strides[d];
      continue;
    }
    dims.push_back(shape[d]);
    strides.push_back(in_strides[d]);
  }
  if (dims.empty()) {
    std::memcpy(dst, src, es);
    return true;
  }
  if (strides.back() != 1) return false;
  const size_t row = static_cast<size_t>(dims.back()) * es;
  const size_t outer_rank = dims.size() - 1;
  int64_t rows = 1;
  for (size_t d = 0; d < outer_rank; ++d) rows *= dims[d];
  std::vector<int64_t> idx(outer_rank, 0);
  int64_t offset = 0;  // in elements
  for (int64_t r = 0; r < rows; ++r) {
    copy_run(dst + static_cast<size_t>(r) * row, src + static_cast<size_t>(offset) * es, row);
    for (size_t d = outer_rank; d-- > 0;) {  // odometer
      offset += strides[d];
      if (++idx[d] < dims[d]) break;
      offset -= strides[d] * dims[d];
      idx[d] = 0;
    }
  }
  return true;
}

}  // namespace

void strided_copy(const void* in, int64_t base, const Shape& shape, const std::vector<int64_t>& in_strides,
                  void* out, DType dt) {
  const size_t es = dtype_size(dt);
  if (shape.numel() == 0) return;
  if (es > 0 && copy_rows(static_cast<const char*>(in) + static_cast<size_t>(base) * es, shape, in_strides,
                          static_cast<char*>(out), es))
    return;
  const std::vector<int64_t> st[1] = {in_strides};
  dispatch_by_size(dt, [&](auto tag) {
    using U = decltype(tag);
    const U* src = static_cast<const U*>(in) + base;
    U* dst = static_cast<U*>(out);
    for_each_index(shape, st, [&](int64_t i, const int64_t* o) { dst[i] = src[o[0]]; });
  });
}

void store_scalar(DType dt, double v, void* dst) {
  if (dt == DType::f16 || dt == DType::bf16) {
    const float f = static_cast<float>(v);
    const uint16_t h = dt == DType::f16 ? f32_to_f16(f) : f32_to_bf16(f);
    std::memcpy(dst, &h, 2);
    return;
  }
  dispatch<float, double, int8_t, uint8_t, int16_t, uint16_t, int32_t, uint32_t, int64_t, uint64_t, bool>(
      dt, [&](auto tag) {
        using T = decltype(tag);
        const T t = static_cast<T>(v);
        std::memcpy(dst, &t, sizeof(T));
      });
}

std::vector<int64_t> permuted_strides(const Shape& shape, const std::vector<int64_t>& perm) {
  const std::vector<int64_t> st = strides_of(shape);
  std::vector<int64_t> out(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) out[i] = st[static_cast<size_t>(perm[i])];
  return out;
}

Result<std::vector<int64_t>> normalize_axes(const PrepareContext& ctx, std::vector<int64_t> axes, int64_t rank,
                                            std::string_view what) {
  for (int64_t& a : axes) {
    if (a < -rank || a >= rank) return ctx.error(what, " value ", a, " is out of range for rank ", rank);
    if (a < 0) a += rank;
  }
  std::vector<int64_t> sorted = axes;
  std::sort(sorted.begin(), sorted.end());
  if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) return ctx.error(what, " repeat an axis");
  return axes;
}

Status expect_static(const PrepareContext& ctx, const Shape& s, std::string_view what) {
  if (!s.is_static()) return ctx.unsupported_error(what, " shape ", s.to_string(), " is not static");
  auto n = checked_numel(s);
  if (!n.is_ok()) return ctx.error(what, " shape ", s.to_string(), ": ", n.status().message());
  return Status::ok();
}

Result<int64_t> checked_dim_mul(const PrepareContext& ctx, int64_t a, int64_t b) {
  int64_t r = 0;
  if (a < 0 || b < 0 || __builtin_mul_overflow(a, b, &r)) return ctx.error("size ", a, " x ", b, " overflows");
  return r;
}

Result<DType> dtype_from_onnx_enum(const PrepareContext& ctx, int64_t v, std::string_view what) {
  switch (v) {
    case 1: return DType::f32;
    case 2: return DType::u8;
    case 3: return DType::i8;
    case 4: return DType::u16;
    case 5: return DType::i16;
    case 6: return DType::i32;
    case 7: return DType::i64;
    case 9: return DType::boolean;
    case 10: return DType::f16;
    case 11: return DType::f64;
    case 12: return DType::u32;
    case 13: return DType::u64;
    case 16: return DType::bf16;
    case 8: return ctx.unsupported_error(what, ": string tensors are not supported");
    default: return ctx.unsupported_error(what, ": ONNX data type ", v, " is not supported");
  }
}

Result<IntsArg> ints_attr_or_input(const PrepareContext& ctx, std::string_view attr, size_t input, int input_since) {
  IntsArg out;
  const std::string key(attr);
  if (ctx.opset() < input_since) {
    if (ctx.node().has_attr(key)) {
      EP_ASSIGN_OR_RETURN(out.values, ctx.node().attr_ints(key));
      out.present = true;
    }
    return out;
  }
  if (ctx.node().has_attr(key)) return ctx.error("attribute '", attr, "' became an input at opset ", input_since);
  if (ctx.has_input(input)) {
    EP_ASSIGN_OR_RETURN(out.values, constant_ints(ctx, input, attr));
    out.present = true;
  }
  return out;
}

}  // namespace ep::kernels::ref
