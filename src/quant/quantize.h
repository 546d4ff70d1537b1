// Post-training quantization end to end: calibrate, measure each layer's sensitivity,
// keep the most sensitive layers in float until the accuracy target holds, write QDQ.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "edgepipe/session.h"
#include "quant/calibrate.h"
#include "quant/qdq.h"

namespace ep::quant {

// How far the quantized model's outputs are from the float model's (0 = identical):
//   iou     1 - IoU of the first output binarized at 0.3 (a detector's probability map);
//   argmax  share of positions whose argmax over the last axis differs (a classifier, CTC);
//   l2      relative L2 error of the first output.
enum class Metric { automatic, iou, argmax, l2 };
Result<Metric> parse_metric(std::string_view name);
std::string_view metric_name(Metric m);
// automatic -> iou for an Nx1xHxW output, argmax for rank 3, l2 otherwise.
Metric resolve_metric(Metric m, const Shape& first_output);
double output_error(Metric m, const std::vector<Tensor>& reference, const std::vector<Tensor>& quantized);

struct QuantizeOptions {
  CalibrationMethod method = CalibrationMethod::minmax;
  double percentile = 99.99;
  QdqOptions qdq;
  std::set<std::string> exclude;  // node names kept in float
  Metric metric = Metric::automatic;
  double max_accuracy_drop = -1;  // < 0: no target, every layer quantized
  bool sensitivity = true;        // measure each layer alone (needed for the target)
  int threads = 1;
  std::map<std::string, Shape> input_shapes;
};

struct LayerReport {
  std::string node, op;
  double sensitivity = -1;  // error with only this layer quantized; -1: not measured
  bool quantized = true;
  std::string why_float;    // "excluded", "sensitivity"
};

struct QuantizeReport {
  std::string model, output, method, metric;
  int calibration_samples = 0, evaluation_samples = 0;
  std::vector<LayerReport> layers;
  double error = 0;        // of the written model on the evaluation inputs
  int test_samples = 0;    // held-out inputs, used for nothing but this figure:
  double test_error = -1;  // the written model's error on them (-1: none given)
  double target = -1;
  bool target_met = true;
  int64_t bytes_before = 0, bytes_after = 0;
  double seconds = 0;
  std::string to_json() const;
  std::string to_text() const;
};

// Writes the QDQ model to `output`. `calibration` and `evaluation` are input sets in
// model.inputs() order; evaluation may be empty when no target is set. `test` (optional)
// is measured once with the written model: an error estimate the choices did not see.
Result<QuantizeReport> quantize_model(const std::string& model_path, const std::string& output,
                                      const std::vector<std::vector<Tensor>>& calibration,
                                      const std::vector<std::vector<Tensor>>& evaluation, const QuantizeOptions& options,
                                      const std::vector<std::vector<Tensor>>& test = {});

}  // namespace ep::quant
