// Calibration: activation ranges for post-training quantization. The FP32 model runs over
// calibration inputs with the tensors of interest exposed as extra session outputs; each
// tensor's values feed a histogram, from which a method picks the range:
//   minmax     the observed minimum and maximum;
//   percentile the (100 - p)th and pth percentiles (p = 99.99 by default);
//   entropy    TensorRT's KL-divergence threshold on |x| (clips rare outliers), then the
//              observed range cut to [-threshold, threshold].
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "edgepipe/session.h"

namespace ep::quant {

enum class CalibrationMethod { minmax, percentile, entropy };
Result<CalibrationMethod> parse_calibration_method(std::string_view name);
std::string_view calibration_method_name(CalibrationMethod m);

struct Range {
  float lo = 0, hi = 0;
};

// Values of one tensor over every calibration run: exact min and max, and a histogram over
// [-bound, bound] whose bound doubles (merging bin pairs, so edges stay aligned) when a
// larger |x| arrives. Zero always falls at the edge between bins kBins/2 - 1 and kBins/2.
class Histogram {
 public:
  static constexpr int kBins = 4096;  // 2048 per sign, as TensorRT's |x| histogram

  void add(const float* x, int64_t n);
  int64_t count() const { return count_; }
  float min() const { return min_; }
  float max() const { return max_; }
  float bound() const { return bound_; }
  const std::vector<int64_t>& bins() const { return bins_; }

  Range minmax() const;
  // Lower edge at fraction (1 - p/100) of the values, upper at p/100; p in (50, 100].
  Range percentile(double p) const;
  // TensorRT's threshold search on the |x| histogram with `target_bins` quantized levels.
  float entropy_threshold(int target_bins = 128) const;
  Range entropy(int target_bins = 128) const;
  Range range(CalibrationMethod m, double percentile = 99.99) const;

 private:
  void grow(float need);
  std::vector<int64_t> bins_ = std::vector<int64_t>(kBins, 0);
  float bound_ = 0;
  float min_ = 0, max_ = 0;
  int64_t count_ = 0;
};

struct CalibrationOptions {
  int threads = 1;
  std::map<std::string, Shape> input_shapes;
};

// Runs `model` once per input set (tensors in model.inputs() order) and returns the
// histogram of every tensor named in `tensors` (graph inputs included).
Result<std::map<std::string, Histogram>> collect_histograms(const Model& model, const std::vector<std::string>& tensors,
                                                            const std::vector<std::vector<Tensor>>& inputs,
                                                            const CalibrationOptions& options);

}  // namespace ep::quant
