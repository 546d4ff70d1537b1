// A pipeline: a source thread, stages (actors) and the bounded queues between them,
// plus a watchdog and the measurements (per-stage latency, end to end, drops, trace).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "pipeline/stage.h"

namespace ep::pipeline {

// Reads the next image; false at the end of a finite source.
using SourceRead = std::function<Result<bool>(SourceImage&)>;

struct SourcePacing {
  double fps = 0;           // 0: as fast as the queues take them
  TimeNs duration = 0;      // 0: until the source ends or stop()
  int64_t max_frames = -1;  // -1: no limit
  int max_consecutive_errors = 10;  // a source failing this often in a row ends the run
};

struct StageReport {
  std::string name;
  int64_t processed = 0, errors = 0, deadline_misses = 0, restarts = 0;
  int64_t switches_to_fallback = 0, switches_to_primary = 0, fallback_frames = 0;
  Percentiles queue_wait, compute;
};

struct PipelineReport {
  double elapsed_s = 0;
  int64_t captured = 0;     // frames the source produced
  int64_t completed = 0;    // frames that left a terminal stage
  int64_t dropped = 0;      // whole frames dropped (each with place and reason in `drops`)
  int64_t incomplete = 0;   // frames completed with some of their parts dropped
  int64_t source_errors = 0;
  double fps = 0;
  Percentiles end_to_end, overhead;
  Percentiles frame_compute;  // per frame: the sum of its stages' compute (no queue waits)
  std::vector<StageReport> stages;
  std::map<std::pair<std::string, std::string>, int64_t> drops;
};

class Pipeline {
 public:
  explicit Pipeline(Clock& clock = SteadyClock::instance());
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  // Wiring, before start().
  void set_source(std::string name, SourceRead read, SourcePacing pacing);
  Result<int> add_stage(StageOptions options, ProcessorFactory factory);
  // `from` is "source" or a stage; each stage has one input queue (the first connect
  // into a stage sets its depth and policy; later ones add producers to it).
  Status connect(const std::string& from, const std::string& to, size_t depth, OverflowPolicy policy);
  void enable_trace(bool on) { shared_.trace.enable(on); }
  void set_log(std::function<void(const std::string&)> log) { shared_.log = std::move(log); }
  // Called for every frame that leaves a terminal stage (after the sink's own work).
  void on_complete(std::function<void(const FramePtr&)> f) { complete_hook_ = std::move(f); }

  // Opens every stage (each processor on its own thread, handshake), then starts the source.
  Status start();
  // The source stops producing; queued frames drain through the stages.
  void stop();
  // Waits for the source to end and every stage to drain. Returns the source's failure, if any.
  Status wait();
  // One watchdog pass: a stage computing longer than its deadline is reported, and
  // restarted when its action says so. A thread calls this every `period` when started
  // with start_watchdog(); tests call it directly after moving a fake clock.
  void watchdog_check();
  void start_watchdog(std::chrono::milliseconds period);

  PipelineReport report(int64_t since_e2e = 0) const;
  int64_t completed_count() const { return e2e_.count(); }
  Stage* stage(const std::string& name) const;
  const std::vector<std::unique_ptr<Stage>>& stages() const { return stages_; }
  DropLedger& drops() { return shared_.drops; }
  Status write_trace(const std::string& path) const;
  Clock& clock() const { return *shared_.clock; }

 private:
  void run_source();
  void emit_from_source(const FramePtr& f);

  PipelineShared shared_;
  std::string source_name_ = "source";
  SourceRead read_;
  SourcePacing pacing_;
  std::vector<Stage::Output> source_outputs_;
  std::vector<std::unique_ptr<Stage>> stages_;
  std::function<void(const FramePtr&)> complete_hook_;

  std::thread source_thread_, watchdog_thread_;
  std::atomic<bool> stop_{false}, watchdog_stop_{false};
  std::atomic<int64_t> captured_{0}, incomplete_{0}, source_errors_{0};
  Status source_status_;
  TimeNs started_at_ = 0;
  std::atomic<TimeNs> ended_at_{0};
  LatencySeries e2e_, overhead_, compute_;
  std::mutex watchdog_mu_;
  std::map<int, TimeNs> reported_busy_;  // stage -> busy_since already reported
};

}  // namespace ep::pipeline
