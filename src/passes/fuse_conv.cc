// Rewrites ONNX Conv into edgepipe.FusedConv and folds what follows it:
//   1. Conv (2-D, f32, constant weights) -> FusedConv with explicit attributes;
//   2. BatchNormalization and per-channel or scalar Mul/Add right after a conv with no
//      post-ops are folded into its weights and bias, computed in double and rounded to f32
//      once (in float, beta - mean * scale lost up to an ulp of mean * scale, and w * scale
//      rounded twice: the detector's det_light_on_dark case moved 1.1e-4 from its float64
//      evaluation, 3.1e-5 folded in double; Session.BatchNormFoldsInDouble);
//   3. activations (Relu, Clip, HardSigmoid, HardSwish, Sigmoid, x*sigmoid(x),
//      x*clip(x+3,0,6)/6), scalar affines and residual Adds become post-ops; a one-input
//      activation also from behind Reshapes and Transposes (YOLOv5's detect head).
// Each rewrite needs the conv output to have one reader (the pattern's) and not be a graph output.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>
#include <unordered_set>

#include "kernels/fused_conv.h"
#include "passes/passes.h"

namespace ep::passes {
namespace {

using kernels::PostOp;
using kernels::PostOpKind;

bool is_op(const ir::Node* n, const char* op) { return n && n->domain.empty() && n->op_type == op; }

// The only node reading v, or nullptr.
ir::Node* sole_reader(const ir::Value* v) {
  if (!v || v->is_graph_output || v->consumers.size() != 1) return nullptr;
  return v->consumers[0];
}

// The operand of a binary node that is not `v`.
ir::Value* other_operand(const ir::Node* n, const ir::Value* v) {
  if (n->inputs.size() != 2) return nullptr;
  if (n->inputs[0] == v) return n->inputs[1];
  if (n->inputs[1] == v) return n->inputs[0];
  return nullptr;
}

std::optional<float> scalar_constant(const ir::Value* v) {
  if (!v || !v->is_constant() || v->dtype != DType::f32 || v->constant->numel() != 1) return std::nullopt;
  return v->constant->as<float>()[0];
}

// A constant that broadcasts per output channel against NCHW [N, C, H, W]: a scalar, [C,1,1]
// or [1,C,1,1]; with `vector`, also [C] (BatchNormalization's parameters, not broadcasting).
std::optional<std::vector<float>> channel_constant(const ir::Value* v, int64_t channels, bool vector = false) {
  if (!v || !v->is_constant() || v->dtype != DType::f32) return std::nullopt;
  const Shape& s = v->shape;
  const float* p = v->constant->as<float>();
  if (s.numel() == 1) return std::vector<float>(static_cast<size_t>(channels), p[0]);
  if (vector && s.rank() == 1 && s[0] == channels) return std::vector<float>(p, p + channels);
  if (s.numel() != channels || s.rank() > 4 || s.rank() < 3) return std::nullopt;
  if (s[s.rank() - 3] != channels) return std::nullopt;  // [C,1,1] or [1,C,1,1]
  return std::vector<float>(p, p + channels);
}

struct Fused {
  ir::Node* node;
  std::vector<PostOp> post_ops;
};

std::vector<PostOp> read_post_ops(const ir::Node* n) {
  std::vector<PostOp> ops;
  auto kinds = n->attr_ints("post_ops", std::vector<int64_t>{});
  auto params = n->attr_floats("post_op_params", std::vector<float>{});
  for (size_t i = 0; kinds.is_ok() && params.is_ok() && i < kinds->size(); ++i)
    ops.push_back(PostOp{static_cast<PostOpKind>((*kinds)[i]), (*params)[2 * i], (*params)[2 * i + 1]});
  return ops;
}

void write_post_ops(ir::Node* n, const std::vector<PostOp>& ops) {
  std::vector<int64_t> kinds;
  std::vector<float> params;
  for (const PostOp& op : ops) {
    kinds.push_back(static_cast<int64_t>(op.kind));
    params.push_back(op.a);
    params.push_back(op.b);
  }
  n->attrs["post_ops"] = kinds;
  n->attrs["post_op_params"] = params;
}

// Makes `f` produce `out` (the last value of an absorbed pattern) and removes the pattern's nodes.
void absorb(ir::Graph& g, ir::Node* f, const std::vector<ir::Node*>& eaten, ir::Value* out) {
  for (ir::Node* n : eaten) g.erase_node(n);
  ir::Value* old = f->outputs[0];
  old->producer = nullptr;
  f->outputs[0] = out;
  out->producer = f;
}

bool is_fused(const ir::Node* n) {
  return n->domain == kernels::kFusedConvDomain &&
         (n->op_type == kernels::kFusedConvOp || n->op_type == kernels::kFusedConvTransposeOp);
}

// Output channels of a fused node, from its weights.
int64_t out_channels(const ir::Node* f) {
  const Shape& w = f->inputs[1]->shape;
  if (f->op_type == kernels::kFusedConvOp) return w[0];
  auto g = f->attr_int("group", 1);
  return w[1] * (g.is_ok() ? *g : 1);
}

Status conv_to_fused(ir::Graph& g, ir::Node* n) {
  const bool transposed = n->op_type == "ConvTranspose";
  if (transposed) {  // only the plain form: explicit pads, no output_shape/output_padding
    auto op = n->attr_ints("output_padding", std::vector<int64_t>{0, 0});
    if (n->has_attr("output_shape") || !op.is_ok() || *op != std::vector<int64_t>{0, 0}) return Status::ok();
    auto ap = n->attr_string("auto_pad", std::string("NOTSET"));
    if (!ap.is_ok() || (*ap != "NOTSET" && *ap != "VALID")) return Status::ok();
  }
  const ir::Value* x = n->input(0);
  const ir::Value* w = n->input(1);
  const ir::Value* b = n->input(2);
  // Weights are constant, or int8 constants behind a DequantizeLinear (QDQ models; fuse_qdq).
  const bool w_known = w && (w->is_constant() || (w->producer && is_weight_dequantize(*w->producer)));
  if (!x || !w_known || x->dtype != DType::f32 || x->shape.rank() != 4 || w->shape.rank() != 4) return Status::ok();
  if (b && !b->is_constant()) return Status::ok();
  EP_ASSIGN_OR_RETURN(std::string auto_pad, n->attr_string("auto_pad", std::string("NOTSET")));
  EP_ASSIGN_OR_RETURN(std::vector<int64_t> strides, n->attr_ints("strides", std::vector<int64_t>{1, 1}));
  EP_ASSIGN_OR_RETURN(std::vector<int64_t> dil, n->attr_ints("dilations", std::vector<int64_t>{1, 1}));
  EP_ASSIGN_OR_RETURN(std::vector<int64_t> pads, n->attr_ints("pads", std::vector<int64_t>{0, 0, 0, 0}));
  EP_ASSIGN_OR_RETURN(int64_t group, n->attr_int("group", 1));
  if (strides.size() != 2 || dil.size() != 2 || pads.size() != 4) return Status::ok();  // the ref kernel reports it
  const ir::Value* y = n->output(0);
  if (!transposed && (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER")) {
    for (int i = 0; i < 2; ++i) {
      const int64_t in = x->shape[2 + i], out = y->shape[2 + i], k = (w->shape[2 + i] - 1) * dil[i] + 1;
      const int64_t total = std::max<int64_t>(0, (out - 1) * strides[i] + k - in);
      pads[i] = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      pads[i + 2] = total - pads[i];
    }
  } else if (auto_pad == "VALID") {
    pads = {0, 0, 0, 0};
  }
  std::vector<ir::Value*> ins = {n->inputs[0], n->inputs[1]};
  if (b) {
    ins.push_back(n->inputs[2]);
  } else {  // an explicit zero bias makes later folding uniform
    const int64_t cout = transposed ? w->shape[1] * group : w->shape[0];
    ir::Value* zb = g.add_value(g.unique_value_name(n->name + "_bias"));
    zb->dtype = DType::f32;
    zb->shape = Shape{cout};
    zb->constant = std::make_shared<const Tensor>(DType::f32, Shape{cout});
    ins.push_back(zb);
  }
  ir::Node* f = g.add_node(n->name, transposed ? kernels::kFusedConvTransposeOp : kernels::kFusedConvOp, ins, {});
  f->domain = kernels::kFusedConvDomain;
  f->opset = 1;
  f->attrs = {{"group", group}, {"strides", strides}, {"dilations", dil}, {"pads", pads},
              {"layout", std::string("NCHW")}, {"post_ops", std::vector<int64_t>{}},
              {"post_op_params", std::vector<float>{}}};
  ir::Value* out = n->outputs[0];
  g.erase_node(n);
  f->outputs = {out};
  out->producer = f;
  return Status::ok();
}

// The weights of a QDQ conv are DequantizeLinear(w_q, s): a per-output-channel scale folds
// into s exactly (w_q stays), when s can be per output channel: Conv, or ConvTranspose
// without groups. Returns the weights with the scale folded in, or nullptr.
ir::Value* fold_into_dequantize(ir::Graph& g, ir::Node* f, const std::vector<double>& scale) {
  const ir::Node* dq = f->inputs[1]->producer;
  const bool transposed = f->op_type == kernels::kFusedConvTransposeOp;
  auto group = f->attr_int("group", 1);
  auto axis = dq->attr_int("axis", 1);
  const ir::Value* s = dq->input(1);
  const ir::Value* w = dq->input(0);
  const int64_t want = transposed ? 1 : 0;
  if (!group.is_ok() || !axis.is_ok() || (transposed && *group != 1) || !s || s->dtype != DType::f32) return nullptr;
  const int64_t cout = static_cast<int64_t>(scale.size());
  if (w->shape[want] != cout) return nullptr;
  if (s->shape.numel() != 1 && (s->shape.numel() != cout || (*axis < 0 ? *axis + 4 : *axis) != want)) return nullptr;
  Tensor ns(DType::f32, Shape{cout});
  for (int64_t o = 0; o < cout; ++o)
    ns.as<float>()[o] =
        static_cast<float>(s->constant->as<float>()[s->shape.numel() == 1 ? 0 : o] * scale[static_cast<size_t>(o)]);
  ir::Value* sv = g.add_value(g.unique_value_name(f->name + "_w_scale"));
  sv->dtype = DType::f32;
  sv->shape = Shape{cout};
  sv->constant = std::make_shared<const Tensor>(std::move(ns));
  ir::Value* out = g.add_value(g.unique_value_name(f->name + "_w"));
  out->dtype = DType::f32;
  out->shape = f->inputs[1]->shape;
  std::vector<ir::Value*> ins = {dq->inputs[0], sv};
  if (const ir::Value* z = dq->input(2)) {  // the zero point gets the scale's shape
    const size_t es = dtype_size(z->dtype);
    Tensor nz(z->dtype, Shape{cout});
    for (int64_t o = 0; o < cout; ++o)
      std::memcpy(static_cast<char*>(nz.data()) + o * es,
                  static_cast<const char*>(z->constant->data()) + (z->shape.numel() == 1 ? 0 : o) * es, es);
    ir::Value* zv = g.add_value(g.unique_value_name(f->name + "_w_zero"));
    zv->dtype = z->dtype;
    zv->shape = Shape{cout};
    zv->constant = std::make_shared<const Tensor>(std::move(nz));
    ins.push_back(zv);
  }
  ir::Node* n = g.add_node(g.unique_value_name(dq->name + "_folded"), "DequantizeLinear", ins, {out});
  n->opset = dq->opset;
  n->attrs = dq->attrs;
  n->attrs["axis"] = want;
  return out;
}

// Whether fold_into_dequantize can take a per-channel scale for this conv's QDQ weights.
bool dequantize_foldable(const ir::Node* f) {
  const ir::Node* dq = f->inputs[1]->producer;
  if (!is_op(dq, "DequantizeLinear") || !f->inputs[2]->is_constant()) return false;
  for (const ir::Value* v : dq->inputs)
    if (v && !v->is_constant()) return false;
  if (dq->input(0)->dtype != DType::i8 || dq->input(0)->shape.rank() != 4) return false;
  auto block = dq->attr_int("block_size", 0);
  if (!block.is_ok() || *block != 0) return false;
  const bool transposed = f->op_type == kernels::kFusedConvTransposeOp;
  auto group = f->attr_int("group", 1);
  auto axis = dq->attr_int("axis", 1);
  const ir::Value* s = dq->input(1);
  if (!group.is_ok() || !axis.is_ok() || (transposed && *group != 1) || !s || s->dtype != DType::f32) return false;
  const int64_t want = transposed ? 1 : 0;
  return s->shape.numel() == 1 || (s->shape.numel() == out_channels(f) && (*axis < 0 ? *axis + 4 : *axis) == want);
}

// Folds out = x * scale[c] + shift[c] into the conv's weights and bias.
void fold_affine(ir::Graph& g, ir::Node* f, const std::vector<double>& scale, const std::vector<double>& shift) {
  if (!f->inputs[1]->is_constant()) {  // QDQ weights; try_fold_linear checked fold_into_dequantize works
    ir::Value* w = fold_into_dequantize(g, f, scale);
    const Tensor& b = *f->inputs[2]->constant;
    Tensor nb = b.clone();
    for (int64_t o = 0; o < b.numel(); ++o)
      nb.as<float>()[o] = static_cast<float>(b.as<float>()[o] * scale[o] + shift[o]);
    ir::Value* bv = g.add_value(g.unique_value_name(f->name + "_b"));
    bv->dtype = DType::f32;
    bv->shape = b.shape();
    bv->constant = std::make_shared<const Tensor>(std::move(nb));
    for (int k : {1, 2}) ir::set_input(f, static_cast<size_t>(k), k == 1 ? w : bv);
    return;
  }
  const Tensor& w = *f->inputs[1]->constant;
  const Tensor& b = *f->inputs[2]->constant;
  Tensor nw = w.clone(), nb = b.clone();
  const int64_t cout = b.numel(), taps = w.shape()[2] * w.shape()[3];
  // Conv weights [Cout, Cin/g, k, k]; ConvTranspose weights [Cin, Cout/g, k, k].
  const bool transposed = f->op_type == kernels::kFusedConvTransposeOp;
  const int64_t rows = w.shape()[0], cols = w.shape()[1], cout_g = transposed ? cols : 0;
  const int64_t cin_g = transposed ? rows / (cout / cout_g) : 0;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      const int64_t o = transposed ? (r / cin_g) * cout_g + c : r;
      for (int64_t t = 0; t < taps; ++t) {
        float& v = nw.as<float>()[(r * cols + c) * taps + t];
        v = static_cast<float>(v * scale[o]);
      }
    }
  for (int64_t o = 0; o < cout; ++o) nb.as<float>()[o] = static_cast<float>(b.as<float>()[o] * scale[o] + shift[o]);
  for (int k : {1, 2}) {
    ir::Value* v = g.add_value(g.unique_value_name(f->name + (k == 1 ? "_w" : "_b")));
    v->dtype = DType::f32;
    v->shape = k == 1 ? w.shape() : b.shape();
    v->constant = std::make_shared<const Tensor>(std::move(k == 1 ? nw : nb));
    ir::set_input(f, static_cast<size_t>(k), v);
  }
}

// Tries to fold a BatchNormalization or per-channel Mul/Add into a conv without post-ops.
bool try_fold_linear(ir::Graph& g, ir::Node* f) {
  if (!read_post_ops(f).empty()) return false;
  if (!f->inputs[1]->is_constant() && !dequantize_foldable(f)) return false;
  ir::Value* y = f->outputs[0];
  ir::Node* r = sole_reader(y);
  const int64_t c = out_channels(f);
  if (is_op(r, "BatchNormalization") && r->inputs.size() == 5 && r->inputs[0] == y && r->outputs.size() >= 1) {
    for (size_t i = 1; i < r->outputs.size(); ++i)
      if (r->outputs[i]) return false;  // training outputs
    auto s = channel_constant(r->inputs[1], c, true), bb = channel_constant(r->inputs[2], c, true);
    auto m = channel_constant(r->inputs[3], c, true), v = channel_constant(r->inputs[4], c, true);
    auto eps = r->attr_float("epsilon", 1e-5f);
    auto spatial = r->attr_int("spatial", 1);
    if (!s || !bb || !m || !v || !eps.is_ok() || !spatial.is_ok() || *spatial != 1) return false;
    std::vector<double> scale(c), shift(c);
    for (int64_t i = 0; i < c; ++i) {
      scale[i] = (*s)[i] / std::sqrt(static_cast<double>((*v)[i]) + *eps);
      shift[i] = (*bb)[i] - (*m)[i] * scale[i];
    }
    fold_affine(g, f, scale, shift);
    absorb(g, f, {r}, r->outputs[0]);
    return true;
  }
  if ((is_op(r, "Mul") || is_op(r, "Add")) && r->outputs[0] && r->outputs[0]->shape == y->shape) {
    auto k = channel_constant(other_operand(r, y), c);
    if (!k) return false;
    const bool mul = is_op(r, "Mul");
    const std::vector<double> kd(k->begin(), k->end());
    fold_affine(g, f, mul ? kd : std::vector<double>(c, 1.0), mul ? std::vector<double>(c, 0.0) : kd);
    absorb(g, f, {r}, r->outputs[0]);
    return true;
  }
  return false;
}

// True when `v` can be computed without the output of `f` (so f may read it).
bool independent_of(const ir::Value* v, const ir::Node* f) {
  std::unordered_set<const ir::Node*> seen;
  std::vector<const ir::Value*> stack = {v};
  while (!stack.empty()) {
    const ir::Value* cur = stack.back();
    stack.pop_back();
    const ir::Node* p = cur ? cur->producer : nullptr;
    if (!p || !seen.insert(p).second) continue;
    if (p == f) return false;
    for (const ir::Value* in : p->inputs) stack.push_back(in);
  }
  return true;
}

std::optional<std::pair<float, float>> clip_bounds(const ir::Node* n) {
  if (n->opset < 11) {
    auto lo = n->attr_float("min", -3.4e38f), hi = n->attr_float("max", 3.4e38f);
    if (!lo.is_ok() || !hi.is_ok()) return std::nullopt;
    return std::make_pair(*lo, *hi);
  }
  float lo = -3.4e38f, hi = 3.4e38f;
  if (n->input(1)) {
    auto v = scalar_constant(n->input(1));
    if (!v) return std::nullopt;
    lo = *v;
  }
  if (n->input(2)) {
    auto v = scalar_constant(n->input(2));
    if (!v) return std::nullopt;
    hi = *v;
  }
  return std::make_pair(lo, hi);
}

// x*clip(x+3,0,6)/6 (or *1/6) reading y. Returns the nodes and the final value.
std::optional<std::pair<std::vector<ir::Node*>, ir::Value*>> match_hard_swish(ir::Value* y) {
  if (y->is_graph_output || y->consumers.size() != 2) return std::nullopt;
  ir::Node* add = nullptr;
  ir::Node* mul = nullptr;
  for (ir::Node* c : y->consumers) {
    if (is_op(c, "Add")) add = c;
    if (is_op(c, "Mul")) mul = c;
  }
  if (!add || !mul) return std::nullopt;
  auto three = scalar_constant(other_operand(add, y));
  ir::Node* clip = sole_reader(add->outputs[0]);
  if (!three || *three != 3.f || !is_op(clip, "Clip") || clip->inputs[0] != add->outputs[0]) return std::nullopt;
  auto bounds = clip_bounds(clip);
  if (!bounds || bounds->first != 0.f || bounds->second != 6.f) return std::nullopt;
  if (other_operand(mul, y) != clip->outputs[0] || sole_reader(clip->outputs[0]) != mul) return std::nullopt;
  ir::Node* scale = sole_reader(mul->outputs[0]);
  if (!scale) return std::nullopt;
  auto k = scalar_constant(other_operand(scale, mul->outputs[0]));
  if (!k || !((is_op(scale, "Div") && *k == 6.f && scale->inputs[0] == mul->outputs[0]) ||
              (is_op(scale, "Mul") && std::fabs(*k - 1.f / 6.f) < 1e-7f)))
    return std::nullopt;
  return std::make_pair(std::vector<ir::Node*>{add, clip, mul, scale}, scale->outputs[0]);
}

// The post-ops of a one-input activation node, or nothing for any other node.
std::optional<std::vector<PostOp>> activation_post_ops(const ir::Node* r) {
  if (is_op(r, "Relu")) return std::vector<PostOp>{{PostOpKind::relu}};
  if (is_op(r, "Sigmoid")) return std::vector<PostOp>{{PostOpKind::sigmoid}};
  if (is_op(r, "HardSwish")) return std::vector<PostOp>{{PostOpKind::hard_swish}};
  if (is_op(r, "Clip")) {
    auto b = clip_bounds(r);
    if (b) return std::vector<PostOp>{{PostOpKind::clip, b->first, b->second}};
  }
  if (is_op(r, "HardSigmoid")) {
    auto alpha = r->attr_float("alpha", 0.2f), beta = r->attr_float("beta", 0.5f);
    if (alpha.is_ok() && beta.is_ok())
      return std::vector<PostOp>{{PostOpKind::linear, *alpha, *beta}, {PostOpKind::clip, 0.f, 1.f}};
  }
  return std::nullopt;
}

// An activation after a chain of data movements (Reshape, Transpose, Squeeze, Unsqueeze,
// Flatten), each read only by the next: conv -> Reshape -> Transpose -> Sigmoid in YOLOv5's
// detect head. An element-wise function commutes with moving the elements, so it becomes a
// post-op and the last movement writes the activation's output.
bool try_fuse_past_movement(ir::Graph& g, ir::Node* f, std::vector<PostOp>& ops) {
  ir::Node* last = nullptr;
  for (ir::Node* r = sole_reader(f->outputs[0]); r; r = sole_reader(r->outputs[0])) {
    const bool movement = is_op(r, "Reshape") || is_op(r, "Transpose") || is_op(r, "Squeeze") ||
                          is_op(r, "Unsqueeze") || is_op(r, "Flatten");
    if (movement && r->outputs.size() == 1 && r->inputs[0] == (last ? last->outputs[0] : f->outputs[0])) {
      last = r;
      continue;
    }
    if (!last || r->outputs.size() != 1 || r->inputs.empty() || r->inputs[0] != last->outputs[0]) return false;
    auto act = activation_post_ops(r);
    if (!act) return false;
    ops.insert(ops.end(), act->begin(), act->end());
    write_post_ops(f, ops);
    ir::Value* moved = last->outputs[0];
    ir::Value* out = r->outputs[0];
    g.erase_node(r);
    moved->producer = nullptr;
    last->outputs[0] = out;
    out->producer = last;
    return true;
  }
  return false;
}

// Tries to turn what reads the conv's output into a post-op.
bool try_fuse_post_op(ir::Graph& g, ir::Node* f) {
  ir::Value* y = f->outputs[0];
  std::vector<PostOp> ops = read_post_ops(f);
  if (try_fuse_past_movement(g, f, ops)) return true;
  if (auto hs = match_hard_swish(y)) {
    ops.push_back({PostOpKind::hard_swish});
    write_post_ops(f, ops);
    absorb(g, f, hs->first, hs->second);
    return true;
  }
  if (!y->is_graph_output && y->consumers.size() == 2) {  // x * sigmoid(x)
    ir::Node* sig = is_op(y->consumers[0], "Sigmoid") ? y->consumers[0] : y->consumers[1];
    ir::Node* mul = sig == y->consumers[0] ? y->consumers[1] : y->consumers[0];
    if (is_op(sig, "Sigmoid") && is_op(mul, "Mul") && sole_reader(sig->outputs[0]) == mul &&
        other_operand(mul, y) == sig->outputs[0]) {
      ops.push_back({PostOpKind::swish});
      write_post_ops(f, ops);
      absorb(g, f, {sig, mul}, mul->outputs[0]);
      return true;
    }
  }
  ir::Node* r = sole_reader(y);
  if (!r || !r->outputs[0] || r->outputs.size() != 1 || r->inputs.empty() || r->outputs[0]->shape != y->shape) return false;
  if (auto act = r->inputs[0] == y ? activation_post_ops(r) : std::nullopt) {
    ops.insert(ops.end(), act->begin(), act->end());
  } else if (is_op(r, "Mul") || is_op(r, "Add") || (is_op(r, "Div") && r->inputs[0] == y) ||
             (is_op(r, "Sub") && r->inputs[0] == y)) {
    ir::Value* other = other_operand(r, y);
    if (auto k = scalar_constant(other)) {
      if (is_op(r, "Mul")) ops.push_back({PostOpKind::linear, *k, 0.f});
      else if (is_op(r, "Add")) ops.push_back({PostOpKind::linear, 1.f, *k});
      else if (is_op(r, "Sub")) ops.push_back({PostOpKind::linear, 1.f, -*k});
      else ops.push_back({PostOpKind::linear, 1.f / *k, 0.f});
    } else if (is_op(r, "Add") && other && other->shape == y->shape && other->dtype == DType::f32 && f->inputs.size() == 3 &&
               independent_of(other, f)) {
      ops.push_back({PostOpKind::residual});
      f->inputs.push_back(other);
      other->consumers.push_back(f);
    } else {
      return false;
    }
  } else {
    return false;
  }
  write_post_ops(f, ops);
  absorb(g, f, {r}, r->outputs[0]);
  return true;
}

}  // namespace

Status fuse_conv(ir::Graph& g) {
  std::vector<ir::Node*> convs;
  for (const auto& n : g.nodes())
    if (is_op(n.get(), "Conv") || is_op(n.get(), "ConvTranspose")) convs.push_back(n.get());
  if (convs.empty()) return Status::ok();
  g.opsets[kernels::kFusedConvDomain] = 1;
  for (ir::Node* n : convs) EP_RETURN_IF_ERROR(conv_to_fused(g, n));
  std::vector<ir::Node*> fused;
  for (const auto& n : g.nodes())
    if (is_fused(n.get())) fused.push_back(n.get());
  for (ir::Node* f : fused) {
    while (try_fold_linear(g, f)) {
    }
    while (try_fuse_post_op(g, f)) {
    }
  }
  g.erase_unused_values();
  return g.topological_sort();
}

}  // namespace ep::passes
