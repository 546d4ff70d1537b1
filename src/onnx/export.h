// Writes shards of an ONNX model: sub-models made of a subset of its nodes, built from the
// original ModelProto (nodes, the initializers and Constant nodes they use, opset imports)
// so that any ONNX runtime loads them. The only place besides import.cc that sees protobuf.
#pragma once

#include <string>
#include <vector>

#include "edgepipe/status.h"
#include "edgepipe/tensor.h"

namespace ep::onnx_export {

struct ShardTensor {
  std::string name;
  DType dtype = DType::undefined;
  Shape shape;  // concrete
};

struct ShardSpec {
  std::vector<std::string> nodes;    // node names as the importer names them (ir::Node::name)
  std::vector<ShardTensor> inputs;   // graph inputs used + tensors from earlier shards
  std::vector<ShardTensor> outputs;  // tensors later shards need + graph outputs produced here
  std::string path;                  // where to write the .onnx file
};

// Reads `model_path` once and writes every shard; each is checked with onnx::checker
// (full model check with shape inference) before it is written.
Status write_shards(const std::string& model_path, const std::vector<ShardSpec>& shards);

}  // namespace ep::onnx_export
