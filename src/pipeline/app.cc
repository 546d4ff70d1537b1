#include "pipeline/app.h"

#include <filesystem>
#include <iomanip>
#include <iostream>
#include <mutex>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "pipeline/source.h"

namespace ep::pipeline {

const char* const kBuiltinPipeline = R"(# OCR on the synthetic source: the text detector, then the recognizer on every box.
# This is what `edgepipe run` runs without a pipeline file (and `make demo`).
name: ocr_synthetic
source:
  type: synthetic
  width: 640
  height: 480
  fps: 30
  duration_s: 10
  seed: 1
stages:
  - name: det
    kind: text_detect
    # A live source: only the freshest frame waits, older ones are dropped and counted.
    input: {from: source, depth: 1, policy: drop_oldest}
    model: models/ch_PP-OCRv4_det_infer.onnx
    threads: 1
    limit_side_len: 960
    deadline_ms: 1000
    fallback: {limit_side_len: 320, budget_ms: 250, misses: 3, probe_every: 20}
  # Small queues between the models: the detector may run at most about one frame ahead
  # of the recognizer, so a frame never waits behind a backlog of older ones.
  - name: crops
    kind: text_crops
    input: {from: det, depth: 1, policy: block}
  - name: rec
    kind: text_recognize
    input: {from: crops, depth: 4, policy: block}
    model: models/ch_PP-OCRv4_rec_infer.onnx
    dict: models/ppocr_keys_v1.txt
    threads: 1
    batch: {max: 8, wait_ms: 0}
    # Inputs 48 px high, padded to a width of 96, 160, 224, ...: the recognizer's cost
    # grows with width (8.8 ms at 160, 16.9 ms at 320 on this CPU) and labels are short.
    min_width: 96
    width_step: 64
  - name: join
    kind: join
    input: {from: rec, depth: 16, policy: block}
  - name: sink
    kind: sink
    input: {from: join, depth: 8, policy: block}
)";

namespace {

std::string fmt_ms(double v) {
  std::ostringstream o;
  o << std::fixed << std::setprecision(v < 10 ? 2 : 1) << v;
  return o.str();
}

std::string drops_line(const std::map<std::pair<std::string, std::string>, int64_t>& drops) {
  std::string s;
  for (auto& [k, n] : drops) s += (s.empty() ? "" : ", ") + k.first + " " + k.second + ": " + std::to_string(n);
  return s.empty() ? "none" : s;
}

std::string exe_dir() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? "" : p.parent_path().string();
}

}  // namespace

