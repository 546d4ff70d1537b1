#include "pipeline/pipeline.h"

namespace ep::pipeline {

Pipeline::Pipeline(Clock& clock) {
  shared_.clock = &clock;
  shared_.on_complete = [this](const FramePtr& f) {
    if (f->part >= 0) return;  // a stray part reaching a sink is not a frame
    const TimeNs now = shared_.clock->now();
    const TimeNs e2e = now - f->captured;
    TimeNs compute = 0;
    for (const StageStamp& s : f->stamps) compute += s.compute;
    e2e_.add(e2e);
    compute_.add(compute);
    overhead_.add(e2e - compute);
    if (f->parts_lost > 0) ++incomplete_;
    ended_at_ = now;
    if (complete_hook_) complete_hook_(f);
  };
}

Pipeline::~Pipeline() {
  stop();
  watchdog_stop_ = true;
  if (watchdog_thread_.joinable()) watchdog_thread_.join();
  if (source_thread_.joinable()) source_thread_.join();
  for (auto& s : stages_)
    if (s->input()) s->input()->close();
  for (auto& s : stages_) s->join();
}

void Pipeline::set_source(std::string name, SourceRead read, SourcePacing pacing) {
  source_name_ = std::move(name);
  read_ = std::move(read);
  pacing_ = pacing;
}

Result<int> Pipeline::add_stage(StageOptions options, ProcessorFactory factory) {
  if (options.name.empty() || options.name == "source") return invalid_argument("stage name '", options.name, "' is reserved or empty");
  if (stage(options.name)) return invalid_argument("stage '", options.name, "' is defined twice");
  const int index = static_cast<int>(stages_.size());
  stages_.push_back(std::make_unique<Stage>(std::move(options), std::move(factory), index, &shared_));
  return index;
}

Stage* Pipeline::stage(const std::string& name) const {
  for (auto& s : stages_)
    if (s->name() == name) return s.get();
  return nullptr;
}

Status Pipeline::connect(const std::string& from, const std::string& to, size_t depth, OverflowPolicy policy) {
  Stage* dst = stage(to);
  if (!dst) return invalid_argument("edge ", from, "->", to, ": no stage '", to, "'");
  if (depth < 1 || depth > 1'000'000) return invalid_argument("edge ", from, "->", to, ": depth ", depth, " out of 1..1000000");
  Stage* src = nullptr;
  if (from != "source") {
    src = stage(from);
    if (!src) return invalid_argument("edge ", from, "->", to, ": no stage '", from, "'");
    if (src == dst) return invalid_argument("edge ", from, "->", to, ": a stage cannot feed itself");
  }
  if (!dst->input()) dst->set_input(std::make_shared<FrameQueue>(depth, policy));
  dst->add_producer();
  Stage::Output out{from + "->" + to, dst->input_shared(), dst};
  if (src) src->add_output(std::move(out));
  else source_outputs_.push_back(std::move(out));
  return Status::ok();
}

Status Pipeline::start() {
  if (!read_) return invalid_argument("pipeline has no source");
  if (source_outputs_.empty()) return invalid_argument("nothing reads from the source: connect a stage to 'source'");
  for (auto& s : stages_)
    if (!s->input()) return invalid_argument("stage '", s->name(), "' has no input: connect it to 'source' or a stage");
  // A dropped part must reach the join waiting for it, or that frame would wait forever.
  shared_.drops.listen([this](const DropLedger::Drop& d) {
    if (d.part < 0) return;
    for (auto& s : stages_)
      if (Processor* p = s->processor()) p->part_lost(d.frame, d.part);
  });
  // Open every stage before the first frame exists, so model loading never shows as latency.
  for (auto& s : stages_) {
    Status st = s->start();
    if (!st.is_ok()) {
      for (auto& t : stages_) t->input()->close();
      return st;
    }
  }
  started_at_ = shared_.clock->now();
  source_thread_ = std::thread([this] { run_source(); });
  return Status::ok();
}

void Pipeline::emit_from_source(const FramePtr& f) {
  const TimeNs now = shared_.clock->now();
  for (const Stage::Output& o : source_outputs_) {
    auto r = o.queue->push(f, now);
    switch (r.outcome) {
      case FrameQueue::PushOutcome::accepted: break;
      case FrameQueue::PushOutcome::displaced_oldest: shared_.drops.record((*r.dropped)->id, -1, o.edge, "queue_full_drop_oldest"); break;
      case FrameQueue::PushOutcome::refused: shared_.drops.record(f->id, -1, o.edge, "queue_full_drop_newest"); break;
      case FrameQueue::PushOutcome::closed: shared_.drops.record(f->id, -1, o.edge, "shutdown"); break;
    }
  }
}

void Pipeline::run_source() {
  Clock& clock = *shared_.clock;
  const TimeNs t0 = clock.now();
  int consecutive_errors = 0;
  for (int64_t i = 0; !stop_; ++i) {
    if (pacing_.max_frames >= 0 && i >= pacing_.max_frames) break;
    if (pacing_.fps > 0) clock.sleep_until(t0 + static_cast<TimeNs>(static_cast<double>(i) * 1e9 / pacing_.fps));
    if (stop_) break;
    if (pacing_.duration > 0 && clock.now() - t0 >= pacing_.duration) break;
    auto image = std::make_shared<SourceImage>();
    Result<bool> r = read_(*image);
    const TimeNs now = clock.now();
    ++captured_;
    if (!r.is_ok()) {
      ++source_errors_;
      shared_.drops.record(i, -1, source_name_, "read_error");
      if (shared_.log) shared_.log("source '" + source_name_ + "': frame " + std::to_string(i) + ": " + r.status().to_string());
      if (++consecutive_errors >= pacing_.max_consecutive_errors) {
        source_status_ = r.status().with_context("source '" + source_name_ + "' failed " + std::to_string(consecutive_errors) + " times in a row");
        break;
      }
      continue;
    }
    if (!*r) {
      --captured_;
      break;
    }
    consecutive_errors = 0;
    auto f = std::make_shared<Frame>();
    f->id = i;
    f->captured = now;
    f->image = std::move(image);
    emit_from_source(f);
  }
  for (const Stage::Output& o : source_outputs_) o.to->producer_done();
}

void Pipeline::stop() { stop_ = true; }

Status Pipeline::wait() {
  if (source_thread_.joinable()) source_thread_.join();
  for (auto& s : stages_) s->join();
  watchdog_stop_ = true;
  if (watchdog_thread_.joinable()) watchdog_thread_.join();
  if (ended_at_.load() == 0) ended_at_ = shared_.clock->now();
  return source_status_;
}

void Pipeline::watchdog_check() {
  std::lock_guard lock(watchdog_mu_);
  const TimeNs now = shared_.clock->now();
  for (auto& s : stages_) {
    const StageOptions& o = s->options();
    const TimeNs since = s->busy_since();
    if (o.deadline <= 0 || since == Stage::kIdle || now - since <= o.deadline) continue;
    auto seen = reported_busy_.find(s->index());
    if (seen != reported_busy_.end() && seen->second == since) continue;  // this batch was handled already
    reported_busy_[s->index()] = since;
    if (shared_.log)
      shared_.log("watchdog: stage '" + s->name() + "' busy for " + std::to_string((now - since) / kMs) + " ms (deadline " +
                  std::to_string(o.deadline / kMs) + " ms)");
    if (o.on_deadline == DeadlineAction::restart) {
      Status st = s->restart();
      if (!st.is_ok() && shared_.log) shared_.log("watchdog: " + st.to_string());
    }
  }
}

void Pipeline::start_watchdog(std::chrono::milliseconds period) {
  watchdog_thread_ = std::thread([this, period] {
    while (!watchdog_stop_) {
      std::this_thread::sleep_for(period);
      watchdog_check();
    }
  });
}

PipelineReport Pipeline::report(int64_t since_e2e) const {
  PipelineReport r;
  const TimeNs end = ended_at_.load() ? ended_at_.load() : shared_.clock->now();
  r.elapsed_s = static_cast<double>(end - started_at_) / 1e9;
  r.captured = captured_;
  r.completed = e2e_.count();
  r.dropped = shared_.drops.frames_dropped();
  r.incomplete = incomplete_;
  r.source_errors = source_errors_;
  r.fps = r.elapsed_s > 0 ? static_cast<double>(r.completed) / r.elapsed_s : 0;
  r.end_to_end = e2e_.summary(since_e2e);
  r.overhead = overhead_.summary(since_e2e);
  r.frame_compute = compute_.summary(since_e2e);
  for (auto& s : stages_) {
    StageStats& st = s->stats();
    StageReport sr;
    sr.name = s->name();
    sr.processed = st.processed;
    sr.errors = st.errors;
    sr.deadline_misses = st.deadline_misses;
    sr.restarts = st.restarts;
    sr.switches_to_fallback = st.switches_to_fallback;
    sr.switches_to_primary = st.switches_to_primary;
    sr.fallback_frames = st.fallback_frames;
    sr.queue_wait = st.queue_wait.summary();
    sr.compute = st.compute.summary();
    r.stages.push_back(std::move(sr));
  }
  r.drops = shared_.drops.counts();
  return r;
}

Status Pipeline::write_trace(const std::string& path) const {
  std::vector<std::string> names;
  for (auto& s : stages_) names.push_back(s->name());
  return shared_.trace.write(path, names, started_at_);
}

}  // namespace ep::pipeline
