#include <cmath>

#include "kernel_test_util.h"

namespace ep::testing {
namespace {

TEST(RefVariadic, ThreeInputsBroadcastAgainstLoopOracle) {
  const uint32_t seed = 3;
  const Tensor a = random_tensor(Shape{2, 3, 4}, seed);
  const Tensor b = random_tensor(Shape{3, 1}, seed + 1);
  const Tensor c = random_tensor(Shape{4}, seed + 2);
  for (const char* op : {"Max", "Min", "Sum", "Mean"}) {
    NodeUnderTest t(op, 3);
    auto out = t.run({&a, &b, &c});
    ASSERT_TRUE(out.is_ok()) << out.status().to_string();
    Tensor want(DType::f32, Shape{2, 3, 4});
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 3; ++j)
        for (int k = 0; k < 4; ++k) {
          const float x = a.as<float>()[(i * 3 + j) * 4 + k], y = b.as<float>()[j], z = c.as<float>()[k];
          const std::string o = op;
          const float r = o == "Max" ? std::max({x, y, z}) : o == "Min" ? std::min({x, y, z})
                        : o == "Sum" ? x + y + z : (x + y + z) / 3;
          want.as<float>()[(i * 3 + j) * 4 + k] = r;
        }
    SCOPED_TRACE(::testing::Message() << op << " seed " << seed);
    expect_close(out.value()[0], want);
  }
}

TEST(RefVariadic, SpecExampleAndSingleInput) {
  const Tensor a = Tensor::from_vector<float>(Shape{3}, {3, 2, 1});
  const Tensor b = Tensor::from_vector<float>(Shape{3}, {1, 4, 4});
  const Tensor c = Tensor::from_vector<float>(Shape{3}, {2, 5, 0});
  NodeUnderTest mean("Mean", 3);
  auto m = mean.run({&a, &b, &c});
  ASSERT_TRUE(m.is_ok());
  expect_close(m.value()[0], Tensor::from_vector<float>(Shape{3}, {2, 11.f / 3, 5.f / 3}));
  NodeUnderTest one("Sum", 1);
  auto s = one.run({&a});
  ASSERT_TRUE(s.is_ok());
  expect_close(s.value()[0], a);
}

TEST(RefVariadic, IntegerMaxAndNaNPropagation) {
  const Tensor a = Tensor::from_vector<int64_t>(Shape{2}, {-5, 7});
  const Tensor b = Tensor::from_vector<int64_t>(Shape{1}, {3});
  NodeUnderTest t("Max", 2);
  auto out = t.run({&a, &b});
  ASSERT_TRUE(out.is_ok());
  expect_close(out.value()[0], Tensor::from_vector<int64_t>(Shape{2}, {3, 7}));
  const Tensor f = Tensor::from_vector<float>(Shape{2}, {NAN, 1});
  const Tensor g = Tensor::from_vector<float>(Shape{2}, {1, NAN});
  NodeUnderTest mn("Min", 2);
  auto r = mn.run({&f, &g});
  ASSERT_TRUE(r.is_ok());
  EXPECT_TRUE(std::isnan(r.value()[0].as<float>()[0]));
  EXPECT_TRUE(std::isnan(r.value()[0].as<float>()[1]));
}

TEST(RefVariadic, MixedDtypesAreAnError) {
  const Tensor a = Tensor::from_vector<float>(Shape{1}, {1});
  const Tensor b = Tensor::from_vector<double>(Shape{1}, {1});
  NodeUnderTest t("Sum", 2);
  EXPECT_FALSE(t.run({&a, &b}).is_ok());
}

}  // namespace
}  // namespace ep::testing
