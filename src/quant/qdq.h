// What a QDQ model quantizes, computed from the float graph and calibrated ranges:
// per-channel symmetric s8 weights, int32 biases with scale s_x * s_w, asymmetric u8
// activations (the inputs and output of every quantized Conv/ConvTranspose/MatMul/Gemm),
// or, with 4-bit weights, block-wise INT4 MatMul/Gemm weights with float activations
// (the weight-only layout ONNX Runtime fuses into MatMulNBits).
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "onnx/qdq_export.h"
#include "quant/calibrate.h"

namespace ep::quant {

// A node the quantizer can quantize.
struct QuantTarget {
  std::string node, op;
  std::vector<std::string> activations;  // float inputs that are not constants
  std::string output;                    // empty when the output is a graph output (kept float)
  int weight_input = -1;                 // constant float weight, -1: none
  int bias_input = -1;                   // constant float bias, -1: none
};

std::vector<QuantTarget> find_quant_targets(const ir::Graph& g);
// The tensors whose ranges calibration needs for `targets`.
std::vector<std::string> calibration_tensors(const std::vector<QuantTarget>& targets);

struct QdqOptions {
  int weight_bits = 8;     // 8, or 4 for MatMul/Gemm weights (others stay 8)
  int64_t block_size = 32; // 4-bit weights: values per scale along the reduction axis
  // 8-bit weights in [-63, 63] (7 bits of magnitude, ONNX Runtime's reduce_range): CPUs
  // without VNNI add two u8*s8 products in a saturating 16-bit lane, exact only for these.
  bool reduce_range = false;
};

// Quantization of weight `w` along `axis` (per channel; -1: one scale), symmetric, to
// [-127, 127] (8 bits), [-63, 63] (7: reduce_range) or [-8, 7] (4 bits); with block_size, one scale per block along axis.
struct QuantizedWeight {
  Tensor q;      // i8
  Tensor scale;  // f32
};
QuantizedWeight quantize_weight(const Tensor& w, int64_t axis, int bits, int64_t block_size = 0);

// u8 scale and zero point covering `r` (widened to include 0, as ONNX Runtime does).
void activation_params(Range r, float& scale, uint8_t& zero_point);

// The spec quantizing every target not in `keep_float`.
Result<onnx_export::QdqSpec> make_qdq_spec(const ir::Graph& g, const std::vector<QuantTarget>& targets,
                                           const std::set<std::string>& keep_float,
                                           const std::map<std::string, Range>& ranges, const QdqOptions& options);

}  // namespace ep::quant
