// edgepipe.FusedConv in bf16 and int8: the oneDNN kernel against the reference kernel, and
// both against independent oracles: the f32 reference on bf16-rounded operands, and the
// fake-quant computation (dequantize, f32 convolution, quantize) that QDQ models describe.
#include "kernels/fused_conv.h"

#include <omp.h>

#include <optional>

#include "kernels/onednn/onednn_kernels.h"

#include "kernel_test_util.h"

namespace ep::testing {
namespace {

struct Case {
  int64_t n, cin, h, w, cout, k, group, stride, pad;
  std::vector<int64_t> post_ops;
  int64_t pad_end = -1;  // bottom and right padding where it differs from top and left (pad)
};

Tensor nhwc_random(const Case& c, int64_t ch, int64_t h, int64_t w, uint32_t seed, float lo = -1.f, float hi = 1.f) {
  return random_tensor(Shape{c.n, h, w, ch}, seed, lo, hi);
}

int64_t pad_end(const Case& c) { return c.pad_end < 0 ? c.pad : c.pad_end; }

int64_t out_side(const Case& c, int64_t in) { return (in + c.pad + pad_end(c) - c.k) / c.stride + 1; }

void set_attrs(NodeUnderTest& t, const Case& c) {
  t.node->domain = "edgepipe";
  std::vector<float> params;
  for (size_t i = 0; i < c.post_ops.size(); ++i) {  // distinct per op, so mixing them up shows
    params.push_back(c.post_ops[i] == 2 ? -0.4f - 0.1f * i : 0.8f + 0.1f * i);
    params.push_back(c.post_ops[i] == 2 ? 0.9f + 0.1f * i : 0.05f * i);
  }
  t.attr("group", c.group).attr("strides", std::vector<int64_t>{c.stride, c.stride})
      .attr("dilations", std::vector<int64_t>{1, 1})
      .attr("pads", std::vector<int64_t>{c.pad, c.pad, pad_end(c), pad_end(c)})
      .attr("layout", std::string("NHWC")).attr("post_ops", c.post_ops).attr("post_op_params", params);
}

bool has_residual(const Case& c) { return std::find(c.post_ops.begin(), c.post_ops.end(), 7) != c.post_ops.end(); }

Tensor to_bf16(const Tensor& t) {
  Tensor r(DType::bf16, t.shape());
  for (int64_t i = 0; i < t.numel(); ++i) r.as<uint16_t>()[i] = f32_to_bf16(t.as<float>()[i]);
  return r;
}

Tensor to_f32(const Tensor& t) {
  if (t.dtype() == DType::f32) return t.clone();
  Tensor r(DType::f32, t.shape());
  for (int64_t i = 0; i < t.numel(); ++i) r.as<float>()[i] = bf16_to_f32(t.as<uint16_t>()[i]);
  return r;
}

Tensor round_bf16(const Tensor& t) { return to_f32(to_bf16(t)); }

const std::vector<Case> kCases = {
    {1, 16, 9, 11, 32, 3, 1, 1, 1, {}},
    {1, 32, 12, 12, 32, 3, 32, 2, 1, {4}},        // depthwise, stride 2, hardswish
    {2, 24, 7, 7, 40, 1, 1, 1, 0, {1}},           // 1x1, relu
    {1, 16, 8, 8, 16, 3, 1, 1, 1, {7, 1}},        // residual then relu
    {1, 8, 10, 10, 16, 3, 2, 1, 1, {2}},          // grouped, clip
    {1, 16, 6, 6, 8, 3, 1, 1, 1, {3, 5}},         // affine then sigmoid
    {1, 3, 17, 17, 16, 3, 1, 2, 1, {4}},          // the detector's first layer's shape, small
};

// bf16: oneDNN's direct kernel agrees with the bf16-emulating reference, and both stay within
// bf16's precision of the f32 reference; with f32 and bf16 inputs, f32 and bf16 outputs.
// (3x3 stride-1 layers of 16+ channels otherwise run as Winograd convolutions, whose rounding
// differs: WinogradMatchesF32 below.)
// Without native bf16 the oneDNN kernel declines by name and the reference runs bf16 alone.
bool onednn_declines_bf16(const std::vector<const Tensor*>& ins, const NodeUnderTest& t) {
  if (kernels::onednn_has_bf16()) return false;
  auto got = kernels::evaluate_node(*t.node, ins, "onednn");
  EXPECT_FALSE(got.is_ok());
  if (!got.is_ok()) {
    EXPECT_NE(got.status().to_string().find("no bf16"), std::string::npos) << got.status().to_string();
  }
  return true;
}

TEST(FusedConvBf16, OnednnMatchesReferenceAndF32) {
  uint32_t seed = 700;
  for (const Case& c : kCases)
    for (bool bf16_in : {false, true})
      for (bool bf16_out : {false, true}) {
        SCOPED_TRACE("seed " + std::to_string(seed) + (bf16_in ? " bf16 in" : " f32 in") + (bf16_out ? " bf16 out" : " f32 out"));
        const int64_t oh = out_side(c, c.h), ow = out_side(c, c.w);
        const Tensor x = nhwc_random(c, c.cin, c.h, c.w, seed++);
        const Tensor w = random_tensor(Shape{c.cout, c.cin / c.group, c.k, c.k}, seed++, -0.5f, 0.5f);
        const Tensor b = random_tensor(Shape{c.cout}, seed++);
        const Tensor r = nhwc_random(c, c.cout, oh, ow, seed++);
        const Tensor xb = bf16_in ? to_bf16(x) : x.clone();
        NodeUnderTest t("FusedConv", has_residual(c) ? 4 : 3, 1, 1);
        set_attrs(t, c);
        t.attr("precision", std::string("bf16")).attr("output_dtype", std::string(bf16_out ? "bf16" : "f32"));
        t.attr("algorithm", std::string("direct"));
        std::vector<const Tensor*> ins = {&xb, &w, &b};
        if (has_residual(c)) ins.push_back(&r);
        auto ref = kernels::evaluate_node(*t.node, ins, "ref");
        ASSERT_TRUE(ref.is_ok()) << ref.status().to_string();
        if (onednn_declines_bf16(ins, t)) GTEST_SKIP() << "this CPU has no native bf16";
        auto fast = kernels::evaluate_node(*t.node, ins, "onednn");
        ASSERT_TRUE(fast.is_ok()) << fast.status().to_string();
        ASSERT_EQ(fast.value()[0].dtype(), bf16_out ? DType::bf16 : DType::f32);
        // Accumulation order differs; a bf16 output may round one step apart (2^-8 relative).
        expect_close(to_f32(fast.value()[0]), to_f32(ref.value()[0]), 2e-3, bf16_out ? 8e-3 : 1e-3);
        // The oracle: the f32 kernel on bf16-rounded input and weights.
        NodeUnderTest f("FusedConv", ins.size(), 1, 1);
        set_attrs(f, c);
        const Tensor xr = round_bf16(x), wr = round_bf16(w);
        std::vector<const Tensor*> f_ins = {&xr, &wr, &b};
        if (has_residual(c)) f_ins.push_back(&r);
        auto want = kernels::evaluate_node(*f.node, f_ins, "ref");
        ASSERT_TRUE(want.is_ok()) << want.status().to_string();
        expect_close(to_f32(fast.value()[0]), want.value()[0], 2e-3, bf16_out ? 8e-3 : 1e-3);
        // And the unrounded f32 convolution within bf16 precision (8 bits of mantissa).
        NodeUnderTest g("FusedConv", ins.size(), 1, 1);
        set_attrs(g, c);
        std::vector<const Tensor*> g_ins = {&x, &w, &b};
        if (has_residual(c)) g_ins.push_back(&r);
        auto exact = kernels::evaluate_node(*g.node, g_ins, "ref");
        ASSERT_TRUE(exact.is_ok());
        expect_close(to_f32(fast.value()[0]), exact.value()[0], 0.05, 0.02);
      }
}

// bf16 ConvTranspose with kernel = stride and one output channel (a DB detector head's last
// layer in a bf16 session; ShuffleConvT on AVX-512): f32 or bf16 input, f32 output, against
// the bf16-emulating reference and the f32 reference on bf16-rounded input and weights.
TEST(FusedConvBf16, PixelShuffleTransposeMatchesOracles) {
  uint32_t seed = 760;
  for (bool bf16_in : {false, true}) {
    SCOPED_TRACE(bf16_in ? "bf16 in" : "f32 in");
    const Tensor x = random_tensor(Shape{1, 5, 70, 24}, seed++);  // NHWC
    const Tensor w = random_tensor(Shape{24, 1, 2, 2}, seed++, -0.5f, 0.5f);
    const Tensor b = random_tensor(Shape{1}, seed++);
    const Tensor xb = bf16_in ? to_bf16(x) : x.clone();
    auto node = [](NodeUnderTest& t) {
      t.node->domain = "edgepipe";
      t.attr("strides", std::vector<int64_t>{2, 2}).attr("pads", std::vector<int64_t>{0, 0, 0, 0})
          .attr("layout", std::string("NHWC")).attr("post_ops", std::vector<int64_t>{5})
          .attr("post_op_params", std::vector<float>{0.f, 0.f});
    };
    NodeUnderTest t("FusedConvTranspose", 3, 1, 1);
    node(t);
    t.attr("precision", std::string("bf16"));
    const std::vector<const Tensor*> ins = {&xb, &w, &b};
    auto ref = kernels::evaluate_node(*t.node, ins, "ref");
    ASSERT_TRUE(ref.is_ok()) << ref.status().to_string();
    if (onednn_declines_bf16(ins, t)) GTEST_SKIP() << "this CPU has no native bf16";
    auto fast = kernels::evaluate_node(*t.node, ins, "onednn");
    ASSERT_TRUE(fast.is_ok()) << fast.status().to_string();
    ASSERT_EQ(fast.value()[0].dtype(), DType::f32);
    expect_close(fast.value()[0], ref.value()[0], 1e-5, 1e-5);
    NodeUnderTest f("FusedConvTranspose", 3, 1, 1);
    node(f);
    const Tensor xr = round_bf16(x), wr = round_bf16(w);
    const std::vector<const Tensor*> f_ins = {&xr, &wr, &b};
    auto want = kernels::evaluate_node(*f.node, f_ins, "ref");
    ASSERT_TRUE(want.is_ok()) << want.status().to_string();
    expect_close(fast.value()[0], want.value()[0], 1e-5, 1e-5);
  }
}

// The worst |got - want| over max |want|.
double scaled_error(const Tensor& got, const Tensor& want) {
  double peak = 0, worst = 0;
  for (int64_t i = 0; i < want.numel(); ++i) {
    peak = std::max(peak, std::fabs(static_cast<double>(want.as<float>()[i])));
    worst = std::max(worst, std::fabs(static_cast<double>(got.as<float>()[i]) - want.as<float>()[i]));
  }
  return worst / std::max(peak, 1e-30);
}

// Winograd F(4x4, 3x3) with V and U rounded to bf16 where the kernel rounds them, the rest
// in double: B^T d B, G g G^T and A^T M A as in Lavin & Gray (2016). NHWC; post-ops relu (1)
// and residual (7) in their order. The oracle for the kernel's bf16 Winograd path.
Tensor bf16_winograd_oracle(const Case& c, const Tensor& x, const Tensor& w, const Tensor& b, const Tensor* r) {
  static const double kBt[6][6] = {{4, 0, -5, 0, 1, 0},  {0, -4, -4, 1, 1, 0}, {0, 4, -4, -1, 1, 0},
                                   {0, -2, -1, 2, 1, 0}, {0, 2, -1, -2, 1, 0}, {0, 4, 0, -5, 0, 1}};
  static const double kG[6][3] = {{0.25, 0, 0},          {-1. / 6, -1. / 6, -1. / 6}, {-1. / 6, 1. / 6, -1. / 6},
                                  {1. / 24, 1. / 12, 1. / 6}, {1. / 24, -1. / 12, 1. / 6}, {0, 0, 1}};
  static const double kAt[4][6] = {{1, 1, 1, 1, 1, 0}, {0, 1, -1, 2, -2, 0}, {0, 1, 1, 4, 4, 0}, {0, 1, -1, 8, -8, 1}};
  auto rnd = [](double v) { return static_cast<double>(bf16_to_f32(f32_to_bf16(static_cast<float>(v)))); };
  const int64_t oh = out_side(c, c.h), ow = out_side(c, c.w);
  std::vector<double> u(static_cast<size_t>(36 * c.cin * c.cout));  // [36][Cin][Cout]
  for (int64_t co = 0; co < c.cout; ++co)
    for (int64_t ci = 0; ci < c.cin; ++ci) {
      double gg[6][3] = {};
      for (int i = 0; i < 6; ++i)
        for (int j = 0; j < 3; ++j)
          for (int k = 0; k < 3; ++k) gg[i][j] += kG[i][k] * w.as<float>()[((co * c.cin + ci) * 3 + k) * 3 + j];
      for (int i = 0; i < 6; ++i)
        for (int j = 0; j < 6; ++j) {
          double v = 0;
          for (int k = 0; k < 3; ++k) v += gg[i][k] * kG[j][k];
          u[static_cast<size_t>(((i * 6 + j) * c.cin + ci) * c.cout + co)] = rnd(v);
        }
    }
  Tensor y(DType::f32, Shape{c.n, oh, ow, c.cout});
  std::vector<double> v(static_cast<size_t>(36 * c.cin)), m(static_cast<size_t>(36 * c.cout));
  for (int64_t n = 0; n < c.n; ++n)
    for (int64_t ty = 0; ty < oh; ty += 4)
      for (int64_t tx = 0; tx < ow; tx += 4) {
        for (int64_t ci = 0; ci < c.cin; ++ci) {
          double d[6][6], t[6][6] = {};
          for (int i = 0; i < 6; ++i)
            for (int j = 0; j < 6; ++j) {
              const int64_t iy = ty + i - c.pad, ix = tx + j - c.pad;
              d[i][j] = iy < 0 || iy >= c.h || ix < 0 || ix >= c.w ? 0 : x.as<float>()[((n * c.h + iy) * c.w + ix) * c.cin + ci];
            }
          for (int i = 0; i < 6; ++i)
            for (int j = 0; j < 6; ++j)
              for (int k = 0; k < 6; ++k) t[i][j] += kBt[i][k] * d[k][j];
          for (int i = 0; i < 6; ++i)
            for (int j = 0; j < 6; ++j) {
              double s = 0;
              for (int k = 0; k < 6; ++k) s += t[i][k] * kBt[j][k];
              v[static_cast<size_t>((i * 6 + j) * c.cin + ci)] = rnd(s);
            }
        }
        for (int64_t k = 0; k < 36; ++k)
          for (int64_t co = 0; co < c.cout; ++co) {
            double s = 0;
            for (int64_t ci = 0; ci < c.cin; ++ci)
              s += v[static_cast<size_t>(k * c.cin + ci)] * u[static_cast<size_t>((k * c.cin + ci) * c.cout + co)];
            m[static_cast<size_t>(k * c.cout + co)] = s;
          }
        for (int64_t co = 0; co < c.cout; ++co) {
          double t[4][6] = {};
          for (int i = 0; i < 4; ++i)
            for (int j = 0; j < 6; ++j)
              for (int k = 0; k < 6; ++k) t[i][j] += kAt[i][k] * m[static_cast<size_t>((k * 6 + j) * c.cout + co)];
          for (int i = 0; i < 4; ++i)
            for (int j = 0; j < 4; ++j) {
              const int64_t oy = ty + i, ox = tx + j;
              if (oy >= oh || ox >= ow) continue;
              double o = b.as<float>()[co];
              for (int k = 0; k < 6; ++k) o += t[i][k] * kAt[j][k];
              const int64_t at = ((n * oh + oy) * ow + ox) * c.cout + co;
              for (int64_t op : c.post_ops) o = op == 1 ? std::max(o, 0.0) : o + r->as<float>()[at];
              y.as<float>()[at] = static_cast<float>(o);
            }
        }
      }
  return y;
}

// bf16 3x3 stride-1 convolutions with 16+ channels each way and outputs of 8x8 or more run
// as Winograd F(4x4, 3x3) convolutions with bf16 matmuls (kernels/onednn/winograd.h) on CPUs
// with AVX512_BF16: the 16-channel input transform (Cin 96, 32), the 8-lane one (Cin 24),
// f32 and bf16 input, output and residual, partial tiles, padding 0 and 1, two images, more
// tiles than one matmul chunk, one and two threads. Against the oracle above (the same
// roundings) within 1.5e-2 of the largest output: the kernel's transforms run in f32, and a
// V entry whose f32 and double values round to neighbouring bf16 values moves a corner output
// by up to 64 x B's factor 5 x one bf16 step (measured worst 5.3e-3; bf16 outputs add their
// own rounding). Against the exact f32 convolution its error is far larger than the direct
// bf16 kernel's on such random data (worst / max 8.3e-2 vs 3.7e-3, printed); the detector's
// maps are as close to FP32's either way (bench/README.md).
TEST(FusedConvBf16, WinogradMatchesBf16Oracle) {
  if (!kernels::onednn_has_bf16()) GTEST_SKIP() << "this CPU has no native bf16";
  const kernels::ScopedAmxOverride no_amx(false);  // see AmxTakesTheDirectKernel
  struct W {
    Case c;
    bool bf16_in, bf16_out;
  };
  const std::vector<W> cases = {
      {{1, 96, 40, 40, 24, 3, 1, 1, 1, {}}, false, false},       // the detector's neck layer, 100 tiles
      {{1, 96, 37, 30, 24, 3, 1, 1, 1, {1}}, true, true},        // partial tiles, relu
      {{2, 32, 12, 11, 48, 3, 1, 1, 0, {7, 1}}, true, false},    // unpadded, two images, residual then relu
      {{1, 24, 17, 16, 16, 3, 1, 1, 1, {7}}, false, true},       // Cin 24: the 8-lane transform; residual
      {{1, 32, 64, 64, 32, 3, 1, 1, 1, {}}, false, false},       // 256 tiles: a chunk and a tail
  };
  uint32_t seed = 760;
  double worst_wino = 0, worst_direct = 0, worst_oracle = 0;
  for (int threads : {1, 2}) {
    omp_set_num_threads(threads);
    for (const W& wc : cases) {
      const Case& c = wc.c;
      SCOPED_TRACE("seed " + std::to_string(seed) + " threads " + std::to_string(threads));
      const int64_t oh = out_side(c, c.h), ow = out_side(c, c.w);
      const Tensor x = nhwc_random(c, c.cin, c.h, c.w, seed++);
      const Tensor w = random_tensor(Shape{c.cout, c.cin, 3, 3}, seed++, -0.5f, 0.5f);
      const Tensor b = random_tensor(Shape{c.cout}, seed++);
      const Tensor r = nhwc_random(c, c.cout, oh, ow, seed++);
      const Tensor xb = wc.bf16_in ? to_bf16(x) : x.clone(), rb = wc.bf16_in ? to_bf16(r) : r.clone();
      std::vector<const Tensor*> ins = {&xb, &w, &b};
      if (has_residual(c)) ins.push_back(&rb);
      auto run = [&](const char* algorithm) {
        NodeUnderTest t("FusedConv", ins.size(), 1, 1);
        set_attrs(t, c);
        t.attr("precision", std::string("bf16")).attr("output_dtype", std::string(wc.bf16_out ? "bf16" : "f32"));
        t.attr("algorithm", std::string(algorithm));
        auto got = kernels::evaluate_node(*t.node, ins, "onednn");
        EXPECT_TRUE(got.is_ok()) << got.status().to_string();
        return got.is_ok() ? to_f32(got.value()[0]) : Tensor();
      };
      const Tensor wino = run("auto"), direct = run("direct");
      ASSERT_EQ(wino.numel(), c.n * oh * ow * c.cout);
      const Tensor xf = to_f32(xb), rf = to_f32(rb);
      const Tensor oracle = bf16_winograd_oracle(c, xf, w, b, &rf);
      const double to_oracle = scaled_error(wino, oracle);
      worst_oracle = std::max(worst_oracle, to_oracle);
      EXPECT_LE(to_oracle, 1.5e-2);
      // The exact f32 convolution of the operands as the node saw them.
      NodeUnderTest f("FusedConv", ins.size(), 1, 1);
      set_attrs(f, c);
      std::vector<const Tensor*> f_ins = {&xf, &w, &b};
      if (has_residual(c)) f_ins.push_back(&rf);
      auto exact = kernels::evaluate_node(*f.node, f_ins, "ref");
      ASSERT_TRUE(exact.is_ok()) << exact.status().to_string();
      worst_wino = std::max(worst_wino, scaled_error(wino, exact.value()[0]));
      worst_direct = std::max(worst_direct, scaled_error(direct, exact.value()[0]));
    }
  }
  omp_set_num_threads(1);
  std::printf("bf16 3x3, worst error / max output: Winograd against its oracle %.2e; against f32: Winograd %.2e, "
              "direct %.2e\n", worst_oracle, worst_wino, worst_direct);
  EXPECT_LT(worst_oracle, worst_wino / 4);  // the oracle explains most of the difference from f32
}

// With AMX (forced here) the bf16 3x3 layers keep oneDNN's direct kernel: faster there, and it
// rounds finer than the bf16 Winograd.
TEST(FusedConvBf16, AmxTakesTheDirectKernel) {
  if (!kernels::onednn_has_bf16()) GTEST_SKIP() << "this CPU has no native bf16";
  const Case c{1, 96, 40, 40, 24, 3, 1, 1, 1, {}};
  const Tensor x = nhwc_random(c, c.cin, c.h, c.w, 1);
  const Tensor w = random_tensor(Shape{c.cout, c.cin, 3, 3}, 2);
  const Tensor b = random_tensor(Shape{c.cout}, 3);
  NodeUnderTest t("FusedConv", 3, 1, 1);
  set_attrs(t, c);
  t.attr("precision", std::string("bf16")).attr("output_dtype", std::string("f32"));
  for (bool amx : {false, true}) {
    const kernels::ScopedAmxOverride amx_scope(amx);
    const std::string impl = implementation_of(*t.node, {&x, &w, &b});
    if (amx) {
      EXPECT_EQ(impl.rfind("onednn:", 0), 0u) << impl;
    } else {
#if defined(__AVX512F__) && defined(__AVX512BF16__) && defined(__AVX512VL__)  // WinogradF43::kBf16Vectorized
      EXPECT_EQ(impl, "edgepipe:winograd_f4x4");
#endif
    }
  }
}

// MatMul/Gemm with precision bf16 (constant B): within bf16's precision of the f32 reference
// and equal, up to accumulation order, to the reference on bf16-rounded operands.
TEST(MatMulBf16, OnednnCloseToReference) {
  uint32_t seed = 1300;
  for (const char* op : {"MatMul", "Gemm"}) {
    SCOPED_TRACE(op);
    const bool gemm = std::string(op) == "Gemm";
    NodeUnderTest t(op, gemm ? 3 : 2);
    t.attr("precision", std::string("bf16"));
    const Tensor a = random_tensor(gemm ? Shape{7, 96} : Shape{1, 40, 96}, seed++);
    const Tensor b = random_tensor(Shape{96, 130}, seed++);
    const Tensor c = random_tensor(Shape{130}, seed++);
    std::vector<const Tensor*> ins = {&a, &b};
    if (gemm) ins.push_back(&c);
    if (onednn_declines_bf16(ins, t)) GTEST_SKIP() << "this CPU has no native bf16";
    auto got = kernels::evaluate_node(*t.node, ins, "onednn");
    ASSERT_TRUE(got.is_ok()) << got.status().to_string();
    auto exact = kernels::evaluate_node(*t.node, ins, "ref");
    ASSERT_TRUE(exact.is_ok()) << exact.status().to_string();
    expect_close(got.value()[0], exact.value()[0], 0.06, 0.02);
    const Tensor ar = round_bf16(a), br = round_bf16(b);
    std::vector<const Tensor*> rounded = {&ar, &br};
    if (gemm) rounded.push_back(&c);
    auto want = kernels::evaluate_node(*t.node, rounded, "ref");
    ASSERT_TRUE(want.is_ok());
    expect_close(got.value()[0], want.value()[0], 1e-3, 1e-3);
    bool differs = false;  // the bf16 path really ran: some output moved off the f32 result
    for (int64_t i = 0; i < got.value()[0].numel(); ++i)
      differs |= std::fabs(got.value()[0].as<float>()[i] - exact.value()[0].as<float>()[i]) > 1e-4f;
    EXPECT_TRUE(differs);
  }
}

struct QuantCase {
  Case conv;
  DType x_type, y_type;
  int32_t x_zero, y_zero;
};

// Quantized tensor with values spread over the whole range of its type, or over 7 bits
// (i8 in [-64, 63], the weights pre-VNNI CPUs sum exactly).
Tensor random_quantized(DType d, const Shape& s, uint32_t seed, bool seven_bits = false) {
  Tensor t(d, s);
  std::mt19937 rng(seed);
  for (int64_t i = 0; i < t.numel(); ++i) {
    const int v = seven_bits ? 64 + static_cast<int>(rng() % 128) : static_cast<int>(rng() % 256);
    if (d == DType::u8) t.as<uint8_t>()[i] = static_cast<uint8_t>(v);
    else t.as<int8_t>()[i] = static_cast<int8_t>(v - 128);
  }
  return t;
}

float q_at(const Tensor& t, int64_t i) {
  return t.dtype() == DType::u8 ? static_cast<float>(t.as<uint8_t>()[i]) : static_cast<float>(t.as<int8_t>()[i]);
}

// The implementation the onednn backend's kernel chooses for the node (Kernel::implementation).
std::string onednn_implementation(const NodeUnderTest& t, const std::vector<const Tensor*>& ins) {
  const kernels::KernelDef* def = kernels::find_kernel(t.node->op_type, t.node->domain, t.node->opset, "onednn");
  if (!def) return "no kernel";
  std::vector<kernels::TensorInfo> infos;
  for (const Tensor* x : ins) infos.push_back(kernels::TensorInfo{x->dtype(), x->shape(), x});
  kernels::PrepareContext ctx(*t.node, std::move(infos));
  auto kernel = def->create();
  const Status st = kernel->prepare(ctx);
  return st.is_ok() ? kernel->implementation() : st.to_string();
}

// Runs the int8 node on `backend`; false where oneDNN must decline it on this CPU (no VNNI and
// weights or input it cannot sum exactly), after checking that it does, by name.
bool int8_runs_on(const char* backend, const NodeUnderTest& t, const std::vector<const Tensor*>& ins) {
  const Tensor& xq = *ins[0];
  const Tensor& wq = *ins[1];
  if (std::string(backend) != "onednn" || kernels::onednn_int8_conv_exact(xq.dtype(), wq.as<int8_t>(), wq.numel()))
    return true;
  auto got = kernels::evaluate_node(*t.node, ins, backend);
  EXPECT_FALSE(got.is_ok());
  if (!got.is_ok()) {
    EXPECT_NE(got.status().to_string().find("no VNNI"), std::string::npos) << got.status().to_string();
  }
  return false;
}

// int8: both kernels against the fake-quant oracle built here from the f32 reference kernel.
// Every other case has 7-bit weights, which oneDNN runs on CPUs without VNNI too.
TEST(FusedConvInt8, MatchesFakeQuantOracle) {
  std::vector<QuantCase> cases = {
      {kCases[0], DType::u8, DType::u8, 128, 3},
      {kCases[1], DType::u8, DType::u8, 7, 0},
      {kCases[2], DType::i8, DType::i8, 0, -5},
      {kCases[3], DType::u8, DType::u8, 100, 120},
      {kCases[4], DType::u8, DType::i8, 0, 0},
      {kCases[5], DType::u8, DType::f32, 50, 0},
      {kCases[6], DType::u8, DType::u8, 0, 0},
      {{1, 64, 10, 10, 48, 3, 1, 1, 1, {4, 3}}, DType::u8, DType::u8, 131, 60},  // hardswish, affine
      // 17-24 output channels, u8 input, stride 1: NarrowInt8Conv (pixels in the lanes) on
      // AVX512-VNNI; row ends off the 16-pixel vector, channels off 16, padding at the zero point.
      {{1, 32, 9, 20, 24, 3, 1, 1, 1, {1}}, DType::u8, DType::u8, 37, 5},
      {{2, 96, 6, 33, 20, 3, 1, 1, 1, {}}, DType::u8, DType::f32, 128, 0},
      {{1, 64, 5, 16, 17, 1, 1, 1, 0, {4, 3}}, DType::u8, DType::i8, 200, -3},
      {{1, 16, 7, 18, 24, 5, 1, 1, 2, {3, 2}}, DType::u8, DType::u8, 255, 128},
      // 1x1 with 4-48 input channels and 16k output channels: PointwiseInt8 (a tile of 12 to 4
      // pixels x 1 to 6 vectors of 16 channels) on AVX512-VNNI; pixel counts off the tile,
      // input channels off 4, chains with an affine step before and after hard swish.
      {{1, 16, 9, 11, 32, 1, 1, 1, 0, {3, 4}}, DType::u8, DType::u8, 37, 5},
      {{1, 18, 10, 13, 96, 1, 1, 1, 0, {}}, DType::u8, DType::f32, 128, 0},
      {{2, 48, 5, 7, 48, 1, 1, 1, 0, {3, 4, 3}}, DType::u8, DType::i8, 200, -3},
      {{1, 4, 8, 10, 16, 1, 1, 1, 0, {1}}, DType::u8, DType::u8, 255, 128},
      {{1, 32, 9, 9, 64, 1, 1, 1, 0, {2}}, DType::u8, DType::f32, 0, 0},
      {{1, 21, 8, 9, 80, 1, 1, 1, 0, {3, 4}}, DType::u8, DType::f32, 90, 17},
      // Depthwise, u8 input, stride 1, 16k channels: DepthwiseInt8 (4 columns x 16 channels per
      // vpdpbusd) on AVX512-VNNI. Rows narrower than one 4-column block and off its multiples,
      // kernels wider than the padding and asymmetric padding (the zero point outside the image).
      {{1, 16, 7, 3, 16, 3, 16, 1, 1, {4}}, DType::u8, DType::u8, 128, 3},
      {{1, 48, 6, 10, 48, 5, 48, 1, 2, {2, 4}}, DType::u8, DType::i8, 255, -7},
      {{2, 64, 5, 9, 64, 3, 64, 1, 1, {1}}, DType::u8, DType::u8, 0, 10},
      {{1, 32, 9, 13, 32, 5, 32, 1, 2, {}}, DType::u8, DType::f32, 128, 0},
      {{1, 16, 12, 17, 16, 5, 16, 1, 1, {4, 3}, 3}, DType::u8, DType::u8, 255, 128},
      {{1, 16, 5, 2, 16, 3, 16, 1, 0, {2}, 1}, DType::u8, DType::i8, 77, 0},
      {{1, 48, 8, 6, 48, 3, 48, 1, 2, {4}, 0}, DType::u8, DType::u8, 200, 60},
      // Other sizes than 3x3 and 5x5 (a 5-wide kernel with zero taps), chains without hard swish.
      {{1, 32, 7, 9, 32, 4, 32, 1, 2, {}, 1}, DType::u8, DType::u8, 128, 0},
      {{1, 16, 6, 5, 16, 2, 16, 1, 0, {1}, 1}, DType::u8, DType::i8, 9, 0},
      {{1, 16, 3, 7, 16, 1, 16, 1, 0, {4}}, DType::u8, DType::u8, 255, 0},
      {{1, 32, 6, 7, 32, 5, 32, 1, 2, {4, 3}}, DType::u8, DType::f32, 128, 0},  // the det's f32 one
      // Stride 2: odd and even widths and heights, asymmetric padding.
      {{1, 16, 9, 11, 16, 3, 16, 2, 1, {4}}, DType::u8, DType::u8, 128, 3},
      {{1, 48, 10, 13, 48, 5, 48, 2, 2, {4, 3}}, DType::u8, DType::f32, 255, 0},
      {{2, 64, 7, 18, 64, 3, 64, 2, 0, {1}, 1}, DType::u8, DType::i8, 0, -4},
      {{1, 32, 8, 6, 32, 5, 32, 2, 2, {}, 1}, DType::u8, DType::u8, 77, 100},
  };
#if defined(__AVX512F__) && defined(__AVX512VNNI__) && defined(__AVX512BW__) && defined(__AVX512VBMI__)
  // An affine step before hard swish: DepthwiseInt8 only (oneDNN declines two linear steps).
  cases.push_back({{1, 32, 7, 10, 32, 3, 32, 1, 1, {3, 4}}, DType::u8, DType::u8, 128, 50});
#endif
  int onednn_ran = 0;
  // On AMX CPUs oneDNN takes the 17-24-channel cases (onednn_has_amx()); a second pass
  // without AMX checks NarrowInt8Conv there too.
  std::vector<std::optional<bool>> amx_answers = {std::nullopt};
  if (kernels::onednn_has_amx()) amx_answers.push_back(false);
  for (const std::optional<bool>& amx : amx_answers) {
    SCOPED_TRACE(amx ? "AMX off" : "AMX as the CPU has it");
    const kernels::ScopedAmxOverride amx_scope(amx);
    uint32_t seed = 900;
    for (size_t ci = 0; ci < cases.size(); ++ci) {
      const QuantCase& qc = cases[ci];
      const Case& c = qc.conv;
      SCOPED_TRACE("seed " + std::to_string(seed));
      const int64_t oh = out_side(c, c.h), ow = out_side(c, c.w);
      const float x_scale = 0.02f, y_scale = 0.05f;
      const Tensor xq = random_quantized(qc.x_type, Shape{c.n, c.h, c.w, c.cin}, seed++);
      const Tensor wq = random_quantized(DType::i8, Shape{c.cout, c.cin / c.group, c.k, c.k}, seed++, ci % 2 == 1);
      std::vector<float> w_scales(static_cast<size_t>(c.cout));
      std::mt19937 rng(seed++);
      for (float& s : w_scales) s = 0.002f + 0.004f * static_cast<float>(rng() % 100) / 100.f;  // per channel
      const Tensor b = random_tensor(Shape{c.cout}, seed++);
      const Tensor r = nhwc_random(c, c.cout, oh, ow, seed++);
      // Fake quant: dequantized input and weights through the f32 reference.
      Tensor x(DType::f32, xq.shape()), w(DType::f32, wq.shape());
      for (int64_t i = 0; i < x.numel(); ++i)
        x.as<float>()[i] = (q_at(xq, i) - static_cast<float>(qc.x_zero)) * x_scale;
      const int64_t per_oc = wq.numel() / c.cout;
      for (int64_t i = 0; i < w.numel(); ++i)
        w.as<float>()[i] = q_at(wq, i) * w_scales[static_cast<size_t>(i / per_oc)];
      NodeUnderTest f("FusedConv", has_residual(c) ? 4 : 3, 1, 1);
      set_attrs(f, c);
      std::vector<const Tensor*> f_ins = {&x, &w, &b};
      if (has_residual(c)) f_ins.push_back(&r);
      auto real = kernels::evaluate_node(*f.node, f_ins, "ref");
      ASSERT_TRUE(real.is_ok()) << real.status().to_string();

      NodeUnderTest t("FusedConv", has_residual(c) ? 4 : 3, 1, 1);
      set_attrs(t, c);
      const char* y_name = qc.y_type == DType::u8 ? "u8" : qc.y_type == DType::i8 ? "i8" : "f32";
      t.attr("precision", std::string("int8")).attr("output_dtype", std::string(y_name))
          .attr("x_scale", x_scale).attr("x_zero_point", int64_t{qc.x_zero}).attr("w_scales", w_scales)
          .attr("y_scale", y_scale).attr("y_zero_point", int64_t{qc.y_zero});
      std::vector<const Tensor*> ins = {&xq, &wq, &b};
      if (has_residual(c)) ins.push_back(&r);
      // The 1x1 cases above with at most 48 channels out, or an f32 output, take PointwiseInt8.
      if (c.k == 1 && c.group == 1 && c.cin <= 48 && c.cout % 16 == 0 && (c.cout <= 48 || qc.y_type == DType::f32) &&
          kernels::onednn_has_vnni() && !kernels::onednn_without_avx512()) {
        EXPECT_EQ(onednn_implementation(t, ins), "edgepipe:pointwise_int8");
      }
      for (const char* backend : {"ref", "onednn"}) {
        SCOPED_TRACE(backend);
        if (!int8_runs_on(backend, t, ins)) continue;
        onednn_ran += std::string(backend) == "onednn";
        auto got = kernels::evaluate_node(*t.node, ins, backend);
        ASSERT_TRUE(got.is_ok()) << got.status().to_string();
        const Tensor& y = got.value()[0];
        ASSERT_EQ(y.dtype(), qc.y_type);
        int64_t off_by_one = 0;
        for (int64_t i = 0; i < y.numel(); ++i) {
          const float want = real.value()[0].as<float>()[i];
          if (qc.y_type == DType::f32) {
            ASSERT_NEAR(y.as<float>()[i], want, 1e-3 + 1e-4 * std::fabs(want)) << "index " << i;
            continue;
          }
          const float wq_i = static_cast<float>(kernels::quantize_value(want, y_scale, qc.y_zero, qc.y_type));
          ASSERT_LE(std::fabs(q_at(y, i) - wq_i), 1.f) << "index " << i << ": got " << q_at(y, i) << " want " << wq_i;
          off_by_one += q_at(y, i) != wq_i;
        }
        // Only values at a rounding boundary may land one step off.
        EXPECT_LE(off_by_one, y.numel() / 50 + 1);
      }
      seed += 10;
    }
  }
  EXPECT_GE(onednn_ran, 4);  // the 7-bit cases with u8 input run on oneDNN on any CPU
}

// WinogradInt16 (3x3, pads 1, 17-24 output channels, outputs at least 64 wide and 16 high on
// AVX512-VNNI and VBMI) against the same fake-quant oracle, with a looser bound than the direct
// kernels: its int16 weights U = G g G^T carry a rounding of up to half a step per position,
// with the step as coarse as the int32 sums over Cin need to stay exact (sum |V| |U| < 2^31),
// and the output transform multiplies it by up to 64. On this test's uniform full-range inputs
// and weights (the worst case for that step: no channel's weights are small) the cases below
// measured at most 4 steps off and 0.075 steps on average (the direct kernels: 1 and ~0.01),
// bounded here at 6 and 0.15; on the detector the IoU moved 0.97243 -> 0.97237 (20 frames).
TEST(FusedConvInt8, WinogradInt16NearFakeQuantOracle) {
  const std::vector<QuantCase> cases = {
      // Widths off the 4x4 tile and the 32-column strip, heights off the 8-row band, input
      // channels off 32, zero points 0/128/255, chains, two images.
      {{1, 96, 17, 130, 24, 3, 1, 1, 1, {}}, DType::u8, DType::u8, 128, 3},
      {{1, 32, 16, 129, 17, 3, 1, 1, 1, {4, 3}}, DType::u8, DType::i8, 255, -3},
      {{2, 16, 21, 134, 20, 3, 1, 1, 1, {1}}, DType::u8, DType::u8, 0, 10},
      {{1, 96, 16, 131, 24, 3, 1, 1, 1, {}}, DType::u8, DType::f32, 128, 0},
      {{1, 48, 24, 160, 22, 3, 1, 1, 1, {4}}, DType::u8, DType::u8, 77, 100},
      {{1, 20, 16, 128, 18, 3, 1, 1, 1, {2}}, DType::u8, DType::i8, 128, 0},
      // Input channels past 32 off 32 (convert_row's second block of pairs part full), two images.
      {{2, 50, 17, 133, 23, 3, 1, 1, 1, {}}, DType::u8, DType::u8, 200, 5},
      // The detector's 80x80 layer's width (three strips of 8 tiles, the last part full).
      {{1, 96, 18, 80, 24, 3, 1, 1, 1, {}}, DType::u8, DType::f32, 128, 0},
  };
  const kernels::ScopedAmxOverride no_amx(false);  // oneDNN's AMX kernels would take these
  uint32_t seed = 3000;
  for (size_t ci = 0; ci < cases.size(); ++ci) {
    const QuantCase& qc = cases[ci];
    const Case& c = qc.conv;
    SCOPED_TRACE("seed " + std::to_string(seed));
    const float x_scale = 0.02f, y_scale = 0.05f;
    const Tensor xq = random_quantized(qc.x_type, Shape{c.n, c.h, c.w, c.cin}, seed++);
    const Tensor wq = random_quantized(DType::i8, Shape{c.cout, c.cin, c.k, c.k}, seed++, ci % 2 == 1);
    std::vector<float> w_scales(static_cast<size_t>(c.cout));
    std::mt19937 rng(seed++);
    for (float& s : w_scales) s = 0.002f + 0.004f * static_cast<float>(rng() % 100) / 100.f;  // per channel
    const Tensor b = random_tensor(Shape{c.cout}, seed++);
    Tensor x(DType::f32, xq.shape()), w(DType::f32, wq.shape());
    for (int64_t i = 0; i < x.numel(); ++i) x.as<float>()[i] = (q_at(xq, i) - static_cast<float>(qc.x_zero)) * x_scale;
    const int64_t per_oc = wq.numel() / c.cout;
    for (int64_t i = 0; i < w.numel(); ++i) w.as<float>()[i] = q_at(wq, i) * w_scales[static_cast<size_t>(i / per_oc)];
    NodeUnderTest f("FusedConv", 3, 1, 1);
    set_attrs(f, c);
    const std::vector<const Tensor*> f_ins = {&x, &w, &b};
    auto real = kernels::evaluate_node(*f.node, f_ins, "ref");
    ASSERT_TRUE(real.is_ok()) << real.status().to_string();
    NodeUnderTest t("FusedConv", 3, 1, 1);
    set_attrs(t, c);
    const char* y_name = qc.y_type == DType::u8 ? "u8" : qc.y_type == DType::i8 ? "i8" : "f32";
    t.attr("precision", std::string("int8")).attr("output_dtype", std::string(y_name))
        .attr("x_scale", x_scale).attr("x_zero_point", int64_t{qc.x_zero}).attr("w_scales", w_scales)
        .attr("y_scale", y_scale).attr("y_zero_point", int64_t{qc.y_zero});
    const std::vector<const Tensor*> ins = {&xq, &wq, &b};
#if defined(__AVX512F__) && defined(__AVX512VNNI__) && defined(__AVX512BW__) && defined(__AVX512VBMI__)
    EXPECT_EQ(onednn_implementation(t, ins), "edgepipe:winograd_int16");
#endif
    auto got = kernels::evaluate_node(*t.node, ins, "onednn");
    ASSERT_TRUE(got.is_ok()) << got.status().to_string();
    const Tensor& y = got.value()[0];
    ASSERT_EQ(y.dtype(), qc.y_type);
    // Error in output steps (y_scale, for f32 outputs too).
    double worst = 0, sum = 0;
    for (int64_t i = 0; i < y.numel(); ++i) {
      const float want = real.value()[0].as<float>()[i];
      const double err = qc.y_type == DType::f32
                             ? std::fabs(y.as<float>()[i] - want) / y_scale
                             : std::fabs(q_at(y, i) - static_cast<float>(kernels::quantize_value(
                                                             want, y_scale, qc.y_zero, qc.y_type)));
      worst = std::max(worst, err);
      sum += err;
    }
    EXPECT_LE(worst, 6.0);
    EXPECT_LE(sum / static_cast<double>(y.numel()), 0.15);
    seed += 10;
  }
}

// The implementation prepare() picks for an int8 node of the oracle test's form (u8 in and out).
std::string int8_implementation(const Case& c) {
  NodeUnderTest t("FusedConv", 3, 1, 1);
  set_attrs(t, c);
  t.attr("precision", std::string("int8")).attr("output_dtype", std::string("u8")).attr("x_scale", 0.02f)
      .attr("x_zero_point", int64_t{128}).attr("w_scales", std::vector<float>(static_cast<size_t>(c.cout), 0.004f))
      .attr("y_scale", 0.05f).attr("y_zero_point", int64_t{0});
  const Tensor xq = random_quantized(DType::u8, Shape{c.n, c.h, c.w, c.cin}, 1);
  const Tensor wq = random_quantized(DType::i8, Shape{c.cout, c.cin / c.group, c.k, c.k}, 2);
  const Tensor b = random_tensor(Shape{c.cout}, 3);
  kernels::PrepareContext ctx(*t.node, {{xq.dtype(), xq.shape(), &xq}, {wq.dtype(), wq.shape(), &wq},
                                        {b.dtype(), b.shape(), &b}});
  std::unique_ptr<kernels::Kernel> k = kernels::find_kernel("FusedConv", "edgepipe", 1, "onednn")->create();
  const Status st = k->prepare(ctx);
  return st.is_ok() ? k->implementation() : st.to_string();
}

// int8 3x3 convolutions with pads 1, 17-24 output channels and outputs at least 64 wide and 16
// high take WinogradInt16 in a build with AVX512-VNNI and VBMI (WinogradInt16NearFakeQuantOracle
// checks its results); smaller outputs, other kernels and other pads NarrowInt8Conv.
TEST(FusedConvInt8, Narrow3x3TakesWinogradInt16) {
  const kernels::ScopedAmxOverride no_amx(false);  // see AmxTakesNarrow3x3
  const std::string det = int8_implementation({1, 96, 16, 160, 24, 3, 1, 1, 1, {}});
  const std::string odd = int8_implementation({1, 18, 16, 130, 17, 3, 1, 1, 1, {4}});
  const std::string det80 = int8_implementation({1, 96, 80, 80, 24, 3, 1, 1, 1, {}});
  const std::string low = int8_implementation({1, 96, 15, 160, 24, 3, 1, 1, 1, {}});
  const std::string narrow = int8_implementation({1, 96, 40, 40, 24, 3, 1, 1, 1, {}});
  const std::string k5 = int8_implementation({1, 32, 16, 160, 24, 5, 1, 1, 2, {}});
  const std::string pad0 = int8_implementation({1, 32, 16, 162, 24, 3, 1, 1, 0, {}});
#if defined(__AVX512F__) && defined(__AVX512VNNI__) && defined(__AVX512BW__) && defined(__AVX512VBMI__)
  EXPECT_EQ(det, "edgepipe:winograd_int16");
  EXPECT_EQ(odd, "edgepipe:winograd_int16");
  EXPECT_EQ(det80, "edgepipe:winograd_int16");
  EXPECT_EQ(low, "edgepipe:narrow_int8");
  EXPECT_EQ(narrow, "edgepipe:narrow_int8");
  EXPECT_EQ(k5, "edgepipe:narrow_int8");
  EXPECT_EQ(pad0, "edgepipe:narrow_int8");
#else
  EXPECT_EQ(det.rfind("onednn:", 0), 0u) << det;
#endif
}

// On a CPU with AMX, oneDNN's int8 1x1 convolutions with at most 48 input channels or under 16
// output pixels take its AVX-512 VNNI brgemm kernel, the rest its AMX ones (fused_conv.cc
// has the figures). This asks oneDNN's own list of kernels, so it runs on AMX CPUs only.
TEST(FusedConvInt8, AmxPointwiseKeepsVnniForFewInputChannels) {
  if (!kernels::onednn_has_amx()) GTEST_SKIP() << "this CPU has no AMX";
  const std::string narrow_in = int8_implementation({1, 48, 20, 20, 96, 1, 1, 1, 0, {}});
  const std::string se = int8_implementation({1, 96, 1, 1, 24, 1, 1, 1, 0, {1}});
  const std::string wide = int8_implementation({1, 96, 20, 20, 96, 1, 1, 1, 0, {}});
  EXPECT_EQ(narrow_in, "onednn:brgconv_1x1:avx512_core_vnni");
  EXPECT_EQ(se, "onednn:brgconv_1x1:avx512_core_vnni");
  EXPECT_NE(wide.find("_amx"), std::string::npos) << wide;
}

// With AMX (oneDNN's answer forced, so any CPU checks the choice) oneDNN's kernels take those
// layers, except chains oneDNN declines (a repeated algorithm: an affine step, a clip, then
// the requantizing affine step), which stay on NarrowInt8Conv (in a build with AVX512-VNNI).
TEST(FusedConvInt8, AmxTakesNarrow3x3) {
  const kernels::ScopedAmxOverride amx(true);
  for (const Case& c : {Case{1, 96, 16, 160, 24, 3, 1, 1, 1, {}}, Case{1, 96, 80, 80, 24, 3, 1, 1, 1, {}},
                        Case{1, 96, 40, 40, 24, 3, 1, 1, 1, {}}}) {
    const std::string impl = int8_implementation(c);
    EXPECT_EQ(impl.rfind("onednn:", 0), 0u) << impl;
  }
  const std::string chain = int8_implementation({1, 16, 7, 18, 24, 5, 1, 1, 2, {3, 2}});
#if defined(__AVX512F__) && defined(__AVX512VNNI__) && defined(__AVX512BW__) && defined(__AVX512VBMI__)
  EXPECT_EQ(chain, "edgepipe:narrow_int8");
#else
  EXPECT_NE(chain.find("repeated post-op"), std::string::npos) << chain;
#endif
}

// int8 depthwise convolutions with u8 input, 16k channels and stride 1 or 2 take DepthwiseInt8
// in a build with AVX512-VNNI and VBMI (the oracle test above checks its results); stride 3 and
// channels off the multiples of 16 stay on oneDNN.
TEST(FusedConvInt8, DepthwiseTakesDepthwiseInt8) {
  const std::string dw3 = int8_implementation({1, 48, 10, 10, 48, 3, 48, 1, 1, {4}});
  const std::string dw5 = int8_implementation({1, 32, 10, 10, 32, 5, 32, 1, 2, {}});
  const std::string dw3s2 = int8_implementation({1, 32, 12, 12, 32, 3, 32, 2, 1, {4}});
  // An affine step before hard swish (oneDNN declines the chain: two linear steps).
  const std::string dw_affine = int8_implementation({1, 16, 8, 8, 16, 3, 16, 1, 1, {3, 4}});
  EXPECT_EQ(int8_implementation({1, 24, 10, 10, 24, 3, 24, 1, 1, {4}}).rfind("onednn:", 0), 0u);
  EXPECT_EQ(int8_implementation({1, 32, 12, 12, 32, 3, 32, 3, 1, {4}}).rfind("onednn:", 0), 0u);
#if defined(__AVX512F__) && defined(__AVX512VNNI__) && defined(__AVX512BW__) && defined(__AVX512VBMI__)
  EXPECT_EQ(dw3, "edgepipe:depthwise_int8");
  EXPECT_EQ(dw5, "edgepipe:depthwise_int8");
  EXPECT_EQ(dw3s2, "edgepipe:depthwise_int8");
  EXPECT_EQ(dw_affine, "edgepipe:depthwise_int8");
#else
  EXPECT_EQ(dw3.rfind("onednn:", 0), 0u) << dw3;
  EXPECT_EQ(dw5.rfind("onednn:", 0), 0u) << dw5;
  EXPECT_EQ(dw3s2.rfind("onednn:", 0), 0u) << dw3s2;
#endif
}

// FusedConvTranspose in int8: the pixel-shuffle case (kernel == stride, the det's head) and a
// general deconvolution, per-channel scales along the output channels, against fake quant.
TEST(FusedConvInt8, TransposedMatchesFakeQuantOracle) {
  struct TCase {
    int64_t cin, h, w, cout, k, stride, pad;
    DType y_type;
  };
  // The 1-output pixel-shuffle cases run on ShuffleConvT (16 channels; the det head's 24 = 16 +
  // a masked 8 over 70 pixels: two chunks and a tail; 22 channels: a partial group of 4).
  const std::vector<TCase> cases = {{24, 8, 8, 6, 2, 2, 0, DType::u8}, {16, 5, 7, 1, 2, 2, 0, DType::f32},
                                    {8, 5, 5, 4, 3, 2, 1, DType::u8}, {24, 3, 70, 1, 2, 2, 0, DType::f32},
                                    {22, 4, 9, 1, 2, 2, 0, DType::f32}};
  uint32_t seed = 1500;
  int onednn_ran = 0;
  for (size_t ci = 0; ci < cases.size(); ++ci) {
    const TCase& c = cases[ci];
    SCOPED_TRACE("seed " + std::to_string(seed));
    const float x_scale = 0.03f, y_scale = 0.04f;
    const int32_t x_zero = 110, y_zero = 30;
    const Tensor xq = random_quantized(DType::u8, Shape{1, c.h, c.w, c.cin}, seed++);
    const Tensor wq = random_quantized(DType::i8, Shape{c.cin, c.cout, c.k, c.k}, seed++, ci != 1);
    std::vector<float> w_scales(static_cast<size_t>(c.cout));
    for (size_t o = 0; o < w_scales.size(); ++o) w_scales[o] = 0.002f + 0.0007f * static_cast<float>(o);
    const Tensor b = random_tensor(Shape{c.cout}, seed++);
    Tensor x(DType::f32, xq.shape()), w(DType::f32, wq.shape());
    for (int64_t i = 0; i < x.numel(); ++i) x.as<float>()[i] = (q_at(xq, i) - static_cast<float>(x_zero)) * x_scale;
    for (int64_t i = 0; i < w.numel(); ++i)  // [Cin, Cout, k, k]: the output channel is the second axis
      w.as<float>()[i] = q_at(wq, i) * w_scales[static_cast<size_t>((i / (c.k * c.k)) % c.cout)];
    auto attrs = [&](NodeUnderTest& t) {
      t.node->domain = "edgepipe";
      t.attr("strides", std::vector<int64_t>{c.stride, c.stride}).attr("pads", std::vector<int64_t>{c.pad, c.pad, c.pad, c.pad})
          .attr("layout", std::string("NHWC")).attr("post_ops", std::vector<int64_t>{1})
          .attr("post_op_params", std::vector<float>{0.f, 0.f});
    };
    NodeUnderTest f("FusedConvTranspose", 3, 1, 1);
    attrs(f);
    const std::vector<const Tensor*> f_ins = {&x, &w, &b};
    auto real = kernels::evaluate_node(*f.node, f_ins, "ref");
    ASSERT_TRUE(real.is_ok()) << real.status().to_string();
    NodeUnderTest t("FusedConvTranspose", 3, 1, 1);
    attrs(t);
    t.attr("precision", std::string("int8")).attr("output_dtype", std::string(c.y_type == DType::u8 ? "u8" : "f32"))
        .attr("x_scale", x_scale).attr("x_zero_point", int64_t{x_zero}).attr("w_scales", w_scales)
        .attr("y_scale", y_scale).attr("y_zero_point", int64_t{y_zero});
    const std::vector<const Tensor*> ins = {&xq, &wq, &b};
    for (const char* backend : {"ref", "onednn"}) {
      SCOPED_TRACE(backend);
      if (!int8_runs_on(backend, t, ins)) continue;
      onednn_ran += std::string(backend) == "onednn";
      auto got = kernels::evaluate_node(*t.node, ins, backend);
      ASSERT_TRUE(got.is_ok()) << got.status().to_string();
      const Tensor& y = got.value()[0];
      ASSERT_EQ(y.shape(), real.value()[0].shape());
      for (int64_t i = 0; i < y.numel(); ++i) {
        const float want = real.value()[0].as<float>()[i];
        if (c.y_type == DType::f32) {
          ASSERT_NEAR(y.as<float>()[i], want, 1e-3 + 1e-4 * std::fabs(want)) << "index " << i;
        } else {
          const float wq_i = static_cast<float>(kernels::quantize_value(want, y_scale, y_zero, DType::u8));
          ASSERT_LE(std::fabs(q_at(y, i) - wq_i), 1.f) << "index " << i;
        }
      }
    }
  }
  EXPECT_GE(onednn_ran, 2);
}

// As if on a CPU without VNNI: 8-bit weights or s8 input are declined by name (the reference
// takes over), 7-bit weights with u8 input still run on oneDNN.
TEST(FusedConvInt8, WithoutVnniOnlySevenBitWeightsRunOnOnednn) {
  kernels::onednn_override_vnni(false);
  const Case c = kCases[0];
  for (int variant = 0; variant < 3; ++variant) {
    const bool seven = variant != 1;
    const DType x_type = variant == 2 ? DType::i8 : DType::u8;
    SCOPED_TRACE("variant " + std::to_string(variant));
    const Tensor xq = random_quantized(x_type, Shape{1, c.h, c.w, c.cin}, 31);
    const Tensor wq = random_quantized(DType::i8, Shape{c.cout, c.cin, c.k, c.k}, 32, seven);
    const Tensor b = random_tensor(Shape{c.cout}, 33);
    NodeUnderTest t("FusedConv", 3, 1, 1);
    set_attrs(t, c);
    t.attr("precision", std::string("int8")).attr("output_dtype", std::string("f32")).attr("x_scale", 0.02f)
        .attr("x_zero_point", int64_t{0}).attr("w_scales", std::vector<float>(static_cast<size_t>(c.cout), 0.003f));
    const std::vector<const Tensor*> ins = {&xq, &wq, &b};
    auto fast = kernels::evaluate_node(*t.node, ins, "onednn");
    EXPECT_EQ(fast.is_ok(), variant == 0);
    if (!fast.is_ok()) {
      EXPECT_NE(fast.status().to_string().find("no VNNI"), std::string::npos) << fast.status().to_string();
    }
    auto ref = kernels::evaluate_node(*t.node, ins, "ref");
    ASSERT_TRUE(ref.is_ok()) << ref.status().to_string();
    if (fast.is_ok()) expect_close(fast.value()[0], ref.value()[0], 1e-3, 1e-4);
  }
  kernels::onednn_override_vnni(std::nullopt);
}

TEST(FusedConvInt8, RejectsBadQuantAttributes) {
  const Case c = kCases[0];
  const Tensor xq = random_quantized(DType::u8, Shape{1, c.h, c.w, c.cin}, 1);
  const Tensor wq = random_quantized(DType::i8, Shape{c.cout, c.cin, c.k, c.k}, 2);
  const Tensor b = random_tensor(Shape{c.cout}, 3);
  NodeUnderTest t("FusedConv", 3, 1, 1);
  set_attrs(t, c);
  t.attr("precision", std::string("int8")).attr("output_dtype", std::string("u8")).attr("x_scale", 0.1f)
      .attr("w_scales", std::vector<float>{0.1f, 0.2f}).attr("y_scale", 0.1f);
  const std::vector<const Tensor*> ins = {&xq, &wq, &b};
  auto out = kernels::evaluate_node(*t.node, ins, "ref");
  ASSERT_FALSE(out.is_ok());
  EXPECT_NE(out.status().message().find("w_scales needs 1 or 32 values"), std::string::npos) << out.status().to_string();
  t.attr("w_scales", std::vector<float>{0.1f}).attr("x_zero_point", int64_t{300});
  out = kernels::evaluate_node(*t.node, ins, "ref");
  ASSERT_FALSE(out.is_ok());
  EXPECT_NE(out.status().message().find("zero point"), std::string::npos) << out.status().to_string();
}

}  // namespace
}  // namespace ep::testing
