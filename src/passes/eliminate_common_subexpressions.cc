// Merges nodes that compute the same thing: same op, same inputs (the same Value objects),
// same attributes. Rewrites leave such twins behind: the NHWC layout pass puts one
// Transpose in front of each consumer that cannot take the NHWC layout, so a tensor read by
// three Slices was transposed three times (YOLOv5's detect head: 3 x 1.8 ms).
#include <cstdint>
#include <unordered_map>
#include <unordered_set>

#include "passes/passes.h"

namespace ep::passes {
namespace {

// Ops whose outputs are not a function of inputs and attributes alone.
bool nondeterministic(const ir::Node& n) {
  static const std::unordered_set<std::string> kOps = {"RandomNormal", "RandomUniform", "RandomNormalLike",
                                                       "RandomUniformLike", "Multinomial", "Bernoulli"};
  return n.domain.empty() && kOps.count(n.op_type) != 0;
}

bool same_computation(const ir::Node& a, const ir::Node& b) {
  return a.op_type == b.op_type && a.domain == b.domain && a.opset == b.opset && a.inputs == b.inputs &&
         a.outputs.size() == b.outputs.size() && a.attrs == b.attrs;
}

}  // namespace

Status eliminate_common_subexpressions(ir::Graph& g) {
  EP_RETURN_IF_ERROR(g.topological_sort());
  // Keyed by op and first input; a bucket holds the distinct computations seen so far.
  std::unordered_map<std::string, std::vector<ir::Node*>> seen;
  std::vector<ir::Node*> twins;
  for (const auto& owned : g.nodes()) {
    ir::Node* n = owned.get();
    if (nondeterministic(*n) || n->inputs.empty()) continue;
    std::string key = n->domain + "|" + n->op_type + "|" +
                      std::to_string(reinterpret_cast<uintptr_t>(n->inputs.front()));
    std::vector<ir::Node*>& bucket = seen[key];
    ir::Node* first = nullptr;
    for (ir::Node* c : bucket)
      if (same_computation(*c, *n)) first = c;
    if (!first) {
      bucket.push_back(n);
      continue;
    }
    // A graph output keeps its own name (and producer): leave such a twin alone.
    bool output = false;
    for (const ir::Value* v : n->outputs) output = output || (v && v->is_graph_output);
    if (output) continue;
    for (size_t i = 0; i < n->outputs.size(); ++i) {
      if (!n->outputs[i]) continue;
      if (!first->outputs[i]) {  // the first leaves this optional output out: keep the twin
        output = true;
        break;
      }
    }
    if (output) continue;
    for (size_t i = 0; i < n->outputs.size(); ++i)
      if (n->outputs[i]) g.replace_all_uses(n->outputs[i], first->outputs[i]);
    twins.push_back(n);
  }
  for (ir::Node* n : twins) g.erase_node(n);
  g.erase_unused_values();
  return Status::ok();
}

}  // namespace ep::passes
