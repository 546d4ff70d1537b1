#include "kernels/kernel.h"

#include <cstdlib>

namespace ep::kernels {

Status PrepareContext::expect_inputs(size_t min, size_t max) const {
  if (inputs_.size() < min || inputs_.size() > max)
    return error("has ", inputs_.size(), " inputs, expected ", min, min == max ? "" : " to ",
                 min == max ? std::string() : std::to_string(max));
  for (size_t i = 0; i < min; ++i)
    if (!inputs_[i].present()) return error("required input ", i, " is missing");
  return Status::ok();
}

Result<int64_t> PrepareContext::normalize_axis(int64_t axis, int64_t rank, std::string_view what) const {
  if (axis < -rank || (axis >= rank && !(rank == 0 && axis == 0)))
    return error(what, " ", axis, " is out of range for rank ", rank);
  return axis < 0 ? axis + rank : axis;
}

const KernelDef* find_kernel(std::string_view op, std::string_view domain, int opset, std::string_view backend) {
  std::string_view d = domain == "ai.onnx" ? std::string_view() : domain;
  for (const KernelDef& k : kernel_registry())
    if (k.op == op && k.domain == d && k.backend == backend && opset >= k.min_opset && opset <= k.max_opset) return &k;
  return nullptr;
}

bool op_known(std::string_view op, std::string_view domain) {
  std::string_view d = domain == "ai.onnx" ? std::string_view() : domain;
  for (const KernelDef& k : kernel_registry())
    if (k.op == op && k.domain == d) return true;
  return false;
}

Result<std::vector<Tensor>> evaluate_node(const ir::Node& node, std::span<const Tensor* const> inputs,
                                          std::string_view backend) {
  const KernelDef* def = find_kernel(node.op_type, node.domain, node.opset, backend);
  if (!def) return unsupported(node.label(), ": no ", backend, " kernel for opset ", node.opset);
  std::vector<TensorInfo> infos;
  for (const Tensor* t : inputs)
    infos.push_back(t ? TensorInfo{t->dtype(), t->shape(), t} : TensorInfo{});
  PrepareContext pctx(node, std::move(infos));
  auto kernel = def->create();
  EP_RETURN_IF_ERROR(kernel->prepare(pctx));
  EP_RETURN_IF_ERROR(pctx.check_outputs());
  std::vector<Tensor> outs;
  std::vector<TensorView> out_views;
  for (size_t i = 0; i < pctx.num_outputs(); ++i) {
    const TensorInfo& o = pctx.output(i);
    if (!o.present()) {
      outs.emplace_back();
      out_views.emplace_back();
      continue;
    }
    EP_ASSIGN_OR_RETURN(Tensor t, Tensor::create(o.dtype, o.shape));
    out_views.push_back(t.view());
    outs.push_back(std::move(t));
  }
  std::vector<TensorView> in_views;
  for (const Tensor* t : inputs) in_views.push_back(t ? t->view() : TensorView{});
  std::unique_ptr<Tensor> scratch;
  void* scratch_ptr = nullptr;
  if (pctx.scratch_bytes()) {
    scratch = std::make_unique<Tensor>(DType::u8, Shape{static_cast<int64_t>(pctx.scratch_bytes())});
    scratch_ptr = scratch->data();
  }
  RunContext rctx{in_views, out_views, scratch_ptr};
  EP_RETURN_IF_ERROR(kernel->run(rctx));
  return outs;
}

}  // namespace ep::kernels
