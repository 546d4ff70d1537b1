#include "partition/plan.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "onnx/export.h"

namespace ep::partition {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr size_t kMaxNameBytes = 4096;

PlanTensor plan_tensor(const TensorSite& t) { return PlanTensor{t.name, t.dtype, t.shape, t.bytes}; }

json tensor_json(const PlanTensor& t) {
  return {{"name", t.name}, {"dtype", std::string(dtype_name(t.dtype))}, {"shape", t.shape.dims()}, {"bytes", t.bytes}};
}

json tensors_json(const std::vector<PlanTensor>& ts) {
  json a = json::array();
  for (const PlanTensor& t : ts) a.push_back(tensor_json(t));
  return a;
}

std::vector<PlanTensor> pick(const ModelAnalysis& a, const std::vector<size_t>& idx) {
  std::vector<PlanTensor> r;
  for (size_t i : idx) r.push_back(plan_tensor(a.tensors[i]));
  return r;
}

// --- reading: every field checked, errors name the field ---

Result<const json*> field(const json& o, const char* key, json::value_t type, const std::string& where) {
  if (!o.is_object()) return invalid_argument(where, ": expected an object");
  auto it = o.find(key);
  if (it == o.end()) return invalid_argument(where, ": missing '", key, "'");
  const bool ok = it->type() == type || (type == json::value_t::number_float && it->is_number()) ||
                  (type == json::value_t::number_integer && it->is_number_integer());
  if (!ok) return invalid_argument(where, ": '", key, "' has the wrong type");
  return &*it;
}

Result<std::string> get_string(const json& o, const char* key, const std::string& where) {
  EP_ASSIGN_OR_RETURN(const json* v, field(o, key, json::value_t::string, where));
  std::string s = v->get<std::string>();
  if (s.size() > kMaxNameBytes) return invalid_argument(where, ": '", key, "' is longer than ", kMaxNameBytes, " bytes");
  return s;
}

Result<double> get_number(const json& o, const char* key, const std::string& where, double lo, double hi) {
  EP_ASSIGN_OR_RETURN(const json* v, field(o, key, json::value_t::number_float, where));
  const double d = v->get<double>();
  if (!(d >= lo && d <= hi)) return invalid_argument(where, ": '", key, "' = ", d, " is outside ", lo, "..", hi);
  return d;
}

Result<Shape> get_shape(const json& v, const std::string& where) {
  if (!v.is_array() || v.size() > 32) return invalid_argument(where, ": shape must be an array of at most 32 dims");
  std::vector<int64_t> dims;
  for (const json& d : v) {
    if (!d.is_number_integer() || d.get<int64_t>() < 0) return invalid_argument(where, ": shape dims must be integers >= 0");
    dims.push_back(d.get<int64_t>());
  }
  Shape s(dims);
  EP_ASSIGN_OR_RETURN(int64_t n, checked_numel(s));
  if (n > (int64_t{1} << 34)) return invalid_argument(where, ": shape ", s.to_string(), " is too large");
  return s;
}

Result<DType> parse_dtype(const std::string& s, const std::string& where) {
  for (DType t : {DType::f32, DType::f16, DType::bf16, DType::f64, DType::i8, DType::u8, DType::i16, DType::u16,
                  DType::i32, DType::u32, DType::i64, DType::u64, DType::boolean})
    if (dtype_name(t) == s) return t;
  return invalid_argument(where, ": unknown dtype '", s, "'");
}

Result<std::vector<PlanTensor>> get_tensors(const json& o, const char* key, const std::string& where) {
  EP_ASSIGN_OR_RETURN(const json* arr, field(o, key, json::value_t::array, where));
  if (arr->size() > kMaxTensorsPerStage) return invalid_argument(where, ": too many tensors in '", key, "'");
  std::vector<PlanTensor> r;
  for (size_t i = 0; i < arr->size(); ++i) {
    const std::string w = where + "." + key + "[" + std::to_string(i) + "]";
    const json& t = (*arr)[i];
    PlanTensor p;
    EP_ASSIGN_OR_RETURN(p.name, get_string(t, "name", w));
    if (p.name.empty()) return invalid_argument(w, ": empty tensor name");
    EP_ASSIGN_OR_RETURN(std::string dt, get_string(t, "dtype", w));
    EP_ASSIGN_OR_RETURN(p.dtype, parse_dtype(dt, w));
    EP_ASSIGN_OR_RETURN(const json* sh, field(t, "shape", json::value_t::array, w));
    EP_ASSIGN_OR_RETURN(p.shape, get_shape(*sh, w));
    p.bytes = p.shape.numel() * static_cast<int64_t>(dtype_size(p.dtype));
    r.push_back(std::move(p));
  }
  return r;
}

// A shard name is a plain file name ending in .onnx; the file must be a regular file
// inside `dir` once symbolic links are resolved.
Status check_shard_path(const std::string& name, const std::string& dir, const std::string& where) {
  if (name.empty() || name.find('/') != std::string::npos || name.find('\\') != std::string::npos || name == "." ||
      name == ".." || name.size() < 6 || name.substr(name.size() - 5) != ".onnx")
    return invalid_argument(where, ": shard '", name, "' must be a plain file name ending in .onnx");
  std::error_code ec;
  const fs::path base = fs::weakly_canonical(fs::path(dir), ec);
  const fs::path file = fs::weakly_canonical(fs::path(dir) / name, ec);
  if (ec || file.parent_path() != base) return invalid_argument(where, ": shard '", name, "' resolves outside the plan folder");
  if (!fs::is_regular_file(file, ec)) return io_error(where, ": shard file '", (fs::path(dir) / name).string(), "' is missing");
  return Status::ok();
}

Result<PlanStage> parse_stage(const json& sj, const std::string& dir, const std::string& w) {
  PlanStage s;
  EP_ASSIGN_OR_RETURN(s.shard, get_string(sj, "shard", w));
  EP_RETURN_IF_ERROR(check_shard_path(s.shard, dir, w));
  EP_ASSIGN_OR_RETURN(const json* dev, field(sj, "device", json::value_t::object, w));
  EP_ASSIGN_OR_RETURN(double threads, get_number(*dev, "threads", w + ".device", 1, 1024));
  s.device.threads = static_cast<int>(threads);
  EP_ASSIGN_OR_RETURN(const json* cores, field(*dev, "cores", json::value_t::array, w + ".device"));
  if (cores->size() > 1024) return invalid_argument(w, ".device: too many cores");
  for (const json& c : *cores) {
    if (!c.is_number_integer() || c.get<int64_t>() < 0 || c.get<int64_t>() >= 1024)
      return invalid_argument(w, ".device: cores must be integers in 0..1023");
    s.device.cores.push_back(static_cast<int>(c.get<int64_t>()));
  }
  EP_ASSIGN_OR_RETURN(s.predicted_ms, get_number(sj, "predicted_ms", w, 0, 1e9));
  EP_ASSIGN_OR_RETURN(s.inputs, get_tensors(sj, "inputs", w));
  EP_ASSIGN_OR_RETURN(s.outputs, get_tensors(sj, "outputs", w));
  if (s.outputs.empty()) return invalid_argument(w, ": a stage must have outputs");
  return s;
}

}  // namespace

