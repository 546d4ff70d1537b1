#include <unordered_set>

#include "passes/passes.h"

namespace ep::passes {

Status eliminate_dead_code(ir::Graph& g) {
  // Walk backwards from the graph outputs; everything not reached is dead.
  std::unordered_set<const ir::Node*> live;
  std::vector<const ir::Value*> stack(g.outputs().begin(), g.outputs().end());
  while (!stack.empty()) {
    const ir::Value* v = stack.back();
    stack.pop_back();
    if (!v || !v->producer || live.count(v->producer)) continue;
    live.insert(v->producer);
    for (const ir::Value* in : v->producer->inputs) stack.push_back(in);
  }
  std::vector<ir::Node*> dead;
  for (const auto& n : g.nodes())
    if (!live.count(n.get())) dead.push_back(n.get());
  for (ir::Node* n : dead) g.erase_node(n);
  g.erase_unused_values();
  return Status::ok();
}

}  // namespace ep::passes
