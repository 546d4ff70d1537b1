#include "pipeline/ocr.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <numeric>

#include "pipeline/crop.h"
#include "pipeline/preprocess.h"

namespace ep::pipeline {
namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// Checks the model has one f32 image input [N, 3, H, W] and one f32 output.
Status check_image_model(const Model& model, const std::string& path, const char* what) {
  const auto in = model.inputs();
  const auto out = model.outputs();
  if (in.size() != 1 || out.size() != 1)
    return invalid_model(what, " '", path, "': ", in.size(), " inputs and ", out.size(), " outputs, expected 1 and 1");
  if (in[0].dtype != DType::f32 || in[0].shape.rank() != 4 || (in[0].shape[1] != 3 && in[0].shape[1] != -1))
    return invalid_model(what, " '", path, "': input '", in[0].name, "' is ", in[0].shape.to_string(), " ",
                         dtype_name(in[0].dtype), ", expected f32 Nx3xHxW");
  if (out[0].dtype != DType::f32)
    return invalid_model(what, " '", path, "': output '", out[0].name, "' is ", dtype_name(out[0].dtype),
                         ", expected f32");
  return Status::ok();
}

// The model's runner: a node when the options name one (the local file is checked and sent
// to it when present), else a session cache in this process.
Result<std::unique_ptr<ModelRunner>> make_runner(const std::string& path, const std::optional<RemoteModelOptions>& remote,
                                                 int threads, const std::string& precision, size_t max_sessions,
                                                 const char* what) {
  std::error_code ec;
  if (remote && !remote->load && !std::filesystem::exists(path, ec)) return remote_runner(*remote, path);
  EP_ASSIGN_OR_RETURN(Model model, Model::load(path));
  EP_RETURN_IF_ERROR(check_image_model(model, path, what));
  if (remote) return remote_runner(*remote, path);
  SessionOptions base;
  base.threads = threads;
  base.precision = precision;
  return local_runner(std::move(model), base, max_sessions, path);
}

}  // namespace

// ---- detection ----

Result<TextDetector> TextDetector::create(const TextDetectorOptions& options) {
  if (options.limit_side_len < 32)
    return invalid_argument("text detector: limit_side_len ", options.limit_side_len, " must be at least 32");
  EP_ASSIGN_OR_RETURN(std::unique_ptr<ModelRunner> runner,
                      make_runner(options.model_path, options.remote, options.threads, options.precision, options.max_sessions,
                                  "text detector"));
  return TextDetector(options, std::move(runner));
}

cv::Size TextDetector::input_size(cv::Size image) const {
  const int h = image.height, w = image.width;
  const double limit = options_.limit_side_len;
  double ratio = 1;
  if (options_.limit_type == LimitType::max) {
    if (std::max(h, w) > limit) ratio = limit / std::max(h, w);
  } else if (std::min(h, w) < limit) {
    ratio = limit / std::min(h, w);
  }
  // int() then Python's round() (half to even, as nearbyint) to a multiple of 32.
  auto round32 = [](double side) {
    return std::max(static_cast<int>(std::nearbyint(static_cast<int>(side) / 32.0) * 32), 32);
  };
  return {round32(w * ratio), round32(h * ratio)};
}

