// QuantizeLinear / DequantizeLinear against hand-computed values (ONNX's own backend data
// for opset 13 runs in onnx_backend_test) and the round-trip property |DQ(Q(x)) - x| <= s/2.
#include "kernel_test_util.h"

namespace ep::testing {
namespace {

Result<Tensor> run1(NodeUnderTest& t, const std::vector<const Tensor*>& inputs) {
  EP_ASSIGN_OR_RETURN(std::vector<Tensor> out, t.run(inputs));
  return std::move(out[0]);
}

TEST(RefQuantize, PerTensorU8SaturatesAndRoundsHalfToEven) {
  // x / 2 = 0, 1, 1.5, 500, -127, -500, 0.75, 1.25 -> rint 0, 1, 2, 500, -127, -500, 1, 1 -> +128, clamp.
  const Tensor x = Tensor::from_vector<float>(Shape{8}, {0, 2, 3, 1000, -254, -1000, 1.5f, 2.5f});
  const Tensor s = Tensor::from_vector<float>(Shape{}, {2});
  const Tensor z = Tensor::from_vector<uint8_t>(Shape{}, {128});
  NodeUnderTest q("QuantizeLinear", 3, 1, 13);
  auto y = run1(q, {&x, &s, &z});
  ASSERT_TRUE(y.is_ok()) << y.status().to_string();
  expect_close(*y, Tensor::from_vector<uint8_t>(Shape{8}, {128, 129, 130, 255, 1, 0, 129, 129}));
}

TEST(RefQuantize, S8HalfToEvenBothSigns) {
  const Tensor x = Tensor::from_vector<float>(Shape{7}, {2.5f, 3.5f, -2.5f, -0.5f, 0.5f, 200, -200});
  const Tensor s = Tensor::from_vector<float>(Shape{1}, {1});
  const Tensor z = Tensor::from_vector<int8_t>(Shape{1}, {0});
  NodeUnderTest q("QuantizeLinear", 3, 1, 10);
  auto y = run1(q, {&x, &s, &z});
  ASSERT_TRUE(y.is_ok()) << y.status().to_string();
  expect_close(*y, Tensor::from_vector<int8_t>(Shape{7}, {2, 4, -2, 0, 0, 127, -128}));
}

TEST(RefQuantize, NoZeroPointGivesU8OrOutputDtype) {
  const Tensor x = Tensor::from_vector<float>(Shape{3}, {-1, 1, 300});
  const Tensor s = Tensor::from_vector<float>(Shape{}, {1});
  NodeUnderTest q("QuantizeLinear", 2, 1, 13);
  auto y = run1(q, {&x, &s});
  ASSERT_TRUE(y.is_ok());
  expect_close(*y, Tensor::from_vector<uint8_t>(Shape{3}, {0, 1, 255}));
  NodeUnderTest q21("QuantizeLinear", 2, 1, 21);
  q21.attr("output_dtype", int64_t{3});  // INT8
  auto y21 = run1(q21, {&x, &s});
  ASSERT_TRUE(y21.is_ok()) << y21.status().to_string();
  expect_close(*y21, Tensor::from_vector<int8_t>(Shape{3}, {-1, 1, 127}));
}

TEST(RefQuantize, PerAxis) {
  // x [1, 3, 2], axis 1: channel c has scale {1, 2, 4}[c], zero point {0, 10, 20}[c].
  const Tensor x = Tensor::from_vector<float>(Shape{1, 3, 2}, {1, -1, 4, 6, 8, -80});
  const Tensor s = Tensor::from_vector<float>(Shape{3}, {1, 2, 4});
  const Tensor z = Tensor::from_vector<uint8_t>(Shape{3}, {0, 10, 20});
  NodeUnderTest q("QuantizeLinear", 3, 1, 13);
  auto y = run1(q, {&x, &s, &z});
  ASSERT_TRUE(y.is_ok()) << y.status().to_string();
  expect_close(*y, Tensor::from_vector<uint8_t>(Shape{1, 3, 2}, {1, 0, 12, 13, 22, 0}));
  NodeUnderTest dq("DequantizeLinear", 3, 1, 13);
  auto back = run1(dq, {&*y, &s, &z});
  ASSERT_TRUE(back.is_ok());
  expect_close(*back, Tensor::from_vector<float>(Shape{1, 3, 2}, {1, 0, 4, 6, 8, -80}));
  // axis -1 over a [3, 2] input: scales per column.
  const Tensor x2 = Tensor::from_vector<float>(Shape{3, 2}, {1, 1, 2, 2, 3, 3});
  const Tensor s2 = Tensor::from_vector<float>(Shape{2}, {1, 0.5f});
  NodeUnderTest q2("QuantizeLinear", 2, 1, 13);
  q2.attr("axis", int64_t{-1});
  auto y2 = run1(q2, {&x2, &s2});
  ASSERT_TRUE(y2.is_ok());
  expect_close(*y2, Tensor::from_vector<uint8_t>(Shape{3, 2}, {1, 2, 2, 4, 3, 6}));
}

TEST(RefDequantize, BlockedOpset21) {
  // x [4, 2] i8, axis 0, block_size 2: scale [2, 2], rows 0-1 use scale row 0, rows 2-3 row 1.
  const Tensor x = Tensor::from_vector<int8_t>(Shape{4, 2}, {1, 2, 3, 4, -5, -6, 7, -8});
  const Tensor s = Tensor::from_vector<float>(Shape{2, 2}, {1, 10, 0.5f, 100});
  const Tensor z = Tensor::from_vector<int8_t>(Shape{2, 2}, {0, 1, -1, 0});
  NodeUnderTest dq("DequantizeLinear", 3, 1, 21);
  dq.attr("axis", int64_t{0}).attr("block_size", int64_t{2});
  auto y = run1(dq, {&x, &s, &z});
  ASSERT_TRUE(y.is_ok()) << y.status().to_string();
  expect_close(*y, Tensor::from_vector<float>(Shape{4, 2}, {1, 10, 3, 30, -2, -600, 4, -800}));
  // A last block shorter than block_size: 3 rows, block 2 -> 2 blocks.
  const Tensor x3 = Tensor::from_vector<int8_t>(Shape{3, 1}, {1, 1, 1});
  const Tensor s3 = Tensor::from_vector<float>(Shape{2, 1}, {2, 3});
  NodeUnderTest dq3("DequantizeLinear", 2, 1, 21);
  dq3.attr("axis", int64_t{0}).attr("block_size", int64_t{2});
  auto y3 = run1(dq3, {&x3, &s3});
  ASSERT_TRUE(y3.is_ok()) << y3.status().to_string();
  expect_close(*y3, Tensor::from_vector<float>(Shape{3, 1}, {2, 2, 3}));
}

TEST(RefDequantize, Int32Bias) {
  const Tensor x = Tensor::from_vector<int32_t>(Shape{3}, {-100000, 0, 123456});
  const Tensor s = Tensor::from_vector<float>(Shape{3}, {0.5f, 1, 0.25f});
  NodeUnderTest dq("DequantizeLinear", 2, 1, 13);
  dq.attr("axis", int64_t{0});
  auto y = run1(dq, {&x, &s});
  ASSERT_TRUE(y.is_ok()) << y.status().to_string();
  expect_close(*y, Tensor::from_vector<float>(Shape{3}, {-50000, 0, 30864}));
}

TEST(RefQuantize, InvalidParametersNameTheProblem) {
  const Tensor x = Tensor::from_vector<float>(Shape{2, 3}, {1, 2, 3, 4, 5, 6});
  const Tensor s3 = Tensor::from_vector<float>(Shape{3}, {1, 1, 1});
  const Tensor s2 = Tensor::from_vector<float>(Shape{2}, {1, 1});
  {
    NodeUnderTest q("QuantizeLinear", 2, 1, 10);  // per-axis needs 13
    auto r = q.run({&x, &s3});
    ASSERT_FALSE(r.is_ok());
    EXPECT_NE(r.status().message().find("opset 13"), std::string::npos) << r.status().to_string();
  }
  {
    NodeUnderTest q("QuantizeLinear", 2, 1, 13);  // axis 1 has 3 values, not 2
    auto r = q.run({&x, &s2});
    ASSERT_FALSE(r.is_ok());
    EXPECT_NE(r.status().message().find("must have 3 values"), std::string::npos) << r.status().to_string();
  }
  {
    NodeUnderTest dq("DequantizeLinear", 2, 1, 19);  // block_size needs 21
    dq.attr("block_size", int64_t{2});
    const Tensor xi = Tensor::from_vector<int8_t>(Shape{2}, {1, 2});
    const Tensor s = Tensor::from_vector<float>(Shape{1}, {1});
    auto r = dq.run({&xi, &s});
    ASSERT_FALSE(r.is_ok());
    EXPECT_NE(r.status().message().find("opset 21"), std::string::npos) << r.status().to_string();
  }
  {
    NodeUnderTest q("QuantizeLinear", 3, 1, 13);  // zero point shape differs from scale
    const Tensor z = Tensor::from_vector<uint8_t>(Shape{2}, {0, 0});
    auto r = q.run({&x, &s3, &z});
    ASSERT_FALSE(r.is_ok());
    EXPECT_NE(r.status().message().find("zero point shape"), std::string::npos) << r.status().to_string();
  }
}

TEST(RefQuantize, RoundTripWithinHalfAStep) {
  for (uint32_t seed : {1u, 2u, 3u}) {
    const Tensor x = random_tensor(Shape{4, 37}, seed, -3.f, 4.9f);
    const float scale = 8.0f / 255.0f;
    const Tensor s = Tensor::from_vector<float>(Shape{}, {scale});
    const Tensor z = Tensor::from_vector<uint8_t>(Shape{}, {96});  // covers [-3.01, 5.0]
    NodeUnderTest q("QuantizeLinear", 3, 1, 13);
    NodeUnderTest dq("DequantizeLinear", 3, 1, 13);
    auto y = run1(q, {&x, &s, &z});
    ASSERT_TRUE(y.is_ok());
    auto back = run1(dq, {&*y, &s, &z});
    ASSERT_TRUE(back.is_ok());
    for (int64_t i = 0; i < x.numel(); ++i)
      ASSERT_LE(std::fabs(back->as<float>()[i] - x.as<float>()[i]), scale / 2 * (1 + 1e-5f)) << "seed " << seed << " index " << i;
  }
}

}  // namespace
}  // namespace ep::testing
