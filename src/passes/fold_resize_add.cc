// Add(A, Resize(X)) -> edgepipe.ResizeAdd(A, X, roi, scales, sizes); see passes.h. In the
// PP-OCRv4 detector's neck the 80x80 -> 160x160 upsample of 96 channels (2.4 -> 9.8 MB) was
// written, then read back by the Add with the 9.8 MB lateral: ~49 MB moved where the fused
// step moves ~22.
#include "kernels/cpu/cpu_kernels.h"
#include "passes/passes.h"

namespace ep::passes {
namespace {

bool is_onnx(const ir::Node* n, const char* op) { return n && n->domain.empty() && n->op_type == op; }

// The Resize's scales (input 2) or sizes (input 3) as the fast kernel reads them: constants
// with one entry per axis of X.
bool constant_geometry(const ir::Node* r) {
  const ir::Value* x = r->input(0);
  const size_t rank = x->shape.rank();
  const ir::Value* sizes = r->inputs.size() > 3 ? r->input(3) : nullptr;
  const ir::Value* scales = r->inputs.size() > 2 ? r->input(2) : nullptr;
  if (sizes && sizes->shape.numel() > 0)
    return sizes->is_constant() && static_cast<size_t>(sizes->shape.numel()) == rank;
  return scales && scales->is_constant() && scales->dtype == DType::f32 &&
         static_cast<size_t>(scales->shape.numel()) == rank;
}

}  // namespace

Status fold_resize_add(ir::Graph& g) {
  auto opset = g.opsets.find("");
  if (opset == g.opsets.end() || opset->second < 11) return Status::ok();  // the fast Resize's
  std::vector<ir::Node*> adds;
  for (const auto& n : g.nodes())
    if (is_onnx(n.get(), "Add")) adds.push_back(n.get());
  bool changed = false;
  for (ir::Node* add : adds) {
    if (add->inputs.size() != 2 || add->outputs.size() != 1 || !add->outputs[0]) continue;
    const ir::Value* y = add->outputs[0];
    for (size_t k = 0; k < 2; ++k) {
      ir::Value* up = add->input(1 - k);
      ir::Value* a = add->input(k);
      ir::Node* r = up ? up->producer : nullptr;
      const DType t = y->dtype;
      if (!a || !is_onnx(r, "Resize") || r->outputs.size() != 1 || up->is_graph_output || up->consumers.size() != 1 ||
          !r->input(0) || (t != DType::f32 && t != DType::bf16) || r->input(0)->dtype != t || a->dtype != t ||
          up->dtype != t || a->shape != y->shape || up->shape != y->shape || a == up ||
          !kernels::cpu::resize_nearest_form(*r) || !constant_geometry(r))
        continue;
      std::vector<ir::Value*> ins = {a};
      for (size_t i = 0; i < r->inputs.size(); ++i) ins.push_back(r->inputs[i]);
      std::map<std::string, ir::AttrValue> attrs = r->attrs;
      ir::Value* out = add->outputs[0];
      const std::string name = add->name;
      g.erase_node(add);
      g.erase_node(r);
      ir::Node* f = g.add_node(name, "ResizeAdd", ins, {out});
      f->domain = "edgepipe";
      f->opset = 1;
      f->attrs = std::move(attrs);
      g.opsets["edgepipe"] = 1;
      changed = true;
      break;
    }
  }
  if (!changed) return Status::ok();
  g.erase_unused_values();
  return g.topological_sort();
}

}  // namespace ep::passes
