// Window geometry shared by Conv, ConvTranspose and the pooling ops: reading and checking
// kernel_shape, strides, dilations, pads and auto_pad, and the output sizes they give.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/kernel.h"

namespace ep::kernels::ref {

// Every spatial op works on up to 3 spatial dims; lower ranks are padded with size-1 dims
// in front so one 3-D loop nest serves 1-D, 2-D and 3-D.
inline constexpr size_t kMaxSpatial = 3;

struct Window {
  size_t rank = 0;                 // spatial rank, 1..3
  std::vector<int64_t> kernel;     // per spatial dim
  std::vector<int64_t> strides;
  std::vector<int64_t> dilations;
  std::vector<int64_t> pad_begin;
  std::vector<int64_t> pad_end;
  std::string auto_pad = "NOTSET";

  int64_t extent(size_t i) const { return (kernel[i] - 1) * dilations[i] + 1; }
  // The same geometry padded to kMaxSpatial dims with leading neutral dims.
  Window padded_to_3d() const;
};

// Reads strides, dilations, pads and auto_pad for `rank` spatial dims. `kernel` comes from
// the weight shape (Conv) or the kernel_shape attribute (pools); it is checked to be >= 1.
Result<Window> read_window(const PrepareContext& ctx, size_t rank, std::vector<int64_t> kernel,
                           bool allow_dilations = true);

// Output spatial sizes of a forward window (Conv, pools); resolves SAME_* pads in place.
// ceil_mode applies to explicit and VALID pads; a window may not start in the end padding.
Result<std::vector<int64_t>> forward_output_sizes(const PrepareContext& ctx, Window& w,
                                                  const std::vector<int64_t>& in, bool ceil_mode = false);

// Spatial dims of a shape (everything after N and C), padded to 3-D with leading 1s.
std::vector<int64_t> spatial_3d(const std::vector<int64_t>& dims, size_t rank);

}  // namespace ep::kernels::ref
