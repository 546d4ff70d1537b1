// The QDQ writer and the quantizer end to end on small models: the written model passes
// onnx::checker, and our engine's output equals an independent fake-quant computation
// (naive loops here, with the scales derived here from the float activations).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include "edgepipe/session.h"
#include "onnx/checker.h"
#include "onnx/model_builder.h"
#include "quant/quantize.h"

namespace ep::quant {
namespace {

namespace fs = std::filesystem;
using namespace test_models;

fs::path temp_dir() {
  static const fs::path d = [] {
    const fs::path p = fs::temp_directory_path() / ("edgepipe_quant_test_" + std::to_string(getpid()));
    fs::create_directories(p);
    return p;
  }();
  return d;
}

std::vector<float> random_values(size_t n, uint32_t seed, float lo = -1, float hi = 1) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

void add_values(onnx::ModelProto& m, const std::string& name, const std::vector<int64_t>& dims, const std::vector<float>& v) {
  TP* t = m.mutable_graph()->add_initializer();
  t->set_name(name);
  t->set_data_type(TP::FLOAT);
  for (int64_t d : dims) t->add_dims(d);
  for (float x : v) t->add_float_data(x);
}

std::string write_model(const onnx::ModelProto& m, const std::string& name) {
  const std::string path = (temp_dir() / name).string();
  std::ofstream(path, std::ios::binary) << serialize(m);
  return path;
}

onnx::ModelProto read_model(const std::string& path) {
  onnx::ModelProto m;
  std::ifstream f(path, std::ios::binary);
  EXPECT_TRUE(m.ParseFromIstream(&f)) << path;
  return m;
}

int count_ops(const onnx::ModelProto& m, const std::string& op) {
  int n = 0;
  for (const auto& node : m.graph().node()) n += node.op_type() == op;
  return n;
}

Tensor tensor_of(const Shape& s, const std::vector<float>& v) { return Tensor::from_vector<float>(s, v); }

// ---- the independent oracle: float64 loops, fake quantization as ONNX defines it ----

struct Act {
  float scale;
  int zp;
};
Act act_params(float lo, float hi) {
  lo = std::min(lo, 0.0f), hi = std::max(hi, 0.0f);
  const float s = (hi - lo) / 255.0f;
  return {s, static_cast<int>(std::clamp(std::nearbyint(-lo / s), 0.0f, 255.0f))};
}
float fq_act(float x, Act a) {
  const float q = std::clamp(std::nearbyint(x / a.scale) + static_cast<float>(a.zp), 0.0f, 255.0f);
  return (q - static_cast<float>(a.zp)) * a.scale;
}
// Per output channel (leading dim), symmetric to [-127, 127].
std::vector<float> fq_weight(const std::vector<float>& w, int64_t channels, std::vector<float>& scales) {
  const size_t per = w.size() / static_cast<size_t>(channels);
  std::vector<float> r(w.size());
  scales.assign(static_cast<size_t>(channels), 0);
  for (size_t c = 0; c < scales.size(); ++c) {
    float peak = 0;
    for (size_t i = 0; i < per; ++i) peak = std::max(peak, std::fabs(w[c * per + i]));
    scales[c] = peak / 127.0f;
    for (size_t i = 0; i < per; ++i)
      r[c * per + i] = std::clamp(std::nearbyint(w[c * per + i] / scales[c]), -127.0f, 127.0f) * scales[c];
  }
  return r;
}
// NCHW conv, stride 1, `pad` on every side, batch 1.
std::vector<float> conv(const std::vector<float>& x, int64_t ci, int64_t h, int64_t w, const std::vector<float>& k,
                        int64_t co, int64_t kh, const std::vector<float>& b, int64_t pad) {
  const int64_t oh = h + 2 * pad - kh + 1, ow = w + 2 * pad - kh + 1;
  std::vector<float> y(static_cast<size_t>(co * oh * ow));
  for (int64_t o = 0; o < co; ++o)
    for (int64_t i = 0; i < oh; ++i)
      for (int64_t j = 0; j < ow; ++j) {
        double acc = b[static_cast<size_t>(o)];
        for (int64_t c = 0; c < ci; ++c)
          for (int64_t u = 0; u < kh; ++u)
            for (int64_t v = 0; v < kh; ++v) {
              const int64_t yy = i + u - pad, xx = j + v - pad;
              if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
              acc += static_cast<double>(x[static_cast<size_t>((c * h + yy) * w + xx)]) *
                     k[static_cast<size_t>(((o * ci + c) * kh + u) * kh + v)];
            }
        y[static_cast<size_t>((o * oh + i) * ow + j)] = static_cast<float>(acc);
      }
  return y;
}

// X 1x2x6x6 -> Conv(3x2x3x3, pads 1) -> C -> Relu -> R -> Conv(2x3x1x1) -> Y
struct ConvNet {
  std::vector<float> w1 = random_values(54, 1), b1 = random_values(3, 2, -0.2f, 0.2f);
  std::vector<float> w2 = random_values(6, 3), b2 = random_values(2, 4, -0.2f, 0.2f);
  onnx::ModelProto model(int64_t opset = 13) const {
    onnx::ModelProto m = new_model(opset);
    add_input(m, "X", {1, 2, 6, 6});
    add_values(m, "W1", {3, 2, 3, 3}, w1);
    add_values(m, "B1", {3}, b1);
    add_values(m, "W2", {2, 3, 1, 1}, w2);
    add_values(m, "B2", {2}, b2);
    auto* c1 = add_node(m, "Conv", {"X", "W1", "B1"}, {"C"}, "conv1");
    attr_ints(c1, "kernel_shape", {3, 3});
    attr_ints(c1, "pads", {1, 1, 1, 1});
    add_node(m, "Relu", {"C"}, {"R"}, "relu");
    auto* c2 = add_node(m, "Conv", {"R", "W2", "B2"}, {"Y"}, "conv2");
    attr_ints(c2, "kernel_shape", {1, 1});
    add_output(m, "Y", TP::FLOAT, {1, 2, 6, 6});
    return m;
  }
};

TEST(QuantSession, ExtraOutputsExposeIntermediateTensors) {
  const ConvNet net;
  const std::string bytes = serialize(net.model());
  auto model = Model::load_from_memory(bytes.data(), bytes.size());
  ASSERT_TRUE(model.is_ok()) << model.status().to_string();
  SessionOptions opt;
  opt.extra_outputs = {"C", "R"};
  auto s = Session::create(*model, opt);
  ASSERT_TRUE(s.is_ok()) << s.status().to_string();
  ASSERT_EQ(s->outputs().size(), 3u);
  EXPECT_EQ(s->outputs()[1].name, "C");
  std::vector<Tensor> in;
  in.push_back(tensor_of(Shape{1, 2, 6, 6}, random_values(72, 9)));
  auto out = s->run(in);
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  const std::vector<float> want = conv(random_values(72, 9), 2, 6, 6, net.w1, 3, 3, net.b1, 1);
  bool negative = false;
  for (int64_t i = 0; i < (*out)[1].numel(); ++i) {
    EXPECT_NEAR((*out)[1].as<float>()[i], want[static_cast<size_t>(i)], 1e-5);
    EXPECT_EQ((*out)[2].as<float>()[i], std::max(0.0f, (*out)[1].as<float>()[i]));
    negative |= (*out)[1].as<float>()[i] < 0;
  }
  EXPECT_TRUE(negative) << "C must be the convolution before the Relu fused into it";
  opt.extra_outputs = {"nope"};
  auto bad = Session::create(*model, opt);
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("extra output 'nope'"), std::string::npos);
}

TEST(QuantQdq, ConvNetMatchesIndependentFakeQuant) {
  const ConvNet net;
  const std::string src = write_model(net.model(), "convnet.onnx");
  const std::string dst = (temp_dir() / "convnet_qdq.onnx").string();
  std::vector<std::vector<Tensor>> calib, eval;
  for (uint32_t s = 0; s < 3; ++s) {
    calib.push_back({});
    calib.back().push_back(tensor_of(Shape{1, 2, 6, 6}, random_values(72, 100 + s, -2, 3)));
  }
  QuantizeOptions o;
  o.method = CalibrationMethod::minmax;
  o.sensitivity = false;
  auto rep = quantize_model(src, dst, calib, eval, o);
  ASSERT_TRUE(rep.is_ok()) << rep.status().to_string();
  EXPECT_EQ(rep->layers.size(), 2u);

  const onnx::ModelProto q = read_model(dst);
  EXPECT_NO_THROW(onnx::checker::check_model(q));
  EXPECT_EQ(count_ops(q, "QuantizeLinear"), 3);    // X, C, R (Y is the graph output)
  EXPECT_EQ(count_ops(q, "DequantizeLinear"), 7);  // 3 activations, 2 weights, 2 biases
  for (const auto& t : q.graph().initializer()) EXPECT_NE(t.name(), "W1") << "the float weight must be gone";

  // The oracle: ranges from the float activations over the calibration inputs.
  float xlo = 1e9, xhi = -1e9, clo = 1e9, chi = -1e9, rlo = 1e9, rhi = -1e9;
  for (uint32_t s = 0; s < 3; ++s) {
    const std::vector<float> x = random_values(72, 100 + s, -2, 3);
    const std::vector<float> c = conv(x, 2, 6, 6, net.w1, 3, 3, net.b1, 1);
    for (float v : x) xlo = std::min(xlo, v), xhi = std::max(xhi, v);
    for (float v : c) clo = std::min(clo, v), chi = std::max(chi, v), rlo = std::min(rlo, std::max(v, 0.f)),
                      rhi = std::max(rhi, std::max(v, 0.f));
  }
  const Act ax = act_params(xlo, xhi), ac = act_params(clo, chi), ar = act_params(rlo, rhi);
  std::vector<float> s1, s2;
  const std::vector<float> w1 = fq_weight(net.w1, 3, s1), w2 = fq_weight(net.w2, 2, s2);
  std::vector<float> b1(3), b2(2);
  for (size_t c = 0; c < 3; ++c) b1[c] = std::nearbyint(net.b1[c] / (ax.scale * s1[c])) * (ax.scale * s1[c]);
  for (size_t c = 0; c < 2; ++c) b2[c] = std::nearbyint(net.b2[c] / (ar.scale * s2[c])) * (ar.scale * s2[c]);

  auto model = Model::load(dst);
  ASSERT_TRUE(model.is_ok()) << model.status().to_string();
  // backend "ref" runs the QDQ graph as written (fake quant). The default backend runs the
  // convs on int8 kernels and drops the Q/DQ pair on C, which only a Relu follows
  // (passes::drop_conv_output_qdq); tests/runtime/precision_test.cc covers that path.
  SessionOptions fake_quant;
  fake_quant.backend = "ref";
  auto session = Session::create(*model, fake_quant);
  ASSERT_TRUE(session.is_ok()) << session.status().to_string();
  for (uint32_t s = 0; s < 4; ++s) {
    std::vector<float> x = random_values(72, 200 + s, -2.5f, 3.5f);  // partly outside the calibrated range
    std::vector<Tensor> in;
    in.push_back(tensor_of(Shape{1, 2, 6, 6}, x));
    auto out = session->run(in);
    ASSERT_TRUE(out.is_ok()) << out.status().to_string();
    for (float& v : x) v = fq_act(v, ax);
    std::vector<float> c = conv(x, 2, 6, 6, w1, 3, 3, b1, 1);
    for (float& v : c) v = fq_act(std::max(0.0f, fq_act(v, ac)), ar);
    const std::vector<float> y = conv(c, 3, 6, 6, w2, 2, 1, b2, 0);
    for (size_t i = 0; i < y.size(); ++i)
      ASSERT_NEAR((*out)[0].as<float>()[i], y[i], 2e-5) << "sample " << s << " index " << i;
  }
}

// --reduce-range: every int8 weight in [-63, 63] with each channel's peak at +-63 (the scale is
// the peak over 63); without it the peaks reach 127.
TEST(QuantQdq, ReduceRangeWritesSevenBitWeights) {
  const ConvNet net;
  const std::string src = write_model(net.model(), "convnet_rr.onnx");
  std::vector<std::vector<Tensor>> calib, eval;
  calib.push_back({});
  calib.back().push_back(tensor_of(Shape{1, 2, 6, 6}, random_values(72, 100, -2, 3)));
  for (bool reduce : {false, true}) {
    SCOPED_TRACE(reduce ? "reduce_range" : "full range");
    const std::string dst = (temp_dir() / (reduce ? "convnet_rr7.onnx" : "convnet_rr8.onnx")).string();
    QuantizeOptions o;
    o.method = CalibrationMethod::minmax;
    o.sensitivity = false;
    o.qdq.reduce_range = reduce;
    auto rep = quantize_model(src, dst, calib, eval, o);
    ASSERT_TRUE(rep.is_ok()) << rep.status().to_string();
    const onnx::ModelProto q = read_model(dst);
    int weights = 0;
    for (const auto& t : q.graph().initializer()) {
      if (t.data_type() != onnx::TensorProto::INT8 || t.dims_size() != 4) continue;
      ++weights;
      const std::string& raw = t.raw_data();
      ASSERT_FALSE(raw.empty()) << t.name();
      const int64_t per_oc = static_cast<int64_t>(raw.size()) / t.dims(0);
      for (int64_t oc = 0; oc < t.dims(0); ++oc) {
        int peak = 0;
        for (int64_t i = 0; i < per_oc; ++i) peak = std::max(peak, std::abs(static_cast<int>(static_cast<int8_t>(raw[static_cast<size_t>(oc * per_oc + i)]))));
        EXPECT_EQ(peak, reduce ? 63 : 127) << t.name() << " channel " << oc;
      }
    }
    EXPECT_EQ(weights, 2);
  }
}

TEST(QuantQdq, Int4BlockWiseMatMulWeights) {
  // Y = X[2x64] * W[64x8]; 4-bit weights in blocks of 32 along K.
  const std::vector<float> w = random_values(64 * 8, 21), x = random_values(2 * 64, 22);
  onnx::ModelProto m = new_model(13);
  add_input(m, "X", {2, 64});
  add_values(m, "W", {64, 8}, w);
  add_node(m, "MatMul", {"X", "W"}, {"Y"}, "mm");
  add_output(m, "Y", TP::FLOAT, {2, 8});
  const std::string src = write_model(m, "mm.onnx"), dst = (temp_dir() / "mm_int4.onnx").string();
  std::vector<std::vector<Tensor>> calib(1), eval;
  calib[0].push_back(tensor_of(Shape{2, 64}, x));
  QuantizeOptions o;
  o.qdq.weight_bits = 4;
  o.qdq.block_size = 32;
  o.sensitivity = false;
  auto rep = quantize_model(src, dst, calib, eval, o);
  ASSERT_TRUE(rep.is_ok()) << rep.status().to_string();
  const onnx::ModelProto q = read_model(dst);
  EXPECT_EQ(q.opset_import(0).version(), 21);
  EXPECT_EQ(count_ops(q, "QuantizeLinear"), 0) << "4-bit weights are weight-only";
  bool packed = false;
  for (const auto& t : q.graph().initializer())
    if (t.data_type() == 22) packed |= t.raw_data().size() == 64 * 8 / 2;
  EXPECT_TRUE(packed) << "an INT4 initializer of 256 bytes";
  // Oracle: per column n, per block of 32 rows, s = max|w| / 7, q = clamp(rint(w / s), -8, 7).
  std::vector<float> wq(w.size());
  for (int64_t n = 0; n < 8; ++n)
    for (int64_t b = 0; b < 2; ++b) {
      float peak = 0;
      for (int64_t k = b * 32; k < b * 32 + 32; ++k) peak = std::max(peak, std::fabs(w[static_cast<size_t>(k * 8 + n)]));
      const float s = peak / 7.0f;
      for (int64_t k = b * 32; k < b * 32 + 32; ++k) {
        const size_t i = static_cast<size_t>(k * 8 + n);
        wq[i] = std::clamp(std::nearbyint(w[i] / s), -8.0f, 7.0f) * s;
      }
    }
  auto model = Model::load(dst);
  ASSERT_TRUE(model.is_ok()) << model.status().to_string();
  auto session = Session::create(*model);
  ASSERT_TRUE(session.is_ok()) << session.status().to_string();
  auto out = session->run(calib[0]);
  ASSERT_TRUE(out.is_ok());
  for (int64_t r = 0; r < 2; ++r)
    for (int64_t n = 0; n < 8; ++n) {
      double acc = 0;
      for (int64_t k = 0; k < 64; ++k) acc += static_cast<double>(x[static_cast<size_t>(r * 64 + k)]) * wq[static_cast<size_t>(k * 8 + n)];
      EXPECT_NEAR((*out)[0].as<float>()[r * 8 + n], acc, 1e-4);
    }
}

TEST(QuantQdq, ImportsPackedInt4AsOnnxSpecifies) {
  // Bytes 0x21, 0xF8: values 1, 2 (low nibble first), then -8, -1.
  onnx::ModelProto m = new_model(21);
  TP* t = m.mutable_graph()->add_initializer();
  t->set_name("Q");
  t->set_data_type(22);
  t->add_dims(4);
  t->set_raw_data(std::string("\x21\xF8", 2));
  add_values(m, "S", {}, {0.5f});
  add_node(m, "DequantizeLinear", {"Q", "S"}, {"Y"}, "dq");
  add_output(m, "Y", TP::FLOAT, {4});
  std::string bytes = serialize(m);
  auto model = Model::load_from_memory(bytes.data(), bytes.size());
  ASSERT_TRUE(model.is_ok()) << model.status().to_string();
  auto s = Session::create(*model);
  ASSERT_TRUE(s.is_ok()) << s.status().to_string();
  auto out = s->run(std::vector<Tensor>{});
  ASSERT_TRUE(out.is_ok());
  const std::vector<float> want = {0.5f, 1.0f, -4.0f, -0.5f};
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ((*out)[0].as<float>()[i], want[i]);
  // UINT4 (21): 0xF8 -> 8, 15.
  m.mutable_graph()->mutable_initializer(0)->set_data_type(21);
  bytes = serialize(m);
  model = Model::load_from_memory(bytes.data(), bytes.size());
  ASSERT_TRUE(model.is_ok()) << model.status().to_string();
  // A wrong byte count names the tensor.
  m.mutable_graph()->mutable_initializer(0)->set_raw_data(std::string("\x21", 1));
  bytes = serialize(m);
  auto bad = Model::load_from_memory(bytes.data(), bytes.size());
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("tensor 'Q'"), std::string::npos) << bad.status().to_string();
}

