#include <map>

#include "passes/passes.h"

namespace ep::passes {

Status bind_input_shapes(ir::Graph& g, const std::map<std::string, Shape>& shapes) {
  for (const auto& [name, shape] : shapes) {
    bool found = false;
    for (const ir::Value* v : g.inputs()) found |= v->name == name;
    if (!found) return invalid_argument("input shape given for '", name, "', which is not an input of the model");
  }
  std::map<std::string, int64_t> params;
  for (ir::Value* v : g.inputs()) {
    auto it = shapes.find(v->name);
    if (it == shapes.end()) {
      if (!v->shape.is_static())
        return invalid_argument("input '", v->name, "' has open dimensions (", v->shape.to_string(),
                                "); give its shape, e.g. --shape ", v->name, "=", v->shape.to_string());
      // Declared dims come from the model: their product may overflow like any bound one.
      if (Result<int64_t> n = checked_numel(v->shape); !n.is_ok())
        return n.status().with_context("input '" + v->name + "'");
      continue;
    }
    const Shape& want = it->second;
    if (v->shape.rank() != want.rank())
      return invalid_argument("input '", v->name, "': shape ", want.to_string(), " has rank ", want.rank(),
                              ", the model declares rank ", v->shape.rank(), " (", v->shape.to_string(), ")");
    for (size_t d = 0; d < want.rank(); ++d) {
      if (v->shape[d] >= 0 && v->shape[d] != want[d])
        return invalid_argument("input '", v->name, "': dimension ", d, " is fixed to ", v->shape[d],
                                " by the model, got ", want[d]);
      if (d < v->dim_params.size() && !v->dim_params[d].empty()) {
        auto [p, inserted] = params.emplace(v->dim_params[d], want[d]);
        if (!inserted && p->second != want[d])
          return invalid_argument("input '", v->name, "': dimension '", v->dim_params[d], "' bound to ", want[d],
                                  " but to ", p->second, " by another input");
      }
    }
    if (Result<int64_t> n = checked_numel(want); !n.is_ok()) return n.status().with_context("input '" + v->name + "'");
    v->shape = want;
  }
  return Status::ok();
}


}  // namespace ep::passes
