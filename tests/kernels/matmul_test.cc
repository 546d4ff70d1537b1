// Gemm, MatMul and MatMulInteger against triple-loop oracles.
#include <string>
#include <vector>

#include "kernel_test_util.h"

namespace ep::testing {
namespace {

int64_t rnd(std::mt19937& r, int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(r); }

TEST(RefGemm, AllAttributesMatchLoopOracle) {
  for (uint32_t seed = 1; seed <= 60; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 r(seed);
    // Sizes around the 256-column tile of the GEMM loop.
    const int64_t m = rnd(r, 1, 5), k = rnd(r, 1, 9), n = seed % 4 == 0 ? rnd(r, 250, 520) : rnd(r, 1, 9);
    const bool ta = rnd(r, 0, 1), tb = rnd(r, 0, 1);
    const float alpha = seed % 3 ? 1.0f : 0.5f, beta = seed % 5 ? 1.0f : -2.0f;
    const int64_t c_kind = rnd(r, 0, 3);  // none, scalar, row vector, full
    const Tensor a = random_tensor(ta ? Shape{k, m} : Shape{m, k}, seed * 4);
    const Tensor b = random_tensor(tb ? Shape{n, k} : Shape{k, n}, seed * 4 + 1);
    const Shape cs = c_kind == 1 ? Shape{} : c_kind == 2 ? Shape{n} : Shape{m, n};
    const Tensor c = random_tensor(cs, seed * 4 + 2);
    NodeUnderTest t("Gemm", 3);
    t.attr("transA", int64_t{ta}).attr("transB", int64_t{tb}).attr("alpha", alpha).attr("beta", beta);
    auto out = t.run({&a, &b, c_kind ? &c : nullptr});
    ASSERT_TRUE(out.is_ok()) << out.status().to_string();
    Tensor want(DType::f32, Shape{m, n});
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double s = 0;
        for (int64_t p = 0; p < k; ++p)
          s += static_cast<double>(a.as<float>()[ta ? p * m + i : i * k + p]) * b.as<float>()[tb ? j * k + p : p * n + j];
        const double cv = c_kind == 0 ? 0 : c_kind == 1 ? c.as<float>()[0] : c_kind == 2 ? c.as<float>()[j] : c.as<float>()[i * n + j];
        want.as<float>()[i * n + j] = static_cast<float>(alpha * s + beta * cv);
      }
    expect_close(out.value()[0], want, 1e-4, 1e-4);
  }
}

TEST(RefGemm, IntegerAndErrors) {
  const Tensor a = Tensor::from_vector<int64_t>(Shape{2, 2}, {1, 2, 3, 4});
  const Tensor b = Tensor::from_vector<int64_t>(Shape{2, 2}, {5, 6, 7, 8});
  const Tensor c = Tensor::from_vector<int64_t>(Shape{1}, {100});
  auto out = NodeUnderTest("Gemm", 3).run({&a, &b, &c});
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  const int64_t want[4] = {119, 122, 143, 150};
  for (int i = 0; i < 4; ++i) EXPECT_EQ(out.value()[0].as<int64_t>()[i], want[i]);
  const Tensor bad_c = Tensor::from_vector<int64_t>(Shape{3}, {1, 2, 3});
  EXPECT_EQ(NodeUnderTest("Gemm", 3).run({&a, &b, &bad_c}).status().code(), StatusCode::invalid_model);
  const Tensor v = Tensor::from_vector<int64_t>(Shape{2}, {1, 2});
  EXPECT_EQ(NodeUnderTest("Gemm", 2).run({&v, &b}).status().code(), StatusCode::invalid_model);
}

// Numpy matmul oracle for operands of rank >= 2 with broadcast batch dims (rank 3 here).
TEST(RefMatMul, BatchedBroadcastMatchesLoopOracle) {
  for (uint32_t seed = 1; seed <= 40; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 r(seed);
    const int64_t m = rnd(r, 1, 4), k = rnd(r, 1, 6), n = seed % 5 == 0 ? 300 : rnd(r, 1, 7);
    const int64_t ba = rnd(r, 0, 1) ? 1 : 3, bb = ba == 1 ? rnd(r, 1, 3) : (rnd(r, 0, 1) ? 1 : 3);
    const int64_t batch = std::max(ba, bb);
    const Tensor a = random_tensor(Shape{ba, m, k}, seed * 2), b = random_tensor(Shape{bb, k, n}, seed * 2 + 1);
    auto out = NodeUnderTest("MatMul", 2).run({&a, &b});
    ASSERT_TRUE(out.is_ok()) << out.status().to_string();
    Tensor want(DType::f32, Shape{batch, m, n});
    for (int64_t q = 0; q < batch; ++q)
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
          double s = 0;
          for (int64_t p = 0; p < k; ++p)
            s += static_cast<double>(a.as<float>()[((ba == 1 ? 0 : q) * m + i) * k + p]) *
                 b.as<float>()[((bb == 1 ? 0 : q) * k + p) * n + j];
          want.as<float>()[(q * m + i) * n + j] = static_cast<float>(s);
        }
    expect_close(out.value()[0], want, 1e-4, 1e-4);
  }
}