TEST(QuantQdq, RaisesOldOpsetsWithoutChangingTheModel) {
  // Opset 9: Slice and Clip with attributes, Softmax on the last axis; the QDQ writer raises
  // the model to 13. With every layer kept in float, outputs must not change at all.
  const ConvNet net;
  onnx::ModelProto m = net.model(9);
  m.mutable_graph()->clear_output();
  auto* sl = add_node(m, "Slice", {"Y"}, {"S"}, "slice");
  attr_ints(sl, "starts", {1});
  attr_ints(sl, "ends", {5});
  attr_ints(sl, "axes", {3});
  auto* cl = add_node(m, "Clip", {"S"}, {"K"}, "clip");
  attr_float(cl, "min", -0.5f);
  attr_float(cl, "max", 0.7f);
  auto* sm = add_node(m, "Softmax", {"K"}, {"Z"}, "softmax");
  attr_int(sm, "axis", 3);
  auto* rm = add_node(m, "ReduceMean", {"Z"}, {"M"}, "mean");  // axes: an input from opset 18
  attr_ints(rm, "axes", {2});
  add_output(m, "M", TP::FLOAT, {1, 2, 1, 4});
  const std::string src = write_model(m, "old.onnx"), dst = (temp_dir() / "old_qdq.onnx").string();
  std::vector<std::vector<Tensor>> calib(1), eval;
  calib[0].push_back(tensor_of(Shape{1, 2, 6, 6}, random_values(72, 5)));
  QuantizeOptions o;
  o.exclude = {"conv1", "conv2"};
  o.sensitivity = false;
  auto rep = quantize_model(src, dst, calib, eval, o);
  ASSERT_TRUE(rep.is_ok()) << rep.status().to_string();
  const onnx::ModelProto q = read_model(dst);
  EXPECT_EQ(q.opset_import(0).version(), 13);
  EXPECT_NO_THROW(onnx::checker::check_model(q));
  auto a = Model::load(src);
  auto b = Model::load(dst);
  ASSERT_TRUE(a.is_ok() && b.is_ok()) << b.status().to_string();
  auto sa = Session::create(*a);
  auto sb = Session::create(*b);
  ASSERT_TRUE(sa.is_ok() && sb.is_ok());
  auto ya = sa->run(calib[0]);
  auto yb = sb->run(calib[0]);
  ASSERT_TRUE(ya.is_ok() && yb.is_ok());
  ASSERT_EQ((*ya)[0].shape(), (*yb)[0].shape());
  for (int64_t i = 0; i < (*ya)[0].numel(); ++i) EXPECT_EQ((*ya)[0].as<float>()[i], (*yb)[0].as<float>()[i]);
  // To opset 21 (what 4-bit weights ask for): ReduceMean's axes become an input too.
  o.qdq.weight_bits = 4;
  auto rep21 = quantize_model(src, dst, calib, eval, o);
  ASSERT_TRUE(rep21.is_ok()) << rep21.status().to_string();
  EXPECT_EQ(read_model(dst).opset_import(0).version(), 21);
  auto c = Model::load(dst);
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  auto sc = Session::create(*c);
  ASSERT_TRUE(sc.is_ok()) << sc.status().to_string();
  auto yc = sc->run(calib[0]);
  ASSERT_TRUE(yc.is_ok());
  for (int64_t i = 0; i < (*ya)[0].numel(); ++i) EXPECT_EQ((*ya)[0].as<float>()[i], (*yc)[0].as<float>()[i]);
  o.qdq.weight_bits = 8;
  // Softmax over a middle axis changes meaning at opset 13: refused, naming the node.
  sm->mutable_attribute(0)->set_i(1);
  const std::string src2 = write_model(m, "old2.onnx");
  auto refused = quantize_model(src2, dst, calib, eval, o);
  ASSERT_FALSE(refused.is_ok());
  EXPECT_NE(refused.status().message().find("node 'softmax' (Softmax)"), std::string::npos) << refused.status().to_string();
}

