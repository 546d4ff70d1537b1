// Runs the f32 convolutions in bf16 (SessionOptions::precision = "bf16"), after layout_nhwc.
// Every FusedConv/FusedConvTranspose with f32 input and constant f32 weights computes in
// bf16 (its kernel rounds the weights once in prepare). MatMul and Gemm with a constant f32
// B get precision "bf16" for the oneDNN kernel (B to bf16 once, A converted per run, f32
// out); the reference kernel ignores it and computes in f32.
//
// Activations are stored in bf16 where everything that reads them takes bf16: such convs
// (input or residual), and, with `bf16_ops`, the ops whose fast kernels compute on bf16
// (kernels/cpu: element-wise arithmetic widened to f32 and rounded back, nearest Resize,
// Concat and mean reductions, which only move or sum values) when all their activation
// inputs are bf16 too. So a detector's neck (convs, upsampling, Adds, a Concat, the
// squeeze-excite means) passes bf16 from conv to conv where it passed f32: half the bytes
// through every op between them, and no conversion in the convs that read the result. The
// set is the largest one that holds those conditions (values are dropped from it until none
// breaks them). Graph outputs stay f32, and a conv reading f32 converts its input itself.
#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "kernels/cpu/cpu_kernels.h"
#include "kernels/fused_conv.h"
#include "passes/passes.h"

