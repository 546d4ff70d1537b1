#include "onnx/qdq_export.h"

#include <cstring>
#include <fstream>
#include <map>
#include <set>

#include "onnx/checker.h"
#include "onnx/defs/schema.h"
#include "onnx/onnx_pb.h"
#include "onnx/shape_inference/implementation.h"

namespace ep::onnx_export {
namespace {

using TP = onnx::TensorProto;
constexpr int kCheckerMaxOpset = 17;  // libonnx 1.12, as in import.cc
constexpr int kOnnxInt4 = 22;         // ONNX 1.16's INT4, newer than libonnx 1.12's enum

// The name the importer gives a node (import.cc).
std::string node_name(const onnx::NodeProto& n, int index) {
  return n.name().empty() ? n.op_type() + "_" + std::to_string(index) : n.name();
}

bool default_domain(const onnx::NodeProto& n) { return n.domain().empty() || n.domain() == "ai.onnx"; }

void set_ints_tensor(TP* t, const std::string& name, const std::vector<int64_t>& v) {
  t->set_name(name);
  t->set_data_type(TP::INT64);
  t->add_dims(static_cast<int64_t>(v.size()));
  for (int64_t x : v) t->add_int64_data(x);
}

const onnx::AttributeProto* find_attr(const onnx::NodeProto& n, const std::string& name) {
  for (const auto& a : n.attribute())
    if (a.name() == name) return &a;
  return nullptr;
}

void erase_attr(onnx::NodeProto* n, const std::string& name) {
  auto* attrs = n->mutable_attribute();
  for (int i = 0; i < attrs->size(); ++i)
    if (attrs->Get(i).name() == name) {
      attrs->DeleteSubrange(i, 1);
      return;
    }
}

// Ranks of every tensor libonnx's shape inference can tell (for Softmax's axis).
std::map<std::string, int> tensor_ranks(const onnx::ModelProto& m) {
  std::map<std::string, int> ranks;
  onnx::ModelProto copy = m;
  try {
    onnx::shape_inference::InferShapes(copy, onnx::OpSchemaRegistry::Instance());
  } catch (const std::exception&) {
    return ranks;
  }
  auto note = [&](const onnx::ValueInfoProto& v) {
    if (v.type().tensor_type().has_shape()) ranks[v.name()] = v.type().tensor_type().shape().dim_size();
  };
  for (const auto& v : copy.graph().value_info()) note(v);
  for (const auto& v : copy.graph().input()) note(v);
  for (const auto& v : copy.graph().output()) note(v);
  return ranks;
}

// Raises the default-domain opset of `m` from `from` to `to` (up to 21):
// attributes that became inputs move to int64/float initializers; ops whose meaning would
// change are refused, naming the node.
Status raise_opset(onnx::ModelProto& m, int64_t from, int64_t to, const std::map<std::string, int>& known,
                   const std::string& where) {
  static const std::set<std::string> kUnchanged = {
      "Add", "Sub", "Mul", "Div", "Pow", "Sqrt", "Relu", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "Exp", "Log",
      "Conv", "ConvTranspose", "MatMul", "Gemm", "BatchNormalization", "GlobalAveragePool", "AveragePool", "MaxPool",
      "Concat", "Transpose", "Reshape", "Shape", "Cast", "Gather", "Flatten", "Identity", "ReduceMean", "ReduceMax",
      "ReduceMin", "ReduceSum", "ReduceProd", "ReduceL1", "ReduceL2", "ReduceSumSquare", "ReduceLogSum",
      "ReduceLogSumExp", "LeakyRelu", "Constant", "ConstantOfShape", "Erf", "Where", "Equal", "Less", "Greater", "Not",
      "Floor", "Ceil", "Neg", "Abs", "PRelu", "InstanceNormalization", "Expand", "Range", "Min", "Max", "Sum",
      "Reciprocal", "Sin", "Cos", "Elu", "Softplus", "GlobalMaxPool", "Tile", "ArgMax", "ArgMin", "DepthToSpace",
      "SpaceToDepth", "Unsqueeze", "Squeeze", "Slice", "Clip", "Softmax", "LogSoftmax", "Resize"};
  onnx::GraphProto* g = m.mutable_graph();
  std::map<std::string, int> ranks;
  bool ranks_known = false;
  int counter = 0;
  auto add_ints = [&](const std::string& base, const std::vector<int64_t>& v) {
    const std::string name = base + "_opset" + std::to_string(to) + "_" + std::to_string(counter++);
    set_ints_tensor(g->add_initializer(), name, v);
    return name;
  };
  for (int i = 0; i < g->node_size(); ++i) {
    onnx::NodeProto* n = g->mutable_node(i);
    if (!default_domain(*n)) continue;
    const std::string label = where + ": node '" + node_name(*n, i) + "' (" + n->op_type() + ")";
    const std::string& op = n->op_type();
    if (!kUnchanged.count(op))
      return unsupported(label, ": cannot raise opset ", from, " to ", to, " for this op (the quantizer needs ", to,
                         " for per-channel scales)");
    auto ints = [&](const char* name) -> std::vector<int64_t> {
      const auto* a = find_attr(*n, name);
      return a ? std::vector<int64_t>(a->ints().begin(), a->ints().end()) : std::vector<int64_t>{};
    };
    if (op == "Slice" && from < 10) {
      const std::vector<int64_t> starts = ints("starts"), ends = ints("ends"), axes = ints("axes");
      n->add_input(add_ints(n->name() + "_starts", starts));
      n->add_input(add_ints(n->name() + "_ends", ends));
      if (!axes.empty()) n->add_input(add_ints(n->name() + "_axes", axes));
      for (const char* a : {"starts", "ends", "axes"}) erase_attr(n, a);
    } else if (op == "Clip" && from < 11) {
      const auto* lo = find_attr(*n, "min");
      const auto* hi = find_attr(*n, "max");
      auto add_float = [&](const char* what, float v) {
        TP* t = g->add_initializer();
        t->set_name(n->name() + "_" + what + "_opset" + std::to_string(to) + "_" + std::to_string(counter++));
        t->set_data_type(TP::FLOAT);
        t->add_float_data(v);
        return t->name();
      };
      if (lo || hi) n->add_input(lo ? add_float("min", lo->f()) : "");
      if (hi) n->add_input(add_float("max", hi->f()));
      erase_attr(n, "min");
      erase_attr(n, "max");
    } else if ((op == "Squeeze" || op == "Unsqueeze") && to >= 13 && from < 13) {
      const std::vector<int64_t> axes = ints("axes");
      if (!axes.empty()) n->add_input(add_ints(n->name() + "_axes", axes));
      erase_attr(n, "axes");
    } else if (op.rfind("Reduce", 0) == 0 && ((op == "ReduceSum" && to >= 13 && from < 13) || (to >= 18 && from < 18))) {
      // axes moved from attribute to input (ReduceSum at 13, the others at 18)
      const std::vector<int64_t> axes = ints("axes");
      if (!axes.empty()) n->add_input(add_ints(n->name() + "_axes", axes));
      erase_attr(n, "axes");
    } else if ((op == "Softmax" || op == "LogSoftmax") && to >= 13 && from < 13) {
      // Before 13 the input is flattened to 2-D at `axis`; the same as 13 only on the last axis.
      if (!ranks_known && !known.count(n->input(0))) ranks = tensor_ranks(m), ranks_known = true;
      const auto* a = find_attr(*n, "axis");
      int64_t axis = a ? a->i() : 1;
      int rank = -1;
      if (auto k = known.find(n->input(0)); k != known.end()) rank = k->second;
      else if (auto r = ranks.find(n->input(0)); r != ranks.end()) rank = r->second;
      if (rank < 0) return unsupported(label, ": input rank unknown, cannot raise opset ", from, " to ", to);
      if (axis < 0) axis += rank;
      if (axis != rank - 1)
        return unsupported(label, ": axis ", axis, " of a rank-", rank, " input changes meaning at opset 13");
    } else if (op == "Resize" && from < 11) {
      return unsupported(label, ": Resize before opset 11 changes meaning when raised");
    }
  }
  return Status::ok();
}

Status check_model(const onnx::ModelProto& m, int64_t opset, const std::string& where) {
  if (opset > kCheckerMaxOpset) return Status::ok();  // newer than libonnx knows
  try {
    onnx::checker::check_model(m);
  } catch (const std::exception& e) {
    std::string msg = e.what();
    if (const size_t nl = msg.find("\n\n==>"); nl != std::string::npos) msg = msg.substr(0, nl);
    return internal_error(where, ": the QDQ model fails the ONNX checker: ", msg);
  }
  return Status::ok();
}

// Writes `c` as initializers <output>_quantized, <output>_scale (and a zero point for the
// 8-bit types, which ONNX Runtime's fusions expect), returning the DequantizeLinear node.
onnx::NodeProto constant_dq(onnx::GraphProto* g, const QdqConstant& c) {
  TP* q = g->add_initializer();
  q->set_name(c.output + "_quantized");
  for (int64_t d : c.q.shape().dims()) q->add_dims(d);
  const int64_t n = c.q.numel();
  if (c.bits == 32) {
    q->set_data_type(TP::INT32);
    q->set_raw_data(c.q.data(), c.q.nbytes());
  } else if (c.bits == 8) {
    q->set_data_type(TP::INT8);
    q->set_raw_data(c.q.data(), c.q.nbytes());
  } else {  // two 4-bit values per byte, the first in the low nibble
    q->set_data_type(kOnnxInt4);
    std::string packed(static_cast<size_t>(n / 2 + n % 2), '\0');
    const int8_t* v = c.q.as<int8_t>();
    for (int64_t i = 0; i < n; ++i)
      packed[static_cast<size_t>(i / 2)] |= static_cast<char>((static_cast<uint8_t>(v[i]) & 0x0f) << (4 * (i % 2)));
    q->set_raw_data(packed);
  }
  TP* s = g->add_initializer();
  s->set_name(c.output + "_scale");
  s->set_data_type(TP::FLOAT);
  const bool scalar = c.scale.numel() == 1 && c.block_size == 0;
  if (!scalar)
    for (int64_t d : c.scale.shape().dims()) s->add_dims(d);
  s->set_raw_data(c.scale.data(), c.scale.nbytes());
  onnx::NodeProto dq;
  dq.set_op_type("DequantizeLinear");
  dq.set_name(c.output + "_DequantizeLinear");
  dq.add_input(q->name());
  dq.add_input(s->name());
  if (c.bits != 32) {
    TP* z = g->add_initializer();
    z->set_name(c.output + "_zero_point");
    z->set_data_type(c.bits == 8 ? TP::INT8 : kOnnxInt4);
    if (!scalar)
      for (int64_t d : c.scale.shape().dims()) z->add_dims(d);
    const int64_t nz = c.scale.numel();
    z->set_raw_data(std::string(static_cast<size_t>(c.bits == 8 ? nz : nz / 2 + nz % 2), '\0'));
    dq.add_input(z->name());
  }
  dq.add_output(c.output);
  if (!scalar) {
    auto* a = dq.add_attribute();
    a->set_name("axis");
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(c.axis);
  }
  if (c.block_size) {
    auto* a = dq.add_attribute();
    a->set_name("block_size");
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(c.block_size);
  }
  return dq;
}

// QuantizeLinear -> DequantizeLinear on activation `a`, with its scale and zero point.
void activation_qdq(onnx::GraphProto* g, const QdqActivation& a, std::vector<onnx::NodeProto>& out) {
  const std::string q = a.tensor + "_QuantizeLinear_Output", dq = a.tensor + "_DequantizeLinear_Output";
  TP* s = g->add_initializer();
  s->set_name(a.tensor + "_scale");
  s->set_data_type(TP::FLOAT);
  s->set_raw_data(&a.scale, sizeof(float));
  TP* z = g->add_initializer();
  z->set_name(a.tensor + "_zero_point");
  z->set_data_type(TP::UINT8);
  z->set_raw_data(std::string(1, static_cast<char>(a.zero_point)));
  onnx::NodeProto qn, dqn;
  qn.set_op_type("QuantizeLinear");
  qn.set_name(a.tensor + "_QuantizeLinear");
  *qn.add_input() = a.tensor, *qn.add_input() = s->name(), *qn.add_input() = z->name();
  qn.add_output(q);
  dqn.set_op_type("DequantizeLinear");
  dqn.set_name(a.tensor + "_DequantizeLinear");
  *dqn.add_input() = q, *dqn.add_input() = s->name(), *dqn.add_input() = z->name();
  dqn.add_output(dq);
  out.push_back(std::move(qn));
  out.push_back(std::move(dqn));
}

// Points the inputs named in spec.uses at their new tensors; node names must be unique.
Status apply_uses(onnx::GraphProto* g, const QdqSpec& spec, const std::string& where) {
  std::map<std::string, int> index_of;
  for (int i = 0; i < g->node_size(); ++i)
    if (!index_of.emplace(node_name(g->node(i), i), i).second)
      return unsupported(where, ": node name '", node_name(g->node(i), i), "' is used twice; the quantizer names nodes uniquely");
  for (const QdqUse& u : spec.uses) {
    auto it = index_of.find(u.node);
    if (it == index_of.end()) return invalid_argument(where, ": no node '", u.node, "' to quantize");
    onnx::NodeProto* n = g->mutable_node(it->second);
    if (u.input < 0 || u.input >= n->input_size())
      return invalid_argument(where, ": node '", u.node, "' has no input ", u.input);
    n->set_input(u.input, u.tensor);
  }
  return Status::ok();
}

// Rebuilds the node list in topological order: constants' DequantizeLinear first, then each
// node followed by the Q/DQ pairs of the activations it produces; consumers read the DQ.
Status insert_qdq_nodes(onnx::GraphProto* g, const QdqSpec& spec, int64_t opset, const std::string& where) {
  std::map<std::string, const QdqActivation*> act;
  for (const QdqActivation& a : spec.activations) act[a.tensor] = &a;
  std::vector<onnx::NodeProto> nodes;
  for (const QdqConstant& c : spec.constants) {
    if (c.bits != 4 && c.bits != 8 && c.bits != 32) return invalid_argument(where, ": constant '", c.source, "': bits ", c.bits);
    if (c.bits == 4 && opset < 21) return invalid_argument(where, ": 4-bit weights need opset 21");
    if (c.block_size && opset < 21) return invalid_argument(where, ": block_size needs opset 21");
    nodes.push_back(constant_dq(g, c));
  }
  std::set<std::string> graph_inputs, produced;
  for (const auto& in : g->input()) graph_inputs.insert(in.name());
  for (const QdqActivation& a : spec.activations)
    if (graph_inputs.count(a.tensor)) activation_qdq(g, a, nodes);
  for (int i = 0; i < g->node_size(); ++i) {
    onnx::NodeProto n = g->node(i);
    for (int k = 0; k < n.input_size(); ++k)
      if (act.count(n.input(k))) n.set_input(k, n.input(k) + "_DequantizeLinear_Output");
    nodes.push_back(n);
    for (const std::string& o : n.output())
      if (auto it = act.find(o); it != act.end()) activation_qdq(g, *it->second, nodes), produced.insert(o);
  }
  for (const QdqActivation& a : spec.activations)
    if (!graph_inputs.count(a.tensor) && !produced.count(a.tensor))
      return invalid_argument(where, ": activation '", a.tensor, "' is produced by no node");
  g->clear_node();
  for (onnx::NodeProto& n : nodes) *g->add_node() = std::move(n);
  return Status::ok();
}

// Drops float initializers, Constant nodes and (old models) initializer inputs nothing reads.
void prune_unused(onnx::GraphProto* g) {
  std::set<std::string> old_inits, read, init_names;
  for (const auto& t : g->initializer()) old_inits.insert(t.name());
  for (const auto& n : g->node())
    for (const std::string& in : n.input()) read.insert(in);
  for (const auto& o : g->output()) read.insert(o.name());
  auto* inits = g->mutable_initializer();
  for (int i = inits->size() - 1; i >= 0; --i)
    if (!read.count(inits->Get(i).name())) inits->DeleteSubrange(i, 1);
  auto* all = g->mutable_node();
  for (int i = all->size() - 1; i >= 0; --i) {
    const auto& n = all->Get(i);
    if (n.op_type() == "Constant" && default_domain(n) && n.output_size() == 1 && !read.count(n.output(0)))
      all->DeleteSubrange(i, 1);
  }
  for (const auto& t : g->initializer()) init_names.insert(t.name());
  auto* ins = g->mutable_input();
  for (int i = ins->size() - 1; i >= 0; --i)
    if (old_inits.count(ins->Get(i).name()) && !init_names.count(ins->Get(i).name())) ins->DeleteSubrange(i, 1);
}

}  // namespace

Result<std::string> build_qdq_model(const std::string& model_path, const QdqSpec& spec) {
  const std::string where = "model '" + model_path + "'";
  std::ifstream f(model_path, std::ios::binary);
  if (!f) return io_error(where, ": cannot open");
  onnx::ModelProto m;
  if (!m.ParseFromIstream(&f)) return invalid_model(where, ": not a valid ONNX protobuf");
  int64_t opset = 0;
  int opset_index = -1;
  for (int i = 0; i < m.opset_import_size(); ++i)
    if (m.opset_import(i).domain().empty() || m.opset_import(i).domain() == "ai.onnx") {
      opset = m.opset_import(i).version();
      opset_index = i;
    }
  if (opset_index < 0) return invalid_model(where, ": no default-domain opset import");
  if (opset < spec.opset) {
    EP_RETURN_IF_ERROR(raise_opset(m, opset, spec.opset, spec.ranks, where));
    m.mutable_opset_import(opset_index)->set_version(spec.opset);
    opset = spec.opset;
  }
  m.set_ir_version(std::max<int64_t>(m.ir_version(), opset >= 21 ? 10 : 7));
  m.set_producer_name("edgepipe quantize");
  m.set_producer_version("0.1.0");
  onnx::GraphProto* g = m.mutable_graph();
  EP_RETURN_IF_ERROR(apply_uses(g, spec, where));
  EP_RETURN_IF_ERROR(insert_qdq_nodes(g, spec, opset, where));
  prune_unused(g);
  g->clear_value_info();  // intermediate shapes of the float model; the checker needs none
  EP_RETURN_IF_ERROR(check_model(m, opset, where));
  std::string bytes;
  if (!m.SerializeToString(&bytes)) return internal_error(where, ": cannot serialize the QDQ model");
  return bytes;
}

}  // namespace ep::onnx_export
