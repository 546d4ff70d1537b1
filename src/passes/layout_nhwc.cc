// Runs convolutions in NHWC and keeps activations in NHWC between them.
// Every NCHW FusedConv becomes NHWC wrapped in Transposes (to NHWC before, back after);
// then the Transposes are pushed through layout-agnostic ops (element-wise, Concat,
// Resize, MaxPool, AveragePool, GlobalAveragePool as ReduceMean) and cancelled where a "back" meets a "to".
// What remains are the Transposes at the graph's edges and around ops that need NCHW.
#include <algorithm>
#include <cstring>
#include <unordered_set>

#include "kernels/fused_conv.h"
#include "passes/passes.h"

namespace ep::passes {
namespace {

using Perm = std::vector<int64_t>;

bool is_op(const ir::Node* n, const char* op) { return n && n->domain.empty() && n->op_type == op; }

Result<Perm> perm_of(const ir::Node* t) { return t->attr_ints("perm", Perm{}); }

Shape permute(const Shape& s, const Perm& p) {
  std::vector<int64_t> d(p.size());
  for (size_t a = 0; a < p.size(); ++a) d[a] = s[static_cast<size_t>(p[a])];
  return Shape(d);
}

Perm inverse(const Perm& p) {
  Perm inv(p.size());
  for (size_t a = 0; a < p.size(); ++a) inv[static_cast<size_t>(p[a])] = static_cast<int64_t>(a);
  return inv;
}

ir::Value* new_value(ir::Graph& g, const std::string& base, DType dtype, const Shape& shape) {
  ir::Value* v = g.add_value(g.unique_value_name(base));
  v->dtype = dtype;
  v->shape = shape;
  return v;
}

// Adds out = Transpose(in, perm); creates `out` when null.
ir::Node* add_transpose(ir::Graph& g, ir::Value* in, const Perm& perm, ir::Value* out = nullptr) {
  if (!out) out = new_value(g, in->name + "_t", in->dtype, permute(in->shape, perm));
  ir::Node* t = g.add_node(g.unique_value_name(in->name + "_transpose"), "Transpose", {in}, {out});
  t->opset = static_cast<int>(g.opsets[""]);
  t->attrs["perm"] = perm;
  return t;
}

void to_nhwc(ir::Graph& g, ir::Node* f) {
  const Perm to{0, 2, 3, 1}, back{0, 3, 1, 2};
  ir::set_input(f, 0, add_transpose(g, f->inputs[0], to)->outputs[0]);
  if (f->inputs.size() > 3 && f->inputs[3]) ir::set_input(f, 3, add_transpose(g, f->inputs[3], to)->outputs[0]);
  ir::Value* y = f->outputs[0];
  ir::Value* yn = new_value(g, y->name + "_nhwc", y->dtype, permute(y->shape, to));
  f->outputs[0] = yn;
  yn->producer = f;
  y->producer = nullptr;
  add_transpose(g, yn, back, y);
  f->attrs["layout"] = std::string("NHWC");
}

// Gives every reader of a multi-reader Transpose its own copy, so each can move alone.
bool split_shared(ir::Graph& g, ir::Node* t) {
  ir::Value* out = t->outputs[0];
  if (out->consumers.size() + (out->is_graph_output ? 1 : 0) < 2) return false;
  auto perm = perm_of(t);
  if (!perm.is_ok()) return false;
  std::vector<ir::Node*> readers = out->consumers;
  const size_t keep = out->is_graph_output ? 0 : 1;
  for (size_t r = keep; r < readers.size(); ++r) {
    ir::Node* copy = add_transpose(g, t->inputs[0], *perm);
    for (size_t i = 0; i < readers[r]->inputs.size(); ++i)
      if (readers[r]->inputs[i] == out) ir::set_input(readers[r], i, copy->outputs[0]);
  }
  return true;
}

ir::Node* transpose_producer(const ir::Value* v, const Perm& perm) {
  ir::Node* p = v ? v->producer : nullptr;
  if (!is_op(p, "Transpose") || p->outputs[0]->is_graph_output || p->outputs[0]->consumers.size() != 1) return nullptr;
  auto pp = perm_of(p);
  return pp.is_ok() && *pp == perm ? p : nullptr;
}

// A constant broadcast against a tensor in the transposed layout, moved to the original layout.
std::shared_ptr<const Tensor> transpose_constant(const ir::Value* k, const Perm& inv, size_t rank) {
  if (!k->is_constant() || k->shape.rank() > rank) return nullptr;
  std::vector<int64_t> dims(rank - k->shape.rank(), 1);
  for (int64_t d : k->shape.dims()) dims.push_back(d);
  const Shape full(dims), out = permute(full, inv);
  auto t = std::make_shared<Tensor>(k->dtype, out);
  const size_t es = dtype_size(k->dtype);
  std::vector<int64_t> in_strides(rank, 1);
  for (size_t i = rank; i-- > 1;) in_strides[i - 1] = in_strides[i] * full[i];
  const char* src = static_cast<const char*>(k->constant->data());
  char* dst = static_cast<char*>(t->data());
  std::vector<int64_t> idx(rank, 0);
  for (int64_t o = 0; o < out.numel(); ++o) {
    int64_t off = 0;
    for (size_t a = 0; a < rank; ++a) off += idx[a] * in_strides[static_cast<size_t>(inv[a])];
    std::memcpy(dst + o * es, src + off * es, es);
    for (size_t a = rank; a-- > 0;) {
      if (++idx[a] < out[a]) break;
      idx[a] = 0;
    }
  }
  return t;
}

bool elementwise_unary(const ir::Node* n) {
  static const std::unordered_set<std::string> ops = {
      "Relu", "Sigmoid", "Tanh", "Clip", "HardSigmoid", "HardSwish", "LeakyRelu", "Exp", "Log", "Sqrt", "Neg", "Abs",
      "Erf", "Softplus", "Elu", "Selu", "Floor", "Ceil", "Round", "Reciprocal", "Sign", "Identity", "Cast"};
  return n->domain.empty() && ops.count(n->op_type);
}

// Per-tensor QuantizeLinear/DequantizeLinear: element-wise, whatever the layout.
bool per_tensor_qdq(const ir::Node* n) {
  if (!is_op(n, "QuantizeLinear") && !is_op(n, "DequantizeLinear")) return false;
  const ir::Value* s = n->input(1);
  const ir::Value* z = n->input(2);
  return s && s->shape.numel() == 1 && (!z || z->shape.numel() == 1);
}

bool elementwise_binary(const ir::Node* n) {
  static const std::unordered_set<std::string> ops = {"Add", "Sub", "Mul", "Div", "Pow", "Max", "Min"};
  return n->domain.empty() && ops.count(n->op_type) && n->inputs.size() == 2;
}

// Moves Transpose t (x -> t.out, read only by c) below c: c reads x, and a Transpose restores c's output.
bool push_through(ir::Graph& g, ir::Node* t, ir::Node* c) {
  auto perm_r = perm_of(t);
  if (!perm_r.is_ok()) return false;
  const Perm perm = *perm_r, inv = inverse(perm);
  ir::Value* x = t->inputs[0];
  ir::Value* tout = t->outputs[0];
  const size_t rank = perm.size();
  if (c->outputs.size() != 1 || !c->outputs[0] || c->outputs[0]->shape.rank() != rank) return false;
  std::vector<std::pair<size_t, ir::Value*>> rewires;  // input index -> new value
  if (elementwise_unary(c) || per_tensor_qdq(c)) {
    if (c->inputs[0] != tout) return false;
    rewires.push_back({0, x});
  } else if (elementwise_binary(c)) {
    for (size_t i = 0; i < 2; ++i) {
      ir::Value* in = c->inputs[i];
      if (in == tout) {
        rewires.push_back({i, x});
      } else if (ir::Node* t2 = transpose_producer(in, perm)) {
        rewires.push_back({i, t2->inputs[0]});
      } else if (auto k = transpose_constant(in, inv, rank)) {
        ir::Value* kv = new_value(g, in->name + "_t", in->dtype, k->shape());
        kv->constant = k;
        rewires.push_back({i, kv});
      } else {
        return false;
      }
    }
  } else if (is_op(c, "Concat")) {
    auto axis = c->attr_int("axis");
    if (!axis.is_ok()) return false;
    const int64_t a = *axis < 0 ? *axis + static_cast<int64_t>(rank) : *axis;
    for (size_t i = 0; i < c->inputs.size(); ++i) {
      ir::Node* ti = c->inputs[i] == tout ? t : transpose_producer(c->inputs[i], perm);
      if (!ti) return false;
      rewires.push_back({i, ti->inputs[0]});
    }
    c->attrs["axis"] = perm[static_cast<size_t>(a)];
  } else if (is_op(c, "Resize") && c->opset >= 11 && c->inputs[0] == tout) {
    // roi is empty or unused by these modes; scales and sizes are permuted.
    auto mode = c->attr_string("coordinate_transformation_mode", std::string("half_pixel"));
    if (!mode.is_ok() || *mode == "tf_crop_and_resize" || c->has_attr("axes")) return false;
    rewires.push_back({0, x});
    for (size_t i = 2; i < c->inputs.size(); ++i) {
      ir::Value* s = c->inputs[i];
      if (!s) continue;
      if (!s->is_constant() || s->shape.rank() != 1 || static_cast<size_t>(s->shape[0]) != rank) return false;
      auto k = std::make_shared<Tensor>(s->dtype, s->shape);
      const size_t es = dtype_size(s->dtype);
      for (size_t a = 0; a < rank; ++a)
        std::memcpy(static_cast<char*>(k->data()) + static_cast<size_t>(perm[a]) * es,
                    static_cast<const char*>(s->constant->data()) + a * es, es);
      ir::Value* kv = new_value(g, s->name + "_t", s->dtype, s->shape);
      kv->constant = k;
      rewires.push_back({i, kv});
    }
  } else if ((is_op(c, "MaxPool") || is_op(c, "AveragePool")) && c->inputs[0] == tout && rank == 4 &&
             perm == Perm{0, 3, 1, 2} && (c->outputs.size() == 1 || !c->outputs[1])) {
    // edgepipe.MaxPool / AveragePool take the same attributes plus the layout; their kernel
    // declines nothing it was given here (checked below by preparing it).
    auto ap = c->attr_string("auto_pad", std::string("NOTSET"));
    auto cm = c->attr_int("ceil_mode", 0);
    auto dl = c->attr_ints("dilations", Perm{1, 1});
    if (!ap.is_ok() || (*ap != "NOTSET" && *ap != "VALID") || !cm.is_ok() || *cm != 0 || !dl.is_ok() || *dl != Perm{1, 1})
      return false;
    c->domain = kernels::kFusedConvDomain;
    c->opset = 1;
    c->outputs.resize(1);
    c->attrs.erase("storage_order");
    c->attrs["layout"] = std::string("NHWC");
    rewires.push_back({0, x});
  } else if (is_op(c, "GlobalAveragePool") && c->inputs[0] == tout && c->opset < 18) {
    // Mean over the spatial axes, which sit at perm[2..] in x's layout.
    std::vector<int64_t> axes;
    for (size_t a = 2; a < rank; ++a) axes.push_back(perm[a]);
    std::sort(axes.begin(), axes.end());
    c->op_type = "ReduceMean";
    c->attrs = {{"axes", axes}, {"keepdims", int64_t{1}}};
    rewires.push_back({0, x});
  } else {
    return false;
  }
  for (auto& [i, v] : rewires) ir::set_input(c, i, v);
  ir::Value* y = c->outputs[0];
  ir::Value* yx = new_value(g, y->name + "_x", y->dtype, permute(y->shape, inv));
  c->outputs[0] = yx;
  yx->producer = c;
  y->producer = nullptr;
  add_transpose(g, yx, perm, y);
  return true;
}

// Transpose(p2)(Transpose(p1)(x)) with p2 after p1 the identity: readers of the second read x.
bool cancel_pair(ir::Graph& g, ir::Node* t2) {
  ir::Node* t1 = t2->inputs[0] ? t2->inputs[0]->producer : nullptr;
  if (!is_op(t1, "Transpose")) return false;
  auto p1 = perm_of(t1), p2 = perm_of(t2);
  if (!p1.is_ok() || !p2.is_ok() || p1->size() != p2->size()) return false;
  for (size_t a = 0; a < p2->size(); ++a)
    if ((*p1)[static_cast<size_t>((*p2)[a])] != static_cast<int64_t>(a)) return false;
  ir::Value* out = t2->outputs[0];
  if (out->is_graph_output) return false;
  g.replace_all_uses(out, t1->inputs[0]);
  g.erase_node(t2);
  return true;
}

// Transpose(p1) read only by a Reshape that only splits dims (YOLOv5's detect head: NCHW
// [1,255,80,80] -> [1,3,85,80,80] after a convolution that runs in NHWC) becomes a Reshape
// of the transpose's input, splitting the same dims where they sit there, then one
// Transpose; the loop then moves it on and merges it with the next one.
bool push_through_reshape(ir::Graph& g, ir::Node* t, ir::Node* r) {
  if (!is_op(r, "Reshape") || r->inputs.size() < 2 || !r->inputs[1] || !r->inputs[1]->is_constant() ||
      r->inputs[0] != t->outputs[0])
    return false;
  auto perm_r = perm_of(t);
  if (!perm_r.is_ok()) return false;
  const Perm& p1 = *perm_r;
  ir::Value* x = t->inputs[0];
  const Shape& b = t->outputs[0]->shape;
  const Shape& c = r->outputs[0]->shape;
  if (b.rank() != p1.size() || x->shape.rank() != p1.size()) return false;
  for (int64_t d : b.dims())
    if (d <= 0) return false;
  for (int64_t d : c.dims())
    if (d <= 0) return false;
  // Which dims of c each dim of b splits into.
  std::vector<std::vector<int64_t>> groups(b.rank());
  size_t j = 0;
  for (size_t i = 0; i < b.rank(); ++i) {
    if (b[i] == 1) {
      if (j < c.rank() && c[j] == 1) groups[i].push_back(c[j++]);
      continue;
    }
    int64_t prod = 1;
    while (j < c.rank() && prod < b[i]) {
      prod *= c[j];
      groups[i].push_back(c[j++]);
    }
    if (prod != b[i]) return false;
  }
  if (j != c.rank()) return false;
  // x's dims in order, each split into its group; `start` is where b's dim k begins there.
  std::vector<int64_t> split_dims;
  std::vector<size_t> start(b.rank());
  for (size_t a = 0; a < p1.size(); ++a) {
    const size_t k = static_cast<size_t>(std::find(p1.begin(), p1.end(), static_cast<int64_t>(a)) - p1.begin());
    start[k] = split_dims.size();
    split_dims.insert(split_dims.end(), groups[k].begin(), groups[k].end());
  }
  Perm q;
  for (size_t k = 0; k < b.rank(); ++k)
    for (size_t s2 = 0; s2 < groups[k].size(); ++s2) q.push_back(static_cast<int64_t>(start[k] + s2));
  auto shape_t = std::make_shared<Tensor>(DType::i64, Shape{static_cast<int64_t>(split_dims.size())});
  std::copy(split_dims.begin(), split_dims.end(), shape_t->as<int64_t>());
  ir::Value* shape_v = new_value(g, r->name + "_split_shape", DType::i64, shape_t->shape());
  shape_v->constant = shape_t;
  ir::Value* xs = new_value(g, x->name + "_split", x->dtype, Shape(split_dims));
  ir::Node* reshape = g.add_node(g.unique_value_name(r->name + "_split"), "Reshape", {x, shape_v}, {xs});
  reshape->opset = r->opset;
  ir::Value* y = r->outputs[0];
  g.erase_node(r);
  g.erase_node(t);
  add_transpose(g, xs, q, y);
  return true;
}

// Transpose(p2)(Transpose(p1)(x)) where nothing else reads the first: one Transpose.
bool merge_pair(ir::Graph& g, ir::Node* t2) {
  ir::Node* t1 = t2->inputs[0] ? t2->inputs[0]->producer : nullptr;
  if (!is_op(t1, "Transpose") || t1->outputs[0]->is_graph_output || t1->outputs[0]->consumers.size() != 1) return false;
  auto p1 = perm_of(t1), p2 = perm_of(t2);
  if (!p1.is_ok() || !p2.is_ok() || p1->size() != p2->size()) return false;
  Perm composed(p2->size());
  for (size_t a = 0; a < p2->size(); ++a) composed[a] = (*p1)[static_cast<size_t>((*p2)[a])];
  ir::set_input(t2, 0, t1->inputs[0]);
  t2->attrs["perm"] = composed;
  g.erase_node(t1);
  return true;
}

}  // namespace

Status layout_nhwc(ir::Graph& g) {
  std::vector<ir::Node*> convs;
  for (const auto& n : g.nodes())
    if (n->domain == kernels::kFusedConvDomain &&
        (n->op_type == kernels::kFusedConvOp || n->op_type == kernels::kFusedConvTransposeOp)) {
      auto layout = n->attr_string("layout", std::string("NCHW"));
      if (layout.is_ok() && *layout == "NCHW" && n->inputs[0]->shape.rank() == 4) convs.push_back(n.get());
    }
  if (convs.empty()) return Status::ok();
  for (ir::Node* f : convs) to_nhwc(g, f);
  rewrite_until_settled(
      g, [](const ir::Node* n) { return is_op(n, "Transpose"); },
      [&](ir::Node* t) {
        if (cancel_pair(g, t) || merge_pair(g, t) || split_shared(g, t)) return true;
        ir::Value* out = t->outputs[0];
        if (out->is_graph_output || out->consumers.size() != 1) return false;
        if (push_through_reshape(g, t, out->consumers[0])) return true;
        if (!push_through(g, t, out->consumers[0])) return false;
        g.erase_node(t);
        return true;
      },
      10000);
  EP_RETURN_IF_ERROR(eliminate_dead_code(g));
  return g.topological_sort();
}

}  // namespace ep::passes
