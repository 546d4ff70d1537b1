#include "pipeline/text_boxes.h"

#include <algorithm>
#include <cmath>

#include <clipper.hpp>
#include <opencv2/imgproc.hpp>

namespace ep::pipeline {
namespace {

// Mean probability inside the quad, over the quad's bounding box (PaddleOCR's 'fast' score).
// The quad's corners are truncated to integers as numpy's astype(int32) does.
float box_score_fast(const cv::Mat& prob, const Quad& box) {
  float x_lo = box[0].x, x_hi = box[0].x, y_lo = box[0].y, y_hi = box[0].y;
  for (const cv::Point2f& p : box) {
    x_lo = std::min(x_lo, p.x), x_hi = std::max(x_hi, p.x);
    y_lo = std::min(y_lo, p.y), y_hi = std::max(y_hi, p.y);
  }
  const int xmin = std::clamp(static_cast<int>(std::floor(x_lo)), 0, prob.cols - 1);
  const int xmax = std::clamp(static_cast<int>(std::ceil(x_hi)), 0, prob.cols - 1);
  const int ymin = std::clamp(static_cast<int>(std::floor(y_lo)), 0, prob.rows - 1);
  const int ymax = std::clamp(static_cast<int>(std::ceil(y_hi)), 0, prob.rows - 1);
  cv::Mat mask = cv::Mat::zeros(ymax - ymin + 1, xmax - xmin + 1, CV_8UC1);
  std::vector<cv::Point> poly;
  for (const cv::Point2f& p : box) poly.emplace_back(static_cast<int>(p.x - xmin), static_cast<int>(p.y - ymin));
  cv::fillPoly(mask, std::vector<std::vector<cv::Point>>{poly}, cv::Scalar(1));
  return static_cast<float>(cv::mean(prob(cv::Rect(xmin, ymin, mask.cols, mask.rows)), mask)[0]);
}

}  // namespace

Quad text_boxes_mini_box(const std::vector<cv::Point2f>& points, float* min_side) {
  const cv::RotatedRect rect = cv::minAreaRect(points);
  std::array<cv::Point2f, 4> p;
  rect.points(p.data());
  // Stable sort by x (Python's sorted), then the left pair and the right pair are each
  // split by y: the upper one of the left pair is top-left, of the right pair top-right.
  std::stable_sort(p.begin(), p.end(), [](const cv::Point2f& a, const cv::Point2f& b) { return a.x < b.x; });
  const bool left_swapped = !(p[1].y > p[0].y);
  const bool right_swapped = !(p[3].y > p[2].y);
  const cv::Point2f tl = left_swapped ? p[1] : p[0], bl = left_swapped ? p[0] : p[1];
  const cv::Point2f tr = right_swapped ? p[3] : p[2], br = right_swapped ? p[2] : p[3];
  if (min_side) *min_side = std::min(rect.size.width, rect.size.height);
  return {tl, tr, br, bl};
}

std::vector<cv::Point2f> text_boxes_unclip(const Quad& box, float ratio) {
  double area = 0, length = 0;
  for (int i = 0; i < 4; ++i) {
    const cv::Point2f& a = box[i];
    const cv::Point2f& b = box[(i + 1) % 4];
    area += static_cast<double>(a.x) * b.y - static_cast<double>(b.x) * a.y;
    length += std::hypot(static_cast<double>(b.x) - a.x, static_cast<double>(b.y) - a.y);
  }
  area = std::abs(area) / 2;
  if (length <= 0) return {};
  const double distance = area * ratio / length;
  // pyclipper converts the float corners to integers by truncation; do the same so the
  // offset polygon is PaddleOCR's.
  ClipperLib::Path path;
  for (const cv::Point2f& p : box)
    path.emplace_back(static_cast<ClipperLib::cInt>(p.x), static_cast<ClipperLib::cInt>(p.y));
  ClipperLib::ClipperOffset offset;  // miter limit 2, arc tolerance 0.25: pyclipper's defaults
  offset.AddPath(path, ClipperLib::jtRound, ClipperLib::etClosedPolygon);
  ClipperLib::Paths out;
  offset.Execute(out, distance);
  // PaddleOCR reshapes every returned path into one point list.
  std::vector<cv::Point2f> points;
  for (const ClipperLib::Path& p : out)
    for (const ClipperLib::IntPoint& q : p) points.emplace_back(static_cast<float>(q.X), static_cast<float>(q.Y));
  return points;
}

void text_boxes_sort(std::vector<TextResult>& boxes) {
  std::stable_sort(boxes.begin(), boxes.end(), [](const TextResult& a, const TextResult& b) {
    if (a.box[0].y != b.box[0].y) return a.box[0].y < b.box[0].y;
    return a.box[0].x < b.box[0].x;
  });
  // Insertion pass: a box on (nearly) the same line as its predecessor but further left
  // moves before it.
  for (size_t i = 0; i + 1 < boxes.size(); ++i) {
    for (size_t j = i + 1; j > 0; --j) {
      const cv::Point2f& cur = boxes[j].box[0];
      const cv::Point2f& prev = boxes[j - 1].box[0];
      if (std::abs(cur.y - prev.y) < 10 && cur.x < prev.x)
        std::swap(boxes[j], boxes[j - 1]);
      else
        break;
    }
  }
}

Result<std::vector<TextResult>> text_boxes_from_map(const cv::Mat& prob, const Geometry& geometry,
                                                    cv::Size source, const TextBoxOptions& options) {
  if (prob.empty() || prob.type() != CV_32FC1)
    return invalid_argument("text boxes: probability map must be a non-empty CV_32FC1 matrix (type ", prob.type(),
                            ", ", prob.cols, "x", prob.rows, ")");
  if (source.width <= 0 || source.height <= 0)
    return invalid_argument("text boxes: source size ", source.width, "x", source.height, " must be positive");
  if (geometry.scale_x <= 0 || geometry.scale_y <= 0)
    return invalid_argument("text boxes: geometry scale must be positive");

  cv::Mat bitmap = prob > options.thresh;  // 0 / 255
  if (options.use_dilation) cv::dilate(bitmap, bitmap, cv::Mat::ones(2, 2, CV_8UC1));
  std::vector<std::vector<cv::Point>> contours;
  cv::findContours(bitmap, contours, cv::RETR_LIST, cv::CHAIN_APPROX_SIMPLE);

  std::vector<TextResult> results;
  const size_t n = std::min(contours.size(), static_cast<size_t>(std::max(options.max_candidates, 0)));
  std::vector<cv::Point2f> points;
  for (size_t i = 0; i < n; ++i) {
    points.assign(contours[i].begin(), contours[i].end());
    float side = 0;
    const Quad mini = text_boxes_mini_box(points, &side);
    if (side < options.min_size) continue;
    const float score = box_score_fast(prob, mini);
    if (score < options.box_thresh) continue;
    const std::vector<cv::Point2f> grown = text_boxes_unclip(mini, options.unclip_ratio);
    if (grown.size() < 3) continue;
    const Quad box = text_boxes_mini_box(grown, &side);
    if (side < options.min_size + 2) continue;

    TextResult r;
    r.box_score = score;
    for (int k = 0; k < 4; ++k) {
      const cv::Point2f s = geometry.to_source(box[k]);
      // np.round is half-to-even, as is nearbyint in the default rounding mode.
      r.box[k].x = std::clamp(std::nearbyint(s.x), 0.f, static_cast<float>(source.width - 1));
      r.box[k].y = std::clamp(std::nearbyint(s.y), 0.f, static_cast<float>(source.height - 1));
    }
    // filter_tag_det_res: drop boxes 3 px or thinner once clipped to the image.
    const int w = static_cast<int>(cv::norm(r.box[0] - r.box[1]));
    const int h = static_cast<int>(cv::norm(r.box[0] - r.box[3]));
    if (w <= 3 || h <= 3) continue;
    results.push_back(std::move(r));
  }
  text_boxes_sort(results);
  return results;
}

Result<std::vector<TextResult>> text_boxes_from_tensor(const TensorView& maps, const Geometry& geometry,
                                                       cv::Size source, const TextBoxOptions& options) {
  const Shape& s = maps.shape;
  if (maps.dtype != DType::f32 || s.rank() != 4 || s[0] != 1 || s[1] != 1 || s[2] <= 0 || s[3] <= 0)
    return invalid_argument("text boxes: detector output ", s.to_string(), " (", dtype_name(maps.dtype),
                            "), expected f32 1x1xHxW");
  if (maps.data == nullptr) return invalid_argument("text boxes: detector output has no data");
  const cv::Mat prob(static_cast<int>(s[2]), static_cast<int>(s[3]), CV_32FC1, maps.data);
  return text_boxes_from_map(prob, geometry, source, options);
}

}  // namespace ep::pipeline
