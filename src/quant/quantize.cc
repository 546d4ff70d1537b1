#include "quant/quantize.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <sstream>

#include <nlohmann/json.hpp>

#include "passes/passes.h"

namespace ep::quant {
namespace {

using Inputs = std::vector<std::vector<Tensor>>;
using Outputs = std::vector<std::vector<Tensor>>;

Result<Outputs> run_all(const Model& model, const Inputs& inputs, const QuantizeOptions& o) {
  SessionOptions so;
  so.threads = o.threads;
  so.input_shapes = o.input_shapes;
  EP_ASSIGN_OR_RETURN(Session s, Session::create(model, so));
  Outputs r;
  for (size_t i = 0; i < inputs.size(); ++i) {
    auto out = s.run(inputs[i]);
    if (!out.is_ok()) return out.status().with_context("evaluation sample " + std::to_string(i));
    r.push_back(std::move(out).value());
  }
  return r;
}

// Ranks of the model's tensors at the bound input shapes, from our own shape inference.
Result<std::map<std::string, int>> tensor_ranks(const Model& model, const std::map<std::string, Shape>& shapes) {
  std::unique_ptr<ir::Graph> g = model.graph().clone();
  EP_RETURN_IF_ERROR(passes::bind_input_shapes(*g, shapes));
  EP_RETURN_IF_ERROR(passes::infer_shapes_and_fold(*g));
  std::map<std::string, int> r;
  for (const auto& v : g->values())
    if (v->dtype != DType::undefined) r[v->name] = static_cast<int>(v->shape.rank());
  return r;
}

double mean_error(Metric m, const Outputs& ref, const Outputs& q) {
  if (m == Metric::iou) {  // pooled over samples: intersections over unions
    double inter = 0, uni = 0;
    for (size_t s = 0; s < ref.size(); ++s) {
      const Tensor &a = ref[s][0], &b = q[s][0];
      for (int64_t i = 0; i < a.numel(); ++i) {
        const bool x = a.as<float>()[i] > 0.3f, y = b.as<float>()[i] > 0.3f;
        inter += x && y;
        uni += x || y;
      }
    }
    return uni > 0 ? 1.0 - inter / uni : 0.0;
  }
  double e = 0;
  for (size_t s = 0; s < ref.size(); ++s) e += output_error(m, ref[s], q[s]);
  return ref.empty() ? 0.0 : e / static_cast<double>(ref.size());
}

struct Evaluator {
  const std::string& path;
  const std::vector<QuantTarget>& targets;
  const Model& model;
  const std::map<std::string, Range>& ranges;
  const Inputs& inputs;
  const Outputs& reference;
  const QuantizeOptions& options;
  Metric metric;

  const std::map<std::string, int>& ranks;

