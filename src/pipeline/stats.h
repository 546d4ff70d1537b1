// What a pipeline measures: per stage queue wait and compute, end-to-end latency, and
// every dropped frame with its place and reason.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "pipeline/clock.h"

namespace ep::pipeline {

struct Percentiles {
  int64_t count = 0;
  double p50_ms = 0, p90_ms = 0, p99_ms = 0, max_ms = 0, mean_ms = 0;
};

// Samples of one latency, thread-safe. Keeps the last kMaxSamples for percentiles and
// counts all of them; `since` lets a live report look at the last interval only.
class LatencySeries {
 public:
  static constexpr size_t kMaxSamples = 1 << 20;
  void add(TimeNs v);
  // Over the samples with sequence number >= since (the first sample is 0); count is how
  // many that is, so a caller can keep `since += count` for the next interval.
  Percentiles summary(int64_t since = 0) const;
  int64_t count() const;

 private:
  mutable std::mutex mu_;
  std::vector<TimeNs> ring_;
  int64_t total_ = 0;
};

Percentiles summarize(std::vector<TimeNs> v);

// Dropped frames by place and reason. A part of a split frame counts as a part, and the
// frame it belongs to is reported incomplete by the join.
class DropLedger {
 public:
  struct Drop {
    int64_t frame = 0;
    int part = -1;
    std::string where;   // stage or edge, e.g. "source->det"
    std::string reason;  // "queue_full_drop_oldest", "deadline", "error", ...
  };
  using Listener = std::function<void(const Drop&)>;

  void record(int64_t frame, int part, const std::string& where, const std::string& reason);
  void listen(Listener l);
  // (where, reason) -> count
  std::map<std::pair<std::string, std::string>, int64_t> counts() const;
  int64_t total() const;
  int64_t frames_dropped() const;  // whole frames (not parts)
  std::vector<Drop> recent(size_t max) const;

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, std::string>, int64_t> counts_;
  std::vector<Drop> log_;  // bounded: the first kMaxLog drops
  std::vector<Listener> listeners_;
  int64_t total_ = 0, frames_ = 0;
  static constexpr size_t kMaxLog = 100000;
};

struct StageStats {
  std::string name;
  LatencySeries queue_wait;
  LatencySeries compute;
  std::atomic<int64_t> processed{0};
  std::atomic<int64_t> errors{0};
  std::atomic<int64_t> deadline_misses{0};
  std::atomic<int64_t> restarts{0};
  std::atomic<int64_t> switches_to_fallback{0};
  std::atomic<int64_t> switches_to_primary{0};
  std::atomic<int64_t> fallback_frames{0};
};

}  // namespace ep::pipeline
