#include <random>

#include "kernel_test_util.h"
#include "tensor_expect.h"

namespace ep::testing {

TEST(RefTranspose, RandomPermutationsMatchLoopOracle) {
  const uint32_t seed = 1234;
  std::mt19937 rng(seed);
  const Tensor x = iota_tensor<int32_t>(Shape{2, 3, 4, 5});
  std::vector<int64_t> perm = {0, 1, 2, 3};
  for (int trial = 0; trial < 8; ++trial) {
    std::shuffle(perm.begin(), perm.end(), rng);
    NodeUnderTest t("Transpose", 1);
    t.attr("perm", perm);
    auto out = run_ok(t, {&x});
    ASSERT_EQ(out.size(), 1u) << "seed " << seed;
    const Shape& ys = out[0].shape();
    for (size_t d = 0; d < 4; ++d) ASSERT_EQ(ys[d], x.shape()[static_cast<size_t>(perm[d])]) << "seed " << seed;
    // y[i0,i1,i2,i3] = x[j] with j[perm[d]] = i[d]
    int64_t flat = 0;
    for (int64_t a = 0; a < ys[0]; ++a)
      for (int64_t b = 0; b < ys[1]; ++b)
        for (int64_t c = 0; c < ys[2]; ++c)
          for (int64_t e = 0; e < ys[3]; ++e, ++flat) {
            int64_t j[4];
            const int64_t i[4] = {a, b, c, e};
            for (int d = 0; d < 4; ++d) j[perm[d]] = i[d];
            const int64_t src = ((j[0] * 3 + j[1]) * 4 + j[2]) * 5 + j[3];
            ASSERT_EQ(out[0].as<int32_t>()[flat], src) << "seed " << seed << " trial " << trial;
          }
  }
}

TEST(RefTranspose, DefaultReversesAndBadPermFails) {
  const Tensor x = iota_tensor<float>(Shape{2, 3});
  NodeUnderTest t("Transpose", 1);
  expect_tensor<float>(run_ok(t, {&x})[0], Shape{3, 2}, {0, 3, 1, 4, 2, 5});
  NodeUnderTest bad("Transpose", 1);
  bad.attr("perm", std::vector<int64_t>{0, 0});
  EXPECT_EQ(run_code(bad, {&x}), StatusCode::invalid_model);
}

// The ONNX spec's DepthToSpace examples (x = 0..47 in shape 1x8x2x3, blocksize 2).
TEST(RefTranspose, DepthToSpaceSpecExamples) {
  const Tensor x = iota_tensor<float>(Shape{1, 8, 2, 3});
  NodeUnderTest dcr("DepthToSpace", 1, 1, 13);
  dcr.attr("blocksize", int64_t{2}).attr("mode", std::string("DCR"));
  expect_tensor<float>(run_ok(dcr, {&x})[0], Shape{1, 2, 4, 6},
                       {0,  12, 1,  13, 2,  14, 24, 36, 25, 37, 26, 38, 3,  15, 4,  16, 5,  17, 27, 39, 28, 40, 29, 41,
                        6,  18, 7,  19, 8,  20, 30, 42, 31, 43, 32, 44, 9,  21, 10, 22, 11, 23, 33, 45, 34, 46, 35, 47});
  NodeUnderTest crd("DepthToSpace", 1, 1, 13);
  crd.attr("blocksize", int64_t{2}).attr("mode", std::string("CRD"));
  expect_tensor<float>(run_ok(crd, {&x})[0], Shape{1, 2, 4, 6},
                       {0,  6,  1,  7,  2,  8,  12, 18, 13, 19, 14, 20, 3,  9,  4,  10, 5,  11, 15, 21, 16, 22, 17, 23,
                        24, 30, 25, 31, 26, 32, 36, 42, 37, 43, 38, 44, 27, 33, 28, 34, 29, 35, 39, 45, 40, 46, 41, 47});
}

TEST(RefTranspose, SpaceToDepthInvertsDepthToSpaceDcr) {
  const Tensor x = iota_tensor<int64_t>(Shape{2, 3, 4, 6});
  NodeUnderTest s2d("SpaceToDepth", 1);
  s2d.attr("blocksize", int64_t{2});
  auto packed = run_ok(s2d, {&x});
  ASSERT_EQ(packed.size(), 1u);
  EXPECT_EQ(packed[0].shape(), (Shape{2, 12, 2, 3}));
  // y[n, (bh*2+bw)*3 + c, h, w] = x[n, c, h*2+bh, w*2+bw]
  EXPECT_EQ(packed[0].as<int64_t>()[((0 * 12 + (1 * 2 + 0) * 3 + 2) * 2 + 1) * 3 + 2], ((0 * 3 + 2) * 4 + 3) * 6 + 4);
  NodeUnderTest d2s("DepthToSpace", 1);
  d2s.attr("blocksize", int64_t{2});
  auto back = run_ok(d2s, {&packed[0]});
  ASSERT_EQ(back.size(), 1u);
  expect_tensor<int64_t>(back[0], x.shape(), std::vector<int64_t>(x.as<int64_t>(), x.as<int64_t>() + x.numel()));
  NodeUnderTest bad("SpaceToDepth", 1);
  bad.attr("blocksize", int64_t{4});
  EXPECT_EQ(run_code(bad, {&x}), StatusCode::invalid_model);
}

// edgepipe.Transpose (a bf16 session's input transpose): the f32 transpose rounded to bf16
// (nearest even, f32_to_bf16), element for element: three planes (the one-pass path; widths off
// its 16-pixel vectors, two images) and other channel counts (through scratch).
TEST(CpuTranspose, ToBf16IsTheTransposeRounded) {
  uint32_t seed = 77;
  for (const Shape& xs : {Shape{1, 3, 4, 21}, Shape{2, 3, 5, 32}, Shape{1, 5, 3, 7}, Shape{2, 4, 2, 9}}) {
    SCOPED_TRACE(xs.to_string());
    const Tensor x = random_tensor(xs, seed++, -300.f, 300.f);
    NodeUnderTest f32("Transpose", 1);
    f32.attr("perm", std::vector<int64_t>{0, 2, 3, 1});
    const std::vector<const Tensor*> ins = {&x};
    auto want = kernels::evaluate_node(*f32.node, ins, "cpu");
    ASSERT_TRUE(want.is_ok()) << want.status().to_string();
    NodeUnderTest bf("Transpose", 1, 1, 1);
    bf.node->domain = "edgepipe";
    bf.attr("perm", std::vector<int64_t>{0, 2, 3, 1});
    auto got = kernels::evaluate_node(*bf.node, ins, "cpu");
    ASSERT_TRUE(got.is_ok()) << got.status().to_string();
    const Tensor& g = got.value()[0];
    const Tensor& w = want.value()[0];
    ASSERT_EQ(g.dtype(), DType::bf16);
    ASSERT_EQ(g.shape(), w.shape());
    for (int64_t i = 0; i < w.numel(); ++i)
      ASSERT_EQ(static_cast<const uint16_t*>(g.data())[i], f32_to_bf16(w.as<float>()[i])) << "index " << i;
  }
}

}  // namespace ep::testing
