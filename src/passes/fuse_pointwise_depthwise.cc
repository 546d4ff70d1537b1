// A 1x1 FusedConv whose output only a depthwise FusedConv reads (the expand and depthwise
// layers of an inverted-residual block) becomes one edgepipe.FusedConvDepthwise, computed in
// bands so the expanded tensor is never written out whole (kernels/onednn/pointwise_depthwise.h).
// Only where that tensor is at least kMinExpandedBytes. Measured on a Zen 1 (MobileNetV3,
// processes alternated, 9 rounds): fusing its 16 -> 64 expand at 112x112 (3.2 MB) and the
// stride-2 depthwise after it took the model from 15.29 to 15.02 ms at 1 thread and 8.78
// to 8.66 at 2 (the pair in-model 0.92 + 0.39 -> 1.11 ms); fusing also the blocks of 0.5 to
// 1 MB (the threshold at 640 KB: features.3, .4 and .7) gave 15.22 and 8.77, no better: there
// the tensor stays in L2/L3 between the two anyway. Both nodes f32 NHWC with chains of
// element-wise post-ops only (no residual); the depthwise square, padded by half its size.
// The node keeps the 1x1's attributes and adds the depthwise's with the prefix "dw_".
#include "kernels/fused_conv.h"
#include "kernels/onednn/onednn_kernels.h"
#include "passes/passes.h"

namespace ep::passes {
namespace {

constexpr int64_t kMinExpandedBytes = 2 << 20;

bool is_f32_nhwc_conv(const ir::Node* n) {
  if (!n || n->domain != kernels::kFusedConvDomain || n->op_type != kernels::kFusedConvOp) return false;
  auto layout = n->attr_string("layout", std::string("NCHW"));
  auto precision = n->attr_string("precision", std::string("f32"));
  auto out = n->attr_string("output_dtype", std::string("f32"));
  auto ops = n->attr_ints("post_ops", std::vector<int64_t>{});
  auto group = n->attr_int("group", 1);
  auto dil = n->attr_ints("dilations", std::vector<int64_t>{1, 1});
  if (!layout.is_ok() || *layout != "NHWC" || !precision.is_ok() || *precision != "f32" || !out.is_ok() ||
      *out != "f32" || !ops.is_ok() || !group.is_ok() || !dil.is_ok() || *dil != std::vector<int64_t>{1, 1})
    return false;
  for (int64_t k : *ops)
    if (k == static_cast<int64_t>(kernels::PostOpKind::residual)) return false;
  // X, W, B: no residual input; weights and bias constant.
  if (n->inputs.size() < 2 || n->inputs.size() > 3 || !n->inputs[0] || !n->inputs[1] || !n->inputs[1]->is_constant())
    return false;
  if (n->inputs.size() == 3 && n->inputs[2] && !n->inputs[2]->is_constant()) return false;
  const ir::Value* x = n->inputs[0];
  return x->dtype == DType::f32 && n->outputs.size() == 1 && n->outputs[0] && n->outputs[0]->dtype == DType::f32;
}

bool is_pointwise(const ir::Node* n) {
  if (!is_f32_nhwc_conv(n)) return false;
  auto group = n->attr_int("group", 1);
  auto strides = n->attr_ints("strides", std::vector<int64_t>{1, 1});
  auto pads = n->attr_ints("pads", std::vector<int64_t>{0, 0, 0, 0});
  const Shape& w = n->inputs[1]->shape;
  return *group == 1 && strides.is_ok() && *strides == std::vector<int64_t>{1, 1} && pads.is_ok() &&
         *pads == std::vector<int64_t>{0, 0, 0, 0} && w.rank() == 4 && w[2] == 1 && w[3] == 1;
}

bool is_depthwise(const ir::Node* n, int64_t channels) {
  if (!is_f32_nhwc_conv(n)) return false;
  auto group = n->attr_int("group", 1);
  auto strides = n->attr_ints("strides", std::vector<int64_t>{1, 1});
  auto pads = n->attr_ints("pads", std::vector<int64_t>{0, 0, 0, 0});
  const Shape& w = n->inputs[1]->shape;
  if (*group != channels || !strides.is_ok() || strides->size() != 2 || !pads.is_ok() || pads->size() != 4 ||
      w.rank() != 4 || w[0] != channels || w[1] != 1 || w[2] != w[3] || w[2] < 2)
    return false;
  const int64_t k = w[2], s = (*strides)[0];
  return (*strides)[1] == s && s >= 1 && s <= k && *pads == std::vector<int64_t>(4, k / 2);
}

}  // namespace

Status fuse_pointwise_depthwise(ir::Graph& g) {
  if (!kernels::onednn_without_avx512()) return Status::ok();  // measured on AVX2 CPUs only
  std::vector<ir::Node*> pointwise;
  for (const auto& n : g.nodes())
    if (is_pointwise(n.get())) pointwise.push_back(n.get());
  bool changed = false;
  for (ir::Node* pw : pointwise) {
    ir::Value* mid = pw->outputs[0];
    if (mid->is_graph_output || mid->consumers.size() != 1 || mid->shape.rank() != 4) continue;
    ir::Node* dw = mid->consumers[0];
    const int64_t channels = mid->shape[3];  // NHWC
    if (!is_depthwise(dw, channels) || dw->inputs[0] != mid) continue;
    if (mid->shape.numel() * static_cast<int64_t>(sizeof(float)) < kMinExpandedBytes) continue;
    std::vector<ir::Value*> ins = {pw->inputs[0], pw->inputs[1], pw->input(2), dw->inputs[1], dw->input(2)};
    std::map<std::string, ir::AttrValue> attrs = pw->attrs;
    for (const auto& [key, value] : dw->attrs) attrs[kernels::kDepthwiseAttrPrefix + key] = value;
    ir::Value* out = dw->outputs[0];
    const std::string name = pw->name;
    g.erase_node(dw);
    g.erase_node(pw);
    ir::Node* f = g.add_node(name, kernels::kFusedConvDepthwiseOp, ins, {out});
    f->domain = kernels::kFusedConvDomain;
    f->opset = 1;
    f->attrs = std::move(attrs);
    changed = true;
  }
  if (!changed) return Status::ok();
  g.erase_unused_values();
  return g.topological_sort();
}

}  // namespace ep::passes
