#include "pipeline/ctc.h"

#include <fstream>
#include <sstream>

namespace ep::pipeline {

Result<CtcDictionary> CtcDictionary::load(const std::string& path, int64_t expected_classes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return io_error("CTC dictionary '", path, "': cannot open");
  std::vector<std::string> tokens;
  std::string line;
  int64_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty())
      return invalid_argument("CTC dictionary '", path, "': line ", line_no, " is empty");
    tokens.push_back(std::move(line));
  }
  if (in.bad()) return io_error("CTC dictionary '", path, "': read error");
  if (tokens.empty()) return invalid_argument("CTC dictionary '", path, "': no tokens");
  CtcDictionary dict = from_tokens(std::move(tokens), true);
  if (expected_classes > 0 && dict.num_classes() != expected_classes)
    return invalid_argument("CTC dictionary '", path, "': ", dict.num_classes(),
                            " classes (blank + ", dict.num_classes() - 2, " lines + space), but the model outputs ",
                            expected_classes);
  return dict;
}

CtcDictionary CtcDictionary::from_tokens(std::vector<std::string> tokens, bool append_space) {
  CtcDictionary d;
  d.tokens_.reserve(tokens.size() + 2);
  d.tokens_.emplace_back();  // blank
  for (std::string& t : tokens) d.tokens_.push_back(std::move(t));
  if (append_space) d.tokens_.emplace_back(" ");
  return d;
}

Result<CtcText> ctc_greedy_decode(const float* probs, int64_t steps, int64_t classes, const CtcDictionary& dict) {
  if (classes != dict.num_classes())
    return invalid_argument("CTC decode: ", classes, " classes in the output, dictionary has ", dict.num_classes());
  if (steps < 0 || (steps > 0 && probs == nullptr)) return invalid_argument("CTC decode: no data for ", steps, " steps");
  CtcText out;
  double sum = 0;
  int64_t kept = 0, prev = -1;
  for (int64_t t = 0; t < steps; ++t) {
    const float* row = probs + t * classes;
    int64_t best = 0;
    for (int64_t c = 1; c < classes; ++c)
      if (row[c] > row[best]) best = c;
    if (best != 0 && best != prev) {
      out.text += dict.token(best);
      sum += row[best];
      ++kept;
    }
    prev = best;
  }
  out.score = kept ? static_cast<float>(sum / kept) : 0.f;
  return out;
}

Result<std::vector<CtcText>> ctc_greedy_decode(const TensorView& probs, const CtcDictionary& dict) {
  const Shape& s = probs.shape;
  if (probs.dtype != DType::f32 || (s.rank() != 2 && s.rank() != 3) || !s.is_static())
    return invalid_argument("CTC decode: output ", s.to_string(), " (", dtype_name(probs.dtype),
                            "), expected f32 TxC or NxTxC");
  const int64_t n = s.rank() == 3 ? s[0] : 1;
  const int64_t steps = s[s.rank() - 2], classes = s[s.rank() - 1];
  std::vector<CtcText> out;
  out.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    EP_ASSIGN_OR_RETURN(CtcText t, ctc_greedy_decode(probs.as<float>() + i * steps * classes, steps, classes, dict));
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace ep::pipeline
