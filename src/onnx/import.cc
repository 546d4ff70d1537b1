#include "onnx/import.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <google/protobuf/io/coded_stream.h>

#include "onnx/checker.h"
#include "onnx/shape_inference/implementation.h"
#include "onnx/defs/schema.h"
#include "onnx/onnx_pb.h"
#include "onnx/tensor_proto.h"

namespace ep::onnx_import {
namespace {

// libonnx 1.12 knows default-domain opsets up to this version; newer models skip its checker.
constexpr int kCheckerMaxOpset = 17;

struct Importer {
  std::string base_dir;
  std::unique_ptr<ir::Graph> g = std::make_unique<ir::Graph>();

  Status fail_if_subgraph(const onnx::AttributeProto& a, const ir::Node& n) {
    if (a.type() == onnx::AttributeProto::GRAPH || a.type() == onnx::AttributeProto::GRAPHS)
      return unsupported(n.label(), ": control flow with subgraphs (attribute '", a.name(), "') is not supported");
    return Status::ok();
  }

  Result<ir::AttrValue> convert_attr(const onnx::AttributeProto& a, const ir::Node& n) {
    using AP = onnx::AttributeProto;
    EP_RETURN_IF_ERROR(fail_if_subgraph(a, n));
    const std::string ctx = n.label() + " attribute '" + a.name() + "'";
    switch (a.type()) {
      case AP::INT: return ir::AttrValue(static_cast<int64_t>(a.i()));
      case AP::FLOAT: return ir::AttrValue(a.f());
      case AP::STRING: return ir::AttrValue(a.s());
      case AP::INTS: return ir::AttrValue(std::vector<int64_t>(a.ints().begin(), a.ints().end()));
      case AP::FLOATS: return ir::AttrValue(std::vector<float>(a.floats().begin(), a.floats().end()));
      case AP::STRINGS: return ir::AttrValue(std::vector<std::string>(a.strings().begin(), a.strings().end()));
      case AP::TENSOR: {
        EP_ASSIGN_OR_RETURN(Tensor t, tensor_from_proto(a.t(), base_dir, ctx));
        return ir::AttrValue(std::make_shared<const Tensor>(std::move(t)));
      }
      case AP::UNDEFINED: {
        // Older exporters leave the type unset; infer it from the populated field.
        if (a.has_i()) return ir::AttrValue(static_cast<int64_t>(a.i()));
        if (a.has_f()) return ir::AttrValue(a.f());
        if (a.has_s()) return ir::AttrValue(a.s());
        if (a.ints_size()) return ir::AttrValue(std::vector<int64_t>(a.ints().begin(), a.ints().end()));
        if (a.floats_size()) return ir::AttrValue(std::vector<float>(a.floats().begin(), a.floats().end()));
        return invalid_model(ctx, ": has no type and no value");
      }
      default: return unsupported(ctx, ": attribute type ", static_cast<int>(a.type()), " is not supported");
    }
  }

  Status set_value_type(ir::Value* v, const onnx::ValueInfoProto& vi, bool record_dim_params) {
    if (!vi.has_type()) return Status::ok();
    if (!vi.type().has_tensor_type())
      return unsupported("value '", vi.name(), "' is not a tensor (sequences, maps and optionals are not supported)");
    const auto& tt = vi.type().tensor_type();
    if (tt.elem_type() != 0) {
      EP_ASSIGN_OR_RETURN(v->dtype, dtype_from_onnx(tt.elem_type(), "value '" + vi.name() + "'"));
    }
    if (!tt.has_shape()) return Status::ok();
    if (tt.shape().dim_size() > 32) return invalid_model("value '", vi.name(), "' has rank ", tt.shape().dim_size());
    std::vector<int64_t> dims;
    std::vector<std::string> params;
    for (const auto& d : tt.shape().dim()) {
      if (d.has_dim_value()) {
        if (d.dim_value() < 0) return invalid_model("value '", vi.name(), "' has negative dimension ", d.dim_value());
        dims.push_back(d.dim_value());
        params.emplace_back();
      } else {
        dims.push_back(-1);
        params.push_back(d.has_dim_param() ? d.dim_param() : "");
      }
    }
    v->shape = Shape(dims);
    if (record_dim_params) v->dim_params = params;
    return Status::ok();
  }

