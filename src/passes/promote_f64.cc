// Promotes every f32 tensor of the graph to f64: run with the reference kernels, the model
// becomes its own float64 oracle, the arbiter when two float32 runtimes disagree.
#include <algorithm>

#include "passes/passes.h"

namespace ep::passes {
namespace {

// Inputs that the ONNX spec types as float whatever the data type is.
bool keeps_float(const ir::Node* n, size_t slot) {
  if (!n->domain.empty()) return false;
  return (n->op_type == "Resize" && (slot == 1 || slot == 2)) || (n->op_type == "Upsample" && slot == 1);
}

std::shared_ptr<const Tensor> to_f64(const Tensor& t) {
  auto r = std::make_shared<Tensor>(DType::f64, t.shape());
  for (int64_t i = 0; i < t.numel(); ++i) r->as<double>()[i] = t.as<float>()[i];
  return r;
}

}  // namespace

Status promote_to_f64(ir::Graph& g) {
  std::vector<ir::Value*> values;
  for (const auto& v : g.values()) values.push_back(v.get());
  for (ir::Value* v : values) {
    if (v->dtype != DType::f32) continue;
    if (!v->is_constant()) {
      v->dtype = DType::f64;  // graph inputs; computed values are re-inferred
      continue;
    }
    bool needs_f32 = false, needs_f64 = v->is_graph_output;
    for (const ir::Node* c : v->consumers)
      for (size_t i = 0; i < c->inputs.size(); ++i)
        if (c->inputs[i] == v) (keeps_float(c, i) ? needs_f32 : needs_f64) = true;
    if (!needs_f64) continue;
    if (!needs_f32) {
      v->constant = to_f64(*v->constant);
      v->dtype = DType::f64;
      continue;
    }
    ir::Value* d = g.add_value(g.unique_value_name(v->name + "_f64"));
    d->dtype = DType::f64;
    d->shape = v->shape;
    d->constant = to_f64(*v->constant);
    for (ir::Node* c : std::vector<ir::Node*>(v->consumers))
      for (size_t i = 0; i < c->inputs.size(); ++i)
        if (c->inputs[i] == v && !keeps_float(c, i)) {
          c->inputs[i] = d;
          d->consumers.push_back(c);
          v->consumers.erase(std::find(v->consumers.begin(), v->consumers.end(), c));
        }
  }
  constexpr int64_t kOnnxFloat = 1, kOnnxDouble = 11;
  for (const auto& n : g.nodes()) {
    if (!n->domain.empty()) continue;
    if (n->op_type == "Cast") {
      auto to = n->attr_int("to");
      if (to.is_ok() && *to == kOnnxFloat) n->attrs["to"] = kOnnxDouble;
    } else if (n->op_type == "ConstantOfShape" && n->has_attr("value")) {
      auto t = n->attr_tensor("value");
      if (t.is_ok() && (*t)->dtype() == DType::f32) n->attrs["value"] = to_f64(**t);
    } else if (n->op_type == "EyeLike" || n->op_type == "RandomNormalLike") {
      auto dt = n->attr_int("dtype", 0);
      if (dt.is_ok() && *dt == kOnnxFloat) n->attrs["dtype"] = kOnnxDouble;
    }
  }
  return Status::ok();
}

}  // namespace ep::passes
