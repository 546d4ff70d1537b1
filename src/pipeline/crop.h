// Cuts a text line out of an image as PaddleOCR's get_rotate_crop_image does.
#pragma once

#include <opencv2/core.hpp>

#include "edgepipe/status.h"
#include "pipeline/types.h"

namespace ep::pipeline {

// Perspective-warps `box` (top-left, top-right, bottom-right, bottom-left) to an upright
// crop as wide as its longer horizontal edge and as tall as its longer vertical edge
// (bicubic, replicated border). A crop at least 1.5 times taller than wide is a vertical
// line and is turned 90 degrees counter-clockwise so the recognizer reads it.
Result<cv::Mat> crop_text_region(const cv::Mat& image, const Quad& box);

}  // namespace ep::pipeline
