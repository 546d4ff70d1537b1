// The engine's public API: load an ONNX model, create a session bound to input shapes,
// run it with caller-provided outputs. No exception crosses this header.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "edgepipe/status.h"
#include "edgepipe/tensor.h"

namespace ep {

namespace ir {
class Graph;
}

struct IoInfo {
  std::string name;
  DType dtype = DType::undefined;
  Shape shape;                          // -1 where the model leaves a dimension open
  std::vector<std::string> dim_params;  // symbolic names of open dimensions ("" if none)
};

class Model {
 public:
  // Errors name the file: "model 'det.onnx': node 'conv_3' (Conv): ...".
  static Result<Model> load(const std::string& path);
  // `base_dir` confines external data files; "" forbids external data.
  static Result<Model> load_from_memory(const void* data, size_t size, const std::string& base_dir = "");

  std::vector<IoInfo> inputs() const;
  std::vector<IoInfo> outputs() const;
  int64_t opset() const;
  const ir::Graph& graph() const { return *graph_; }

 private:
  explicit Model(std::shared_ptr<const ir::Graph> g) : graph_(std::move(g)) {}
  std::shared_ptr<const ir::Graph> graph_;
};

struct SessionOptions {
  int threads = 1;
  // Shapes for inputs with open dimensions (or to override declared ones). Every open
  // dimension must be bound here; a symbolic name bound twice must agree.
  std::map<std::string, Shape> input_shapes;
  // Inputs whose values are fixed for the session's life (like a shape, axes or sizes
  // tensor). They are folded into the graph and no longer passed to run().
  std::map<std::string, std::shared_ptr<const Tensor>> constant_inputs;
  bool profile = false;           // time every step of run()
  bool optimize = true;           // graph rewrites (constant folding, dead code)
  std::string backend = "auto";   // "auto" picks the fastest kernel per node; "ref" forces reference kernels
  // Caps any one tensor the session computes or folds and the activation arena, checked
  // before allocating (resource_exhausted). 0: no cap. For models from untrusted sources.
  size_t memory_limit_bytes = 0;
  // Runs every f32 tensor as f64 with the reference kernels: the model's float64 oracle.
  // Inputs and outputs that were f32 become f64.
  bool reference_f64 = false;
  // Rank-4 inputs and outputs named here are passed in NHWC order (inputs()/outputs() say
  // so in their shapes), the layout the convolutions run in: a pipeline stage hands such a
  // tensor to the next without converting it to NCHW and back. Others stay as declared.
  std::set<std::string> nhwc_io;
  // Arithmetic of the convolutions: "fp32", or "bf16" (weights and activations between
  // consecutive convolutions in bf16; f32 at the graph's edges and around other ops), which
  // needs a CPU with AVX512_BF16. QDQ models run their quantized convolutions in int8 either
  // way (backend "ref" runs them as the fake-quant graph: the oracle).
  std::string precision = "fp32";
  // fp32 3x3 stride-1 convolutions: "auto" runs them as Winograd convolutions where oneDNN
  // has one (2-2.5x faster here; rounding error of the same order as the direct kernel's),
  // "direct" never does.
  std::string conv_algorithm = "auto";
  // Activations between f32 convolutions: "off" keeps them in NHWC; "on" in oneDNN's
  // nChw8c blocks (passes/layout_blocked.cc). On an AVX2 CPU (Zen 1) blocked depthwise and
  // 1x1 layers ran 0.1-0.4 ms faster each, Winograd layers slower, whole models 0-5% slower
  // (bench/blocked_layout.sh, 2026-11-27), so NHWC is the default.
  std::string blocked_layout = "off";
  // Intermediate tensors returned after the model's own outputs, in this order (calibration,
  // debugging). Marked before any rewrite, so fusions keep them; run() stays allocation-free.
  std::vector<std::string> extra_outputs;
};

struct OpProfile {
  std::string node;
  std::string op;
  std::string kernel;  // backend that ran it
  int64_t calls = 0;
  int64_t total_ns = 0;
  std::vector<std::string> inputs, outputs;  // tensor names ("" for an absent optional input)
  std::vector<Shape> output_shapes;
  std::vector<DType> output_dtypes;  // as the step stores them (bf16 in a bf16 session's convs, ...)
  std::string implementation;        // where a backend has several: which ran (FusedConv: "onednn:jit_dw:avx512_core", "edgepipe:narrow_int8", ...)
};

class Session {
 public:
  static Result<Session> create(const Model& model, const SessionOptions& options = {});
  Session(Session&&) noexcept;
  Session& operator=(Session&&) noexcept;
  ~Session();

  // Inputs and outputs with the shapes this session was bound to (all static).
  const std::vector<IoInfo>& inputs() const;
  const std::vector<IoInfo>& outputs() const;

  // Runs with inputs and outputs in the order of inputs()/outputs(). Output views must have
  // the declared dtype and shape and point to memory the caller owns. Allocates nothing.
  Status run(std::span<const TensorView> inputs, std::span<const TensorView> outputs);
  // Convenience: allocates the outputs.
  Result<std::vector<Tensor>> run(const std::vector<Tensor>& inputs);

  // Per-node timings accumulated over runs (when options.profile), in execution order.
  std::vector<OpProfile> profile() const;
  void reset_profile();
  size_t arena_bytes() const;   // intermediate activations, planned once
  size_t num_steps() const;     // nodes that run (after folding and dead-code elimination)
  int threads() const;

 private:
  struct Impl;
  explicit Session(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ep
