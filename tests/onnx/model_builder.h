// Builds small ONNX ModelProtos for tests and the fuzz corpus: valid models to start
// from, and the helpers that the malformed variants use to break them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "onnx/onnx_pb.h"

namespace ep::test_models {

using TP = onnx::TensorProto;

// dims: -1 is an open dim named "N", -2 an open dim without a name.
inline void set_type(onnx::ValueInfoProto* vi, int elem, const std::vector<int64_t>& dims, bool with_shape = true) {
  auto* tt = vi->mutable_type()->mutable_tensor_type();
  if (elem) tt->set_elem_type(elem);
  if (!with_shape) return;
  auto* shape = tt->mutable_shape();
  shape->clear_dim();
  for (int64_t d : dims) {
    auto* dim = shape->add_dim();
    if (d >= 0) dim->set_dim_value(d);
    else if (d == -1) dim->set_dim_param("N");
  }
}

inline onnx::ModelProto new_model(int64_t opset = 17) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.set_producer_name("edgepipe-test");
  auto* op = m.add_opset_import();
  op->set_domain("");
  op->set_version(opset);
  m.mutable_graph()->set_name("g");
  return m;
}

inline onnx::ValueInfoProto* add_input(onnx::ModelProto& m, const std::string& name, const std::vector<int64_t>& dims,
                                       int elem = TP::FLOAT) {
  auto* vi = m.mutable_graph()->add_input();
  vi->set_name(name);
  set_type(vi, elem, dims);
  return vi;
}

// The checker wants a shape on graph outputs; edgepipe infers it, so open dims are fine.
inline onnx::ValueInfoProto* add_output(onnx::ModelProto& m, const std::string& name, int elem = TP::FLOAT,
                                        const std::vector<int64_t>& dims = {-2, -2}) {
  auto* vi = m.mutable_graph()->add_output();
  vi->set_name(name);
  set_type(vi, elem, dims);
  return vi;
}

inline onnx::NodeProto* add_node(onnx::ModelProto& m, const std::string& op, const std::vector<std::string>& ins,
                                 const std::vector<std::string>& outs, const std::string& name) {
  auto* n = m.mutable_graph()->add_node();
  n->set_op_type(op);
  n->set_name(name);
  for (const auto& i : ins) n->add_input(i);
  for (const auto& o : outs) n->add_output(o);
  return n;
}

inline onnx::AttributeProto* attr(onnx::NodeProto* n, const std::string& name, onnx::AttributeProto::AttributeType t) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(t);
  return a;
}
inline void attr_int(onnx::NodeProto* n, const std::string& name, int64_t v) { attr(n, name, onnx::AttributeProto::INT)->set_i(v); }
inline void attr_float(onnx::NodeProto* n, const std::string& name, float v) { attr(n, name, onnx::AttributeProto::FLOAT)->set_f(v); }
inline void attr_string(onnx::NodeProto* n, const std::string& name, const std::string& v) {
  attr(n, name, onnx::AttributeProto::STRING)->set_s(v);
}
inline void attr_ints(onnx::NodeProto* n, const std::string& name, const std::vector<int64_t>& v) {
  auto* a = attr(n, name, onnx::AttributeProto::INTS);
  for (int64_t x : v) a->add_ints(x);
}

inline TP* fill_f32(TP* t, const std::string& name, const std::vector<int64_t>& dims, int64_t count) {
  t->set_name(name);
  t->set_data_type(TP::FLOAT);
  for (int64_t d : dims) t->add_dims(d);
  for (int64_t i = 0; i < count; ++i) t->add_float_data(0.25f * static_cast<float>(i % 7) - 0.5f);
  return t;
}
inline int64_t product(const std::vector<int64_t>& dims) {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}
// A float initializer holding product(dims) values (or `count` when given).
inline TP* add_init(onnx::ModelProto& m, const std::string& name, const std::vector<int64_t>& dims, int64_t count = -1) {
  return fill_f32(m.mutable_graph()->add_initializer(), name, dims, count < 0 ? product(dims) : count);
}
inline TP* add_init_i64(onnx::ModelProto& m, const std::string& name, const std::vector<int64_t>& values) {
  TP* t = m.mutable_graph()->add_initializer();
  t->set_name(name);
  t->set_data_type(TP::INT64);
  t->add_dims(static_cast<int64_t>(values.size()));
  for (int64_t v : values) t->add_int64_data(v);
  return t;
}

// Conv node `out` writing `out` from `in`: weights out_w [cout, cin_per_group, k, k] and bias
// out_b with add_init's values, pads k / 2 on every side, `stride` both ways, `group` groups.
inline onnx::NodeProto* add_conv(onnx::ModelProto& m, const std::string& in, const std::string& out, int64_t cout,
                                 int64_t cin_per_group, int64_t k, int64_t group = 1, int64_t stride = 1) {
  add_init(m, out + "_w", {cout, cin_per_group, k, k});
  add_init(m, out + "_b", {cout});
  auto* c = add_node(m, "Conv", {in, out + "_w", out + "_b"}, {out}, out);
  attr_ints(c, "kernel_shape", {k, k});
  attr_ints(c, "pads", {k / 2, k / 2, k / 2, k / 2});
  attr_ints(c, "strides", {stride, stride});
  attr_int(c, "group", group);
  return c;
}

// Z = X + Y, both 2x3.
inline onnx::ModelProto add_model(int64_t opset = 17) {
  onnx::ModelProto m = new_model(opset);
  add_input(m, "X", {2, 3});
  add_input(m, "Y", {2, 3});
  add_node(m, "Add", {"X", "Y"}, {"Z"}, "add");
  add_output(m, "Z");
  return m;
}

// Y = Relu(Conv(X, W, B)), X 1x2x5x5, W 4x2x3x3, pads 1.
inline onnx::ModelProto conv_relu_model(int64_t opset = 17) {
  onnx::ModelProto m = new_model(opset);
  add_input(m, "X", {1, 2, 5, 5});
  add_init(m, "W", {4, 2, 3, 3});
  add_init(m, "B", {4});
  auto* conv = add_node(m, "Conv", {"X", "W", "B"}, {"C"}, "conv");
  attr_ints(conv, "kernel_shape", {3, 3});
  attr_ints(conv, "pads", {1, 1, 1, 1});
  add_node(m, "Relu", {"C"}, {"Y"}, "relu");
  add_output(m, "Y", TP::FLOAT, {1, 4, 5, 5});
  return m;
}

// Y = Sigmoid(Relu(X)) with X Nx3: an open dim the session must bind.
inline onnx::ModelProto open_dim_model(int64_t opset = 17) {
  onnx::ModelProto m = new_model(opset);
  add_input(m, "X", {-1, 3});
  add_node(m, "Relu", {"X"}, {"R"}, "relu");
  add_node(m, "Sigmoid", {"R"}, {"Y"}, "sigmoid");
  add_output(m, "Y");
  return m;
}

inline std::string serialize(const onnx::ModelProto& m) {
  std::string s;
  m.SerializeToString(&s);
  return s;
}

}  // namespace ep::test_models
