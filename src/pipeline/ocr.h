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
#include "pipeline/text_boxes.h"
#include "pipeline/types.h"

namespace ep::pipeline {

// Where one call spent its time (wall clock, milliseconds).
struct OcrTimings {
  double preprocess_ms = 0;
  double infer_ms = 0;     // Session::run, plus session creation for a new shape
  double postprocess_ms = 0;
  int runs = 0;             // Session::run calls
  int sessions_created = 0; // new input shapes seen by this call
};

// Sessions bind input shapes at creation, so a model fed several shapes keeps one
// session per shape, least recently used dropped first.
class SessionCache {
 public:
  SessionCache(Model model, SessionOptions base, size_t capacity)
      : model_(std::move(model)), base_(std::move(base)), capacity_(capacity < 1 ? 1 : capacity) {}
  // The session for `input` bound to `shape`; `created` is set when it had to be built.
  Result<Session*> get(const std::string& input, const Shape& shape, bool* created);
  const Model& model() const { return model_; }
  size_t size() const { return entries_.size(); }

 private:
  Model model_;
  SessionOptions base_;
  size_t capacity_;
  std::list<std::pair<Shape, Session>> entries_;  // most recent first
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
  TextDetector(TextDetectorOptions options, SessionCache cache, std::string input)
      : options_(std::move(options)), cache_(std::move(cache)), input_name_(std::move(input)) {}
  TextDetectorOptions options_;
  SessionCache cache_;
  std::string input_name_;
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
  TextRecognizer(TextRecognizerOptions options, SessionCache cache, std::string input, CtcDictionary dict)
      : options_(std::move(options)), cache_(std::move(cache)), input_name_(std::move(input)), dict_(std::move(dict)) {}
  int bucket_width(int resized_width) const;
  TextRecognizerOptions options_;
  SessionCache cache_;
  std::string input_name_;
  CtcDictionary dict_;
  std::vector<float> input_, output_;
  OcrTimings timings_;
};

// detect + crop + recognize; lines the recognizer scores below `drop_score` are left out
// (PaddleOCR's TextSystem default 0.5). Each result has text, score, box and box_score.
Result<std::vector<TextResult>> read_text(TextDetector& detector, TextRecognizer& recognizer, const cv::Mat& bgr,
                                          float drop_score = 0.5f);

}  // namespace ep::pipeline