Result<RunResult> run_pipeline(const RunOptions& options, std::ostream& out, std::ostream& log, const std::atomic<bool>* stop_flag) {
  PipelineConfig cfg;
  if (options.pipeline.empty()) {
    EP_ASSIGN_OR_RETURN(cfg, parse_pipeline_config(kBuiltinPipeline, "built-in pipeline", ""));
  } else {
    EP_ASSIGN_OR_RETURN(cfg, load_pipeline_config(options.pipeline));
  }
  if (!options.source.empty()) cfg.source.spec = options.source;
  if (options.duration_s >= 0) cfg.source.duration_s = options.duration_s;
  if (options.fps >= 0) cfg.source.fps = options.fps;

  SourceOptions so;
  so.width = cfg.source.width;
  so.height = cfg.source.height;
  so.seed = cfg.source.seed;
  so.moving = cfg.source.moving;
  so.loop = cfg.source.loop;
  so.max_frames = cfg.source.max_frames;
  EP_ASSIGN_OR_RETURN(std::unique_ptr<FrameSource> source, open_source(cfg.source.spec, so));
  std::shared_ptr<FrameSource> src(std::move(source));

  BuildContext ctx;
  ctx.model_dirs = options.model_dirs;
  ctx.model_dirs.push_back(cfg.base_dir);
  ctx.model_dirs.push_back("");
  const std::string exe = exe_dir();
  if (!exe.empty()) {
    ctx.model_dirs.push_back(exe + "/..");
    ctx.model_dirs.push_back(exe);
  }
  ctx.jsonl_override = options.output;
  ctx.source = cfg.source;
  for (const StageConfig& s : cfg.stages) ctx.stage_names.push_back(s.name);

  std::mutex log_mu;
  Pipeline p;
  p.set_log([&](const std::string& line) {
    std::lock_guard lock(log_mu);
    log << "[" << std::fixed << std::setprecision(2) << static_cast<double>(p.clock().now() % (1000 * kSec)) / 1e9 << "] " << line << "\n";
  });
  SourcePacing pacing;
  pacing.fps = cfg.source.fps;
  pacing.duration = static_cast<TimeNs>(cfg.source.duration_s * 1e9);
  pacing.max_frames = cfg.source.max_frames;
  p.set_source(src->describe(), [src](SourceImage& img) { return src->read(img); }, pacing);
  bool any_deadline = false;
  for (const StageConfig& s : cfg.stages) {
    Result<ProcessorFactory> f = make_processor(s, ctx);
    if (!f.is_ok()) return f.status().with_context(cfg.origin + ":" + std::to_string(s.line));
    EP_RETURN_IF_ERROR(p.add_stage(s.options, std::move(*f)).status());
    any_deadline |= s.options.deadline > 0;
  }
  for (const StageConfig& s : cfg.stages) {
    Status st = p.connect(s.input.from, s.name, s.input.depth, s.input.policy);
    if (!st.is_ok()) return st.with_context(cfg.origin + ":" + std::to_string(s.line));
  }
  p.enable_trace(!options.trace.empty());
  out << "edgepipe run: " << cfg.name << " (" << cfg.origin << "), source " << src->describe();
  if (cfg.source.fps > 0) out << " at " << cfg.source.fps << " fps";
  if (cfg.source.duration_s > 0) out << " for " << cfg.source.duration_s << " s";
  out << "\nopening stages (models load and warm up before the first frame)...\n" << std::flush;
  EP_RETURN_IF_ERROR(p.start());
  if (any_deadline) p.start_watchdog(std::chrono::milliseconds(10));

  std::atomic<bool> done{false};
  Status source_status;
  std::thread waiter([&] {
    source_status = p.wait();
    done = true;
  });
  auto next = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  int64_t last_completed = 0, last_dropped = 0;
  std::vector<int64_t> last_compute, last_wait;  // per stage: samples already reported
  while (!done) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (stop_flag && stop_flag->load()) p.stop();
    if (options.live && std::chrono::steady_clock::now() >= next) {
      next += std::chrono::seconds(1);
      // The last second only: frames completed since the previous line, each stage's
      // samples since then, and the drops added.
      PipelineReport r = p.report(last_completed);
      std::ostringstream line;
      line << "[" << std::fixed << std::setprecision(1) << r.elapsed_s << "s] " << (r.completed - last_completed) << " fps";
      if (r.end_to_end.count)
        line << " | e2e " << fmt_ms(r.end_to_end.p50_ms) << "/" << fmt_ms(r.end_to_end.p90_ms) << "/" << fmt_ms(r.end_to_end.p99_ms) << " ms";
      const auto& stages = p.stages();
      last_compute.resize(stages.size(), 0);
      last_wait.resize(stages.size(), 0);
      for (size_t i = 0; i < stages.size(); ++i) {
        StageStats& st = stages[i]->stats();
        const Percentiles c = st.compute.summary(last_compute[i]), w = st.queue_wait.summary(last_wait[i]);
        last_compute[i] += c.count;
        last_wait[i] += w.count;
        if (c.count == 0) continue;
        line << " | " << stages[i]->name() << " " << fmt_ms(c.p50_ms) << "/" << fmt_ms(c.p90_ms) << "/" << fmt_ms(c.p99_ms)
             << " (wait p99 " << fmt_ms(w.p99_ms) << ")";
      }
      int64_t dropped = 0;
      for (auto& [k, n] : r.drops) dropped += n;
      line << " | dropped +" << (dropped - last_dropped);
      last_dropped = dropped;
      last_completed = r.completed;
      std::lock_guard lock(log_mu);
      out << line.str() << "\n" << std::flush;
    }
  }
  waiter.join();
  if (!options.trace.empty()) EP_RETURN_IF_ERROR(p.write_trace(options.trace));
  RunResult result{p.report(), ctx.tally, src->describe()};
  if (!source_status.is_ok()) return source_status;
  return result;
}

std::string report_json(const RunResult& r) {
  auto pct = [](const Percentiles& p) {
    return nlohmann::json{{"count", p.count}, {"p50_ms", p.p50_ms}, {"p90_ms", p.p90_ms}, {"p99_ms", p.p99_ms}, {"max_ms", p.max_ms}, {"mean_ms", p.mean_ms}};
  };
  const PipelineReport& p = r.report;
  nlohmann::json j;
  j["source"] = r.source;
  j["elapsed_s"] = p.elapsed_s;
  j["captured"] = p.captured;
  j["completed"] = p.completed;
  j["dropped"] = p.dropped;
  j["incomplete"] = p.incomplete;
  j["fps"] = p.fps;
  j["end_to_end"] = pct(p.end_to_end);
  j["frame_compute"] = pct(p.frame_compute);
  j["overhead"] = pct(p.overhead);
  for (auto& [k, n] : p.drops) j["drops"].push_back({{"where", k.first}, {"reason", k.second}, {"count", n}});
  for (const StageReport& s : p.stages)
    j["stages"].push_back({{"name", s.name}, {"processed", s.processed}, {"errors", s.errors}, {"deadline_misses", s.deadline_misses},
                           {"restarts", s.restarts}, {"switches_to_fallback", s.switches_to_fallback},
                           {"switches_to_primary", s.switches_to_primary}, {"fallback_frames", s.fallback_frames},
                           {"queue_wait", pct(s.queue_wait)}, {"compute", pct(s.compute)}});
  const RunTally& t = *r.tally;
  j["labels"] = t.labels;
  j["labels_exact"] = t.labels_exact;
  j["texts"] = t.texts;
  j["texts_unmatched"] = t.texts_unmatched;
  return j.dump(2);
}

