// PP-OCR text detection and recognition on edgepipe sessions: synchronous, no threads of
// their own (the pipeline runtime calls them from its stage threads).
#pragma once

#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <opencv2/core.hpp>

#include "edgepipe/session.h"
#include "edgepipe/status.h"
#include "pipeline/ctc.h"
#include "pipeline/model_runner.h"
#include "pipeline/text_boxes.h"
#include "pipeline/types.h"

namespace ep::pipeline {

// Where one call spent its time (wall clock, milliseconds).
struct OcrTimings {
  double preprocess_ms = 0;
  double infer_ms = 0;     // the model's run (here or on its node), plus session creation for a new shape
  double postprocess_ms = 0;
  int runs = 0;             // Session::run calls
  int sessions_created = 0; // new input shapes seen by this call
};

enum class LimitType { max, min };

struct TextDetectorOptions {
  std::string model_path;  // ch_PP-OCRv4_det_infer.onnx
  int threads = 1;
  std::string precision = "fp32";  // SessionOptions::precision
  // PaddleOCR's DetResizeForTest: 'max' shrinks so the longer side is at most
  // limit_side_len, 'min' enlarges so the shorter side is at least limit_side_len; both
  // sides are then rounded to multiples of 32.
  int limit_side_len = 960;
  LimitType limit_type = LimitType::max;
  TextBoxOptions boxes;
  size_t max_sessions = 4;
  std::optional<RemoteModelOptions> remote;  // run the model on a node (pre/post-processing stay here)
};

class TextDetector {
 public:
  static Result<TextDetector> create(const TextDetectorOptions& options);
  // Text boxes in `bgr` pixels (CV_8UC3), sorted top-to-bottom, left-to-right.
  Result<std::vector<TextResult>> detect(const cv::Mat& bgr);
  // The detector input size used for an image of `image` size.
  cv::Size input_size(cv::Size image) const;
  const OcrTimings& last_timings() const { return timings_; }
  const TextDetectorOptions& options() const { return options_; }

 private:
  TextDetector(TextDetectorOptions options, std::unique_ptr<ModelRunner> runner)
      : options_(std::move(options)), runner_(std::move(runner)) {}
  TextDetectorOptions options_;
  std::unique_ptr<ModelRunner> runner_;
  std::vector<float> input_, output_;  // reused between calls
  OcrTimings timings_;
};

struct TextRecognizerOptions {
  std::string model_path;  // ch_PP-OCRv4_rec_infer.onnx
  std::string dict_path;   // ppocr_keys_v1.txt
  int threads = 1;
  std::string precision = "fp32";  // SessionOptions::precision
  int height = 48;
  // Crops are resized to `height` keeping their ratio and zero-padded on the right to a
  // width bucket: min_width, then steps of width_step, up to max_width (wider lines are
  // squeezed to it). PaddleOCR pads every line to at least 320.
  int min_width = 320;
  int width_step = 160;
  int max_width = 1600;
  // Crops per run when the model's batch dimension is open (crops are grouped by
  // aspect ratio first, as PaddleOCR does). 1 when it is fixed.
  int batch = 1;
  size_t max_sessions = 8;
  std::optional<RemoteModelOptions> remote;  // run the model on a node (pre/post-processing stay here)
};

class TextRecognizer {
 public:
  static Result<TextRecognizer> create(const TextRecognizerOptions& options);
  // One result per crop, in order: text and score set, box left empty.
  Result<std::vector<TextResult>> recognize(const std::vector<cv::Mat>& crops);
  const OcrTimings& last_timings() const { return timings_; }
  const TextRecognizerOptions& options() const { return options_; }
  const CtcDictionary& dictionary() const { return dict_; }

 private:
  TextRecognizer(TextRecognizerOptions options, std::unique_ptr<ModelRunner> runner, CtcDictionary dict)
      : options_(std::move(options)), runner_(std::move(runner)), dict_(std::move(dict)) {}
  int bucket_width(int resized_width) const;
  TextRecognizerOptions options_;
  std::unique_ptr<ModelRunner> runner_;
  CtcDictionary dict_;
  std::vector<float> input_, output_;
  OcrTimings timings_;
};

// detect + crop + recognize; lines the recognizer scores below `drop_score` are left out
// (PaddleOCR's TextSystem default 0.5). Each result has text, score, box and box_score.
Result<std::vector<TextResult>> read_text(TextDetector& detector, TextRecognizer& recognizer, const cv::Mat& bgr,
                                          float drop_score = 0.5f);

}  // namespace ep::pipeline
