// Writes a QDQ model: the original ModelProto with QuantizeLinear -> DequantizeLinear pairs
// on chosen activations and DequantizeLinear(quantized constant) in place of chosen float
// initializers, the layout ONNX Runtime's QDQ fusions recognise. What to quantize and how is
// decided by src/quant; this file only edits protobuf (with export.cc, the other writer).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "edgepipe/status.h"
#include "edgepipe/tensor.h"

namespace ep::onnx_export {

// A float initializer replaced by DequantizeLinear(q, scale[, zero point 0]).
struct QdqConstant {
  std::string source;   // the float initializer in the source model
  std::string output;   // the tensor the DequantizeLinear writes; `uses` read it
  Tensor q;             // i8 (values in [-8, 7] when bits == 4) or i32 (bits == 32)
  Tensor scale;         // f32: one value, one per slice along `axis`, or blocked (x's shape, axis dim / block_size)
  int bits = 8;         // 8, 4 (written as packed INT4, opset 21) or 32
  int64_t axis = 0;     // ignored for a one-value scale
  int64_t block_size = 0;
};

// An activation quantized to u8: every consumer reads DequantizeLinear(QuantizeLinear(x));
// a graph output keeps its float value under its own name.
struct QdqActivation {
  std::string tensor;
  float scale = 1.0f;
  uint8_t zero_point = 0;
};

// Input `input` of node `node` (ir::Node::name) reads `tensor` instead.
struct QdqUse {
  std::string node;
  int input = 0;
  std::string tensor;
};

struct QdqSpec {
  std::vector<QdqConstant> constants;
  std::vector<QdqActivation> activations;
  std::vector<QdqUse> uses;
  int64_t opset = 13;  // the default-domain opset written (raised from the model's, never lowered)
  // Tensor ranks known from the caller's shape inference at the bound input shapes (raising
  // the opset of Softmax needs them; libonnx's inference stops at dynamic reshapes).
  std::map<std::string, int> ranks;
};

// The QDQ model as serialized bytes, checked with onnx::checker at opsets libonnx knows.
// Models older than `spec.opset` are raised to it where the ops allow (Slice, Clip, Squeeze,
// Unsqueeze, Softmax on the last axis, ...); an op whose meaning would change is an error.
Result<std::string> build_qdq_model(const std::string& model_path, const QdqSpec& spec);

}  // namespace ep::onnx_export
