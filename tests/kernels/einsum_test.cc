#include "kernel_test_util.h"

namespace ep::testing {
namespace {

Tensor einsum(const std::string& eq, const std::vector<const Tensor*>& ins) {
  NodeUnderTest t("Einsum", ins.size(), 1, 12);
  t.attr("equation", eq);
  auto out = t.run(ins);
  EXPECT_TRUE(out.is_ok()) << eq << ": " << out.status().to_string();
  return out.is_ok() ? std::move(out.value()[0]) : Tensor();
}

TEST(RefEinsum, MatmulTransposeTraceAndImplicitOutput) {
  const uint32_t seed = 4;
  const Tensor a = random_tensor(Shape{2, 3}, seed), b = random_tensor(Shape{3, 4}, seed + 1);
  Tensor mm(DType::f32, Shape{2, 4});
  for (int i = 0; i < 2; ++i)
    for (int k = 0; k < 4; ++k) {
      double s = 0;
      for (int j = 0; j < 3; ++j) s += a.as<float>()[i * 3 + j] * b.as<float>()[j * 4 + k];
      mm.as<float>()[i * 4 + k] = static_cast<float>(s);
    }
  SCOPED_TRACE(::testing::Message() << "seed " << seed);
  expect_close(einsum("ij,jk->ik", {&a, &b}), mm);
  expect_close(einsum("ij,jk", {&a, &b}), mm);  // implicit: i,k once each, alphabetical
  const Tensor at = einsum("ij->ji", {&a});
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j) EXPECT_EQ(at.as<float>()[j * 2 + i], a.as<float>()[i * 3 + j]);
  const Tensor sq = Tensor::from_vector<int64_t>(Shape{3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  expect_close(einsum("ii", {&sq}), Tensor::from_vector<int64_t>(Shape{}, {15}));
  expect_close(einsum("ii->i", {&sq}), Tensor::from_vector<int64_t>(Shape{3}, {1, 5, 9}));
}

TEST(RefEinsum, EllipsisBatchMatmulBroadcasts) {
  const Tensor a = Tensor::from_vector<float>(Shape{2, 1, 2}, {1, 2, 3, 4});
  const Tensor b = Tensor::from_vector<float>(Shape{2, 1}, {10, 100});
  expect_close(einsum("...ij,jk->...ik", {&a, &b}), Tensor::from_vector<float>(Shape{2, 1, 1}, {210, 430}));
}

TEST(RefEinsum, MismatchedLabelSizesAreErrors) {
  const Tensor a = random_tensor(Shape{2, 3}, 1), b = random_tensor(Shape{4, 2}, 2);
  NodeUnderTest t("Einsum", 2, 1, 12);
  t.attr("equation", std::string("ij,jk->ik"));
  EXPECT_FALSE(t.run({&a, &b}).is_ok());
}

}  // namespace
}  // namespace ep::testing
