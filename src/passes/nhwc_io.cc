// NHWC graph inputs and outputs: see passes.h (nhwc_io_begin / nhwc_io_finish).
#include <algorithm>

#include "passes/passes.h"

namespace ep::passes {
namespace {

using Perm = std::vector<int64_t>;
const Perm kToNhwc{0, 2, 3, 1}, kToNchw{0, 3, 1, 2};

Shape permute(const Shape& s, const Perm& p) {
  std::vector<int64_t> d(p.size());
  for (size_t a = 0; a < p.size(); ++a) d[a] = s[static_cast<size_t>(p[a])];
  return Shape(d);
}

bool is_transpose(const ir::Node* n, const Perm& perm) {
  if (!n || !n->domain.empty() || n->op_type != "Transpose") return false;
  auto p = n->attr_ints("perm", Perm{});
  return p.is_ok() && *p == perm;
}

ir::Node* add_transpose(ir::Graph& g, ir::Value* in, ir::Value* out, const Perm& perm) {
  ir::Node* t = g.add_node(g.unique_value_name(in->name + "_io_transpose"), "Transpose", {in}, {out});
  t->opset = static_cast<int>(g.opsets[""]);
  t->attrs["perm"] = perm;
  return t;
}

}  // namespace

Status nhwc_io_begin(ir::Graph& g, const std::set<std::string>& names) {
  if (names.empty()) return Status::ok();
  std::set<std::string> found;
  for (ir::Value* v : g.inputs()) {
    if (!names.count(v->name)) continue;
    found.insert(v->name);
    if (v->shape.rank() != 4) return invalid_argument("nhwc_io: input '", v->name, "' has rank ", v->shape.rank(), ", not 4");
    // Readers now read an NCHW copy; the input itself becomes NHWC.
    ir::Value* nchw = g.add_value(g.unique_value_name(v->name + "_nchw"));
    nchw->dtype = v->dtype;
    nchw->shape = v->shape;
    g.replace_all_uses(v, nchw);
    v->shape = permute(v->shape, kToNhwc);
    add_transpose(g, v, nchw, kToNchw);
  }
  for (size_t i = 0; i < g.outputs().size(); ++i) {
    ir::Value* o = g.outputs()[i];
    if (!names.count(o->name)) continue;
    found.insert(o->name);
    if (o->shape.rank() != 4) return invalid_argument("nhwc_io: output '", o->name, "' has rank ", o->shape.rank(), ", not 4");
    if (!o->producer) return invalid_argument("nhwc_io: output '", o->name, "' is not computed by the graph");
    // The producer now writes an NCHW value; the output is its NHWC transpose.
    ir::Node* p = o->producer;
    ir::Value* nchw = g.add_value(g.unique_value_name(o->name + "_nchw"));
    nchw->dtype = o->dtype;
    nchw->shape = o->shape;
    std::replace(p->outputs.begin(), p->outputs.end(), o, nchw);
    nchw->producer = p;
    for (ir::Node* c : std::vector<ir::Node*>(o->consumers))
      for (ir::Value*& in : c->inputs)
        if (in == o) {
          in = nchw;
          nchw->consumers.push_back(c);
        }
    o->consumers.clear();
    o->producer = nullptr;
    o->shape = permute(o->shape, kToNhwc);
    add_transpose(g, nchw, o, kToNhwc);
  }
  for (const std::string& n : names)
    if (!found.count(n)) return invalid_argument("nhwc_io: '", n, "' is not an input or output of the model");
  return Status::ok();
}

Status nhwc_io_finish(ir::Graph& g, const std::set<std::string>& names) {
  for (size_t i = 0; i < g.outputs().size(); ++i) {
    ir::Value* o = g.outputs()[i];
    if (!names.count(o->name)) continue;
    ir::Node* to = o->producer;
    if (!is_transpose(to, kToNhwc)) continue;
    ir::Value* nchw = to->inputs[0];
    ir::Node* back = nchw->producer;
    if (!is_transpose(back, kToNchw) || nchw->consumers.size() != 1 || nchw->is_graph_output) continue;
    ir::Value* nhwc = back->inputs[0];
    if (!nhwc->producer || nhwc->is_graph_input || nhwc->is_graph_output || nhwc->is_constant()) continue;
    // `nhwc` takes the output's place and name.
    g.erase_node(to);
    g.erase_node(back);
    const std::string name = o->name;
    if (!g.rename_value(o, g.unique_value_name(name + "_replaced")) || !g.rename_value(nhwc, name))
      return internal_error("nhwc_io: cannot rename '", name, "'");
    o->is_graph_output = false;
    nhwc->is_graph_output = true;
    g.outputs()[i] = nhwc;
  }
  EP_RETURN_IF_ERROR(eliminate_dead_code(g));
  return g.topological_sort();
}

}  // namespace ep::passes
