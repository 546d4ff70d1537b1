// Keeps activations in oneDNN's blocked layout nChw8c between convolutions
// (SessionOptions::blocked_layout "on"). Standalone, oneDNN's AVX2 kernels are 1.1-2.5x
// faster on nChw8c than on NHWC (depthwise most, bench/onednn_layouts.sh), and ONNX Runtime's
// NCHWc transformer runs them so; in-model on a Zen 1 the depthwise and 1x1 layers gained
// 0.1-0.4 ms each but once 3x3 layers ran as Winograd convolutions whole models were 0-5%
// slower than NHWC (bench/blocked_layout.sh, 2026-11-27), so it is off by default. A blocked tensor is a 5-D value [N, ceil(C/8), H, W, 8] (channels
// past C are padding, zero where a ToBlocked or a constant wrote them), so element-wise
// ops, Concat along channels, ReduceMean over the pixels, nearest Resize, MaxPool and AveragePool
// run on it unchanged (with their axes, scales and constants moved to the 5-D layout).
//
// After layout_nhwc, same method: every NHWC f32 FusedConv with at least 8 channels each way
// (dense, or depthwise on multiples of 8) switches to layout NCHW8c between an edgepipe.ToBlocked of its input
// (and residual) and an edgepipe.FromBlocked of its output; then each FromBlocked moves down
// through the layout-agnostic ops it feeds, and a FromBlocked that meets a ToBlocked cancels.
// What remains converts at the region's edges: the first and last convolutions, and ops
// that need NHWC (a channel-sliced Split, a reshape to the detection head).
#include <algorithm>
#include <cstring>
#include <unordered_set>

#include "kernels/fused_conv.h"
#include "passes/passes.h"

