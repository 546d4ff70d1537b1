// The float (f32) initializers of an ONNX model as plain values, and a model rewritten with
// some of their elements replaced: what weight deltas (src/dist/delta.h) are made from and
// applied to. The only protobuf ONNX types stay in src/onnx. Input bytes are untrusted.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "edgepipe/status.h"

namespace ep::onnx_weights {

struct F32Initializer {
  std::string name;
  std::vector<int64_t> dims;
  std::vector<float> values;  // C order
};

// The graph's f32 initializers, in file order. `where` names the model in errors.
Result<std::vector<F32Initializer>> read_f32(std::string_view onnx_bytes, const std::string& where);

// OK when the two models differ at most in the values of f32 initializers (same graph, same
// initializer names, types and shapes, same everything else): a weight delta can express it.
Status check_same_but_f32_values(std::string_view a, std::string_view b, const std::string& where);

struct F32Patch {
  std::string initializer;
  uint64_t elements = 0;  // must equal the initializer's element count
  std::span<const uint64_t> indices;
  std::span<const float> values;
};

// The model with each patch's elements set to its values, serialized again. Every patch is
// checked (initializer present, f32, inline data, element count, index bounds) before any is
// written. Values keep their initializer's encoding (raw_data or float_data).
Result<std::string> patch_f32(std::string_view onnx_bytes, const std::vector<F32Patch>& patches, const std::string& where);

}  // namespace ep::onnx_weights
