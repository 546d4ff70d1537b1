#include "tensor_expect.h"

namespace ep::testing {
namespace {

const Tensor& spec_x() {  // the spec's 3x2 example input
  static const Tensor x = Tensor::from_vector<float>(Shape{3, 2}, {1.0f, 1.2f, 2.3f, 3.4f, 4.5f, 5.7f});
  return x;
}

std::vector<Tensor> run_pad(const std::string& mode, const std::vector<int64_t>& pads, const Tensor* value = nullptr) {
  const Tensor p = ints(pads);
  NodeUnderTest t("Pad", value ? 3 : 2, 1, 13);
  t.attr("mode", mode);
  return run_ok(t, {&spec_x(), &p, value});
}

}  // namespace

TEST(RefPad, SpecExamplesConstantReflectEdge) {
  const Tensor zero = Tensor::from_vector<float>(Shape{}, {0.f});
  expect_tensor<float>(run_pad("constant", {0, 2, 0, 0}, &zero)[0], Shape{3, 4},
                       {0, 0, 1.0f, 1.2f, 0, 0, 2.3f, 3.4f, 0, 0, 4.5f, 5.7f});
  expect_tensor<float>(run_pad("reflect", {0, 2, 0, 0})[0], Shape{3, 4},
                       {1.0f, 1.2f, 1.0f, 1.2f, 2.3f, 3.4f, 2.3f, 3.4f, 4.5f, 5.7f, 4.5f, 5.7f});
  expect_tensor<float>(run_pad("edge", {0, 2, 0, 0})[0], Shape{3, 4},
                       {1.0f, 1.0f, 1.0f, 1.2f, 2.3f, 2.3f, 2.3f, 3.4f, 4.5f, 4.5f, 4.5f, 5.7f});
}

TEST(RefPad, ConstantValueNegativePadsAndReflectBeyondEdge) {
  const Tensor seven = Tensor::from_vector<float>(Shape{}, {7.f});
  expect_tensor<float>(run_pad("constant", {-1, 0, 1, 1}, &seven)[0], Shape{3, 3},
                       {2.3f, 3.4f, 7, 4.5f, 5.7f, 7, 7, 7, 7});
  // numpy 'reflect' on axis 0 (size 3) padded by 4 before: rows 2,1,0,1 then the data.
  auto out = run_pad("reflect", {4, 0, 0, 0});
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0].shape(), (Shape{7, 2}));
  const int rows[7] = {0, 1, 2, 1, 0, 1, 2};
  for (int r = 0; r < 7; ++r) EXPECT_EQ(out[0].as<float>()[r * 2], spec_x().as<float>()[rows[r] * 2]) << r;
}

TEST(RefPad, AttributesBeforeOpset11AndAxesInput) {
  NodeUnderTest old("Pad", 1, 1, 2 + 8);
  old.attr("pads", std::vector<int64_t>{1, 0, 0, 0}).attr("value", 2.5f);
  expect_tensor<float>(run_ok(old, {&spec_x()})[0], Shape{4, 2}, {2.5f, 2.5f, 1.0f, 1.2f, 2.3f, 3.4f, 4.5f, 5.7f});
  const Tensor pads = ints({1, 1}), axes = ints({-1});
  NodeUnderTest t("Pad", 4, 1, 18);
  t.attr("mode", std::string("wrap"));
  EXPECT_EQ(run_code(t, {&spec_x(), &pads, nullptr, &axes}), StatusCode::invalid_model);  // wrap is opset 19
  NodeUnderTest w("Pad", 4, 1, 19);
  w.attr("mode", std::string("wrap"));
  expect_tensor<float>(run_ok(w, {&spec_x(), &pads, nullptr, &axes})[0], Shape{3, 4},
                       {1.2f, 1.0f, 1.2f, 1.0f, 3.4f, 2.3f, 3.4f, 2.3f, 5.7f, 4.5f, 5.7f, 4.5f});
}

TEST(RefPad, RejectsBadPads) {
  const Tensor p = ints({0, -3, 0, 0});
  NodeUnderTest t("Pad", 2, 1, 13);
  EXPECT_EQ(run_code(t, {&spec_x(), &p}), StatusCode::invalid_model);
  const Tensor odd = ints({0, 1, 0});
  EXPECT_EQ(run_code(t, {&spec_x(), &odd}), StatusCode::invalid_model);
  const Tensor empty_x(DType::f32, Shape{0, 2});
  const Tensor grow = ints({1, 0, 0, 0});
  NodeUnderTest e("Pad", 2, 1, 13);
  e.attr("mode", std::string("edge"));
  EXPECT_EQ(run_code(e, {&empty_x, &grow}), StatusCode::invalid_model);
  const Tensor huge = ints({std::numeric_limits<int64_t>::min(), 0, 0, 0});
  EXPECT_EQ(run_code(t, {&spec_x(), &huge}), StatusCode::invalid_model);
}

}  // namespace ep::testing
