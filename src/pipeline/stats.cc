#include "pipeline/stats.h"

#include <algorithm>

namespace ep::pipeline {

Percentiles summarize(std::vector<TimeNs> v) {
  Percentiles p;
  p.count = static_cast<int64_t>(v.size());
  if (v.empty()) return p;
  std::sort(v.begin(), v.end());
  auto at = [&](double q) {
    // Nearest rank: the smallest sample with at least q of the samples at or below it.
    size_t k = static_cast<size_t>(q * static_cast<double>(v.size()) + 0.999999);
    k = std::clamp<size_t>(k, 1, v.size());
    return static_cast<double>(v[k - 1]) / 1e6;
  };
  p.p50_ms = at(0.50);
  p.p90_ms = at(0.90);
  p.p99_ms = at(0.99);
  p.max_ms = static_cast<double>(v.back()) / 1e6;
  double sum = 0;
  for (TimeNs x : v) sum += static_cast<double>(x);
  p.mean_ms = sum / static_cast<double>(v.size()) / 1e6;
  return p;
}

void LatencySeries::add(TimeNs v) {
  std::lock_guard lock(mu_);
  if (ring_.size() < kMaxSamples) ring_.push_back(v);
  else ring_[static_cast<size_t>(total_) % kMaxSamples] = v;
  ++total_;
}

int64_t LatencySeries::count() const {
  std::lock_guard lock(mu_);
  return total_;
}

Percentiles LatencySeries::summary(int64_t since) const {
  std::vector<TimeNs> v;
  {
    std::lock_guard lock(mu_);
    const int64_t first = std::max<int64_t>({since, 0, total_ - static_cast<int64_t>(ring_.size())});
    v.reserve(static_cast<size_t>(total_ - first));
    for (int64_t i = first; i < total_; ++i) v.push_back(ring_[static_cast<size_t>(i) % kMaxSamples]);
  }
  return summarize(std::move(v));
}

void DropLedger::record(int64_t frame, int part, const std::string& where, const std::string& reason) {
  Drop d{frame, part, where, reason};
  std::vector<Listener> listeners;
  {
    std::lock_guard lock(mu_);
    ++counts_[{where, reason}];
    ++total_;
    if (part < 0) ++frames_;
    if (log_.size() < kMaxLog) log_.push_back(d);
    listeners = listeners_;
  }
  for (const Listener& l : listeners) l(d);
}

void DropLedger::listen(Listener l) {
  std::lock_guard lock(mu_);
  listeners_.push_back(std::move(l));
}

std::map<std::pair<std::string, std::string>, int64_t> DropLedger::counts() const {
  std::lock_guard lock(mu_);
  return counts_;
}

int64_t DropLedger::total() const {
  std::lock_guard lock(mu_);
  return total_;
}

int64_t DropLedger::frames_dropped() const {
  std::lock_guard lock(mu_);
  return frames_;
}

std::vector<DropLedger::Drop> DropLedger::recent(size_t max) const {
  std::lock_guard lock(mu_);
  const size_t n = std::min(max, log_.size());
  return {log_.end() - static_cast<std::ptrdiff_t>(n), log_.end()};
}

}  // namespace ep::pipeline
