// DBNet post-processing: probability map -> text quads, as PaddleOCR's DBPostProcess
// (box_type 'quad', score_mode 'fast') followed by its filter_tag_det_res and sorted_boxes.
#pragma once

#include <vector>

#include <opencv2/core.hpp>

#include "edgepipe/status.h"
#include "edgepipe/tensor.h"
#include "pipeline/preprocess.h"
#include "pipeline/types.h"

namespace ep::pipeline {

struct TextBoxOptions {
  float thresh = 0.3f;       // a map pixel is text when prob > thresh
  float box_thresh = 0.6f;   // a box is kept when its mean prob >= box_thresh
  int max_candidates = 1000; // contours looked at, in findContours order
  float unclip_ratio = 1.5f; // offset distance = area * ratio / perimeter
  bool use_dilation = false; // 2x2 dilation of the bitmap before contours
  int min_size = 3;          // shorter side below this (before unclip; +2 after) is dropped
};

// `prob` is the CV_32FC1 map at the detector's input resolution; `geometry` maps it to
// the source image of size `source` (boxes are rounded to whole pixels and clipped to it).
// Result: text empty, box_score set, sorted top-to-bottom then left-to-right.
Result<std::vector<TextResult>> text_boxes_from_map(const cv::Mat& prob, const Geometry& geometry,
                                                    cv::Size source, const TextBoxOptions& options = {});
// Same for the detector output tensor, f32 [1, 1, H, W].
Result<std::vector<TextResult>> text_boxes_from_tensor(const TensorView& maps, const Geometry& geometry,
                                                       cv::Size source, const TextBoxOptions& options = {});

// PaddleOCR's get_mini_boxes: the minimum-area rectangle of `points`, ordered top-left,
// top-right, bottom-right, bottom-left; `min_side` gets its shorter side.
Quad text_boxes_mini_box(const std::vector<cv::Point2f>& points, float* min_side);
// Grows a quad outward by area * ratio / perimeter with a rounded offset (Clipper).
std::vector<cv::Point2f> text_boxes_unclip(const Quad& box, float ratio);
// PaddleOCR's sorted_boxes: by top-left y then x, and boxes whose tops lie within 10 px
// of each other are put left to right.
void text_boxes_sort(std::vector<TextResult>& boxes);

}  // namespace ep::pipeline
