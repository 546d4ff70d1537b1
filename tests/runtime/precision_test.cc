// Session precision: QDQ models on int8 kernels against their fake-quant graph (backend
// "ref", the oracle), bf16 sessions against fp32, and the message on a CPU without bf16.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "edgepipe/session.h"
#include "kernels/onednn/onednn_kernels.h"
#include "onnx/qdq_models.h"
#include "profile_util.h"

namespace ep {
namespace {

Model load(const onnx::ModelProto& proto) {
  const std::string bytes = test_models::serialize(proto);
  auto model = Model::load_from_memory(bytes.data(), bytes.size());
  EXPECT_TRUE(model.is_ok()) << model.status().to_string();
  return std::move(model).value();
}

Tensor random_input(const Shape& s, uint32_t seed) {
  Tensor t(DType::f32, s);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-1.f, 1.f);
  for (int64_t i = 0; i < t.numel(); ++i) t.as<float>()[i] = d(rng);
  return t;
}

Tensor run_one(const Model& model, const SessionOptions& opt, const Tensor& x, std::vector<OpProfile>* profile = nullptr) {
  auto s = Session::create(model, opt);
  EXPECT_TRUE(s.is_ok()) << s.status().to_string();
  if (!s) return Tensor();
  std::vector<Tensor> in;
  in.push_back(x.clone());
  auto out = s->run(in);
  EXPECT_TRUE(out.is_ok()) << out.status().to_string();
  if (profile) *profile = s->profile();
  return out.is_ok() ? std::move((*out)[0]) : Tensor();
}

// The fake-quant graph's output (backend "ref", the oracle) and the default session's, with
// the latter's per-step profile.
struct RefAndFast {
  Tensor want, got;
  std::vector<OpProfile> prof;
};
RefAndFast run_ref_and_fast(const Model& model, const Tensor& x) {
  RefAndFast r;
  SessionOptions ref;
  ref.backend = "ref";
  r.want = run_one(model, ref, x);
  SessionOptions fast;
  fast.profile = true;
  r.got = run_one(model, fast, x, &r.prof);
  return r;
}

// Same shape, and every element within `bound` (one quantization step of the last quantizer).
void expect_within(const Tensor& got, const Tensor& want, float bound) {
  ASSERT_EQ(got.shape(), want.shape());
  for (int64_t i = 0; i < got.numel(); ++i)
    ASSERT_LE(std::fabs(got.as<float>()[i] - want.as<float>()[i]), bound) << "index " << i;
}

// The int8 session's output is within one step of the last QuantizeLinear (scale 0.05) of the
// fake-quant graph's; nearly all elements agree exactly.
TEST(Int8Session, QdqChainMatchesFakeQuantReference) {
  for (bool residual : {false, true}) {
    SCOPED_TRACE(residual ? "with residual" : "plain chain");
    const Model model = load(test_models::qdq_conv_chain_model(residual));
    const Tensor x = random_input(Shape{1, 16, 12, 12}, 5);
    const RefAndFast r = run_ref_and_fast(model, x);
    const Tensor &want = r.want, &got = r.got;
    const std::vector<OpProfile>& prof = r.prof;
    ASSERT_EQ(got.shape(), want.shape());
    int64_t differ = 0;
    for (int64_t i = 0; i < got.numel(); ++i) {
      const float d = std::fabs(got.as<float>()[i] - want.as<float>()[i]);
      ASSERT_LE(d, 0.05f * 1.01f) << "index " << i;
      differ += d > 1e-6f;
    }
    EXPECT_LE(differ, got.numel() / 20) << "of " << got.numel();
    int convs = 0;
    for (const OpProfile& p : prof) {
      if (p.op != "FusedConv") continue;
      ++convs;
      EXPECT_EQ(p.kernel, "onednn") << p.node;
    }
    EXPECT_EQ(convs, 3);
  }
}

// Between the first and the last int8 conv nothing runs: activations stay u8 in NHWC, with
// no DequantizeLinear, QuantizeLinear or layout Transpose in between.
TEST(Int8Session, QdqChainKeepsActivationsQuantized) {
  const Model model = load(test_models::qdq_conv_chain_model(false));
  SessionOptions opt;
  opt.profile = true;
  std::vector<OpProfile> prof;
  run_one(model, opt, random_input(Shape{1, 16, 12, 12}, 6), &prof);
  std::vector<std::string> ops;
  for (const OpProfile& p : prof) ops.push_back(p.op);
  const auto first = std::find(ops.begin(), ops.end(), "FusedConv");
  const auto last = std::find(ops.rbegin(), ops.rend(), "FusedConv").base();
  ASSERT_NE(first, ops.end());
  std::string seen;
  for (auto it = first; it != last; ++it) seen += *it + " ";
  EXPECT_EQ(seen, "FusedConv FusedConv FusedConv ");
  // At the edges: the input is quantized once and the output dequantized once.
  EXPECT_EQ(std::count(ops.begin(), ops.end(), "QuantizeLinear"), 1);
  EXPECT_EQ(std::count(ops.begin(), ops.end(), "DequantizeLinear"), 1);
}

// On a CPU without VNNI (forced here), int8 convs whose weights use all 8 bits would saturate in
// oneDNN: they stay f32 convs of the fake-quant graph, whose values they then match exactly
// but for f32 summation order; the 7-bit model of the same shape still fuses.
TEST(Int8Session, WithoutVnniEightBitWeightsStayFakeQuant) {
  kernels::onednn_override_vnni(false);
  for (int wmax : {127, 63}) {
    SCOPED_TRACE("weights in +-" + std::to_string(wmax));
    const Model model = load(test_models::qdq_conv_chain_model(false, 16, 12, wmax));
    const Tensor x = random_input(Shape{1, 16, 12, 12}, 7);
    const RefAndFast r = run_ref_and_fast(model, x);
    expect_within(r.got, r.want, 0.05f * 1.01f);
    const int quantizers = count_ops(r.prof, "QuantizeLinear");
    EXPECT_EQ(quantizers, wmax == 127 ? 4 : 1);  // the input's and each conv output's, or the input's alone
  }
  kernels::onednn_override_vnni(std::nullopt);
}

// A quantized raw conv output followed by BatchNormalization and Relu: the Q/DQ pair goes,
// BN folds into the int8 weight scales (negative ones too), Relu becomes a post-op, and the
// two convs run int8 back to back. One rounding fewer than the fake-quant graph: outputs
// stay within two steps of the last quantizer, and two thirds agree exactly (77% here).
TEST(Int8Session, ConvOutputQdqBeforeBnReluFusesIntoInt8Conv) {
  const Model model = load(test_models::qdq_conv_output_model());
  const Tensor x = random_input(Shape{1, 8, 10, 10}, 9);
  const RefAndFast r = run_ref_and_fast(model, x);
  const Tensor &want = r.want, &got = r.got;
  const std::vector<OpProfile>& prof = r.prof;
  ASSERT_EQ(got.shape(), want.shape());
  int64_t exact = 0;
  for (int64_t i = 0; i < got.numel(); ++i) {
    const float d = std::fabs(got.as<float>()[i] - want.as<float>()[i]);
    ASSERT_LE(d, 2 * 0.05f * 1.01f) << "index " << i;
    exact += d < 1e-6f;
  }
  EXPECT_GE(exact, got.numel() * 2 / 3) << "of " << got.numel();
  EXPECT_EQ(step_ops(prof), "QuantizeLinear Transpose FusedConv/onednn FusedConv/onednn DequantizeLinear Identity Transpose ");
}

// A QuantizeLinear after Concat(Resize nearest(conv), ...) moves above them (exactly the same
// values): the convs requantize in their epilogues, the Resizes and the Concat (one
// ResizeConcat step) move u8, and the third conv reads u8. Within one step of the fake-quant
// graph.
TEST(Int8Session, QuantizeMovesAboveResizeAndConcat) {
  const Model model = load(test_models::qdq_resize_concat_model());
  const Tensor x = random_input(Shape{1, 8, 6, 6}, 13);
  const RefAndFast r = run_ref_and_fast(model, x);
  expect_within(r.got, r.want, 0.05f * 1.01f);
  EXPECT_EQ(step_ops(r.prof),
            "QuantizeLinear Transpose FusedConv/onednn FusedConv/onednn ResizeConcat FusedConv/onednn "
            "DequantizeLinear Identity Transpose ");
}

// Add(lateral, Resize(pooled)) -> QuantizeLinear: one ResizeAdd step writes the u8 tensor the
// int8 conv reads (no f32 sum, no separate QuantizeLinear). Within one step of the last
// quantizer of the fake-quant graph.
TEST(Int8Session, ResizeAddWritesTheQuantizedSum) {
  const Model model = load(test_models::qdq_resize_add_model());
  const Tensor x = random_input(Shape{1, 16, 8, 8}, 17);
  const RefAndFast r = run_ref_and_fast(model, x);
  expect_within(r.got, r.want, 0.05f * 1.01f);
  const std::string ops = step_ops(r.prof);
  EXPECT_EQ(count_ops(r.prof, "ResizeAdd"), 1) << ops;
  EXPECT_EQ(count_ops(r.prof, "Add") + count_ops(r.prof, "Resize"), 0) << ops;
  EXPECT_EQ(count_ops(r.prof, "QuantizeLinear"), 1) << ops;  // the input's
  EXPECT_EQ(count_ops(r.prof, "FusedConv"), 1) << ops;
}

// An int8 1x1 conv's f32 output read by a squeeze-excite pool and a ResizeAdd: one
// FusedConvResizeAdd step computes the quantized sum from the conv's u8 input (A is never
// written), and the pool becomes the mean of the dequantized input through the f32 1x1 conv.
// Within one step of the last quantizer of the fake-quant graph.
TEST(Int8Session, ConvResizeAddNeverWritesTheConvOutput) {
  const Model model = load(test_models::qdq_conv_resize_add_model());
  const Tensor x = random_input(Shape{1, 12, 8, 8}, 23);
  const RefAndFast r = run_ref_and_fast(model, x);
  expect_within(r.got, r.want, 0.05f * 1.01f);
  const std::string ops = step_ops(r.prof);
  EXPECT_EQ(count_ops(r.prof, "FusedConvResizeAdd"), 1) << ops;
  EXPECT_EQ(count_ops(r.prof, "ResizeAdd") + count_ops(r.prof, "Add") + count_ops(r.prof, "GlobalAveragePool"), 0)
      << ops;
  EXPECT_EQ(count_ops(r.prof, "ReduceMean"), 1) << ops;  // of the dequantized input
}

// An RSE layer (3x3 int8 conv, squeeze-excite from its output's mean, x + x * s, quantized)
// runs as edgepipe.FusedConvScaleAdd with the mean taken from the conv's input (WindowMeans):
// no ReduceMean over the conv's output, which is never written; within one output step of the
// fake-quant reference. Sizes for WinogradInt16 (64+ wide), NarrowInt8Conv and (32 output
// channels) the parts in turn.
TEST(Int8Session, ConvScaleAddNeverWritesTheConvOutput) {
  struct Case {
    int64_t cin, c, h, w;
  };
  // With and without AMX (forced): with it oneDNN takes the conv and the parts run in turn.
  for (const Case& k : {Case{16, 24, 16, 128}, Case{20, 19, 9, 13}, Case{16, 32, 6, 7}}) {
    for (bool amx : {false, true}) {
      SCOPED_TRACE("cin " + std::to_string(k.cin) + " c " + std::to_string(k.c) + " " + std::to_string(k.h) + "x" +
                   std::to_string(k.w) + (amx ? " AMX" : ""));
      const kernels::ScopedAmxOverride amx_scope(amx);
      const Model model = load(test_models::qdq_conv_scale_add_model(k.cin, k.c, k.h, k.w));
      const Tensor x = random_input(Shape{1, k.cin, k.h, k.w}, 29);
      const RefAndFast r = run_ref_and_fast(model, x);
      expect_within(r.got, r.want, 0.05f * 1.01f);
      const std::string ops = step_ops(r.prof);
      EXPECT_EQ(count_ops(r.prof, "FusedConvScaleAdd"), 1) << ops;
      EXPECT_EQ(count_ops(r.prof, "WindowMeans"), 1) << ops;
      EXPECT_EQ(count_ops(r.prof, "ScaleAdd") + count_ops(r.prof, "ReduceMean") +
                    count_ops(r.prof, "GlobalAveragePool"),
                0)
          << ops;
    }
  }
}

// Each element of a bf16 session's output within 1% of the largest fp32 output plus 1% of its
// own; whether any differs at all.
bool expect_within_bf16(const Tensor& got, const Tensor& want) {
  EXPECT_EQ(got.shape(), want.shape());
  if (got.shape() != want.shape()) return false;
  double max_ref = 0;
  for (int64_t i = 0; i < want.numel(); ++i) max_ref = std::max(max_ref, std::fabs(double{want.as<float>()[i]}));
  bool any_differs = false;
  for (int64_t i = 0; i < got.numel(); ++i) {
    const float g = got.as<float>()[i], w = want.as<float>()[i];
    EXPECT_NEAR(g, w, 0.01 * max_ref + 0.01 * std::fabs(w)) << "index " << i;
    any_differs |= g != w;
  }
  return any_differs;
}

// f32 convs in bf16: within bf16's precision of fp32, the same steps (no conversions added).
TEST(Bf16Session, ConvChainCloseToFp32) {
  if (!kernels::onednn_has_bf16()) GTEST_SKIP() << "this CPU has no native bf16";
  const Model model = load(test_models::conv_relu_model());
  const Tensor x = random_input(Shape{1, 2, 5, 5}, 7);
  SessionOptions fp32;
  const Tensor want = run_one(model, fp32, x);
  SessionOptions bf16;
  bf16.precision = "bf16";
  bf16.profile = true;
  std::vector<OpProfile> prof;
  const Tensor got = run_one(model, bf16, x, &prof);
  const bool any_differs = expect_within_bf16(got, want);
  EXPECT_TRUE(any_differs) << "bf16 rounding should show somewhere: did the session run bf16?";
  for (const OpProfile& p : prof) EXPECT_NE(p.op, "Cast");
}

// A detector neck in miniature: convs, a squeeze-excite (GlobalAveragePool, 1x1 conv,
// HardSigmoid, x + x * s), an Add of two branches, nearest 2x upsampling and a Concat, then the
// head conv. X [1, 16, 8, 8] -> Y [1, 8, 16, 16].
onnx::ModelProto bf16_neck_model() {
  using namespace test_models;
  onnx::ModelProto m = new_model(17);
  add_input(m, "X", {1, 16, 8, 8});
  std::mt19937 rng(21);
  std::uniform_real_distribution<float> d(-0.3f, 0.3f);
  auto conv = [&](const std::string& k, const std::string& in, int64_t cin, int64_t cout, int64_t ks) {
    std::vector<float> w(static_cast<size_t>(cout * cin * ks * ks)), b(static_cast<size_t>(cout));
    for (float& v : w) v = d(rng);
    for (float& v : b) v = d(rng);
    add_init_f32(m, k + "_w", {cout, cin, ks, ks}, w);
    add_init_f32(m, k + "_b", {cout}, b);
    auto* n = add_node(m, "Conv", {in, k + "_w", k + "_b"}, {k + "_y"}, k);
    attr_ints(n, "kernel_shape", {ks, ks});
    attr_ints(n, "pads", {ks / 2, ks / 2, ks / 2, ks / 2});
  };
  conv("c1", "X", 16, 16, 3);
  conv("c2", "X", 16, 16, 1);
  add_node(m, "GlobalAveragePool", {"c1_y"}, {"pool"}, "pool");
  conv("se", "pool", 16, 16, 1);
  add_node(m, "HardSigmoid", {"se_y"}, {"s"}, "gate");
  add_node(m, "Mul", {"c1_y", "s"}, {"xs"}, "scale");
  add_node(m, "Add", {"c1_y", "xs"}, {"rse"}, "rse");
  add_node(m, "Add", {"rse", "c2_y"}, {"sum"}, "sum");
  add_init_f32(m, "up", {4}, {1.f, 1.f, 2.f, 2.f});
  attr_string(add_node(m, "Resize", {"sum", "", "up"}, {"sum_up"}, "resize_sum"), "mode", "nearest");
  attr_string(add_node(m, "Resize", {"c2_y", "", "up"}, {"c2_up"}, "resize_c2"), "mode", "nearest");
  attr_int(add_node(m, "Concat", {"sum_up", "c2_up"}, {"cat"}, "concat"), "axis", 1);
  conv("head", "cat", 32, 8, 3);
  add_node(m, "Identity", {"head_y"}, {"Y"}, "out");
  add_output(m, "Y", TP::FLOAT, {1, 8, 16, 16});
  return m;
}

// Between a bf16 session's convs, the squeeze-excite mean, the x + x * s, the Add, both
// Resizes and the Concat keep bf16 activations (the head conv reads bf16, no conversion
// anywhere), and the output is within bf16's precision of fp32.
TEST(Bf16Session, NeckOpsPassBf16BetweenConvs) {
  if (!kernels::onednn_has_bf16()) GTEST_SKIP() << "this CPU has no native bf16";
  const Model model = load(bf16_neck_model());
  const Tensor x = random_input(Shape{1, 16, 8, 8}, 8);
  SessionOptions fp32;
  const Tensor want = run_one(model, fp32, x);
  SessionOptions bf16;
  bf16.precision = "bf16";
  bf16.conv_algorithm = "direct";  // bf16 Winograd rounds coarser (FusedConvBf16 tests cover it)
  bf16.profile = true;
  std::vector<OpProfile> prof;
  const Tensor got = run_one(model, bf16, x, &prof);
  expect_within_bf16(got, want);
  std::string steps;
  int bf16_steps = 0;
  for (const OpProfile& p : prof) {
    steps += p.op + "/" + std::string(dtype_name(p.output_dtypes[0])) + " ";
    const bool between = p.op == "ReduceMean" || p.op == "GlobalAveragePool" || p.op == "ScaleAdd" || p.op == "Add" ||
                         p.op == "Resize" || p.op == "Concat" || p.op == "ResizeConcat";
    if (between) {
      EXPECT_EQ(p.output_dtypes[0], DType::bf16) << p.node;
      ++bf16_steps;
    }
    EXPECT_NE(p.op, "Cast");
  }
  EXPECT_EQ(bf16_steps, 4) << steps;  // mean, ScaleAdd, Add, the two Resizes and the Concat as one
}

TEST(Bf16Session, UnsupportedCpuSaysSo) {
  kernels::onednn_override_bf16(false);
  const Model model = load(test_models::conv_relu_model());
  SessionOptions opt;
  opt.precision = "bf16";
  auto s = Session::create(model, opt);
  kernels::onednn_override_bf16(std::nullopt);
  ASSERT_FALSE(s.is_ok());
  EXPECT_EQ(s.status().code(), StatusCode::unsupported);
  EXPECT_NE(s.status().message().find("precision bf16: this CPU has no native bf16"), std::string::npos)
      << s.status().to_string();
  opt.precision = "fp16";
  auto bad = Session::create(model, opt);
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("precision 'fp16' is not one of fp32, bf16"), std::string::npos);
}

}  // namespace
}  // namespace ep
