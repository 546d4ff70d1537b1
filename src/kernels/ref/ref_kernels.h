// Factories of the reference kernels, one per op; the registry table lists them.
#pragma once

#include <memory>

#include "kernels/kernel.h"

namespace ep::kernels::ref {

// binary.cc
std::unique_ptr<Kernel> make_add();
std::unique_ptr<Kernel> make_sub();
std::unique_ptr<Kernel> make_mul();
std::unique_ptr<Kernel> make_div();
std::unique_ptr<Kernel> make_pow();
std::unique_ptr<Kernel> make_mod();
std::unique_ptr<Kernel> make_equal();
std::unique_ptr<Kernel> make_less();
std::unique_ptr<Kernel> make_greater();
std::unique_ptr<Kernel> make_less_or_equal();
std::unique_ptr<Kernel> make_greater_or_equal();
std::unique_ptr<Kernel> make_and();
std::unique_ptr<Kernel> make_or();
std::unique_ptr<Kernel> make_xor();

// unary.cc
std::unique_ptr<Kernel> make_relu();
std::unique_ptr<Kernel> make_sigmoid();
std::unique_ptr<Kernel> make_tanh();
std::unique_ptr<Kernel> make_exp();
std::unique_ptr<Kernel> make_log();
std::unique_ptr<Kernel> make_sqrt();
std::unique_ptr<Kernel> make_abs();
std::unique_ptr<Kernel> make_neg();
std::unique_ptr<Kernel> make_reciprocal();
std::unique_ptr<Kernel> make_floor();
std::unique_ptr<Kernel> make_ceil();
std::unique_ptr<Kernel> make_round();
std::unique_ptr<Kernel> make_sin();
std::unique_ptr<Kernel> make_cos();
std::unique_ptr<Kernel> make_tan();
std::unique_ptr<Kernel> make_asin();
std::unique_ptr<Kernel> make_acos();
std::unique_ptr<Kernel> make_atan();
std::unique_ptr<Kernel> make_sinh();
std::unique_ptr<Kernel> make_cosh();
std::unique_ptr<Kernel> make_asinh();
std::unique_ptr<Kernel> make_acosh();
std::unique_ptr<Kernel> make_atanh();
std::unique_ptr<Kernel> make_erf();
std::unique_ptr<Kernel> make_sign();
std::unique_ptr<Kernel> make_leaky_relu();
std::unique_ptr<Kernel> make_elu();
std::unique_ptr<Kernel> make_selu();
std::unique_ptr<Kernel> make_celu();
std::unique_ptr<Kernel> make_hard_sigmoid();
std::unique_ptr<Kernel> make_hard_swish();
std::unique_ptr<Kernel> make_softplus();
std::unique_ptr<Kernel> make_softsign();
std::unique_ptr<Kernel> make_thresholded_relu();
std::unique_ptr<Kernel> make_gelu();
std::unique_ptr<Kernel> make_mish();
std::unique_ptr<Kernel> make_clip();

// --- nn: conv, pooling, normalization, matmul, softmax ---
std::unique_ptr<Kernel> make_conv();
std::unique_ptr<Kernel> make_conv_transpose();
std::unique_ptr<Kernel> make_max_pool();
std::unique_ptr<Kernel> make_average_pool();
std::unique_ptr<Kernel> make_lp_pool();
std::unique_ptr<Kernel> make_global_average_pool();
std::unique_ptr<Kernel> make_global_max_pool();
std::unique_ptr<Kernel> make_global_lp_pool();
std::unique_ptr<Kernel> make_batch_normalization();
std::unique_ptr<Kernel> make_instance_normalization();
std::unique_ptr<Kernel> make_layer_normalization();
std::unique_ptr<Kernel> make_lrn();
std::unique_ptr<Kernel> make_gemm();
std::unique_ptr<Kernel> make_matmul();
std::unique_ptr<Kernel> make_matmul_integer();

// quantize.cc
std::unique_ptr<Kernel> make_quantize_linear();
std::unique_ptr<Kernel> make_dequantize_linear();
std::unique_ptr<Kernel> make_softmax();
std::unique_ptr<Kernel> make_log_softmax();
std::unique_ptr<Kernel> make_hardmax();
std::unique_ptr<Kernel> make_prelu();

// --- shape and data movement ---

// shape_ops.cc
std::unique_ptr<Kernel> make_shape();
std::unique_ptr<Kernel> make_size();
std::unique_ptr<Kernel> make_reshape();
std::unique_ptr<Kernel> make_flatten();
std::unique_ptr<Kernel> make_squeeze();
std::unique_ptr<Kernel> make_unsqueeze();
std::unique_ptr<Kernel> make_identity();
std::unique_ptr<Kernel> make_dropout();

// transpose.cc
std::unique_ptr<Kernel> make_transpose();
std::unique_ptr<Kernel> make_depth_to_space();
std::unique_ptr<Kernel> make_space_to_depth();

// concat_split.cc
std::unique_ptr<Kernel> make_concat();
std::unique_ptr<Kernel> make_split();

// slice.cc
std::unique_ptr<Kernel> make_slice();

// gather.cc
std::unique_ptr<Kernel> make_gather();
std::unique_ptr<Kernel> make_gather_elements();
std::unique_ptr<Kernel> make_gather_nd();

// scatter.cc
std::unique_ptr<Kernel> make_scatter_nd();
std::unique_ptr<Kernel> make_scatter_elements();

// expand_tile.cc
std::unique_ptr<Kernel> make_expand();
std::unique_ptr<Kernel> make_tile();

// pad.cc
std::unique_ptr<Kernel> make_pad();

// cast.cc
std::unique_ptr<Kernel> make_cast();
std::unique_ptr<Kernel> make_cast_like();

// generators.cc
std::unique_ptr<Kernel> make_constant_of_shape();
std::unique_ptr<Kernel> make_range();
std::unique_ptr<Kernel> make_eye_like();
std::unique_ptr<Kernel> make_one_hot();

// select.cc
std::unique_ptr<Kernel> make_where();
std::unique_ptr<Kernel> make_trilu();
std::unique_ptr<Kernel> make_not();

// --- reductions, selection, resize and the rest ---
// reduce.cc
std::unique_ptr<Kernel> make_reduce_sum();
std::unique_ptr<Kernel> make_reduce_mean();
std::unique_ptr<Kernel> make_reduce_max();
std::unique_ptr<Kernel> make_reduce_min();
std::unique_ptr<Kernel> make_reduce_prod();
std::unique_ptr<Kernel> make_reduce_l1();
std::unique_ptr<Kernel> make_reduce_l2();
std::unique_ptr<Kernel> make_reduce_log_sum();
std::unique_ptr<Kernel> make_reduce_log_sum_exp();
std::unique_ptr<Kernel> make_reduce_sum_square();
// arg_extremum.cc, top_k.cc, cum_sum.cc
std::unique_ptr<Kernel> make_arg_max();
std::unique_ptr<Kernel> make_arg_min();
std::unique_ptr<Kernel> make_top_k();
std::unique_ptr<Kernel> make_cum_sum();
// variadic.cc, special_values.cc, bit_shift.cc
std::unique_ptr<Kernel> make_min();
std::unique_ptr<Kernel> make_max();
std::unique_ptr<Kernel> make_sum();
std::unique_ptr<Kernel> make_mean();
std::unique_ptr<Kernel> make_is_nan();
std::unique_ptr<Kernel> make_is_inf();
std::unique_ptr<Kernel> make_bit_shift();
// resize.cc
std::unique_ptr<Kernel> make_resize();
std::unique_ptr<Kernel> make_upsample();
// einsum.cc
std::unique_ptr<Kernel> make_einsum();


}  // namespace ep::kernels::ref
