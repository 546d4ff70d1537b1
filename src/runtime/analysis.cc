#include "runtime/analysis.h"

#include "ir/graph.h"
#include "passes/passes.h"

namespace ep::runtime {
namespace {

int64_t numel_of(const ir::Value* v) { return v && v->shape.is_static() ? v->shape.numel() : 0; }

int64_t node_flops(const ir::Node& n) {
  const ir::Value* y = n.output(0);
  const int64_t out = numel_of(y);
  if (n.op_type == "Conv" || n.op_type == "ConvTranspose") {
    const ir::Value* w = n.input(1);
    if (!w || w->shape.rank() < 3) return 0;
    // Conv: every output element sums Cin/group * kernel taps. ConvTranspose: every input element scatters Cout/group * taps.
    int64_t taps = 1;
    for (size_t i = 2; i < w->shape.rank(); ++i) taps *= w->shape[i];
    if (n.op_type == "Conv") return 2 * out * w->shape[1] * taps;
    return 2 * numel_of(n.input(0)) * w->shape[1] * taps;
  }
  if (n.op_type == "MatMul" || n.op_type == "Gemm") {
    const ir::Value* a = n.input(0);
    if (!a || a->shape.rank() == 0) return 0;
    int64_t k = a->shape[a->shape.rank() - 1];
    if (n.op_type == "Gemm" && n.has_attr("transA")) {
      auto t = n.attr_int("transA", 0);
      if (t.is_ok() && *t) k = a->shape[0];
    }
    return 2 * out * k;
  }
  return out;  // element-wise and data movement: one per output element
}

}  // namespace

ModelSummary summarize(const Model& model, const std::map<std::string, Shape>& input_shapes) {
  ModelSummary s;
  const ir::Graph& src = model.graph();
  for (const auto& n : src.nodes()) ++s.op_histogram[n->op_type];
  for (const auto& v : src.values()) {
    if (!v->is_constant() || v->constant->numel() <= 1) continue;  // scalars are attributes, not weights
    s.parameters += v->constant->numel();
    s.parameter_bytes += static_cast<int64_t>(v->constant->nbytes());
  }
  auto g = src.clone();
  s.shape_status = passes::bind_input_shapes(*g, input_shapes);
  if (s.shape_status.is_ok()) s.shape_status = passes::infer_shapes_and_fold(*g);
  if (s.shape_status.is_ok()) s.shape_status = passes::eliminate_dead_code(*g);
  s.shapes_bound = s.shape_status.is_ok();
  for (const ir::Value* v : g->outputs()) s.outputs.push_back(IoInfo{v->name, v->dtype, v->shape, {}});
  if (!s.shapes_bound) return s;
  for (const auto& n : g->nodes()) {
    NodeCost c{n->name, n->op_type, node_flops(*n), 0};
    for (const ir::Value* o : n->outputs)
      if (o) c.output_bytes += numel_of(o) * static_cast<int64_t>(dtype_size(o->dtype));
    s.total_flops += c.flops;
    s.nodes.push_back(std::move(c));
  }
  return s;
}

}  // namespace ep::runtime