TEST(QuantQdq, MixedPrecisionKeepsLayersFloatUntilTheTargetHolds) {
  const ConvNet net;
  const std::string src = write_model(net.model(), "convnet_mp.onnx");
  std::vector<std::vector<Tensor>> calib, eval;
  for (uint32_t s = 0; s < 2; ++s) {
    calib.push_back({}), calib.back().push_back(tensor_of(Shape{1, 2, 6, 6}, random_values(72, 300 + s, -2, 3)));
    eval.push_back({}), eval.back().push_back(tensor_of(Shape{1, 2, 6, 6}, random_values(72, 400 + s, -2, 3)));
  }
  QuantizeOptions o;
  o.metric = Metric::l2;
  o.max_accuracy_drop = 10.0;  // anything goes: everything quantized, sensitivities measured
  auto loose = quantize_model(src, (temp_dir() / "mp_loose.onnx").string(), calib, eval, o);
  ASSERT_TRUE(loose.is_ok()) << loose.status().to_string();
  EXPECT_TRUE(loose->target_met);
  EXPECT_GT(loose->error, 0.0);
  for (const LayerReport& l : loose->layers) {
    EXPECT_TRUE(l.quantized) << l.node;
    EXPECT_GT(l.sensitivity, 0.0) << l.node;
  }
  // Zero error is reachable only with both layers in float: the greedy must get there.
  o.max_accuracy_drop = 0.0;
  auto strict = quantize_model(src, (temp_dir() / "mp_strict.onnx").string(), calib, eval, o);
  ASSERT_TRUE(strict.is_ok()) << strict.status().to_string();
  EXPECT_TRUE(strict->target_met);
  EXPECT_EQ(strict->error, 0.0);
  for (const LayerReport& l : strict->layers) {
    EXPECT_FALSE(l.quantized) << l.node;
    EXPECT_EQ(l.why_float, "sensitivity") << l.node;
  }
  const onnx::ModelProto q = read_model((temp_dir() / "mp_strict.onnx").string());
  EXPECT_EQ(count_ops(q, "QuantizeLinear"), 0);
  // A target between the two: the most sensitive layer goes to float first.
  const LayerReport& a = loose->layers[0];
  const LayerReport& b = loose->layers[1];
  const std::string most = a.sensitivity >= b.sensitivity ? a.node : b.node;
  o.max_accuracy_drop = std::min(a.sensitivity, b.sensitivity) * 1.0001;
  auto mid = quantize_model(src, (temp_dir() / "mp_mid.onnx").string(), calib, eval, o);
  ASSERT_TRUE(mid.is_ok()) << mid.status().to_string();
  for (const LayerReport& l : mid->layers) {
    if (l.node == most) {
      EXPECT_FALSE(l.quantized) << "the most sensitive layer stays float";
    }
  }
  const std::string json = mid->to_json();
  for (const char* key : {"\"sensitivity\"", "\"bytes_before\"", "\"bytes_after\"", "\"float_because\""})
    EXPECT_NE(json.find(key), std::string::npos) << key;
}

