#include <algorithm>
#include <numeric>

#include "kernel_test_util.h"

namespace ep::testing {
namespace {

TEST(RefTopK, SpecExampleLargest) {
  std::vector<float> v(12);
  std::iota(v.begin(), v.end(), 0.f);
  const Tensor x = Tensor::from_vector<float>(Shape{3, 4}, v);
  const Tensor k = Tensor::from_vector<int64_t>(Shape{1}, {3});
  NodeUnderTest t("TopK", 2, 2, 11);
  auto out = t.run({&x, &k});
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  expect_close(out.value()[0], Tensor::from_vector<float>(Shape{3, 3}, {3, 2, 1, 7, 6, 5, 11, 10, 9}));
  expect_close(out.value()[1], Tensor::from_vector<int64_t>(Shape{3, 3}, {3, 2, 1, 3, 2, 1, 3, 2, 1}));
}

TEST(RefTopK, SmallestAlongAxisZeroKeepsIndexOrderOnTies) {
  const Tensor x = Tensor::from_vector<int64_t>(Shape{4, 2}, {5, 1, 2, 1, 2, 0, 9, 1});
  const Tensor k = Tensor::from_vector<int64_t>(Shape{1}, {2});
  NodeUnderTest t("TopK", 2, 2, 11);
  t.attr("axis", int64_t{0}).attr("largest", int64_t{0});
  auto out = t.run({&x, &k});
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  expect_close(out.value()[0], Tensor::from_vector<int64_t>(Shape{2, 2}, {2, 0, 2, 1}));
  expect_close(out.value()[1], Tensor::from_vector<int64_t>(Shape{2, 2}, {1, 2, 2, 0}));
}

TEST(RefTopK, Opset1KAttributeAndRandomOracle) {
  const uint32_t seed = 5;
  const Tensor x = random_tensor(Shape{2, 9}, seed);
  NodeUnderTest t("TopK", 1, 2, 9);
  t.attr("k", int64_t{4});
  auto out = t.run({&x});
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  for (int r = 0; r < 2; ++r) {
    std::vector<int64_t> idx(9);
    std::iota(idx.begin(), idx.end(), 0);
    const float* row = x.as<float>() + r * 9;
    std::stable_sort(idx.begin(), idx.end(), [&](int64_t a, int64_t b) { return row[a] > row[b]; });
    for (int i = 0; i < 4; ++i) {
      EXPECT_EQ(out.value()[1].as<int64_t>()[r * 4 + i], idx[i]) << "seed " << seed;
      EXPECT_EQ(out.value()[0].as<float>()[r * 4 + i], row[idx[i]]) << "seed " << seed;
    }
  }
}

TEST(RefTopK, KOutOfRangeIsAnError) {
  const Tensor x = random_tensor(Shape{3}, 1);
  const Tensor k = Tensor::from_vector<int64_t>(Shape{1}, {4});
  NodeUnderTest t("TopK", 2, 2, 11);
  auto out = t.run({&x, &k});
  ASSERT_FALSE(out.is_ok());
  EXPECT_NE(out.status().message().find("node 'n0' (TopK)"), std::string::npos);
}

}  // namespace
}  // namespace ep::testing
