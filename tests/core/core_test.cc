#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "edgepipe/npy.h"
#include "edgepipe/status.h"
#include "edgepipe/tensor.h"

namespace ep {

TEST(Status, CarriesCodeAndContext) {
  Status s = invalid_model("node 'c' (Conv): weight rank ", 3, ", expected ", 4);
  EXPECT_FALSE(s.is_ok());
  EXPECT_EQ(s.to_string(), "invalid_model: node 'c' (Conv): weight rank 3, expected 4");
  EXPECT_EQ(s.with_context("model 'm.onnx'").message(), "model 'm.onnx': node 'c' (Conv): weight rank 3, expected 4");
  EXPECT_TRUE(Status::ok().with_context("x").is_ok());
}

TEST(Result, OkStatusIsNotAValue) {
  Result<int> r{Status::ok()};
  EXPECT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::internal);
}

TEST(Shape, ParseAndValidate) {
  auto s = parse_shape("1x3x640x640");
  ASSERT_TRUE(s.is_ok());
  EXPECT_EQ(s->numel(), 1 * 3 * 640 * 640);
  EXPECT_EQ(parse_shape("2,3")->rank(), 2u);
  EXPECT_EQ(parse_shape("")->rank(), 0u);
  for (const char* bad : {"1x-3", "1xx3", "ax3", "1x3x", "99999999999999x99999999999999"})
    EXPECT_FALSE(parse_shape(bad).is_ok()) << bad;
}

TEST(Shape, NumelOverflowIsAnError) {
  const Shape big{int64_t{1} << 40, int64_t{1} << 40};
  auto n = checked_numel(big);
  ASSERT_FALSE(n.is_ok());
  EXPECT_EQ(n.status().code(), StatusCode::resource_exhausted);
  EXPECT_FALSE(checked_numel(Shape{-1, 3}).is_ok());
}

TEST(Tensor, AlignedAndZeroed) {
  Tensor t(DType::f32, Shape{3, 5});
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data()) % kTensorAlignment, 0u);
  for (int i = 0; i < 15; ++i) EXPECT_EQ(t.as<float>()[i], 0.f);
  EXPECT_FALSE(Tensor::create(DType::f32, Shape{int64_t{1} << 50}).is_ok());
}

TEST(DType, F16RoundTripsEveryFiniteValue) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = f16_to_f32(static_cast<uint16_t>(h));
    if (std::isnan(f)) continue;
    EXPECT_EQ(f32_to_f16(f), h) << "h=" << h;
  }
}

TEST(DType, F16RoundsToNearestEven) {
  // 1 + 2^-11 lies halfway between 1 and the next half (1 + 2^-10): ties go to even (1.0).
  EXPECT_EQ(f16_to_f32(f32_to_f16(1.0f + std::ldexp(1.0f, -11))), 1.0f);
  EXPECT_EQ(f16_to_f32(f32_to_f16(1.0f + 3 * std::ldexp(1.0f, -11))), 1.0f + std::ldexp(1.0f, -9));
  EXPECT_EQ(f32_to_f16(1e6f), 0x7c00);  // overflow to +inf
}

TEST(DType, Bf16RoundsToNearestEven) {
  EXPECT_EQ(bf16_to_f32(f32_to_bf16(1.0f)), 1.0f);
  EXPECT_EQ(f32_to_bf16(1.0f + std::ldexp(1.0f, -8)), f32_to_bf16(1.0f));  // tie -> even
  EXPECT_EQ(bf16_to_f32(f32_to_bf16(1.0f + 3 * std::ldexp(1.0f, -8))), 1.0f + std::ldexp(1.0f, -6));
}

TEST(Npy, RoundTrip) {
  Tensor t(DType::f32, Shape{2, 3});
  for (int i = 0; i < 6; ++i) t.as<float>()[i] = 0.5f * static_cast<float>(i);
  auto back = npy_parse(npy_serialize(t.view()));
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  EXPECT_EQ(back->shape(), t.shape());
  EXPECT_EQ(std::memcmp(back->data(), t.data(), t.nbytes()), 0);
  Tensor s(DType::i64, Shape{});
  auto sb = npy_parse(npy_serialize(s.view()));
  ASSERT_TRUE(sb.is_ok());
  EXPECT_EQ(sb->shape().rank(), 0u);
}

TEST(Npy, RejectsMalformedInput) {
  Tensor t(DType::f32, Shape{4});
  const std::string good = npy_serialize(t.view());
  EXPECT_FALSE(npy_parse("").is_ok());
  EXPECT_FALSE(npy_parse("not numpy at all").is_ok());
  EXPECT_FALSE(npy_parse(good.substr(0, good.size() - 1)).is_ok());  // truncated data
  EXPECT_FALSE(npy_parse(good + "x").is_ok());                       // trailing bytes
  std::string huge = good;
  const size_t p = huge.find("(4,)");
  huge.replace(p, 4, "(99999999999,)");
  EXPECT_FALSE(npy_parse(huge).is_ok());  // claims more than the file holds: no allocation
  std::string fortran = good;
  fortran.replace(fortran.find("False"), 5, "True ");
  EXPECT_FALSE(npy_parse(fortran).is_ok());
  std::string header_len = good;
  header_len[8] = '\xff';
  header_len[9] = '\xff';
  EXPECT_FALSE(npy_parse(header_len).is_ok());
}

}  // namespace ep
