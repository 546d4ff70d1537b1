// The pipeline runtime with an injected clock: queue policies, back-pressure, shutdown,
// fan-out/fan-in, micro-batching, deadlines, the watchdog and fallback switching.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "pipeline/fallback.h"
#include "pipeline/join.h"
#include "pipeline/pipeline.h"

namespace ep::pipeline {
namespace {

using namespace std::chrono_literals;

// A processor from a lambda.
class FnProcessor final : public Processor {
 public:
  using Fn = std::function<Status(std::span<const FramePtr>, FrameOut&)>;
  explicit FnProcessor(Fn fn) : fn_(std::move(fn)) {}
  Status process(std::span<const FramePtr> batch, FrameOut& out) override { return fn_(batch, out); }

 private:
  Fn fn_;
};

ProcessorFactory fn_factory(FnProcessor::Fn fn) {
  return [fn]() -> Result<std::unique_ptr<Processor>> { return std::unique_ptr<Processor>(new FnProcessor(fn)); };
}

FnProcessor::Fn pass_through() {
  return [](std::span<const FramePtr> batch, FrameOut& out) {
    for (const FramePtr& f : batch) out.push_back(derive(f));
    return Status::ok();
  };
}

// A source of `n` blank frames (or endless with n < 0).
SourceRead counting_source(int64_t n, std::atomic<int64_t>* reads = nullptr) {
  auto i = std::make_shared<int64_t>(0);
  return [n, i, reads](SourceImage& img) -> Result<bool> {
    if (n >= 0 && *i >= n) return false;
    img.index = (*i)++;
    img.name = "test";
    if (reads) ++*reads;
    return true;
  };
}

struct Gate;
// Like counting_source, but frame 1 is produced only once the stage waits at `gate` with
// frame 0, so the test knows which frame is computing when the queue overflows.
SourceRead gated_source(int64_t n, Gate& gate, std::atomic<int64_t>* reads);

// A gate a processor waits at until the test opens it.
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  int waiting = 0;
  void wait() {
    std::unique_lock l(mu);
    ++waiting;
    cv.notify_all();
    cv.wait(l, [&] { return open; });
    --waiting;
  }
  void release() {
    std::lock_guard l(mu);
    open = true;
    cv.notify_all();
  }
  void wait_for_waiter() {
    std::unique_lock l(mu);
    cv.wait(l, [&] { return waiting > 0; });
  }
};

SourceRead gated_source(int64_t n, Gate& gate, std::atomic<int64_t>* reads) {
  auto i = std::make_shared<int64_t>(0);
  return [n, i, reads, &gate](SourceImage& img) -> Result<bool> {
    if (*i >= n) return false;
    if (*i == 1) gate.wait_for_waiter();
    img.index = (*i)++;
    ++*reads;
    return true;
  };
}

TEST(BoundedQueue, DropOldestDisplacesTheOldest) {
  BoundedQueue<int> q(2, OverflowPolicy::drop_oldest);
  EXPECT_EQ(q.push(1, 0).outcome, BoundedQueue<int>::PushOutcome::accepted);
  EXPECT_EQ(q.push(2, 0).outcome, BoundedQueue<int>::PushOutcome::accepted);
  auto r = q.push(3, 5);
  EXPECT_EQ(r.outcome, BoundedQueue<int>::PushOutcome::displaced_oldest);
  EXPECT_EQ(*r.dropped, 1);
  EXPECT_EQ(q.pop()->item, 2);
  auto e = q.pop();
  EXPECT_EQ(e->item, 3);
  EXPECT_EQ(e->enqueued, 5);
}

TEST(BoundedQueue, DropNewestRefusesTheArrival) {
  BoundedQueue<int> q(1, OverflowPolicy::drop_newest);
  q.push(1, 0);
  auto r = q.push(2, 0);
  EXPECT_EQ(r.outcome, BoundedQueue<int>::PushOutcome::refused);
  EXPECT_EQ(*r.dropped, 2);
  EXPECT_EQ(q.pop()->item, 1);
  EXPECT_FALSE(q.try_pop().has_value());
}

TEST(BoundedQueue, BlockWaitsForRoomThenCloseWakesEveryone) {
  BoundedQueue<int> q(1, OverflowPolicy::block);
  q.push(1, 0);
  std::atomic<bool> pushed{false};
  std::thread producer([&] {
    EXPECT_EQ(q.push(2, 0).outcome, BoundedQueue<int>::PushOutcome::accepted);
    pushed = true;
    // Blocks again on a full queue until close() refuses it.
    auto r = q.push(3, 0);
    EXPECT_EQ(r.outcome, BoundedQueue<int>::PushOutcome::closed);
    EXPECT_EQ(*r.dropped, 3);
  });
  while (q.producers_waiting() == 0) std::this_thread::yield();
  EXPECT_FALSE(pushed.load());
  EXPECT_EQ(q.pop()->item, 1);
  while (!pushed.load() || q.producers_waiting() == 0) std::this_thread::yield();
  q.close();
  producer.join();
  EXPECT_EQ(q.pop()->item, 2);        // what was queued still drains
  EXPECT_FALSE(q.pop().has_value());  // then pop reports the end
}

TEST(BoundedQueue, PopUntilFollowsTheInjectedClock) {
  FakeClock clock(0);
  BoundedQueue<int> q(4, OverflowPolicy::block);
  std::atomic<bool> done{false};
  std::thread t([&] {
    EXPECT_FALSE(q.pop_until(clock, 10 * kMs).has_value());
    done = true;
  });
  std::this_thread::sleep_for(5ms);
  EXPECT_FALSE(done.load());
  clock.advance(10 * kMs);
  t.join();
  EXPECT_TRUE(done.load());
}

TEST(Pipeline, BlockPolicyLosesNoFrame) {
  FakeClock clock(1000);
  Pipeline p(clock);
  p.set_source("test", counting_source(200), {});
  ASSERT_TRUE(p.add_stage({.name = "a"}, fn_factory(pass_through())).is_ok());
  ASSERT_TRUE(p.add_stage({.name = "b"}, fn_factory(pass_through())).is_ok());
  ASSERT_TRUE(p.connect("source", "a", 1, OverflowPolicy::block).is_ok());
  ASSERT_TRUE(p.connect("a", "b", 1, OverflowPolicy::block).is_ok());
  std::vector<int64_t> ids;
  p.on_complete([&](const FramePtr& f) { ids.push_back(f->id); });
  ASSERT_TRUE(p.start().is_ok());
  ASSERT_TRUE(p.wait().is_ok());
  PipelineReport r = p.report();
  EXPECT_EQ(r.captured, 200);
  EXPECT_EQ(r.completed, 200);
  EXPECT_EQ(r.dropped, 0);
  ASSERT_EQ(ids.size(), 200u);
  for (size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(ids[i], static_cast<int64_t>(i));  // one path keeps order
  EXPECT_EQ(r.stages[0].processed, 200);
  EXPECT_EQ(r.stages[1].processed, 200);
}

TEST(Pipeline, DropOldestKeepsTheFreshestFrameAndCountsEveryDrop) {
  FakeClock clock(0);
  Pipeline p(clock);
  std::atomic<int64_t> reads{0};
  Gate gate;
  p.set_source("cam", gated_source(50, gate, &reads), {});
  std::vector<int64_t> seen;
  ASSERT_TRUE(p.add_stage({.name = "infer"}, fn_factory([&](std::span<const FramePtr> b, FrameOut& out) {
                if (b[0]->id == 0) gate.wait();  // the first frame is slow: the source keeps going
                seen.push_back(b[0]->id);
                out.push_back(derive(b[0]));
                return Status::ok();
              })).is_ok());
  ASSERT_TRUE(p.connect("source", "infer", 1, OverflowPolicy::drop_oldest).is_ok());
  ASSERT_TRUE(p.start().is_ok());
  gate.wait_for_waiter();
  while (reads.load() < 50) std::this_thread::yield();
  std::this_thread::sleep_for(2ms);
  gate.release();
  ASSERT_TRUE(p.wait().is_ok());
  PipelineReport r = p.report();
  EXPECT_EQ(r.captured, 50);
  // Frame 0 was computing; of the 49 others only the last one waited in the depth-1 queue.
  EXPECT_EQ(seen, (std::vector<int64_t>{0, 49}));
  EXPECT_EQ(r.completed, 2);
  EXPECT_EQ(r.dropped, 48);
  EXPECT_EQ(r.completed + r.dropped, r.captured);
  EXPECT_EQ((r.drops[{"source->infer", "queue_full_drop_oldest"}]), 48);
  std::set<int64_t> dropped;
  for (const auto& d : p.drops().recent(100)) dropped.insert(d.frame);
  EXPECT_EQ(dropped.size(), 48u);
  EXPECT_FALSE(dropped.count(0));
  EXPECT_FALSE(dropped.count(49));
}

TEST(Pipeline, DropNewestKeepsTheQueuedFrame) {
  FakeClock clock(0);
  Pipeline p(clock);
  std::atomic<int64_t> reads{0};
  Gate gate;
  p.set_source("cam", gated_source(10, gate, &reads), {});
  std::vector<int64_t> seen;
  ASSERT_TRUE(p.add_stage({.name = "infer"}, fn_factory([&](std::span<const FramePtr> b, FrameOut& out) {
                if (b[0]->id == 0) gate.wait();
                seen.push_back(b[0]->id);
                out.push_back(derive(b[0]));
                return Status::ok();
              })).is_ok());
  ASSERT_TRUE(p.connect("source", "infer", 1, OverflowPolicy::drop_newest).is_ok());
  ASSERT_TRUE(p.start().is_ok());
  gate.wait_for_waiter();
  while (reads.load() < 10) std::this_thread::yield();
  std::this_thread::sleep_for(2ms);
  gate.release();
  ASSERT_TRUE(p.wait().is_ok());
  EXPECT_EQ(seen, (std::vector<int64_t>{0, 1}));
  EXPECT_EQ((p.report().drops[{"source->infer", "queue_full_drop_newest"}]), 8);
}

TEST(Pipeline, BackPressureSlowsTheSourceInsteadOfDropping) {
  FakeClock clock(0);
  Pipeline p(clock);
  std::atomic<int64_t> reads{0};
  p.set_source("cam", counting_source(-1, &reads), {});
  Gate gate;
  ASSERT_TRUE(p.add_stage({.name = "slow"}, fn_factory([&](std::span<const FramePtr> b, FrameOut& out) {
                gate.wait();
                out.push_back(derive(b[0]));
                return Status::ok();
              })).is_ok());
  ASSERT_TRUE(p.connect("source", "slow", 3, OverflowPolicy::block).is_ok());
  ASSERT_TRUE(p.start().is_ok());
  gate.wait_for_waiter();
  while (p.stage("slow")->input()->producers_waiting() == 0) std::this_thread::yield();
  // One frame computing, three queued, one held by the blocked source: nothing more read.
  std::this_thread::sleep_for(5ms);
  EXPECT_EQ(reads.load(), 5);
  p.stop();
  gate.release();
  ASSERT_TRUE(p.wait().is_ok());
  PipelineReport r = p.report();
  EXPECT_EQ(r.dropped, 0);
  EXPECT_EQ(r.completed, r.captured);
}

TEST(Pipeline, StopDrainsEveryQueuedFrame) {
  FakeClock clock(0);
  Pipeline p(clock);
  p.set_source("cam", counting_source(-1), {});
  ASSERT_TRUE(p.add_stage({.name = "a"}, fn_factory(pass_through())).is_ok());
  ASSERT_TRUE(p.add_stage({.name = "b"}, fn_factory(pass_through())).is_ok());
  ASSERT_TRUE(p.connect("source", "a", 4, OverflowPolicy::block).is_ok());
  ASSERT_TRUE(p.connect("a", "b", 4, OverflowPolicy::drop_oldest).is_ok());
  ASSERT_TRUE(p.start().is_ok());
  while (p.completed_count() < 100) std::this_thread::yield();
  p.stop();
  ASSERT_TRUE(p.wait().is_ok());
  PipelineReport r = p.report();
  EXPECT_EQ(r.completed + r.dropped, r.captured);
}

TEST(Pipeline, AStageThatFailsToOpenStopsTheStartWithItsName) {
  Pipeline p;
  p.set_source("cam", counting_source(1), {});
  ProcessorFactory bad = []() -> Result<std::unique_ptr<Processor>> { return io_error("model 'missing.onnx': no such file"); };
  ASSERT_TRUE(p.add_stage({.name = "det"}, bad).is_ok());
  ASSERT_TRUE(p.connect("source", "det", 1, OverflowPolicy::block).is_ok());
  Status st = p.start();
  ASSERT_FALSE(st.is_ok());
  EXPECT_NE(st.to_string().find("stage 'det'"), std::string::npos) << st.to_string();
  EXPECT_NE(st.to_string().find("missing.onnx"), std::string::npos) << st.to_string();
}

TEST(Pipeline, WiringErrorsNameTheEdge) {
  Pipeline p;
  ASSERT_TRUE(p.add_stage({.name = "a"}, fn_factory(pass_through())).is_ok());
  EXPECT_FALSE(p.add_stage({.name = "a"}, fn_factory(pass_through())).is_ok());
  Status st = p.connect("a", "nope", 1, OverflowPolicy::block);
  EXPECT_NE(st.to_string().find("a->nope"), std::string::npos);
  EXPECT_FALSE(p.connect("source", "a", 0, OverflowPolicy::block).is_ok());
}

// Splits frame i into i % 4 parts, a middle stage refuses some parts, the join merges.
TEST(Pipeline, FanOutAndJoinAccountForLostParts) {
  FakeClock clock(0);
  Pipeline p(clock);
  p.set_source("cam", counting_source(40), {});
  ASSERT_TRUE(p.add_stage({.name = "split"}, fn_factory([](std::span<const FramePtr> b, FrameOut& out) {
                const int n = static_cast<int>(b[0]->id % 4);
                if (n == 0) out.push_back(derive(b[0]));
                for (int k = 0; k < n; ++k) {
                  auto part = derive(b[0]);
                  part->part = k;
                  part->parts = n;
                  part->texts = {TextResult{std::to_string(b[0]->id) + "." + std::to_string(k)}};
                  out.push_back(part);
                }
                return Status::ok();
              })).is_ok());
  ASSERT_TRUE(p.add_stage({.name = "rec"}, fn_factory([](std::span<const FramePtr> b, FrameOut& out) {
                // Parts 2 of frames divisible by 3 fail: dropped with reason "error".
                if (b[0]->part == 2 && b[0]->id % 3 == 0) return internal_error("cannot read part");
                out.push_back(derive(b[0]));
                return Status::ok();
              })).is_ok());
  ASSERT_TRUE(p.add_stage({.name = "join"}, []() -> Result<std::unique_ptr<Processor>> {
                return std::unique_ptr<Processor>(new JoinProcessor);
              }).is_ok());
  ASSERT_TRUE(p.connect("source", "split", 2, OverflowPolicy::block).is_ok());
  ASSERT_TRUE(p.connect("split", "rec", 8, OverflowPolicy::block).is_ok());
  ASSERT_TRUE(p.connect("rec", "join", 8, OverflowPolicy::block).is_ok());
  std::map<int64_t, FramePtr> done;
  p.on_complete([&](const FramePtr& f) { done[f->id] = f; });
  ASSERT_TRUE(p.start().is_ok());
  ASSERT_TRUE(p.wait().is_ok());
  ASSERT_EQ(done.size(), 40u);
  int lost = 0;
  for (auto& [id, f] : done) {
    const int n = static_cast<int>(id % 4);
    const int expect_lost = (n == 3 && id % 3 == 0) ? 1 : 0;
    EXPECT_EQ(f->parts_lost, expect_lost) << "frame " << id;
    lost += f->parts_lost;
    ASSERT_EQ(static_cast<int>(f->texts.size()), n - expect_lost) << "frame " << id;
    for (int k = 0; k < n - expect_lost; ++k) EXPECT_EQ(f->texts[k].text, std::to_string(id) + "." + std::to_string(k));
    // stamps: split once, then rec and join per part (join stamps the merged frame once)
    EXPECT_EQ(f->stamps.front().stage, 0);
  }
  PipelineReport r = p.report();
  EXPECT_EQ(r.incomplete, lost);
  EXPECT_EQ((r.drops[{"rec", "error"}]), lost);
  EXPECT_EQ(r.dropped, 0);  // parts, not frames
}

// The merged frame's compute adds up: stamps before the split once, the split's and a
// shared batch's shares summed back, each part's own stamps kept.
TEST(JoinProcessor, MergedStampsSumSharedCompute) {
  JoinProcessor join;
  FrameOut out;
  std::vector<FramePtr> parts;
  for (int k = 0; k < 3; ++k) {
    auto f = std::make_shared<Frame>();
    f->id = 7;
    f->part = k;
    f->parts = 3;
    f->texts = {TextResult{std::to_string(k)}};
    f->stamps = {{0, 0, 10, 40, 30, 1},     // detector: one frame in, one out
                 {1, 40, 41, 44, 1, 3},     // split: 3 ms shared by 3 parts
                 {2, 44, 45, 51, 2, 3},     // recognizer: one batch of the 3 parts
                 {3, 51, 52, 52 + k, k, 1}}; // a per-part stage
    parts.push_back(f);
  }
  ASSERT_TRUE(join.process(parts, out).is_ok());
  ASSERT_EQ(out.size(), 1u);
  TimeNs sum = 0;
  for (const StageStamp& s : out[0]->stamps) sum += s.compute;
  EXPECT_EQ(sum, 30 + 3 + 6 + (0 + 1 + 2));
  EXPECT_EQ(out[0]->texts.size(), 3u);
  EXPECT_EQ(out[0]->parts_lost, 0);
}

TEST(Pipeline, MicroBatchingGroupsQueuedFrames) {
  FakeClock clock(0);
  Pipeline p(clock);
  // Frame 0 goes alone; the source holds frame 1 until the stage is busy with it.
  Gate busy, gate;
  auto i = std::make_shared<int64_t>(0);
  p.set_source("cam", [&, i](SourceImage&) -> Result<bool> {
    if (*i == 1) busy.wait_for_waiter();
    return (*i)++ < 9;
  }, {});
  std::vector<size_t> sizes;
  ASSERT_TRUE(p.add_stage({.name = "rec", .max_batch = 4}, fn_factory([&](std::span<const FramePtr> b, FrameOut& out) {
                if (b[0]->id == 0) {
                  {
                    std::lock_guard l(busy.mu);
                    busy.waiting = 1;
                    busy.cv.notify_all();
                  }
                  gate.wait();
                }
                sizes.push_back(b.size());
                for (const FramePtr& f : b) out.push_back(derive(f));
                return Status::ok();
              })).is_ok());
  ASSERT_TRUE(p.connect("source", "rec", 16, OverflowPolicy::block).is_ok());
  ASSERT_TRUE(p.start().is_ok());
  gate.wait_for_waiter();
  while (p.stage("rec")->input()->size() < 8) std::this_thread::yield();
  gate.release();
  ASSERT_TRUE(p.wait().is_ok());
  EXPECT_EQ(sizes, (std::vector<size_t>{1, 4, 4}));
  EXPECT_EQ(p.report().completed, 9);
}

// Compute time comes from the fake clock: the processor advances it.
TEST(Pipeline, DeadlineSkipDropsLateFrames) {
  FakeClock clock(0);
  Pipeline p(clock);
  std::vector<std::string> log;
  p.set_log([&](const std::string& s) { log.push_back(s); });
  p.set_source("cam", counting_source(10), {});
  ASSERT_TRUE(p.add_stage({.name = "det", .deadline = 20 * kMs, .on_deadline = DeadlineAction::skip},
                          fn_factory([&](std::span<const FramePtr> b, FrameOut& out) {
                            clock.advance((b[0]->id % 2 ? 50 : 5) * kMs);
                            out.push_back(derive(b[0]));
                            return Status::ok();
                          })).is_ok());
  ASSERT_TRUE(p.connect("source", "det", 1, OverflowPolicy::block).is_ok());
  ASSERT_TRUE(p.start().is_ok());
  ASSERT_TRUE(p.wait().is_ok());
  PipelineReport r = p.report();
  EXPECT_EQ(r.completed, 5);
  EXPECT_EQ((r.drops[{"det", "deadline"}]), 5);
  EXPECT_EQ(r.stages[0].deadline_misses, 5);
  EXPECT_NEAR(r.stages[0].compute.p50_ms, 5, 1e-9);
  EXPECT_NEAR(r.stages[0].compute.max_ms, 50, 1e-9);
  ASSERT_EQ(log.size(), 5u);
  EXPECT_EQ(log[0], "stage 'det': frame 1 took 50000 us, over its 20000 us deadline (miss 1, result dropped)");
}

TEST(Pipeline, WatchdogRestartsAWedgedStage) {
  FakeClock clock(0);
  Pipeline p(clock);
  std::vector<std::string> log;
  std::mutex log_mu;
  p.set_log([&](const std::string& s) {
    std::lock_guard l(log_mu);
    log.push_back(s);
  });
  p.set_source("cam", counting_source(5), {});
  Gate wedge;
  std::atomic<int> opened{0};
  std::vector<int64_t> completed;
  ProcessorFactory factory = [&]() -> Result<std::unique_ptr<Processor>> {
    ++opened;
    return std::unique_ptr<Processor>(new FnProcessor([&](std::span<const FramePtr> b, FrameOut& out) {
      if (b[0]->id == 0) wedge.wait();  // the first frame hangs the first worker
      out.push_back(derive(b[0]));
      return Status::ok();
    }));
  };
  ASSERT_TRUE(p.add_stage({.name = "det", .deadline = 100 * kMs, .on_deadline = DeadlineAction::restart}, factory).is_ok());
  ASSERT_TRUE(p.connect("source", "det", 8, OverflowPolicy::block).is_ok());
  p.on_complete([&](const FramePtr& f) { completed.push_back(f->id); });
  ASSERT_TRUE(p.start().is_ok());
  wedge.wait_for_waiter();
  clock.advance(50 * kMs);
  p.watchdog_check();  // within its deadline: nothing happens
  EXPECT_EQ(opened.load(), 1);
  clock.advance(60 * kMs);
  p.watchdog_check();  // 110 ms busy: restarted
  EXPECT_EQ(opened.load(), 2);
  p.watchdog_check();  // the same wedged batch is not restarted twice
  EXPECT_EQ(opened.load(), 2);
  while (p.completed_count() < 4) std::this_thread::yield();
  wedge.release();  // the abandoned worker returns; its output is discarded
  ASSERT_TRUE(p.wait().is_ok());
  EXPECT_EQ(completed, (std::vector<int64_t>{1, 2, 3, 4}));
  PipelineReport r = p.report();
  EXPECT_EQ(r.stages[0].restarts, 1);
  EXPECT_EQ((r.drops[{"det", "watchdog_restart"}]), 1);
  EXPECT_EQ(r.completed + r.dropped, r.captured);
  bool logged = false;
  for (auto& l : log) logged |= l.find("watchdog: stage 'det' busy for 110 ms") != std::string::npos;
  EXPECT_TRUE(logged);
}

TEST(Pipeline, PacedSourceFollowsTheClockAndStopsAtTheDuration) {
  FakeClock clock(0);
  Pipeline p(clock);
  std::atomic<int64_t> reads{0};
  p.set_source("cam", counting_source(-1, &reads), {.fps = 10, .duration = 1 * kSec});
  ASSERT_TRUE(p.add_stage({.name = "a"}, fn_factory(pass_through())).is_ok());
  ASSERT_TRUE(p.connect("source", "a", 4, OverflowPolicy::block).is_ok());
  std::vector<TimeNs> captured;
  p.on_complete([&](const FramePtr& f) { captured.push_back(f->captured); });
  ASSERT_TRUE(p.start().is_ok());
  for (int i = 0; i < 10; ++i) {
    while (reads.load() < i + 1) std::this_thread::yield();  // frame i read at i * 100 ms
    while (clock.sleepers() == 0) std::this_thread::yield();  // now waiting for frame i + 1
    clock.advance(100 * kMs);
  }
  ASSERT_TRUE(p.wait().is_ok());
  ASSERT_EQ(captured.size(), 10u);
  for (size_t i = 0; i < captured.size(); ++i) EXPECT_EQ(captured[i], static_cast<TimeNs>(i) * 100 * kMs);
}

TEST(Pipeline, SourceErrorsAreCountedAndARunOfThemEndsTheRun) {
  FakeClock clock(0);
  Pipeline p(clock);
  auto i = std::make_shared<int>(0);
  p.set_source("images:/x", [i](SourceImage&) -> Result<bool> {
    if ((*i)++ == 1) return true;
    return io_error("image '/x/bad.png': cannot decode");
  }, {.max_consecutive_errors = 3});
  ASSERT_TRUE(p.add_stage({.name = "a"}, fn_factory(pass_through())).is_ok());
  ASSERT_TRUE(p.connect("source", "a", 4, OverflowPolicy::block).is_ok());
  ASSERT_TRUE(p.start().is_ok());
  Status st = p.wait();
  EXPECT_FALSE(st.is_ok());
  EXPECT_NE(st.to_string().find("bad.png"), std::string::npos) << st.to_string();
  PipelineReport r = p.report();
  EXPECT_EQ(r.source_errors, 4);
  EXPECT_EQ(r.completed, 1);
  EXPECT_EQ((r.drops[{"images:/x", "read_error"}]), 4);
}

TEST(Pipeline, TraceHasASpanPerStagePerFrame) {
  FakeClock clock(0);
  Pipeline p(clock);
  p.enable_trace(true);
  p.set_source("cam", counting_source(3), {});
  ASSERT_TRUE(p.add_stage({.name = "det"}, fn_factory(pass_through())).is_ok());
  ASSERT_TRUE(p.add_stage({.name = "rec"}, fn_factory(pass_through())).is_ok());
  ASSERT_TRUE(p.connect("source", "det", 4, OverflowPolicy::block).is_ok());
  ASSERT_TRUE(p.connect("det", "rec", 4, OverflowPolicy::block).is_ok());
  ASSERT_TRUE(p.start().is_ok());
  ASSERT_TRUE(p.wait().is_ok());
  const std::string path = (std::filesystem::temp_directory_path() / "ep_trace_test.json").string();
  ASSERT_TRUE(p.write_trace(path).is_ok());
  std::ifstream in(path);
  auto j = nlohmann::json::parse(in);
  int compute = 0, wait = 0, names = 0;
  for (auto& e : j["traceEvents"]) {
    if (e["ph"] == "M") ++names;
    if (e["ph"] == "X") (e["cat"] == "compute" ? compute : wait)++;
  }
  EXPECT_EQ(names, 2);
  EXPECT_EQ(compute, 6);
  EXPECT_EQ(wait, 6);
  std::filesystem::remove(path);
}

TEST(FallbackSwitch, SwitchesAfterConsecutiveMissesAndBackAfterAGoodProbe) {
  FallbackSwitch s({.budget = 10 * kMs, .misses_to_switch = 3, .probe_every = 4});
  using M = FallbackSwitch::Model;
  // Two misses then a hit: the run of misses restarts.
  for (TimeNs t : {20, 20, 5, 20, 20}) {
    ASSERT_EQ(s.choose(), M::primary);
    EXPECT_EQ(s.record(M::primary, t * kMs, false), "");
  }
  ASSERT_EQ(s.choose(), M::primary);
  EXPECT_NE(s.record(M::primary, 20 * kMs, false), "");  // third miss in a row
  EXPECT_TRUE(s.on_fallback());
  // Three fallback frames, then a probe of the primary (still slow), ...
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(s.choose(), M::fallback);
    EXPECT_EQ(s.record(M::fallback, 2 * kMs, false), "");
  }
  ASSERT_EQ(s.choose(), M::primary);
  EXPECT_EQ(s.record(M::primary, 30 * kMs, false), "");
  EXPECT_TRUE(s.on_fallback());
  // ... and the next probe within budget switches back.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(s.choose(), M::fallback);
  ASSERT_EQ(s.choose(), M::primary);
  EXPECT_NE(s.record(M::primary, 4 * kMs, false), "");
  EXPECT_FALSE(s.on_fallback());
  EXPECT_EQ(s.switches_to_fallback(), 1);
  EXPECT_EQ(s.switches_to_primary(), 1);
}

TEST(FallbackSwitch, FailuresCountAsMisses) {
  FallbackSwitch s({.budget = 0, .misses_to_switch = 2, .probe_every = 0});
  using M = FallbackSwitch::Model;
  s.record(M::primary, 0, true);
  EXPECT_NE(s.record(M::primary, 0, true).find("failures"), std::string::npos);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(s.choose(), M::fallback);  // probe_every 0: never probes
}

}  // namespace
}  // namespace ep::pipeline
