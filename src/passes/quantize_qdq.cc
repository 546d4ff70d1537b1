// Runs QDQ models on int8 kernels. After fuse_conv and layout_nhwc a quantized convolution reads
//   x_q -> DequantizeLinear(s_x, z_x) -> FusedConv(W = DequantizeLinear(w_q, s_w[c]), B, post-ops)
//       -> QuantizeLinear(s_y, z_y) -> y_q
// and becomes one int8 FusedConv from x_q to y_q (precision "int8", the scales and zero points
// as attributes; see kernels/fused_conv.h). Without the QuantizeLinear after it the conv still
// runs int8 and writes f32. Consecutive quantized convs so pass u8/s8 NHWC activations with
// no dequantize/quantize between them; the DequantizeLinear nodes nobody reads any more go.
// The fake-quant graph (what backend=ref runs) is the oracle: the int8 kernel computes the
// same values up to the accumulation order, so outputs agree within one quantization step.
#include <algorithm>
#include <optional>

#include "kernels/fused_conv.h"
#include "kernels/kernel.h"
#include "kernels/onednn/onednn_kernels.h"
#include "passes/passes.h"

namespace ep::passes {
namespace {

bool is_op(const ir::Node* n, const char* op) { return n && n->domain.empty() && n->op_type == op; }

bool is_int8(DType d) { return d == DType::u8 || d == DType::i8; }

struct QuantParams {
  float scale = 1.f;
  int32_t zero = 0;
  DType dtype = DType::undefined;  // the quantized side's type
};

// Scale and zero point of a per-tensor QuantizeLinear/DequantizeLinear with constant parameters.
std::optional<QuantParams> per_tensor(const ir::Node* n) {
  const ir::Value* s = n->input(1);
  const ir::Value* z = n->input(2);
  auto block = n->attr_int("block_size", 0);
  if (!block.is_ok() || *block != 0) return std::nullopt;
  if (!s || !s->is_constant() || s->dtype != DType::f32 || s->shape.numel() != 1) return std::nullopt;
  QuantParams q;
  q.scale = s->constant->as<float>()[0];
  q.dtype = is_op(n, "DequantizeLinear") ? (n->input(0) ? n->input(0)->dtype : DType::undefined)
                                         : (n->output(0) ? n->output(0)->dtype : DType::undefined);
  if (!is_int8(q.dtype) || !(q.scale > 0.f)) return std::nullopt;
  if (z) {
    if (!z->is_constant() || z->dtype != q.dtype || z->shape.numel() != 1) return std::nullopt;
    q.zero = q.dtype == DType::u8 ? z->constant->as<uint8_t>()[0] : z->constant->as<int8_t>()[0];
  }
  return q;
}

// Per-output-channel scales of symmetric int8 weights: DequantizeLinear(w_q, s) with zero
// points 0, per tensor or along the output-channel axis (0 for Conv, 1 for ConvTranspose).
std::optional<std::vector<float>> weight_scales(const ir::Node* dq, bool transposed, int64_t group) {
  const ir::Value* w = dq->input(0);
  const ir::Value* s = dq->input(1);
  const ir::Value* z = dq->input(2);
  if (!w || !w->is_constant() || w->dtype != DType::i8 || w->shape.rank() != 4) return std::nullopt;
  if (!s || !s->is_constant() || s->dtype != DType::f32) return std::nullopt;
  auto block = dq->attr_int("block_size", 0);
  if (!block.is_ok() || *block != 0) return std::nullopt;  // blocked (int4) weights are folded to f32
  if (z) {
    if (!z->is_constant() || z->dtype != DType::i8) return std::nullopt;
    const int8_t* zp = z->constant->as<int8_t>();
    if (std::any_of(zp, zp + z->shape.numel(), [](int8_t v) { return v != 0; })) return std::nullopt;
  }
  const float* sp = s->constant->as<float>();
  std::vector<float> scales(sp, sp + s->shape.numel());
  if (scales.size() == 1) return scales;
  auto axis = dq->attr_int("axis", 1);
  if (!axis.is_ok()) return std::nullopt;
  const int64_t a = *axis < 0 ? *axis + 4 : *axis;
  const int64_t want = transposed ? 1 : 0;
  if (a != want || (transposed && group != 1) || static_cast<int64_t>(scales.size()) != w->shape[want]) return std::nullopt;
  return scales;
}

// Rewrites one FusedConv into its int8 form when its input and weights are dequantized.
bool try_int8(ir::Graph& g, ir::Node* f) {
  auto prec = f->attr_string("precision", std::string("f32"));
  if (!prec.is_ok() || *prec != "f32" || f->inputs.size() < 3) return false;
  const ir::Node* dx = f->inputs[0] ? f->inputs[0]->producer : nullptr;
  // At the graph's input the layout pass leaves Transpose(DequantizeLinear(x_q)) before the
  // conv; transposing x_q instead (a quarter of the bytes) lets the conv read it quantized.
  const ir::Node* to_nhwc = nullptr;
  if (is_op(dx, "Transpose") && dx->outputs[0]->consumers.size() == 1 && !dx->outputs[0]->is_graph_output) {
    auto perm = dx->attr_ints("perm", std::vector<int64_t>{});
    if (perm.is_ok() && *perm == std::vector<int64_t>{0, 2, 3, 1}) {
      to_nhwc = dx;
      dx = dx->inputs[0] ? dx->inputs[0]->producer : nullptr;
    }
  }
  const ir::Node* dw = f->inputs[1] ? f->inputs[1]->producer : nullptr;
  if (!is_op(dx, "DequantizeLinear") || !is_op(dw, "DequantizeLinear")) return false;
  const auto xq = per_tensor(dx);
  const bool transposed = f->op_type == kernels::kFusedConvTransposeOp;
  auto group = f->attr_int("group", 1);
  if (!xq || !group.is_ok()) return false;
  const auto ws = weight_scales(dw, transposed, *group);
  const ir::Value* b = f->inputs[2];
  if (!ws || !b || !b->is_constant() || b->dtype != DType::f32) return false;
  // Without VNNI oneDNN's int8 sums saturate for 8-bit weights: such a conv stays the f32
  // fake-quant conv (exact; what ONNX Runtime's quantizer's reduce_range avoids by writing
  // 7-bit weights, which run int8 here).
  const ir::Value* w_q = dw->inputs[0];
  if (!kernels::onednn_int8_conv_exact(dx->inputs[0]->dtype, w_q->constant->as<int8_t>(), w_q->shape.numel()))
    return false;
  if (f->inputs.size() > 3 && f->inputs[3] && f->inputs[3]->dtype != DType::f32) return false;
  // The QuantizeLinear after it, when it is the conv output's only reader.
  ir::Value* y = f->outputs[0];
  ir::Node* q = (!y->is_graph_output && y->consumers.size() == 1) ? y->consumers[0] : nullptr;
  std::optional<QuantParams> yq;
  if (is_op(q, "QuantizeLinear") && q->inputs[0] == y) yq = per_tensor(q);
  f->attrs["precision"] = std::string("int8");
  f->attrs["x_scale"] = xq->scale;
  f->attrs["x_zero_point"] = int64_t{xq->zero};
  f->attrs["w_scales"] = *ws;
  ir::Value* xq_value = dx->inputs[0];
  ir::Node* shared = nullptr;  // the same Transpose of x_q made for another conv
  for (ir::Node* c : xq_value->consumers)
    if (to_nhwc && is_op(c, "Transpose") && c->attrs == to_nhwc->attrs && !c->outputs[0]->is_graph_output) shared = c;
  if (shared) {
    xq_value = shared->outputs[0];
  } else if (to_nhwc) {
    ir::Value* t = g.add_value(g.unique_value_name(xq_value->name + "_nhwc"));
    t->dtype = xq_value->dtype;
    t->shape = to_nhwc->outputs[0]->shape;
    ir::Node* tn = g.add_node(g.unique_value_name(xq_value->name + "_transpose"), "Transpose", {xq_value}, {t});
    tn->opset = to_nhwc->opset;
    tn->attrs = to_nhwc->attrs;
    xq_value = t;
  }
  ir::set_input(f, 0, xq_value);
  ir::set_input(f, 1, dw->inputs[0]);
  if (!yq) {
    f->attrs["output_dtype"] = std::string("f32");
    return true;
  }
  f->attrs["output_dtype"] = std::string(yq->dtype == DType::u8 ? "u8" : "i8");
  f->attrs["y_scale"] = yq->scale;
  f->attrs["y_zero_point"] = int64_t{yq->zero};
  ir::Value* out = q->outputs[0];
  g.erase_node(q);
  y->producer = nullptr;
  f->outputs[0] = out;
  out->producer = f;
  return true;
}

// Q(Concat(a, b)) = Concat(Q(a), Q(b)) and Q(Resize_nearest(x)) = Resize_nearest(Q(x)) exactly,
// for one per-tensor quantizer: moving the QuantizeLinear above them makes Concat and Resize
// move u8 instead of f32, quantizes the smaller tensors before an upsampling, and can land it
// on a conv, which then requantizes in its epilogue. Returns whether `q` moved.
bool hoist_quantize(ir::Graph& g, ir::Node* q) {
  const auto qp = per_tensor(q);
  ir::Value* in = q->inputs[0];
  ir::Node* p = in ? in->producer : nullptr;
  if (!qp || !p || in->is_graph_output || in->consumers.size() != 1 || in->dtype != DType::f32) return false;
  std::vector<size_t> data;  // the inputs whose elements p moves
  if (is_op(p, "Concat")) {
    for (size_t i = 0; i < p->inputs.size(); ++i) data.push_back(i);
  } else if (is_op(p, "Resize")) {
    auto mode = p->attr_string("mode", std::string("nearest"));
    if (!mode.is_ok() || *mode != "nearest") return false;
    data.push_back(0);
  } else {
    return false;
  }
  for (size_t i : data)
    if (!p->inputs[i] || p->inputs[i]->dtype != DType::f32) return false;
  ir::Value* out = q->outputs[0];
  for (size_t i : data) {
    ir::Value* x = p->inputs[i];
    ir::Value* xq = g.add_value(g.unique_value_name(x->name + "_quantized"));
    xq->dtype = out->dtype;
    xq->shape = x->shape;
    std::vector<ir::Value*> ins = {x, q->inputs[1]};
    if (q->input(2)) ins.push_back(q->inputs[2]);
    ir::Node* nq = g.add_node(g.unique_value_name(q->name + "_hoisted"), "QuantizeLinear", ins, {xq});
    nq->opset = q->opset;
    nq->attrs = q->attrs;
    ir::set_input(p, i, xq);
  }
  g.erase_node(q);
  in->producer = nullptr;
  p->outputs[0] = out;
  out->producer = p;
  return true;
}

// DequantizeLinear of constant weights that no int8 kernel took: folded like any constant.
Status fold_constant_dequantize(ir::Graph& g) {
  std::vector<ir::Node*> todo;
  for (const auto& n : g.nodes())
    if (is_op(n.get(), "DequantizeLinear") &&
        std::all_of(n->inputs.begin(), n->inputs.end(), [](const ir::Value* v) { return !v || v->is_constant(); }))
      todo.push_back(n.get());
  for (ir::Node* n : todo) {
    std::vector<const Tensor*> ins;
    for (const ir::Value* v : n->inputs) ins.push_back(v ? v->constant.get() : nullptr);
    auto outs = kernels::evaluate_node(*n, ins);
    if (!outs.is_ok()) return outs.status().with_context(n->label());
    n->outputs[0]->constant = std::make_shared<const Tensor>(std::move((*outs)[0]));
    g.erase_node(n);
  }
  return Status::ok();
}

// Ops fuse_conv can fold into a conv or turn into its post-ops.
bool fusable(const ir::Node* c) {
  static const char* const ops[] = {"Relu", "Clip", "HardSigmoid", "HardSwish", "Sigmoid", "Mul", "Add", "Sub", "Div",
                                    "BatchNormalization"};
  return std::any_of(std::begin(ops), std::end(ops), [&](const char* op) { return is_op(c, op); });
}

bool quantizable(const ir::Node* c) {
  return is_op(c, "Conv") || is_op(c, "ConvTranspose") || is_op(c, "MatMul") || is_op(c, "Gemm");
}

}  // namespace

Status drop_conv_output_qdq(ir::Graph& g) {
  std::vector<ir::Node*> pairs;
  for (const auto& n : g.nodes()) {
    ir::Node* conv = n.get();
    if (!is_op(conv, "Conv") && !is_op(conv, "ConvTranspose")) continue;
    ir::Value* y = conv->output(0);
    if (!y || y->is_graph_output || y->consumers.size() != 1) continue;
    ir::Node* q = y->consumers[0];
    if (!is_op(q, "QuantizeLinear") || !per_tensor(q) || q->outputs[0]->is_graph_output) continue;
    ir::Value* yq = q->outputs[0];
    if (yq->consumers.size() != 1 || !is_op(yq->consumers[0], "DequantizeLinear")) continue;
    ir::Node* dq = yq->consumers[0];
    ir::Value* yd = dq->outputs[0];
    if (yd->is_graph_output || yd->consumers.empty()) continue;
    if (std::any_of(yd->consumers.begin(), yd->consumers.end(), quantizable) ||
        std::none_of(yd->consumers.begin(), yd->consumers.end(), fusable))
      continue;
    pairs.push_back(dq);
  }
  for (ir::Node* dq : pairs) {
    ir::Value* yd = dq->outputs[0];
    ir::Value* y = dq->inputs[0]->producer->inputs[0];
    g.replace_all_uses(yd, y);
  }
  if (pairs.empty()) return Status::ok();
  return eliminate_dead_code(g);
}

bool is_weight_dequantize(const ir::Node& n) {
  if (!is_op(&n, "DequantizeLinear") || n.outputs.size() != 1 || !n.outputs[0]) return false;
  const ir::Value* w = n.input(0);
  if (!w || !w->is_constant() || w->dtype != DType::i8) return false;
  for (const ir::Value* v : n.inputs)
    if (v && !v->is_constant()) return false;
  const ir::Value* out = n.outputs[0];
  if (out->is_graph_output || out->consumers.empty()) return false;
  for (const ir::Node* c : out->consumers) {
    const bool quantizable = is_op(c, "Conv") || is_op(c, "ConvTranspose") || is_op(c, "MatMul") || is_op(c, "Gemm");
    if (!quantizable || c->input(1) != out || c->input(0) == out || c->input(2) == out) return false;
  }
  return true;
}

Status fuse_qdq(ir::Graph& g) {
  for (bool moved = true; moved;) {  // until every QuantizeLinear sits below what it cannot pass
    moved = false;
    std::vector<ir::Node*> qs;
    for (const auto& n : g.nodes())
      if (is_op(n.get(), "QuantizeLinear")) qs.push_back(n.get());
    for (ir::Node* q : qs)
      if (hoist_quantize(g, q)) {
        moved = true;
        break;  // node pointers may be stale
      }
  }
  EP_RETURN_IF_ERROR(g.topological_sort());
  std::vector<ir::Node*> convs;
  for (const auto& n : g.nodes())
    if (n->domain == kernels::kFusedConvDomain &&
        (n->op_type == kernels::kFusedConvOp || n->op_type == kernels::kFusedConvTransposeOp))
      convs.push_back(n.get());
  for (ir::Node* f : convs) try_int8(g, f);
  EP_RETURN_IF_ERROR(fold_constant_dequantize(g));
  EP_RETURN_IF_ERROR(eliminate_dead_code(g));
  return g.topological_sort();
}

}  // namespace ep::passes
