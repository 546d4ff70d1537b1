// Calibration inputs for `edgepipe quantize`: model-ready tensors from the synthetic text
// scenes (the distribution our OCR models see) or from a folder of .npy tensors or images,
// pre-processed as the PP-OCR detector or recognizer expects.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "edgepipe/status.h"
#include "edgepipe/tensor.h"

namespace ep::pipeline {

// det: stretch the image to the input's HxW, ImageNet mean/std (PaddleOCR's det).
// rec: a text line 48 px high, width kept in proportion up to the input's W, zero padded,
// mean/std 0.5 (PaddleOCR's rec); from synthetic frames, every ground-truth label is a line.
enum class CalibrationPreprocess { det, rec };

struct CalibrationDataOptions {
  std::string source;       // "synthetic" or a folder
  Shape shape;              // 1x3xHxW, the model input
  int samples = 16;
  CalibrationPreprocess preprocess = CalibrationPreprocess::det;
  uint64_t seed = 1;        // synthetic frames
  int64_t first_frame = 0;  // synthetic: frames first_frame, first_frame + 1, ...
};

// Inputs for a one-input model; errors name the file or option.
Result<std::vector<Tensor>> calibration_inputs(const CalibrationDataOptions& options);

}  // namespace ep::pipeline
