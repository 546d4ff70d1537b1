// Pipeline files (YAML): the source, the stages and the queue in front of each stage.
// Everything is validated here, before anything is built: an unknown key, a wrong type
// or a dangling edge is an error naming the file, line and stage.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "edgepipe/status.h"
#include "pipeline/queue.h"
#include "pipeline/stage.h"

namespace ep::pipeline {

enum class ParamType { string, integer, number, boolean, map };

struct ParamSpec {
  std::string key;
  ParamType type;
  std::string help;
  std::vector<ParamSpec> fields = {};  // for maps
};

struct EdgeConfig {
  std::string from;
  size_t depth = 4;
  OverflowPolicy policy = OverflowPolicy::block;
};

struct StageConfig {
  std::string name, kind;
  int line = 0;
  EdgeConfig input;
  StageOptions options;   // batch, deadline and its action
  nlohmann::json params;  // the kind's own keys, types already checked
};

struct SourceConfig {
  std::string spec = "synthetic";  // synthetic | images:DIR | video:FILE | camera:DEVICE
  double fps = 0;                  // 0: as fast as the first queue takes frames
  double duration_s = 0;           // 0: until the source ends
  int64_t max_frames = -1;
  int width = 640, height = 480;   // synthetic size; camera request
  uint64_t seed = 1;
  bool moving = false;
  bool loop = false;               // images/video: start again at the end
};

struct PipelineConfig {
  std::string origin;  // file path, or "built-in"
  std::string name = "pipeline";
  SourceConfig source;
  std::vector<StageConfig> stages;
  std::string base_dir;  // relative model paths resolve against this
};

Result<PipelineConfig> load_pipeline_config(const std::string& path);
Result<PipelineConfig> parse_pipeline_config(const std::string& text, const std::string& origin, const std::string& base_dir);

// The keys each stage kind takes besides the common ones (name, kind, input, batch,
// deadline_ms, on_deadline). Defined next to the kinds in stage_kinds.cc.
const std::map<std::string, std::vector<ParamSpec>>& stage_kind_params();

}  // namespace ep::pipeline
