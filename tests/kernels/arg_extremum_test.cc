#include "kernel_test_util.h"

namespace ep::testing {
namespace {

Tensor run_one(NodeUnderTest& t, const std::vector<const Tensor*>& inputs) {
  auto out = t.run(inputs);
  EXPECT_TRUE(out.is_ok()) << out.status().to_string();
  return out.is_ok() ? std::move(out.value()[0]) : Tensor();
}

TEST(RefArgExtremum, SpecExamples) {
  const Tensor x = Tensor::from_vector<float>(Shape{2, 2}, {2, 1, 3, 10});
  NodeUnderTest amax("ArgMax", 1);
  expect_close(run_one(amax, {&x}), Tensor::from_vector<int64_t>(Shape{1, 2}, {1, 1}));
  NodeUnderTest amin("ArgMin", 1);
  amin.attr("axis", int64_t{1}).attr("keepdims", int64_t{0});
  expect_close(run_one(amin, {&x}), Tensor::from_vector<int64_t>(Shape{2}, {1, 0}));
}

TEST(RefArgExtremum, SelectLastIndexOnTies) {
  const Tensor x = Tensor::from_vector<int32_t>(Shape{2, 3}, {2, 2, 1, 3, 3, 3});
  NodeUnderTest first("ArgMax", 1, 1, 12);
  first.attr("axis", int64_t{1});
  expect_close(run_one(first, {&x}), Tensor::from_vector<int64_t>(Shape{2, 1}, {0, 0}));
  NodeUnderTest last("ArgMax", 1, 1, 12);
  last.attr("axis", int64_t{1}).attr("select_last_index", int64_t{1});
  expect_close(run_one(last, {&x}), Tensor::from_vector<int64_t>(Shape{2, 1}, {1, 2}));
  NodeUnderTest old("ArgMax", 1, 1, 11);
  old.attr("select_last_index", int64_t{1});
  EXPECT_FALSE(old.run({&x}).is_ok());
}

TEST(RefArgExtremum, RandomMiddleAxisAgainstLoopOracle) {
  const uint32_t seed = 11;
  const Tensor x = random_tensor(Shape{3, 5, 4}, seed);
  for (const char* op : {"ArgMax", "ArgMin"}) {
    NodeUnderTest t(op, 1);
    t.attr("axis", int64_t{-2}).attr("keepdims", int64_t{0});
    Tensor want(DType::i64, Shape{3, 4});
    for (int a = 0; a < 3; ++a)
      for (int c = 0; c < 4; ++c) {
        int best = 0;
        for (int b = 1; b < 5; ++b) {
          const float v = x.as<float>()[(a * 5 + b) * 4 + c], w = x.as<float>()[(a * 5 + best) * 4 + c];
          if (std::string(op) == "ArgMax" ? v > w : v < w) best = b;
        }
        want.as<int64_t>()[a * 4 + c] = best;
      }
    SCOPED_TRACE(::testing::Message() << op << " seed " << seed);
    expect_close(run_one(t, {&x}), want);
  }
}

}  // namespace
}  // namespace ep::testing
