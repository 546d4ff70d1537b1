#include "pipeline/stage.h"

#include <future>

namespace ep::pipeline {

struct Stage::Worker {
  int generation = 0;
  std::thread thread;
  std::unique_ptr<Processor> processor;
  std::promise<Status> opened;
};

// A repeating event is logged the first 10 times, then every 100th time (all are counted).
static bool worth_logging(int64_t n) { return n <= 10 || n % 100 == 0; }

Stage::Stage(StageOptions options, ProcessorFactory factory, int index, PipelineShared* shared)
    : options_(std::move(options)), factory_(std::move(factory)), index_(index), shared_(shared) {
  stats_.name = options_.name;
}

Stage::~Stage() { join(); }

void Stage::producer_done() {
  if (--producers_ <= 0 && input_) input_->close();
}

Status Stage::start() {
  EP_CHECK(input_ != nullptr);
  auto w = std::make_shared<Worker>();
  w->generation = generation_.load();
  std::future<Status> opened = w->opened.get_future();
  {
    std::lock_guard lock(mu_);
    workers_.push_back(w);
  }
  w->thread = std::thread([this, w] { run_worker(w); });
  Status st = opened.get();
  if (!st.is_ok()) return st.with_context("stage '" + options_.name + "'");
  return Status::ok();
}

void Stage::join() {
  std::vector<std::shared_ptr<Worker>> workers;
  {
    std::lock_guard lock(mu_);
    workers = workers_;
  }
  for (auto& w : workers)
    if (w->thread.joinable() && w->thread.get_id() != std::this_thread::get_id()) w->thread.join();
}

Processor* Stage::processor() const {
  std::lock_guard lock(mu_);
  return workers_.empty() ? nullptr : workers_.back()->processor.get();
}

Status Stage::restart() {
  auto w = std::make_shared<Worker>();
  std::future<Status> opened = w->opened.get_future();
  {
    std::lock_guard lock(mu_);
    w->generation = ++generation_;
    for (auto [frame, part] : current_) shared_->drops.record(frame, part, options_.name, "watchdog_restart");
    current_.clear();
    busy_since_ = kIdle;
    workers_.push_back(w);
  }
  ++stats_.restarts;
  if (shared_->log) shared_->log("stage '" + options_.name + "': restarted by the watchdog");
  w->thread = std::thread([this, w] { run_worker(w); });
  Status st = opened.get();
  if (!st.is_ok()) return st.with_context("stage '" + options_.name + "' (restart)");
  return Status::ok();
}

void Stage::drop(const Frame& f, const std::string& where, const std::string& reason) {
  shared_->drops.record(f.id, f.part, where, reason);
}

void Stage::emit(const FramePtr& f) {
  if (outputs_.empty()) {
    if (shared_->on_complete) shared_->on_complete(f);
    return;
  }
  const TimeNs now = shared_->clock->now();
  for (const Output& o : outputs_) {
    auto r = o.queue->push(f, now);
    switch (r.outcome) {
      case FrameQueue::PushOutcome::accepted: break;
      case FrameQueue::PushOutcome::displaced_oldest: drop(**r.dropped, o.edge, "queue_full_drop_oldest"); break;
      case FrameQueue::PushOutcome::refused: drop(*f, o.edge, "queue_full_drop_newest"); break;
      case FrameQueue::PushOutcome::closed: drop(*f, o.edge, "shutdown"); break;
    }
  }
}

bool Stage::collect_batch(std::vector<FrameQueue::Entry>& batch) {
  batch.clear();
  auto first = input_->pop();
  if (!first) return false;
  batch.push_back(std::move(*first));
  if (options_.max_batch <= 1) return true;
  const TimeNs deadline = shared_->clock->now() + options_.max_wait;
  while (batch.size() < options_.max_batch) {
    auto e = options_.max_wait > 0 ? input_->pop_until(*shared_->clock, deadline) : input_->try_pop();
    if (!e) break;
    batch.push_back(std::move(*e));
  }
  return true;
}

void Stage::finish_outputs() {
  for (const Output& o : outputs_) o.to->producer_done();
}

void Stage::run_worker(std::shared_ptr<Worker> w) {
  StageContext ctx{shared_->clock, options_.name, index_, &stats_, &shared_->drops, shared_->log};
  {
    auto p = factory_();
    if (!p.is_ok()) {
      w->opened.set_value(p.status());
      return;
    }
    w->processor = std::move(*p);
    Status st = w->processor->open(ctx);
    w->opened.set_value(st);
    if (!st.is_ok()) return;
  }
  Clock& clock = *shared_->clock;
  std::vector<FrameQueue::Entry> entries;
  std::vector<FramePtr> frames;
  FrameOut out;
  while (true) {
    if (w->generation != generation_.load()) return;  // retired by the watchdog
    if (!collect_batch(entries)) break;
    const TimeNs started = clock.now();
    frames.clear();
    {
      std::lock_guard lock(mu_);
      if (w->generation != generation_.load()) {
        // Retired between the pop and here: these frames were never computed.
        for (auto& e : entries) drop(*e.item, options_.name, "watchdog_restart");
        return;
      }
      busy_since_ = started;
      current_.clear();
      for (auto& e : entries) current_.emplace_back(e.item->id, e.item->part);
    }
    for (auto& e : entries) {
      stats_.queue_wait.add(started - e.enqueued);
      shared_->trace.add({index_, e.item->id, e.item->part, true, e.enqueued, started});
      frames.push_back(e.item);
    }
    out.clear();
    Status st = w->processor->process(frames, out);
    const TimeNs finished = clock.now();
    {
      std::lock_guard lock(mu_);
      if (w->generation != generation_.load()) return;  // abandoned: restart() counted the frames
      busy_since_ = kIdle;
      current_.clear();
    }
    const TimeNs compute = finished - started;
    stats_.compute.add(compute);
    stats_.processed += static_cast<int64_t>(frames.size());
    if (!st.is_ok()) {
      const int64_t n = ++stats_.errors;
      if (shared_->log && worth_logging(n))
        shared_->log("stage '" + options_.name + "': frame " + std::to_string(frames[0]->id) + ": " + st.to_string() +
                     (n > 1 ? " (error " + std::to_string(n) + ")" : ""));
      for (const FramePtr& f : frames) drop(*f, options_.name, "error");
      continue;
    }
    if (options_.deadline > 0 && compute > options_.deadline) {
      const int64_t n = ++stats_.deadline_misses;
      if (shared_->log && worth_logging(n))
        shared_->log("stage '" + options_.name + "': frame " + std::to_string(frames[0]->id) + " took " + std::to_string(compute / 1000) +
                     " us, over its " + std::to_string(options_.deadline / 1000) + " us deadline (miss " + std::to_string(n) + ", " +
                     (options_.on_deadline == DeadlineAction::skip ? "result dropped" : "result kept") + ")");
      if (options_.on_deadline == DeadlineAction::skip) {
        for (const auto& f : out) drop(*f, options_.name, "deadline");
        continue;
      }
    }
    const TimeNs share = compute / static_cast<TimeNs>(std::max<size_t>(out.size(), 1));
    for (auto& f : out) {
      TimeNs enq = entries[0].enqueued;
      for (auto& e : entries)
        if (e.item->id == f->id && (e.item->part == f->part || e.item->part < 0)) {
          enq = e.enqueued;
          if (e.item->part == f->part) break;
        }
      f->stamps.push_back({index_, enq, started, finished, share, static_cast<int>(std::max<size_t>(out.size(), 1))});
      shared_->trace.add({index_, f->id, f->part, false, started, finished});
      emit(f);
    }
  }
  out.clear();
  Status st = w->processor->flush(out);
  if (!st.is_ok() && shared_->log) shared_->log("stage '" + options_.name + "': flush: " + st.to_string());
  const TimeNs now = clock.now();
  for (auto& f : out) {
    f->stamps.push_back({index_, now, now, now, 0, 1});
    emit(f);
  }
  finish_outputs();
}

}  // namespace ep::pipeline