  Result<ir::Value*> value_for(const std::string& name, const ir::Node* user) {
    if (ir::Value* v = g->find_value(name)) return v;
    // Unknown names are created here; topological_sort() reports them if nothing produces them.
    return g->add_value(name);
  }

  Status constant_node_to_value(const onnx::NodeProto& np, const ir::Node& label_node) {
    if (np.output_size() != 1 || np.attribute_size() != 1)
      return invalid_model(label_node.label(), ": Constant needs exactly one output and one value attribute");
    const auto& a = np.attribute(0);
    std::shared_ptr<const Tensor> t;
    const std::string ctx = label_node.label();
    if (a.name() == "value") {
      EP_ASSIGN_OR_RETURN(Tensor v, tensor_from_proto(a.t(), base_dir, ctx));
      t = std::make_shared<const Tensor>(std::move(v));
    } else if (a.name() == "value_float") {
      t = std::make_shared<const Tensor>(Tensor::from_vector<float>(Shape{}, {a.f()}));
    } else if (a.name() == "value_floats") {
      std::vector<float> v(a.floats().begin(), a.floats().end());
      t = std::make_shared<const Tensor>(Tensor::from_vector<float>(Shape{static_cast<int64_t>(v.size())}, v));
    } else if (a.name() == "value_int") {
      t = std::make_shared<const Tensor>(Tensor::from_vector<int64_t>(Shape{}, {a.i()}));
    } else if (a.name() == "value_ints") {
      std::vector<int64_t> v(a.ints().begin(), a.ints().end());
      t = std::make_shared<const Tensor>(Tensor::from_vector<int64_t>(Shape{static_cast<int64_t>(v.size())}, v));
    } else {
      return unsupported(ctx, ": Constant attribute '", a.name(), "' is not supported");
    }
    const std::string& out = np.output(0);
    if (out.empty()) return invalid_model(ctx, ": Constant output has no name");
    // A name already read by an earlier node (listed out of order) is fine; one with a definition is not.
    ir::Value* v = g->find_value(out);
    if (v && (v->producer || v->is_graph_input || v->is_constant()))
      return invalid_model(ctx, ": value '", out, "' is defined twice");
    if (!v) v = g->add_value(out);
    v->dtype = t->dtype();
    v->shape = t->shape();
    v->constant = std::move(t);
    return Status::ok();
  }

  Status add_node(const onnx::NodeProto& np, size_t index) {
    auto tmp = std::make_unique<ir::Node>();  // for labels before the node exists
    tmp->name = np.name().empty() ? np.op_type() + "_" + std::to_string(index) : np.name();
    tmp->op_type = np.op_type();
    tmp->domain = np.domain() == "ai.onnx" ? "" : np.domain();
    if (np.op_type().empty()) return invalid_model("node ", index, " has no op_type");
    auto op_it = g->opsets.find(tmp->domain);
    if (op_it == g->opsets.end())
      return invalid_model(tmp->label(), ": domain '", tmp->domain, "' is not in the model's opset_import");
    tmp->opset = static_cast<int>(op_it->second);
    if (tmp->domain.empty() && np.op_type() == "Constant") return constant_node_to_value(np, *tmp);

    std::vector<ir::Value*> ins, outs;
    for (const std::string& name : np.input()) {
      if (name.empty()) {
        ins.push_back(nullptr);
        continue;
      }
      EP_ASSIGN_OR_RETURN(ir::Value * v, value_for(name, tmp.get()));
      ins.push_back(v);
    }
    for (const std::string& name : np.output()) {
      if (name.empty()) {
        outs.push_back(nullptr);
        continue;
      }
      ir::Value* v = g->find_value(name);
      if (v && (v->producer || v->is_graph_input || v->is_constant()))
        return invalid_model(tmp->label(), ": output '", name, "' is already defined elsewhere");
      // Two slots of one node writing one value would alias buffers of different sizes.
      if (v && std::find(outs.begin(), outs.end(), v) != outs.end())
        return invalid_model(tmp->label(), ": output '", name, "' is listed twice");
      if (!v) v = g->add_value(name);
      outs.push_back(v);
    }
    ir::Node* n = g->add_node(tmp->name, tmp->op_type, ins, outs);
    n->domain = tmp->domain;
    n->opset = tmp->opset;
    for (const auto& a : np.attribute()) {
      if (a.name().empty()) return invalid_model(n->label(), ": attribute without a name");
      if (!a.ref_attr_name().empty()) return unsupported(n->label(), ": attribute references are not supported");
      EP_ASSIGN_OR_RETURN(ir::AttrValue v, convert_attr(a, *n));
      if (!n->attrs.emplace(a.name(), std::move(v)).second)
        return invalid_model(n->label(), ": attribute '", a.name(), "' appears twice");
    }
    return Status::ok();
  }

