// Graph passes. Each is a pure Graph -> Status transformation; one per file.
#pragma once

#include "edgepipe/status.h"
#include "ir/graph.h"

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace ep::passes {

// For the passes that fuse nodes into one of edgepipe's own ops: a node of domain "edgepipe",
// opset 1, with the graph importing that domain.
inline ir::Node* add_edgepipe_node(ir::Graph& g, std::string name, std::string op, std::vector<ir::Value*> inputs,
                                   std::vector<ir::Value*> outputs) {
  ir::Node* n = g.add_node(std::move(name), std::move(op), std::move(inputs), std::move(outputs));
  n->domain = "edgepipe";
  n->opset = 1;
  g.opsets["edgepipe"] = 1;
  return n;
}

// Gives every graph input a static shape: from `shapes` where given (checked against the
// declared rank, fixed dims and symbolic names bound consistently), else the declared one.
Status bind_input_shapes(ir::Graph& g, const std::map<std::string, Shape>& shapes);

// Infers every value's dtype and shape from the bound graph-input shapes by preparing the
// reference kernel of each node in topological order, and folds constants on the way:
// a node whose inputs are all known (or a Shape/Size of a static tensor) is evaluated
// once and replaced by its result. The two are one pass because each feeds the other:
// Reshape can only infer its output once the shape sub-graph before it has been folded.
// Every inferred tensor and kernel scratch must fit `max_tensor_bytes` (0: no limit beyond
// what a size_t can address), checked before anything of that size is allocated.
Status infer_shapes_and_fold(ir::Graph& g, size_t max_tensor_bytes = 0);

// Replaces 2-D Conv with edgepipe.FusedConv and folds BatchNormalization, per-channel
// affines, activations and residual Adds into it (see fuse_conv.cc). Needs inferred shapes.
Status fuse_conv(ir::Graph& g);

// Switches FusedConv to NHWC and moves the layout Transposes through layout-agnostic ops
// until they cancel, so chains of convolutions run without reorders (see layout_nhwc.cc).
Status layout_nhwc(ir::Graph& g);

// The layout passes' loop: collects the nodes `is_target` picks, then offers each to
// `rewrite` until one call rewrites something (node pointers may then be stale), and starts
// over; stops when a round rewrites nothing, or after `max_rounds`.
template <typename IsTarget, typename Rewrite>
void rewrite_until_settled(ir::Graph& g, IsTarget&& is_target, Rewrite&& rewrite, int max_rounds = 100000) {
  for (int round = 0; round < max_rounds; ++round) {
    std::vector<ir::Node*> targets;
    for (const auto& n : g.nodes())
      if (is_target(n.get())) targets.push_back(n.get());
    bool changed = false;
    for (ir::Node* t : targets)
      if ((changed = rewrite(t))) break;
    if (!changed) return;
  }
}

// After layout_nhwc, with SessionOptions::blocked_layout "on": f32 NHWC FusedConvs with at
// least 8 channels each way run on nChw8c activations ([N, ceil(C/8), H, W, 8], the last
// block padded), kept blocked through element-wise ops, Concat, ReduceMean, Resize and
// MaxPool between them (see layout_blocked.cc). Graphs with QuantizeLinear/DequantizeLinear
// are left alone.
Status layout_blocked(ir::Graph& g);

// NHWC graph inputs and outputs (SessionOptions::nhwc_io, see nhwc_io.cc). begin: before
// fusion, every named rank-4 input gets a Transpose to NCHW after it and every named output
// one to NHWC before it, so the graph means the same with NHWC edges. finish: after
// layout_nhwc, an output whose Transpose to NHWC directly follows the layout pass's
// Transpose back to NCHW takes the NHWC value itself (both Transposes go; an input's pair
// the layout pass cancels itself).
Status nhwc_io_begin(ir::Graph& g, const std::set<std::string>& names);
Status nhwc_io_finish(ir::Graph& g, const std::set<std::string>& names);

// SessionOptions::precision "bf16": FusedConvs with constant f32 weights compute in bf16 and
// pass bf16 activations to the convs that read them, with `bf16_ops` also through the
// element-wise ops, Resizes, Concats and means between them whose fast kernels take bf16
// (see precision_bf16.cc). After layout_nhwc and fold_scale_residual.
Status lower_precision_bf16(ir::Graph& g, bool bf16_ops = true);

// QDQ models: DequantizeLinear -> FusedConv (weights DequantizeLinear of constant int8,
// per channel) -> [post-ops] -> QuantizeLinear becomes one int8 FusedConv that reads and
// writes the quantized tensors (see quantize_qdq.cc). After layout_nhwc; DequantizeLinear of
// constant weights left over is folded into f32 constants.
Status fuse_qdq(ir::Graph& g);

// QDQ models that quantize a conv's raw output and then run element-wise ops (activation,
// affine) in float before the next QuantizeLinear: the first QuantizeLinear/DequantizeLinear
// pair goes, so the chain fuses into one int8 conv that requantizes after its post-ops
// (one rounding fewer than the fake-quant graph). Before fuse_conv.
Status drop_conv_output_qdq(ir::Graph& g);

// True for a DequantizeLinear of constant int8 weights read as the weights (input 1) of
// Conv, ConvTranspose, MatMul or Gemm: constant folding keeps it for fuse_qdq.
bool is_weight_dequantize(const ir::Node& n);

// Turns every f32 tensor into f64 (constants, graph inputs, Cast targets), leaving the
// inputs ONNX types as float (Resize scales/roi). With reference kernels: a float64 oracle.
Status promote_to_f64(ir::Graph& g);

// f32 x + x * s with s a smaller tensor broadcast against x (a squeeze-excite residual)
// becomes edgepipe.ScaleAdd(x, s): x + x * s in one pass, bit-identical.
Status fold_scale_residual(ir::Graph& g);

// Add(A, Resize(X)), f32 or (a bf16 session's) bf16, with a nearest Resize the fast kernel takes (constant scales or
// sizes), read only by that Add, and A of the Add's shape, becomes edgepipe.ResizeAdd(A, X,
// roi, scales, sizes): one pass writing the sum instead of the upsampled tensor written and
// read back (the FPN necks' top-down adds). An f32 sum read only by a per-tensor
// QuantizeLinear (a QDQ model's neck) is quantized by the same step: ResizeAdd(A, X, roi,
// scales, sizes, y_scale, y_zero_point); an A made by a ScaleAdd (f32, or bf16) with one value per
// channel, read only by the Add, is computed by it too (input 7, A_scale). Bit-identical; fast
// backends only.
Status fold_resize_add(ir::Graph& g);

// An f32 edgepipe.ScaleAdd(x, s) with one s per channel of x's last axis whose sum only a
// per-tensor QuantizeLinear reads (an RSE layer's output in a QDQ neck) writes the quantized
// tensor itself: ScaleAdd(x, s, y_scale, y_zero_point). Bit-identical; after fold_resize_add
// (which takes the ScaleAdds before a ResizeAdd).
Status fold_quantize_into_scale_add(ir::Graph& g);

// An int8 1x1 NHWC FusedConv of a u8 input with an f32 output A (stride 1, no padding, groups
// or residual) that one edgepipe.ResizeAdd reads as A, and otherwise only ReduceMeans over
// the spatial axes (global average pools, the squeeze-excite branch of an RSE neck layer),
// becomes edgepipe.FusedConvResizeAdd (kernels/fused_conv.h): A is never written. Each such
// mean, where the convolution has no post-ops, becomes the f32 1x1 convolution (dequantized
// weights) of the mean of x's dequantized values: the same sums in another order. Fast
// backends only; after fold_resize_add.
Status fold_conv_resize_add(ir::Graph& g);

// An int8 NHWC FusedConv of a u8 input (stride 1, undilated, ungrouped, no post-ops) with an
// f32 output A that a quantized edgepipe.ScaleAdd(A, s, y_scale, y_zero_point) reads, and
// otherwise only ReduceMeans over the spatial axes (an RSE layer: A + A * SE(mean(A)),
// quantized), becomes edgepipe.FusedConvScaleAdd (kernels/fused_conv.h): A is never written.
// Each mean becomes the f32 1x1 convolution (dequantized weights) of edgepipe.WindowMeans of
// the conv's input, the per-tap means of the pixels it reads: the same value in another
// summation order, so s no longer waits for A. Fast backends only; after
// fold_quantize_into_scale_add.
Status fold_conv_scale_add(ir::Graph& g);

// Concat along the last axis (NHWC channels) of tensors some of which are nearest Resizes the
// fast kernel takes (constant scales or sizes, not along that axis), each read only by the
// Concat, with one coordinate_transformation_mode and nearest_mode among them, becomes
// edgepipe.ResizeConcat(X or the tensor itself, ...): each input copied straight into its slice,
// upsampled on the way (an FPN neck's concatenation of upsampled maps). Bit-identical; fast
// backends only.
Status fold_resize_concat(ir::Graph& g);

// A 1x1 f32 NHWC FusedConv read only by a depthwise FusedConv becomes one
// edgepipe.FusedConvDepthwise when the tensor between them is large (see
// fuse_pointwise_depthwise.cc); on CPUs without AVX-512, where it was measured.
Status fuse_pointwise_depthwise(ir::Graph& g);

// Merges nodes with the same op, inputs and attributes into the first of them (random
// generators excepted); the twins' consumers read the first's outputs.
Status eliminate_common_subexpressions(ir::Graph& g);

// Removes nodes whose outputs nobody reads, then values nobody references.
Status eliminate_dead_code(ir::Graph& g);

}  // namespace ep::passes
