// Frames: immutable, ref-counted packets that flow between stages. A stage never
// changes a frame it received; it makes a new one that shares the parts it keeps
// (images, results) by pointer and adds its own, so fan-out costs no copies.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "pipeline/clock.h"
#include "pipeline/types.h"

namespace ep::pipeline {

// When a frame entered a stage's queue, started and finished there.
struct StageStamp {
  int stage = -1;  // index in the pipeline's stage list
  TimeNs enqueued = 0;
  TimeNs started = 0;
  TimeNs finished = 0;
  TimeNs compute = 0;  // this frame's share of the call (a batch or a split shares it out)
  int shares = 1;      // how many frames or parts the call's compute was shared among
};

struct Frame {
  int64_t id = 0;         // per pipeline run, from 0 in capture order
  TimeNs captured = 0;    // when the source produced it
  std::shared_ptr<const SourceImage> image;

  // Set on the parts of a split frame: parts of one frame share `id`.
  int part = -1;          // -1: not a part
  int parts = 0;          // how many parts the frame was split into
  int parts_lost = 0;     // set by a join: parts dropped on the way

  std::vector<TextResult> texts;      // text boxes, then their strings
  std::vector<Detection> detections;  // objects
  std::vector<std::pair<int, float>> classes;  // top-k (class, score)
  cv::Mat crop;           // a part's image region (shares the source image's pixels where it can)
  std::string model;      // which model variant produced the results ("primary", "fallback")

  std::vector<StageStamp> stamps;  // one per stage passed, in order
};

using FramePtr = std::shared_ptr<const Frame>;

// A copy that the caller may modify before publishing it as a new FramePtr.
inline std::shared_ptr<Frame> derive(const FramePtr& f) { return std::make_shared<Frame>(*f); }

}  // namespace ep::pipeline
