// edgepipe.FusedConv: the oneDNN kernel against the reference on seeded random cases.
#include "kernels/fused_conv.h"

#include <omp.h>

#include "kernel_test_util.h"
#include "kernels/onednn/context.h"
#include "kernels/onednn/onednn_kernels.h"
#include "kernels/onednn/pointwise_depthwise.h"

namespace ep::testing {
namespace {

struct ConvCase {
  int64_t n, cin, h, w, cout, kh, kw, group, stride, dilation, pad;
  bool nhwc;
  std::vector<int64_t> post_ops;
};

Tensor to_nhwc(const Tensor& t) {
  const Shape& s = t.shape();
  Tensor r(DType::f32, Shape{s[0], s[2], s[3], s[1]});
  for (int64_t n = 0; n < s[0]; ++n)
    for (int64_t c = 0; c < s[1]; ++c)
      for (int64_t h = 0; h < s[2]; ++h)
        for (int64_t w = 0; w < s[3]; ++w)
          r.as<float>()[((n * s[2] + h) * s[3] + w) * s[1] + c] = t.as<float>()[((n * s[1] + c) * s[2] + h) * s[3] + w];
  return r;
}

// `scaled_tol` > 0: every output within scaled_tol * max|reference output| (a Winograd
// convolution's rounding grows with the sums, not with each output); else 1e-4 abs + rel.
void run_case(const ConvCase& c, uint32_t seed, const std::string& algorithm = "auto", double scaled_tol = 0) {
  SCOPED_TRACE("seed " + std::to_string(seed));
  const bool residual = std::find(c.post_ops.begin(), c.post_ops.end(), 7) != c.post_ops.end();
  NodeUnderTest t("FusedConv", residual ? 4 : 3, 1, 1);
  t.node->domain = "edgepipe";
  std::vector<float> params;  // distinct per post-op, so a kernel mixing them up is caught
  for (size_t i = 0; i < c.post_ops.size(); ++i) {
    const float d = 0.1f * static_cast<float>(i);
    params.push_back(c.post_ops[i] == 2 ? -0.5f - d : 0.7f + d);
    params.push_back(c.post_ops[i] == 2 ? 0.8f + d : 0.1f - d);
  }
  t.attr("group", c.group)
      .attr("strides", std::vector<int64_t>{c.stride, c.stride})
      .attr("dilations", std::vector<int64_t>{c.dilation, c.dilation})
      .attr("pads", std::vector<int64_t>{c.pad, c.pad, c.pad, c.pad})
      .attr("layout", std::string(c.nhwc ? "NHWC" : "NCHW"))
      .attr("post_ops", c.post_ops)
      .attr("post_op_params", params);
  if (algorithm != "auto") t.attr("algorithm", algorithm);
  Tensor x = random_tensor(Shape{c.n, c.cin, c.h, c.w}, seed);
  if (c.nhwc) x = to_nhwc(x);
  const Tensor w = random_tensor(Shape{c.cout, c.cin / c.group, c.kh, c.kw}, seed + 1);
  const Tensor b = random_tensor(Shape{c.cout}, seed + 2);
  const int64_t ekh = (c.kh - 1) * c.dilation + 1, ekw = (c.kw - 1) * c.dilation + 1;
  const int64_t oh = (c.h + 2 * c.pad - ekh) / c.stride + 1, ow = (c.w + 2 * c.pad - ekw) / c.stride + 1;
  const Tensor r = random_tensor(c.nhwc ? Shape{c.n, oh, ow, c.cout} : Shape{c.n, c.cout, oh, ow}, seed + 3);
  std::vector<const Tensor*> ins = {&x, &w, &b};
  if (residual) ins.push_back(&r);
  auto want = kernels::evaluate_node(*t.node, ins, "ref");
  ASSERT_TRUE(want.is_ok()) << want.status().to_string();
  auto got = kernels::evaluate_node(*t.node, ins, "onednn");
  if (!got.is_ok() && got.status().code() == StatusCode::unsupported &&
      (got.status().message().find("cpu GEMV") != std::string::npos ||
       got.status().message().find("cpu pointwise") != std::string::npos ||
       got.status().message().find("cpu panel") != std::string::npos)) {
    got = kernels::evaluate_node(*t.node, ins, "cpu");  // the backend a session tries next
  }
  if (!got.is_ok() && got.status().code() == StatusCode::unsupported) {
    // A declined case falls back to the reference kernel in a session; only known declines are allowed.
    EXPECT_NE(got.status().message().find("repeated post-op"), std::string::npos) << got.status().to_string();
    return;
  }
  ASSERT_TRUE(got.is_ok()) << got.status().to_string();
  if (scaled_tol > 0) {
    double peak = 0, worst = 0;
    const Tensor& gw = want.value()[0];
    const Tensor& gg = got.value()[0];
    for (int64_t i = 0; i < gw.numel(); ++i) peak = std::max(peak, std::fabs(static_cast<double>(gw.as<float>()[i])));
    for (int64_t i = 0; i < gw.numel(); ++i)
      worst = std::max(worst, std::fabs(static_cast<double>(gg.as<float>()[i]) - gw.as<float>()[i]));
    EXPECT_LE(worst, scaled_tol * std::max(1.0, peak)) << "max |reference| " << peak;
    return;
  }
  expect_close(got.value()[0], want.value()[0], 1e-4, 1e-4);
}

TEST(FusedConv, OnednnMatchesReference) {
  const std::vector<ConvCase> cases = {
      {1, 3, 17, 19, 8, 3, 3, 1, 2, 1, 1, false, {}},
      {1, 16, 12, 12, 16, 3, 3, 16, 1, 1, 1, true, {3, 4, 3}},  // depthwise, affine+hardswish+affine
      {2, 8, 9, 7, 12, 1, 1, 1, 1, 1, 0, true, {1}},
      {1, 8, 10, 10, 8, 3, 3, 2, 1, 2, 2, false, {7, 1}},       // grouped, dilated, residual then relu
      {1, 4, 6, 6, 4, 3, 3, 1, 1, 1, 1, true, {2, 5, 6}},       // clip, sigmoid, swish
      {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, false, {}},
      {1, 5, 8, 8, 10, 5, 5, 5, 2, 1, 2, true, {7}},
      // Shapes of the PP-OCRv4 recognizer's first layers (oneDNN picks brgemm kernels here).
      {1, 3, 48, 320, 16, 3, 3, 1, 2, 1, 1, true, {}},
      {1, 16, 24, 160, 16, 3, 3, 16, 1, 1, 1, true, {4, 3, 3}},
      {1, 16, 24, 160, 32, 1, 1, 1, 1, 1, 0, true, {4, 3, 3}},
      {1, 8, 10, 10, 8, 3, 3, 8, 1, 1, 1, true, {3, 2}},        // HardSigmoid = linear then clip
      {1, 8, 10, 10, 8, 3, 3, 1, 1, 1, 1, false, {3, 3, 3}},
  };
  for (size_t i = 0; i < cases.size(); ++i) run_case(cases[i], static_cast<uint32_t>(100 + i));
}

// 1x1 convolutions at 1x1 output (squeeze-excite blocks) for up to four images run on the cpu
// GEMV when their weights pass 192 KB: oneDNN declines them, the cpu kernel must take them and
// match the reference, with widths off the 64-column panel and every post-op; five images or
// smaller weights stay on oneDNN.
TEST(FusedConv, GemvMatchesReference) {
  const std::vector<ConvCase> cases = {
      {1, 960, 1, 1, 240, 1, 1, 1, 1, 1, 0, true, {1}},
      {1, 240, 1, 1, 960, 1, 1, 1, 1, 1, 0, true, {3, 2}},       // HardSigmoid
      {2, 300, 1, 1, 200, 1, 1, 1, 1, 1, 0, false, {7, 4}},      // residual then hardswish
      {3, 257, 1, 1, 193, 1, 1, 1, 2, 1, 0, true, {5, 6}},       // stride 2 at 1x1: same product
      {4, 4100, 1, 1, 13, 1, 1, 1, 1, 1, 0, false, {}},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    run_case(cases[i], static_cast<uint32_t>(400 + i));
    ConvCase c = cases[i];
    NodeUnderTest t("FusedConv", 3, 1, 1);
    t.node->domain = "edgepipe";
    t.attr("group", int64_t{1}).attr("strides", std::vector<int64_t>{1, 1}).attr("dilations", std::vector<int64_t>{1, 1})
        .attr("pads", std::vector<int64_t>{0, 0, 0, 0}).attr("layout", std::string("NHWC"))
        .attr("post_ops", std::vector<int64_t>{}).attr("post_op_params", std::vector<float>{});
    const Tensor x = random_tensor(Shape{c.n, 1, 1, c.cin}, 1), w = random_tensor(Shape{c.cout, c.cin, 1, 1}, 2),
                 b = random_tensor(Shape{c.cout}, 3);
    const std::vector<const Tensor*> ins = {&x, &w, &b};
    auto onednn = kernels::evaluate_node(*t.node, ins, "onednn");
    ASSERT_FALSE(onednn.is_ok());
    EXPECT_NE(onednn.status().message().find("cpu GEMV"), std::string::npos) << onednn.status().to_string();
    ASSERT_TRUE(kernels::evaluate_node(*t.node, ins, "cpu").is_ok());
  }
  run_case({5, 320, 1, 1, 160, 1, 1, 1, 1, 1, 0, true, {1}}, 410);  // five images: oneDNN
  run_case({1, 96, 1, 1, 384, 1, 1, 1, 1, 1, 0, true, {1}}, 411);   // weights in L2: oneDNN
}

// The FusedConv of case c's geometry with the one post-op `post_op` (NHWC, bias, no residual):
// on AVX-512 builds oneDNN declines it naming the cpu kernel a session runs instead
// (`kernel`, "cpu pointwise" or "cpu panel"); without AVX-512 oneDNN keeps it.
void expect_onednn_defers(const ConvCase& c, int64_t post_op, const char* kernel) {
  NodeUnderTest t("FusedConv", 3, 1, 1);
  t.node->domain = "edgepipe";
  t.attr("group", int64_t{1}).attr("strides", std::vector<int64_t>{c.stride, c.stride})
      .attr("dilations", std::vector<int64_t>{c.dilation, c.dilation})
      .attr("pads", std::vector<int64_t>{c.pad, c.pad, c.pad, c.pad}).attr("layout", std::string("NHWC"))
      .attr("post_ops", std::vector<int64_t>{post_op}).attr("post_op_params", std::vector<float>{0, 0});
  const Tensor x = random_tensor(Shape{c.n, c.h, c.w, c.cin}, 1),
               w = random_tensor(Shape{c.cout, c.cin, c.kh, c.kw}, 2), b = random_tensor(Shape{c.cout}, 3);
  const std::vector<const Tensor*> ins = {&x, &w, &b};
  auto onednn = kernels::evaluate_node(*t.node, ins, "onednn");
#if defined(__AVX512F__)
  ASSERT_FALSE(onednn.is_ok());
  EXPECT_NE(onednn.status().message().find(kernel), std::string::npos) << onednn.status().to_string();
#else
  (void)kernel;
  EXPECT_TRUE(onednn.is_ok()) << onednn.status().to_string();  // no AVX-512: oneDNN keeps them
#endif
}

// f32 1x1 stride-1 NHWC convolutions with a swish or sigmoid post-op and >= 32 input channels
// run on the cpu pointwise kernel (oneDNN declines them): output widths of 1 to 4 vectors,
// partial last vectors (24, 40, 72, 255), pixel counts off the tile (the zero-padded tail),
// two images, residuals before and after, every post-op kind; on one and two threads.
TEST(FusedConv, PointwiseMatchesReference) {
  const std::vector<ConvCase> cases = {
      {1, 32, 9, 9, 16, 1, 1, 1, 1, 1, 0, true, {6}},
      {1, 64, 11, 7, 24, 1, 1, 1, 1, 1, 0, true, {6, 7}},         // swish then residual
      {2, 48, 6, 9, 40, 1, 1, 1, 1, 1, 0, true, {7, 6}},          // residual then swish
      {1, 40, 13, 11, 64, 1, 1, 1, 1, 1, 0, true, {3, 5}},        // affine, sigmoid
      {1, 72, 9, 9, 72, 1, 1, 1, 1, 1, 0, true, {1, 6, 2}},       // relu, swish, clip
      {1, 128, 10, 10, 255, 1, 1, 1, 1, 1, 0, true, {4, 6, 7}},   // hardswish, swish, residual
      {1, 64, 48, 40, 96, 1, 1, 1, 1, 1, 0, true, {6}},           // large enough to split across threads
  };
  for (int threads : {1, 2}) {
    omp_set_num_threads(threads);
    for (size_t i = 0; i < cases.size(); ++i) {
      const ConvCase& c = cases[i];
      run_case(c, static_cast<uint32_t>(600 + i));
      // oneDNN declines exactly these, so the session runs them on the cpu kernel.
      expect_onednn_defers(c, 6, "cpu pointwise");
    }
  }
  omp_set_num_threads(1);
  // Fewer than 32 input channels, no swish or sigmoid, stride 2, or padding: oneDNN's.
  run_case({1, 16, 20, 20, 32, 1, 1, 1, 1, 1, 0, true, {6}}, 620);
  run_case({1, 64, 20, 20, 32, 1, 1, 1, 1, 1, 0, true, {1}}, 621);
  run_case({1, 64, 20, 20, 32, 1, 1, 1, 2, 1, 0, true, {6}}, 622);
  run_case({1, 64, 20, 20, 32, 1, 1, 1, 1, 1, 1, true, {6}}, 623);
}

// f32 NHWC convolutions with at most 64 output pixels run on the cpu panel kernel (oneDNN
// declines them): 1x1 and spatial kernels, strides, dilation, padding, two images, K past one
// 512-channel segment (partial sums carried in the output), panels of 1 to 4 vectors with a
// partial last one, pixel counts off the 7-row tile, output channels split unevenly into
// panels between two threads, every post-op kind; on one and two threads.
TEST(FusedConv, PanelMatchesReference) {
  const std::vector<ConvCase> cases = {
      {1, 256, 7, 7, 128, 1, 1, 1, 1, 1, 0, true, {7, 1}},        // ResNet-50's layer4 form: + R, relu
      {1, 600, 7, 7, 64, 1, 1, 1, 1, 1, 0, true, {1}},            // two K segments (512 + 88)
      {1, 64, 7, 7, 80, 3, 3, 1, 1, 1, 1, true, {7, 1}},          // 3x3 padded; a 16-column panel
      {1, 48, 14, 14, 40, 3, 3, 1, 2, 1, 1, true, {4}},           // stride 2, partial vector, hardswish
      {1, 32, 6, 6, 32, 3, 3, 1, 1, 2, 2, true, {5}},             // dilation 2, sigmoid
      {2, 96, 4, 4, 48, 1, 1, 1, 1, 1, 0, true, {6}},             // two images, swish
      {1, 128, 13, 13, 64, 1, 1, 1, 2, 1, 0, true, {3, 2}},       // 1x1 stride 2 (downsample), affine, clip
      {1, 70, 8, 8, 33, 3, 3, 1, 1, 1, 1, true, {2, 7}},          // 64 pixels, 33 channels
      {1, 256, 7, 7, 160, 1, 1, 1, 1, 1, 0, true, {1, 7}},        // 64 + 16 columns per thread
      {1, 96, 5, 5, 40, 3, 3, 1, 1, 1, 1, true, {7}},             // 48 + 16 per thread, the last masked
      {1, 512, 7, 7, 512, 3, 3, 1, 1, 1, 1, true, {7, 1}},        // ResNet-50's layer4 3x3, + R, relu
  };
  for (int threads : {1, 2}) {
    omp_set_num_threads(threads);
    for (size_t i = 0; i < cases.size(); ++i) {
      const ConvCase& c = cases[i];
      SCOPED_TRACE("case " + std::to_string(i) + ", threads " + std::to_string(threads));
      run_case(c, static_cast<uint32_t>(700 + i));
      expect_onednn_defers(c, 1, "cpu panel");
    }
  }
  omp_set_num_threads(1);
  // 65 pixels, a depth under 64, groups: oneDNN's.
  run_case({1, 64, 13, 5, 64, 1, 1, 1, 1, 1, 0, true, {1}}, 720);
  run_case({1, 7, 7, 7, 32, 3, 3, 1, 1, 1, 1, true, {1}}, 721);
  run_case({1, 64, 7, 7, 64, 3, 3, 2, 1, 1, 1, true, {1}}, 722);
}

// Kernels that add the residual as they store (oneDNN's sum post-op; the cpu pointwise kernel)
// say so, and then compute the same output whether it lands in a buffer of its own or over the
// residual itself (where the session puts it when nothing reads the residual afterwards).
TEST(FusedConv, ResidualMayBeOverwrittenByTheOutput) {
  struct Case {
    ConvCase c;
    const char* backend;
    bool overwrite;         // what the kernel must answer on an AVX-512 CPU
    bool overwrite_avx2;    // and on an AVX2 one: oneDNN's AVX2 kernels take a sum only as the
                            // first post-op, and it has no Winograd there (the direct kernel sums)
  };
  const std::vector<Case> cases = {
      {{1, 64, 14, 12, 96, 1, 1, 1, 1, 1, 0, true, {7, 1}}, "onednn", true, true},      // ResNet's conv3: + R, relu
      {{1, 32, 9, 11, 40, 1, 1, 1, 1, 1, 0, true, {1, 7, 3}}, "onednn", true, false},   // relu, + R, affine
      {{2, 8, 10, 10, 8, 3, 3, 2, 1, 1, 1, false, {7}}, "onednn", true, true},          // grouped, NCHW
      {{1, 48, 7, 9, 72, 1, 1, 1, 1, 1, 0, true, {6, 7}}, "cpu", true, true},           // pointwise: swish, + R
      {{1, 24, 16, 16, 24, 3, 3, 1, 1, 1, 1, true, {7, 1}}, "onednn", false, false},    // Winograd / nChw8c: adds after its copy
      {{1, 20, 9, 9, 12, 3, 3, 1, 1, 1, 1, true, {7}}, "onednn", true, true},           // channels off the 8-block: NHWC
  };
  uint32_t seed = 700;
  for (const Case& k : cases) {
    const ConvCase& c = k.c;
    SCOPED_TRACE(std::string(k.backend) + " seed " + std::to_string(seed));
    NodeUnderTest t("FusedConv", 4, 1, 1);
    t.node->domain = "edgepipe";
    std::vector<float> params;
    for (size_t i = 0; i < c.post_ops.size(); ++i) params.insert(params.end(), {0.7f, 0.1f});
    t.attr("group", c.group).attr("strides", std::vector<int64_t>{c.stride, c.stride})
        .attr("dilations", std::vector<int64_t>{1, 1}).attr("pads", std::vector<int64_t>{c.pad, c.pad, c.pad, c.pad})
        .attr("layout", std::string(c.nhwc ? "NHWC" : "NCHW")).attr("post_ops", c.post_ops).attr("post_op_params", params);
    Tensor x = random_tensor(Shape{c.n, c.cin, c.h, c.w}, seed++);
    if (c.nhwc) x = to_nhwc(x);
    const Tensor w = random_tensor(Shape{c.cout, c.cin / c.group, c.kh, c.kw}, seed++);
    const Tensor b = random_tensor(Shape{c.cout}, seed++);
    const int64_t oh = c.h + 2 * c.pad - c.kh + 1, ow = c.w + 2 * c.pad - c.kw + 1;
    const Tensor r = random_tensor(c.nhwc ? Shape{c.n, oh, ow, c.cout} : Shape{c.n, c.cout, oh, ow}, seed++);
    const std::vector<const Tensor*> ins = {&x, &w, &b, &r};
    auto want = kernels::evaluate_node(*t.node, ins, "ref");
    ASSERT_TRUE(want.is_ok()) << want.status().to_string();

    const kernels::KernelDef* def = kernels::find_kernel("FusedConv", "edgepipe", 1, k.backend);
    ASSERT_NE(def, nullptr);
    std::vector<kernels::TensorInfo> infos;
    for (const Tensor* in : ins) infos.push_back({in->dtype(), in->shape(), in});
    kernels::PrepareContext ctx(*t.node, infos);
    auto kernel = def->create();
    const Status prepared = kernel->prepare(ctx);
#if !defined(__AVX512F__)
    if (std::string(k.backend) == "cpu") {  // the pointwise kernel is AVX-512 code; oneDNN takes these
      EXPECT_FALSE(prepared.is_ok());
      continue;
    }
#endif
    ASSERT_TRUE(prepared.is_ok()) << prepared.to_string();
    const bool avx512 = kernels::onednn::isa_has(dnnl::cpu_isa::avx512_core);
    ASSERT_EQ(kernel->may_overwrite_input(3), avx512 ? k.overwrite : k.overwrite_avx2);
    EXPECT_FALSE(kernel->may_overwrite_input(0));
    Tensor scratch(DType::u8, Shape{static_cast<int64_t>(ctx.scratch_bytes()) + 1});
    for (bool in_place : {false, true}) {
      if (in_place && !kernel->may_overwrite_input(3)) continue;
      Tensor residual = r.clone();
      Tensor separate(DType::f32, r.shape());
      Tensor& out = in_place ? residual : separate;
      const std::vector<TensorView> in_views = {x.view(), w.view(), b.view(), residual.view()};
      std::vector<TensorView> out_views = {out.view()};
      ASSERT_TRUE(kernel->run({in_views, out_views, scratch.data()}).is_ok());
      SCOPED_TRACE(in_place ? "output over the residual" : "output in its own buffer");
      expect_close(out, want.value()[0], 1e-4, 1e-4);
      if (!in_place) expect_close(residual, r, 0, 0);  // the residual itself is left alone
    }
  }
}

// f32 3x3 stride-1 NHWC convolutions with >= 16 channels run as Winograd convolutions: with
// AVX-512, edgepipe's F(4x4,3x3) with its 16-channel input transform where Cin is a multiple
// of 16 and the 4x4 tiles waste at most 15% (20x20, 8x8, 30x30 with partial tiles, 80x80, the
// two residual cases), else edgepipe's F(2x2,3x3) where its tiles waste at most 15% (16x16
// with 24 channels, ResNet's 14x14), oneDNN's elsewhere, the post-ops applied by edgepipe on
// the way back to NHWC; the same cases with the direct algorithm. Channel counts off the 16-block, padding
// 0 and 1, two images, every post-op.
TEST(FusedConv, WinogradMatchesReference) {
  const std::vector<ConvCase> cases = {
      {1, 96, 20, 20, 24, 3, 3, 1, 1, 1, 1, true, {}},
      {2, 20, 13, 11, 17, 3, 3, 1, 1, 1, 1, true, {1}},
      {1, 16, 9, 12, 32, 3, 3, 1, 1, 1, 0, true, {7, 1}},         // residual then relu
      {1, 24, 16, 16, 24, 3, 3, 1, 1, 1, 1, true, {6, 7}},        // swish then residual
      {1, 32, 8, 8, 48, 3, 3, 1, 1, 1, 1, true, {3, 4, 2, 5}},    // affine, hardswish, clip, sigmoid
      {1, 64, 30, 30, 64, 3, 3, 1, 1, 1, 1, true, {1}},
      {1, 96, 80, 80, 24, 3, 3, 1, 1, 1, 1, true, {1}},           // large enough for F(4x4,3x3)
      {1, 32, 16, 20, 32, 3, 3, 1, 1, 1, 1, true, {7, 1}},        // residual then relu
      {2, 48, 12, 12, 16, 3, 3, 1, 1, 1, 1, true, {6, 7}},        // two images: swish then residual
      {1, 64, 14, 14, 48, 3, 3, 1, 1, 1, 1, true, {7, 1}},        // ResNet's 14x14: residual then relu
  };
  // oneDNN picks F(4x4,3x3) for the large case on one thread and F(2x2,3x3) on two. Without
  // AVX-512, ours (F(4x4,3x3)) takes the cases with channels in multiples of 8: its worst
  // error here is 6.8e-6 of the largest output (2.7e-4 at 39), so "auto" is held to 2e-5
  // of it; the direct algorithm to 1e-4 abs + rel per output.
  for (int threads : {1, 2}) {
    omp_set_num_threads(threads);
    for (const char* algorithm : {"auto", "direct"})
      for (size_t i = 0; i < cases.size(); ++i)
        run_case(cases[i], static_cast<uint32_t>(300 + i), algorithm, std::string(algorithm) == "auto" ? 2e-5 : 0);
  }
}

// Without AVX-512, spatial convolutions with channels in multiples of 8 run on nChw8c copies
// of the activations, the post-ops applied on the way back (with AVX-512 these take the NHWC
// kernels or Winograd): strides, non-square kernels, padding, two images, every post-op.
TEST(FusedConv, BlockedDirectMatchesReference) {
  const std::vector<ConvCase> cases = {
      {1, 16, 15, 13, 24, 3, 3, 1, 2, 1, 1, true, {6, 7}},        // stride 2: swish then residual
      {2, 8, 12, 12, 8, 5, 5, 1, 1, 1, 2, true, {1}},             // 5x5, two images
      {1, 32, 10, 9, 40, 1, 7, 1, 1, 1, 0, true, {3, 4}},         // 1x7: affine, hardswish
      {1, 64, 20, 20, 64, 3, 3, 1, 2, 1, 0, true, {2, 5}},        // stride 2 unpadded: clip, sigmoid
      {1, 24, 7, 7, 16, 3, 3, 1, 1, 1, 1, true, {7, 1}},          // residual then relu
  };
  for (int threads : {1, 2}) {
    omp_set_num_threads(threads);
    for (size_t i = 0; i < cases.size(); ++i) run_case(cases[i], static_cast<uint32_t>(350 + i), "auto");
  }
}

// Without AVX-512, 3x3 stride-1 convolutions with channels in multiples of 8 run on our
// Winograd (kernels/onednn/winograd.h), F(4x4, 3x3) for outputs of at least 8x8 and
// F(2x2, 3x3) from 4x4 to under 8x8, and stride-2 ones with 64 channels and 256 output
// pixels on its stride-2 form: output sizes that are not multiples of the tile (partial
// tiles), padding 0 and 1, two images, more tiles than one matmul chunk, every post-op and
// the residual.
TEST(FusedConv, WinogradTilesMatchReference) {
  const std::vector<ConvCase> cases = {
      {1, 16, 10, 9, 24, 3, 3, 1, 1, 1, 1, true, {6, 7}},   // 10x9: partial tiles; swish then residual
      {2, 32, 12, 12, 16, 3, 3, 1, 1, 1, 0, true, {1}},     // unpadded, two images
      {1, 16, 60, 58, 16, 3, 3, 1, 1, 1, 1, true, {3, 4}},  // 225 tiles: a chunk of 113 and a tail of 112
      {1, 24, 9, 17, 32, 3, 3, 1, 1, 1, 1, true, {7, 2, 5}},  // residual, clip, sigmoid
      // Outputs under 8x8: F(2x2, 3x3)
      {1, 32, 7, 7, 48, 3, 3, 1, 1, 1, 1, true, {7, 1}},     // ResNet's layer4 shape: residual, relu
      {2, 16, 5, 6, 24, 3, 3, 1, 1, 1, 1, true, {6}},        // odd rows: partial tiles, two images
      {1, 16, 8, 9, 16, 3, 3, 1, 1, 1, 0, true, {3, 4}},     // unpadded 6x7
      // Stride 2
      {1, 64, 33, 35, 64, 3, 3, 1, 2, 1, 1, true, {6, 7}},   // 17x18: partial tiles; swish then residual
      {2, 64, 34, 34, 72, 3, 3, 1, 2, 1, 0, true, {1}},      // unpadded 16x16, two images
      {2, 64, 64, 64, 64, 3, 3, 1, 2, 1, 1, true, {7, 5}},   // 64 tiles per image: chunk and tail, two workers
  };
  kernels::onednn_override_without_avx512(true);  // the AVX2 path on any CPU
  for (int threads : {1, 2}) {
    omp_set_num_threads(threads);
    for (size_t i = 0; i < cases.size(); ++i) run_case(cases[i], static_cast<uint32_t>(380 + i), "auto");
  }
  kernels::onednn_override_without_avx512(std::nullopt);
}

// 1x1 convolutions with swish or sigmoid on the AVX2 path go through ChunkedPointwise:
// chunks of 256 pixels at 160 output channels (full chunks and a tail, over two images),
// 320 at 128 (five chunks: two workers at 2 threads), every post-op kind after the costly one.
TEST(FusedConv, ChunkedPointwiseMatchesReference) {
  const std::vector<ConvCase> cases = {
      {1, 32, 20, 30, 160, 1, 1, 1, 1, 1, 0, true, {6, 7}},     // 600 pixels: 2 chunks + 88
      {2, 24, 15, 17, 160, 1, 1, 1, 1, 1, 0, true, {5}},        // 510 pixels across the images
      {1, 16, 40, 40, 128, 1, 1, 1, 1, 1, 0, true, {7, 2, 5}},  // residual, clip, sigmoid
      {1, 40, 16, 20, 48, 1, 1, 1, 1, 1, 0, true, {3, 6, 4}},   // linear, swish, hard swish
      {1, 24, 30, 41, 72, 1, 1, 1, 1, 1, 0, true, {4}},         // hard swish alone: 1230 pixels, 2 chunks + 94
      {1, 16, 24, 24, 48, 1, 1, 1, 1, 1, 0, true, {7, 4}},      // residual, then hard swish
  };
  kernels::onednn_override_without_avx512(true);  // the AVX2 path on any CPU
  for (int threads : {1, 2}) {
    omp_set_num_threads(threads);
    for (size_t i = 0; i < cases.size(); ++i) run_case(cases[i], static_cast<uint32_t>(420 + i), "auto");
  }
  omp_set_num_threads(1);
  kernels::onednn_override_without_avx512(std::nullopt);
}

// Spatial convolutions ending in swish, sigmoid or hard swish outside the nChw8c route (input
// channels not a multiple of 8) go through BandedConv on the AVX2 path: YOLOv5's stem shape
// (6x6 stride 2, pad 2) in bands of 10 rows with a 5-row tail that reaches the bottom padding,
// a 3x3 layer over two images (two workers at 2 threads) with the residual before a sigmoid,
// MobileNetV3's stem shape with hard swish (3x3 stride 2, bands of 45 and 11 rows), and a 5x5
// layer over two images with a clip, hard swish and linear chain (bands of 51, 51 and 18 rows
// each at 1 thread, 4 of 30 at 2; two rows of padding at the top and bottom).
TEST(FusedConv, BandedMatchesReference) {
  const std::vector<ConvCase> cases = {
      {1, 3, 130, 256, 32, 6, 6, 1, 2, 1, 2, true, {6}},       // 65x128 output: 6 bands of 10 + 5
      {2, 5, 64, 64, 64, 3, 3, 1, 1, 1, 1, true, {7, 5}},      // residual, sigmoid
      {1, 3, 112, 112, 16, 3, 3, 1, 2, 1, 1, true, {4}},       // hard swish
      {2, 12, 120, 40, 20, 5, 5, 1, 1, 1, 2, true, {2, 4, 3}},  // clip, hard swish, linear
  };
  kernels::onednn_override_without_avx512(true);  // the AVX2 path on any CPU
  for (int threads : {1, 2}) {
    omp_set_num_threads(threads);
    for (size_t i = 0; i < cases.size(); ++i) run_case(cases[i], static_cast<uint32_t>(440 + i), "auto");
  }
  omp_set_num_threads(1);
  kernels::onednn_override_without_avx512(std::nullopt);
}

// FusedConvTranspose: the reference against ONNX ConvTranspose's reference kernel (an
// independent implementation), then the fast kernel against the reference, in both layouts.
// NHWC with kernel = stride and at most 4 outputs per input pixel takes ShuffleConvT on
// AVX-512 (shuffle_convt.h): a DB detector head's 24 -> 1 (two chunks of 64 pixels and a
// tail, pixel groups of 4 with a partial last one), 3 channels (padded to 4), 1 -> 4 at 1x2.
// More outputs per pixel take oneDNN's 1x1 and a scatter, in bands of rows once the 1x1's
// output passes 512 KB (one band per image, two per image).
TEST(FusedConv, TransposedMatchesConvTransposeAndOnednn) {
  struct Case {
    int64_t cin, h, w, cout, k, group, stride, pad;
    int64_t n = 1;
  };
  const std::vector<Case> cases = {{24, 8, 8, 24, 2, 1, 2, 0},      {4, 5, 7, 6, 3, 2, 2, 1},
                                   {3, 4, 4, 1, 2, 1, 2, 0},        {6, 3, 5, 3, 3, 3, 1, 1},
                                   {24, 3, 131, 1, 2, 1, 2, 0},     {1, 2, 5, 4, 1, 1, 1, 0},
                                   {24, 20, 48, 24, 2, 1, 2, 0, 2}, {16, 36, 64, 24, 2, 1, 2, 0, 2}};
  uint32_t seed = 500;
  for (const Case& c : cases) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    const Tensor x = random_tensor(Shape{c.n, c.cin, c.h, c.w}, seed++);
    const Tensor w = random_tensor(Shape{c.cin, c.cout / c.group, c.k, c.k}, seed++);
    const Tensor b = random_tensor(Shape{c.cout}, seed++);
    NodeUnderTest onnx("ConvTranspose", 3);
    onnx.attr("group", c.group).attr("strides", std::vector<int64_t>{c.stride, c.stride})
        .attr("pads", std::vector<int64_t>{c.pad, c.pad, c.pad, c.pad});
    auto want = onnx.run({&x, &w, &b});
    ASSERT_TRUE(want.is_ok()) << want.status().to_string();
    for (bool nhwc : {false, true}) {
      NodeUnderTest t("FusedConvTranspose", 3, 1, 1);
      t.node->domain = "edgepipe";
      t.attr("group", c.group).attr("strides", std::vector<int64_t>{c.stride, c.stride})
          .attr("pads", std::vector<int64_t>{c.pad, c.pad, c.pad, c.pad}).attr("layout", std::string(nhwc ? "NHWC" : "NCHW"))
          .attr("post_ops", std::vector<int64_t>{1}).attr("post_op_params", std::vector<float>{0.f, 0.f});
      const Tensor xin = nhwc ? to_nhwc(x) : x.clone();
      const std::vector<const Tensor*> ins = {&xin, &w, &b};
      auto ref = kernels::evaluate_node(*t.node, ins, "ref");
      ASSERT_TRUE(ref.is_ok()) << ref.status().to_string();
      Tensor relu = want.value()[0].clone();
      for (int64_t i = 0; i < relu.numel(); ++i) relu.as<float>()[i] = std::max(relu.as<float>()[i], 0.f);
      expect_close(ref.value()[0], nhwc ? to_nhwc(relu) : std::move(relu), 1e-4, 1e-4);
      auto fast = kernels::evaluate_node(*t.node, ins, "onednn");
      ASSERT_TRUE(fast.is_ok()) << fast.status().to_string();
      expect_close(fast.value()[0], ref.value()[0], 1e-4, 1e-4);
    }
  }
}

TEST(FusedConv, RejectsBadAttributes) {
  NodeUnderTest t("FusedConv", 3, 1, 1);
  t.node->domain = "edgepipe";
  t.attr("group", int64_t{3});
  const Tensor x = random_tensor(Shape{1, 4, 5, 5}, 1);
  const Tensor w = random_tensor(Shape{4, 4, 3, 3}, 2);
  const Tensor b = random_tensor(Shape{4}, 3);
  auto out = t.run({&x, &w, &b});
  ASSERT_FALSE(out.is_ok());
  EXPECT_NE(out.status().message().find("group 3"), std::string::npos) << out.status().message();
}

}  // namespace
}  // namespace ep::testing

