#include <cmath>
#include <limits>

#include "kernel_test_util.h"

namespace ep::testing {
namespace {

Tensor run_one(NodeUnderTest& t, const std::vector<const Tensor*>& inputs) {
  auto out = t.run(inputs);
  EXPECT_TRUE(out.is_ok()) << out.status().to_string();
  if (!out.is_ok()) return Tensor();
  return std::move(out.value()[0]);
}

// Loop oracle over a 3-d input: reduces the axes in `mask` with the per-op formula.
Tensor reduce_oracle(const std::string& op, const Tensor& x, const bool mask[3], bool keepdims) {
  const Shape& s = x.shape();
  std::vector<int64_t> dims;
  for (int d = 0; d < 3; ++d)
    if (!mask[d]) dims.push_back(s[d]);
    else if (keepdims) dims.push_back(1);
  Tensor y(DType::f32, Shape(dims));
  const int64_t o0 = mask[0] ? 1 : s[0], o1 = mask[1] ? 1 : s[1], o2 = mask[2] ? 1 : s[2];
  for (int64_t a = 0; a < o0; ++a)
    for (int64_t b = 0; b < o1; ++b)
      for (int64_t c = 0; c < o2; ++c) {
        double sum = 0, abs_sum = 0, sq = 0, prod = 1, mx = -INFINITY, mn = INFINITY, exp_sum = 0;
        int64_t n = 0;
        for (int64_t i = 0; i < (mask[0] ? s[0] : 1); ++i)
          for (int64_t j = 0; j < (mask[1] ? s[1] : 1); ++j)
            for (int64_t k = 0; k < (mask[2] ? s[2] : 1); ++k) {
              const int64_t ii = mask[0] ? i : a, jj = mask[1] ? j : b, kk = mask[2] ? k : c;
              const double v = x.as<float>()[(ii * s[1] + jj) * s[2] + kk];
              sum += v, abs_sum += std::fabs(v), sq += v * v, prod *= v, exp_sum += std::exp(v), ++n;
              mx = std::max(mx, v), mn = std::min(mn, v);
            }
        double r = 0;
        if (op == "ReduceSum") r = sum;
        else if (op == "ReduceMean") r = sum / n;
        else if (op == "ReduceMax") r = mx;
        else if (op == "ReduceMin") r = mn;
        else if (op == "ReduceProd") r = prod;
        else if (op == "ReduceL1") r = abs_sum;
        else if (op == "ReduceL2") r = std::sqrt(sq);
        else if (op == "ReduceLogSum") r = std::log(sum);
        else if (op == "ReduceLogSumExp") r = std::log(exp_sum);
        else if (op == "ReduceSumSquare") r = sq;
        y.as<float>()[(a * o1 + b) * o2 + c] = static_cast<float>(r);
      }
  return y;
}

const char* kReduceOps[] = {"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd",
                            "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"};

TEST(RefReduce, EveryOpMatchesLoopOracleOverAxisSets) {
  const uint32_t seed = 7;
  // Positive inputs keep ReduceLogSum defined.
  const Tensor x = random_tensor(Shape{3, 4, 5}, seed, 0.1f, 2.f);
  const std::vector<std::vector<int64_t>> axis_sets = {{0}, {1}, {2}, {0, 2}, {-1, -2}, {0, 1, 2}};
  for (const char* op : kReduceOps)
    for (const auto& axes : axis_sets)
      for (int keep = 0; keep < 2; ++keep)
        for (int opset : {11, 18}) {
          bool mask[3] = {false, false, false};
          for (int64_t a : axes) mask[a < 0 ? a + 3 : a] = true;
          const bool as_input = opset >= 18;
          NodeUnderTest t(op, as_input ? 2 : 1, 1, opset);
          t.attr("keepdims", int64_t{keep});
          const Tensor axes_t = Tensor::from_vector<int64_t>(Shape{static_cast<int64_t>(axes.size())}, axes);
          if (!as_input) t.attr("axes", axes);
          const Tensor y = as_input ? run_one(t, {&x, &axes_t}) : run_one(t, {&x});
          SCOPED_TRACE(::testing::Message() << op << " opset " << opset << " keep " << keep << " seed " << seed);
          expect_close(y, reduce_oracle(op, x, mask, keep != 0), 1e-5, 1e-5);
        }
}

TEST(RefReduce, SpecExampleReduceSumKeepdims) {
  const Tensor x = Tensor::from_vector<float>(Shape{3, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
  const Tensor axes = Tensor::from_vector<int64_t>(Shape{1}, {1});
  NodeUnderTest t("ReduceSum", 2, 1, 13);
  const Tensor y = run_one(t, {&x, &axes});
  expect_close(y, Tensor::from_vector<float>(Shape{3, 1, 2}, {4, 6, 12, 14, 20, 22}));
}

TEST(RefReduce, AbsentAxesReduceEverythingUnlessNoop) {
  const Tensor x = Tensor::from_vector<float>(Shape{2, 2}, {1, -2, 3, -4});
  NodeUnderTest all("ReduceSumSquare", 1, 1, 18);
  expect_close(run_one(all, {&x}), Tensor::from_vector<float>(Shape{1, 1}, {30}));
  // noop_with_empty_axes keeps every element, still squared (the ONNX reference's behaviour).
  const Tensor empty = Tensor::from_vector<int64_t>(Shape{0}, {});
  NodeUnderTest noop("ReduceSumSquare", 2, 1, 18);
  noop.attr("noop_with_empty_axes", int64_t{1});
  expect_close(run_one(noop, {&x, &empty}), Tensor::from_vector<float>(Shape{2, 2}, {1, 4, 9, 16}));
  NodeUnderTest sum_noop("ReduceSum", 2, 1, 13);
  sum_noop.attr("noop_with_empty_axes", int64_t{1});
  expect_close(run_one(sum_noop, {&x, &empty}), x);
}

TEST(RefReduce, EmptySetGivesIdentityValues) {
  const Tensor x(DType::f32, Shape{2, 0});
  const Tensor axes = Tensor::from_vector<int64_t>(Shape{1}, {1});
  const std::pair<const char*, float> cases[] = {{"ReduceSum", 0.f}, {"ReduceProd", 1.f},
                                                 {"ReduceMax", -INFINITY}, {"ReduceMin", INFINITY},
                                                 {"ReduceLogSumExp", -INFINITY}, {"ReduceLogSum", -INFINITY}};
  for (const auto& [op, want] : cases) {
    NodeUnderTest t(op, 2, 1, 18);
    t.attr("keepdims", int64_t{0});
    const Tensor y = run_one(t, {&x, &axes});
    ASSERT_EQ(y.shape(), Shape{2}) << op;
    EXPECT_EQ(y.as<float>()[0], want) << op;
  }
}

TEST(RefReduce, IntegerSumAndProdAreExact) {
  const Tensor x = Tensor::from_vector<int64_t>(Shape{2, 3}, {int64_t{1} << 53, 1, 1, 2, 3, 4});
  NodeUnderTest sum("ReduceSum", 2, 1, 13);
  sum.attr("keepdims", int64_t{0});
  const Tensor axes = Tensor::from_vector<int64_t>(Shape{1}, {1});
  const Tensor y = run_one(sum, {&x, &axes});
  EXPECT_EQ(y.as<int64_t>()[0], (int64_t{1} << 53) + 2);
  EXPECT_EQ(y.as<int64_t>()[1], 9);
  const Tensor xi = Tensor::from_vector<int32_t>(Shape{4}, {2, -3, 4, 5});
  NodeUnderTest prod("ReduceProd", 1, 1, 13);
  EXPECT_EQ(run_one(prod, {&xi}).as<int32_t>()[0], -120);
  NodeUnderTest mx("ReduceMax", 1, 1, 13);
  EXPECT_EQ(run_one(mx, {&xi}).as<int32_t>()[0], 5);
}

TEST(RefReduce, MaxPropagatesNaN) {
  const Tensor x = Tensor::from_vector<float>(Shape{3}, {1, NAN, 2});
  NodeUnderTest t("ReduceMax", 1, 1, 13);
  EXPECT_TRUE(std::isnan(run_one(t, {&x}).as<float>()[0]));
}

TEST(RefReduce, BadAxesAreErrorsNamingTheNode) {
  const Tensor x = random_tensor(Shape{2, 3}, 1);
  NodeUnderTest dup("ReduceMean", 1, 1, 13);
  dup.attr("axes", std::vector<int64_t>{1, -1});
  auto r = dup.run({&x});
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("node 'n0' (ReduceMean)"), std::string::npos) << r.status().message();
  NodeUnderTest range("ReduceMean", 1, 1, 13);
  range.attr("axes", std::vector<int64_t>{2});
  EXPECT_FALSE(range.run({&x}).is_ok());
  // At opset 18 axes is an input; the attribute is no longer valid.
  NodeUnderTest late("ReduceMean", 1, 1, 18);
  late.attr("axes", std::vector<int64_t>{0});
  EXPECT_FALSE(late.run({&x}).is_ok());
}

}  // namespace
}  // namespace ep::testing
