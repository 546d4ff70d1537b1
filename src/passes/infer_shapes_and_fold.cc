#include <algorithm>

#include "kernels/kernel.h"
#include "passes/passes.h"

namespace ep::passes {
namespace {

bool foldable(const ir::Node& n) {
  if (n.op_type == "Shape" || n.op_type == "Size") return n.input(0) && n.input(0)->shape.is_static();
  // Every registered op is deterministic, so known inputs mean a known output.
  for (const ir::Value* v : n.inputs)
    if (v && !v->is_constant()) return false;
  return true;
}

// Untrusted shapes can multiply past what memory holds (or int64 counts): refuse before allocating.
Status check_sizes(const ir::Node& n, const kernels::PrepareContext& ctx, size_t max_bytes) {
  constexpr size_t kHardLimit = size_t{1} << 62;
  const size_t limit = max_bytes == 0 ? kHardLimit : std::min(max_bytes, kHardLimit);
  for (size_t i = 0; i < n.outputs.size(); ++i) {
    const kernels::TensorInfo& o = ctx.output(i);
    if (!n.outputs[i] || !o.present() || !o.shape.is_static()) continue;
    const Result<int64_t> numel = checked_numel(o.shape);
    if (!numel.is_ok()) return numel.status().with_context(n.label() + ": output '" + n.outputs[i]->name + "'");
    const size_t esize = std::max<size_t>(dtype_size(o.dtype), 1);
    if (static_cast<size_t>(*numel) > limit / esize)
      return resource_exhausted(n.label(), ": output '", n.outputs[i]->name, "' of shape ", o.shape.to_string(), " and dtype ",
                                dtype_name(o.dtype), " exceeds the tensor size limit of ", limit, " bytes");
  }
  if (ctx.scratch_bytes() > limit)
    return resource_exhausted(n.label(), ": scratch of ", ctx.scratch_bytes(), " bytes exceeds the limit of ", limit, " bytes");
  return Status::ok();
}

}  // namespace

Status infer_shapes_and_fold(ir::Graph& g, size_t max_tensor_bytes) {
  EP_RETURN_IF_ERROR(g.topological_sort());
  std::vector<ir::Node*> order;
  for (const auto& n : g.nodes()) order.push_back(n.get());
  for (ir::Node* n : order) {
    const kernels::KernelDef* def = kernels::find_kernel(n->op_type, n->domain, n->opset, "ref");
    if (!def) {
      if (kernels::op_known(n->op_type, n->domain))
        return unsupported(n->label(), ": opset ", n->opset, " of this op is not supported");
      return unsupported(n->label(), ": unsupported operator");
    }
    std::vector<kernels::TensorInfo> infos;
    for (const ir::Value* v : n->inputs) {
      if (!v) {
        infos.emplace_back();
        continue;
      }
      if (v->dtype == DType::undefined || !v->shape.is_static())
        return internal_error(n->label(), ": input '", v->name, "' has no inferred type");
      infos.push_back(kernels::TensorInfo{v->dtype, v->shape, v->constant.get()});
    }
    kernels::PrepareContext ctx(*n, infos);
    auto kernel = def->create();
    EP_RETURN_IF_ERROR(kernel->prepare(ctx));
    EP_RETURN_IF_ERROR(ctx.check_outputs());
    EP_RETURN_IF_ERROR(check_sizes(*n, ctx, max_tensor_bytes));
    for (size_t i = 0; i < n->outputs.size(); ++i) {
      ir::Value* out = n->outputs[i];
      if (!out) continue;
      const kernels::TensorInfo& o = ctx.output(i);
      if (!o.present()) return unsupported(n->label(), ": output ", i, " ('", out->name, "') is not supported");
      if (!o.shape.is_static()) return internal_error(n->label(), ": output ", i, " has no static shape");
      out->dtype = o.dtype;
      out->shape = o.shape;
    }
    if (!foldable(*n) || is_weight_dequantize(*n)) continue;  // int8 weights stay for fuse_qdq
    if (!n->inputs.empty() && n->inputs[0] && !n->inputs[0]->is_constant()) {
      // Shape/Size of a computed tensor: only the shape is read, so run on a view with no data.
      EP_ASSIGN_OR_RETURN(Tensor out, Tensor::create(ctx.output(0).dtype, ctx.output(0).shape));
      const TensorView in_views[] = {TensorView{n->inputs[0]->dtype, n->inputs[0]->shape, nullptr}};
      TensorView out_views[] = {out.view()};
      EP_RETURN_IF_ERROR(kernel->run(kernels::RunContext{in_views, out_views, nullptr}));
      n->outputs[0]->constant = std::make_shared<const Tensor>(std::move(out));
    } else {
      std::vector<const Tensor*> ins;
      for (const ir::Value* v : n->inputs) ins.push_back(v ? v->constant.get() : nullptr);
      EP_ASSIGN_OR_RETURN(std::vector<Tensor> outs, kernels::evaluate_node(*n, ins));
      for (size_t i = 0; i < n->outputs.size(); ++i)
        if (n->outputs[i]) n->outputs[i]->constant = std::make_shared<const Tensor>(std::move(outs[i]));
    }
    g.erase_node(n);
  }
  return Status::ok();
}

}  // namespace ep::passes
