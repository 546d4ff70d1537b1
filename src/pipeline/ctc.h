// CTC output decoding for text recognizers (PaddleOCR's CTCLabelDecode, greedy).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "edgepipe/status.h"
#include "edgepipe/tensor.h"

namespace ep::pipeline {

// Class index -> UTF-8 token. Index 0 is the CTC blank.
class CtcDictionary {
 public:
  // PaddleOCR layout: blank, then one token per line of `path` (a trailing newline and
  // '\r' are stripped), then " " as the last class. When `expected_classes` > 0 the total
  // must match it (the recognizer's output size); the error names the file and both counts.
  static Result<CtcDictionary> load(const std::string& path, int64_t expected_classes = 0);
  // Blank + `tokens` (+ " " when `append_space`).
  static CtcDictionary from_tokens(std::vector<std::string> tokens, bool append_space = true);

  int64_t num_classes() const { return static_cast<int64_t>(tokens_.size()); }
  const std::string& token(int64_t index) const { return tokens_[static_cast<size_t>(index)]; }

 private:
  std::vector<std::string> tokens_;
};

struct CtcText {
  std::string text;
  float score = 0;  // mean probability of the kept steps; 0 when nothing is kept
};

// Greedy decode of one [steps x classes] row-major probability matrix: argmax per step
// (first on ties), repeats merged, blanks dropped.
Result<CtcText> ctc_greedy_decode(const float* probs, int64_t steps, int64_t classes, const CtcDictionary& dict);
// f32 [T, C] or [N, T, C]; one result per batch item.
Result<std::vector<CtcText>> ctc_greedy_decode(const TensorView& probs, const CtcDictionary& dict);

}  // namespace ep::pipeline