void print_summary(const RunResult& r, std::ostream& out) {
  const PipelineReport& p = r.report;
  const RunTally& t = *r.tally;
  out << "\n== summary ==\n";
  if (!t.sample_lines.empty()) {
    out << "read (first frames):\n";
    for (const std::string& l : t.sample_lines) out << "  " << l << "\n";
  }
  if (t.labels > 0) {
    out << std::fixed << std::setprecision(1) << "ground truth: " << t.labels_exact << " of " << t.labels << " labels read exactly ("
        << 100.0 * static_cast<double>(t.labels_exact) / static_cast<double>(t.labels) << "%), " << t.texts_unmatched
        << " texts read where no label was\n";
    if (!t.misreads.empty()) {
      out << "  misreads (truth -> read):";
      for (size_t i = 0; i < t.misreads.size() && i < 8; ++i) out << " " << t.misreads[i].first << "->" << t.misreads[i].second;
      out << "\n";
    }
  }
  out << std::fixed << std::setprecision(1) << "frames: captured " << p.captured << ", completed " << p.completed << ", dropped " << p.dropped;
  if (p.incomplete) out << ", incomplete " << p.incomplete;
  out << " in " << p.elapsed_s << " s (" << p.fps << " fps)\n";
  out << "drops by place and reason: " << drops_line(p.drops) << "\n";
  out << "\nstage        frames   wait p50/p90/p99 ms        compute p50/p90/p99 ms     errors  misses  restarts\n";
  for (const StageReport& s : p.stages) {
    std::ostringstream a, b;
    a << fmt_ms(s.queue_wait.p50_ms) << " / " << fmt_ms(s.queue_wait.p90_ms) << " / " << fmt_ms(s.queue_wait.p99_ms);
    b << fmt_ms(s.compute.p50_ms) << " / " << fmt_ms(s.compute.p90_ms) << " / " << fmt_ms(s.compute.p99_ms);
    out << std::left << std::setw(12) << s.name << " " << std::right << std::setw(6) << s.processed << "   " << std::left << std::setw(26)
        << a.str() << " " << std::setw(26) << b.str() << " " << std::right << std::setw(6) << s.errors << "  " << std::setw(6)
        << s.deadline_misses << "  " << std::setw(8) << s.restarts << "\n";
    if (s.switches_to_fallback || s.fallback_frames)
      out << "             fallback: " << s.switches_to_fallback << " switches to, " << s.switches_to_primary << " back, "
          << s.fallback_frames << " frames on the fallback model\n";
  }
  out << std::left << std::setw(12) << "end-to-end" << " " << std::right << std::setw(6) << p.end_to_end.count << "   "
      << std::setw(26) << "" << " " << std::left << fmt_ms(p.end_to_end.p50_ms) << " / " << fmt_ms(p.end_to_end.p90_ms) << " / "
      << fmt_ms(p.end_to_end.p99_ms) << "\n";
  out << std::left << std::setw(12) << "compute" << " " << std::right << std::setw(6) << p.frame_compute.count << "   "
      << std::setw(26) << "" << " " << std::left << fmt_ms(p.frame_compute.p50_ms) << " / " << fmt_ms(p.frame_compute.p90_ms) << " / "
      << fmt_ms(p.frame_compute.p99_ms) << "   (per frame, all stages)\n" << std::right;
  if (p.frame_compute.p99_ms > 0)
    out << std::fixed << std::setprecision(2) << "end-to-end p99 / compute p99: " << p.end_to_end.p99_ms / p.frame_compute.p99_ms << "\n";
  out << "pipeline overhead (end-to-end minus compute, queue waits included): p50 " << fmt_ms(p.overhead.p50_ms) << " ms, p99 "
      << fmt_ms(p.overhead.p99_ms) << " ms\n";
}

}  // namespace ep::pipeline
