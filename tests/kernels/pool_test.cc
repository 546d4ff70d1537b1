// Pooling ops against plain window loops, and the ONNX spec examples for ceil_mode,
// count_include_pad and storage_order.
#include <limits>
#include <string>
#include <vector>

#include "kernel_test_util.h"

namespace ep::testing {
namespace {

int64_t rnd(std::mt19937& r, int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(r); }

// 2-D pooling oracle over one (N*C) plane set; mode 0 max, 1 average.
Tensor pool2d(const Tensor& x, int mode, std::vector<int64_t> k, std::vector<int64_t> s, std::vector<int64_t> d,
              std::vector<int64_t> pads, bool ceil_mode, bool include_pad) {
  const int64_t planes = x.shape()[0] * x.shape()[1], h = x.shape()[2], w = x.shape()[3];
  const int64_t in[2] = {h, w};
  int64_t out[2];
  for (int i = 0; i < 2; ++i) {
    const int64_t span = in[i] + pads[i] + pads[i + 2] - ((k[i] - 1) * d[i] + 1);
    out[i] = (ceil_mode ? (span + s[i] - 1) / s[i] : span / s[i]) + 1;
    if (ceil_mode && (out[i] - 1) * s[i] >= in[i] + pads[i]) --out[i];
  }
  Tensor y(DType::f32, Shape{x.shape()[0], x.shape()[1], out[0], out[1]});
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t oh = 0; oh < out[0]; ++oh)
      for (int64_t ow = 0; ow < out[1]; ++ow) {
        double best = -std::numeric_limits<double>::infinity(), sum = 0;
        int64_t count = 0;
        for (int64_t kh = 0; kh < k[0]; ++kh)
          for (int64_t kw = 0; kw < k[1]; ++kw) {
            const int64_t ih = oh * s[0] - pads[0] + kh * d[0], iw = ow * s[1] - pads[1] + kw * d[1];
            const bool in_pads = ih < h + pads[2] && iw < w + pads[3];  // not past the end padding
            if (ih < 0 || ih >= h || iw < 0 || iw >= w) {
              if (include_pad && in_pads) ++count;
              continue;
            }
            const double v = x.as<float>()[(p * h + ih) * w + iw];
            best = std::max(best, v);
            sum += v;
            ++count;
          }
        y.as<float>()[(p * out[0] + oh) * out[1] + ow] = static_cast<float>(mode == 0 ? best : sum / count);
      }
  return y;
}

TEST(RefPool, MaxAndAverageMatchLoopOracle) {
  for (uint32_t seed = 1; seed <= 120; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 r(seed);
    const int mode = static_cast<int>(rnd(r, 0, 1));
    std::vector<int64_t> k = {rnd(r, 1, 3), rnd(r, 1, 3)}, s = {rnd(r, 1, 3), rnd(r, 1, 3)};
    std::vector<int64_t> d = mode == 0 ? std::vector<int64_t>{rnd(r, 1, 2), rnd(r, 1, 2)} : std::vector<int64_t>{1, 1};
    std::vector<int64_t> pads = {rnd(r, 0, k[0] - 1), rnd(r, 0, k[1] - 1), rnd(r, 0, k[0] - 1), rnd(r, 0, k[1] - 1)};
    const bool ceil_mode = rnd(r, 0, 1) == 1, include_pad = rnd(r, 0, 1) == 1;
    const Tensor x = random_tensor(Shape{rnd(r, 1, 2), rnd(r, 1, 3), (k[0] - 1) * d[0] + rnd(r, 1, 6),
                                         (k[1] - 1) * d[1] + rnd(r, 1, 6)}, seed);
    NodeUnderTest t(mode == 0 ? "MaxPool" : "AveragePool", 1);
    t.attr("kernel_shape", k).attr("strides", s).attr("pads", pads).attr("ceil_mode", int64_t{ceil_mode});
    if (mode == 0) t.attr("dilations", d);
    else t.attr("count_include_pad", int64_t{include_pad});
    auto out = t.run({&x});
    ASSERT_TRUE(out.is_ok()) << out.status().to_string();
    expect_close(out.value()[0], pool2d(x, mode, k, s, d, pads, ceil_mode, include_pad));
  }
}

// ONNX example maxpool_2d_ceil: 4x4 input 1..16, kernel 3, stride 2, ceil -> 2x2.
TEST(RefPool, CeilModeSpecExample) {
  std::vector<float> v(16);
  for (int i = 0; i < 16; ++i) v[i] = static_cast<float>(i + 1);
  const Tensor x = Tensor::from_vector<float>(Shape{1, 1, 4, 4}, v);
  NodeUnderTest t("MaxPool", 1);
  t.attr("kernel_shape", std::vector<int64_t>{3, 3}).attr("strides", std::vector<int64_t>{2, 2}).attr("ceil_mode", int64_t{1});
  auto out = t.run({&x});
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  expect_close(out.value()[0], Tensor::from_vector<float>(Shape{1, 1, 2, 2}, {11, 12, 15, 16}));
}

// Indices count from the start of the whole tensor; storage_order 1 counts column-major.
TEST(RefPool, MaxPoolIndices) {
  std::vector<float> v(2 * 9);
  for (int i = 0; i < 18; ++i) v[i] = static_cast<float>(i % 9);
  const Tensor x = Tensor::from_vector<float>(Shape{1, 2, 3, 3}, v);
  for (int64_t order : {0, 1}) {
    NodeUnderTest t("MaxPool", 1, 2);
    t.attr("kernel_shape", std::vector<int64_t>{2, 2}).attr("storage_order", order);
    auto out = t.run({&x});
    ASSERT_TRUE(out.is_ok()) << out.status().to_string();
    const Tensor& idx = out.value()[1];
    ASSERT_EQ(idx.dtype(), DType::i64);
    // Maxima at (1,1) (1,2) (2,1) (2,2) of each plane.
    const int64_t hw[4][2] = {{1, 1}, {1, 2}, {2, 1}, {2, 2}};
    for (int64_t c = 0; c < 2; ++c)
      for (int i = 0; i < 4; ++i) {
        const int64_t want = c * 9 + (order ? hw[i][1] * 3 + hw[i][0] : hw[i][0] * 3 + hw[i][1]);
        EXPECT_EQ(idx.as<int64_t>()[c * 4 + i], want) << "order " << order << " c " << c << " i " << i;
      }
  }
}

TEST(RefPool, SameUpperPadsAtTheEnd) {
  // 1-D: input 1..5, kernel 2, SAME_UPPER: output 5, last window [5, pad] -> 5.
  const Tensor x = Tensor::from_vector<float>(Shape{1, 1, 5}, {1, 2, 3, 4, 5});
  NodeUnderTest t("AveragePool", 1);
  t.attr("kernel_shape", std::vector<int64_t>{2}).attr("auto_pad", std::string("SAME_UPPER"));
  auto out = t.run({&x});
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  expect_close(out.value()[0], Tensor::from_vector<float>(Shape{1, 1, 5}, {1.5, 2.5, 3.5, 4.5, 5}));
  NodeUnderTest lower("MaxPool", 1);
  lower.attr("kernel_shape", std::vector<int64_t>{2}).attr("auto_pad", std::string("SAME_LOWER"));
  out = lower.run({&x});
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  expect_close(out.value()[0], Tensor::from_vector<float>(Shape{1, 1, 5}, {1, 2, 3, 4, 5}));
}

TEST(RefPool, GlobalAndLp) {
  const Tensor x = Tensor::from_vector<float>(Shape{1, 2, 2, 2}, {1, -2, 3, 4, 0, 0, 3, 4});
  auto avg = NodeUnderTest("GlobalAveragePool", 1).run({&x});
  auto mx = NodeUnderTest("GlobalMaxPool", 1).run({&x});
  auto lp = NodeUnderTest("GlobalLpPool", 1).run({&x});
  ASSERT_TRUE(avg.is_ok() && mx.is_ok() && lp.is_ok());
  expect_close(avg.value()[0], Tensor::from_vector<float>(Shape{1, 2, 1, 1}, {1.5f, 1.75f}));
  expect_close(mx.value()[0], Tensor::from_vector<float>(Shape{1, 2, 1, 1}, {4, 4}));
  expect_close(lp.value()[0], Tensor::from_vector<float>(Shape{1, 2, 1, 1}, {std::sqrt(30.f), 5}));
  NodeUnderTest t("LpPool", 1);
  t.attr("kernel_shape", std::vector<int64_t>{1, 2}).attr("p", int64_t{1});
  auto l1 = t.run({&x});
  ASSERT_TRUE(l1.is_ok()) << l1.status().to_string();
  expect_close(l1.value()[0], Tensor::from_vector<float>(Shape{1, 2, 2, 1}, {3, 7, 0, 7}));
}

TEST(RefPool, Uint8MaxPoolAndErrors) {
  const Tensor x = Tensor::from_vector<uint8_t>(Shape{1, 1, 2, 2}, {1, 200, 3, 4});
  NodeUnderTest t("MaxPool", 1);
  t.attr("kernel_shape", std::vector<int64_t>{2, 2});
  auto out = t.run({&x});
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  EXPECT_EQ(out.value()[0].as<uint8_t>()[0], 200);
  NodeUnderTest big("MaxPool", 1);
  big.attr("kernel_shape", std::vector<int64_t>{3, 3});
  EXPECT_EQ(big.run({&x}).status().code(), StatusCode::invalid_model);
  NodeUnderTest no_kernel("AveragePool", 1);
  EXPECT_FALSE(no_kernel.run({&x}).is_ok());
}

}  // namespace
}  // namespace ep::testing
