#include "quant/qdq.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace ep::quant {
namespace {

bool float_constant(const ir::Value* v) { return v && v->is_constant() && v->dtype == DType::f32; }
// Before a session infers them, intermediate tensors have no dtype yet: those count as float
// (an op with a float weight computes in float).
bool maybe_float(const ir::Value* v) { return v && (v->dtype == DType::f32 || v->dtype == DType::undefined); }

// The weight axis that indexes output channels, or -1 for one scale.
int64_t weight_axis(const ir::Node& n, const Tensor& w) {
  const size_t rank = w.shape().rank();
  if (n.op_type == "Conv") return rank >= 2 ? 0 : -1;
  if (n.op_type == "ConvTranspose") {  // [C_in, C_out / group, k...]: per channel only without groups
    const auto group = n.attr_int("group", 1);
    return rank >= 2 && group.is_ok() && group.value() == 1 ? 1 : -1;
  }
  if (n.op_type == "MatMul") return rank == 2 ? 1 : -1;  // [K, N]: one scale per column
  if (n.op_type == "Gemm") {
    const auto trans = n.attr_int("transB", 0);
    if (rank != 2 || !trans.is_ok()) return -1;
    return trans.value() ? 0 : 1;
  }
  return -1;
}

// The reduction axis of a 2-D MatMul/Gemm weight (where 4-bit blocks run).
int64_t reduction_axis(const ir::Node& n) {
  if (n.op_type == "Gemm") {
    const auto trans = n.attr_int("transB", 0);
    return trans.is_ok() && trans.value() ? 1 : 0;
  }
  return 0;
}

int64_t numel_of(const Shape& s) { return s.numel(); }

// int32 bias with scale s_x * s_w[c], what an integer kernel adds to its accumulator; false
// (the bias stays float) when the channel counts differ or a value overflows int32.
bool quantize_bias(const Tensor& b, float sx, const Tensor& sw, Tensor& q, Tensor& scale) {
  if (b.numel() != sw.numel()) return false;
  scale = Tensor(DType::f32, b.shape());
  q = Tensor(DType::i32, b.shape());
  for (int64_t c = 0; c < b.numel(); ++c) {
    scale.as<float>()[c] = sx * sw.as<float>()[c];
    const double v = std::nearbyint(static_cast<double>(b.as<float>()[c]) / scale.as<float>()[c]);
    if (!(std::fabs(v) < 2147483647.0)) return false;
    q.as<int32_t>()[c] = static_cast<int32_t>(v);
  }
  return true;
}

}  // namespace

std::vector<QuantTarget> find_quant_targets(const ir::Graph& g) {
  std::vector<QuantTarget> r;
  for (const auto& up : g.nodes()) {
    const ir::Node& n = *up;
    if (!n.domain.empty()) continue;
    const bool conv = n.op_type == "Conv" || n.op_type == "ConvTranspose";
    if (!conv && n.op_type != "MatMul" && n.op_type != "Gemm") continue;
    if (n.outputs.empty() || !maybe_float(n.outputs[0])) continue;
    QuantTarget t{n.name, n.op_type, {}, {}, -1, -1};
    const size_t data_inputs = n.op_type == "MatMul" ? 2 : (n.op_type == "Gemm" ? 2 : 1);
    bool usable = true;
    for (size_t i = 0; i < std::min(data_inputs, n.inputs.size()); ++i) {
      const ir::Value* v = n.inputs[i];
      if (!maybe_float(v)) usable = false;
      else if (float_constant(v) && i == 1) t.weight_input = 1;
      else if (!v->is_constant()) t.activations.push_back(v->name);
      else usable = false;  // a constant activation: nothing to calibrate
    }
    if (conv) {
      if (float_constant(n.input(1))) t.weight_input = 1;
      else usable = false;  // computed conv weights
    }
    if (!usable || t.activations.empty()) continue;
    if (conv || n.op_type == "Gemm")
      if (float_constant(n.input(2)) && n.input(2)->shape.rank() == 1) t.bias_input = 2;
    if (!n.outputs[0]->is_graph_output) t.output = n.outputs[0]->name;
    r.push_back(std::move(t));
  }
  return r;
}