Result<Plan> write_plan(const std::string& model_path, const ModelAnalysis& a, const Split& split,
                        const std::vector<Device>& devices, const CostTable& costs, Plan plan, const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return io_error("plan folder '", dir, "': ", ec.message());
  const size_t k = split.bounds.size() - 1;
  std::vector<onnx_export::ShardSpec> specs;
  for (size_t s = 0; s < k; ++s) {
    const size_t q = split.bounds[s], p = split.bounds[s + 1];
    PlanStage st;
    st.shard = "shard_" + std::to_string(s) + ".onnx";
    st.device = devices[s];
    st.first_node = a.nodes[q];
    st.last_node = a.nodes[p - 1];
    st.num_nodes = p - q;
    st.predicted_ms = split.stage_s[s] * 1e3;
    st.inputs = pick(a, shard_inputs(a, q, p));
    st.outputs = pick(a, shard_outputs(a, q, p));
    onnx_export::ShardSpec spec;
    spec.nodes.assign(a.nodes.begin() + static_cast<long>(q), a.nodes.begin() + static_cast<long>(p));
    for (const PlanTensor& t : st.inputs) spec.inputs.push_back({t.name, t.dtype, t.shape});
    for (const PlanTensor& t : st.outputs) spec.outputs.push_back({t.name, t.dtype, t.shape});
    if (spec.outputs.empty()) return internal_error("stage ", s, " produces nothing a later stage or the caller reads");
    spec.path = (fs::path(dir) / st.shard).string();
    specs.push_back(std::move(spec));
    plan.stages.push_back(std::move(st));
    if (s > 0) {
      PlanCut c;
      c.after_node = a.nodes[q - 1];
      c.tensors = pick(a, a.crossing[q]);
      c.bytes = a.cut_bytes[q];
      c.predicted_link_ms = split.link_s[s - 1] * 1e3;
      plan.cuts.push_back(std::move(c));
    }
  }
  for (size_t i = 0; i < a.tensors.size(); ++i) {
    if (a.tensors[i].producer < 0) plan.graph_inputs.push_back(plan_tensor(a.tensors[i]));
    if (a.tensors[i].graph_output) plan.graph_outputs.push_back(plan_tensor(a.tensors[i]));
  }
  plan.link = costs.link;
  plan.contention = costs.contention;
  plan.predicted_bottleneck_ms = split.bottleneck_s * 1e3;
  plan.predicted_latency_ms = split.latency_s * 1e3;
  EP_RETURN_IF_ERROR(onnx_export::write_shards(model_path, specs));
  std::ofstream f(fs::path(dir) / "plan.json", std::ios::trunc);
  f << plan_to_json(plan);
  if (!f) return io_error("plan folder '", dir, "': cannot write plan.json");
  return plan;
}