Result<std::vector<TextResult>> TextDetector::detect(const cv::Mat& bgr) {
  timings_ = {};
  if (bgr.empty()) return invalid_argument("text detector: empty image");
  if (bgr.type() != CV_8UC3) return invalid_argument("text detector: image type ", bgr.type(), ", expected CV_8UC3");
  auto t0 = Clock::now();
  const cv::Size size = input_size(bgr.size());
  // PaddleOCR feeds the detector the BGR image as read by cv2, normalised with the
  // ImageNet mean/std listed in RGB order: channel 0 (blue) gets 0.485/0.229.
  PreprocessSpec spec;
  spec.width = size.width;
  spec.height = size.height;
  spec.color = ColorOrder::bgr;
  spec.scale = 1.0f / 255.0f;
  spec.mean = {0.485f, 0.456f, 0.406f};
  spec.std = {0.229f, 0.224f, 0.225f};
  const Shape in_shape{1, 3, size.height, size.width};
  input_.resize(static_cast<size_t>(in_shape.numel()));
  auto geometry = preprocess_into(bgr, spec, input_.data(), size.width, int64_t{size.width} * size.height);
  if (!geometry.is_ok()) return geometry.status().with_context("text detector");
  timings_.preprocess_ms = ms_since(t0);

  t0 = Clock::now();
  bool created = false;
  Shape out_shape;
  Status st = runner_->run(TensorView{DType::f32, in_shape, input_.data()}, output_, &out_shape, &created);
  timings_.sessions_created += created;
  if (!st.is_ok()) return st.with_context("text detector '" + runner_->where() + "'");
  ++timings_.runs;
  timings_.infer_ms = ms_since(t0);

  t0 = Clock::now();
  if (out_shape.rank() != 4 || out_shape[0] != 1 || out_shape[1] != 1)
    return invalid_model("text detector '", options_.model_path, "': output ", out_shape.to_string(),
                         ", expected 1x1xHxW");
  // The map may come out at a different resolution than the input; rescale the geometry.
  Geometry g = *geometry;
  g.scale_x *= static_cast<float>(out_shape[3]) / size.width;
  g.scale_y *= static_cast<float>(out_shape[2]) / size.height;
  auto boxes = text_boxes_from_tensor(TensorView{DType::f32, out_shape, output_.data()}, g, bgr.size(), options_.boxes);
  timings_.postprocess_ms = ms_since(t0);
  return boxes;
}

// ---- recognition ----

Result<TextRecognizer> TextRecognizer::create(const TextRecognizerOptions& o) {
  if (o.height < 1 || o.min_width < 1 || o.width_step < 1 || o.max_width < o.min_width || o.batch < 1)
    return invalid_argument("text recognizer: need height, min_width, width_step, batch >= 1 and max_width >= "
                            "min_width (got ", o.height, ", ", o.min_width, ", ", o.width_step, ", ", o.batch, ", ",
                            o.max_width, ")");
  TextRecognizerOptions options = o;
  std::error_code ec;
  if (!o.remote || o.remote->load || std::filesystem::exists(o.model_path, ec)) {
    EP_ASSIGN_OR_RETURN(Model model, Model::load(o.model_path));
    EP_RETURN_IF_ERROR(check_image_model(model, o.model_path, "text recognizer"));
    const IoInfo in = model.inputs()[0];
    if (in.shape[2] != -1 && in.shape[2] != o.height)
      return invalid_argument("text recognizer '", o.model_path, "': model height ", in.shape[2], ", options say ",
                              o.height);
    if (in.shape[0] != -1) options.batch = 1;  // fixed batch: one crop per run
  }
  EP_ASSIGN_OR_RETURN(std::unique_ptr<ModelRunner> runner,
                      make_runner(o.model_path, o.remote, options.threads, options.precision, options.max_sessions,
                                  "text recognizer"));
  // The exporter leaves the output shape undeclared, so the class count is read from a run
  // at the smallest bucket (its session is kept: the first short line reuses it).
  std::vector<float> probe_in(static_cast<size_t>(3) * options.height * options.min_width, 0.f), probe_out;
  Shape probs;
  bool created = false;
  EP_RETURN_IF_ERROR(runner->run(TensorView{DType::f32, Shape{1, 3, options.height, options.min_width}, probe_in.data()},
                                 probe_out, &probs, &created)
                         .with_context("text recognizer '" + runner->where() + "'"));
  if (probs.rank() != 3 || probs[2] < 2)
    return invalid_model("text recognizer '", runner->where(), "': output ", probs.to_string(), ", expected NxTxC");
  // The class count is the dictionary check: a dictionary of another model fails here.
  EP_ASSIGN_OR_RETURN(CtcDictionary dict, CtcDictionary::load(o.dict_path, probs[2]));
  return TextRecognizer(options, std::move(runner), std::move(dict));
}

int TextRecognizer::bucket_width(int resized_width) const {
  const int o = options_.min_width;
  if (resized_width <= o) return o;
  const int steps = (resized_width - o + options_.width_step - 1) / options_.width_step;
  return std::min(o + steps * options_.width_step, options_.max_width);
}

