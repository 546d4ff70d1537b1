// The kernel contract (two phases, after TFLite Micro):
//   prepare(): validates dtypes, shapes and attributes once, computes output dtypes and
//              shapes, and sizes scratch memory. All model errors are reported here.
//   run():     computes. noexcept, allocates nothing, checks only data-dependent indices.
#pragma once

#include <algorithm>
#include <memory>
#include <string>
#include <span>
#include <string_view>
#include <vector>

#include "edgepipe/status.h"
#include "edgepipe/tensor.h"
#include "ir/graph.h"

namespace ep::kernels {

// What prepare() knows about one input.
struct TensorInfo {
  DType dtype = DType::undefined;  // undefined: the optional input is omitted
  Shape shape;
  const Tensor* constant = nullptr;  // value, when known before run (initializer or folded)

  bool present() const { return dtype != DType::undefined; }
};

class PrepareContext {
 public:
  PrepareContext(const ir::Node& node, std::vector<TensorInfo> inputs, int num_threads = 1)
      : node_(node), inputs_(std::move(inputs)), outputs_(node.outputs.size()), num_threads_(num_threads) {}

  const ir::Node& node() const { return node_; }
  int opset() const { return node_.opset; }
  int num_threads() const { return num_threads_; }
  size_t num_inputs() const { return inputs_.size(); }
  size_t num_outputs() const { return outputs_.size(); }
  bool has_input(size_t i) const { return i < inputs_.size() && inputs_[i].present(); }
  const TensorInfo& input(size_t i) const { return inputs_.at(i); }
  bool output_requested(size_t i) const { return i < node_.outputs.size() && node_.outputs[i] != nullptr; }

  // An output slot the node does not list (a malformed model) is recorded, not written past
  // the end; check_outputs() then reports it, so kernels need not guard every set_output.
  void set_output(size_t i, DType dtype, Shape shape) {
    if (i >= outputs_.size()) {
      outputs_needed_ = std::max(outputs_needed_, i + 1);
      return;
    }
    outputs_[i] = TensorInfo{dtype, std::move(shape), nullptr};
  }
  // Called by whoever ran prepare(): an error when the kernel produced more outputs than the node lists.
  Status check_outputs() const {
    if (outputs_needed_ <= outputs_.size()) return Status::ok();
    return error("lists ", outputs_.size(), " outputs, the op produces ", outputs_needed_);
  }
  const TensorInfo& output(size_t i) const { return outputs_.at(i); }
  const std::vector<TensorInfo>& outputs() const { return outputs_; }

  void request_scratch(size_t bytes) { scratch_bytes_ = bytes; }
  size_t scratch_bytes() const { return scratch_bytes_; }

  // An invalid_model error prefixed with the node's label.
  template <typename... Args>
  Status error(const Args&... args) const {
    return invalid_model(node_.label(), ": ", args...);
  }
  template <typename... Args>
  Status unsupported_error(const Args&... args) const {
    return unsupported(node_.label(), ": ", args...);
  }
  // Checks the input count lies in [min, max] and required inputs are present.
  Status expect_inputs(size_t min, size_t max) const;
  // Normalises a possibly negative axis against rank; error names the attribute.
  Result<int64_t> normalize_axis(int64_t axis, int64_t rank, std::string_view what = "axis") const;

 private:
  const ir::Node& node_;
  std::vector<TensorInfo> inputs_;
  std::vector<TensorInfo> outputs_;
  int num_threads_ = 1;
  size_t scratch_bytes_ = 0;
  size_t outputs_needed_ = 0;
};

struct RunContext {
  std::span<const TensorView> inputs;  // omitted optional inputs have data == nullptr
  std::span<TensorView> outputs;       // shapes as prepared; memory owned by the caller
  void* scratch = nullptr;             // scratch_bytes() bytes, 64-byte aligned
};

class Kernel {
 public:
  virtual ~Kernel() = default;
  virtual Status prepare(PrepareContext& ctx) = 0;
  virtual Status run(const RunContext& ctx) noexcept = 0;
  // True when run() is also correct with outputs[0] in the same buffer as inputs[i] (asked
  // after prepare()): the session may then write the output over an input that nobody reads
  // afterwards, instead of into a buffer of its own.
  virtual bool may_overwrite_input(size_t i) const {
    (void)i;
    return false;
  }
  // Which implementation prepare() chose where a kernel has several (FusedConv: oneDNN's
  // implementation name, or edgepipe's own kernel); "" when there is one. `edgepipe bench
  // --steps` prints it, tests read it through OpProfile::implementation.
  virtual std::string implementation() const { return {}; }
};

using KernelFactory = std::unique_ptr<Kernel> (*)();

// One row per (op, backend). `min_opset`..`max_opset` is the range of the model's opset
// import for the op's domain that the kernel implements (it reads node.opset for
// version differences, such as Squeeze's axes moving from attribute to input at 13).
struct KernelDef {
  std::string_view op;
  std::string_view domain;  // "" = ai.onnx
  int min_opset;
  int max_opset;
  std::string_view backend;  // "ref", "onednn"
  KernelFactory create;
};

// The single registry table (kernels/registry.cc).
std::span<const KernelDef> kernel_registry();
// Finds the kernel of `backend` for a node, or nullptr.
const KernelDef* find_kernel(std::string_view op, std::string_view domain, int opset, std::string_view backend);
// True when `op` exists in the registry at any opset (for error messages).
bool op_known(std::string_view op, std::string_view domain);

// Runs one node on concrete tensors, allocating the outputs: with the reference kernel for
// constant folding, with any backend in tests. `inputs` may hold nullptr for omitted inputs.
Result<std::vector<Tensor>> evaluate_node(const ir::Node& node, std::span<const Tensor* const> inputs,
                                          std::string_view backend = "ref");

}  // namespace ep::kernels
