// Static facts about a model at given input shapes: what `edgepipe inspect` prints.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "edgepipe/session.h"

namespace ep::runtime {

struct NodeCost {
  std::string node, op;
  int64_t flops = 0;         // multiply-adds count as 2
  int64_t output_bytes = 0;  // bytes written (the tensors a cut after this node would send)
};

struct ModelSummary {
  std::map<std::string, int> op_histogram;  // as stored in the file
  int64_t parameters = 0;                   // elements of all constant tensors in the file
  int64_t parameter_bytes = 0;
  bool shapes_bound = false;                // false when some input dims were left open
  Status shape_status;                      // why shapes could not be bound
  std::vector<IoInfo> outputs;              // with inferred shapes when bound
  std::vector<NodeCost> nodes;              // after constant folding, when bound
  int64_t total_flops = 0;
};

ModelSummary summarize(const Model& model, const std::map<std::string, Shape>& input_shapes);

}  // namespace ep::runtime
