#include "pipeline/detections.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace ep::pipeline {
namespace {

Status check_options(const DetectionOptions& o, const char* what) {
  if (o.max_detections < 0 || o.max_candidates < 0)
    return invalid_argument(what, ": max_detections and max_candidates must be >= 0");
  if (!(o.iou_threshold >= 0 && o.iou_threshold <= 1))
    return invalid_argument(what, ": iou_threshold ", o.iou_threshold, " outside [0, 1]");
  return Status::ok();
}

// Keeps the best max_candidates, runs NMS in network coordinates (where the model's
// boxes live), then maps the survivors to the source and clips them.
std::vector<Detection> finish(std::vector<Detection> candidates, const Geometry& g, cv::Size source,
                              const DetectionOptions& o) {
  auto better = [](const Detection& a, const Detection& b) { return a.score > b.score; };
  if (candidates.size() > static_cast<size_t>(o.max_candidates)) {
    std::nth_element(candidates.begin(), candidates.begin() + o.max_candidates, candidates.end(), better);
    candidates.resize(static_cast<size_t>(o.max_candidates));
  }
  const std::vector<size_t> keep =
      detection_nms(candidates, o.iou_threshold, o.class_agnostic, static_cast<size_t>(o.max_detections));
  std::vector<Detection> out;
  out.reserve(keep.size());
  const cv::Rect2f image(0, 0, static_cast<float>(source.width), static_cast<float>(source.height));
  for (size_t i : keep) {
    Detection d = candidates[i];
    d.box = g.to_source(d.box) & image;
    out.push_back(d);
  }
  return out;
}

cv::Rect2f from_centre(float cx, float cy, float w, float h) { return {cx - w / 2, cy - h / 2, w, h}; }

Status check_geometry(const Geometry& g, cv::Size source, const char* what) {
  if (g.scale_x <= 0 || g.scale_y <= 0) return invalid_argument(what, ": geometry scale must be positive");
  if (source.width <= 0 || source.height <= 0)
    return invalid_argument(what, ": source size ", source.width, "x", source.height, " must be positive");
  return Status::ok();
}

}  // namespace

float detection_iou(const cv::Rect2f& a, const cv::Rect2f& b) {
  const float inter = (a & b).area();
  const float uni = a.area() + b.area() - inter;
  return uni > 0 ? inter / uni : 0.f;
}

std::vector<size_t> detection_nms(const std::vector<Detection>& dets, float iou_threshold, bool class_agnostic,
                                  size_t max_keep) {
  std::vector<size_t> order(dets.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return dets[a].score > dets[b].score; });
  std::vector<size_t> keep;
  std::vector<char> removed(dets.size(), 0);
  for (size_t oi = 0; oi < order.size() && keep.size() < max_keep; ++oi) {
    const size_t i = order[oi];
    if (removed[i]) continue;
    keep.push_back(i);
    for (size_t oj = oi + 1; oj < order.size(); ++oj) {
      const size_t j = order[oj];
      if (removed[j] || (!class_agnostic && dets[j].class_id != dets[i].class_id)) continue;
      if (detection_iou(dets[i].box, dets[j].box) > iou_threshold) removed[j] = 1;
    }
  }
  return keep;
}

Result<std::vector<Detection>> decode_yolov5(const TensorView& output, const Geometry& geometry, cv::Size source,
                                             const DetectionOptions& o) {
  const Shape& s = output.shape;
  if (output.dtype != DType::f32 || s.rank() != 3 || s[0] != 1 || s[1] < 0 || s[2] < 6)
    return invalid_argument("YOLOv5 decode: output ", s.to_string(), " (", dtype_name(output.dtype),
                            "), expected f32 1xNx(5+C) with C >= 1");
  EP_RETURN_IF_ERROR(check_options(o, "YOLOv5 decode"));
  EP_RETURN_IF_ERROR(check_geometry(geometry, source, "YOLOv5 decode"));
  const int64_t n = s[1], stride = s[2], classes = stride - 5;
  const float* p = output.as<float>();
  std::vector<Detection> candidates;
  for (int64_t i = 0; i < n; ++i) {
    const float* r = p + i * stride;
    const float obj = r[4];
    if (!(obj > o.conf_threshold)) continue;  // also drops NaN
    const float* cls = r + 5;
    const int64_t best = std::max_element(cls, cls + classes) - cls;
    const float score = obj * cls[best];
    if (!(score > o.conf_threshold)) continue;
    candidates.push_back({static_cast<int>(best), score, from_centre(r[0], r[1], r[2], r[3])});
  }
  return finish(std::move(candidates), geometry, source, o);
}

