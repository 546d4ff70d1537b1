// The stage kinds a pipeline file can name, and what a run shares with them: the text
// detector, crops, recognizer, join, YOLO, classifier and the sink.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "pipeline/config.h"
#include "pipeline/stage.h"

namespace ep::pipeline {

// Accuracy against the synthetic source's ground truth, and what the sink saw.
struct RunTally {
  std::mutex mu;
  int64_t frames = 0;
  int64_t labels = 0;         // ground-truth labels in the frames that reached the sink
  int64_t labels_exact = 0;   // ... read exactly (a recognized box overlapping it with the same text)
  int64_t texts = 0;          // texts the pipeline read
  int64_t texts_unmatched = 0;  // ... that overlap no label (only counted when there is ground truth)
  int64_t fallback_frames = 0;
  std::vector<std::pair<std::string, std::string>> misreads;  // (truth, read) examples, bounded
  std::vector<std::string> sample_lines;  // a few frames' texts for the summary
};

struct BuildContext {
  std::vector<std::string> model_dirs;  // where relative model paths are looked up, in order
  std::string jsonl_override;           // --output
  SourceConfig source;
  std::vector<std::string> stage_names;  // index -> name, for latency breakdowns
  std::shared_ptr<RunTally> tally = std::make_shared<RunTally>();
};

// A factory for the processor of `stage` (validated config). Model files are checked
// here so a missing one fails before any thread starts.
Result<ProcessorFactory> make_processor(const StageConfig& stage, const BuildContext& ctx);

// A relative path looked up in ctx.model_dirs; returned unchanged when found nowhere.
std::string resolve_model_path(const std::string& path, const BuildContext& ctx);

// Exact-match scoring of one frame's reads against its ground truth (exposed for tests).
struct FrameScore {
  int labels = 0, exact = 0, unmatched = 0;
  std::vector<std::pair<std::string, std::string>> misreads;
};
FrameScore score_frame(const std::vector<GroundTruthLabel>& truth, const std::vector<TextResult>& read);

}  // namespace ep::pipeline
