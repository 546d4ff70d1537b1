// ONNX -> ir::Graph. The only code (with tensor_proto.cc) that sees protobuf ONNX types.
// Model bytes are untrusted: every size, index and path is validated before use.
#pragma once

#include <memory>
#include <string>

#include "edgepipe/status.h"
#include "edgepipe/tensor.h"
#include "ir/graph.h"

namespace ep::onnx_import {

inline constexpr int kMinOpset = 7;
inline constexpr int kMaxOpset = 21;
inline constexpr size_t kMaxModelBytes = size_t{2} << 30;  // protobuf's own limit

// `where` names the source in errors (a file path or "<memory>"); `base_dir` is the folder
// that external data paths are confined to ("" forbids external data).
Result<std::unique_ptr<ir::Graph>> import_model(const void* data, size_t size, const std::string& where,
                                                const std::string& base_dir);
Result<std::unique_ptr<ir::Graph>> import_model_file(const std::string& path);

// The graph outputs' element types and shapes as libonnx's shape inference derives them
// from the declared inputs, symbolic dimensions included ("?" where it cannot tell).
// Advisory, for display (`edgepipe inspect` without --shape): sessions infer shapes
// themselves by preparing every kernel. Runs only on a model that import_model_file accepts.
struct InferredOutput {
  std::string name;
  DType dtype = DType::undefined;
  std::vector<std::string> dims;  // a number, a symbolic name, or "?"
};
Result<std::vector<InferredOutput>> onnx_inferred_outputs(const std::string& path);

// A serialized TensorProto (the ONNX test-data .pb files).
Result<Tensor> parse_tensor_proto(const std::string& bytes, const std::string& where);

}  // namespace ep::onnx_import
