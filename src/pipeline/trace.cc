#include "pipeline/trace.h"

#include <cstdio>
#include <fstream>

namespace ep::pipeline {

void TraceRecorder::add(const Span& s) {
  if (!enabled_) return;
  std::lock_guard lock(mu_);
  if (spans_.size() < kMaxSpans) spans_.push_back(s);
}

size_t TraceRecorder::size() const {
  std::lock_guard lock(mu_);
  return spans_.size();
}

Status TraceRecorder::write(const std::string& path, const std::vector<std::string>& stage_names, TimeNs origin) const {
  std::ofstream out(path);
  if (!out) return io_error("trace '", path, "': cannot open for writing");
  out << "{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n";
  bool first = true;
  auto sep = [&] { out << (first ? "" : ",\n"); first = false; };
  for (size_t i = 0; i < stage_names.size(); ++i) {
    sep();
    // Stage names come from the pipeline file; keep them JSON-safe.
    std::string n;
    for (char c : stage_names[i]) n += (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) ? '_' : c;
    out << "{\"ph\":\"M\",\"pid\":1,\"tid\":" << i << ",\"name\":\"thread_name\",\"args\":{\"name\":\"" << n << "\"}}";
  }
  std::lock_guard lock(mu_);
  char buf[256];
  for (const Span& s : spans_) {
    sep();
    const double ts = static_cast<double>(s.begin - origin) / 1e3;
    const double dur = static_cast<double>(s.end - s.begin) / 1e3;
    const std::string& stage = s.stage >= 0 && static_cast<size_t>(s.stage) < stage_names.size() ? stage_names[s.stage] : "?";
    std::snprintf(buf, sizeof buf, "{\"ph\":\"X\",\"pid\":1,\"tid\":%d,\"ts\":%.3f,\"dur\":%.3f,\"cat\":\"%s\",", s.stage, ts, dur,
                  s.wait ? "queue" : "compute");
    out << buf << "\"name\":\"" << (s.wait ? "wait " : "") << "frame " << s.frame;
    if (s.part >= 0) out << "." << s.part;
    out << "\",\"args\":{\"frame\":" << s.frame << ",\"part\":" << s.part << ",\"stage\":" << s.stage << "}}";
    (void)stage;
  }
  out << "\n]}\n";
  if (!out) return io_error("trace '", path, "': write failed");
  return Status::ok();
}

}  // namespace ep::pipeline
