#include "quant/calibrate.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace ep::quant {

Result<CalibrationMethod> parse_calibration_method(std::string_view name) {
  if (name == "minmax") return CalibrationMethod::minmax;
  if (name == "percentile") return CalibrationMethod::percentile;
  if (name == "entropy") return CalibrationMethod::entropy;
  return invalid_argument("--method '", std::string(name), "': expected minmax, percentile or entropy");
}

std::string_view calibration_method_name(CalibrationMethod m) {
  switch (m) {
    case CalibrationMethod::minmax: return "minmax";
    case CalibrationMethod::percentile: return "percentile";
    case CalibrationMethod::entropy: return "entropy";
  }
  return "?";
}

void Histogram::grow(float need) {
  if (bound_ == 0) {  // every value so far was 0: those counts sit at bin kBins/2 for any bound
    bound_ = need;
    return;
  }
  constexpr int half = kBins / 2;
  while (bound_ < need) {
    std::vector<int64_t> merged(kBins, 0);
    for (int i = 0; i < half; ++i) {
      merged[half + i / 2] += bins_[half + i];          // positive side, outward from zero
      merged[half - 1 - i / 2] += bins_[half - 1 - i];  // negative side
    }
    bins_.swap(merged);
    bound_ *= 2;
  }
}

void Histogram::add(const float* x, int64_t n) {
  float lo = std::numeric_limits<float>::infinity(), hi = -lo, peak = 0;
  int64_t finite = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (!std::isfinite(x[i])) continue;  // a NaN or inf says nothing about a usable range
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
    peak = std::max(peak, std::fabs(x[i]));
    ++finite;
  }
  if (!finite) return;
  min_ = count_ ? std::min(min_, lo) : lo;
  max_ = count_ ? std::max(max_, hi) : hi;
  if (peak > bound_) grow(peak);
  count_ += finite;
  constexpr int half = kBins / 2;
  const float width = bound_ > 0 ? bound_ / half : 1.0f;
  for (int64_t i = 0; i < n; ++i) {
    if (!std::isfinite(x[i])) continue;
    const int k = std::min(half - 1, static_cast<int>(std::fabs(x[i]) / width));
    ++bins_[x[i] < 0 ? half - 1 - k : half + k];
  }
}

Range Histogram::minmax() const { return Range{min_, max_}; }

Range Histogram::percentile(double p) const {
  if (!count_) return Range{};
  const double keep = std::clamp(p, 50.0, 100.0) / 100.0;
  const double width = static_cast<double>(bound_) / (kBins / 2);
  const double below = (1.0 - keep) * static_cast<double>(count_), upto = keep * static_cast<double>(count_);
  Range r{min_, max_};
  int64_t cum = 0;
  bool lo_set = false;
  for (int i = 0; i < kBins; ++i) {
    cum += bins_[i];
    if (!lo_set && static_cast<double>(cum) > below) {
      r.lo = static_cast<float>(-static_cast<double>(bound_) + i * width);  // lower edge of that bin
      lo_set = true;
    }
    if (static_cast<double>(cum) >= upto) {
      r.hi = static_cast<float>(-static_cast<double>(bound_) + (i + 1) * width);  // upper edge
      break;
    }
  }
  r.lo = std::clamp(r.lo, min_, max_);
  r.hi = std::clamp(r.hi, min_, max_);
  return r;
}

