// Small QDQ models (QuantizeLinear/DequantizeLinear around convolutions, as quantizers write
// them) for the int8 execution tests.
#pragma once

#include <random>

#include "onnx/model_builder.h"

namespace ep::test_models {

inline TP* add_init_q(onnx::ModelProto& m, const std::string& name, int elem, const std::vector<int64_t>& dims,
                      const std::vector<int32_t>& values) {
  TP* t = m.mutable_graph()->add_initializer();
  t->set_name(name);
  t->set_data_type(elem);
  for (int64_t d : dims) t->add_dims(d);
  for (int32_t v : values) t->add_int32_data(v);
  return t;
}

inline TP* add_init_f32(onnx::ModelProto& m, const std::string& name, const std::vector<int64_t>& dims,
                        const std::vector<float>& values) {
  TP* t = m.mutable_graph()->add_initializer();
  t->set_name(name);
  t->set_data_type(TP::FLOAT);
  for (int64_t d : dims) t->add_dims(d);
  for (float v : values) t->add_float_data(v);
  return t;
}

// in -> QuantizeLinear(scale, zero: u8) -> out_q -> DequantizeLinear -> out, with the scale and
// zero point as initializers out_s and out_z.
inline void add_qdq(onnx::ModelProto& m, const std::string& in, const std::string& out, float scale, int32_t zero) {
  add_init_f32(m, out + "_s", {}, {scale});
  add_init_q(m, out + "_z", TP::UINT8, {}, {zero});
  add_node(m, "QuantizeLinear", {in, out + "_s", out + "_z"}, {out + "_q"}, out + "_quant");
  add_node(m, "DequantizeLinear", {out + "_q", out + "_s", out + "_z"}, {out}, out + "_dequant");
}

// Conv k (size x size, "same" pads: 3x3 pads 1, 1x1 none) from `in` to k_y, cin -> cout, with
// int8 weights in [-wmax, wmax] (k_wq, dequantized per output channel by k_ws) and an f32 bias
// k_b, drawn from rng in that order. Scales are scale_base * [1, 3) widened by 127 / wmax.
inline void add_qdq_conv(onnx::ModelProto& m, std::mt19937& rng, const std::string& k, const std::string& in,
                         int64_t cin, int64_t cout, int wmax, float scale_base, int64_t size = 3) {
  std::vector<int32_t> wq(static_cast<size_t>(cout * cin * size * size));
  for (int32_t& v : wq) v = static_cast<int32_t>(rng() % (2 * wmax + 1)) - wmax;
  std::vector<float> ws(static_cast<size_t>(cout)), b(static_cast<size_t>(cout));
  for (float& s : ws)
    s = (scale_base + 2.f * scale_base * static_cast<float>(rng() % 100) / 100.f) * 127.f / static_cast<float>(wmax);
  for (float& v : b) v = static_cast<float>(static_cast<int>(rng() % 200) - 100) / 200.f;
  add_init_q(m, k + "_wq", TP::INT8, {cout, cin, size, size}, wq);
  add_init_f32(m, k + "_ws", {cout}, ws);
  add_init_f32(m, k + "_b", {cout}, b);
  auto* dq = add_node(m, "DequantizeLinear", {k + "_wq", k + "_ws"}, {k + "_w"}, k + "_wdequant");
  attr_int(dq, "axis", 0);
  auto* n = add_node(m, "Conv", {in, k + "_w", k + "_b"}, {k + "_y"}, k);
  attr_ints(n, "kernel_shape", {size, size});
  const int64_t pad = size / 2;
  attr_ints(n, "pads", {pad, pad, pad, pad});
}

// X [1,C,H,W] f32 -> Q/DQ (u8, zero point 128) -> three 3x3 convs with int8 per-channel
// weights (Relu, HardSwish, and with `residual` an Add of the first conv's output), each
// followed by Q/DQ (u8) -> Y f32.
// The models' int8 weights lie in [-wmax, wmax] with scales widened by 127 / wmax. The default
// 63 (7 bits, reduce_range) runs int8 on every CPU; 127 only where VNNI sums exactly (see
// kernels::onednn_int8_conv_exact).
inline onnx::ModelProto qdq_conv_chain_model(bool residual, int64_t c = 16, int64_t hw = 12, int wmax = 63) {
  onnx::ModelProto m = new_model(17);
  add_input(m, "X", {1, c, hw, hw});
  std::mt19937 rng(42);
  add_qdq(m, "X", "x0", 0.02f, 128);
  const char* acts[] = {"Relu", "HardSwish", ""};
  const float out_scales[] = {0.03f, 0.04f, 0.05f};
  const int32_t out_zeros[] = {0, 20, 128};
  std::string prev = "x0";
  for (int i = 0; i < 3; ++i) {
    const std::string k = "c" + std::to_string(i + 1);
    add_qdq_conv(m, rng, k, prev, c, c, wmax, 0.0005f);
    std::string y = k + "_y";
    if (*acts[i]) {
      add_node(m, acts[i], {y}, {k + "_act"}, k + "_act");
      y = k + "_act";
    } else if (residual) {
      add_node(m, "Add", {y, "c1_out"}, {k + "_add"}, k + "_add");
      y = k + "_add";
    }
    add_qdq(m, y, k + "_out", out_scales[i], out_zeros[i]);
    prev = k + "_out";
  }
  add_node(m, "Identity", {prev}, {"Y"}, "out");
  add_output(m, "Y", TP::FLOAT, {1, c, hw, hw});
  return m;
}

// As quantizers that quantize every conv's raw output write it: X -> Q/DQ -> Conv1 -> Q/DQ ->
// BatchNormalization (some negative scales) -> Relu -> Q/DQ -> Conv2 -> Q/DQ -> Y.
inline onnx::ModelProto qdq_conv_output_model(int64_t c = 8, int64_t hw = 10, int wmax = 63) {
  onnx::ModelProto m = new_model(17);
  add_input(m, "X", {1, c, hw, hw});
  std::mt19937 rng(7);
  auto conv = [&](const std::string& k, const std::string& in) { add_qdq_conv(m, rng, k, in, c, c, wmax, 0.001f); };
  add_qdq(m, "X", "x0", 0.02f, 128);
  conv("c1", "x0");
  add_qdq(m, "c1_y", "c1_o", 0.04f, 128);
  std::vector<float> gamma(static_cast<size_t>(c)), beta(static_cast<size_t>(c)), mean(static_cast<size_t>(c)),
      var(static_cast<size_t>(c));
  for (int64_t i = 0; i < c; ++i) {
    gamma[static_cast<size_t>(i)] = (i % 3 == 0 ? -1.f : 1.f) * (0.5f + 0.1f * static_cast<float>(i));
    beta[static_cast<size_t>(i)] = 0.1f * static_cast<float>(i % 4) - 0.15f;
    mean[static_cast<size_t>(i)] = 0.05f * static_cast<float>(i % 5);
    var[static_cast<size_t>(i)] = 0.5f + 0.2f * static_cast<float>(i % 3);
  }
  add_init_f32(m, "bn_g", {c}, gamma);
  add_init_f32(m, "bn_b", {c}, beta);
  add_init_f32(m, "bn_m", {c}, mean);
  add_init_f32(m, "bn_v", {c}, var);
  add_node(m, "BatchNormalization", {"c1_o", "bn_g", "bn_b", "bn_m", "bn_v"}, {"bn"}, "bn");
  add_node(m, "Relu", {"bn"}, {"r"}, "relu");
  add_qdq(m, "r", "r_o", 0.03f, 0);
  conv("c2", "r_o");
  add_qdq(m, "c2_y", "c2_o", 0.05f, 128);
  add_node(m, "Identity", {"c2_o"}, {"Y"}, "out");
  add_output(m, "Y", TP::FLOAT, {1, c, hw, hw});
  return m;
}

// Two convs upsampled (Resize nearest x2) and concatenated, then quantized for a third conv,
// as an FPN neck: X -> Q/DQ -> {c1, c2} -> Resize -> Concat -> Q/DQ -> c3 -> Q/DQ -> Y.
inline onnx::ModelProto qdq_resize_concat_model(int64_t c = 8, int64_t hw = 6, int wmax = 63) {
  onnx::ModelProto m = new_model(17);
  add_input(m, "X", {1, c, hw, hw});
  std::mt19937 rng(11);
  auto conv = [&](const std::string& k, const std::string& in, int64_t cin, int64_t cout) {
    add_qdq_conv(m, rng, k, in, cin, cout, wmax, 0.001f);
  };
  add_qdq(m, "X", "x0", 0.02f, 128);
  conv("c1", "x0", c, c);
  conv("c2", "x0", c, c);
  add_init_f32(m, "up", {4}, {1.f, 1.f, 2.f, 2.f});
  for (const char* k : {"c1", "c2"}) {
    auto* r = add_node(m, "Resize", {std::string(k) + "_y", "", "up"}, {std::string(k) + "_up"}, std::string(k) + "_resize");
    attr_string(r, "mode", "nearest");
  }
  auto* cat = add_node(m, "Concat", {"c1_up", "c2_up"}, {"cat"}, "concat");
  attr_int(cat, "axis", 1);
  add_qdq(m, "cat", "cat_o", 0.04f, 128);
  conv("c3", "cat_o", 2 * c, c);
  add_qdq(m, "c3_y", "c3_o", 0.05f, 128);
  add_node(m, "Identity", {"c3_o"}, {"Y"}, "out");
  add_output(m, "Y", TP::FLOAT, {1, c, 2 * hw, 2 * hw});
  return m;
}

// An FPN neck's top-down add in a QDQ model: a float lateral plus the nearest 2x upsample of a
// pooled tensor, quantized (0.05, 128) for the conv after it.
inline onnx::ModelProto qdq_resize_add_model(int64_t c = 16, int64_t hw = 8) {
  onnx::ModelProto m = new_model(17);
  add_input(m, "X", {1, c, hw, hw});
  std::mt19937 rng(12);
  auto conv = [&](const std::string& k, const std::string& in) { add_qdq_conv(m, rng, k, in, c, c, 63, 0.0005f); };
  add_qdq(m, "X", "x0", 0.02f, 128);
  auto* lat = add_node(m, "MaxPool", {"x0"}, {"lat"}, "lateral");  // not a conv: no residual post-op to take the Add
  attr_ints(lat, "kernel_shape", {3, 3});
  attr_ints(lat, "pads", {1, 1, 1, 1});
  auto* pool = add_node(m, "MaxPool", {"x0"}, {"p"}, "pool");
  attr_ints(pool, "kernel_shape", {2, 2});
  attr_ints(pool, "strides", {2, 2});
  add_init_f32(m, "up", {4}, {1.f, 1.f, 2.f, 2.f});
  auto* r = add_node(m, "Resize", {"p", "", "up"}, {"p_up"}, "resize");
  attr_string(r, "mode", "nearest");
  add_node(m, "Add", {"lat", "p_up"}, {"sum"}, "add");
  add_qdq(m, "sum", "sum_o", 0.05f, 128);
  conv("c3", "sum_o");
  add_qdq(m, "c3_y", "c3_o", 0.05f, 128);
  add_node(m, "Identity", {"c3_o"}, {"Y"}, "out");
  add_output(m, "Y", TP::FLOAT, {1, c, hw, hw});
  return m;
}

// An RSE neck layer's top-down add in a QDQ model: a 1x1 int8 conv (cin -> c, f32 output A
// read by a global average pool and the add), A + A * HardSigmoid(GAP(A)), plus the nearest 2x
// upsample of a pooled, quantized 1x1 conv of the input, quantized (0.05, 128) for a 3x3 conv.
inline onnx::ModelProto qdq_conv_resize_add_model(int64_t cin = 12, int64_t c = 32, int64_t hw = 8) {
  onnx::ModelProto m = new_model(13);
  add_input(m, "X", {1, cin, hw, hw});
  std::mt19937 rng(21);
  add_qdq(m, "X", "x0", 0.02f, 128);
  auto conv1x1 = [&](const std::string& k, const std::string& in) {
    add_qdq_conv(m, rng, k, in, cin, c, 63, 0.001f, 1);
  };
  conv1x1("lat", "x0");  // A: f32, read by the pool and the adds
  add_node(m, "GlobalAveragePool", {"lat_y"}, {"gap"}, "gap");
  add_node(m, "HardSigmoid", {"gap"}, {"se"}, "se");
  add_node(m, "Mul", {"lat_y", "se"}, {"lat_se"}, "se_mul");
  add_node(m, "Add", {"lat_y", "lat_se"}, {"rse"}, "se_add");
  conv1x1("top", "x0");
  auto* pool = add_node(m, "MaxPool", {"top_y"}, {"p"}, "pool");
  attr_ints(pool, "kernel_shape", {2, 2});
  attr_ints(pool, "strides", {2, 2});
  add_qdq(m, "p", "p_o", 0.05f, 128);
  add_init_f32(m, "up", {4}, {1.f, 1.f, 2.f, 2.f});
  auto* r = add_node(m, "Resize", {"p_o", "", "up"}, {"p_up"}, "resize");
  attr_string(r, "mode", "nearest");
  add_node(m, "Add", {"rse", "p_up"}, {"sum"}, "add");
  add_qdq(m, "sum", "sum_o", 0.05f, 128);
  add_qdq_conv(m, rng, "c3", "sum_o", c, c, 63, 0.0005f);
  add_qdq(m, "c3_y", "c3_o", 0.05f, 128);
  add_node(m, "Identity", {"c3_o"}, {"Y"}, "out");
  add_output(m, "Y", TP::FLOAT, {1, c, hw, hw});
  return m;
}

// An RSE neck layer in a QDQ model: a 3x3 int8 conv (cin -> c, f32 output A read by a global
// average pool and the adds), A + A * HardSigmoid(W GAP(A)) (the pooled value quantized and a
// 1x1 int8 conv c -> c between, as the detector's), quantized (0.05, 128). X [1, cin, h, w].
inline onnx::ModelProto qdq_conv_scale_add_model(int64_t cin, int64_t c, int64_t h, int64_t w) {
  onnx::ModelProto m = new_model(13);
  add_input(m, "X", {1, cin, h, w});
  std::mt19937 rng(31);
  add_qdq(m, "X", "x0", 0.02f, 128);
  add_qdq_conv(m, rng, "c3", "x0", cin, c, 63, 0.0005f);  // A: f32, read by the pool and the adds
  add_node(m, "GlobalAveragePool", {"c3_y"}, {"gap"}, "gap");
  add_qdq(m, "gap", "gap_o", 0.01f, 128);
  add_qdq_conv(m, rng, "se", "gap_o", c, c, 63, 0.001f, 1);
  add_node(m, "HardSigmoid", {"se_y"}, {"s"}, "se");
  add_node(m, "Mul", {"c3_y", "s"}, {"c3_s"}, "se_mul");
  add_node(m, "Add", {"c3_y", "c3_s"}, {"rse"}, "se_add");
  add_qdq(m, "rse", "rse_o", 0.05f, 128);
  add_node(m, "Identity", {"rse_o"}, {"Y"}, "out");
  add_output(m, "Y", TP::FLOAT, {1, c, h, w});
  return m;
}

}  // namespace ep::test_models
