// Object-detector and classifier output decoding: YOLOv5 / YOLOv8 heads, class-aware NMS,
// boxes mapped back through the preprocess geometry; top-k classes.
#pragma once

#include <cstddef>
#include <vector>

#include <opencv2/core.hpp>

#include "edgepipe/status.h"
#include "edgepipe/tensor.h"
#include "pipeline/preprocess.h"
#include "pipeline/types.h"

namespace ep::pipeline {

struct DetectionOptions {
  float conf_threshold = 0.25f;  // kept when score > threshold (v5: objectness and obj * class)
  float iou_threshold = 0.45f;   // suppressed when IoU with a better box of its class > threshold
  int max_detections = 300;
  int max_candidates = 30000;    // best-scoring boxes that enter NMS
  bool class_agnostic = false;   // true: boxes of different classes suppress each other too
};

// YOLOv5: f32 [1, N, 5 + C] rows (cx, cy, w, h, objectness, C class probabilities) in
// network-input pixels. Boxes come back in source pixels (via `geometry`), clipped to
// `source`, best first.
Result<std::vector<Detection>> decode_yolov5(const TensorView& output, const Geometry& geometry, cv::Size source,
                                             const DetectionOptions& options = {});
// YOLOv8: f32 [1, 4 + C, N] (transposed, no objectness): score = best class probability.
Result<std::vector<Detection>> decode_yolov8(const TensorView& output, const Geometry& geometry, cv::Size source,
                                             const DetectionOptions& options = {});

float detection_iou(const cv::Rect2f& a, const cv::Rect2f& b);
// Greedy NMS: indices of the kept detections, best score first (ties: lower index first).
std::vector<size_t> detection_nms(const std::vector<Detection>& detections, float iou_threshold, bool class_agnostic,
                                  size_t max_keep);

struct ClassScore {
  int class_id = 0;
  float score = 0;
};
// The k best classes of f32 [C] or [1, C] scores, best first; `softmax` turns logits
// into probabilities first.
Result<std::vector<ClassScore>> top_k_classes(const TensorView& scores, int k, bool softmax);

}  // namespace ep::pipeline