std::string plan_to_json(const Plan& p) {
  json j;
  j["format"] = "edgepipe-partition-plan";
  j["version"] = kPlanVersion;
  j["source_model"] = p.source_model;
  json shapes = json::object();
  for (const auto& [n, s] : p.input_shapes) shapes[n] = s.dims();
  j["input_shapes"] = shapes;
  j["objective"] = p.objective;
  j["link"] = {{"bytes_per_s", p.link.bytes_per_s}, {"latency_s", p.link.latency_s}};
  j["contention_factor"] = p.contention;
  j["whole_model_ms"] = p.whole_ms;
  j["predicted"] = {{"bottleneck_ms", p.predicted_bottleneck_ms},
                    {"throughput_fps", p.predicted_bottleneck_ms > 0 ? 1e3 / p.predicted_bottleneck_ms : 0.0},
                    {"latency_ms", p.predicted_latency_ms}};
  j["cut_rule"] = p.cut_rule;
  j["handover_layout"] = p.handover_layout;
  j["graph_inputs"] = tensors_json(p.graph_inputs);
  j["graph_outputs"] = tensors_json(p.graph_outputs);
  json stages = json::array();
  for (const PlanStage& s : p.stages)
    stages.push_back({{"shard", s.shard},
                      {"device", {{"threads", s.device.threads}, {"cores", s.device.cores}}},
                      {"first_node", s.first_node}, {"last_node", s.last_node}, {"nodes", s.num_nodes},
                      {"predicted_ms", s.predicted_ms}, {"inputs", tensors_json(s.inputs)},
                      {"outputs", tensors_json(s.outputs)}});
  j["stages"] = stages;
  json cuts = json::array();
  for (const PlanCut& c : p.cuts)
    cuts.push_back({{"after_node", c.after_node}, {"bytes", c.bytes}, {"predicted_link_ms", c.predicted_link_ms},
                    {"tensors", tensors_json(c.tensors)}});
  j["cuts"] = cuts;
  return j.dump(2) + "\n";
}

