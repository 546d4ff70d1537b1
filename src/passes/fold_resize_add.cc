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
