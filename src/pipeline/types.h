// Value types shared by the pipeline's sources, post-processing, stages and sinks.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace ep::pipeline {

// A quadrilateral in source-image pixels, clockwise from the top-left corner
// (PaddleOCR's order: top-left, top-right, bottom-right, bottom-left).
using Quad = std::array<cv::Point2f, 4>;

// One line of text found in an image.
struct TextResult {
  std::string text;
  float score = 0;      // recognizer confidence: mean of the kept CTC maxima
  float box_score = 0;  // detector's mean probability inside the box
  Quad box{};
};

// A label the synthetic source drew, with where it drew it.
struct GroundTruthLabel {
  std::string text;
  Quad box{};
};

// An object from a detector such as YOLO.
struct Detection {
  int class_id = 0;
  float score = 0;
  cv::Rect2f box;  // x, y, width, height in source-image pixels
};

// One image as a source produced it.
struct SourceImage {
  cv::Mat image;     // CV_8UC3, BGR
  std::string name;  // file name for a folder, "synthetic", the video or device path
  int64_t index = 0; // position in the source, from 0
  std::vector<GroundTruthLabel> truth;  // filled only by the synthetic source
};

}  // namespace ep::pipeline
