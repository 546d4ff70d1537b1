// A stage is an actor: its own thread, a start handshake (the processor opens on that
// thread and start() returns its status), and a clean stop (the input closes, the queue
// drains, pending work is flushed, then the stage's outputs close).
#pragma once

#include <atomic>
#include <climits>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "edgepipe/status.h"
#include "pipeline/frame.h"
#include "pipeline/queue.h"
#include "pipeline/stats.h"
#include "pipeline/trace.h"

namespace ep::pipeline {

using FrameQueue = BoundedQueue<FramePtr>;
using FrameOut = std::vector<std::shared_ptr<Frame>>;

// What a stage's processor may use. Everything outlives the processor.
struct StageContext {
  Clock* clock = nullptr;
  std::string name;
  int index = -1;
  StageStats* stats = nullptr;
  DropLedger* drops = nullptr;
  std::function<void(const std::string&)> log;  // one line, no newline
};

// The work of a stage. Runs on the stage's thread only, so it needs no locking of its own.
class Processor {
 public:
  virtual ~Processor() = default;
  virtual Status open(const StageContext& ctx) { return Status::ok(); }
  // A batch of one unless the stage batches; appends zero or more frames to `out`.
  virtual Status process(std::span<const FramePtr> batch, FrameOut& out) = 0;
  // At the end of input: emit whatever is still pending.
  virtual Status flush(FrameOut& out) { return Status::ok(); }
  // A part of a split frame was dropped somewhere (called from any thread).
  virtual void part_lost(int64_t frame, int part) {}
};

using ProcessorFactory = std::function<Result<std::unique_ptr<Processor>>()>;

enum class DeadlineAction { report, skip, restart };

struct StageOptions {
  std::string name;
  size_t max_batch = 1;     // micro-batching: up to this many frames per process() call
  TimeNs max_wait = 0;      // ... waiting at most this long for the batch to fill
  TimeNs deadline = 0;      // 0: none. Compute longer than this is a deadline miss
  DeadlineAction on_deadline = DeadlineAction::report;
};

// Shared by all stages of one pipeline.
struct PipelineShared {
  Clock* clock = nullptr;
  DropLedger drops;
  TraceRecorder trace;
  std::function<void(const FramePtr&)> on_complete;  // a frame left a terminal stage
  std::function<void(const std::string&)> log;
};

class Stage {
 public:
  struct Output {
    std::string edge;  // "det->rec"
    std::shared_ptr<FrameQueue> queue;
    Stage* to = nullptr;
  };

  Stage(StageOptions options, ProcessorFactory factory, int index, PipelineShared* shared);
  ~Stage();
  Stage(const Stage&) = delete;
  Stage& operator=(const Stage&) = delete;

  const std::string& name() const { return options_.name; }
  const StageOptions& options() const { return options_; }
  int index() const { return index_; }
  StageStats& stats() { return stats_; }

  // Wiring, before start(). Every stage has one input queue; fan-in is several producers.
  void set_input(std::shared_ptr<FrameQueue> q) { input_ = std::move(q); }
  FrameQueue* input() const { return input_.get(); }
  const std::shared_ptr<FrameQueue>& input_shared() const { return input_; }
  void add_output(Output o) { outputs_.push_back(std::move(o)); }
  void add_producer() { ++producers_; }
  // A producer finished: the input closes when the last one does.
  void producer_done();

  // Spawns the thread and waits until the processor opened (or failed to).
  Status start();
  void join();

  // The watchdog: when compute of the current batch started (kIdle when idle).
  static constexpr TimeNs kIdle = INT64_MIN;
  TimeNs busy_since() const { return busy_since_.load(); }
  // Abandons the current batch (its frames are dropped as "watchdog_restart") and starts a
  // fresh worker with a new processor on a new thread.
  Status restart();
  Processor* processor() const;

  // Hands frames to every output, counting what the queues drop.
  void emit(const FramePtr& f);

 private:
  struct Worker;
  void run_worker(std::shared_ptr<Worker> w);
  bool collect_batch(std::vector<FrameQueue::Entry>& batch);
  void finish_outputs();
  void drop(const Frame& f, const std::string& where, const std::string& reason);

  StageOptions options_;
  ProcessorFactory factory_;
  int index_;
  PipelineShared* shared_;
  StageStats stats_;
  std::shared_ptr<FrameQueue> input_;
  std::vector<Output> outputs_;
  std::atomic<int> producers_{0};

  std::atomic<TimeNs> busy_since_{kIdle};
  std::atomic<int> generation_{0};
  mutable std::mutex mu_;  // guards workers_, current_
  std::vector<std::shared_ptr<Worker>> workers_;
  std::vector<std::pair<int64_t, int>> current_;  // (frame, part) of the batch being computed
};

}  // namespace ep::pipeline
