// The per-tensor cpu QuantizeLinear/DequantizeLinear against the reference
// kernels: exact equality, with rounding ties, NaN and values beyond the range
// of the type.
#include <omp.h>

#include <limits>

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
