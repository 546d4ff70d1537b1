// Writes the seed corpus of fuzz/corpus/model/: tiny valid models that reach the kernels
// and a few malformed ones that reach each importer check. Rerun after changing it:
//   build/fuzz/make_model_corpus fuzz/corpus/model
#include <cstdio>
#include <fstream>
#include <string>

#include "onnx/model_builder.h"

using namespace ep::test_models;

namespace {

void write(const std::string& dir, const std::string& name, const std::string& bytes) {
  std::ofstream(dir + "/" + name, std::ios::binary) << bytes;
}

onnx::ModelProto einsum_model() {
  onnx::ModelProto m = new_model(12);
  add_input(m, "A", {-1, 3});
  add_init(m, "B", {3, 2});
  attr_string(add_node(m, "Einsum", {"A", "B"}, {"Y"}, "einsum"), "equation", "ij,jk->ik");
  add_output(m, "Y");
  return m;
}

onnx::ModelProto folded_model() {
  // Constant -> Mul by an initializer -> Add to the input: exercises folding.
  onnx::ModelProto m = new_model(13);
  add_input(m, "X", {2, 3});
  TP* t = attr(add_node(m, "Constant", {}, {"C"}, "const"), "value", onnx::AttributeProto::TENSOR)->mutable_t();
  fill_f32(t, "c", {2, 3}, 6);
  add_init(m, "S", {1});
  add_node(m, "Mul", {"C", "S"}, {"D"}, "mul");
  add_node(m, "Add", {"X", "D"}, {"Y"}, "add");
  add_output(m, "Y");
  return m;
}

onnx::ModelProto reduce_topk_model() {
  onnx::ModelProto m = new_model(13);
  add_input(m, "X", {-1, 4});
  attr_int(add_node(m, "ReduceSum", {"X"}, {"R"}, "reduce"), "keepdims", 0);
  add_init_i64(m, "K", {2});
  add_node(m, "TopK", {"X", "K"}, {"V", "I"}, "topk");
  add_node(m, "ArgMax", {"X"}, {"A"}, "argmax");
  add_output(m, "R");
  add_output(m, "V");
  add_output(m, "I", TP::INT64);
  add_output(m, "A", TP::INT64);
  return m;
}

onnx::ModelProto unary_chain_model() {
  onnx::ModelProto m = new_model(18);
  add_input(m, "X", {-1, 3});
  const char* ops[] = {"Relu", "Sigmoid", "Tanh", "Exp", "Abs", "Neg", "Sqrt", "Log", "Erf", "Softplus"};
  std::string prev = "X";
  for (const char* op : ops) {
    const std::string out = std::string(op) + "_out";
    add_node(m, op, {prev}, {out}, op);
    prev = out;
  }
  add_node(m, "CumSum", {prev, "axis"}, {"Y"}, "cumsum");
  add_init_i64(m, "axis", {1});
  m.mutable_graph()->mutable_initializer(0)->clear_dims();
  add_output(m, "Y");
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  write(dir, "add.onnx", serialize(add_model()));
  write(dir, "add_opset7.onnx", serialize(add_model(7)));
  write(dir, "conv_relu.onnx", serialize(conv_relu_model()));
  write(dir, "open_dim.onnx", serialize(open_dim_model(21)));
  write(dir, "einsum.onnx", serialize(einsum_model()));
  write(dir, "folded.onnx", serialize(folded_model()));
  write(dir, "reduce_topk.onnx", serialize(reduce_topk_model()));
  write(dir, "unary_chain.onnx", serialize(unary_chain_model()));

  const std::string add = serialize(add_model());
  write(dir, "bad_truncated.onnx", add.substr(0, add.size() / 2));
  write(dir, "bad_opset.onnx", serialize(add_model(22)));
  onnx::ModelProto m = add_model();
  add_node(m, "Relu", {"L"}, {"L"}, "self");
  write(dir, "bad_cycle.onnx", serialize(m));
  m = add_model();
  set_type(m.mutable_graph()->mutable_input(1), TP::FLOAT, {4});
  write(dir, "bad_broadcast.onnx", serialize(m));
  m = add_model();
  add_node(m, "Add", {"X", "X"}, {"Z"}, "add2");
  write(dir, "bad_duplicate_output.onnx", serialize(m));
  m = add_model();
  auto* w = add_init(m, "W", {2, 3});
  w->clear_float_data();
  w->set_raw_data("abc");
  write(dir, "bad_raw_data.onnx", serialize(m));
  m = add_model();
  set_type(m.mutable_graph()->mutable_input(0), TP::FLOAT, {int64_t{1} << 31, 1});
  set_type(m.mutable_graph()->mutable_input(1), TP::FLOAT, {1, int64_t{1} << 33});
  write(dir, "bad_huge_broadcast.onnx", serialize(m));
  return 0;
}
