// `edgepipe quantize`: calibrate, measure per-layer sensitivity, write a QDQ model.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "commands.h"
#include "kernels/onednn/onednn_kernels.h"
#include "pipeline/calibration_data.h"
#include "quant/quantize.h"

namespace ep::tools {
namespace {

struct QuantizeArgs {
  std::string model, calibration, method = "minmax", output, report, weights = "int8", metric = "auto";
  std::string preprocess = "auto";
  std::vector<std::string> shapes, exclude;
  int samples = 16, eval_samples = 4, test_samples = 0, threads = 1;
  int64_t block_size = 32;
  double percentile = 99.99, max_drop = -1;
  bool no_sensitivity = false, reduce_range = false;
};

std::vector<std::string> split_commas(const std::vector<std::string>& items) {
  std::vector<std::string> r;
  for (const std::string& item : items) {
    std::stringstream ss(item);
    std::string s;
    while (std::getline(ss, s, ','))
      if (!s.empty()) r.push_back(s);
  }
  return r;
}

Status quantize(const QuantizeArgs& a) {
  quant::QuantizeOptions o;
  EP_ASSIGN_OR_RETURN(o.method, quant::parse_calibration_method(a.method));
  EP_ASSIGN_OR_RETURN(o.metric, quant::parse_metric(a.metric));
  if (a.weights != "int8" && a.weights != "int4") return invalid_argument("--weights '", a.weights, "': expected int8 or int4");
  o.qdq.weight_bits = a.weights == "int4" ? 4 : 8;
  o.qdq.block_size = a.block_size;
  o.qdq.reduce_range = a.reduce_range;
  o.percentile = a.percentile;
  o.max_accuracy_drop = a.max_drop;
  o.sensitivity = !a.no_sensitivity;
  o.threads = a.threads;
  for (const std::string& e : split_commas(a.exclude)) o.exclude.insert(e);
  EP_ASSIGN_OR_RETURN(o.input_shapes, parse_shape_args(a.shapes));
  std::error_code ec;
  if (a.calibration != "synthetic" && !std::filesystem::is_directory(a.calibration, ec))
    return io_error("--calibration '", a.calibration, "': not a folder (and not 'synthetic')");
  EP_ASSIGN_OR_RETURN(Model model, Model::load(a.model));
  if (quant::find_quant_targets(model.graph()).empty())
    return unsupported("model '", a.model, "': no Conv, ConvTranspose, MatMul or Gemm with float weights to quantize");
  const std::vector<IoInfo> ins = model.inputs();
  if (ins.size() != 1) return unsupported("model '", a.model, "': ", ins.size(), " inputs; calibration feeds one-input models");
  if (ins[0].dtype != DType::f32) return unsupported("model '", a.model, "': input '", ins[0].name, "' is not f32");
  Shape shape = ins[0].shape;
  if (auto it = o.input_shapes.find(ins[0].name); it != o.input_shapes.end()) shape = it->second;
  for (const auto& [name, s] : o.input_shapes)
    if (name != ins[0].name) return invalid_argument("--shape ", name, ": the model has no input of that name");
  if (!shape.is_static())
    return invalid_argument("model '", a.model, "': input '", ins[0].name, "' is ", shape.to_string(), "; give --shape ",
                            ins[0].name, "=1x3xHxW");
  o.input_shapes[ins[0].name] = shape;
  pipeline::CalibrationDataOptions d;
  d.source = a.calibration;
  d.shape = shape;
  d.samples = a.samples;
  if (a.preprocess == "det") d.preprocess = pipeline::CalibrationPreprocess::det;
  else if (a.preprocess == "rec") d.preprocess = pipeline::CalibrationPreprocess::rec;
  else if (a.preprocess == "auto")  // PP-OCR recognizers take 48-pixel lines
    d.preprocess = shape.rank() == 4 && shape[2] == 48 ? pipeline::CalibrationPreprocess::rec : pipeline::CalibrationPreprocess::det;
  else return invalid_argument("--preprocess '", a.preprocess, "': expected auto, det or rec");
  EP_ASSIGN_OR_RETURN(std::vector<Tensor> calib, pipeline::calibration_inputs(d));
  std::vector<Tensor> eval;
  if (a.eval_samples > 0) {
    if (a.calibration == "synthetic") {  // frames the calibration did not see
      d.samples = a.eval_samples;
      d.first_frame = 100000;
      EP_ASSIGN_OR_RETURN(eval, pipeline::calibration_inputs(d));
    } else {
      for (int i = 0; i < a.eval_samples && i < static_cast<int>(calib.size()); ++i) eval.push_back(calib[i].clone());
    }
  }
  std::vector<Tensor> test;
  if (a.test_samples > 0) {
    if (a.calibration != "synthetic") return invalid_argument("--test-samples needs --calibration synthetic");
    d.samples = a.test_samples;
    d.first_frame = 200000;  // frames neither calibration nor evaluation saw
    EP_ASSIGN_OR_RETURN(test, pipeline::calibration_inputs(d));
  }
  std::vector<std::vector<Tensor>> cs, es, ts;
  for (Tensor& t : calib) cs.push_back({}), cs.back().push_back(std::move(t));
  for (Tensor& t : eval) es.push_back({}), es.back().push_back(std::move(t));
  for (Tensor& t : test) ts.push_back({}), ts.back().push_back(std::move(t));
  EP_ASSIGN_OR_RETURN(quant::QuantizeReport rep, quant::quantize_model(a.model, a.output, cs, es, o, ts));
  std::cout << rep.to_text();
  std::cout << "wrote " << a.output << "\n";
  std::string isa;
  if (!kernels::onednn_has_vnni(&isa)) {
    if (!a.reduce_range)
      std::cout << "note: this CPU (" << isa << ") has no VNNI: its int8 convolutions are exact only for 7-bit weights, "
                << "so the convolutions of this model run in float here; --reduce-range writes weights that run int8 "
                << "on any CPU (ONNX Runtime's reduce_range)\n";
    std::cout << "note: without VNNI int8 convolutions are not faster than float ones (on an AVX2 Zen 1 the QDQ "
              << "detector took 1.30x the float detector's time, docs/precision.md): the speed-up needs a CPU with "
              << "VNNI (AVX512_VNNI or AVX_VNNI)\n";
  }
  if (!a.report.empty()) {
    std::ofstream f(a.report, std::ios::trunc);
    if (!(f << rep.to_json() << "\n")) return io_error("--report '", a.report, "': cannot write");
  }
  if (!rep.target_met)
    return invalid_argument("accuracy target not met: ", rep.metric, " error ", rep.error, " > ", rep.target,
                            " with every quantizable layer in float; the model was written anyway");
  return Status::ok();
}

}  // namespace

Runner add_quantize(CLI::App& app) {
  auto a = std::make_shared<QuantizeArgs>();
  app.add_option("model", a->model, "Float ONNX model")->required();
  app.add_option("--calibration", a->calibration, "synthetic, or a folder of .npy inputs or images")->required();
  app.add_option("--method", a->method, "minmax, percentile or entropy");
  app.add_option("--percentile", a->percentile, "Percentile for --method percentile (default 99.99)");
  app.add_option("--shape", a->shapes, "NAME=DIMS for an input with open dimensions, e.g. x=1x3x640x640");
  app.add_option("--samples", a->samples, "Calibration inputs (default 16; for rec: text lines)");
  app.add_option("--eval-samples", a->eval_samples, "Inputs for sensitivity and the accuracy check (default 4; 0: none)");
  app.add_option("--test-samples", a->test_samples,
                 "Held-out synthetic inputs measured once with the written model (default 0)");
  app.add_option("--max-accuracy-drop", a->max_drop,
                 "Keep the most sensitive layers in float until the error (see --metric) is at most this");
  app.add_option("--metric", a->metric, "auto (iou for Nx1xHxW, argmax for rank 3, else l2), iou, argmax, l2");
  app.add_option("--weights", a->weights, "int8 (per channel), or int4 for MatMul/Gemm (block-wise, weight-only)");
  app.add_option("--block-size", a->block_size, "Values per scale for int4 weights (default 32)");
  app.add_option("--exclude", a->exclude, "Nodes to keep in float (comma separated)");
  app.add_option("--preprocess", a->preprocess, "auto, det or rec (PaddleOCR pre-processing of images)");
  app.add_option("--threads", a->threads, "Threads")->check(CLI::Range(1, 1024));
  app.add_flag("--no-sensitivity", a->no_sensitivity, "Skip the per-layer sensitivity pass");
  app.add_flag("--reduce-range", a->reduce_range,
               "8-bit weights in [-63, 63]: int8 on CPUs without VNNI too (their 16-bit pair sums saturate otherwise)");
  app.add_option("--report", a->report, "Write the report as JSON");
  app.add_option("-o,--output", a->output, "QDQ model to write")->required();
  return [a]() {
    Status st = quantize(*a);
    return st.is_ok() ? 0 : report(st);
  };
}

}  // namespace ep::tools
