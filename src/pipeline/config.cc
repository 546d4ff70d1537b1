#include "pipeline/config.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace ep::pipeline {
namespace {

struct Ctx {
  std::string origin;
  std::string where(const YAML::Node& n) const { return origin + ":" + std::to_string(n.Mark().line + 1); }
};

std::string type_name(ParamType t) {
  switch (t) {
    case ParamType::string: return "a string";
    case ParamType::integer: return "an integer";
    case ParamType::number: return "a number";
    case ParamType::boolean: return "true or false";
    case ParamType::map: return "a map";
  }
  return "?";
}

std::string known_keys(const std::vector<ParamSpec>& specs, std::initializer_list<const char*> extra = {}) {
  std::string s;
  for (const char* e : extra) s += (s.empty() ? "" : ", ") + std::string(e);
  for (const ParamSpec& p : specs) s += (s.empty() ? "" : ", ") + p.key;
  return s;
}

// A YAML scalar or map checked against `spec`, as JSON.
Result<nlohmann::json> convert(const Ctx& c, const YAML::Node& n, const ParamSpec& spec, const std::string& what) {
  const std::string at = c.where(n) + ": " + what + " '" + spec.key + "'";
  if (spec.type == ParamType::map) {
    if (!n.IsMap()) return invalid_argument(at, ": expected a map");
    nlohmann::json out = nlohmann::json::object();
    for (auto kv : n) {
      const std::string key = kv.first.as<std::string>();
      const ParamSpec* f = nullptr;
      for (const ParamSpec& s : spec.fields)
        if (s.key == key) f = &s;
      if (!f) return invalid_argument(c.where(kv.first), ": ", what, " '", spec.key, "': unknown key '", key, "' (known: ", known_keys(spec.fields), ")");
      EP_ASSIGN_OR_RETURN(out[key], convert(c, kv.second, *f, what + " '" + spec.key + "'"));
    }
    return out;
  }
  if (!n.IsScalar()) return invalid_argument(at, ": expected ", type_name(spec.type));
  try {
    switch (spec.type) {
      case ParamType::string: return nlohmann::json(n.as<std::string>());
      case ParamType::integer: return nlohmann::json(n.as<int64_t>());
      case ParamType::number: return nlohmann::json(n.as<double>());
      case ParamType::boolean: return nlohmann::json(n.as<bool>());
      case ParamType::map: break;
    }
  } catch (const YAML::Exception&) {
    return invalid_argument(at, ": expected ", type_name(spec.type), ", got '", n.as<std::string>(), "'");
  }
  return internal_error(at);
}

template <typename T>
Status read_scalar(const Ctx& c, const YAML::Node& n, const std::string& what, T& out) {
  if (!n.IsScalar()) return invalid_argument(c.where(n), ": ", what, ": expected a value");
  try {
    out = n.as<T>();
  } catch (const YAML::Exception&) {
    return invalid_argument(c.where(n), ": ", what, ": cannot read '", n.as<std::string>(), "'");
  }
  return Status::ok();
}

Status parse_source(const Ctx& c, const YAML::Node& n, SourceConfig& s) {
  if (n.IsScalar()) return read_scalar(c, n, "source", s.spec);
  if (!n.IsMap()) return invalid_argument(c.where(n), ": source: expected a map or a string such as 'synthetic'");
  for (auto kv : n) {
    const std::string key = kv.first.as<std::string>();
    const YAML::Node& v = kv.second;
    const std::string what = "source '" + key + "'";
    if (key == "type") EP_RETURN_IF_ERROR(read_scalar(c, v, what, s.spec));
    else if (key == "fps") EP_RETURN_IF_ERROR(read_scalar(c, v, what, s.fps));
    else if (key == "duration_s") EP_RETURN_IF_ERROR(read_scalar(c, v, what, s.duration_s));
    else if (key == "max_frames") EP_RETURN_IF_ERROR(read_scalar(c, v, what, s.max_frames));
    else if (key == "width") EP_RETURN_IF_ERROR(read_scalar(c, v, what, s.width));
    else if (key == "height") EP_RETURN_IF_ERROR(read_scalar(c, v, what, s.height));
    else if (key == "seed") EP_RETURN_IF_ERROR(read_scalar(c, v, what, s.seed));
    else if (key == "moving") EP_RETURN_IF_ERROR(read_scalar(c, v, what, s.moving));
    else if (key == "loop") EP_RETURN_IF_ERROR(read_scalar(c, v, what, s.loop));
    else
      return invalid_argument(c.where(kv.first), ": source: unknown key '", key,
                              "' (known: type, fps, duration_s, max_frames, width, height, seed, moving, loop)");
  }
  if (s.fps < 0 || s.fps > 10000) return invalid_argument(c.where(n), ": source: fps ", s.fps, " out of 0..10000");
  if (s.width < 16 || s.height < 16 || s.width > 16384 || s.height > 16384)
    return invalid_argument(c.where(n), ": source: size ", s.width, "x", s.height, " out of 16..16384");
  return Status::ok();
}

Status parse_edge(const Ctx& c, const YAML::Node& n, const std::string& stage, EdgeConfig& e) {
  if (n.IsScalar()) return read_scalar(c, n, "stage '" + stage + "' input", e.from);
  if (!n.IsMap()) return invalid_argument(c.where(n), ": stage '", stage, "': input: expected a stage name or {from, depth, policy}");
  for (auto kv : n) {
    const std::string key = kv.first.as<std::string>();
    const std::string what = "stage '" + stage + "' input '" + key + "'";
    if (key == "from") EP_RETURN_IF_ERROR(read_scalar(c, kv.second, what, e.from));
    else if (key == "depth") {
      int64_t d = 0;
      EP_RETURN_IF_ERROR(read_scalar(c, kv.second, what, d));
      if (d < 1 || d > 1'000'000) return invalid_argument(c.where(kv.second), ": ", what, ": ", d, " out of 1..1000000");
      e.depth = static_cast<size_t>(d);
    } else if (key == "policy") {
      std::string p;
      EP_RETURN_IF_ERROR(read_scalar(c, kv.second, what, p));
      auto pol = parse_overflow_policy(p);
      if (!pol) return invalid_argument(c.where(kv.second), ": ", what, ": '", p, "' is not one of block, drop_oldest, drop_newest");
      e.policy = *pol;
    } else {
      return invalid_argument(c.where(kv.first), ": stage '", stage, "' input: unknown key '", key, "' (known: from, depth, policy)");
    }
  }
  return Status::ok();
}

Status parse_stage(const Ctx& c, const YAML::Node& n, StageConfig& s) {
  if (!n.IsMap()) return invalid_argument(c.where(n), ": a stage must be a map with at least name and kind");
  s.line = n.Mark().line + 1;
  if (!n["name"] || !n["kind"]) return invalid_argument(c.where(n), ": a stage needs 'name' and 'kind'");
  EP_RETURN_IF_ERROR(read_scalar(c, n["name"], "stage name", s.name));
  EP_RETURN_IF_ERROR(read_scalar(c, n["kind"], "stage '" + s.name + "' kind", s.kind));
  s.options.name = s.name;
  const auto& kinds = stage_kind_params();
  auto kind = kinds.find(s.kind);
  if (kind == kinds.end()) {
    std::string known;
    for (auto& [k, _] : kinds) known += (known.empty() ? "" : ", ") + k;
    return invalid_argument(c.where(n["kind"]), ": stage '", s.name, "': unknown kind '", s.kind, "' (known: ", known, ")");
  }
  s.params = nlohmann::json::object();
  bool has_input = false;
  for (auto kv : n) {
    const std::string key = kv.first.as<std::string>();
    const YAML::Node& v = kv.second;
    const std::string what = "stage '" + s.name + "' " + key;
    if (key == "name" || key == "kind") continue;
    if (key == "input") {
      EP_RETURN_IF_ERROR(parse_edge(c, v, s.name, s.input));
      has_input = true;
    } else if (key == "deadline_ms") {
      double ms = 0;
      EP_RETURN_IF_ERROR(read_scalar(c, v, what, ms));
      if (ms < 0) return invalid_argument(c.where(v), ": ", what, ": must be >= 0");
      s.options.deadline = static_cast<TimeNs>(ms * 1e6);
    } else if (key == "on_deadline") {
      std::string a;
      EP_RETURN_IF_ERROR(read_scalar(c, v, what, a));
      if (a == "report") s.options.on_deadline = DeadlineAction::report;
      else if (a == "skip") s.options.on_deadline = DeadlineAction::skip;
      else if (a == "restart") s.options.on_deadline = DeadlineAction::restart;
      else return invalid_argument(c.where(v), ": ", what, ": '", a, "' is not one of report, skip, restart");
    } else if (key == "batch") {
      if (!v.IsMap()) return invalid_argument(c.where(v), ": ", what, ": expected {max: N, wait_ms: T}");
      for (auto b : v) {
        const std::string bk = b.first.as<std::string>();
        if (bk == "max") {
          int64_t m = 0;
          EP_RETURN_IF_ERROR(read_scalar(c, b.second, what + " max", m));
          if (m < 1 || m > 1024) return invalid_argument(c.where(b.second), ": ", what, " max: ", m, " out of 1..1024");
          s.options.max_batch = static_cast<size_t>(m);
        } else if (bk == "wait_ms") {
          double ms = 0;
          EP_RETURN_IF_ERROR(read_scalar(c, b.second, what + " wait_ms", ms));
          if (ms < 0) return invalid_argument(c.where(b.second), ": ", what, " wait_ms: must be >= 0");
          s.options.max_wait = static_cast<TimeNs>(ms * 1e6);
        } else {
          return invalid_argument(c.where(b.first), ": ", what, ": unknown key '", bk, "' (known: max, wait_ms)");
        }
      }
    } else {
      const ParamSpec* spec = nullptr;
      for (const ParamSpec& p : kind->second)
        if (p.key == key) spec = &p;
      if (!spec)
        return invalid_argument(c.where(kv.first), ": stage '", s.name, "': unknown key '", key, "' for kind ", s.kind, " (known: ",
                                known_keys(kind->second, {"name", "kind", "input", "batch", "deadline_ms", "on_deadline"}), ")");
      EP_ASSIGN_OR_RETURN(s.params[key], convert(c, v, *spec, "stage '" + s.name + "'"));
    }
  }
  if (!has_input) return invalid_argument(c.where(n), ": stage '", s.name, "': no input (for example input: {from: source, depth: 1, policy: drop_oldest})");
  return Status::ok();
}

}  // namespace