  Result<std::string> bytes(const std::set<std::string>& keep_float) const {
    EP_ASSIGN_OR_RETURN(onnx_export::QdqSpec spec, make_qdq_spec(model.graph(), targets, keep_float, ranges, options.qdq));
    spec.ranks = ranks;
    return onnx_export::build_qdq_model(path, spec);
  }
  Result<double> error(const std::set<std::string>& keep_float) const {
    EP_ASSIGN_OR_RETURN(std::string b, bytes(keep_float));
    EP_ASSIGN_OR_RETURN(Model qm, Model::load_from_memory(b.data(), b.size()));
    EP_ASSIGN_OR_RETURN(Outputs out, run_all(qm, inputs, options));
    return mean_error(metric, reference, out);
  }
};

// Each layer alone quantized, everything else in float: its error is its sensitivity.
Status measure_sensitivity(const Evaluator& ev, std::vector<LayerReport>& layers) {
  std::set<std::string> all;
  for (const QuantTarget& t : ev.targets) all.insert(t.node);
  for (LayerReport& l : layers) {
    if (!l.quantized) continue;
    std::set<std::string> others = all;
    others.erase(l.node);
    EP_ASSIGN_OR_RETURN(l.sensitivity, ev.error(others));
  }
  return Status::ok();
}

// Moves the most sensitive quantized layer to float, re-measuring, until the error is at
// most `target` or no quantized layer is left.
Status keep_sensitive_float(const Evaluator& ev, double target, QuantizeReport& rep, std::set<std::string>& keep_float) {
  std::vector<LayerReport*> order;
  for (LayerReport& l : rep.layers)
    if (l.quantized) order.push_back(&l);
  std::stable_sort(order.begin(), order.end(),
                   [](const LayerReport* a, const LayerReport* b) { return a->sensitivity > b->sensitivity; });
  for (LayerReport* l : order) {
    if (rep.error <= target) break;
    keep_float.insert(l->node);
    l->quantized = false;
    l->why_float = "sensitivity";
    EP_ASSIGN_OR_RETURN(rep.error, ev.error(keep_float));
  }
  rep.target_met = rep.error <= target;
  return Status::ok();
}

}  // namespace

Result<Metric> parse_metric(std::string_view name) {
  if (name == "auto") return Metric::automatic;
  if (name == "iou") return Metric::iou;
  if (name == "argmax") return Metric::argmax;
  if (name == "l2") return Metric::l2;
  return invalid_argument("--metric '", std::string(name), "': expected auto, iou, argmax or l2");
}

std::string_view metric_name(Metric m) {
  switch (m) {
    case Metric::automatic: return "auto";
    case Metric::iou: return "iou@0.3";
    case Metric::argmax: return "argmax";
    case Metric::l2: return "relative_l2";
  }
  return "?";
}

Metric resolve_metric(Metric m, const Shape& s) {
  if (m != Metric::automatic) return m;
  if (s.rank() == 4 && s[1] == 1) return Metric::iou;
  if (s.rank() == 3) return Metric::argmax;
  return Metric::l2;
}

double output_error(Metric m, const std::vector<Tensor>& reference, const std::vector<Tensor>& quantized) {
  const Tensor &a = reference.at(0), &b = quantized.at(0);
  const float* x = a.as<float>();
  const float* y = b.as<float>();
  const int64_t n = a.numel();
  if (m == Metric::iou) {
    int64_t inter = 0, uni = 0;
    for (int64_t i = 0; i < n; ++i) {
      const bool p = x[i] > 0.3f, q = y[i] > 0.3f;
      inter += p && q;
      uni += p || q;
    }
    return uni ? 1.0 - static_cast<double>(inter) / static_cast<double>(uni) : 0.0;
  }
  if (m == Metric::argmax && a.shape().rank() >= 1) {
    const int64_t c = a.shape()[a.shape().rank() - 1];
    if (c < 1) return 0.0;
    int64_t differ = 0;
    for (int64_t r = 0; r < n / c; ++r) {
      const float* xr = x + r * c;
      const float* yr = y + r * c;
      differ += std::max_element(xr, xr + c) - xr != std::max_element(yr, yr + c) - yr;
    }
    return static_cast<double>(differ) / static_cast<double>(std::max<int64_t>(1, n / c));
  }
  double num = 0, den = 0;
  for (int64_t i = 0; i < n; ++i) {
    num += (static_cast<double>(x[i]) - y[i]) * (static_cast<double>(x[i]) - y[i]);
    den += static_cast<double>(x[i]) * x[i];
  }
  return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}

Result<QuantizeReport> quantize_model(const std::string& path, const std::string& output, const Inputs& calibration,
                                      const Inputs& evaluation, const QuantizeOptions& o, const Inputs& test) {
  const auto t0 = std::chrono::steady_clock::now();
  EP_ASSIGN_OR_RETURN(Model model, Model::load(path));
  const std::vector<QuantTarget> targets = find_quant_targets(model.graph());
  if (targets.empty())
    return unsupported("model '", path, "': no Conv, ConvTranspose, MatMul or Gemm with float weights to quantize");
  for (const std::string& e : o.exclude) {
    bool known = false;
    for (const QuantTarget& t : targets) known |= t.node == e;
    if (!known) return invalid_argument("--exclude '", e, "': model '", path, "' has no quantizable node of that name");
  }
  if (calibration.empty()) return invalid_argument("no calibration inputs");
  if (o.max_accuracy_drop >= 0 && evaluation.empty())
    return invalid_argument("--max-accuracy-drop needs evaluation inputs (--eval-samples > 0)");
  CalibrationOptions co;
  co.threads = o.threads;
  co.input_shapes = o.input_shapes;
  EP_ASSIGN_OR_RETURN(auto hist, collect_histograms(model, calibration_tensors(targets), calibration, co));
  std::map<std::string, Range> ranges;
  for (const auto& [name, h] : hist) ranges[name] = h.range(o.method, o.percentile);

  QuantizeReport rep;
  rep.model = path;
  rep.output = output;
  rep.method = std::string(calibration_method_name(o.method));
  rep.calibration_samples = static_cast<int>(calibration.size());
  rep.evaluation_samples = static_cast<int>(evaluation.size());
  rep.target = o.max_accuracy_drop;
  std::set<std::string> keep_float = o.exclude;
  for (const QuantTarget& t : targets) {
    LayerReport l{t.node, t.op};
    if (o.exclude.count(t.node)) l.quantized = false, l.why_float = "excluded";
    rep.layers.push_back(l);
  }
  Outputs reference;
  Metric metric = o.metric;
  if (!evaluation.empty()) {
    EP_ASSIGN_OR_RETURN(reference, run_all(model, evaluation, o));
    metric = resolve_metric(o.metric, reference.at(0).at(0).shape());
  }
  rep.metric = std::string(metric_name(metric));
  EP_ASSIGN_OR_RETURN(auto ranks, tensor_ranks(model, o.input_shapes));
  const Evaluator ev{path, targets, model, ranges, evaluation, reference, o, metric, ranks};
  if (!evaluation.empty() && (o.sensitivity || o.max_accuracy_drop >= 0))
    EP_RETURN_IF_ERROR(measure_sensitivity(ev, rep.layers));
  if (!evaluation.empty()) {
    EP_ASSIGN_OR_RETURN(rep.error, ev.error(keep_float));
    if (o.max_accuracy_drop >= 0) EP_RETURN_IF_ERROR(keep_sensitive_float(ev, o.max_accuracy_drop, rep, keep_float));
  }
  EP_ASSIGN_OR_RETURN(std::string bytes, ev.bytes(keep_float));
  {
    std::ofstream f(output, std::ios::binary | std::ios::trunc);
    if (!f || !f.write(bytes.data(), static_cast<std::streamsize>(bytes.size())))
      return io_error("output '", output, "': cannot write");
  }
  if (!test.empty()) {
    EP_ASSIGN_OR_RETURN(Outputs ref, run_all(model, test, o));
    const Metric m = resolve_metric(o.metric, ref.at(0).at(0).shape());
    EP_ASSIGN_OR_RETURN(Model qm, Model::load_from_memory(bytes.data(), bytes.size()));
    EP_ASSIGN_OR_RETURN(Outputs got, run_all(qm, test, o));
    rep.test_samples = static_cast<int>(test.size());
    rep.test_error = mean_error(m, ref, got);
    if (rep.metric == metric_name(Metric::automatic)) rep.metric = std::string(metric_name(m));
  }
  std::error_code ec;
  rep.bytes_before = static_cast<int64_t>(std::filesystem::file_size(path, ec));
  rep.bytes_after = static_cast<int64_t>(bytes.size());
  rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return rep;
}

std::string QuantizeReport::to_json() const {
  nlohmann::json j;
  j["model"] = model;
  j["output"] = output;
  j["method"] = method;
  j["metric"] = metric;
  j["calibration_samples"] = calibration_samples;
  j["evaluation_samples"] = evaluation_samples;
  j["error"] = error;
  if (test_error >= 0) {
    j["test_samples"] = test_samples;
    j["test_error"] = test_error;
  }
  if (target >= 0) j["max_accuracy_drop"] = target;
  j["target_met"] = target_met;
  j["bytes_before"] = bytes_before;
  j["bytes_after"] = bytes_after;
  j["seconds"] = seconds;
  nlohmann::json layers = nlohmann::json::array();
  for (const LayerReport& l : this->layers) {
    nlohmann::json x{{"node", l.node}, {"op", l.op}, {"quantized", l.quantized}};
    if (l.sensitivity >= 0) x["sensitivity"] = l.sensitivity;
    if (!l.why_float.empty()) x["float_because"] = l.why_float;
    layers.push_back(x);
  }
  j["layers"] = layers;
  return j.dump(2);
}

std::string QuantizeReport::to_text() const {
  std::ostringstream s;
  s << std::setprecision(4);
  int quantized = 0;
  for (const LayerReport& l : layers) quantized += l.quantized;
  s << "quantized " << quantized << " of " << layers.size() << " layers (" << method << " calibration, "
    << calibration_samples << " samples)\n";
  bool any_sensitivity = false;
  for (const LayerReport& l : layers) any_sensitivity |= l.sensitivity >= 0;
  if (any_sensitivity) {
    std::vector<const LayerReport*> order;
    for (const LayerReport& l : layers) order.push_back(&l);
    std::stable_sort(order.begin(), order.end(),
                     [](const LayerReport* a, const LayerReport* b) { return a->sensitivity > b->sensitivity; });
    s << "per-layer sensitivity (" << metric << " error with only that layer quantized, " << evaluation_samples
      << " samples), most sensitive first:\n";
    for (const LayerReport* l : order)
      s << "  " << std::left << std::setw(40) << l->node << std::setw(14) << l->op << std::setw(12) << l->sensitivity
        << (l->quantized ? "int8" : "float (" + l->why_float + ")") << "\n";
  } else {
    for (const LayerReport& l : layers)
      if (!l.quantized) s << "  float: " << l.node << " (" << l.why_float << ")\n";
  }
  if (evaluation_samples) {
    s << metric << " error of the written model: " << error;
    if (target >= 0) s << " (target <= " << target << (target_met ? ", met" : ", NOT met") << ")";
    s << "\n";
  }
  if (test_error >= 0)
    s << metric << " error on " << test_samples << " held-out inputs: " << test_error << "\n";
  s << "size: " << bytes_before << " -> " << bytes_after << " bytes\n";
  return s.str();
}

}  // namespace ep::quant
