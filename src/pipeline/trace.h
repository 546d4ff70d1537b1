// Chrome trace events (the JSON that chrome://tracing and Perfetto open): a span per
// stage per frame for compute, and one for the wait in the queue before it.
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "edgepipe/status.h"
#include "pipeline/clock.h"

namespace ep::pipeline {

class TraceRecorder {
 public:
  struct Span {
    int stage = 0;       // becomes the thread id, so each stage is one row
    int64_t frame = 0;
    int part = -1;
    bool wait = false;   // queue wait rather than compute
    TimeNs begin = 0, end = 0;
  };
  static constexpr size_t kMaxSpans = 2'000'000;

  void enable(bool on) { enabled_ = on; }
  bool enabled() const { return enabled_; }
  void add(const Span& s);
  // Writes {"traceEvents": [...]} with stage names as thread names; times relative to `origin`.
  Status write(const std::string& path, const std::vector<std::string>& stage_names, TimeNs origin) const;
  size_t size() const;

 private:
  bool enabled_ = false;
  mutable std::mutex mu_;
  std::vector<Span> spans_;
};

}  // namespace ep::pipeline
