// Builds a one-node graph and runs it with the reference kernel: the harness of kernel tests.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "kernels/kernel.h"

namespace ep::testing {

struct NodeUnderTest {
  ir::Graph graph;
  ir::Node* node = nullptr;

  // `num_inputs` values named in0.., `num_outputs` named out0..
  NodeUnderTest(const std::string& op, size_t num_inputs, size_t num_outputs = 1, int opset = 17) {
    std::vector<ir::Value*> ins, outs;
    for (size_t i = 0; i < num_inputs; ++i) ins.push_back(graph.add_value("in" + std::to_string(i)));
    for (size_t i = 0; i < num_outputs; ++i) outs.push_back(graph.add_value("out" + std::to_string(i)));
    node = graph.add_node("n0", op, ins, outs);
    node->opset = opset;
  }
  NodeUnderTest& attr(const std::string& k, ir::AttrValue v) {
    node->attrs[k] = std::move(v);
    return *this;
  }
  Result<std::vector<Tensor>> run(const std::vector<const Tensor*>& inputs) {
    return kernels::evaluate_node(*node, inputs);
  }
};

inline Tensor random_tensor(const Shape& shape, uint32_t seed, float lo = -1.f, float hi = 1.f) {
  Tensor t(DType::f32, shape);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) t.as<float>()[i] = d(rng);
  return t;
}

// A tensor of dtype d (1-byte types: u8, i8) with uniform random bytes.
inline Tensor random_bytes(DType d, const Shape& s, uint32_t seed) {
  Tensor t(d, s);
  std::mt19937 rng(seed);
  for (int64_t i = 0; i < t.numel(); ++i) static_cast<uint8_t*>(t.data())[i] = static_cast<uint8_t>(rng());
  return t;
}

// The implementation the kernel of `backend` chooses for the node on these inputs (taken as
// constants), or the error it declines with.
inline std::string implementation_of(const ir::Node& node, const std::vector<const Tensor*>& ins,
                                     const char* backend = "onednn") {
  const kernels::KernelDef* def = kernels::find_kernel(node.op_type, node.domain, node.opset, backend);
  if (!def) return "no kernel";
  std::vector<kernels::TensorInfo> infos;
  for (const Tensor* t : ins) infos.push_back(t ? kernels::TensorInfo{t->dtype(), t->shape(), t} : kernels::TensorInfo{});
  kernels::PrepareContext ctx(node, std::move(infos));
  auto k = def->create();
  const Status st = k->prepare(ctx);
  return st.is_ok() ? k->implementation() : st.to_string();
}

inline void expect_close(const Tensor& got, const Tensor& want, double atol = 1e-5, double rtol = 1e-5) {
  ASSERT_EQ(got.dtype(), want.dtype());
  ASSERT_EQ(got.shape(), want.shape()) << got.shape().to_string() << " vs " << want.shape().to_string();
  for (int64_t i = 0; i < got.numel(); ++i) {
    const double g = view_get_f64(got.view(), i), w = view_get_f64(want.view(), i);
    if (std::isnan(w)) {
      ASSERT_TRUE(std::isnan(g)) << "index " << i;
      continue;
    }
    ASSERT_LE(std::fabs(g - w), atol + rtol * std::fabs(w)) << "index " << i << ": got " << g << " want " << w;
  }
}

}  // namespace ep::testing
