// Session precision: QDQ models on int8 kernels against their fake-quant graph (backend
// "ref", the oracle), bf16 sessions against fp32, and the message on a CPU without bf16.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "edgepipe/session.h"
#include "kernels/onednn/onednn_kernels.h"
#include "onnx/qdq_models.h"

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
    const auto quantizers = std::count_if(r.prof.begin(), r.prof.end(), [](const OpProfile& p) { return p.op == "QuantizeLinear"; });
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
  std::string ops;
  for (const OpProfile& p : prof) ops += p.op + (p.op == "FusedConv" ? "/" + p.kernel : "") + " ";
  EXPECT_EQ(ops, "QuantizeLinear Transpose FusedConv/onednn FusedConv/onednn DequantizeLinear Identity Transpose ");
}

// A QuantizeLinear after Concat(Resize nearest(conv), ...) moves above them (exactly the same
// values): the convs requantize in their epilogues, Resize and Concat move u8, and the third
// conv reads u8. Within one step of the fake-quant graph.
TEST(Int8Session, QuantizeMovesAboveResizeAndConcat) {
  const Model model = load(test_models::qdq_resize_concat_model());
  const Tensor x = random_input(Shape{1, 8, 6, 6}, 13);
  const RefAndFast r = run_ref_and_fast(model, x);
  expect_within(r.got, r.want, 0.05f * 1.01f);
  std::string ops;
  for (const OpProfile& p : r.prof) ops += p.op + (p.op == "FusedConv" ? "/" + p.kernel : "") + " ";
  EXPECT_EQ(ops,
            "QuantizeLinear Transpose FusedConv/onednn FusedConv/onednn Resize Resize Concat FusedConv/onednn "
            "DequantizeLinear Identity Transpose ");
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
  ASSERT_EQ(got.shape(), want.shape());
  double max_ref = 0;
  for (int64_t i = 0; i < want.numel(); ++i) max_ref = std::max(max_ref, std::fabs(double{want.as<float>()[i]}));
  bool any_differs = false;
  for (int64_t i = 0; i < got.numel(); ++i) {
    const float g = got.as<float>()[i], w = want.as<float>()[i];
    EXPECT_NEAR(g, w, 0.01 * max_ref + 0.01 * std::fabs(w)) << "index " << i;
    any_differs |= g != w;
  }
  EXPECT_TRUE(any_differs) << "bf16 rounding should show somewhere: did the session run bf16?";
  for (const OpProfile& p : prof) EXPECT_NE(p.op, "Cast");
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
