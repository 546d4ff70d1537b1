#include "onnx/export.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "onnx/checker.h"
#include "onnx/onnx_pb.h"
#include "onnx/shape_inference/implementation.h"
#include "onnx/defs/schema.h"

namespace ep::onnx_export {
namespace {

// libonnx 1.12 knows default-domain opsets up to this version (as in import.cc).
constexpr int kCheckerMaxOpset = 17;

int onnx_type(DType t) {
  using TP = onnx::TensorProto;
  switch (t) {
    case DType::f32: return TP::FLOAT;
    case DType::f16: return TP::FLOAT16;
    case DType::bf16: return TP::BFLOAT16;
    case DType::f64: return TP::DOUBLE;
    case DType::i8: return TP::INT8;
    case DType::u8: return TP::UINT8;
    case DType::i16: return TP::INT16;
    case DType::u16: return TP::UINT16;
    case DType::i32: return TP::INT32;
    case DType::u32: return TP::UINT32;
    case DType::i64: return TP::INT64;
    case DType::u64: return TP::UINT64;
    case DType::boolean: return TP::BOOL;
    default: return TP::UNDEFINED;
  }
}

Status set_value_info(onnx::ValueInfoProto* vi, const ShardTensor& t) {
  const int type = onnx_type(t.dtype);
  if (type == onnx::TensorProto::UNDEFINED) return invalid_argument("shard tensor '", t.name, "' has no ONNX element type");
  if (!t.shape.is_static()) return invalid_argument("shard tensor '", t.name, "' has an open shape ", t.shape.to_string());
  vi->set_name(t.name);
  auto* tt = vi->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(type);
  auto* shape = tt->mutable_shape();
  for (int64_t d : t.shape.dims()) shape->add_dim()->set_dim_value(d);
  return Status::ok();
}

// The name the importer gives a node (import.cc, Importer::add_node).
std::string node_name(const onnx::NodeProto& n, size_t index) {
  return n.name().empty() ? n.op_type() + "_" + std::to_string(index) : n.name();
}

Status check(const onnx::ModelProto& m, const std::string& where) {
  int64_t opset = 0;
  for (const auto& op : m.opset_import())
    if (op.domain().empty() || op.domain() == "ai.onnx") opset = op.version();
  if (opset > kCheckerMaxOpset) return Status::ok();  // newer than libonnx knows
  try {
    onnx::checker::check_model(m);
    onnx::ModelProto copy = m;  // inference must agree with the declared shapes (strict mode)
    onnx::shape_inference::InferShapes(copy, onnx::OpSchemaRegistry::Instance(), onnx::ShapeInferenceOptions(true, 1, false));
  } catch (const std::exception& e) {
    std::string msg = e.what();
    if (const size_t nl = msg.find("\n\n==>"); nl != std::string::npos) msg = msg.substr(0, nl);
    return internal_error(where, ": the shard fails the ONNX checker: ", msg);
  }
  return Status::ok();
}

Status build_shard(const onnx::ModelProto& src, const std::map<std::string, size_t>& index_of, const ShardSpec& spec,
                   onnx::ModelProto& out) {
  const onnx::GraphProto& g = src.graph();
  out.set_ir_version(src.ir_version());
  out.set_producer_name("edgepipe partition");
  out.set_producer_version("0.1.0");
  *out.mutable_opset_import() = src.opset_import();
  onnx::GraphProto* sg = out.mutable_graph();
  sg->set_name(g.name() + "_shard");
  std::set<size_t> chosen;
  for (const std::string& name : spec.nodes) {
    auto it = index_of.find(name);
    if (it == index_of.end()) return invalid_argument("shard '", spec.path, "': the model has no node '", name, "'");
    chosen.insert(it->second);
  }
  // Names the chosen nodes read; Constant nodes and initializers they need come along.
  std::set<std::string> used;
  for (size_t i : chosen)
    for (const std::string& in : g.node(static_cast<int>(i)).input())
      if (!in.empty()) used.insert(in);
  std::set<std::string> shard_inputs;
  for (const ShardTensor& t : spec.inputs) shard_inputs.insert(t.name);
  for (int i = 0; i < g.node_size(); ++i) {
    const onnx::NodeProto& n = g.node(i);
    const bool constant = n.op_type() == "Constant" && (n.domain().empty() || n.domain() == "ai.onnx");
    const bool wanted = chosen.count(static_cast<size_t>(i)) ||
                        (constant && n.output_size() == 1 && used.count(n.output(0)) && !shard_inputs.count(n.output(0)));
    if (wanted) *sg->add_node() = n;  // original order is topological
  }
  for (const auto& init : g.initializer())
    if (used.count(init.name()) && !shard_inputs.count(init.name())) {
      if (init.data_location() == onnx::TensorProto::EXTERNAL)
        return unsupported("initializer '", init.name(), "' uses external data; shards are written self-contained only");
      *sg->add_initializer() = init;
    }
  for (const ShardTensor& t : spec.inputs) EP_RETURN_IF_ERROR(set_value_info(sg->add_input(), t));
  for (const ShardTensor& t : spec.outputs) EP_RETURN_IF_ERROR(set_value_info(sg->add_output(), t));
  return Status::ok();
}

}  // namespace

Status write_shards(const std::string& model_path, const std::vector<ShardSpec>& shards) {
  std::ifstream f(model_path, std::ios::binary);
  if (!f) return io_error("model '", model_path, "': cannot open");
  onnx::ModelProto src;
  if (!src.ParseFromIstream(&f)) return invalid_model("model '", model_path, "': not a valid ONNX protobuf");
  std::map<std::string, size_t> index_of;
  for (int i = 0; i < src.graph().node_size(); ++i) {
    const std::string name = node_name(src.graph().node(i), static_cast<size_t>(i));
    if (!index_of.emplace(name, static_cast<size_t>(i)).second)
      return unsupported("model '", model_path, "': node name '", name, "' is used twice; shards name nodes uniquely");
  }
  for (const ShardSpec& spec : shards) {
    onnx::ModelProto m;
    EP_RETURN_IF_ERROR(build_shard(src, index_of, spec, m));
    EP_RETURN_IF_ERROR(check(m, "shard '" + spec.path + "'"));
    std::ofstream o(spec.path, std::ios::binary | std::ios::trunc);
    if (!o || !m.SerializeToOstream(&o)) return io_error("shard '", spec.path, "': cannot write");
  }
  return Status::ok();
}

}  // namespace ep::onnx_export
