#include "pipeline/join.h"

namespace ep::pipeline {

Status JoinProcessor::process(std::span<const FramePtr> batch, FrameOut& out) {
  std::lock_guard lock(mu_);
  for (const FramePtr& f : batch) {
    if (f->part < 0) {  // never split (for example no text found): passes through
      out.push_back(derive(f));
      continue;
    }
    if (f->parts <= 0 || f->part >= f->parts)
      return invalid_argument("join: frame ", f->id, " part ", f->part, " of ", f->parts, " is out of range");
    Pending& p = pending_[f->id];
    if (p.parts.empty()) p.parts.resize(static_cast<size_t>(f->parts));
    if (p.parts.size() != static_cast<size_t>(f->parts))
      return invalid_argument("join: frame ", f->id, " parts disagree on their count");
    if (p.parts[static_cast<size_t>(f->part)]) return invalid_argument("join: frame ", f->id, " part ", f->part, " arrived twice");
    p.parts[static_cast<size_t>(f->part)] = f;
    ++p.received;
  }
  emit_ready(out);
  return Status::ok();
}

void JoinProcessor::part_lost(int64_t frame, int part) {
  std::lock_guard lock(mu_);
  ++lost_[frame];
}

void JoinProcessor::emit_ready(FrameOut& out) {
  for (auto it = pending_.begin(); it != pending_.end();) {
    const int lost = lost_.count(it->first) ? lost_[it->first] : 0;
    if (it->second.received + lost < static_cast<int>(it->second.parts.size())) {
      ++it;
      continue;
    }
    out.push_back(merge(it->first, it->second, lost));
    lost_.erase(it->first);
    it = pending_.erase(it);
  }
}

Status JoinProcessor::flush(FrameOut& out) {
  std::lock_guard lock(mu_);
  for (auto& [id, p] : pending_) {
    const int lost = static_cast<int>(p.parts.size()) - p.received;
    out.push_back(merge(id, p, lost));
  }
  pending_.clear();
  lost_.clear();
  return Status::ok();
}

std::shared_ptr<Frame> JoinProcessor::merge(int64_t id, Pending& p, int lost) const {
  const FramePtr* first = nullptr;
  for (const FramePtr& f : p.parts)
    if (f) {
      first = &f;
      break;
    }
  auto m = derive(*first);
  m->part = -1;
  m->parts = static_cast<int>(p.parts.size());
  m->parts_lost = lost;
  m->crop = cv::Mat();
  m->texts.clear();
  m->detections.clear();
  // The stamps every part shares (stages before the split) come once; the split stage's
  // compute was shared out among the parts, so it is summed back.
  size_t common = (*first)->stamps.size();
  for (const FramePtr& f : p.parts) {
    if (!f) continue;
    size_t k = 0;
    while (k < common && k < f->stamps.size() && f->stamps[k].stage == (*first)->stamps[k].stage &&
           f->stamps[k].started == (*first)->stamps[k].started && f->stamps[k].finished == (*first)->stamps[k].finished)
      ++k;
    common = k;
  }
  m->stamps.assign((*first)->stamps.begin(), (*first)->stamps.begin() + static_cast<std::ptrdiff_t>(common));
  // A shared stamp whose call was shared out (the split, or a batch of these parts) comes
  // back whole: the parts' shares are summed. One that was not shared is counted once.
  for (size_t k = 0; k < common; ++k) {
    if (m->stamps[k].shares <= 1) continue;
    TimeNs total = 0;
    for (const FramePtr& f : p.parts)
      if (f) total += f->stamps[k].compute;
    m->stamps[k].compute = total;
  }
  for (const FramePtr& f : p.parts) {
    if (!f) continue;
    m->texts.insert(m->texts.end(), f->texts.begin(), f->texts.end());
    m->detections.insert(m->detections.end(), f->detections.begin(), f->detections.end());
    m->stamps.insert(m->stamps.end(), f->stamps.begin() + static_cast<std::ptrdiff_t>(common), f->stamps.end());
  }
  return m;
}

}  // namespace ep::pipeline
