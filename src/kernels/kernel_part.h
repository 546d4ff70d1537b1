// A part of a composite node (FusedConvDepthwise, FusedConvResizeAdd, FusedConvScaleAdd) as a
// node of its own, outside any graph, with the kernel prepared for it: the composites' fallback
// runs the parts in turn on the kernels a session would pick for them, and their reference is
// the parts' reference kernels.
#pragma once

#include <algorithm>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "edgepipe/arena.h"
#include "ir/graph.h"
#include "kernels/fused_conv.h"
#include "kernels/kernel.h"

namespace ep::kernels {

struct KernelPart {
  ir::Node node;
  std::unique_ptr<Kernel> kernel;
  std::vector<TensorInfo> inputs;
  TensorInfo output;
  size_t scratch = 0;
};

// Prepares `part` on the first backend of `order` whose kernel for the part's op takes it;
// the last one's error when none does.
inline Status prepare_kernel_part(KernelPart& part, int threads, std::span<const std::string_view> order) {
  Status last = unsupported(part.node.label(), ": no kernel");
  for (std::string_view backend : order) {
    const KernelDef* def = find_kernel(part.node.op_type, part.node.domain, part.node.opset, backend);
    if (!def) continue;
    PrepareContext ctx(part.node, part.inputs, threads);
    std::unique_ptr<Kernel> k = def->create();
    Status st = k->prepare(ctx);
    if (st.is_ok()) st = ctx.check_outputs();
    if (st.is_ok()) {
      part.kernel = std::move(k);
      part.output = ctx.output(0);
      part.scratch = ctx.scratch_bytes();
      return Status::ok();
    }
    last = std::move(st);
  }
  return last;
}

// The fallback of a composite node "FusedConv, then a step that reads its f32 output"
// (FusedConvResizeAdd, FusedConvScaleAdd): the node's inputs 0-2 are the convolution's, its
// output A goes to scratch, and the step reads A as its input 0 and the node's inputs from 3
// on. The composite's fast kernel, where it has one, runs instead and drop()s the parts.
class ConvThenStep {
 public:
  // Wires and prepares the parts after the node of `ctx`: the convolution (kFusedConvOp) on the
  // first of onednn, cpu, ref that takes it, then the edgepipe step `op` on the first of
  // `step_backends`. Attributes starting with `step_prefix` go to the step without it (all to
  // the convolution with an empty prefix). Sets the node's output as the step's.
  Status prepare(PrepareContext& ctx, std::string_view op, std::string_view step_prefix,
                 std::span<const std::string_view> step_backends) {
    const ir::Node& n = ctx.node();
    conv.node.name = n.name + "/conv";
    mid.name = n.name + "/conv_output";
    conv.node.op_type = kFusedConvOp;
    step.node.name = n.name + "/" + std::string(op);
    step.node.op_type = std::string(op);
    for (ir::Node* p : {&conv.node, &step.node}) {
      p->domain = kFusedConvDomain;
      p->opset = 1;
    }
    conv.node.inputs = {n.input(0), n.input(1), n.input(2)};
    conv.node.outputs = {&mid};
    step.node.inputs = {&mid};
    for (size_t i = 3; i < n.inputs.size(); ++i) step.node.inputs.push_back(n.inputs[i]);
    step.node.outputs = {n.output(0)};
    for (const auto& [key, value] : n.attrs) {
      if (!step_prefix.empty() && key.compare(0, step_prefix.size(), step_prefix) == 0)
        step.node.attrs[key.substr(step_prefix.size())] = value;
      else
        conv.node.attrs[key] = value;
    }
    conv.inputs = {ctx.input(0), ctx.input(1), ctx.has_input(2) ? ctx.input(2) : TensorInfo{}};
    static constexpr std::string_view kConv[] = {"onednn", "cpu", "ref"};
    EP_RETURN_IF_ERROR(prepare_kernel_part(conv, ctx.num_threads(), kConv));
    if (conv.output.dtype != DType::f32) return ctx.error("the convolution's output must be f32");
    mid.dtype = conv.output.dtype;
    mid.shape = conv.output.shape;
    step.inputs = {conv.output};
    for (size_t i = 3; i < ctx.num_inputs(); ++i) step.inputs.push_back(ctx.has_input(i) ? ctx.input(i) : TensorInfo{});
    EP_RETURN_IF_ERROR(prepare_kernel_part(step, ctx.num_threads(), step_backends));
    ctx.set_output(0, step.output.dtype, step.output.shape);
    return Status::ok();
  }

  // "<the convolution's implementation>, then <step>".
  std::string implementation(std::string_view step_name) const {
    const std::string c = conv.kernel ? conv.kernel->implementation() : std::string();
    return c + (c.empty() ? "" : ", then ") + std::string(step_name);
  }

  // After prepare(), where the parts run: their views, and the scratch run() needs (A first).
  void plan(PrepareContext& ctx) {
    for (size_t i = 0; i < 3; ++i) conv_in_[i] = TensorView{conv.inputs[i].dtype, conv.inputs[i].shape, nullptr};
    step_in_.assign(step.inputs.size(), TensorView{});
    for (size_t i = 0; i < step.inputs.size(); ++i)
      step_in_[i] = TensorView{step.inputs[i].dtype, step.inputs[i].shape, nullptr};
    mid_view_[0] = TensorView{mid.dtype, mid.shape, nullptr};
    mid_bytes_ = arena_align(static_cast<size_t>(mid.shape.numel()) * dtype_size(mid.dtype));
    ctx.request_scratch(mid_bytes_ + std::max(conv.scratch, step.scratch));
  }

  // Where a fast kernel runs instead: the parts' kernels are not kept.
  void drop() {
    conv.kernel.reset();
    step.kernel.reset();
  }

  // The convolution into scratch, then the step into the node's output.
  Status run(const RunContext& ctx) {
    char* scratch = static_cast<char*>(ctx.scratch);
    auto input = [&](size_t i) { return i < ctx.inputs.size() ? ctx.inputs[i].data : nullptr; };
    for (size_t i = 0; i < 3; ++i) conv_in_[i].data = input(i);
    mid_view_[0].data = scratch;
    step_in_[0].data = scratch;
    for (size_t i = 1; i < step_in_.size(); ++i) step_in_[i].data = input(i + 2);
    EP_RETURN_IF_ERROR(conv.kernel->run(RunContext{conv_in_, mid_view_, scratch + mid_bytes_}));
    return step.kernel->run(RunContext{step_in_, ctx.outputs, scratch + mid_bytes_});
  }

  KernelPart conv, step;
  ir::Value mid;  // A

 private:
  size_t mid_bytes_ = 0;
  TensorView conv_in_[3], mid_view_[1];
  std::vector<TensorView> step_in_;
};

}  // namespace ep::kernels