namespace ep::testing {
namespace {

// A 1x1 FusedConv then a 3x3 depthwise FusedConv reading its output, NHWC.
struct PairCase {
  int64_t cin, c, h, w, stride;
  std::vector<int64_t> pw_ops, dw_ops;
  bool dw_bias;
  int64_t k = 3;  // depthwise kernel, padding k / 2
  int64_t n = 1;  // images
};

void pair_attrs(NodeUnderTest& t, const std::string& prefix, int64_t group, int64_t stride, int64_t pad,
                const std::vector<int64_t>& ops) {
  std::vector<float> params;
  for (int64_t k : ops) {  // clip to [0, 6] (ReLU6), linear 0.5x + 0.25
    params.push_back(k == 2 ? 0.f : 0.5f);
    params.push_back(k == 2 ? 6.f : 0.25f);
  }
  t.attr(prefix + "group", group)
      .attr(prefix + "strides", std::vector<int64_t>{stride, stride})
      .attr(prefix + "dilations", std::vector<int64_t>{1, 1})
      .attr(prefix + "pads", std::vector<int64_t>{pad, pad, pad, pad})
      .attr(prefix + "layout", std::string("NHWC"))
      .attr(prefix + "post_ops", ops)
      .attr(prefix + "post_op_params", params);
}

struct PairTensors {
  Tensor x, w, b, wd, bd;
};

PairTensors pair_tensors(const PairCase& c, uint32_t seed) {
  return {random_tensor(Shape{c.n, c.h, c.w, c.cin}, seed), random_tensor(Shape{c.c, c.cin, 1, 1}, seed + 1),
          random_tensor(Shape{c.c}, seed + 2), random_tensor(Shape{c.c, 1, c.k, c.k}, seed + 3),
          random_tensor(Shape{c.c}, seed + 4)};
}

// The oracle: the two reference FusedConvs in turn.
Tensor pair_reference(const PairCase& c, const PairTensors& t) {
  NodeUnderTest pw("FusedConv", 3, 1, 1), dw("FusedConv", c.dw_bias ? 3 : 2, 1, 1);
  pw.node->domain = dw.node->domain = "edgepipe";
  pair_attrs(pw, "", 1, 1, 0, c.pw_ops);
  pair_attrs(dw, "", c.c, c.stride, c.k / 2, c.dw_ops);
  auto mid = kernels::evaluate_node(*pw.node, std::vector<const Tensor*>{&t.x, &t.w, &t.b}, "ref");
  EXPECT_TRUE(mid.is_ok()) << mid.status().to_string();
  std::vector<const Tensor*> dw_in = {&mid.value()[0], &t.wd};
  if (c.dw_bias) dw_in.push_back(&t.bd);
  auto y = kernels::evaluate_node(*dw.node, dw_in, "ref");
  EXPECT_TRUE(y.is_ok()) << y.status().to_string();
  return std::move(y.value()[0]);
}

const std::vector<PairCase>& pair_cases() {
  static const std::vector<PairCase> cases = {
      // Several bands each (~256 KB of expanded rows per band), and a few small ones.
      {16, 64, 80, 78, 2, {1}, {1}, true},     // MobileNetV3's features.2 form
      {16, 64, 75, 73, 1, {2}, {2}, false},    // ReLU6 both sides (MobileNetV2), no depthwise bias
      {8, 24, 128, 120, 2, {}, {3}, true},     // no chain before, an affine after
      {24, 72, 14, 14, 1, {1}, {1}, true},     // one band
      {6, 40, 60, 50, 1, {4}, {4, 3}, true},   // hard swish: applied to each band in cache
      {5, 12, 7, 9, 2, {3, 1}, {}, true},      // odd sizes
      {8, 48, 40, 36, 2, {1}, {4}, true, 5},   // 5x5 stride 2 (MobileNetV3's features.4)
      {8, 48, 41, 36, 1, {4}, {1}, true, 5},   // 5x5 stride 1
      {16, 64, 40, 38, 2, {1}, {1}, true, 3, 3},  // three images
  };
  return cases;
}

// edgepipe.FusedConvDepthwise means the two FusedConvs in turn: its reference kernel gives
// exactly their result, the fast kernel (one oneDNN primitive, or the pair composed) gives
// it within f32 rounding.
TEST(FusedConvDepthwise, MatchesTheTwoConvolutions) {
  uint32_t seed = 900;
  for (const PairCase& c : pair_cases()) {
    SCOPED_TRACE("cin " + std::to_string(c.cin) + " c " + std::to_string(c.c) + " stride " + std::to_string(c.stride));
    const PairTensors t = pair_tensors(c, seed += 10);
    const Tensor want = pair_reference(c, t);
    NodeUnderTest fused("FusedConvDepthwise", c.dw_bias ? 5 : 4, 1, 1);
    fused.node->domain = "edgepipe";
    pair_attrs(fused, "", 1, 1, 0, c.pw_ops);
    pair_attrs(fused, "dw_", c.c, c.stride, c.k / 2, c.dw_ops);
    std::vector<const Tensor*> ins = {&t.x, &t.w, &t.b, &t.wd};
    if (c.dw_bias) ins.push_back(&t.bd);
    auto ref = kernels::evaluate_node(*fused.node, ins, "ref");
    ASSERT_TRUE(ref.is_ok()) << ref.status().to_string();
    expect_close(ref.value()[0], want, 0, 0);
    auto fast = kernels::evaluate_node(*fused.node, ins, "onednn");
    ASSERT_TRUE(fast.is_ok()) << fast.status().to_string();
    expect_close(fast.value()[0], want, 1e-5, 1e-5);
  }
}

// The banded pair itself (onednn/pointwise_depthwise.h) at 1 and 2 threads, on every case
// with a band size that splits the image into several bands (and parts).
TEST(FusedConvDepthwise, BandsMatchTheTwoConvolutions) {
  const int threads = omp_get_max_threads();
  uint32_t seed = 950;
  for (int t : {1, 2}) {
    omp_set_num_threads(t);
    for (const PairCase& c : pair_cases()) {
      SCOPED_TRACE("threads " + std::to_string(t) + " cin " + std::to_string(c.cin) + " c " + std::to_string(c.c) +
                   " stride " + std::to_string(c.stride));
      const PairTensors tensors = pair_tensors(c, seed += 10);
      auto params = [](const std::vector<int64_t>& ops) {
        std::vector<kernels::PostOp> r;
        for (int64_t k : ops)
          r.push_back(k == 2 ? kernels::PostOp{kernels::PostOpKind::clip, 0.f, 6.f}
                             : kernels::PostOp{static_cast<kernels::PostOpKind>(k), 0.5f, 0.25f});
        return r;
      };
      kernels::FusedConvParams pw, dw;
      pw.nhwc = dw.nhwc = true;
      pw.n = dw.n = c.n;
      pw.cin = c.cin, pw.h = pw.oh = dw.h = c.h, pw.w = pw.ow = dw.w = c.w, pw.cout = dw.cin = dw.cout = c.c;
      pw.kh = pw.kw = 1;
      pw.post_ops = params(c.pw_ops);
      dw.group = c.c, dw.kh = dw.kw = c.k;
      dw.stride[0] = dw.stride[1] = c.stride;
      for (int i = 0; i < 2; ++i) dw.pad_begin[i] = dw.pad_end[i] = c.k / 2;
      dw.oh = (c.h + 2 * (c.k / 2) - c.k) / c.stride + 1, dw.ow = (c.w + 2 * (c.k / 2) - c.k) / c.stride + 1;
      dw.post_ops = params(c.dw_ops);
      ASSERT_TRUE(kernels::PointwiseDepthwise::supports(pw, dw));
      kernels::PointwiseDepthwise p;
      const size_t bytes = p.prepare(pw, dw, tensors.w.as<float>(), tensors.b.as<float>(), tensors.wd.as<float>(),
                                     c.dw_bias ? tensors.bd.as<float>() : nullptr);
      EXPECT_EQ(p.workers(), std::min<int64_t>(t, c.n * std::max<int64_t>(1, std::min<int64_t>((t + c.n - 1) / c.n, dw.oh))));
      const Tensor want = pair_reference(c, tensors);
      Tensor got(DType::f32, want.shape());
      Tensor scratch(DType::u8, Shape{static_cast<int64_t>(std::max<size_t>(bytes, 64))});
      p.run(tensors.x.as<float>(), got.as<float>(), scratch.data());
      expect_close(got, want, 1e-5, 1e-5);
    }
  }
  omp_set_num_threads(threads);
}

}  // namespace
}  // namespace ep::testing
