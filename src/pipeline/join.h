// Fan-in after a split: collects the parts of each frame and emits the frame once every
// part arrived or was reported lost. The frame's texts are the parts' texts in part
// order; its stamps are the shared ones before the split followed by every part's own.
#pragma once

#include <map>
#include <mutex>

#include "pipeline/stage.h"

namespace ep::pipeline {

class JoinProcessor final : public Processor {
 public:
  Status process(std::span<const FramePtr> batch, FrameOut& out) override;
  Status flush(FrameOut& out) override;
  void part_lost(int64_t frame, int part) override;

 private:
  struct Pending {
    std::vector<FramePtr> parts;  // by part index, null until it arrives
    int received = 0;
  };
  std::shared_ptr<Frame> merge(int64_t id, Pending& p, int lost) const;
  void emit_ready(FrameOut& out);

  std::mutex mu_;  // part_lost comes from other threads
  std::map<int64_t, Pending> pending_;
  std::map<int64_t, int> lost_;
};

}  // namespace ep::pipeline
