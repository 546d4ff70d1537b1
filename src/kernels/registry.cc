// The kernel registry: one row per (op, backend). It drives dispatch, the per-kernel
// oracle tests and docs/ops.md (`edgepipe ops --markdown`).
#include "kernels/fused_conv.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/kernel.h"
#include "kernels/onednn/onednn_kernels.h"
#include "kernels/ref/ref_kernels.h"

namespace ep::kernels {
namespace {

using namespace ref;

constexpr int kMin = 7;   // oldest default-domain opset we import
constexpr int kMax = 21;  // newest

const KernelDef kRegistry[] = {
    // op, domain, min opset, max opset, backend, factory
    // binary.cc
    {"Add", "", kMin, kMax, "ref", make_add},
    {"Sub", "", kMin, kMax, "ref", make_sub},
    {"Mul", "", kMin, kMax, "ref", make_mul},
    {"Div", "", kMin, kMax, "ref", make_div},
    {"Pow", "", kMin, kMax, "ref", make_pow},
    {"Mod", "", 10, kMax, "ref", make_mod},
    {"Equal", "", kMin, kMax, "ref", make_equal},
    {"Less", "", kMin, kMax, "ref", make_less},
    {"Greater", "", kMin, kMax, "ref", make_greater},
    {"LessOrEqual", "", 12, kMax, "ref", make_less_or_equal},
    {"GreaterOrEqual", "", 12, kMax, "ref", make_greater_or_equal},
    {"And", "", kMin, kMax, "ref", make_and},
    {"Or", "", kMin, kMax, "ref", make_or},
    {"Xor", "", kMin, kMax, "ref", make_xor},
    // unary.cc
    {"Relu", "", kMin, kMax, "ref", make_relu},
    {"Sigmoid", "", kMin, kMax, "ref", make_sigmoid},
    {"Tanh", "", kMin, kMax, "ref", make_tanh},
    {"Exp", "", kMin, kMax, "ref", make_exp},
    {"Log", "", kMin, kMax, "ref", make_log},
    {"Sqrt", "", kMin, kMax, "ref", make_sqrt},
    {"Abs", "", kMin, kMax, "ref", make_abs},
    {"Neg", "", kMin, kMax, "ref", make_neg},
    {"Reciprocal", "", kMin, kMax, "ref", make_reciprocal},
    {"Floor", "", kMin, kMax, "ref", make_floor},
    {"Ceil", "", kMin, kMax, "ref", make_ceil},
    {"Round", "", 11, kMax, "ref", make_round},
    {"Sin", "", kMin, kMax, "ref", make_sin},
    {"Cos", "", kMin, kMax, "ref", make_cos},
    {"Tan", "", kMin, kMax, "ref", make_tan},
    {"Asin", "", kMin, kMax, "ref", make_asin},
    {"Acos", "", kMin, kMax, "ref", make_acos},
    {"Atan", "", kMin, kMax, "ref", make_atan},
    {"Sinh", "", 9, kMax, "ref", make_sinh},
    {"Cosh", "", 9, kMax, "ref", make_cosh},
    {"Asinh", "", 9, kMax, "ref", make_asinh},
    {"Acosh", "", 9, kMax, "ref", make_acosh},
    {"Atanh", "", 9, kMax, "ref", make_atanh},
    {"Erf", "", 9, kMax, "ref", make_erf},
    {"Sign", "", 9, kMax, "ref", make_sign},
    {"LeakyRelu", "", kMin, kMax, "ref", make_leaky_relu},
    {"Elu", "", kMin, kMax, "ref", make_elu},
    {"Selu", "", kMin, kMax, "ref", make_selu},
    {"Celu", "", 12, kMax, "ref", make_celu},
    {"HardSigmoid", "", kMin, kMax, "ref", make_hard_sigmoid},
    {"HardSwish", "", 14, kMax, "ref", make_hard_swish},
    {"Softplus", "", kMin, kMax, "ref", make_softplus},
    {"Softsign", "", kMin, kMax, "ref", make_softsign},
    {"ThresholdedRelu", "", 10, kMax, "ref", make_thresholded_relu},
    {"Gelu", "", 20, kMax, "ref", make_gelu},
    {"Mish", "", 18, kMax, "ref", make_mish},
    {"Clip", "", kMin, kMax, "ref", make_clip},

    // --- nn: conv, pooling, normalization, matmul, softmax ---
    // conv.cc, conv_transpose.cc
    {"Conv", "", kMin, kMax, "ref", make_conv},
    {"ConvTranspose", "", kMin, kMax, "ref", make_conv_transpose},
    // pool.cc
    {"MaxPool", "", kMin, kMax, "ref", make_max_pool},
    {"AveragePool", "", kMin, kMax, "ref", make_average_pool},
    {"LpPool", "", kMin, kMax, "ref", make_lp_pool},
    {"GlobalAveragePool", "", kMin, kMax, "ref", make_global_average_pool},
    {"GlobalMaxPool", "", kMin, kMax, "ref", make_global_max_pool},
    {"GlobalLpPool", "", kMin, kMax, "ref", make_global_lp_pool},
    // normalization.cc
    {"BatchNormalization", "", kMin, kMax, "ref", make_batch_normalization},
    {"InstanceNormalization", "", kMin, kMax, "ref", make_instance_normalization},
    {"LayerNormalization", "", 17, kMax, "ref", make_layer_normalization},
    {"LRN", "", kMin, kMax, "ref", make_lrn},
    // matmul.cc
    {"Gemm", "", kMin, kMax, "ref", make_gemm},
    {"MatMul", "", kMin, kMax, "ref", make_matmul},
    {"MatMulInteger", "", 10, kMax, "ref", make_matmul_integer},
    // quantize.cc
    {"QuantizeLinear", "", 10, kMax, "ref", make_quantize_linear},
    {"DequantizeLinear", "", 10, kMax, "ref", make_dequantize_linear},
    // softmax.cc
    {"Softmax", "", kMin, kMax, "ref", make_softmax},
    {"LogSoftmax", "", kMin, kMax, "ref", make_log_softmax},
    {"Hardmax", "", kMin, kMax, "ref", make_hardmax},
    // prelu.cc
    {"PRelu", "", kMin, kMax, "ref", make_prelu},

    // --- shape and data movement ---
    // shape_ops.cc
    {"Shape", "", kMin, kMax, "ref", make_shape},
    {"Size", "", kMin, kMax, "ref", make_size},
    {"Reshape", "", kMin, kMax, "ref", make_reshape},
    {"Flatten", "", kMin, kMax, "ref", make_flatten},
    {"Squeeze", "", kMin, kMax, "ref", make_squeeze},
    {"Unsqueeze", "", kMin, kMax, "ref", make_unsqueeze},
    {"Identity", "", kMin, kMax, "ref", make_identity},
    {"Dropout", "", kMin, kMax, "ref", make_dropout},
    // transpose.cc
    {"Transpose", "", kMin, kMax, "ref", make_transpose},
    {"DepthToSpace", "", kMin, kMax, "ref", make_depth_to_space},
    {"SpaceToDepth", "", kMin, kMax, "ref", make_space_to_depth},
    // concat_split.cc
    {"Concat", "", kMin, kMax, "ref", make_concat},
    {"Split", "", kMin, kMax, "ref", make_split},
    // slice.cc
    {"Slice", "", kMin, kMax, "ref", make_slice},
    // gather.cc
    {"Gather", "", kMin, kMax, "ref", make_gather},
    {"GatherElements", "", 11, kMax, "ref", make_gather_elements},
    {"GatherND", "", 11, kMax, "ref", make_gather_nd},
    // scatter.cc
    {"ScatterND", "", 11, kMax, "ref", make_scatter_nd},
    {"ScatterElements", "", 11, kMax, "ref", make_scatter_elements},
    {"Scatter", "", 9, 10, "ref", make_scatter_elements},  // deprecated name of ScatterElements
    // expand_tile.cc
    {"Expand", "", 8, kMax, "ref", make_expand},
    {"Tile", "", kMin, kMax, "ref", make_tile},
    // pad.cc
    {"Pad", "", kMin, kMax, "ref", make_pad},
    // cast.cc
    {"Cast", "", kMin, kMax, "ref", make_cast},
    {"CastLike", "", 15, kMax, "ref", make_cast_like},
    // generators.cc
    {"ConstantOfShape", "", 9, kMax, "ref", make_constant_of_shape},
    {"Range", "", 11, kMax, "ref", make_range},
    {"EyeLike", "", 9, kMax, "ref", make_eye_like},
    {"OneHot", "", 9, kMax, "ref", make_one_hot},
    // select.cc
    {"Where", "", 9, kMax, "ref", make_where},
    {"Trilu", "", 14, kMax, "ref", make_trilu},
    {"Not", "", kMin, kMax, "ref", make_not},

    // --- reductions, selection, resize and the rest ---
    // reduce.cc
    {"ReduceSum", "", kMin, kMax, "ref", make_reduce_sum},
    {"ReduceMean", "", kMin, kMax, "ref", make_reduce_mean},
    {"ReduceMax", "", kMin, kMax, "ref", make_reduce_max},
    {"ReduceMin", "", kMin, kMax, "ref", make_reduce_min},
    {"ReduceProd", "", kMin, kMax, "ref", make_reduce_prod},
    {"ReduceL1", "", kMin, kMax, "ref", make_reduce_l1},
    {"ReduceL2", "", kMin, kMax, "ref", make_reduce_l2},
    {"ReduceLogSum", "", kMin, kMax, "ref", make_reduce_log_sum},
    {"ReduceLogSumExp", "", kMin, kMax, "ref", make_reduce_log_sum_exp},
    {"ReduceSumSquare", "", kMin, kMax, "ref", make_reduce_sum_square},
    // arg_extremum.cc, top_k.cc, cum_sum.cc
    {"ArgMax", "", kMin, kMax, "ref", make_arg_max},
    {"ArgMin", "", kMin, kMax, "ref", make_arg_min},
    {"TopK", "", kMin, kMax, "ref", make_top_k},
    {"CumSum", "", 11, kMax, "ref", make_cum_sum},
    // variadic.cc, special_values.cc, bit_shift.cc
    {"Min", "", kMin, kMax, "ref", make_min},
    {"Max", "", kMin, kMax, "ref", make_max},
    {"Sum", "", kMin, kMax, "ref", make_sum},
    {"Mean", "", kMin, kMax, "ref", make_mean},
    {"IsNaN", "", 9, kMax, "ref", make_is_nan},
    {"IsInf", "", 10, kMax, "ref", make_is_inf},
    {"BitShift", "", 11, kMax, "ref", make_bit_shift},
    // resize.cc
    {"Resize", "", 10, kMax, "ref", make_resize},
    {"Upsample", "", kMin, 9, "ref", make_upsample},
    // einsum.cc
    {"Einsum", "", 12, kMax, "ref", make_einsum},

    // --- edgepipe-internal ops created by graph passes (opset of the "edgepipe" domain: 1) ---
    {"FusedConv", "edgepipe", 1, 1, "ref", make_ref_fused_conv},
    {"FusedConv", "edgepipe", 1, 1, "onednn", make_onednn_fused_conv},
    {"FusedConvTranspose", "edgepipe", 1, 1, "ref", make_ref_fused_conv},
    {"FusedConvTranspose", "edgepipe", 1, 1, "onednn", make_onednn_fused_conv},
    {"FusedConvDepthwise", "edgepipe", 1, 1, "ref", make_ref_fused_conv_depthwise},
    {"FusedConvDepthwise", "edgepipe", 1, 1, "onednn", make_onednn_fused_conv_depthwise},
    {"FusedConvResizeAdd", "edgepipe", 1, 1, "onednn", make_fused_conv_resize_add},
    {"FusedConvScaleAdd", "edgepipe", 1, 1, "onednn", make_fused_conv_scale_add},
    {"MatMul", "", kMin, kMax, "onednn", make_onednn_matmul},
    {"Gemm", "", kMin, kMax, "onednn", make_onednn_gemm},

    // --- cpu: hand-written fast paths; each declines what it does not cover ---
    {"Add", "", kMin, kMax, "cpu", cpu::make_add},
    {"Sub", "", kMin, kMax, "cpu", cpu::make_sub},
    {"Mul", "", kMin, kMax, "cpu", cpu::make_mul},
    {"Div", "", kMin, kMax, "cpu", cpu::make_div},
    {"Pow", "", kMin, kMax, "cpu", cpu::make_pow},
    {"Relu", "", kMin, kMax, "cpu", cpu::make_relu},
    {"Sigmoid", "", kMin, kMax, "cpu", cpu::make_sigmoid},
    {"Tanh", "", kMin, kMax, "cpu", cpu::make_tanh},
    {"Clip", "", kMin, kMax, "cpu", cpu::make_clip},
    {"HardSigmoid", "", kMin, kMax, "cpu", cpu::make_hard_sigmoid},
    {"HardSwish", "", 14, kMax, "cpu", cpu::make_hard_swish},
    {"Resize", "", 11, kMax, "cpu", cpu::make_resize},
    {"ReduceMean", "", kMin, kMax, "cpu", cpu::make_reduce_mean},
    {"GlobalAveragePool", "", kMin, kMax, "cpu", cpu::make_global_average_pool},
    {"Transpose", "", kMin, kMax, "cpu", cpu::make_transpose},
    {"Concat", "", kMin, kMax, "cpu", cpu::make_concat},
    {"Slice", "", kMin, kMax, "cpu", cpu::make_slice},
    {"Softmax", "", kMin, kMax, "cpu", cpu::make_softmax},
    {"MaxPool", "", kMin, kMax, "cpu", cpu::make_max_pool},
    {"AveragePool", "", kMin, kMax, "cpu", cpu::make_average_pool},
    {"MatMul", "", kMin, kMax, "cpu", cpu::make_gemv_matmul},
    {"Gemm", "", kMin, kMax, "cpu", cpu::make_gemv_gemm},
    {"FusedConv", "edgepipe", 1, 1, "cpu", cpu::make_fused_conv},
    {"MaxPool", "edgepipe", 1, 1, "ref", cpu::make_max_pool_layout},
    {"AveragePool", "edgepipe", 1, 1, "ref", cpu::make_average_pool_layout},
    {"ScaleAdd", "edgepipe", 1, 1, "ref", cpu::make_scale_add},
    {"ResizeAdd", "edgepipe", 1, 1, "cpu", cpu::make_resize_add},
    {"ResizeConcat", "edgepipe", 1, 1, "cpu", cpu::make_resize_concat},
    {"WindowMeans", "edgepipe", 1, 1, "cpu", cpu::make_window_means},
    {"Transpose", "edgepipe", 1, 1, "cpu", cpu::make_transpose_to_bf16},
    {"ToBlocked", "edgepipe", 1, 1, "ref", cpu::make_to_blocked},
    {"FromBlocked", "edgepipe", 1, 1, "ref", cpu::make_from_blocked},
    {"QuantizeLinear", "", 10, kMax, "cpu", cpu::make_quantize_linear},
    {"DequantizeLinear", "", 10, kMax, "cpu", cpu::make_dequantize_linear},
};

}  // namespace

std::span<const KernelDef> kernel_registry() { return kRegistry; }

}  // namespace ep::kernels
