#include "kernel_test_util.h"

namespace ep::testing {
namespace {

TEST(RefBitShift, SpecExamplesLeftAndRight) {
  const Tensor x = Tensor::from_vector<uint32_t>(Shape{3}, {16, 4, 1});
  const Tensor s = Tensor::from_vector<uint32_t>(Shape{3}, {1, 2, 3});
  NodeUnderTest right("BitShift", 2);
  right.attr("direction", std::string("RIGHT"));
  auto r = right.run({&x, &s});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  expect_close(r.value()[0], Tensor::from_vector<uint32_t>(Shape{3}, {8, 1, 0}));
  NodeUnderTest left("BitShift", 2);
  left.attr("direction", std::string("LEFT"));
  auto l = left.run({&x, &s});
  ASSERT_TRUE(l.is_ok());
  expect_close(l.value()[0], Tensor::from_vector<uint32_t>(Shape{3}, {32, 16, 8}));
}

TEST(RefBitShift, WideShiftGivesZeroAndBadDirectionFails) {
  const Tensor x = Tensor::from_vector<uint8_t>(Shape{2}, {255, 3});
  const Tensor s = Tensor::from_vector<uint8_t>(Shape{1}, {8});
  NodeUnderTest left("BitShift", 2);
  left.attr("direction", std::string("LEFT"));
  auto l = left.run({&x, &s});
  ASSERT_TRUE(l.is_ok());
  expect_close(l.value()[0], Tensor::from_vector<uint8_t>(Shape{2}, {0, 0}));
  NodeUnderTest bad("BitShift", 2);
  bad.attr("direction", std::string("UP"));
  EXPECT_FALSE(bad.run({&x, &s}).is_ok());
}

}  // namespace
}  // namespace ep::testing