TEST(RefMatMul, VectorOperandsDropTheirDim) {
  const Tensor v = Tensor::from_vector<int32_t>(Shape{3}, {1, 2, 3});
  const Tensor m = Tensor::from_vector<int32_t>(Shape{2, 3, 2}, {1, 0, 0, 1, 1, 1, 2, 0, 0, 2, 2, 2});
  auto vm = NodeUnderTest("MatMul", 2).run({&v, &m});
  ASSERT_TRUE(vm.is_ok()) << vm.status().to_string();
  EXPECT_EQ(vm.value()[0].shape(), (Shape{2, 2}));
  const int32_t want[4] = {4, 5, 8, 10};
  for (int i = 0; i < 4; ++i) EXPECT_EQ(vm.value()[0].as<int32_t>()[i], want[i]);
  const Tensor mt = Tensor::from_vector<int32_t>(Shape{2, 3}, {1, 2, 3, 4, 5, 6});
  auto mv = NodeUnderTest("MatMul", 2).run({&mt, &v});
  ASSERT_TRUE(mv.is_ok());
  EXPECT_EQ(mv.value()[0].shape(), (Shape{2}));
  EXPECT_EQ(mv.value()[0].as<int32_t>()[1], 32);
  auto dot = NodeUnderTest("MatMul", 2).run({&v, &v});
  ASSERT_TRUE(dot.is_ok());
  EXPECT_EQ(dot.value()[0].shape(), Shape{});
  EXPECT_EQ(dot.value()[0].as<int32_t>()[0], 14);
  const Tensor bad = Tensor::from_vector<int32_t>(Shape{2}, {1, 2});
  EXPECT_EQ(NodeUnderTest("MatMul", 2).run({&v, &bad}).status().code(), StatusCode::invalid_model);
}

// Spec example of MatMulInteger: per-tensor zero points.
TEST(RefMatMulInteger, SpecExample) {
  const Tensor a = Tensor::from_vector<uint8_t>(Shape{4, 3}, {11, 7, 3, 10, 6, 2, 9, 5, 1, 8, 4, 0});
  const Tensor b = Tensor::from_vector<uint8_t>(Shape{3, 2}, {1, 4, 2, 5, 3, 6});
  const Tensor az = Tensor::from_vector<uint8_t>(Shape{}, {12});
  const Tensor bz = Tensor::from_vector<uint8_t>(Shape{}, {0});
  auto out = NodeUnderTest("MatMulInteger", 4).run({&a, &b, &az, &bz});
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  const int32_t want[8] = {-38, -83, -44, -98, -50, -113, -56, -128};
  for (int i = 0; i < 8; ++i) EXPECT_EQ(out.value()[0].as<int32_t>()[i], want[i]);
}

}  // namespace
}  // namespace ep::testing