Result<Plan> parse_plan(const std::string& text, const std::string& dir) {
  const std::string where = "plan '" + (fs::path(dir) / "plan.json").string() + "'";
  if (text.size() > kMaxPlanBytes) return invalid_argument(where, ": larger than ", kMaxPlanBytes, " bytes");
  const json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return invalid_argument(where, ": not a JSON object");
  EP_ASSIGN_OR_RETURN(std::string format, get_string(j, "format", where));
  if (format != "edgepipe-partition-plan") return invalid_argument(where, ": format '", format, "' is not a partition plan");
  EP_ASSIGN_OR_RETURN(double version, get_number(j, "version", where, 1, 1e9));
  if (version != kPlanVersion) return unsupported(where, ": version ", version, "; this edgepipe reads version ", kPlanVersion);
  Plan p;
  EP_ASSIGN_OR_RETURN(p.source_model, get_string(j, "source_model", where));
  EP_ASSIGN_OR_RETURN(p.objective, get_string(j, "objective", where));
  EP_ASSIGN_OR_RETURN(const json* shapes, field(j, "input_shapes", json::value_t::object, where));
  for (auto it = shapes->begin(); it != shapes->end(); ++it) {
    EP_ASSIGN_OR_RETURN(Shape s, get_shape(it.value(), where + ".input_shapes." + it.key()));
    p.input_shapes[it.key()] = s;
  }
  EP_ASSIGN_OR_RETURN(const json* link, field(j, "link", json::value_t::object, where));
  EP_ASSIGN_OR_RETURN(p.link.bytes_per_s, get_number(*link, "bytes_per_s", where + ".link", 0, 1e15));
  EP_ASSIGN_OR_RETURN(p.link.latency_s, get_number(*link, "latency_s", where + ".link", 0, 1e3));
  EP_ASSIGN_OR_RETURN(p.contention, get_number(j, "contention_factor", where, 1, 100));
  EP_ASSIGN_OR_RETURN(p.whole_ms, get_number(j, "whole_model_ms", where, 0, 1e9));
  EP_ASSIGN_OR_RETURN(const json* pred, field(j, "predicted", json::value_t::object, where));
  EP_ASSIGN_OR_RETURN(p.predicted_bottleneck_ms, get_number(*pred, "bottleneck_ms", where + ".predicted", 0, 1e9));
  EP_ASSIGN_OR_RETURN(p.predicted_latency_ms, get_number(*pred, "latency_ms", where + ".predicted", 0, 1e9));
  EP_ASSIGN_OR_RETURN(p.cut_rule, get_string(j, "cut_rule", where));
  EP_ASSIGN_OR_RETURN(p.handover_layout, get_string(j, "handover_layout", where));
  if (p.handover_layout != "nhwc" && p.handover_layout != "nchw")
    return invalid_argument(where, ": handover_layout '", p.handover_layout, "' is not nhwc or nchw");
  EP_ASSIGN_OR_RETURN(p.graph_inputs, get_tensors(j, "graph_inputs", where));
  EP_ASSIGN_OR_RETURN(p.graph_outputs, get_tensors(j, "graph_outputs", where));
  EP_ASSIGN_OR_RETURN(const json* stages, field(j, "stages", json::value_t::array, where));
  if (stages->empty() || stages->size() > kMaxStages) return invalid_argument(where, ": 1..", kMaxStages, " stages expected");
  for (size_t i = 0; i < stages->size(); ++i) {
    EP_ASSIGN_OR_RETURN(PlanStage st, parse_stage((*stages)[i], dir, where + ".stages[" + std::to_string(i) + "]"));
    p.stages.push_back(std::move(st));
  }
  EP_ASSIGN_OR_RETURN(const json* cuts, field(j, "cuts", json::value_t::array, where));
  if (cuts->size() + 1 != p.stages.size()) return invalid_argument(where, ": ", p.stages.size(), " stages need ", p.stages.size() - 1, " cuts");
  for (size_t i = 0; i < cuts->size(); ++i) {
    const std::string w = where + ".cuts[" + std::to_string(i) + "]";
    PlanCut c;
    EP_ASSIGN_OR_RETURN(c.after_node, get_string((*cuts)[i], "after_node", w));
    EP_ASSIGN_OR_RETURN(c.predicted_link_ms, get_number((*cuts)[i], "predicted_link_ms", w, 0, 1e9));
    EP_ASSIGN_OR_RETURN(c.tensors, get_tensors((*cuts)[i], "tensors", w));
    for (const PlanTensor& t : c.tensors) c.bytes += t.bytes;
    p.cuts.push_back(std::move(c));
  }
  // Every stage input must come from the graph inputs or an earlier stage, with the same type.
  std::map<std::string, const PlanTensor*> known;
  for (const PlanTensor& t : p.graph_inputs) known[t.name] = &t;
  for (size_t i = 0; i < p.stages.size(); ++i) {
    for (const PlanTensor& t : p.stages[i].inputs) {
      auto it = known.find(t.name);
      if (it == known.end()) return invalid_argument(where, ": stage ", i, " reads '", t.name, "', which no earlier stage produces");
      if (it->second->dtype != t.dtype || it->second->shape != t.shape)
        return invalid_argument(where, ": stage ", i, " reads '", t.name, "' with another dtype or shape than it is produced");
    }
    for (const PlanTensor& t : p.stages[i].outputs)
      if (!known.emplace(t.name, &t).second) return invalid_argument(where, ": tensor '", t.name, "' is produced twice");
  }
  for (const PlanTensor& t : p.graph_outputs)
    if (!known.count(t.name)) return invalid_argument(where, ": graph output '", t.name, "' is produced by no stage");
  int64_t frame_bytes = 0;
  for (const auto& [name, t] : known) frame_bytes += t->bytes;  // each <= 2^37: no overflow
  if (frame_bytes > kMaxFrameBytes)
    return invalid_argument(where, ": a frame would hold ", frame_bytes, " bytes, over the limit of ", kMaxFrameBytes);
  return p;
}