std::vector<std::string> calibration_tensors(const std::vector<QuantTarget>& targets) {
  std::vector<std::string> r;
  auto add = [&](const std::string& s) {
    if (!s.empty() && std::find(r.begin(), r.end(), s) == r.end()) r.push_back(s);
  };
  for (const QuantTarget& t : targets) {
    for (const std::string& a : t.activations) add(a);
    add(t.output);
  }
  return r;
}

QuantizedWeight quantize_weight(const Tensor& w, int64_t axis, int bits, int64_t block_size) {
  const Shape& s = w.shape();
  const float qmax = bits == 4 ? 7.0f : bits == 7 ? 63.0f : 127.0f, qmin = bits == 4 ? -8.0f : -qmax;
  int64_t outer = 1, dim = 1, inner = 1;
  if (axis >= 0) {
    dim = s[static_cast<size_t>(axis)];
    for (size_t d = 0; d < static_cast<size_t>(axis); ++d) outer *= s[d];
    for (size_t d = static_cast<size_t>(axis) + 1; d < s.rank(); ++d) inner *= s[d];
  } else {
    inner = w.numel();
  }
  // Parameter index of element (o, a, i), as the DequantizeLinear kernel reads it.
  const int64_t blocks = block_size ? (dim + block_size - 1) / block_size : 0;
  auto param = [&](int64_t o, int64_t a, int64_t i) -> int64_t {
    if (axis < 0) return 0;
    if (block_size) return (o * blocks + a / block_size) * inner + i;
    return a;
  };
  Shape scale_shape;
  if (axis < 0) scale_shape = Shape{};
  else if (block_size) {
    scale_shape = s;
    scale_shape[static_cast<size_t>(axis)] = blocks;
  } else {
    scale_shape = Shape{dim};
  }
  QuantizedWeight r{Tensor(DType::i8, s), Tensor(DType::f32, scale_shape)};
  float* scale = r.scale.as<float>();
  const int64_t np = numel_of(scale_shape);
  std::vector<float> peak(static_cast<size_t>(np), 0.0f);
  const float* x = w.as<float>();
  int64_t e = 0;
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t a = 0; a < dim; ++a)
      for (int64_t i = 0; i < inner; ++i, ++e) {
        float& p = peak[static_cast<size_t>(param(o, a, i))];
        if (std::isfinite(x[e])) p = std::max(p, std::fabs(x[e]));
      }
  for (int64_t k = 0; k < np; ++k) scale[k] = peak[static_cast<size_t>(k)] > 0 ? peak[static_cast<size_t>(k)] / qmax : 1.0f;
  int8_t* q = r.q.as<int8_t>();
  e = 0;
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t a = 0; a < dim; ++a)
      for (int64_t i = 0; i < inner; ++i, ++e) {
        float v = std::nearbyint(x[e] / scale[param(o, a, i)]);
        if (std::isnan(v)) v = 0;
        q[e] = static_cast<int8_t>(std::clamp(v, qmin, qmax));
      }
  return r;
}

void activation_params(Range r, float& scale, uint8_t& zero_point) {
  const float lo = std::min(r.lo, 0.0f), hi = std::max(r.hi, 0.0f);
  scale = (hi - lo) / 255.0f;
  if (!(scale > std::numeric_limits<float>::min()) || !std::isfinite(scale)) {
    scale = 1.0f;
    zero_point = 0;
    return;
  }
  zero_point = static_cast<uint8_t>(std::clamp(std::nearbyint(-lo / scale), 0.0f, 255.0f));
}

