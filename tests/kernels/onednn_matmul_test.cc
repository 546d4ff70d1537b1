// oneDNN MatMul and Gemm against the reference kernels.
#include "kernel_test_util.h"

namespace ep::testing {
namespace {

void compare(NodeUnderTest& t, const std::vector<const Tensor*>& ins, uint32_t seed) {
  SCOPED_TRACE("seed " + std::to_string(seed));
  auto want = kernels::evaluate_node(*t.node, ins, "ref");
  ASSERT_TRUE(want.is_ok()) << want.status().to_string();
  auto got = kernels::evaluate_node(*t.node, ins, "onednn");
  ASSERT_TRUE(got.is_ok()) << got.status().to_string();
  expect_close(got.value()[0], want.value()[0], 1e-4, 1e-4);
}

TEST(OnednnMatMul, MatchesReference) {
  const std::vector<std::pair<Shape, Shape>> cases = {
      {{40, 120}, {120, 6625}}, {{2, 8, 16}, {2, 16, 5}}, {{2, 1, 7, 3}, {4, 3, 9}}, {{1, 12, 80, 32}, {1, 12, 32, 80}},
      {{5, 1}, {1, 6}}};
  uint32_t seed = 700;
  for (const auto& [a, b] : cases) {
    NodeUnderTest t("MatMul", 2);
    const Tensor x = random_tensor(a, seed++), y = random_tensor(b, seed++);
    compare(t, {&x, &y}, seed);
  }
}

TEST(OnednnMatMul, GemmTransposesAndBias) {
  uint32_t seed = 800;
  for (int64_t ta : {0, 1})
    for (int64_t tb : {0, 1})
      for (const Shape& c : {Shape{}, Shape{7}, Shape{1, 7}, Shape{5, 7}, Shape{5, 1}}) {
        NodeUnderTest t("Gemm", 3);
        t.attr("transA", ta).attr("transB", tb);
        const Tensor a = random_tensor(ta ? Shape{9, 5} : Shape{5, 9}, seed++);
        const Tensor b = random_tensor(tb ? Shape{7, 9} : Shape{9, 7}, seed++);
        const Tensor bias = random_tensor(c, seed++);
        compare(t, {&a, &b, &bias}, seed);
      }
  NodeUnderTest t("Gemm", 2);
  t.attr("alpha", 0.5f);
  const Tensor a = random_tensor(Shape{3, 4}, 1), b = random_tensor(Shape{4, 2}, 2);
  auto got = kernels::evaluate_node(*t.node, std::vector<const Tensor*>{&a, &b}, "onednn");
  ASSERT_FALSE(got.is_ok());
  EXPECT_EQ(got.status().code(), StatusCode::unsupported);  // declined: the reference runs it
}

}  // namespace
}  // namespace ep::testing
