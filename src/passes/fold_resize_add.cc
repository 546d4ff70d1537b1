// Add(A, Resize(X)) -> edgepipe.ResizeAdd(A, X, roi, scales, sizes); see passes.h. In the
// PP-OCRv4 detector's neck the 80x80 -> 160x160 upsample of 96 channels (2.4 -> 9.8 MB) was
// written, then read back by the Add with the 9.8 MB lateral: ~49 MB moved where the fused
// step moves ~22. In a QDQ model the sum's only reader is a QuantizeLinear: the step takes its
// scale and zero point (inputs 5 and 6) and writes the quantized tensor (9.8 MB written and
// read back less). An A made by a ScaleAdd (x + x * s, s one value per channel: the RSE
// layers' squeeze-excite residual) that only this Add reads is computed by the step too, from
// x and s (input 7): A is never written (another 2 x 9.8 MB at 160x160 in f32).
#include <algorithm>

#include "kernels/cpu/cpu_kernels.h"
#include "kernels/fused_conv.h"
#include "passes/passes.h"

namespace ep::passes {
namespace {

bool is_onnx(const ir::Node* n, const char* op) { return n && n->domain.empty() && n->op_type == op; }

// The Resize's scales (input 2) or sizes (input 3) as the fast kernel reads them: constants
// with one entry per axis of X.
bool constant_geometry(const ir::Node* r) {
  const ir::Value* x = r->input(0);
  const size_t rank = x->shape.rank();
  const ir::Value* sizes = r->inputs.size() > 3 ? r->input(3) : nullptr;
  const ir::Value* scales = r->inputs.size() > 2 ? r->input(2) : nullptr;
  if (sizes && sizes->shape.numel() > 0)
    return sizes->is_constant() && static_cast<size_t>(sizes->shape.numel()) == rank;
  return scales && scales->is_constant() && scales->dtype == DType::f32 &&
         static_cast<size_t>(scales->shape.numel()) == rank;
}

// A per-tensor QuantizeLinear with constant scale and zero point (u8 or i8), the one reader
// of the f32 `y`, that ResizeAdd can compute (kernels/cpu/quantize.h): or nullptr.
ir::Node* quantizer_after(const ir::Value* y) {
  if (y->dtype != DType::f32 || y->is_graph_output || y->consumers.size() != 1) return nullptr;
  ir::Node* q = y->consumers[0];
  if (!is_onnx(q, "QuantizeLinear") || q->inputs.empty() || q->inputs[0] != y || q->outputs.size() != 1 ||
      !q->outputs[0])
    return nullptr;
  const ir::Value* s = q->input(1);
  const ir::Value* z = q->inputs.size() > 2 ? q->input(2) : nullptr;
  auto block = q->attr_int("block_size", 0);
  if (!block.is_ok() || *block != 0 || !s || !s->is_constant() || s->dtype != DType::f32 || s->shape.numel() != 1)
    return nullptr;
  const DType t = q->outputs[0]->dtype;
  if (z ? (!z->is_constant() || z->dtype != t || z->shape.numel() != 1) : t != DType::u8) return nullptr;
  return (t == DType::u8 || t == DType::i8) && s->constant->as<float>()[0] > 0.f ? q : nullptr;
}

// A = edgepipe.ScaleAdd(x, s), read only by the Add, s one value per channel of the last axis
// ([1, .., 1, C]), all f32 or (a bf16 session's) x and A bf16 with s bf16 or f32: the
// ScaleAdd, or nullptr.
ir::Node* scale_add_before(const ir::Value* a) {
  ir::Node* n = a->producer;
  if (!n || n->domain != "edgepipe" || n->op_type != "ScaleAdd" || n->inputs.size() != 2 || a->is_graph_output ||
      a->consumers.size() != 1 || (a->dtype != DType::f32 && a->dtype != DType::bf16))
    return nullptr;
  const ir::Value* x = n->input(0);
  const ir::Value* s = n->input(1);
  if (!x || !s || x->dtype != a->dtype || x->shape != a->shape || a->shape.rank() == 0 ||
      !(s->dtype == a->dtype || (a->dtype == DType::bf16 && s->dtype == DType::f32)))
    return nullptr;
  const int64_t c = a->shape[a->shape.rank() - 1];
  if (s->shape.rank() == 0 || s->shape.rank() > a->shape.rank() || s->shape[s->shape.rank() - 1] != c ||
      s->shape.numel() != c)
    return nullptr;
  return n;
}

}  // namespace

Status fold_resize_add(ir::Graph& g) {
  auto opset = g.opsets.find("");
  if (opset == g.opsets.end() || opset->second < 11) return Status::ok();  // the fast Resize's
  std::vector<ir::Node*> adds;
  for (const auto& n : g.nodes())
    if (is_onnx(n.get(), "Add")) adds.push_back(n.get());
  bool changed = false;
  for (ir::Node* add : adds) {
    if (add->inputs.size() != 2 || add->outputs.size() != 1 || !add->outputs[0]) continue;
    const ir::Value* y = add->outputs[0];
    for (size_t k = 0; k < 2; ++k) {
      ir::Value* up = add->input(1 - k);
      ir::Value* a = add->input(k);
      ir::Node* r = up ? up->producer : nullptr;
      const DType t = y->dtype;
      if (!a || !is_onnx(r, "Resize") || r->outputs.size() != 1 || up->is_graph_output || up->consumers.size() != 1 ||
          !r->input(0) || (t != DType::f32 && t != DType::bf16) || r->input(0)->dtype != t || a->dtype != t ||
          up->dtype != t || a->shape != y->shape || up->shape != y->shape || a == up ||
          !kernels::cpu::resize_nearest_form(*r) || !constant_geometry(r))
        continue;
      ir::Node* sa = scale_add_before(a);
      std::vector<ir::Value*> ins = {sa ? sa->input(0) : a};
      for (size_t i = 0; i < r->inputs.size(); ++i) ins.push_back(r->inputs[i]);
      std::map<std::string, ir::AttrValue> attrs = r->attrs;
      ir::Value* out = add->outputs[0];
      ir::Node* q = quantizer_after(out);
      if (q || sa) ins.resize(7, nullptr);
      if (q) {
        ins[5] = q->input(1);
        ins[6] = q->inputs.size() > 2 ? q->input(2) : nullptr;
        out = q->outputs[0];
      }
      if (sa) ins.push_back(sa->input(1));
      const std::string name = add->name;
      if (q) g.erase_node(q);
      if (sa) g.erase_node(sa);
      g.erase_node(add);
      g.erase_node(r);
      add_edgepipe_node(g, name, "ResizeAdd", ins, {out})->attrs = std::move(attrs);
      changed = true;
      break;
    }
  }
  if (!changed) return Status::ok();
  g.erase_unused_values();
  return g.topological_sort();
}

// ScaleAdd -> QuantizeLinear -> ScaleAdd(x, s, y_scale, y_zero_point); see passes.h.
Status fold_quantize_into_scale_add(ir::Graph& g) {
  std::vector<ir::Node*> sums;
  for (const auto& n : g.nodes())
    if (n->domain == "edgepipe" && n->op_type == "ScaleAdd" && n->inputs.size() == 2) sums.push_back(n.get());
  bool changed = false;
  for (ir::Node* n : sums) {
    ir::Value* y = n->outputs.size() == 1 ? n->outputs[0] : nullptr;
    const ir::Value* x = n->input(0);
    const ir::Value* s = n->input(1);
    ir::Node* q = y ? quantizer_after(y) : nullptr;
    if (!q || !x || !s || x->dtype != DType::f32 || s->dtype != DType::f32 || x->shape != y->shape ||
        x->shape.rank() == 0)
      continue;
    const int64_t c = x->shape[x->shape.rank() - 1];  // one value of s per channel of the last axis
    if (c <= 0 || s->shape.numel() != c || s->shape.rank() == 0 || s->shape.rank() > x->shape.rank() ||
        s->shape[s->shape.rank() - 1] != c)
      continue;
    std::vector<ir::Value*> ins = {n->inputs[0], n->inputs[1], q->input(1), q->inputs.size() > 2 ? q->input(2) : nullptr};
    ir::Value* out = q->outputs[0];
    const std::string name = n->name;
    g.erase_node(q);
    g.erase_node(n);
    add_edgepipe_node(g, name, "ScaleAdd", ins, {out});
    changed = true;
  }
  if (!changed) return Status::ok();
  g.erase_unused_values();
  return g.topological_sort();
}

namespace {

// An int8 NHWC FusedConv of a u8 input with constant int8 weights [Cout, Cin, kh, kw] and an
// f32 bias (or none), stride 1, undilated, ungrouped, with an f32 output: the convolutions
// whose output FusedConvResizeAdd (1x1, unpadded) and FusedConvScaleAdd keep out of memory.
bool int8_conv_f32(const ir::Node* c) {
  if (!c || c->domain != "edgepipe" || c->op_type != kernels::kFusedConvOp || c->inputs.size() < 2 ||
      c->inputs.size() > 3 || c->outputs.size() != 1)
    return false;
  const ir::Value* x = c->input(0);
  const ir::Value* w = c->input(1);
  const ir::Value* b = c->input(2);
  auto is = [&](const char* key, const std::string& want, const char* fallback) {
    auto v = c->attr_string(key, std::string(fallback));
    return v.is_ok() && *v == want;
  };
  auto ints = [&](const char* key, std::vector<int64_t> want) {
    auto v = c->attr_ints(key, want);
    return v.is_ok() && *v == want;
  };
  auto pads = c->attr_ints("pads", std::vector<int64_t>{0, 0, 0, 0});
  auto group = c->attr_int("group", 1);
  return x && x->dtype == DType::u8 && x->shape.rank() == 4 && w && w->is_constant() && w->dtype == DType::i8 &&
         w->shape.rank() == 4 && (!b || (b->is_constant() && b->dtype == DType::f32)) &&
         is("precision", "int8", "f32") && is("output_dtype", "f32", "f32") && is("layout", "NHWC", "NCHW") &&
         group.is_ok() && *group == 1 && ints("strides", {1, 1}) && ints("dilations", {1, 1}) && pads.is_ok() &&
         pads->size() == 4;
}

bool int8_pointwise_f32(const ir::Node* c) {
  if (!int8_conv_f32(c) || c->input(1)->shape[2] != 1 || c->input(1)->shape[3] != 1) return false;
  auto pads = c->attr_ints("pads", std::vector<int64_t>{0, 0, 0, 0});
  return pads.is_ok() && *pads == std::vector<int64_t>{0, 0, 0, 0};
}

// Whether the FusedConv c has no post-op chain (its means are then linear in its input).
bool no_post_ops(const ir::Node* c) {
  auto ops = c->attr_ints("post_ops", std::vector<int64_t>{});
  return ops.is_ok() && ops->empty();
}

// A ReduceMean (opset < 18: axes as an attribute) of `a` over axes 1 and 2, keeping them: the
// NHWC global average pool.
bool spatial_mean(const ir::Node* m, const ir::Value* a) {
  if (!m || !m->domain.empty() || m->op_type != "ReduceMean" || m->opset >= 18 || m->inputs.size() != 1 ||
      m->input(0) != a || m->outputs.size() != 1 || !m->outputs[0] || a->shape.rank() != 4)
    return false;
  auto axes = m->attr_ints("axes");
  auto keep = m->attr_int("keepdims", 1);
  return axes.is_ok() && (*axes == std::vector<int64_t>{1, 2} || *axes == std::vector<int64_t>{-3, -2}) &&
         keep.is_ok() && *keep == 1;
}

ir::Value* add_constant(ir::Graph& g, const std::string& base, Tensor t) {
  ir::Value* v = g.add_value(g.unique_value_name(base));
  v->dtype = t.dtype();
  v->shape = t.shape();
  v->constant = std::make_shared<const Tensor>(std::move(t));
  return v;
}

// The int8 conv c's input quantization as constants (one-value x_scale, u8 x_zero_point) and
// its weights [Cout, Cin, kh, kw] dequantized per output channel as an f32 1x1 convolution's
// [Cout, kh * kw * Cin, 1, 1], tap-major ((ky * kw + kx) * Cin + ic: WindowMeans' order).
struct ConvDequantized {
  ir::Value *x_scale = nullptr, *x_zero = nullptr, *w = nullptr;
};
Result<ConvDequantized> conv_dequantized(ir::Graph& g, const ir::Node* c) {
  const ir::Value* w = c->input(1);
  const int64_t cout = w->shape[0], cin = w->shape[1], taps = w->shape[2] * w->shape[3];
  EP_ASSIGN_OR_RETURN(float x_scale, c->attr_float("x_scale"));
  EP_ASSIGN_OR_RETURN(int64_t x_zero, c->attr_int("x_zero_point", 0));
  EP_ASSIGN_OR_RETURN(std::vector<float> w_scales, c->attr_floats("w_scales"));
  if (w_scales.size() != 1 && static_cast<int64_t>(w_scales.size()) != cout)
    return invalid_argument(c->label(), ": w_scales has ", w_scales.size(), " values for ", cout, " channels");
  ConvDequantized d;
  Tensor s(DType::f32, Shape{});
  s.as<float>()[0] = x_scale;
  Tensor z(DType::u8, Shape{});
  z.as<uint8_t>()[0] = static_cast<uint8_t>(x_zero);
  d.x_scale = add_constant(g, c->name + "_x_scale", std::move(s));
  d.x_zero = add_constant(g, c->name + "_x_zero_point", std::move(z));
  Tensor wf(DType::f32, Shape{cout, taps * cin, 1, 1});
  const int8_t* wq = w->constant->as<int8_t>();
  for (int64_t oc = 0; oc < cout; ++oc) {
    const float ws = w_scales[w_scales.size() == 1 ? 0 : static_cast<size_t>(oc)];
    for (int64_t ic = 0; ic < cin; ++ic)
      for (int64_t t = 0; t < taps; ++t)
        wf.as<float>()[(oc * taps + t) * cin + ic] = static_cast<float>(wq[(oc * cin + ic) * taps + t]) * ws;
  }
  d.w = add_constant(g, c->name + "_w_dequantized", std::move(wf));
  return d;
}

// Mean m replaced by the f32 1x1 convolution (w, b) of `in` [N, 1, 1, K], m's output its own.
void mean_as_pointwise(ir::Graph& g, ir::Node* m, ir::Value* in, ir::Value* w, ir::Value* b) {
  ir::Value* y = m->outputs[0];
  const std::string name = m->name;
  g.erase_node(m);
  ir::Node* f = add_edgepipe_node(g, name, kernels::kFusedConvOp, {in, w, b}, {y});
  f->attrs = {{"group", int64_t{1}},
              {"strides", std::vector<int64_t>{1, 1}},
              {"dilations", std::vector<int64_t>{1, 1}},
              {"pads", std::vector<int64_t>{0, 0, 0, 0}},
              {"layout", std::string("NHWC")},
              {"post_ops", std::vector<int64_t>{}},
              {"post_op_params", std::vector<float>{}}};
}

// mean(conv(x)) over the pixels as conv'(mean(dequantize(x))): the mean of a 1x1 convolution
// without post-ops is the convolution of the mean (conv' the f32 convolution with the
// dequantized weights), and the mean of x's dequantized values costs a pass over x's Cin
// channels of u8 instead of A's Cout of f32 (12 vs 96 at 160x160 in the detector's neck).
// `dq` and `d` hold the DequantizeLinear of x and the conv's dequantized parts once made
// (shared by the means of one conv).
Status mean_of_input(ir::Graph& g, ir::Node* c, ir::Node* m, ir::Value*& dq, ConvDequantized& d) {
  ir::Value* x = c->input(0);
  if (!dq) {
    EP_ASSIGN_OR_RETURN(d, conv_dequantized(g, c));
    dq = g.add_value(g.unique_value_name(c->name + "_x_dequantized"));
    dq->dtype = DType::f32;
    dq->shape = x->shape;
    ir::Node* n =
        g.add_node(g.unique_value_name(c->name + "_x_dequantize"), "DequantizeLinear", {x, d.x_scale, d.x_zero}, {dq});
    n->opset = g.opsets.at("");
  }
  ir::Value* mean = g.add_value(g.unique_value_name(m->name + "_of_input"));
  mean->dtype = DType::f32;
  mean->shape = Shape{x->shape[0], 1, 1, x->shape[3]};
  ir::Node* mn = g.add_node(g.unique_value_name(m->name + "_of_input"), "ReduceMean", {dq}, {mean});
  mn->opset = m->opset;
  mn->attrs = m->attrs;
  mean_as_pointwise(g, m, mean, d.w, c->input(2));
  return Status::ok();
}

}  // namespace

// FusedConv -> ResizeAdd (as A) -> edgepipe.FusedConvResizeAdd; see passes.h.
Status fold_conv_resize_add(ir::Graph& g) {
  if (!g.opsets.count("")) return Status::ok();
  std::vector<ir::Node*> adds;
  for (const auto& n : g.nodes())
    if (n->domain == "edgepipe" && n->op_type == "ResizeAdd") adds.push_back(n.get());
  bool changed = false;
  for (ir::Node* r : adds) {
    ir::Value* a = r->input(0);
    ir::Node* c = a ? a->producer : nullptr;
    if (!int8_pointwise_f32(c) || a->is_graph_output || a->dtype != DType::f32 ||
        std::count(r->inputs.begin(), r->inputs.end(), a) != 1)
      continue;
    std::vector<ir::Node*> means;
    bool ok = true;
    for (ir::Node* u : a->consumers) {
      if (u == r) continue;
      if (spatial_mean(u, a) && std::find(means.begin(), means.end(), u) == means.end()) means.push_back(u);
      else if (!spatial_mean(u, a)) ok = false;
    }
    if (!ok || (!means.empty() && !no_post_ops(c))) continue;
    ir::Value* dq = nullptr;
    ConvDequantized d;
    for (ir::Node* m : means) EP_RETURN_IF_ERROR(mean_of_input(g, c, m, dq, d));
    std::vector<ir::Value*> ins = {c->input(0), c->input(1), c->input(2)};
    ins.insert(ins.end(), r->inputs.begin() + 1, r->inputs.end());
    std::map<std::string, ir::AttrValue> attrs = c->attrs;
    for (const auto& [key, value] : r->attrs) attrs[kernels::kResizeAttrPrefix + key] = value;
    ir::Value* out = r->outputs[0];
    const std::string name = r->name;
    g.erase_node(r);
    g.erase_node(c);
    add_edgepipe_node(g, name, kernels::kFusedConvResizeAddOp, ins, {out})->attrs = std::move(attrs);
    changed = true;
  }
  if (!changed) return Status::ok();
  g.erase_unused_values();
  return g.topological_sort();
}

namespace {

// mean(conv(x)) over the output pixels as an f32 1x1 convolution (weights dequantized, [Cout,
// kh * kw * Cin]) of WindowMeans(x): each tap's mean input over the pixels it reads, the
// padding's zero points adding nothing. Linear, so the same value in another summation order
// (ReduceMean's f32 sums of A against exact integer sums here). `wm` and `d` hold the
// WindowMeans output and the conv's dequantized parts once made (shared by the means of one
// conv).
Status window_mean_of_input(ir::Graph& g, ir::Node* c, ir::Node* m, ir::Value*& wm, ConvDequantized& d) {
  ir::Value* x = c->input(0);
  const ir::Value* w = c->input(1);
  const int64_t cin = w->shape[1], kh = w->shape[2], kw = w->shape[3];
  if (!wm) {
    EP_ASSIGN_OR_RETURN(std::vector<int64_t> pads, c->attr_ints("pads", std::vector<int64_t>{0, 0, 0, 0}));
    EP_ASSIGN_OR_RETURN(d, conv_dequantized(g, c));
    wm = g.add_value(g.unique_value_name(c->name + "_window_means"));
    wm->dtype = DType::f32;
    wm->shape = Shape{x->shape[0], 1, 1, kh * kw * cin};
    ir::Node* n = add_edgepipe_node(g, g.unique_value_name(c->name + "_window_means"), "WindowMeans",
                                    {x, d.x_scale, d.x_zero}, {wm});
    n->attrs["kernel_shape"] = std::vector<int64_t>{kh, kw};
    n->attrs["pads"] = pads;
  }
  mean_as_pointwise(g, m, wm, d.w, c->input(2));
  return Status::ok();
}

}  // namespace

// FusedConv -> quantized ScaleAdd (as x) -> edgepipe.FusedConvScaleAdd; see passes.h.
Status fold_conv_scale_add(ir::Graph& g) {
  std::vector<ir::Node*> sums;
  for (const auto& n : g.nodes())
    if (n->domain == "edgepipe" && n->op_type == "ScaleAdd" && n->inputs.size() == 4 && n->input(2))
      sums.push_back(n.get());
  bool changed = false;
  for (ir::Node* sa : sums) {
    ir::Value* a = sa->input(0);
    ir::Node* c = a ? a->producer : nullptr;
    if (!int8_conv_f32(c) || !no_post_ops(c) || a->is_graph_output || a->dtype != DType::f32 || sa->input(1) == a ||
        std::count(sa->inputs.begin(), sa->inputs.end(), a) != 1)
      continue;
    std::vector<ir::Node*> means;
    bool ok = true;
    for (ir::Node* u : a->consumers) {
      if (u == sa) continue;
      if (!spatial_mean(u, a)) ok = false;
      else if (std::find(means.begin(), means.end(), u) == means.end()) means.push_back(u);
    }
    if (!ok) continue;
    ir::Value* wm = nullptr;
    ConvDequantized d;
    for (ir::Node* m : means) EP_RETURN_IF_ERROR(window_mean_of_input(g, c, m, wm, d));
    std::vector<ir::Value*> ins = {c->input(0), c->input(1), c->input(2)};
    ins.insert(ins.end(), sa->inputs.begin() + 1, sa->inputs.end());
    std::map<std::string, ir::AttrValue> attrs = c->attrs;
    ir::Value* out = sa->outputs[0];
    const std::string name = sa->name;
    g.erase_node(sa);
    g.erase_node(c);
    add_edgepipe_node(g, name, kernels::kFusedConvScaleAddOp, ins, {out})->attrs = std::move(attrs);
    changed = true;
  }
  if (!changed) return Status::ok();
  g.erase_unused_values();
  return g.topological_sort();
}

// Concat(.., Resize(X), ..) along the last axis -> edgepipe.ResizeConcat(.., X, ..): see passes.h.
// The detector's neck concatenates its four 24-channel maps, three of them upsampled from
// 80x80, 40x40 and 20x20 to 160x160: they were written at 160x160 and copied again.
Status fold_resize_concat(ir::Graph& g) {
  auto opset = g.opsets.find("");
  if (opset == g.opsets.end() || opset->second < 11) return Status::ok();  // the fast Resize's
  std::vector<ir::Node*> concats;
  for (const auto& n : g.nodes())
    if (is_onnx(n.get(), "Concat")) concats.push_back(n.get());
  bool changed = false;
  for (ir::Node* cat : concats) {
    if (cat->inputs.size() < 2 || cat->outputs.size() != 1 || !cat->outputs[0]) continue;
    const ir::Value* y = cat->outputs[0];
    const size_t rank = y->shape.rank();
    auto axis = cat->attr_int("axis");
    if (rank < 2 || !axis.is_ok() || (*axis != static_cast<int64_t>(rank) - 1 && *axis != -1)) continue;
    bool ok = y->shape.numel() > 0, any = false;
    std::string ctm, nearest;
    std::vector<ir::Value*> ins;
    std::vector<ir::Node*> resizes;
    std::vector<float> scales;
    std::vector<int64_t> from_sizes;
    for (ir::Value* v : cat->inputs) {
      if (!v || v->shape.rank() != rank || v->shape.numel() <= 0 || v->dtype != y->dtype) {
        ok = false;
        break;
      }
      ir::Node* r = v->producer;
      const ir::Value* x = r ? r->input(0) : nullptr;
      const bool fuse = is_onnx(r, "Resize") && r->outputs.size() == 1 && !v->is_graph_output &&
                        v->consumers.size() == 1 && x && x->shape.rank() == rank && x->shape.numel() > 0 &&
                        x->shape[rank - 1] == v->shape[rank - 1] && kernels::cpu::resize_nearest_form(*r) &&
                        constant_geometry(r) &&
                        std::count(cat->inputs.begin(), cat->inputs.end(), v) == 1;
      if (!fuse) {
        ins.push_back(v);
        scales.insert(scales.end(), rank, 1.f);
        from_sizes.push_back(0);
        continue;
      }
      const std::string c = *r->attr_string("coordinate_transformation_mode", std::string("half_pixel"));
      const std::string m = *r->attr_string("nearest_mode", std::string("round_prefer_floor"));
      if (any && (c != ctm || m != nearest)) {  // one pair of modes per node
        ok = false;
        break;
      }
      ctm = c;
      nearest = m;
      any = true;
      ins.push_back(r->inputs[0]);
      resizes.push_back(r);
      const ir::Value* sizes = r->inputs.size() > 3 ? r->input(3) : nullptr;
      if (sizes && sizes->shape.numel() > 0) {
        scales.insert(scales.end(), rank, 1.f);
        from_sizes.push_back(1);
      } else {
        const float* sc = r->input(2)->constant->as<float>();
        scales.insert(scales.end(), sc, sc + rank);
        from_sizes.push_back(0);
      }
    }
    if (!ok || !any) continue;
    ir::Value* out = cat->outputs[0];
    const std::string name = cat->name;
    const std::vector<int64_t> dims(y->shape.dims().begin(), y->shape.dims().end());
    g.erase_node(cat);
    for (ir::Node* r : resizes) g.erase_node(r);
    ir::Node* f = add_edgepipe_node(g, name, "ResizeConcat", ins, {out});
    f->attrs["axis"] = static_cast<int64_t>(rank) - 1;
    f->attrs["coordinate_transformation_mode"] = ctm;
    f->attrs["nearest_mode"] = nearest;
    f->attrs["scales"] = scales;
    f->attrs["scale_from_sizes"] = from_sizes;
    f->attrs["output_shape"] = dims;
    changed = true;
  }
  if (!changed) return Status::ok();
  g.erase_unused_values();
  return g.topological_sort();
}

}  // namespace ep::passes