Result<std::vector<Detection>> decode_yolov8(const TensorView& output, const Geometry& geometry, cv::Size source,
                                             const DetectionOptions& o) {
  const Shape& s = output.shape;
  if (output.dtype != DType::f32 || s.rank() != 3 || s[0] != 1 || s[1] < 5 || s[2] < 0)
    return invalid_argument("YOLOv8 decode: output ", s.to_string(), " (", dtype_name(output.dtype),
                            "), expected f32 1x(4+C)xN with C >= 1");
  EP_RETURN_IF_ERROR(check_options(o, "YOLOv8 decode"));
  EP_RETURN_IF_ERROR(check_geometry(geometry, source, "YOLOv8 decode"));
  const int64_t classes = s[1] - 4, n = s[2];
  const float* p = output.as<float>();
  // Channel-major: walk each class row once (contiguous) keeping the best per anchor,
  // rather than striding down a column per anchor.
  std::vector<float> best_score(static_cast<size_t>(n), -INFINITY);
  std::vector<int> best_class(static_cast<size_t>(n), 0);
  for (int64_t c = 0; c < classes; ++c) {
    const float* row = p + (4 + c) * n;
    for (int64_t i = 0; i < n; ++i)
      if (row[i] > best_score[i]) best_score[i] = row[i], best_class[i] = static_cast<int>(c);
  }
  std::vector<Detection> candidates;
  for (int64_t i = 0; i < n; ++i) {
    if (!(best_score[i] > o.conf_threshold)) continue;
    candidates.push_back({best_class[i], best_score[i], from_centre(p[i], p[n + i], p[2 * n + i], p[3 * n + i])});
  }
  return finish(std::move(candidates), geometry, source, o);
}

Result<std::vector<ClassScore>> top_k_classes(const TensorView& scores, int k, bool softmax) {
  const Shape& s = scores.shape;
  const bool ok_shape = (s.rank() == 1 && s[0] > 0) || (s.rank() == 2 && s[0] == 1 && s[1] > 0);
  if (scores.dtype != DType::f32 || !ok_shape)
    return invalid_argument("top-k: scores ", s.to_string(), " (", dtype_name(scores.dtype),
                            "), expected f32 C or 1xC");
  if (k < 0) return invalid_argument("top-k: k ", k, " must be >= 0");
  const int64_t c = s[s.rank() - 1];
  const float* p = scores.as<float>();
  std::vector<float> v(p, p + c);
  if (softmax) {
    const float m = *std::max_element(v.begin(), v.end());  // shift for exp's range
    double sum = 0;
    for (float& x : v) sum += (x = std::exp(x - m));
    for (float& x : v) x = static_cast<float>(x / sum);
  }
  std::vector<int> idx(static_cast<size_t>(c));
  std::iota(idx.begin(), idx.end(), 0);
  const size_t kk = std::min(static_cast<size_t>(k), idx.size());
  std::partial_sort(idx.begin(), idx.begin() + kk, idx.end(),
                    [&](int a, int b) { return v[a] > v[b] || (v[a] == v[b] && a < b); });
  std::vector<ClassScore> out;
  for (size_t i = 0; i < kk; ++i) out.push_back({idx[i], v[idx[i]]});
  return out;
}

}  // namespace ep::pipeline
