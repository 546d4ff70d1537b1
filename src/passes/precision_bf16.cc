// Runs the f32 convolutions in bf16 (SessionOptions::precision = "bf16"), after layout_nhwc.
// Every FusedConv/FusedConvTranspose with f32 input and constant f32 weights computes in
// bf16 (its kernel rounds the weights once in prepare). A conv's output is stored in bf16
// when everything that reads it is such a conv, so chains of convolutions pass bf16
// activations in NHWC with no conversion; graph outputs and values read by other ops stay
// f32, and a conv reading f32 converts its input itself. MatMul and Gemm with a constant f32
// B get precision "bf16" for the oneDNN kernel (B to bf16 once, A converted per run, f32
// out); the reference kernel ignores it and computes in f32.
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

}  // namespace

Status lower_precision_bf16(ir::Graph& g) {
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
  for (const auto& n : g.nodes()) {
    if (!runs_bf16(n.get())) continue;
    ir::Value* y = n->outputs[0];
    if (!y || y->is_graph_output || y->consumers.empty()) continue;
    bool all_bf16 = true;
    for (const ir::Node* c : y->consumers) {
      // input 0 (X) or 3 (the residual) of a bf16 conv; never its weights or bias
      const bool as_data = c->input(1) != y && c->input(2) != y;
      all_bf16 = all_bf16 && runs_bf16(c) && as_data;
    }
    if (!all_bf16) continue;
    y->dtype = DType::bf16;
    n->attrs["output_dtype"] = std::string("bf16");
  }
  return Status::ok();
}

}  // namespace ep::passes