TEST(QuantQdq, ErrorsNameThePlace) {
  std::vector<std::vector<Tensor>> calib(1), eval;
  calib[0].push_back(tensor_of(Shape{2, 3}, random_values(6, 1)));
  calib[0].push_back(tensor_of(Shape{2, 3}, random_values(6, 2)));
  const std::string add = write_model(add_model(), "add.onnx");
  auto r = quantize_model(add, (temp_dir() / "x.onnx").string(), calib, eval, QuantizeOptions{});
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::unsupported);
  EXPECT_NE(r.status().message().find("add.onnx"), std::string::npos);
  EXPECT_NE(r.status().message().find("no Conv"), std::string::npos);
  auto missing = quantize_model((temp_dir() / "none.onnx").string(), "x.onnx", calib, eval, QuantizeOptions{});
  ASSERT_FALSE(missing.is_ok());
  EXPECT_NE(missing.status().message().find("none.onnx"), std::string::npos);
  const ConvNet net;
  const std::string src = write_model(net.model(), "convnet2.onnx");
  QuantizeOptions o;
  o.exclude = {"conv9"};
  std::vector<std::vector<Tensor>> c2(1);
  c2[0].push_back(tensor_of(Shape{1, 2, 6, 6}, random_values(72, 3)));
  auto ex = quantize_model(src, (temp_dir() / "y.onnx").string(), c2, eval, o);
  ASSERT_FALSE(ex.is_ok());
  EXPECT_NE(ex.status().message().find("--exclude 'conv9'"), std::string::npos);
  QuantizeOptions target;
  target.max_accuracy_drop = 0.01;  // a target needs inputs to measure it on
  auto no_eval = quantize_model(src, (temp_dir() / "z.onnx").string(), c2, eval, target);
  ASSERT_FALSE(no_eval.is_ok());
  EXPECT_NE(no_eval.status().message().find("--eval-samples"), std::string::npos);
}

}  // namespace
}  // namespace ep::quant
