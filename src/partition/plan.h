// A partition plan: the shards (plain ONNX files beside plan.json), the device of each
// stage, the tensors crossing each cut, and the predicted times. plan.json is untrusted
// when read back: sizes, names and paths are validated (paths stay inside the plan folder).
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "edgepipe/status.h"
#include "edgepipe/tensor.h"
#include "partition/analysis.h"
#include "partition/splitter.h"

namespace ep::partition {

inline constexpr int kPlanVersion = 1;
inline constexpr size_t kMaxPlanBytes = size_t{16} << 20;
inline constexpr size_t kMaxStages = 64;
inline constexpr size_t kMaxTensorsPerStage = 4096;
// A frame holds every tensor between stages; the runner allocates stages + 1 frames.
inline constexpr int64_t kMaxFrameBytes = int64_t{4} << 30;

struct PlanTensor {
  std::string name;
  DType dtype = DType::undefined;
  Shape shape;
  int64_t bytes = 0;
};

struct PlanStage {
  std::string shard;  // file name inside the plan folder
  Device device;
  std::string first_node, last_node;
  size_t num_nodes = 0;
  double predicted_ms = 0;
  std::vector<PlanTensor> inputs, outputs;
};

struct PlanCut {
  std::string after_node;
  std::vector<PlanTensor> tensors;  // everything a hop at this cut carries
  int64_t bytes = 0;
  double predicted_link_ms = 0;
};

struct Plan {
  std::string source_model;  // as given to `partition`; informational
  std::map<std::string, Shape> input_shapes;
  std::string objective;  // "throughput" or "latency"
  Link link;
  double contention = 1.0;
  double whole_ms = 0;  // the whole model on stage 0's device, measured while profiling
  double predicted_bottleneck_ms = 0, predicted_latency_ms = 0;
  std::string cut_rule;
  // How the runner hands rank-4 tensors between stages: "nhwc", the layout the convolutions
  // run in (no conversion at the cut), or "nchw", as the shards declare them (what another
  // runtime or a remote node gets; each side converts).
  std::string handover_layout = "nhwc";
  std::vector<PlanStage> stages;
  std::vector<PlanCut> cuts;
  std::vector<PlanTensor> graph_inputs, graph_outputs;
};

// Builds the plan for `split` (bounds over a.nodes) and writes shard_<k>.onnx files and
// plan.json into `dir` (created if missing).
Result<Plan> write_plan(const std::string& model_path, const ModelAnalysis& a, const Split& split,
                        const std::vector<Device>& devices, const CostTable& costs, Plan header, const std::string& dir);

// Whether a tensor between stages travels in NHWC: the plan hands over in "nhwc", the tensor
// is rank 4 and is neither a graph input nor a graph output (those keep the model's layout).
bool handed_over_nhwc(const Plan& p, const PlanTensor& t);
// Stage k's inputs and outputs that travel in NHWC (its SessionOptions::nhwc_io).
std::set<std::string> stage_nhwc_io(const Plan& p, size_t k);

// Reads and validates dir/plan.json; every shard file must exist inside `dir`.
Result<Plan> read_plan(const std::string& dir);
Result<Plan> parse_plan(const std::string& json_text, const std::string& dir);
std::string plan_to_json(const Plan& p);

}  // namespace ep::partition
