// x + x * s, with s broadcast against x and smaller than it (the squeeze-excite residual of
// PP-OCRv4's RSE layers: x + x * hardsigmoid(conv(GAP(x)))), becomes edgepipe.ScaleAdd(x, s):
// one pass over x instead of two and the product never materialised, with the same two
// roundings (x * (s + 1) or fma(x, s, x) would each move them: the detector's output then
// drifts ~1e-6 from the graph as written).
#include "passes/passes.h"

namespace ep::passes {
namespace {

bool is_op(const ir::Node* n, const char* op) { return n && n->domain.empty() && n->op_type == op; }

// Add(x, Mul(x, s)) in any operand order, the Mul read only by the Add: the Mul, and x and s.
ir::Node* match(ir::Node* add, ir::Value** x, ir::Value** s) {
  if (!is_op(add, "Add") || add->inputs.size() != 2 || !add->inputs[0] || !add->inputs[1]) return nullptr;
  for (int k = 0; k < 2; ++k) {
    ir::Value* xv = add->inputs[static_cast<size_t>(k)];
    ir::Value* mv = add->inputs[static_cast<size_t>(1 - k)];
    ir::Node* mul = mv->producer;
    if (!is_op(mul, "Mul") || mul->inputs.size() != 2 || mv->is_graph_output || mv->consumers.size() != 1) continue;
    for (int j = 0; j < 2; ++j) {
      if (mul->inputs[static_cast<size_t>(j)] != xv) continue;
      ir::Value* sv = mul->inputs[static_cast<size_t>(1 - j)];
      if (!sv || sv == xv || sv->dtype != DType::f32 || xv->dtype != DType::f32) continue;
      // s must broadcast into x's shape: the result keeps x's shape.
      const Shape& xs = xv->shape;
      const Shape& ss = sv->shape;
      if (ss.rank() > xs.rank() || add->outputs[0]->shape != xs || ss.numel() >= xs.numel()) continue;
      bool fits = true;
      for (size_t d = 0; d < ss.rank(); ++d) {
        const int64_t sd = ss[ss.rank() - 1 - d], xd = xs[xs.rank() - 1 - d];
        fits = fits && sd >= 0 && (sd == 1 || sd == xd);
      }
      if (!fits) continue;
      *x = xv;
      *s = sv;
      return mul;
    }
  }
  return nullptr;
}

}  // namespace

Status fold_scale_residual(ir::Graph& g) {
  std::vector<ir::Node*> adds;
  for (const auto& n : g.nodes())
    if (is_op(n.get(), "Add")) adds.push_back(n.get());
  for (ir::Node* add : adds) {
    ir::Value *x = nullptr, *s = nullptr;
    ir::Node* mul = match(add, &x, &s);
    if (!mul) continue;
    ir::Value* y = add->outputs[0];
    const std::string name = add->name;
    g.erase_node(add);
    g.erase_node(mul);
    add_edgepipe_node(g, name, "ScaleAdd", {x, s}, {y});
  }
  g.erase_unused_values();
  return g.topological_sort();
}

}  // namespace ep::passes