namespace ep::passes {
namespace {

bool is_conv(const ir::Node* n) {
  return n->domain == kernels::kFusedConvDomain &&
         (n->op_type == kernels::kFusedConvOp || n->op_type == kernels::kFusedConvTransposeOp);
}

bool runs_bf16(const ir::Node* n) {
  auto prec = n->attr_string("precision", std::string("f32"));
  return is_conv(n) && prec.is_ok() && *prec == "bf16";
}

bool is_onnx(const ir::Node* n, const char* op) { return n->domain.empty() && n->op_type == op; }

// Whether operand `v` broadcasts against `out` the ways the fast element-wise kernel handles
// in any dtype: the same shape, a scalar, or one vector along the last axis.
bool plain_broadcast(const ir::Value* v, const Shape& out) {
  const Shape& s = v->shape;
  if (s == out || s.numel() == 1) return true;
  if (s.rank() > out.rank() || s.rank() == 0 || s[s.rank() - 1] != out[out.rank() - 1]) return false;
  return s.numel() == s[s.rank() - 1];
}

// The activation inputs of an op whose fast kernel takes bf16 ones (see the top of the file),
// or none when the op is not one of them or its form goes to a reference kernel.
std::vector<ir::Value*> bf16_data_inputs(const ir::Node* n) {
  const ir::Value* y = n->outputs.size() == 1 ? n->outputs[0] : nullptr;
  if (!y || y->dtype != DType::f32) return {};
  std::vector<ir::Value*> data;
  const bool binary = is_onnx(n, "Add") || is_onnx(n, "Sub") || is_onnx(n, "Mul") || is_onnx(n, "Div") ||
                      (n->domain == "edgepipe" && n->op_type == "ScaleAdd");
  if (binary) {
    if (n->inputs.size() != 2) return {};
    for (ir::Value* in : n->inputs) {
      if (!in || in->dtype != DType::f32 || !plain_broadcast(in, y->shape)) return {};
      if (!in->is_constant()) data.push_back(in);
    }
    return data;
  }
  if (is_onnx(n, "Concat")) {
    for (ir::Value* in : n->inputs)
      if (!in || in->is_constant() || in->dtype != DType::f32) return {};
    return n->inputs;
  }
  ir::Value* x = n->inputs.empty() ? nullptr : n->inputs[0];
  if (!x || x->is_constant() || x->dtype != DType::f32) return {};
  if (is_onnx(n, "Resize")) {  // the forms cpu::ResizeNearest takes
    if (n->opset < 11 || !kernels::cpu::resize_nearest_form(*n)) return {};
    const ir::Value* scales = n->input(2);
    const ir::Value* sizes = n->input(3);
    const bool by_sizes = sizes && sizes->shape.numel() > 0 && sizes->is_constant();
    const bool by_scales = scales && scales->is_constant() && scales->dtype == DType::f32 &&
                           scales->shape.numel() == static_cast<int64_t>(x->shape.rank());
    if (!by_sizes && !by_scales) return {};
    return {x};
  }
  if (n->domain.empty() && n->op_type == "GlobalAveragePool" && x->shape.rank() >= 3) return {x};
  if (is_onnx(n, "ReduceMean")) {  // cpu::MeanKernel: explicit contiguous axes
    std::vector<int64_t> axes;
    if (n->opset < 18) {
      auto a = n->attr_ints("axes");
      if (!a.is_ok()) return {};
      axes = *a;
    } else {
      const ir::Value* av = n->input(1);
      if (!av || !av->is_constant() || av->dtype != DType::i64) return {};
      axes.assign(av->constant->as<int64_t>(), av->constant->as<int64_t>() + av->shape.numel());
    }
    const auto rank = static_cast<int64_t>(x->shape.rank());
    for (int64_t& a : axes) a = a < 0 ? a + rank : a;
    std::sort(axes.begin(), axes.end());
    if (axes.empty() || axes.front() < 0 || axes.back() >= rank) return {};
    for (size_t i = 1; i < axes.size(); ++i)
      if (axes[i] != axes[i - 1] + 1) return {};
    return {x};
  }
  return {};
}

}  // namespace

Status lower_precision_bf16(ir::Graph& g, bool bf16_ops) {
  for (const auto& n : g.nodes()) {
    if (!is_conv(n.get())) continue;
    auto prec = n->attr_string("precision", std::string("f32"));
    const ir::Value* x = n->input(0);
    const ir::Value* w = n->input(1);
    if (!prec.is_ok() || *prec != "f32" || !x || x->dtype != DType::f32 || !w || !w->is_constant() ||
        w->dtype != DType::f32)
      continue;
    n->attrs["precision"] = std::string("bf16");
  }
  for (const auto& n : g.nodes()) {
    const bool mm = n->domain.empty() && (n->op_type == "MatMul" || n->op_type == "Gemm");
    const ir::Value* a = n->input(0);
    const ir::Value* b = n->input(1);
    if (mm && a && a->dtype == DType::f32 && b && b->is_constant() && b->dtype == DType::f32)
      n->attrs["precision"] = std::string("bf16");
  }
  // Candidates: the outputs of bf16 convs and of the ops above; then drop, until nothing
  // changes, every value read by something that does not take bf16 there and every op
  // output with an activation input outside the set.
  std::unordered_map<const ir::Node*, std::vector<ir::Value*>> ops;
  std::unordered_set<ir::Value*> set;
  for (const auto& n : g.nodes()) {
    if (bf16_ops) {
      std::vector<ir::Value*> data = bf16_data_inputs(n.get());
      if (!data.empty()) ops[n.get()] = std::move(data);
    }
    const bool source = runs_bf16(n.get()) || ops.count(n.get());
    ir::Value* y = n->outputs.empty() ? nullptr : n->outputs[0];
    if (source && y && !y->is_graph_output && !y->consumers.empty() && y->dtype == DType::f32) set.insert(y);
  }
  for (bool changed = true; changed;) {
    changed = false;
    for (auto it = set.begin(); it != set.end();) {
      ir::Value* v = *it;
      bool keep = true;
      if (auto op = ops.find(v->producer); op != ops.end())
        for (ir::Value* in : op->second) keep = keep && set.count(in);
      for (const ir::Node* c : v->consumers) {
        // input 0 (X) or 3 (the residual) of a bf16 conv, never its weights or bias; or an
        // activation input of an op above whose output stays in the set
        const bool conv_data = runs_bf16(c) && c->input(1) != v && c->input(2) != v;
        const bool op_data = ops.count(c) && set.count(c->outputs[0]);
        keep = keep && (conv_data || op_data);
      }
      if (keep) {
        ++it;
      } else {
        it = set.erase(it);
        changed = true;
      }
    }
  }
  for (ir::Value* v : set) {
    v->dtype = DType::bf16;
    if (runs_bf16(v->producer)) v->producer->attrs["output_dtype"] = std::string("bf16");
  }
  // An f32 NCHW -> NHWC Transpose (the input image's) read only as the data of bf16 convs
  // writes bf16 itself (edgepipe.Transpose): the convs no longer convert it, and it writes half
  // the bytes. Only that permutation: the cpu kernel, edgepipe.Transpose's only one, takes the
  // batched 2-D forms alone.
  if (bf16_ops)
    for (const auto& n : g.nodes()) {
      ir::Value* y = n->outputs.size() == 1 ? n->outputs[0] : nullptr;
      const ir::Value* x = n->input(0);
      auto perm = n->attr_ints("perm", std::vector<int64_t>{});
      if (!is_onnx(n.get(), "Transpose") || !perm.is_ok() || *perm != std::vector<int64_t>{0, 2, 3, 1} || !y ||
          y->is_graph_output || y->consumers.empty() || y->dtype != DType::f32 || !x || x->dtype != DType::f32)
        continue;
      const bool convs_only = std::all_of(y->consumers.begin(), y->consumers.end(), [&](const ir::Node* c) {
        return runs_bf16(c) && c->input(1) != y && c->input(2) != y;
      });
      if (!convs_only) continue;
      y->dtype = DType::bf16;
      n->domain = "edgepipe";
      n->opset = 1;
    }
  return Status::ok();
}

}  // namespace ep::passes
