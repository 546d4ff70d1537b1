// Hand-written fast CPU kernels for the element-wise, resize and reduction ops that sit
// between convolutions. Each takes the common f32 cases and declines the rest in
// prepare(), so the reference kernel runs them.
#pragma once

#include <cstdint>
#include <memory>

#include "kernels/kernel.h"

namespace ep::kernels {
struct FusedConvParams;
}

namespace ep::kernels::cpu {

// Bytes a memory-bound op (element-wise, data movement, pooling, reductions) moves below
// which it runs on the calling thread alone: waking the rest of the OpenMP team and pulling
// its share from the other core's cache costs more than it saves, and on a shared machine a
// team member whose core is taken stalls the whole op at the barrier. At 2 threads,
// MobileNetV3's squeeze-excite Muls (376-527 KB) took 0.010 ms alone and 0.026 ms split, and
// the model's non-convolution steps 0.58 instead of 0.90 ms while a neighbour was busy
// (equal when quiet); the PP-OCRv4 detector has 0.15 ms of steps in 256 KB - 1 MB.
#ifndef EP_CPU_PARALLEL_BYTES
#define EP_CPU_PARALLEL_BYTES (1 << 20)
#endif
inline constexpr int64_t kParallelBytes = EP_CPU_PARALLEL_BYTES;
// Compute-bound kernels (the pointwise convolution) and the weight-streaming GEMV, which
// gains a second core's memory bandwidth, split from a quarter of that.
inline constexpr int64_t kParallelWorkBytes = 256 << 10;

std::unique_ptr<Kernel> make_add();
std::unique_ptr<Kernel> make_sub();
std::unique_ptr<Kernel> make_mul();
std::unique_ptr<Kernel> make_div();
std::unique_ptr<Kernel> make_pow();  // constant scalar exponent only
// edgepipe.ScaleAdd(x, s) = x + x * s in one pass, s broadcast against x, bit-identical to
// Mul then Add; made by passes/fold_scale_residual.cc. f32 only; its own reference. With
// y_scale and y_zero_point (inputs 2 and 3; s one value per channel of x's last axis), the sum
// quantized as QuantizeLinear would (passes::fold_quantize_into_scale_add).
std::unique_ptr<Kernel> make_scale_add();
// Its inner run: y[i] = a[i*sa] + a[i*sa] * b[i*sb], sa and sb each 0 or 1 (scale_add.cc).
void scale_add_run(const float* a, int64_t sa, const float* b, int64_t sb, float* y, int64_t n);
// y[r, j] = a[r, j] + a[r, j] * b[j] over rows of n (a per-channel vector against blocked pixels).
void scale_add_rows(const float* a, const float* b, float* y, int64_t rows, int64_t n);
// y = (a + a * s) + b, the ScaleAdd's two roundings and then the Add's (ResizeAdd with A_scale).
void scale_add_plus(const float* a, const float* s, const float* b, float* y, int64_t n);

std::unique_ptr<Kernel> make_relu();
std::unique_ptr<Kernel> make_sigmoid();
std::unique_ptr<Kernel> make_clip();
std::unique_ptr<Kernel> make_hard_sigmoid();
std::unique_ptr<Kernel> make_hard_swish();
std::unique_ptr<Kernel> make_tanh();

std::unique_ptr<Kernel> make_resize();
// Whether the fast nearest Resize takes this node's attributes (mode nearest, asymmetric or
// half_pixel coordinates, a nearest_mode it implements, none of axes, antialias,
// keep_aspect_ratio_policy, exclude_outside); passes/precision_bf16.cc keeps bf16 only
// through those (the reference Resize computes f32 only).
bool resize_nearest_form(const ir::Node& n);
// edgepipe.ResizeAdd(A, X, roi, scales, sizes[, y_scale, y_zero_point[, A_scale]]) = A +
// Resize(X, roi, scales, sizes), Resize's attributes, f32 or bf16, in the forms the fast Resize
// takes; with y_scale, QuantizeLinear of the f32 sum; with A_scale (one value per channel of
// the last axis), A + A * A_scale in place of A (passes/fold_resize_add.cc makes it).
std::unique_ptr<Kernel> make_resize_add();
// The fast nearest Resize's index tables for the node of `ctx` with X at input `x_at` (Resize:
// 0, ResizeAdd: 1): per axis of X, the input index each output index reads. An error where
// the fast kernel declines the node.
Result<std::vector<std::vector<int64_t>>> resize_nearest_tables(const PrepareContext& ctx, size_t x_at);
// edgepipe.ResizeConcat(X0, ..): Concat along the last axis of nearest Resizes (or not) of each
// input, written straight into the output (passes/fold_resize_concat.cc makes it).
std::unique_ptr<Kernel> make_resize_concat();
// edgepipe.WindowMeans(X, x_scale, x_zero_point) with kernel_shape [kh, kw] and pads [top,
// left, bottom, right]: X u8 [N, H, W, C] (constant one-value scale and zero point), Y f32
// [N, 1, 1, kh * kw * C], Y[n, 0, 0, (ky * kw + kx) * C + c] the mean over the stride-1
// convolution's OH x OW output pixels of the dequantized input its tap (ky, kx) reads there
// (the padding dequantizes to 0). The spatial mean of an int8 convolution's output is then an
// f32 1x1 convolution of Y (passes/fold_resize_add.cc makes it; window_means.cc).
std::unique_ptr<Kernel> make_window_means();
std::unique_ptr<Kernel> make_reduce_mean();
std::unique_ptr<Kernel> make_global_average_pool();
std::unique_ptr<Kernel> make_transpose();
// edgepipe.Transpose: ONNX Transpose of an f32 tensor written as bf16 (rounded to nearest
// even) in the same pass: a bf16 session's NCHW -> NHWC input transpose feeding bf16 convs
// (passes/precision_bf16.cc); the batched 2-D forms the cpu Transpose takes.
std::unique_ptr<Kernel> make_transpose_to_bf16();
std::unique_ptr<Kernel> make_concat();  // any dtype, split across threads
std::unique_ptr<Kernel> make_slice();   // contiguous innermost reads, split across threads
std::unique_ptr<Kernel> make_softmax();
std::unique_ptr<Kernel> make_max_pool();
std::unique_ptr<Kernel> make_average_pool();
// edgepipe.MaxPool / edgepipe.AveragePool: the ONNX op's attributes plus `layout` (NCHW, NHWC
// or NCHW8c), made by the layout passes. Their plain window loops are also their reference.
std::unique_ptr<Kernel> make_max_pool_layout();
std::unique_ptr<Kernel> make_average_pool_layout();
// edgepipe.ToBlocked / edgepipe.FromBlocked: NHWC <-> [N, ceil(C/B), H, W, B] (blocked_layout.cc),
// made by passes/layout_blocked.cc; their own reference.
std::unique_ptr<Kernel> make_to_blocked();
std::unique_ptr<Kernel> make_from_blocked();
// Per-tensor u8/i8 QuantizeLinear and DequantizeLinear (quantize.cc).
std::unique_ptr<Kernel> make_quantize_linear();
std::unique_ptr<Kernel> make_dequantize_linear();

// MatMul/Gemm with 1 to 4 rows against a constant f32 B, and f32 1x1 FusedConv at 1x1
// output for 1 to 4 images, on PackedGemv (matmul.cc, gemv.h). The oneDNN kernels ask the
// two predicates and decline what these take.
std::unique_ptr<Kernel> make_gemv_matmul();
std::unique_ptr<Kernel> make_gemv_gemm();
std::unique_ptr<Kernel> make_gemv_fused_conv();
bool matmul_runs_as_gemv(const PrepareContext& ctx, bool gemm);
bool fused_conv_runs_as_gemv(const FusedConvParams& p);

// f32 1x1 stride-1 unpadded NHWC FusedConv with a swish or sigmoid post-op and at least 32
// input channels, on an AVX-512 register-tiled product with the post-ops applied in registers
// (pointwise_conv.cc; false without AVX-512 at compile time). Other 1x1 layers stay on oneDNN.
bool fused_conv_runs_as_pointwise(const FusedConvParams& p);
// f32 NHWC FusedConv (any kernel size, stride, padding; group 1) with at most 64 output
// pixels: a product that streams the packed weights once, threads splitting the output
// channels (panel_conv.cc; false without AVX-512 at compile time).
bool fused_conv_runs_as_panels(const FusedConvParams& p);
std::unique_ptr<Kernel> make_panel_fused_conv();
// The cpu backend's FusedConv: the GEMV, the panel or the pointwise kernel, whichever takes
// the node (in that order).
std::unique_ptr<Kernel> make_fused_conv();

}  // namespace ep::kernels::cpu