bool handed_over_nhwc(const Plan& p, const PlanTensor& t) {
  if (p.handover_layout != "nhwc" || t.shape.rank() != 4) return false;
  for (const auto* io : {&p.graph_inputs, &p.graph_outputs})
    for (const PlanTensor& g : *io)
      if (g.name == t.name) return false;
  return true;
}

std::set<std::string> stage_nhwc_io(const Plan& p, size_t k) {
  std::set<std::string> names;
  for (const auto* ts : {&p.stages[k].inputs, &p.stages[k].outputs})
    for (const PlanTensor& t : *ts)
      if (handed_over_nhwc(p, t)) names.insert(t.name);
  return names;
}

Result<Plan> read_plan(const std::string& dir) {
  std::error_code ec;
  const fs::path file = fs::path(dir) / "plan.json";
  if (!fs::is_regular_file(file, ec)) return io_error("plan '", file.string(), "': no such file");
  const auto size = fs::file_size(file, ec);
  if (ec || size > kMaxPlanBytes) return invalid_argument("plan '", file.string(), "': missing or larger than ", kMaxPlanBytes, " bytes");
  std::ifstream f(file);
  std::stringstream ss;
  ss << f.rdbuf();
  return parse_plan(ss.str(), dir);
}

}  // namespace ep::partition
