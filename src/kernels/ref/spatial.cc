#include "kernels/ref/spatial.h"

#include <algorithm>

namespace ep::kernels::ref {
namespace {

// Sizes past this are certainly bogus and would overflow index arithmetic.
constexpr int64_t kMaxDim = int64_t{1} << 40;

Result<std::vector<int64_t>> read_per_dim(const PrepareContext& ctx, const char* name, size_t rank, int64_t fallback,
                                          int64_t min_value) {
  EP_ASSIGN_OR_RETURN(std::vector<int64_t> v, ctx.node().attr_ints(name, std::vector<int64_t>(rank, fallback)));
  if (v.size() != rank) return ctx.error(name, " has ", v.size(), " values, expected ", rank);
  for (int64_t x : v)
    if (x < min_value || x > kMaxDim) return ctx.error(name, " value ", x, " is out of range");
  return v;
}

}  // namespace

Window Window::padded_to_3d() const {
  Window w;
  w.rank = kMaxSpatial;
  const size_t lead = kMaxSpatial - rank;
  w.kernel.assign(lead, 1);
  w.strides.assign(lead, 1);
  w.dilations.assign(lead, 1);
  w.pad_begin.assign(lead, 0);
  w.pad_end.assign(lead, 0);
  w.kernel.insert(w.kernel.end(), kernel.begin(), kernel.end());
  w.strides.insert(w.strides.end(), strides.begin(), strides.end());
  w.dilations.insert(w.dilations.end(), dilations.begin(), dilations.end());
  w.pad_begin.insert(w.pad_begin.end(), pad_begin.begin(), pad_begin.end());
  w.pad_end.insert(w.pad_end.end(), pad_end.begin(), pad_end.end());
  w.auto_pad = auto_pad;
  return w;
}

Result<Window> read_window(const PrepareContext& ctx, size_t rank, std::vector<int64_t> kernel, bool allow_dilations) {
  if (rank < 1 || rank > kMaxSpatial)
    return ctx.unsupported_error(rank, " spatial dims (supported: 1 to ", kMaxSpatial, ")");
  Window w;
  w.rank = rank;
  if (kernel.size() != rank) return ctx.error("kernel_shape has ", kernel.size(), " values, expected ", rank);
  for (int64_t k : kernel)
    if (k < 1 || k > kMaxDim) return ctx.error("kernel size ", k, " is out of range");
  w.kernel = std::move(kernel);
  EP_ASSIGN_OR_RETURN(w.strides, read_per_dim(ctx, "strides", rank, 1, 1));
  if (allow_dilations) {
    EP_ASSIGN_OR_RETURN(w.dilations, read_per_dim(ctx, "dilations", rank, 1, 1));
  } else {
    w.dilations.assign(rank, 1);
  }
  EP_ASSIGN_OR_RETURN(std::vector<int64_t> pads, read_per_dim(ctx, "pads", 2 * rank, 0, 0));
  w.pad_begin.assign(pads.begin(), pads.begin() + rank);
  w.pad_end.assign(pads.begin() + rank, pads.end());
  EP_ASSIGN_OR_RETURN(w.auto_pad, ctx.node().attr_string("auto_pad", std::string("NOTSET")));
  if (w.auto_pad != "NOTSET" && w.auto_pad != "SAME_UPPER" && w.auto_pad != "SAME_LOWER" && w.auto_pad != "VALID")
    return ctx.error("auto_pad '", w.auto_pad, "' is not NOTSET, SAME_UPPER, SAME_LOWER or VALID");
  if (w.auto_pad != "NOTSET" && ctx.node().has_attr("pads")) {
    // Exporters sometimes write zero pads next to auto_pad; anything else is contradictory.
    for (int64_t p : pads)
      if (p != 0) return ctx.error("both auto_pad '", w.auto_pad, "' and non-zero pads are given");
  }
  return w;
}

Result<std::vector<int64_t>> forward_output_sizes(const PrepareContext& ctx, Window& w, const std::vector<int64_t>& in,
                                                  bool ceil_mode) {
  std::vector<int64_t> out(w.rank);
  for (size_t i = 0; i < w.rank; ++i) {
    if (in[i] < 0 || in[i] > kMaxDim) return ctx.error("spatial dim ", i, " size ", in[i], " is unknown or out of range");
    const int64_t s = w.strides[i], ext = w.extent(i);
    if (w.auto_pad == "SAME_UPPER" || w.auto_pad == "SAME_LOWER") {
      out[i] = (in[i] + s - 1) / s;
      const int64_t total = std::max<int64_t>(0, (out[i] - 1) * s + ext - in[i]);
      const int64_t small = total / 2;
      w.pad_begin[i] = w.auto_pad == "SAME_UPPER" ? small : total - small;
      w.pad_end[i] = total - w.pad_begin[i];
      continue;
    }
    if (w.auto_pad == "VALID") w.pad_begin[i] = w.pad_end[i] = 0;
    const int64_t span = in[i] + w.pad_begin[i] + w.pad_end[i] - ext;
    if (span < 0)
      return ctx.error("window extent ", ext, " exceeds padded input size ", in[i] + w.pad_begin[i] + w.pad_end[i],
                       " in spatial dim ", i);
    out[i] = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
    // With ceil_mode the last window must still start inside the input or its begin padding.
    if (ceil_mode && (out[i] - 1) * s >= in[i] + w.pad_begin[i]) --out[i];
  }
  return out;
}

std::vector<int64_t> spatial_3d(const std::vector<int64_t>& dims, size_t rank) {
  std::vector<int64_t> s(kMaxSpatial - rank, 1);
  s.insert(s.end(), dims.end() - static_cast<std::ptrdiff_t>(rank), dims.end());
  return s;
}

}  // namespace ep::kernels::ref
