// The per-tensor cpu QuantizeLinear/DequantizeLinear against the reference
// kernels: exact equality, with rounding ties, NaN and values beyond the range
// of the type.
#include <omp.h>

#include <cmath>
#include <limits>
#include <vector>

#include "kernel_test_util.h"

namespace ep::testing {
namespace {

Tensor scalar(float v) { return Tensor::from_vector<float>(Shape{}, {v}); }

TEST(CpuQuantize, MatchesReferenceExactly) {
  const float s = 0.25f;
  Tensor x = random_tensor(Shape{3, 70001}, 11, -80.f,
                           80.f); // past u8/i8 range at both ends
  for (int64_t i = 0; i < 200; ++i)
    x.as<float>()[i] = s * (static_cast<float>(i - 100) + 0.5f); // ties
  x.as<float>()[300] = std::numeric_limits<float>::quiet_NaN();
  const Tensor sc = scalar(s);
  const Tensor zu = Tensor::from_vector<uint8_t>(Shape{}, {131});
  const Tensor zi = Tensor::from_vector<int8_t>(Shape{}, {-7});
  for (int threads : {1, 2})
    for (const Tensor *z : {&zu, &zi, static_cast<const Tensor *>(nullptr)}) {
      omp_set_num_threads(threads); // 210003 values: split across two threads,
                                    // and a 3-value tail
      SCOPED_TRACE(std::string(z ? dtype_name(z->dtype()) : "no zero point") +
                   " threads " + std::to_string(threads));
      NodeUnderTest q("QuantizeLinear", z ? 3 : 2, 1, 13);
      std::vector<const Tensor *> ins = {&x, &sc};
      if (z)
        ins.push_back(z);
      auto want = kernels::evaluate_node(*q.node, ins, "ref");
      auto got = kernels::evaluate_node(*q.node, ins, "cpu");
      ASSERT_TRUE(want.is_ok()) << want.status().to_string();
      ASSERT_TRUE(got.is_ok()) << got.status().to_string();
      expect_close(got.value()[0], want.value()[0], 0, 0);
      NodeUnderTest dq("DequantizeLinear", z ? 3 : 2, 1, 13);
      std::vector<const Tensor *> dins = {&want.value()[0], &sc};
      if (z)
        dins.push_back(z);
      auto dwant = kernels::evaluate_node(*dq.node, dins, "ref");
      auto dgot = kernels::evaluate_node(*dq.node, dins, "cpu");
      ASSERT_TRUE(dwant.is_ok()) << dwant.status().to_string();
      ASSERT_TRUE(dgot.is_ok()) << dgot.status().to_string();
      expect_close(dgot.value()[0], dwant.value()[0], 0, 0);
    }
  omp_set_num_threads(1);
}

// Scales that are not powers of two (the fast kernel multiplies by RN(1 / scale) and takes the
// division only near ties): values within a few ulps either side of every half-integer
// quotient in and well past the range, exact ties of the rounded quotient, infinities,
// subnormals and a scale whose reciprocal is not normal, with the zero points at either end
// of each type; byte for byte the reference.
TEST(CpuQuantize, NearTiesWithInexactScalesMatchReferenceExactly) {
  for (float s : {0.0117f, 0.1f, 1.f / 3.f, 0.037f, 7.3f, 1e-39f}) {
    SCOPED_TRACE("scale " + std::to_string(s));
    std::vector<float> v;
    for (int k = -1100; k <= 1100; ++k) {
      const float tie = (static_cast<float>(k) + 0.5f) * s;
      float lo = tie, hi = tie;
      v.push_back(tie);
      for (int u = 0; u < 4; ++u) {
        lo = std::nextafter(lo, -std::numeric_limits<float>::infinity());
        hi = std::nextafter(hi, std::numeric_limits<float>::infinity());
        v.push_back(lo);
        v.push_back(hi);
      }
      v.push_back(static_cast<float>(k) * s);
    }
    for (float e : {std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                    std::numeric_limits<float>::denorm_min(), -1e-40f, 0.f, -0.f})
      v.push_back(e);
    const Tensor x = Tensor::from_vector<float>(Shape{static_cast<int64_t>(v.size())}, v);
    const Tensor sc = scalar(s);
    for (DType q : {DType::u8, DType::i8}) {
      for (int zi = 0; zi < 2; ++zi) {  // the zero points at the ends of the margin's argument
      const Tensor z = q == DType::u8 ? Tensor::from_vector<uint8_t>(Shape{}, {static_cast<uint8_t>(zi ? 255 : 0)})
                                      : Tensor::from_vector<int8_t>(Shape{}, {static_cast<int8_t>(zi ? 127 : -128)});
      NodeUnderTest qn("QuantizeLinear", 3, 1, 13);
      const std::vector<const Tensor *> ins = {&x, &sc, &z};
      auto want = kernels::evaluate_node(*qn.node, ins, "ref");
      auto got = kernels::evaluate_node(*qn.node, ins, "cpu");
      ASSERT_TRUE(want.is_ok()) << want.status().to_string();
      ASSERT_TRUE(got.is_ok()) << got.status().to_string();
      expect_close(got.value()[0], want.value()[0], 0, 0);
      }
    }
  }
}

TEST(CpuQuantize, DeclinesPerAxis) {
  const Tensor x = random_tensor(Shape{2, 3}, 1);
  const Tensor s = Tensor::from_vector<float>(Shape{3}, {0.1f, 0.2f, 0.3f});
  NodeUnderTest q("QuantizeLinear", 2, 1, 13);
  const std::vector<const Tensor *> ins = {&x, &s};
  auto got = kernels::evaluate_node(*q.node, ins, "cpu");
  ASSERT_FALSE(got.is_ok());
  EXPECT_EQ(got.status().code(), StatusCode::unsupported);
}

} // namespace
} // namespace ep::testing