  Status run(const onnx::ModelProto& m) {
    g->ir_version = m.ir_version();
    g->producer_name = m.producer_name();
    for (const auto& op : m.opset_import()) {
      const std::string domain = op.domain() == "ai.onnx" ? "" : op.domain();
      g->opsets[domain] = op.version();
    }
    // A model may import only another domain (the training ops do); then no node may use ai.onnx.
    if (g->opsets.count("")) {
      const int64_t opset = g->opsets[""];
      if (opset < kMinOpset || opset > kMaxOpset)
        return unsupported("default-domain opset ", opset, " is outside the supported range ", kMinOpset, "..",
                           kMaxOpset);
    }
    if (!m.has_graph()) return invalid_model("the model has no graph");
    const onnx::GraphProto& gp = m.graph();
    g->name = gp.name();

    std::set<std::string> initializer_names;
    for (const auto& init : gp.initializer()) {
      if (init.name().empty()) return invalid_model("an initializer has no name");
      if (!initializer_names.insert(init.name()).second)
        return invalid_model("initializer '", init.name(), "' is defined twice");
      EP_ASSIGN_OR_RETURN(Tensor t, tensor_from_proto(init, base_dir, "initializer"));
      ir::Value* v = g->add_value(init.name());
      v->dtype = t.dtype();
      v->shape = t.shape();
      v->constant = std::make_shared<const Tensor>(std::move(t));
    }
    if (gp.sparse_initializer_size() > 0) return unsupported("sparse initializers are not supported");
    for (const auto& in : gp.input()) {
      if (in.name().empty()) return invalid_model("a graph input has no name");
      if (initializer_names.count(in.name())) continue;  // IR < 4 lists initializers as inputs too
      if (g->find_value(in.name())) return invalid_model("graph input '", in.name(), "' is listed twice");
      ir::Value* v = g->add_value(in.name());
      v->is_graph_input = true;
      EP_RETURN_IF_ERROR(set_value_type(v, in, true));
      if (v->dtype == DType::undefined) return invalid_model("graph input '", in.name(), "' has no element type");
      g->inputs().push_back(v);
    }
    for (size_t i = 0; i < static_cast<size_t>(gp.node_size()); ++i) EP_RETURN_IF_ERROR(add_node(gp.node(static_cast<int>(i)), i));
    for (const auto& out : gp.output()) {
      ir::Value* v = g->find_value(out.name());
      if (!v) return invalid_model("graph output '", out.name(), "' is not produced by any node");
      if (v->is_graph_output) return invalid_model("graph output '", out.name(), "' is listed twice");
      v->is_graph_output = true;
      if (v->dtype == DType::undefined && out.has_type() && out.type().has_tensor_type() &&
          out.type().tensor_type().elem_type()) {
        EP_ASSIGN_OR_RETURN(v->dtype, dtype_from_onnx(out.type().tensor_type().elem_type(), "graph output '" + out.name() + "'"));
      }
      g->outputs().push_back(v);
    }
    if (g->outputs().empty()) return invalid_model("the graph has no outputs");
    EP_RETURN_IF_ERROR(g->topological_sort());
    return Status::ok();
  }
};

Status run_onnx_checker(const onnx::ModelProto& m, const std::string& where, const std::string& base_dir) {
  int64_t opset = 0;
  std::unordered_map<std::string, int> imports;
  for (const auto& op : m.opset_import()) {
    imports[op.domain()] = static_cast<int>(op.version());
    if (op.domain().empty() || op.domain() == "ai.onnx") opset = op.version();
  }
  if (opset > kCheckerMaxOpset) return Status::ok();  // newer than libonnx knows: rely on our own checks
  try {
    onnx::checker::CheckerContext ctx;
    ctx.set_ir_version(static_cast<int>(m.ir_version()));
    ctx.set_opset_imports(imports);
    ctx.set_model_dir(base_dir);
    // Initializers and nodes against their schemas. Graph input/output declarations are
    // validated by the importer itself: the checker demands output shapes that ONNX
    // Runtime and exporters treat as optional.
    onnx::checker::LexicalScopeContext lex;
    for (const auto& t : m.graph().initializer()) onnx::checker::check_tensor(t, ctx);
    for (const auto& n : m.graph().node()) onnx::checker::check_node(n, ctx, lex);
  } catch (const std::exception& e) {
    std::string msg = e.what();
    if (const size_t nl = msg.find("\n\n==>"); nl != std::string::npos) msg = msg.substr(0, nl);
    return invalid_model(where, ": ONNX checker: ", msg);
  }
  return Status::ok();
}

}  // namespace

Result<std::unique_ptr<ir::Graph>> import_model(const void* data, size_t size, const std::string& where,
                                                const std::string& base_dir) {
  if (size == 0) return invalid_model(where, ": the file is empty");
  if (size >= kMaxModelBytes) return resource_exhausted(where, ": ", size, " bytes exceeds the 2 GiB protobuf limit");
  onnx::ModelProto m;
  google::protobuf::io::CodedInputStream stream(static_cast<const uint8_t*>(data), static_cast<int>(size));
  stream.SetTotalBytesLimit(static_cast<int>(size));
  stream.SetRecursionLimit(64);
  if (!m.ParseFromCodedStream(&stream) || !stream.ConsumedEntireMessage())
    return invalid_model(where, ": not a valid ONNX protobuf (truncated or corrupt)");
  if (!m.has_graph() && m.opset_import_size() == 0) return invalid_model(where, ": not an ONNX model (no graph, no opset_import)");
  Importer imp{base_dir};
  // Every importer error is prefixed here, once, with the file: "model 'x.onnx': node ...".
  EP_RETURN_IF_ERROR(imp.run(m).with_context(where));
  // Our own checks ran first for clearer messages; the checker adds the schema-level ones.
  EP_RETURN_IF_ERROR(run_onnx_checker(m, where, base_dir));
  return std::move(imp.g);
}

Result<std::vector<InferredOutput>> onnx_inferred_outputs(const std::string& path) {
  EP_ASSIGN_OR_RETURN(std::unique_ptr<ir::Graph> checked, import_model_file(path));  // validated first
  auto opset = checked->opsets.find("");
  if (opset == checked->opsets.end() || opset->second > kCheckerMaxOpset)
    return unsupported("model '", path, "': libonnx's shape inference knows opsets up to ", kCheckerMaxOpset);
  std::ifstream f(path, std::ios::binary);
  onnx::ModelProto m;
  if (!m.ParseFromIstream(&f)) return io_error("model '", path, "': cannot read");
  try {
    onnx::shape_inference::InferShapes(m, onnx::OpSchemaRegistry::Instance(), onnx::ShapeInferenceOptions(false, 0, false));
  } catch (const std::exception& e) {
    return invalid_model("model '", path, "': ONNX shape inference: ", e.what());
  }
  std::vector<InferredOutput> outs;
  for (const auto& o : m.graph().output()) {
    InferredOutput r{o.name(), DType::undefined, {}};
    if (o.has_type() && o.type().has_tensor_type()) {
      const auto& tt = o.type().tensor_type();
      auto dt = dtype_from_onnx(tt.elem_type(), o.name());
      if (dt.is_ok()) r.dtype = *dt;
      if (tt.has_shape())
        for (const auto& d : tt.shape().dim())
          r.dims.push_back(d.has_dim_value() ? std::to_string(d.dim_value()) : (d.has_dim_param() ? d.dim_param() : "?"));
    }
    outs.push_back(std::move(r));
  }
  return outs;
}

Result<std::unique_ptr<ir::Graph>> import_model_file(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return io_error("model '", path, "': no such file");
  const uint64_t size = fs::file_size(path, ec);
  if (ec) return io_error("model '", path, "': cannot stat");
  if (size >= kMaxModelBytes) return resource_exhausted("model '", path, "': ", size, " bytes exceeds the 2 GiB protobuf limit");
  std::ifstream f(path, std::ios::binary);
  if (!f) return io_error("model '", path, "': cannot open");
  std::string bytes(size, '\0');
  f.read(bytes.data(), static_cast<std::streamsize>(size));
  if (!f) return io_error("model '", path, "': read failed");
  std::string dir = fs::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  return import_model(bytes.data(), bytes.size(), "model '" + path + "'", dir);
}

}  // namespace ep::onnx_import
