// edgepipe.FusedConv: a 2-D convolution with its following element-wise ops folded in.
// Graph passes create it from ONNX Conv (+ activation, affine, residual Add); the oneDNN
// kernel runs the chain as one primitive with post-ops, the reference kernel is its oracle.
//
// Inputs: X, W [Cout, Cin/group, kH, kW], B [Cout] (optional), R (optional residual, shape of Y).
// edgepipe.FusedConvTranspose is the same with ConvTranspose's weights [Cin, Cout/group, kH, kW]
// and output size (H - 1) * stride + (kH - 1) * dilation + 1 - pads.
// Attributes (all explicit; passes resolve auto_pad and defaults):
//   group, strides[2], dilations[2], pads[4] (ONNX order: top, left, bottom, right),
//   layout: "NCHW", "NHWC" or "NCHW8c" (of X, R and Y; W stays OIHW). NCHW8c is oneDNN's
//     nChw8c as a 5-D tensor [N, C/8, H, W, 8] (channels a multiple of 8; made by
//     passes/layout_blocked.cc for CPUs without AVX-512),
//   post_ops: ints, one PostOpKind per op in order; post_op_params: floats, two per op.
// Precision (optional; passes set it, see passes/precision_bf16.cc and passes/quantize_qdq.cc):
//   precision: "f32" (default), "bf16" or "int8";
//   output_dtype: "f32" (default); "bf16" with bf16; "u8", "i8" or "f32" with int8.
//   bf16: X is f32 or bf16 (rounded to bf16 either way), W f32 is rounded to bf16,
//         accumulation and post-ops in f32, R f32 or bf16.
//   int8: X u8/i8 with x_scale, x_zero_point; W i8 (symmetric) with w_scales (one per
//         output channel, or one); B f32; post-ops on the dequantized accumulator; Y
//         quantized with y_scale, y_zero_point (round half to even, saturate) unless f32.
#pragma once

#include <vector>

#include "kernels/kernel.h"

