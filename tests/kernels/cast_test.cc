#include <cmath>
#include <limits>

#include "tensor_expect.h"

namespace ep::testing {
namespace {

constexpr int64_t kOnnxFloat = 1, kOnnxUint8 = 2, kOnnxInt32 = 6, kOnnxInt64 = 7, kOnnxString = 8, kOnnxBool = 9,
                  kOnnxFloat16 = 10, kOnnxDouble = 11, kOnnxBfloat16 = 16;

Tensor cast(const Tensor& x, int64_t to) {
  NodeUnderTest t("Cast", 1, 1, 13);
  t.attr("to", to);
  auto out = run_ok(t, {&x});
  return out.empty() ? Tensor() : std::move(out[0]);
}

}  // namespace

TEST(RefCast, FloatToIntegersTruncatesAndSaturates) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const Tensor x = Tensor::from_vector<float>(Shape{6}, {1.9f, -1.9f, 3e10f, -3e10f, nan, 0.f});
  expect_tensor<int32_t>(cast(x, kOnnxInt32), Shape{6},
                         {1, -1, std::numeric_limits<int32_t>::max(), std::numeric_limits<int32_t>::min(), 0, 0});
  expect_tensor<uint8_t>(cast(x, kOnnxUint8), Shape{6}, {1, 0, 255, 0, 0, 0});
  expect_tensor<bool>(cast(x, kOnnxBool), Shape{6}, {true, true, true, true, true, false});
}

TEST(RefCast, IntegersAndBoolConvertExactly) {
  const Tensor big = Tensor::from_vector<int64_t>(Shape{3}, {(int64_t{1} << 53) + 1, -5, 0});
  expect_tensor<int64_t>(cast(big, kOnnxInt64), Shape{3}, {(int64_t{1} << 53) + 1, -5, 0});
  expect_tensor<int32_t>(cast(big, kOnnxInt32), Shape{3}, {1, -5, 0});  // wraps modulo 2^32
  expect_tensor<double>(cast(big, kOnnxDouble), Shape{3}, {static_cast<double>((int64_t{1} << 53) + 1), -5, 0});
  const Tensor b = Tensor::from_vector<bool>(Shape{2}, {true, false});
  expect_tensor<float>(cast(b, kOnnxFloat), Shape{2}, {1.f, 0.f});
}

TEST(RefCast, HalfTypesRoundTrip) {
  const Tensor x = Tensor::from_vector<float>(Shape{4}, {1.0f, -2.5f, 65504.f, 0.333333f});
  const Tensor h = cast(x, kOnnxFloat16);
  ASSERT_EQ(h.dtype(), DType::f16);
  EXPECT_EQ(h.as<uint16_t>()[0], 0x3c00);
  expect_tensor<float>(cast(h, kOnnxFloat), Shape{4}, {1.0f, -2.5f, 65504.f, f16_to_f32(f32_to_f16(0.333333f))});
  const Tensor bh = cast(x, kOnnxBfloat16);
  ASSERT_EQ(bh.dtype(), DType::bf16);
  EXPECT_EQ(bh.as<uint16_t>()[1], f32_to_bf16(-2.5f));
  const Tensor back = cast(bh, kOnnxDouble);
  EXPECT_EQ(back.as<double>()[2], static_cast<double>(bf16_to_f32(f32_to_bf16(65504.f))));
}

TEST(RefCast, CastLikeTakesTheSecondInputsDtypeAndStringsAreUnsupported) {
  const Tensor x = Tensor::from_vector<double>(Shape{2}, {1.5, -7});
  const Tensor like = Tensor::from_vector<int64_t>(Shape{1}, {0});
  NodeUnderTest t("CastLike", 2, 1, 15);
  expect_tensor<int64_t>(run_ok(t, {&x, &like})[0], Shape{2}, {1, -7});
  NodeUnderTest s("Cast", 1, 1, 13);
  s.attr("to", kOnnxString);
  EXPECT_EQ(run_code(s, {&x}), StatusCode::unsupported);
}

}  // namespace ep::testing