float Histogram::entropy_threshold(int target_bins) const {
  constexpr int half = kBins / 2;
  std::vector<double> mag(half, 0.0);  // |x| histogram
  for (int i = 0; i < half; ++i) mag[i] = static_cast<double>(bins_[half + i] + bins_[half - 1 - i]);
  const double width = static_cast<double>(bound_) / half;
  int last = half;
  while (last > 0 && mag[last - 1] == 0) --last;
  if (last <= target_bins) return static_cast<float>(last * width);  // few enough levels: keep all
  double best = std::numeric_limits<double>::infinity();
  int best_i = last;
  std::vector<double> p, q, tail(half + 1, 0.0);  // tail[i]: mass at or beyond bin i
  for (int k = half - 1; k >= 0; --k) tail[k] = tail[k + 1] + mag[k];
  for (int i = target_bins; i <= last; ++i) {
    // P: the first i bins, with everything beyond folded into the last one (clipping).
    p.assign(mag.begin(), mag.begin() + i);
    p[i - 1] += tail[i];
    // Q: the first i bins merged into target_bins levels, each level's mass spread evenly
    // over the bins that held values.
    q.assign(i, 0.0);
    for (int level = 0; level < target_bins; ++level) {
      const int b0 = static_cast<int>(static_cast<int64_t>(level) * i / target_bins);
      const int b1 = static_cast<int>(static_cast<int64_t>(level + 1) * i / target_bins);
      double sum = 0;
      int nonzero = 0;
      for (int k = b0; k < b1; ++k) sum += mag[k], nonzero += mag[k] > 0;
      for (int k = b0; k < b1; ++k)
        if (mag[k] > 0) q[k] = sum / nonzero;
    }
    double ps = 0, qs = 0;
    for (int k = 0; k < i; ++k) ps += p[k], qs += q[k];
    if (ps <= 0 || qs <= 0) continue;
    double kl = 0;
    for (int k = 0; k < i; ++k) {
      if (p[k] <= 0) continue;
      const double pk = p[k] / ps;
      const double qk = q[k] > 0 ? q[k] / qs : 1e-12 / qs;  // P has mass where Q has none (the folded tail)
      kl += pk * std::log(pk / qk);
    }
    if (kl < best) best = kl, best_i = i;
  }
  return static_cast<float>(best_i * width);
}

Range Histogram::entropy(int target_bins) const {
  if (!count_) return Range{};
  const float t = entropy_threshold(target_bins);
  return Range{std::max(min_, -t), std::min(max_, t)};
}

Range Histogram::range(CalibrationMethod m, double p) const {
  switch (m) {
    case CalibrationMethod::minmax: return minmax();
    case CalibrationMethod::percentile: return percentile(p);
    case CalibrationMethod::entropy: return entropy();
  }
  return minmax();
}

Result<std::map<std::string, Histogram>> collect_histograms(const Model& model, const std::vector<std::string>& tensors,
                                                            const std::vector<std::vector<Tensor>>& inputs,
                                                            const CalibrationOptions& options) {
  const std::vector<IoInfo> model_inputs = model.inputs();
  std::map<std::string, size_t> input_index;
  for (size_t i = 0; i < model_inputs.size(); ++i) input_index[model_inputs[i].name] = i;
  SessionOptions so;
  so.threads = options.threads;
  so.input_shapes = options.input_shapes;
  std::vector<std::string> extra;
  for (const std::string& t : tensors)
    if (!input_index.count(t)) extra.push_back(t);
  so.extra_outputs = extra;
  EP_ASSIGN_OR_RETURN(Session session, Session::create(model, so));
  const size_t first_extra = session.outputs().size() - extra.size();
  std::map<std::string, Histogram> hist;
  for (const std::string& t : tensors) hist[t];
  for (size_t s = 0; s < inputs.size(); ++s) {
    if (inputs[s].size() != model_inputs.size())
      return invalid_argument("calibration sample ", s, ": ", inputs[s].size(), " tensors, the model has ",
                              model_inputs.size(), " inputs");
    auto outs = session.run(inputs[s]);
    if (!outs.is_ok()) return outs.status().with_context("calibration sample " + std::to_string(s));
    for (size_t k = 0; k < extra.size(); ++k) {
      const Tensor& o = (*outs)[first_extra + k];
      if (o.dtype() != DType::f32) continue;  // only float tensors are quantized
      hist[extra[k]].add(o.as<float>(), o.numel());
    }
    for (const auto& [name, i] : input_index)
      if (hist.count(name) && inputs[s][i].dtype() == DType::f32)
        hist[name].add(inputs[s][i].as<float>(), inputs[s][i].numel());
  }
  return hist;
}

}  // namespace ep::quant
