// A part of a composite node (FusedConvDepthwise, FusedConvResizeAdd) as a node of its own,
// outside any graph, with the kernel prepared for it: the composites' fallback runs the parts
// in turn on the kernels a session would pick for them, and their reference is the parts'
// reference kernels.
#pragma once

#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "ir/graph.h"
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

}  // namespace ep::kernels
