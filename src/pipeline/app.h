// `edgepipe run`: a pipeline file (or the built-in OCR pipeline) built, run with a live
// report once a second, and summarised at the end.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "edgepipe/status.h"
#include "pipeline/config.h"
#include "pipeline/pipeline.h"
#include "pipeline/stage_kinds.h"

namespace ep::pipeline {

// The pipeline `edgepipe run` uses without a file: OCR (det then rec) on the synthetic
// source for about ten seconds. examples/ocr_synthetic.yaml holds the same text.
extern const char* const kBuiltinPipeline;

struct RunOptions {
  std::string pipeline;       // file; empty: the built-in pipeline
  std::string source;         // overrides the file's source spec when set
  double duration_s = -1;     // overrides the file's duration when >= 0
  double fps = -1;            // overrides the file's fps when >= 0
  std::string output;         // JSON lines (overrides the sink's jsonl)
  std::string trace;          // Chrome trace file
  bool live = true;           // a status line every second
  std::vector<std::string> model_dirs;  // extra places to look for relative model paths
};

struct RunResult {
  PipelineReport report;
  std::shared_ptr<RunTally> tally;
  std::string source;
};

// Builds and runs; `out` gets the live lines and the summary, `log` the events
// (switches, watchdog, errors). Stops early when `stop_flag` becomes true (Ctrl-C).
Result<RunResult> run_pipeline(const RunOptions& options, std::ostream& out, std::ostream& log,
                               const std::atomic<bool>* stop_flag = nullptr);

// The run's figures as one JSON object (edgepipe run --report FILE).
std::string report_json(const RunResult& r);

// The summary table printed at the end of a run.
void print_summary(const RunResult& r, std::ostream& out);

}  // namespace ep::pipeline