namespace ep::kernels {

inline constexpr char kFusedConvDomain[] = "edgepipe";
inline constexpr char kFusedConvOp[] = "FusedConv";
inline constexpr char kFusedConvTransposeOp[] = "FusedConvTranspose";
// edgepipe.FusedConvDepthwise: a 1x1 FusedConv and the depthwise FusedConv that alone reads
// its output, as one node (passes/fuse_pointwise_depthwise.cc makes it). Inputs: X, W, B
// (optional) of the 1x1, then W, B (optional) of the depthwise; attributes: the 1x1's as
// FusedConv has them, the depthwise's with the prefix "dw_". Output: the depthwise's. Its
// meaning is the two FusedConvs in turn, and that is its reference kernel; the fast one runs
// them in bands of rows so the 1x1's output stays in cache (onednn/pointwise_depthwise.h).
inline constexpr char kFusedConvDepthwiseOp[] = "FusedConvDepthwise";
inline constexpr char kDepthwiseAttrPrefix[] = "dw_";
// edgepipe.FusedConvResizeAdd: a FusedConv with an f32 output A and the edgepipe.ResizeAdd
// that alone reads it, as one node (passes/fold_resize_add.cc makes it). Inputs: X, W, B
// (optional) of the FusedConv, then ResizeAdd's inputs after A (X, roi, scales, sizes,
// y_scale, y_zero_point, A_scale; cpu_kernels.h); attributes: the FusedConv's, and Resize's
// with the prefix "resize_". Its meaning is the two in turn; the fast kernel computes the
// ResizeAdd in the epilogue of PointwiseInt8 (onednn/pointwise_int8.h) where that takes the
// convolution, so A is never written.
inline constexpr char kFusedConvResizeAddOp[] = "FusedConvResizeAdd";
// edgepipe.FusedConvScaleAdd(X, W, B, s, y_scale, y_zero_point): a FusedConv with an f32
// output A and the quantized edgepipe.ScaleAdd(A, s, y_scale, y_zero_point) that alone reads
// it, as one node (passes/fold_resize_add.cc makes it); attributes: the FusedConv's. Its
// meaning is the two in turn; the fast kernel computes the ScaleAdd and its quantizer in the
// store of WinogradInt16 or NarrowInt8Conv (onednn/) where one of them takes the convolution.
inline constexpr char kFusedConvScaleAddOp[] = "FusedConvScaleAdd";
inline constexpr char kResizeAttrPrefix[] = "resize_";

enum class PostOpKind : int64_t {
  relu = 1,       // max(x, 0)
  clip = 2,       // min(max(x, a), b)
  linear = 3,     // a*x + b
  hard_swish = 4, // x * min(max(x + 3, 0), 6) / 6
  sigmoid = 5,    // 1 / (1 + exp(-x))
  swish = 6,      // x * sigmoid(x)
  residual = 7,   // x + R (the fourth input)
};

struct PostOp {
  PostOpKind kind;
  float a = 0, b = 0;
};

enum class ConvPrecision { f32, bf16, int8 };

struct FusedConvParams {
  int64_t group = 1;
  int64_t stride[2] = {1, 1}, dilation[2] = {1, 1}, pad_begin[2] = {0, 0}, pad_end[2] = {0, 0};
  bool nhwc = false;
  // 8 for NCHW8c. At a 1x1 input and output the blocked bytes are NHWC's, and the layout is
  // read as NHWC (block 0), so the kernels for that case take it unchanged.
  int64_t block = 0;
  bool transposed = false;  // FusedConvTranspose
  std::vector<PostOp> post_ops;
  ConvPrecision precision = ConvPrecision::f32;
  DType x_dtype = DType::f32, y_dtype = DType::f32, r_dtype = DType::f32;
  float x_scale = 1.f, y_scale = 1.f;     // int8
  int32_t x_zero = 0, y_zero = 0;         // int8
  std::vector<float> w_scales;            // int8: per output channel (cout entries)
  // Logical (NCHW) dims.
  int64_t n = 0, cin = 0, h = 0, w = 0, cout = 0, kh = 0, kw = 0, oh = 0, ow = 0;
};

// Validates inputs and attributes and computes the output shape (set on ctx).
Result<FusedConvParams> prepare_fused_conv(PrepareContext& ctx);

// Whether the chain holds a post-op of this kind; whether it holds an exp (swish, sigmoid);
// whether it holds a post-op oneDNN 2.6's AVX2 kernels run slowly (an exp, or hard_swish:
// ~0.7 ns per output value on a Zen 1 where ReLU costs nothing), which edgepipe's own AVX2
// paths apply in cache instead (ChunkedPointwise, BandedConv).
bool has_post_op(const std::vector<PostOp>& ops, PostOpKind kind);
bool has_exp_post_op(const std::vector<PostOp>& ops);
bool has_slow_avx2_post_op(const std::vector<PostOp>& ops);

// The form edgepipe's own int8 convolution kernels take (NarrowInt8Conv, WinogradInt16,
// DepthwiseInt8, PointwiseInt8; each adds its shapes): int8 precision, u8 NHWC input, not
// transposed, u8/i8/f32 output, w_scales per tensor or per output channel, no residual.
bool int8_nhwc_u8_form(const FusedConvParams& p);

// Applies one post-op to a value (the reference semantics; `r` is the residual element).
float apply_post_op(const PostOp& op, float x, float r);

// Applies one post-op to `count` values in place (residual element i from r[i]): the same
// formulas as apply_post_op, vectorised, exp by vexp (onednn/fused_conv.cc).
void apply_post_op_span(const PostOp& op, float* v, const float* r, int64_t count);

// ONNX QuantizeLinear's rounding: half to even, then saturation to u8 or i8.
int32_t quantize_value(float x, float scale, int32_t zero, DType dtype);

std::unique_ptr<Kernel> make_ref_fused_conv();
std::unique_ptr<Kernel> make_onednn_fused_conv();
std::unique_ptr<Kernel> make_ref_fused_conv_depthwise();
std::unique_ptr<Kernel> make_onednn_fused_conv_depthwise();
std::unique_ptr<Kernel> make_fused_conv_resize_add();
std::unique_ptr<Kernel> make_fused_conv_scale_add();

}  // namespace ep::kernels
