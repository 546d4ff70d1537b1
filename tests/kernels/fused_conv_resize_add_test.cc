// edgepipe.FusedConvResizeAdd: byte for byte the FusedConv (onednn backend) and then the
// ResizeAdd (cpu) it stands for, in PointwiseInt8's epilogue where that takes the convolution.
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

// NHWC int8 1x1 convolutions with f32 outputs (96 and 32 channels, Cin on and off 4, pixel
// counts off the 4- and 8-pixel tiles), their ResizeAdd upsampling by scales (2x) and by sizes
// (7x13 from 4x7, half_pixel), quantized (u8, i8) or not, with and without A_scale, at one
// and two threads.
TEST(FusedConvResizeAdd, IsTheConvolutionThenTheResizeAdd) {
  struct Case {
    int64_t cin, cout, h, w, xh, xw;
    bool by_sizes, quantized, scaled;
    DType q;
    bool fast;  // PointwiseInt8 takes it (on AVX512-VNNI): else the parts run in turn
  };
  const std::vector<Case> cases = {
      {12, 96, 8, 10, 4, 5, false, true, true, DType::u8, true},
      {18, 96, 7, 13, 4, 7, true, true, true, DType::u8, true},
      {16, 32, 7, 13, 4, 7, true, true, false, DType::i8, true},
      {20, 96, 8, 10, 4, 5, false, false, true, DType::u8, true},
      // Pixels after the whole tiles (3 of 91, 1 of 65), the tensor's last with Cin off 4.
      {46, 96, 7, 13, 4, 7, true, false, true, DType::u8, true},
      {38, 32, 5, 13, 3, 7, true, true, true, DType::i8, true},
      {44, 64, 6, 6, 3, 3, false, false, false, DType::u8, false},  // 36 pixels: too few
  };
  uint32_t seed = 4100;
  int fused = 0;
  for (int threads : {1, 2})
    for (const Case& c : cases) {
      SCOPED_TRACE("cin " + std::to_string(c.cin) + " cout " + std::to_string(c.cout) + " threads " +
                   std::to_string(threads));
      omp_set_num_threads(threads);
      const Tensor x = random_bytes(DType::u8, Shape{1, c.h, c.w, c.cin}, seed++);
      Tensor w = random_bytes(DType::i8, Shape{c.cout, c.cin, 1, 1}, seed++);
      const Tensor b = random_tensor(Shape{c.cout}, seed++);
      const Tensor rx = random_tensor(Shape{1, c.xh, c.xw, c.cout}, seed++, -2.f, 2.f);
      const Tensor roi(DType::f32, Shape{0});
      const Tensor scales = c.by_sizes ? Tensor(DType::f32, Shape{0}) : Tensor::from_vector<float>(Shape{4}, {1, 2, 2, 1});
      const Tensor sizes = Tensor::from_vector<int64_t>(Shape{4}, {1, c.h, c.w, c.cout});
      const Tensor y_scale = Tensor::from_vector<float>(Shape{}, {0.03f});
      Tensor y_zero(c.q, Shape{});
      static_cast<uint8_t*>(y_zero.data())[0] = c.q == DType::u8 ? 120 : static_cast<uint8_t>(int8_t{-7});
      const Tensor a_scale = random_tensor(Shape{1, 1, 1, c.cout}, seed++, 0.f, 1.f);
      std::vector<float> w_scales(static_cast<size_t>(c.cout));
      std::mt19937 rng(seed++);
      for (float& s : w_scales) s = 0.001f + 0.002f * static_cast<float>(rng() % 100) / 100.f;

      auto conv_attrs = [&](NodeUnderTest& t) {
        t.node->domain = "edgepipe";
        t.attr("group", int64_t{1}).attr("strides", std::vector<int64_t>{1, 1})
            .attr("dilations", std::vector<int64_t>{1, 1}).attr("pads", std::vector<int64_t>{0, 0, 0, 0})
            .attr("layout", std::string("NHWC")).attr("post_ops", std::vector<int64_t>{})
            .attr("post_op_params", std::vector<float>{}).attr("precision", std::string("int8"))
            .attr("output_dtype", std::string("f32")).attr("x_scale", 0.02f).attr("x_zero_point", int64_t{131})
            .attr("w_scales", w_scales);
      };
      const char* ctm = c.by_sizes ? "half_pixel" : "asymmetric";
      const char* mode = c.by_sizes ? "round_prefer_floor" : "floor";
      std::vector<const Tensor*> tail = {&rx, &roi, &scales, c.by_sizes ? &sizes : nullptr};
      if (c.quantized || c.scaled) {
        tail.push_back(c.quantized ? &y_scale : nullptr);
        tail.push_back(c.quantized ? &y_zero : nullptr);
      }
      if (c.scaled) tail.push_back(&a_scale);

      // The two parts.
      NodeUnderTest conv("FusedConv", 3, 1, 1);
      conv_attrs(conv);
      const std::vector<const Tensor*> conv_in = {&x, &w, &b};
      auto a = kernels::evaluate_node(*conv.node, conv_in, "onednn");
      ASSERT_TRUE(a.is_ok()) << a.status().to_string();
      std::vector<const Tensor*> add_in = {&a.value()[0]};
      add_in.insert(add_in.end(), tail.begin(), tail.end());
      NodeUnderTest add("ResizeAdd", add_in.size(), 1, 1);
      add.node->domain = "edgepipe";
      add.attr("mode", std::string("nearest")).attr("coordinate_transformation_mode", std::string(ctm))
          .attr("nearest_mode", std::string(mode));
      auto want = kernels::evaluate_node(*add.node, add_in, "cpu");
      ASSERT_TRUE(want.is_ok()) << want.status().to_string();

      // The fused node.
      std::vector<const Tensor*> ins = conv_in;
      ins.insert(ins.end(), tail.begin(), tail.end());
      NodeUnderTest f(kernels::kFusedConvResizeAddOp, ins.size(), 1, 1);
      conv_attrs(f);
      f.attr("resize_mode", std::string("nearest")).attr("resize_coordinate_transformation_mode", std::string(ctm))
          .attr("resize_nearest_mode", std::string(mode));
      const std::string impl = implementation_of(*f.node, ins);
      if (kernels::onednn_has_vnni() && !kernels::onednn_without_avx512()) {
        EXPECT_EQ(impl == "edgepipe:pointwise_int8 + resize_add", c.fast) << impl;
      }
      fused += impl == "edgepipe:pointwise_int8 + resize_add";
      auto got = kernels::evaluate_node(*f.node, ins, "onednn");
      ASSERT_TRUE(got.is_ok()) << got.status().to_string();
      const Tensor& g = got.value()[0];
      const Tensor& e = want.value()[0];
      ASSERT_EQ(g.dtype(), e.dtype());
      ASSERT_EQ(g.shape(), e.shape());
      EXPECT_EQ(std::memcmp(g.data(), e.data(), static_cast<size_t>(e.nbytes())), 0);
    }
  omp_set_num_threads(1);
  if (kernels::onednn_has_vnni()) {
    EXPECT_GT(fused, 0);
  }
}

}  // namespace
}  // namespace ep
