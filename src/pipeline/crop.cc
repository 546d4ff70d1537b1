#include "pipeline/crop.h"

#include <algorithm>
#include <cmath>

#include <opencv2/imgproc.hpp>

namespace ep::pipeline {

Result<cv::Mat> crop_text_region(const cv::Mat& image, const Quad& box) {
  if (image.empty()) return invalid_argument("crop: empty image");
  for (const cv::Point2f& p : box)
    if (!std::isfinite(p.x) || !std::isfinite(p.y)) return invalid_argument("crop: box has a non-finite corner");
  // int() in PaddleOCR truncates the edge lengths.
  const int w = static_cast<int>(std::max(cv::norm(box[0] - box[1]), cv::norm(box[2] - box[3])));
  const int h = static_cast<int>(std::max(cv::norm(box[0] - box[3]), cv::norm(box[1] - box[2])));
  if (w < 1 || h < 1) return invalid_argument("crop: box is degenerate (", w, "x", h, " px)");
  const cv::Point2f dst[4] = {{0, 0}, {static_cast<float>(w), 0}, {static_cast<float>(w), static_cast<float>(h)},
                              {0, static_cast<float>(h)}};
  const cv::Mat m = cv::getPerspectiveTransform(box.data(), dst);
  cv::Mat crop;
  cv::warpPerspective(image, crop, m, cv::Size(w, h), cv::INTER_CUBIC, cv::BORDER_REPLICATE);
  if (static_cast<double>(h) / w >= 1.5) cv::rotate(crop, crop, cv::ROTATE_90_COUNTERCLOCKWISE);  // np.rot90
  return crop;
}

}  // namespace ep::pipeline
