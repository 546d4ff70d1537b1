// Exact comparisons for data-movement kernel tests: outputs are copies, so they must match bit for bit.
#pragma once

#include <gtest/gtest.h>

#include <vector>

#include "kernel_test_util.h"

namespace ep::testing {

template <typename T>
void expect_tensor(const Tensor& got, const Shape& shape, const std::vector<T>& want) {
  ASSERT_EQ(got.dtype(), dtype_of<T>()) << dtype_name(got.dtype());
  ASSERT_EQ(got.shape(), shape) << got.shape().to_string() << " vs " << shape.to_string();
  ASSERT_EQ(got.numel(), static_cast<int64_t>(want.size()));
  for (size_t i = 0; i < want.size(); ++i) ASSERT_EQ(got.as<T>()[i], want[i]) << "index " << i;
}

// Runs the node and returns its outputs, failing the test on an error.
inline std::vector<Tensor> run_ok(NodeUnderTest& t, const std::vector<const Tensor*>& inputs) {
  auto out = t.run(inputs);
  EXPECT_TRUE(out.is_ok()) << out.status().to_string();
  return out.is_ok() ? std::move(out).value() : std::vector<Tensor>{};
}

inline StatusCode run_code(NodeUnderTest& t, const std::vector<const Tensor*>& inputs) {
  auto out = t.run(inputs);
  return out.is_ok() ? StatusCode::ok : out.status().code();
}

template <typename T>
Tensor iota_tensor(const Shape& shape, T start = T(0)) {
  std::vector<T> v(static_cast<size_t>(shape.numel()));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<T>(start + static_cast<T>(i));
  return Tensor::from_vector<T>(shape, v);
}

inline Tensor ints(std::vector<int64_t> v) { return Tensor::from_vector<int64_t>(Shape{static_cast<int64_t>(v.size())}, v); }

}  // namespace ep::testing