Result<onnx_export::QdqSpec> make_qdq_spec(const ir::Graph& g, const std::vector<QuantTarget>& targets,
                                           const std::set<std::string>& keep_float,
                                           const std::map<std::string, Range>& ranges, const QdqOptions& options) {
  if (options.weight_bits != 8 && options.weight_bits != 4)
    return invalid_argument("weights: ", options.weight_bits, " bits, expected 8 or 4");
  if (options.weight_bits == 4 && options.block_size < 16)
    return invalid_argument("block size ", options.block_size, ": at least 16");
  onnx_export::QdqSpec spec;
  spec.opset = options.weight_bits == 4 ? 21 : 13;
  std::map<std::string, onnx_export::QdqActivation> acts;
  auto activation = [&](const std::string& name) -> Result<const onnx_export::QdqActivation*> {
    if (auto it = acts.find(name); it != acts.end()) return &it->second;
    auto r = ranges.find(name);
    if (r == ranges.end()) return internal_error("tensor '", name, "' has no calibrated range");
    onnx_export::QdqActivation a{name};
    activation_params(r->second, a.scale, a.zero_point);
    return &(acts[name] = a);
  };
  for (const QuantTarget& t : targets) {
    if (keep_float.count(t.node)) continue;
    const ir::Node* n = nullptr;
    for (const auto& up : g.nodes())
      if (up->name == t.node) n = up.get();
    if (!n) return internal_error("no node '", t.node, "'");
    const bool four_bit = options.weight_bits == 4 && (t.op == "MatMul" || t.op == "Gemm") && t.weight_input >= 0 &&
                          n->inputs[1]->shape.rank() == 2;
    if (four_bit) {  // weight-only: activations stay float
      const Tensor& w = *n->inputs[1]->constant;
      const int64_t axis = reduction_axis(*n);
      QuantizedWeight qw = quantize_weight(w, axis, 4, options.block_size);
      const std::string out = n->inputs[1]->name + "_" + t.node + "_dq";
      spec.constants.push_back({n->inputs[1]->name, out, std::move(qw.q), std::move(qw.scale), 4, axis, options.block_size});
      spec.uses.push_back({t.node, 1, out});
      continue;
    }
    const onnx_export::QdqActivation* in0 = nullptr;
    for (const std::string& a : t.activations) {
      EP_ASSIGN_OR_RETURN(const onnx_export::QdqActivation* p, activation(a));
      if (a == n->inputs[0]->name) in0 = p;
    }
    if (!t.output.empty()) EP_RETURN_IF_ERROR(activation(t.output).status());
    if (t.weight_input < 0) continue;
    const ir::Value* wv = n->inputs[static_cast<size_t>(t.weight_input)];
    const int64_t axis = weight_axis(*n, *wv->constant);
    QuantizedWeight qw = quantize_weight(*wv->constant, axis, options.reduce_range ? 7 : 8);
    const std::string wout = wv->name + "_" + t.node + "_dq";
    // Bias as int32 with scale s_x * s_w[c], when both scales are known per output channel.
    if (t.bias_input >= 0 && in0 && axis >= 0) {
      const ir::Value* bv = n->inputs[static_cast<size_t>(t.bias_input)];
      Tensor bq, bs;
      if (quantize_bias(*bv->constant, in0->scale, qw.scale, bq, bs)) {
        const std::string bout = bv->name + "_" + t.node + "_dq";
        spec.constants.push_back({bv->name, bout, std::move(bq), std::move(bs), 32, 0, 0});
        spec.uses.push_back({t.node, t.bias_input, bout});
      }
    }
    spec.constants.push_back({wv->name, wout, std::move(qw.q), std::move(qw.scale), 8, std::max<int64_t>(axis, 0), 0});
    spec.uses.push_back({t.node, t.weight_input, wout});
  }
  for (auto& [name, a] : acts) spec.activations.push_back(a);
  return spec;
}

}  // namespace ep::quant
