// edgepipe.FusedConvScaleAdd: byte for byte the FusedConv (onednn backend) and then the
// quantized ScaleAdd it stands for, in the store of WinogradInt16 or NarrowInt8Conv where
// they take the convolution. edgepipe.WindowMeans: each tap's mean input against the sums
// taken from its definition.
#include <gtest/gtest.h>
#include <omp.h>

#include <cstring>
#include <random>

#include "kernel_test_util.h"
#include "kernels/fused_conv.h"
#include "kernels/onednn/onednn_kernels.h"

namespace ep {
namespace {

using testing::NodeUnderTest;
using testing::implementation_of;
using testing::random_bytes;
using testing::random_tensor;

// 3x3 pads-1 int8 convolutions with f32 outputs: WinogradInt16's shapes (64+ wide: 17-24
// output channels, even Cin from 16, two images, a width off the 4x4 tiles), NarrowInt8Conv's
// (narrower, Cin on and off 4), and 32 output channels (neither: the parts in turn); u8 and i8
// quantized sums, at one and two threads.
TEST(FusedConvScaleAdd, IsTheConvolutionThenTheScaleAdd) {
  struct Case {
    int64_t n, cin, cout, h, w;
    DType q;
    const char* impl;  // on AVX512-VNNI with VBMI
  };
  const std::vector<Case> cases = {
      {1, 16, 24, 16, 128, DType::u8, "edgepipe:winograd_int16 + scale_add"},
      {2, 18, 17, 17, 130, DType::i8, "edgepipe:winograd_int16 + scale_add"},
      {1, 16, 24, 16, 64, DType::u8, "edgepipe:winograd_int16 + scale_add"},
      {1, 32, 24, 9, 20, DType::u8, "edgepipe:narrow_int8 + scale_add"},
      {1, 20, 19, 5, 37, DType::i8, "edgepipe:narrow_int8 + scale_add"},
      {1, 16, 32, 6, 7, DType::u8, nullptr},
  };
  uint32_t seed = 5200;
  int fused = 0;
  // With AMX (forced here, so any CPU checks the choice) oneDNN takes the convolution and the
  // parts run in turn (onednn_has_amx()).
  for (bool amx : {false, true}) {
    for (int threads : {1, 2}) {
      for (const Case& c : cases) {
        SCOPED_TRACE("cin " + std::to_string(c.cin) + " cout " + std::to_string(c.cout) + " " + std::to_string(c.h) +
                     "x" + std::to_string(c.w) + " threads " + std::to_string(threads) + (amx ? " AMX" : ""));
        const kernels::ScopedAmxOverride amx_scope(amx);
        omp_set_num_threads(threads);
        const Tensor x = random_bytes(DType::u8, Shape{c.n, c.h, c.w, c.cin}, seed++);
        const Tensor w = random_bytes(DType::i8, Shape{c.cout, c.cin, 3, 3}, seed++);
        const Tensor b = random_tensor(Shape{c.cout}, seed++);
        const Tensor s = random_tensor(Shape{1, 1, 1, c.cout}, seed++, 0.f, 1.f);
        const Tensor y_scale = Tensor::from_vector<float>(Shape{}, {0.07f});
        Tensor y_zero(c.q, Shape{});
        static_cast<uint8_t*>(y_zero.data())[0] = c.q == DType::u8 ? 120 : static_cast<uint8_t>(int8_t{-7});
        std::vector<float> w_scales(static_cast<size_t>(c.cout));
        std::mt19937 rng(seed++);
        for (float& v : w_scales) v = 0.0005f + 0.001f * static_cast<float>(rng() % 100) / 100.f;
        auto conv_attrs = [&](NodeUnderTest& t) {
          t.node->domain = "edgepipe";
          t.attr("group", int64_t{1}).attr("strides", std::vector<int64_t>{1, 1})
              .attr("dilations", std::vector<int64_t>{1, 1}).attr("pads", std::vector<int64_t>{1, 1, 1, 1})
              .attr("layout", std::string("NHWC")).attr("post_ops", std::vector<int64_t>{})
              .attr("post_op_params", std::vector<float>{}).attr("precision", std::string("int8"))
              .attr("output_dtype", std::string("f32")).attr("x_scale", 0.02f).attr("x_zero_point", int64_t{131})
              .attr("w_scales", w_scales);
        };

        // The two parts.
        NodeUnderTest conv("FusedConv", 3, 1, 1);
        conv_attrs(conv);
        const std::vector<const Tensor*> conv_in = {&x, &w, &b};
        auto a = kernels::evaluate_node(*conv.node, conv_in, "onednn");
        ASSERT_TRUE(a.is_ok()) << a.status().to_string();
        const std::vector<const Tensor*> add_in = {&a.value()[0], &s, &y_scale, &y_zero};
        NodeUnderTest add("ScaleAdd", 4, 1, 1);
        add.node->domain = "edgepipe";
        auto want = kernels::evaluate_node(*add.node, add_in, "ref");
        ASSERT_TRUE(want.is_ok()) << want.status().to_string();

        // The fused node.
        const std::vector<const Tensor*> ins = {&x, &w, &b, &s, &y_scale, &y_zero};
        NodeUnderTest f(kernels::kFusedConvScaleAddOp, ins.size(), 1, 1);
        conv_attrs(f);
        const std::string impl = implementation_of(*f.node, ins);
        if (kernels::onednn_has_vnni() && !kernels::onednn_without_avx512()) {
          if (c.impl && !amx) {
            EXPECT_EQ(impl, c.impl);
          } else {
            EXPECT_EQ(impl.find(" + scale_add"), std::string::npos) << impl;
          }
        }
        fused += impl.find(" + scale_add") != std::string::npos;
        auto got = kernels::evaluate_node(*f.node, ins, "onednn");
        ASSERT_TRUE(got.is_ok()) << got.status().to_string();
        const Tensor& g = got.value()[0];
        const Tensor& e = want.value()[0];
        ASSERT_EQ(g.dtype(), e.dtype());
        ASSERT_EQ(g.shape(), e.shape());
        EXPECT_EQ(std::memcmp(g.data(), e.data(), static_cast<size_t>(e.nbytes())), 0);
      }
    }
  }
  omp_set_num_threads(1);
  if (kernels::onednn_has_vnni()) {
    EXPECT_GT(fused, 0);
  }
}

// Kernels 1x1 to 5x5 (and 2x3), pads from none to kernel - 1 on each side, two images, channel
// counts on and off the 32-channel vectors: within float rounding of the means summed in double
// from the definition (the padding's reads count as the zero point, dequantized to 0).
TEST(WindowMeans, IsEachTapsMeanInput) {
  struct Case {
    int64_t n, h, w, c, kh, kw;
    std::vector<int64_t> pads;
  };
  const std::vector<Case> cases = {
      {2, 7, 9, 20, 3, 3, {1, 1, 1, 1}}, {1, 16, 12, 96, 3, 3, {1, 1, 1, 1}}, {1, 6, 11, 48, 5, 5, {2, 2, 2, 2}},
      {1, 5, 5, 33, 2, 3, {0, 1, 1, 0}}, {2, 4, 6, 1, 1, 1, {0, 0, 0, 0}},   {1, 9, 8, 64, 3, 3, {0, 2, 1, 0}},
      {1, 6, 7, 16, 5, 5, {4, 0, 0, 4}},
  };
  uint32_t seed = 5300;
  const float x_scale = 0.037f;
  const uint8_t zero = 101;
  for (const Case& k : cases) {
    SCOPED_TRACE(std::to_string(k.kh) + "x" + std::to_string(k.kw) + " c " + std::to_string(k.c));
    const Tensor x = random_bytes(DType::u8, Shape{k.n, k.h, k.w, k.c}, seed++);
    const Tensor s = Tensor::from_vector<float>(Shape{}, {x_scale});
    const Tensor z = Tensor::from_vector<uint8_t>(Shape{}, {zero});
    NodeUnderTest t("WindowMeans", 3, 1, 1);
    t.node->domain = "edgepipe";
    t.attr("kernel_shape", std::vector<int64_t>{k.kh, k.kw}).attr("pads", k.pads);
    const std::vector<const Tensor*> ins = {&x, &s, &z};
    auto got = kernels::evaluate_node(*t.node, ins, "cpu");
    ASSERT_TRUE(got.is_ok()) << got.status().to_string();
    const Tensor& y = got.value()[0];
    const int64_t oh = k.h + k.pads[0] + k.pads[2] - k.kh + 1, ow = k.w + k.pads[1] + k.pads[3] - k.kw + 1;
    ASSERT_EQ(y.shape(), (Shape{k.n, 1, 1, k.kh * k.kw * k.c}));
    const uint8_t* xv = x.as<uint8_t>();
    for (int64_t n = 0; n < k.n; ++n)
      for (int64_t ky = 0; ky < k.kh; ++ky)
        for (int64_t kx = 0; kx < k.kw; ++kx)
          for (int64_t c = 0; c < k.c; ++c) {
            double sum = 0;
            for (int64_t oy = 0; oy < oh; ++oy)
              for (int64_t ox = 0; ox < ow; ++ox) {
                const int64_t iy = oy + ky - k.pads[0], ix = ox + kx - k.pads[1];
                if (iy < 0 || iy >= k.h || ix < 0 || ix >= k.w) continue;
                sum += (static_cast<double>(xv[((n * k.h + iy) * k.w + ix) * k.c + c]) - zero) * x_scale;
              }
            const double want = sum / static_cast<double>(oh * ow);
            const float g = y.as<float>()[(n * k.kh * k.kw + ky * k.kw + kx) * k.c + c];
            ASSERT_NEAR(g, want, 1e-6 * std::max(1.0, std::fabs(want))) << "tap " << ky << "," << kx << " channel " << c;
          }
  }
}

}  // namespace
}  // namespace ep
