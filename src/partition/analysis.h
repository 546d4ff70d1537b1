// What the splitter needs to know about a model: its nodes in topological order, the
// tensors each cut would send, which cuts keep the shards numerically identical to the
// whole model, and measured per-node times on a device (a core group running N threads).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "edgepipe/session.h"
#include "edgepipe/status.h"

namespace ep::partition {

struct TensorSite {
  std::string name;
  DType dtype = DType::undefined;
  Shape shape;
  int64_t bytes = 0;
  long producer = -1;     // node index, -1 for a graph input
  long last_use = -1;     // last consuming node, -1 when none
  std::vector<long> consumers;  // node indices, ascending
  bool graph_output = false;
};

struct ModelAnalysis {
  std::vector<std::string> nodes;     // original node names (ir::Node::name), topological order
  std::vector<std::string> ops;       // op type per node
  std::vector<TensorSite> tensors;    // every non-constant tensor
  std::vector<std::vector<size_t>> crossing;  // [position 0..N]: tensors crossing that cut
  std::vector<int64_t> cut_bytes;     // [position]
  std::vector<bool> cut_allowed;      // [position]
  std::vector<std::string> cut_reason;  // [position]: why a cut is not allowed ("" if it is)
  std::vector<std::string> graph_inputs, graph_outputs;
};

// Binds `shapes`, infers every tensor's shape, and marks the cuts that only cross tensors the
// optimized whole model also materializes: no cut lands between a Conv and what fusion folds
// into it (BatchNorm, activation, residual Add, per-channel affine), and none sends a tensor
// that constant folding computes at load time.
Result<ModelAnalysis> analyze_model(const Model& model, const std::map<std::string, Shape>& shapes);

// Tensors (indices into a.tensors) a shard [q, p) reads from the frame and writes to it.
std::vector<size_t> shard_inputs(const ModelAnalysis& a, size_t q, size_t p);
std::vector<size_t> shard_outputs(const ModelAnalysis& a, size_t q, size_t p);

struct Device {
  int threads = 1;
  std::vector<int> cores;  // the cores the stage thread (and its OpenMP threads) is pinned to
};

struct NodeTimes {
  std::vector<double> node_s;   // per original node: the optimized step that bears its name
  double whole_s = 0;           // the whole model, lower quartile of the runs
};

// Profiles the optimized whole model on `device` (pinned, its thread count) and maps the
// step times back to the original nodes: a fused node's time to the Conv whose name it
// keeps, absorbed nodes 0, inserted layout transposes to the neighbouring node before them.
Result<NodeTimes> profile_nodes(const Model& model, const ModelAnalysis& a, const std::map<std::string, Shape>& shapes,
                                const Device& device, int iterations);

// What cutting costs: a shard's edges are NCHW while the kernels run NHWC, so a stage that
// starts at a cut converts every rank-4 tensor crossing it to NHWC, and one that ends there
// converts back. Each distinct conversion is timed with the Transpose kernel a session
// picks, on `device` (edge_cost.cc).
struct EdgeCosts {
  std::vector<double> in_s, out_s;  // [position], seconds; 0 where the cut is not allowed
};
Result<EdgeCosts> measure_edge_costs(const ModelAnalysis& a, const Device& device);

// How much the devices slow each other when each runs the whole model at the same time
// (shared caches and memory): median concurrent time / median alone time, >= 1.
Result<double> measure_contention(const Model& model, const std::map<std::string, Shape>& shapes,
                                  const std::vector<Device>& devices, int iterations);

// The median of `v` (0 when empty): what the profiler and `bench PLAN_DIR` report.
double median(std::vector<double> v);

// Pins the calling thread to `cores` (no-op when empty).
Status pin_thread(const std::vector<int>& cores);

}  // namespace ep::partition
