// The kernel registry: one row per (op, backend). It drives dispatch, the per-kernel
// oracle tests and docs/ops.md (`edgepipe ops --markdown`).
#include "kernels/kernel.h"
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

};

}  // namespace

std::span<const KernelDef> kernel_registry() { return kRegistry; }

}  // namespace ep::kernels