Result<std::vector<TextResult>> TextRecognizer::recognize(const std::vector<cv::Mat>& crops) {
  timings_ = {};
  const int h = options_.height;
  std::vector<int> widths(crops.size());
  for (size_t i = 0; i < crops.size(); ++i) {
    const cv::Mat& c = crops[i];
    if (c.empty()) return invalid_argument("text recognizer: crop ", i, " is empty");
    if (c.type() != CV_8UC3) return invalid_argument("text recognizer: crop ", i, " type ", c.type(), ", expected CV_8UC3");
    // PaddleOCR's resize_norm_img: width ceil(h * w / h_crop), at most the padded width.
    const double w = std::ceil(h * static_cast<double>(c.cols) / c.rows);
    widths[i] = static_cast<int>(std::clamp(w, 1.0, static_cast<double>(options_.max_width)));
  }
  // Similar widths run together so little of each batch is padding.
  std::vector<size_t> order(crops.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return widths[a] < widths[b]; });

  std::vector<TextResult> results(crops.size());
  PreprocessSpec spec;
  spec.height = h;
  spec.scale = 1.0f / 255.0f;
  spec.mean = {0.5f, 0.5f, 0.5f};
  spec.std = {0.5f, 0.5f, 0.5f};
  for (size_t begin = 0; begin < order.size(); begin += options_.batch) {
    const size_t end = std::min(order.size(), begin + options_.batch);
    const int n = static_cast<int>(end - begin);
    const int bucket = bucket_width(widths[order[end - 1]]);
    auto t0 = Clock::now();
    const Shape in_shape{n, 3, h, bucket};
    input_.assign(static_cast<size_t>(in_shape.numel()), 0.f);  // zero padding (0 after normalisation)
    for (int k = 0; k < n; ++k) {
      const size_t i = order[begin + k];
      spec.width = widths[i];
      auto g = preprocess_into(crops[i], spec, input_.data() + static_cast<size_t>(k) * 3 * h * bucket, bucket,
                               int64_t{h} * bucket);
      if (!g.is_ok()) return g.status().with_context("text recognizer, crop " + std::to_string(i));
    }
    timings_.preprocess_ms += ms_since(t0);

    t0 = Clock::now();
    bool created = false;
    Shape out_shape;
    Status st = runner_->run(TensorView{DType::f32, in_shape, input_.data()}, output_, &out_shape, &created);
    timings_.sessions_created += created;
    if (!st.is_ok()) return st.with_context("text recognizer '" + runner_->where() + "'");
    ++timings_.runs;
    timings_.infer_ms += ms_since(t0);

    t0 = Clock::now();
    if (out_shape.rank() != 3 || out_shape[0] != n)
      return invalid_model("text recognizer '", options_.model_path, "': output ", out_shape.to_string(),
                           " for input ", in_shape.to_string(), ", expected ", n, "xTxC");
    auto texts = ctc_greedy_decode(TensorView{DType::f32, out_shape, output_.data()}, dict_);
    if (!texts.is_ok()) return texts.status().with_context("text recognizer '" + options_.model_path + "'");
    for (int k = 0; k < n; ++k) {
      TextResult& r = results[order[begin + k]];
      r.text = std::move((*texts)[k].text);
      r.score = (*texts)[k].score;
    }
    timings_.postprocess_ms += ms_since(t0);
  }
  return results;
}

Result<std::vector<TextResult>> read_text(TextDetector& detector, TextRecognizer& recognizer, const cv::Mat& bgr,
                                          float drop_score) {
  EP_ASSIGN_OR_RETURN(std::vector<TextResult> boxes, detector.detect(bgr));
  std::vector<cv::Mat> crops;
  crops.reserve(boxes.size());
  for (size_t i = 0; i < boxes.size(); ++i) {
    auto crop = crop_text_region(bgr, boxes[i].box);
    if (!crop.is_ok()) return crop.status().with_context("read_text, box " + std::to_string(i));
    crops.push_back(std::move(crop).value());
  }
  EP_ASSIGN_OR_RETURN(std::vector<TextResult> texts, recognizer.recognize(crops));
  std::vector<TextResult> out;
  for (size_t i = 0; i < boxes.size(); ++i) {
    if (texts[i].score < drop_score) continue;
    boxes[i].text = std::move(texts[i].text);
    boxes[i].score = texts[i].score;
    out.push_back(std::move(boxes[i]));
  }
  return out;
}

}  // namespace ep::pipeline