Result<PipelineConfig> parse_pipeline_config(const std::string& text, const std::string& origin, const std::string& base_dir) {
  Ctx c{origin};
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    return invalid_argument(origin, ":", e.mark.line + 1, ": not valid YAML: ", e.msg);
  }
  if (!root.IsMap()) return invalid_argument(origin, ": expected a map with 'source' and 'stages'");
  PipelineConfig cfg;
  cfg.origin = origin;
  cfg.base_dir = base_dir;
  try {
    for (auto kv : root) {
      const std::string key = kv.first.as<std::string>();
      if (key == "name") EP_RETURN_IF_ERROR(read_scalar(c, kv.second, "name", cfg.name));
      else if (key == "source") EP_RETURN_IF_ERROR(parse_source(c, kv.second, cfg.source));
      else if (key == "stages") {
        if (!kv.second.IsSequence()) return invalid_argument(c.where(kv.second), ": stages: expected a list");
        for (const YAML::Node& s : kv.second) {
          StageConfig sc;
          EP_RETURN_IF_ERROR(parse_stage(c, s, sc));
          cfg.stages.push_back(std::move(sc));
        }
      } else {
        return invalid_argument(c.where(kv.first), ": unknown key '", key, "' (known: name, source, stages)");
      }
    }
  } catch (const YAML::Exception& e) {
    return invalid_argument(origin, ":", e.mark.line + 1, ": ", e.msg);
  }
  if (cfg.stages.empty()) return invalid_argument(origin, ": no stages");
  std::set<std::string> names{"source"};
  for (const StageConfig& s : cfg.stages)
    if (!names.insert(s.name).second) return invalid_argument(origin, ":", s.line, ": stage '", s.name, "' is defined twice (or is named 'source')");
  for (const StageConfig& s : cfg.stages)
    if (!names.count(s.input.from))
      return invalid_argument(origin, ":", s.line, ": stage '", s.name, "': input from '", s.input.from, "', which is not a stage or 'source'");
  return cfg;
}

Result<PipelineConfig> load_pipeline_config(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return io_error("pipeline '", path, "': no such file");
  std::ifstream in(path);
  if (!in) return io_error("pipeline '", path, "': cannot read");
  std::stringstream ss;
  ss << in.rdbuf();
  if (ss.str().size() > (1 << 20)) return invalid_argument("pipeline '", path, "': larger than 1 MiB");
  return parse_pipeline_config(ss.str(), path, std::filesystem::path(path).parent_path().string());
}

}  // namespace ep::pipeline