namespace ep::passes {
namespace {

constexpr int64_t kB = 8;

bool is_op(const ir::Node* n, const char* op) { return n && n->domain.empty() && n->op_type == op; }
bool is_ep(const ir::Node* n, const char* op) { return n && n->domain == kernels::kFusedConvDomain && n->op_type == op; }

bool known(const Shape& s) {
  return std::all_of(s.dims().begin(), s.dims().end(), [](int64_t d) { return d > 0; });
}

int64_t blocks(int64_t channels) { return (channels + kB - 1) / kB; }

// NHWC [N, H, W, C] -> [N, ceil(C/8), H, W, 8]; channels past C are padding.
Shape blocked_shape(const Shape& s) { return Shape{s[0], blocks(s[3]), s[1], s[2], kB}; }

// An f32 NHWC activation that can be blocked: at least one block of channels (fewer would
// be mostly padding).
bool blockable(const ir::Value* v) {
  return v && v->dtype == DType::f32 && v->shape.rank() == 4 && known(v->shape) && v->shape[3] >= kB;
}

bool padded(const ir::Value* v) { return v->shape[3] % kB != 0; }

ir::Value* new_value(ir::Graph& g, const std::string& base, DType dtype, const Shape& shape) {
  ir::Value* v = g.add_value(g.unique_value_name(base));
  v->dtype = dtype;
  v->shape = shape;
  return v;
}

ir::Node* add_layout_op(ir::Graph& g, const char* op, ir::Value* in, ir::Value* out) {
  ir::Node* t = g.add_node(g.unique_value_name(in->name + (op[0] == 'T' ? "_to_blocked" : "_from_blocked")), op,
                           {in}, {out});
  t->domain = kernels::kFusedConvDomain;
  t->opset = 1;
  if (op[0] == 'F') t->attrs["channels"] = out->shape[3];  // the padding to drop
  return t;
}

ir::Value* to_blocked(ir::Graph& g, ir::Value* in) {
  ir::Value* out = new_value(g, in->name + "_blk", in->dtype, blocked_shape(in->shape));
  add_layout_op(g, "ToBlocked", in, out);
  return out;
}

// Makes `n` write a new blocked value and adds FromBlocked from it to its old output.
void block_output(ir::Graph& g, ir::Node* n) {
  ir::Value* y = n->outputs[0];
  ir::Value* yb = new_value(g, y->name + "_blk", y->dtype, blocked_shape(y->shape));
  n->outputs[0] = yb;
  yb->producer = n;
  y->producer = nullptr;
  add_layout_op(g, "FromBlocked", yb, y);
}

bool candidate(const ir::Node* n) {
  if (!is_ep(n, kernels::kFusedConvOp) || n->inputs.size() < 2 || !n->inputs[1] || !n->inputs[1]->is_constant())
    return false;
  auto layout = n->attr_string("layout", std::string("NCHW"));
  auto precision = n->attr_string("precision", std::string("f32"));
  auto out_dtype = n->attr_string("output_dtype", std::string("f32"));
  auto group = n->attr_int("group", 1);
  if (!layout.is_ok() || *layout != "NHWC" || !precision.is_ok() || *precision != "f32" || !out_dtype.is_ok() ||
      *out_dtype != "f32" || !group.is_ok())
    return false;
  const ir::Value* x = n->inputs[0];
  const ir::Value* y = n->outputs[0];
  if (!blockable(x) || !blockable(y) || n->inputs[1]->dtype != DType::f32) return false;
  if (n->inputs.size() > 3 && n->inputs[3] && !blockable(n->inputs[3])) return false;
  // Dense, or depthwise on whole blocks (oneDNN's grouped AVX2 kernels want those).
  const int64_t cin = x->shape[3], cout = y->shape[3];
  return *group == 1 || (*group == cin && cin == cout && cin % kB == 0);
}

void to_blocked_conv(ir::Graph& g, ir::Node* f) {
  ir::set_input(f, 0, to_blocked(g, f->inputs[0]));
  if (f->inputs.size() > 3 && f->inputs[3]) ir::set_input(f, 3, to_blocked(g, f->inputs[3]));
  block_output(g, f);
  f->attrs["layout"] = std::string("NCHW8c");
}

// Element-wise ops. On a padded tensor (channels not a multiple of 8) only those that keep
// finite padding finite: the padding is read by the next convolution against zero weights,
// and 0 * inf would poison real channels.
bool elementwise_unary(const ir::Node* n, bool padded) {
  static const std::unordered_set<std::string> finite = {
      "Relu", "Sigmoid", "Tanh", "Clip", "HardSigmoid", "HardSwish", "LeakyRelu", "Neg", "Abs", "Erf", "Floor", "Ceil",
      "Round", "Sign", "Identity"};
  static const std::unordered_set<std::string> others = {"Exp", "Log", "Sqrt", "Softplus", "Elu", "Selu", "Reciprocal"};
  return n->domain.empty() && (finite.count(n->op_type) || (!padded && others.count(n->op_type)));
}

bool elementwise_binary(const ir::Node* n, bool padded) {
  static const std::unordered_set<std::string> finite = {"Add", "Sub", "Mul", "Max", "Min"};
  if (n->inputs.size() != 2) return false;
  if (is_ep(n, "ScaleAdd")) return true;
  return n->domain.empty() && (finite.count(n->op_type) || (!padded && (n->op_type == "Div" || n->op_type == "Pow")));
}

// The blocked input of a FromBlocked whose output one node reads.
ir::Value* blocked_source(const ir::Value* v) {
  ir::Node* p = v ? v->producer : nullptr;
  if (!is_ep(p, "FromBlocked") || v->is_graph_output || v->consumers.empty() ||
      std::any_of(v->consumers.begin(), v->consumers.end(), [&](const ir::Node* c) { return c != v->consumers[0]; }))
    return nullptr;
  return p->inputs[0];
}

// A constant broadcast against an NHWC [N, H, W, C] tensor, in the blocked layout: its NHWC
// dims (ones prepended to rank 4) [a, b, c, d] become [a, ceil(C/8), b, c, 8] (zero padded)
// when d == C, or [a, 1, b, c, 1] when d == 1. Null for anything else.
std::shared_ptr<const Tensor> blocked_constant(const ir::Value* k, int64_t channels) {
  if (!k->is_constant() || k->shape.rank() > 4 || dtype_size(k->dtype) != 4) return nullptr;
  std::vector<int64_t> d(4 - k->shape.rank(), 1);
  for (int64_t x : k->shape.dims()) d.push_back(x);
  if (d[3] != 1 && d[3] != channels) return nullptr;
  const bool per_channel = d[3] == channels;
  auto t = std::make_shared<Tensor>(k->dtype, per_channel ? Shape{d[0], blocks(channels), d[1], d[2], kB}
                                                          : Shape{d[0], 1, d[1], d[2], 1});
  const uint32_t* src = static_cast<const uint32_t*>(k->constant->data());
  uint32_t* dst = static_cast<uint32_t*>(t->data());
  std::memset(dst, 0, t->nbytes());
  for (int64_t a = 0; a < d[0]; ++a)
    for (int64_t b = 0; b < d[1]; ++b)
      for (int64_t c = 0; c < d[2]; ++c)
        for (int64_t ch = 0; ch < d[3]; ++ch) {
          const int64_t from = ((a * d[1] + b) * d[2] + c) * d[3] + ch;
          const int64_t to = per_channel ? (((a * blocks(channels) + ch / kB) * d[1] + b) * d[2] + c) * kB + ch % kB
                                         : (a * d[1] + b) * d[2] + c;
          dst[to] = src[from];
        }
  return t;
}

ir::Value* constant_value(ir::Graph& g, const ir::Value* like, std::shared_ptr<const Tensor> t) {
  ir::Value* v = new_value(g, like->name + "_blk", like->dtype, t->shape());
  v->constant = std::move(t);
  return v;
}

// Resize's scales or sizes (constant, 4 values in NHWC order) in the blocked layout; the
// channel entry must leave channels alone.
ir::Value* blocked_resize_arg(ir::Graph& g, const ir::Value* s, bool sizes, int64_t channels) {
  if (!s->is_constant() || s->shape.rank() != 1 || s->shape[0] != 4) return nullptr;
  auto t = std::make_shared<Tensor>(s->dtype, Shape{5});
  if (sizes) {
    if (s->dtype != DType::i64) return nullptr;
    const int64_t* v = s->constant->as<int64_t>();
    if (v[3] != channels) return nullptr;
    const int64_t out[5] = {v[0], blocks(channels), v[1], v[2], kB};
    std::copy(out, out + 5, t->as<int64_t>());
  } else {
    if (s->dtype != DType::f32) return nullptr;
    const float* v = s->constant->as<float>();
    if (v[3] != 1.f) return nullptr;
    const float out[5] = {v[0], 1.f, v[1], v[2], 1.f};
    std::copy(out, out + 5, t->as<float>());
  }
  return constant_value(g, s, std::move(t));
}

// Moves FromBlocked t (xb -> NHWC t.out, read only by c) below c: c reads the blocked
// tensors, and a FromBlocked restores c's output. False where c needs NHWC.
bool push_through(ir::Graph& g, ir::Node* t, ir::Node* c) {
  ir::Value* xb = t->inputs[0];
  ir::Value* tout = t->outputs[0];
  if (c->outputs.size() != 1 || !blockable(c->outputs[0])) return false;
  const int64_t channels = c->outputs[0]->shape[3];
  std::vector<std::pair<size_t, ir::Value*>> rewires;  // input index -> new value
  std::map<std::string, ir::AttrValue> attrs = c->attrs;
  const bool pad = padded(c->outputs[0]);
  if (elementwise_unary(c, pad)) {
    if (c->inputs[0] != tout) return false;
    rewires.push_back({0, xb});
  } else if (elementwise_binary(c, pad)) {
    for (size_t i = 0; i < 2; ++i) {
      ir::Value* in = c->inputs[i];
      if (in == tout) {
        rewires.push_back({i, xb});
      } else if (ir::Value* b = blocked_source(in); b && in->shape[3] == channels) {
        rewires.push_back({i, b});
      } else if (in && !in->is_constant() && in->shape.numel() == 1) {
        continue;  // a runtime scalar broadcasts against any layout
      } else if (in && !in->is_constant() && in->dtype == DType::f32 && in->shape.rank() == 4 && known(in->shape) &&
                 in->shape[1] == 1 && in->shape[2] == 1 && in->shape[3] == channels) {
        rewires.push_back({i, to_blocked(g, in)});  // one pixel (a squeeze-excite scale): a copy of C values
      } else if (auto k = in ? blocked_constant(in, channels) : nullptr) {
        rewires.push_back({i, constant_value(g, in, k)});
      } else {
        return false;
      }
    }
  } else if (is_op(c, "Concat")) {
    auto axis = c->attr_int("axis");
    if (!axis.is_ok() || (*axis != 3 && *axis != -1)) return false;
    for (size_t i = 0; i < c->inputs.size(); ++i) {
      ir::Value* b = c->inputs[i] == tout ? xb : blocked_source(c->inputs[i]);
      if (!b || padded(c->inputs[i])) return false;  // whole blocks only
      rewires.push_back({i, b});
    }
    attrs["axis"] = int64_t{1};
  } else if (is_op(c, "ReduceMean") && c->inputs.size() == 1 && c->inputs[0] == tout) {
    auto axes = c->attr_ints("axes", std::vector<int64_t>{});
    auto keep = c->attr_int("keepdims", 1);
    if (!axes.is_ok() || !keep.is_ok() || *keep != 1) return false;
    std::vector<int64_t> a = *axes;
    for (int64_t& v : a) v = v < 0 ? v + 4 : v;
    std::sort(a.begin(), a.end());
    if (a != std::vector<int64_t>{1, 2}) return false;
    attrs["axes"] = std::vector<int64_t>{2, 3};
    rewires.push_back({0, xb});
  } else if (is_op(c, "Resize") && c->opset >= 11 && c->inputs[0] == tout) {
    auto mode = c->attr_string("mode", std::string("nearest"));
    auto coord = c->attr_string("coordinate_transformation_mode", std::string("half_pixel"));
    if (!mode.is_ok() || *mode != "nearest" || !coord.is_ok() || *coord == "tf_crop_and_resize" || c->has_attr("axes"))
      return false;
    rewires.push_back({0, xb});
    if (c->input(1) && c->input(1)->shape.numel() != 0) return false;  // roi
    for (size_t i = 2; i < c->inputs.size(); ++i) {
      if (!c->inputs[i] || c->inputs[i]->shape.numel() == 0) continue;
      ir::Value* s = blocked_resize_arg(g, c->inputs[i], i == 3, channels);
      if (!s) return false;
      rewires.push_back({i, s});
    }
  } else if ((is_ep(c, "MaxPool") || is_ep(c, "AveragePool")) && c->inputs[0] == tout) {
    auto layout = c->attr_string("layout", std::string("NCHW"));
    if (!layout.is_ok() || *layout != "NHWC") return false;
    attrs["layout"] = std::string("NCHW8c");
    rewires.push_back({0, xb});
  } else {
    return false;
  }
  for (auto& [i, v] : rewires) ir::set_input(c, i, v);
  c->attrs = std::move(attrs);
  block_output(g, c);
  return true;
}

// Gives every reader of a multi-reader FromBlocked its own copy, so each can move alone
// (common-subexpression elimination merges the copies that stay).
bool split_shared(ir::Graph& g, ir::Node* t) {
  ir::Value* out = t->outputs[0];
  std::vector<ir::Node*> readers = out->consumers;  // a node reading it twice counts once
  std::sort(readers.begin(), readers.end());
  readers.erase(std::unique(readers.begin(), readers.end()), readers.end());
  if (readers.size() + (out->is_graph_output ? 1 : 0) < 2) return false;
  for (size_t r = out->is_graph_output ? 0 : 1; r < readers.size(); ++r) {
    ir::Value* copy = new_value(g, out->name, out->dtype, out->shape);
    add_layout_op(g, "FromBlocked", t->inputs[0], copy);  // the same channels as `out`
    for (size_t i = 0; i < readers[r]->inputs.size(); ++i)
      if (readers[r]->inputs[i] == out) ir::set_input(readers[r], i, copy);
  }
  return true;
}

}  // namespace

Status layout_blocked(ir::Graph& g) {
  for (const auto& n : g.nodes())
    if (n->domain.empty() && (n->op_type == "QuantizeLinear" || n->op_type == "DequantizeLinear"))
      return Status::ok();  // the QDQ fusions match the NHWC graph
  std::vector<ir::Node*> convs;
  for (const auto& n : g.nodes())
    if (candidate(n.get())) convs.push_back(n.get());
  if (convs.empty()) return Status::ok();
  for (ir::Node* f : convs) to_blocked_conv(g, f);
  rewrite_until_settled(g, [](const ir::Node* n) { return is_ep(n, "FromBlocked"); }, [&](ir::Node* t) {
    ir::Value* out = t->outputs[0];
    if (split_shared(g, t)) return true;
    if (out->is_graph_output || out->consumers.empty()) return false;
    ir::Node* c = out->consumers[0];  // the only reader (split_shared above)
    if (is_ep(c, "ToBlocked") && !c->outputs[0]->is_graph_output) {  // back to where it came from
      g.replace_all_uses(c->outputs[0], t->inputs[0]);
      g.erase_node(c);
      g.erase_node(t);
      return true;
    }
    if (!push_through(g, t, c)) return false;
    g.erase_node(t);
    return true;
  });
  EP_RETURN_IF_ERROR(eliminate_dead_code(g));
  return g.topological_sort();
}

}  // namespace ep::passes
