#include "pipeline/stage_kinds.h"

#include <filesystem>
#include <fstream>
#include <iomanip>
#include <sstream>

#include <opencv2/imgproc.hpp>

#include "dist/keys.h"
#include "pipeline/annotate.h"
#include "pipeline/crop.h"
#include "pipeline/detections.h"
#include "pipeline/fallback.h"
#include "pipeline/join.h"
#include "pipeline/ocr.h"
#include "pipeline/preprocess.h"

namespace ep::pipeline {

const std::map<std::string, std::vector<ParamSpec>>& stage_kind_params() {
  using T = ParamType;
  // Any model stage may run its model on an edgepipe node (pre- and post-processing stay here).
  static const ParamSpec node = {"node", T::map, "run the model on an edgepipe node",
                                 {{"address", T::string, "tcp://HOST:PORT of the node; several, comma-separated: redundant nodes"},
                                  {"heartbeat_ms", T::integer, "redundant nodes: PING period (default 100)"},
                                  {"heartbeat_timeout_ms", T::integer, "redundant nodes: silent this long is dead (default 300)"},
                                  {"server_key", T::string, "the node's public key: Z85 text or a key file (CURVE)"},
                                  {"keys", T::string, "this pipeline's client keypair folder (CURVE)"},
                                  {"model", T::string, "the name the node serves it under (default: the file's stem)"},
                                  {"load", T::boolean, "send the model file to the node when the stage opens (default true)"},
                                  {"timeout_ms", T::integer, "a call unanswered by then fails, naming the node"},
                                  {"shm", T::boolean, "a node on this host: the input through shared memory (default false)"}}};
  static const std::map<std::string, std::vector<ParamSpec>> kinds = {
      {"text_detect",
       {{"model", T::string, "DBNet detector (.onnx)"}, node,
        {"threads", T::integer, "threads of this stage's inference"},
        {"precision", T::string, "fp32 or bf16 (QDQ models run int8 either way)"},
        {"limit_side_len", T::integer, "longer side limit (PaddleOCR det_limit_side_len)"},
        {"limit_type", T::string, "max or min"},
        {"thresh", T::number, "binarization threshold"},
        {"box_thresh", T::number, "minimum mean probability inside a box"},
        {"unclip_ratio", T::number, "box expansion"},
        {"fallback", T::map, "lighter detector to switch to",
         {{"model", T::string, "defaults to the primary model"},
          {"limit_side_len", T::integer, ""},
          {"budget_ms", T::number, "primary's per-frame budget"},
          {"misses", T::integer, "consecutive misses before switching"},
          {"probe_every", T::integer, "fallback frames between primary probes"}}}}},
      {"text_crops", {{"max_boxes", T::integer, "at most this many boxes per frame (the rest are counted)"}}},
      {"text_recognize",
       {{"model", T::string, "CTC recognizer (.onnx)"}, node,
        {"dict", T::string, "character list, one per line"},
        {"threads", T::integer, ""},
        {"precision", T::string, "fp32 or bf16"},
        {"drop_score", T::number, "texts scored below are left out"},
        {"min_width", T::integer, "narrowest recognizer input (crops are padded up to it)"},
        {"width_step", T::integer, "recognizer input widths go up in these steps"},
        {"max_width", T::integer, "widest recognizer input"}}},
      {"join", {}},
      {"yolo",
       {{"model", T::string, "YOLOv5/v8 .onnx"}, node,
        {"version", T::string, "v5 or v8"},
        {"size", T::integer, "square input side (letterbox)"},
        {"threads", T::integer, ""},
        {"precision", T::string, "fp32 or bf16"},
        {"conf", T::number, "confidence threshold"},
        {"iou", T::number, "NMS IoU threshold"}}},
      {"classify",
       {{"model", T::string, "classifier .onnx, input Nx3xHxW"}, node,
        {"size", T::integer, "input side"},
        {"threads", T::integer, ""},
        {"precision", T::string, "fp32 or bf16"},
        {"top_k", T::integer, ""},
        {"softmax", T::boolean, "apply softmax to the output"}}},
      {"sink",
       {{"jsonl", T::string, "write one JSON line per frame here"},
        {"annotate", T::string, "images:DIR or video:FILE with the results drawn"},
        {"print", T::boolean, "print each frame's texts"}}},
  };
  return kinds;
}

std::string resolve_model_path(const std::string& path, const BuildContext& ctx) {
  namespace fs = std::filesystem;
  if (path.empty() || fs::path(path).is_absolute()) return path;
  std::error_code ec;
  for (const std::string& dir : ctx.model_dirs) {
    fs::path p = dir.empty() ? fs::path(path) : fs::path(dir) / path;
    if (fs::exists(p, ec)) return p.lexically_normal().string();
  }
  return path;
}

namespace {

template <typename T>
T param(const nlohmann::json& p, const char* key, T fallback) {
  return p.contains(key) ? p[key].get<T>() : fallback;
}

// The stage's `node:` map, if any.
Result<std::optional<RemoteModelOptions>> remote_of(const nlohmann::json& p, const std::string& stage, const BuildContext& ctx) {
  if (!p.contains("node")) return std::optional<RemoteModelOptions>();
  const nlohmann::json& n = p["node"];
  RemoteModelOptions r;
  r.address = param<std::string>(n, "address", "");
  std::stringstream list(r.address);
  std::string one;
  int count = 0;
  while (std::getline(list, one, ',')) {
    ++count;
    if (one.rfind("tcp://", 0) != 0 && one.rfind("ipc://", 0) != 0)
      return invalid_argument("stage '", stage, "': node.address '", one, "' is not a tcp:// or ipc:// address");
  }
  if (count == 0) return invalid_argument("stage '", stage, "': node.address is empty");
  r.server_key = param<std::string>(n, "server_key", "");
  if (r.server_key.size() != 40) r.server_key = resolve_model_path(r.server_key, ctx);  // a key file
  r.keys_dir = resolve_model_path(param<std::string>(n, "keys", ""), ctx);
  r.model = param<std::string>(n, "model", "");
  r.load = param<bool>(n, "load", true);
  const int64_t t = param<int64_t>(n, "timeout_ms", r.timeout_ms);
  if (t < 1 || t > 600000) return invalid_argument("stage '", stage, "': node.timeout_ms ", t, " out of 1..600000");
  r.timeout_ms = static_cast<int>(t);
  r.heartbeat_ms = static_cast<int>(param<int64_t>(n, "heartbeat_ms", r.heartbeat_ms));
  r.heartbeat_timeout_ms = static_cast<int>(param<int64_t>(n, "heartbeat_timeout_ms", r.heartbeat_timeout_ms));
  if (r.heartbeat_ms < 1 || r.heartbeat_timeout_ms <= r.heartbeat_ms || r.heartbeat_timeout_ms > 600000)
    return invalid_argument("stage '", stage, "': node.heartbeat_timeout_ms must exceed node.heartbeat_ms (>= 1)");
  r.shm = param<bool>(n, "shm", false);
  if (r.shm && (count != 1 || !dist::address_is_local(r.address)))
    return invalid_argument("stage '", stage, "': node.shm needs one node on this host (ipc:// or tcp://127.*), not '",
                            r.address, "'");
  return std::optional<RemoteModelOptions>(std::move(r));
}

// The model file must exist, unless the model runs on a node that already serves it.
Status check_model(const std::string& stage, const char* key, const std::string& path,
                   const std::optional<RemoteModelOptions>& remote = std::nullopt) {
  std::error_code ec;
  if (remote && !remote->load && !std::filesystem::is_regular_file(path, ec)) return Status::ok();
  if (path.empty()) return invalid_argument("stage '", stage, "': '", key, "' is required");
  if (!std::filesystem::is_regular_file(path, ec)) return io_error("stage '", stage, "': ", key, " '", path, "': no such file");
  return Status::ok();
}

TimeNs since(Clock& c, TimeNs t0) { return c.now() - t0; }

class TextDetectProcessor final : public Processor {
 public:
  TextDetectProcessor(TextDetectorOptions primary, std::optional<TextDetectorOptions> fallback, FallbackOptions sw, cv::Size warmup,
                      std::shared_ptr<RunTally> tally)
      : primary_opt_(std::move(primary)), fallback_opt_(std::move(fallback)), switch_(sw), warmup_(warmup), tally_(std::move(tally)) {}

  Status open(const StageContext& ctx) override {
    ctx_ = ctx;
    EP_ASSIGN_OR_RETURN(TextDetector p, TextDetector::create(primary_opt_));
    primary_.emplace(std::move(p));
    if (fallback_opt_) {
      EP_ASSIGN_OR_RETURN(TextDetector f, TextDetector::create(*fallback_opt_));
      fallback_.emplace(std::move(f));
    }
    // Sessions bind their input shape when created: make the source's shape now so the
    // first frame does not pay for it.
    if (warmup_.area() > 0) {
      cv::Mat blank(warmup_, CV_8UC3, cv::Scalar(255, 255, 255));
      EP_RETURN_IF_ERROR(primary_->detect(blank).status());
      if (fallback_) EP_RETURN_IF_ERROR(fallback_->detect(blank).status());
    }
    return Status::ok();
  }

  Status process(std::span<const FramePtr> batch, FrameOut& out) override {
    for (const FramePtr& in : batch) {
      if (!in->image || in->image->image.empty()) return invalid_argument("frame ", in->id, " has no image");
      auto which = fallback_ ? switch_.choose() : FallbackSwitch::Model::primary;
      TextDetector& det = which == FallbackSwitch::Model::primary ? *primary_ : *fallback_;
      const TimeNs t0 = ctx_.clock->now();
      auto boxes = det.detect(in->image->image);
      if (fallback_) {
        std::string msg = switch_.record(which, since(*ctx_.clock, t0), !boxes.is_ok());
        if (!msg.empty()) {
          if (ctx_.log) ctx_.log("stage '" + ctx_.name + "': frame " + std::to_string(in->id) + ": " + msg);
          (switch_.on_fallback() ? ctx_.stats->switches_to_fallback : ctx_.stats->switches_to_primary)++;
        }
        if (!boxes.is_ok() && which == FallbackSwitch::Model::primary) {
          which = FallbackSwitch::Model::fallback;  // this frame still gets an answer
          boxes = fallback_->detect(in->image->image);
        }
      }
      if (!boxes.is_ok()) return boxes.status();
      auto f = derive(in);
      f->texts = std::move(*boxes);
      f->model = which == FallbackSwitch::Model::primary ? "primary" : "fallback";
      if (which == FallbackSwitch::Model::fallback) ++ctx_.stats->fallback_frames;
      out.push_back(std::move(f));
    }
    return Status::ok();
  }

 private:
  TextDetectorOptions primary_opt_;
  std::optional<TextDetectorOptions> fallback_opt_;
  FallbackSwitch switch_;
  cv::Size warmup_;
  std::shared_ptr<RunTally> tally_;
  StageContext ctx_;
  std::optional<TextDetector> primary_, fallback_;
};

class TextCropsProcessor final : public Processor {
 public:
  explicit TextCropsProcessor(int max_boxes) : max_boxes_(max_boxes) {}
  Status open(const StageContext& ctx) override {
    ctx_ = ctx;
    return Status::ok();
  }
  Status process(std::span<const FramePtr> batch, FrameOut& out) override {
    for (const FramePtr& in : batch) {
      const int n = static_cast<int>(in->texts.size());
      if (n == 0) {
        out.push_back(derive(in));  // nothing to read: goes straight on as a whole frame
        continue;
      }
      const int keep = std::min(n, max_boxes_);
      for (int k = keep; k < n; ++k) ctx_.drops->record(in->id, k, ctx_.name, "max_boxes");
      for (int k = 0; k < keep; ++k) {
        auto part = derive(in);
        part->part = k;
        part->parts = keep;
        part->texts = {in->texts[static_cast<size_t>(k)]};
        EP_ASSIGN_OR_RETURN(part->crop, crop_text_region(in->image->image, in->texts[static_cast<size_t>(k)].box));
        out.push_back(std::move(part));
      }
    }
    return Status::ok();
  }

 private:
  int max_boxes_;
  StageContext ctx_;
};

class TextRecognizeProcessor final : public Processor {
 public:
  TextRecognizeProcessor(TextRecognizerOptions o, float drop_score) : options_(std::move(o)), drop_score_(drop_score) {}
  Status open(const StageContext& ctx) override {
    EP_ASSIGN_OR_RETURN(TextRecognizer r, TextRecognizer::create(options_));
    rec_.emplace(std::move(r));
    // The common width buckets (up to 480), so frames do not pay for session creation.
    for (int w = options_.min_width; w <= std::max(options_.min_width, 480); w += options_.width_step) {
      cv::Mat blank(options_.height, w, CV_8UC3, cv::Scalar(255, 255, 255));
      EP_RETURN_IF_ERROR(rec_->recognize({blank}).status());
    }
    return Status::ok();
  }
  Status process(std::span<const FramePtr> batch, FrameOut& out) override {
    crops_.clear();
    for (const FramePtr& f : batch)
      if (!f->crop.empty()) crops_.push_back(f->crop);
    std::vector<TextResult> read;
    if (!crops_.empty()) {
      EP_ASSIGN_OR_RETURN(read, rec_->recognize(crops_));
    }
    size_t k = 0;
    for (const FramePtr& in : batch) {
      auto f = derive(in);
      if (!in->crop.empty()) {
        const TextResult& r = read[k++];
        f->crop = cv::Mat();  // the pixels are no longer needed downstream
        if (f->texts.size() == 1 && r.score >= drop_score_) {
          f->texts[0].text = r.text;
          f->texts[0].score = r.score;
        } else {
          f->texts.clear();
        }
      }
      out.push_back(std::move(f));
    }
    return Status::ok();
  }

 private:
  TextRecognizerOptions options_;
  float drop_score_;
  std::optional<TextRecognizer> rec_;
  std::vector<cv::Mat> crops_;
};

// A single-input image model (YOLO or a classifier) on a letterboxed/stretched input.
class ImageModelProcessor final : public Processor {
 public:
  enum class Kind { yolo_v5, yolo_v8, classify };
  ImageModelProcessor(Kind kind, std::string model, std::optional<RemoteModelOptions> remote, int size, int threads,
                      DetectionOptions det, int top_k, bool softmax, std::string precision)
      : kind_(kind), model_path_(std::move(model)), remote_(std::move(remote)), size_(size), threads_(threads), det_(det),
        top_k_(top_k), softmax_(softmax), precision_(std::move(precision)) {}

  Status open(const StageContext& ctx) override {
    std::error_code ec;
    if (!remote_ || remote_->load || std::filesystem::exists(model_path_, ec)) {
      EP_ASSIGN_OR_RETURN(Model m, Model::load(model_path_));
      if (m.inputs().size() != 1) return invalid_model("model '", model_path_, "': expected one input, found ", m.inputs().size());
      if (m.outputs().empty()) return invalid_model("model '", model_path_, "': no outputs");
      if (remote_) {
        EP_ASSIGN_OR_RETURN(runner_, remote_runner(*remote_, model_path_));
      } else {
        SessionOptions o;
        o.threads = threads_;
        o.precision = precision_;
        runner_ = local_runner(std::move(m), o, 1, model_path_);
      }
    } else {
      EP_ASSIGN_OR_RETURN(runner_, remote_runner(*remote_, model_path_));
    }
    // The first run creates the session (here or on the node): before the first frame.
    input_.assign(static_cast<size_t>(3) * size_ * size_, 0.f);
    bool created = false;
    EP_RETURN_IF_ERROR(runner_->run(TensorView(DType::f32, Shape{1, 3, size_, size_}, input_.data()), output_, &output_shape_, &created)
                           .with_context("model '" + runner_->where() + "'"));
    spec_.width = spec_.height = size_;
    spec_.resize = kind_ == Kind::classify ? ResizeMode::stretch : ResizeMode::letterbox;
    spec_.color = ColorOrder::rgb;
    if (kind_ == Kind::classify) {
      spec_.mean = {0.485f, 0.456f, 0.406f};
      spec_.std = {0.229f, 0.224f, 0.225f};
    }
    return Status::ok();
  }

  Status process(std::span<const FramePtr> batch, FrameOut& out) override {
    for (const FramePtr& in : batch) {
      const cv::Mat& img = in->image->image;
      EP_ASSIGN_OR_RETURN(Geometry g, preprocess_into(img, spec_, input_.data(), size_, static_cast<int64_t>(size_) * size_));
      TensorView iv(DType::f32, Shape{1, 3, size_, size_}, input_.data());
      bool created = false;
      EP_RETURN_IF_ERROR(runner_->run(iv, output_, &output_shape_, &created).with_context("model '" + runner_->where() + "'"));
      TensorView ov(DType::f32, output_shape_, output_.data());
      auto f = derive(in);
      if (kind_ == Kind::classify) {
        EP_ASSIGN_OR_RETURN(auto top, top_k_classes(ov, top_k_, softmax_));
        for (const ClassScore& c : top) f->classes.emplace_back(c.class_id, c.score);
      } else if (kind_ == Kind::yolo_v5) {
        EP_ASSIGN_OR_RETURN(f->detections, decode_yolov5(ov, g, img.size(), det_));
      } else {
        EP_ASSIGN_OR_RETURN(f->detections, decode_yolov8(ov, g, img.size(), det_));
      }
      out.push_back(std::move(f));
    }
    return Status::ok();
  }

 private:
  Kind kind_;
  std::string model_path_;
  std::optional<RemoteModelOptions> remote_;
  int size_, threads_;
  DetectionOptions det_;
  int top_k_;
  bool softmax_;
  std::string precision_;
  PreprocessSpec spec_;
  std::unique_ptr<ModelRunner> runner_;
  Shape output_shape_;
  std::vector<float> input_, output_;
};

std::string json_escape(const std::string& s) { return nlohmann::json(s).dump(); }

class SinkProcessor final : public Processor {
 public:
  SinkProcessor(std::string jsonl, std::string annotate, bool print, std::vector<std::string> stage_names, std::shared_ptr<RunTally> tally)
      : jsonl_path_(std::move(jsonl)), annotate_spec_(std::move(annotate)), print_(print), names_(std::move(stage_names)),
        tally_(std::move(tally)) {}

  Status open(const StageContext& ctx) override {
    ctx_ = ctx;
    if (!jsonl_path_.empty()) {
      jsonl_.open(jsonl_path_);
      if (!jsonl_) return io_error("jsonl '", jsonl_path_, "': cannot open for writing");
    }
    if (!annotate_spec_.empty()) {
      EP_ASSIGN_OR_RETURN(AnnotatedWriter w, AnnotatedWriter::open(annotate_spec_));
      writer_.emplace(std::move(w));
    }
    return Status::ok();
  }

  Status process(std::span<const FramePtr> batch, FrameOut& out) override {
    for (const FramePtr& f : batch) {
      const TimeNs now = ctx_.clock->now();
      FrameScore score;
      if (f->image && !f->image->truth.empty()) score = score_frame(f->image->truth, f->texts);
      {
        std::lock_guard lock(tally_->mu);
        ++tally_->frames;
        tally_->labels += score.labels;
        tally_->labels_exact += score.exact;
        tally_->texts += static_cast<int64_t>(f->texts.size());
        tally_->texts_unmatched += score.unmatched;
        if (f->model == "fallback") ++tally_->fallback_frames;
        for (auto& m : score.misreads)
          if (tally_->misreads.size() < 20) tally_->misreads.push_back(m);
        if (tally_->sample_lines.size() < 5 && !f->texts.empty()) {
          std::string line = "frame " + std::to_string(f->id) + ":";
          for (const TextResult& t : f->texts) line += " \"" + t.text + "\"";
          tally_->sample_lines.push_back(line);
        }
      }
      if (print_) {
        std::string line = "frame " + std::to_string(f->id) + ":";
        for (const TextResult& t : f->texts) line += " \"" + t.text + "\"";
        if (ctx_.log) ctx_.log(line);
      }
      if (jsonl_.is_open()) write_json(*f, now);
      if (writer_ && f->image) EP_RETURN_IF_ERROR(writer_->write(*f->image, f->texts, f->detections));
      out.push_back(derive(f));
    }
    return Status::ok();
  }

  Status flush(FrameOut&) override {
    if (writer_) EP_RETURN_IF_ERROR(writer_->close());
    if (jsonl_.is_open()) jsonl_.flush();
    return Status::ok();
  }

 private:
  void write_json(const Frame& f, TimeNs now) {
    std::ostringstream o;
    o << std::fixed << std::setprecision(3);
    o << "{\"frame\":" << f.id << ",\"source\":" << json_escape(f.image ? f.image->name : "");
    if (!f.model.empty()) o << ",\"model\":\"" << f.model << "\"";
    o << ",\"texts\":[";
    for (size_t i = 0; i < f.texts.size(); ++i) {
      const TextResult& t = f.texts[i];
      o << (i ? "," : "") << "{\"text\":" << json_escape(t.text) << ",\"score\":" << t.score << ",\"box_score\":" << t.box_score
        << ",\"box\":[";
      for (int k = 0; k < 4; ++k) o << (k ? "," : "") << "[" << t.box[k].x << "," << t.box[k].y << "]";
      o << "]}";
    }
    o << "]";
    if (!f.detections.empty()) {
      o << ",\"detections\":[";
      for (size_t i = 0; i < f.detections.size(); ++i) {
        const Detection& d = f.detections[i];
        o << (i ? "," : "") << "{\"class\":" << d.class_id << ",\"score\":" << d.score << ",\"box\":[" << d.box.x << "," << d.box.y
          << "," << d.box.width << "," << d.box.height << "]}";
      }
      o << "]";
    }
    if (!f.classes.empty()) {
      o << ",\"classes\":[";
      for (size_t i = 0; i < f.classes.size(); ++i) o << (i ? "," : "") << "[" << f.classes[i].first << "," << f.classes[i].second << "]";
      o << "]";
    }
    if (f.parts_lost) o << ",\"parts_lost\":" << f.parts_lost;
    // Compute per stage (a split stage's parts summed), queue waits in total, end to end.
    std::vector<double> compute(names_.size(), 0.0);
    double wait = 0;
    for (const StageStamp& s : f.stamps) {
      if (s.stage >= 0 && static_cast<size_t>(s.stage) < compute.size()) compute[static_cast<size_t>(s.stage)] += static_cast<double>(s.compute) / 1e6;
      wait += static_cast<double>(s.started - s.enqueued) / 1e6;
    }
    o << ",\"latency_ms\":{";
    bool first = true;
    for (const StageStamp& s : f.stamps) {  // stages this frame passed, in order, once each
      const size_t i = static_cast<size_t>(s.stage);
      if (i >= compute.size() || compute[i] < 0) continue;
      o << (first ? "" : ",") << json_escape(names_[i]) << ":" << compute[i];
      compute[i] = -1;
      first = false;
    }
    o << (first ? "" : ",") << "\"queue_wait\":" << wait << ",\"end_to_end\":" << static_cast<double>(now - f.captured) / 1e6 << "}}\n";
    jsonl_ << o.str();
  }

  std::string jsonl_path_, annotate_spec_;
  bool print_;
  std::vector<std::string> names_;
  std::shared_ptr<RunTally> tally_;
  StageContext ctx_;
  std::ofstream jsonl_;
  std::optional<AnnotatedWriter> writer_;
};

template <typename P, typename... Args>
ProcessorFactory factory_of(Args... args) {
  return [=]() -> Result<std::unique_ptr<Processor>> { return std::unique_ptr<Processor>(new P(args...)); };
}

}  // namespace

FrameScore score_frame(const std::vector<GroundTruthLabel>& truth, const std::vector<TextResult>& read) {
  FrameScore s;
  s.labels = static_cast<int>(truth.size());
  std::vector<bool> used(read.size(), false);
  auto rect = [](const Quad& q) {
    std::vector<cv::Point2f> pts(q.begin(), q.end());
    return cv::boundingRect(pts);
  };
  for (const GroundTruthLabel& g : truth) {
    const cv::Rect gr = rect(g.box);
    int best = -1;
    double best_iou = 0.1;  // detector boxes are unclipped (larger), so the overlap bar is low
    for (size_t i = 0; i < read.size(); ++i) {
      const cv::Rect rr = rect(read[i].box);
      const double inter = (gr & rr).area();
      const double iou = inter / static_cast<double>(gr.area() + rr.area() - inter);
      if (iou > best_iou) {
        best_iou = iou;
        best = static_cast<int>(i);
      }
    }
    if (best >= 0) used[static_cast<size_t>(best)] = true;
    if (best >= 0 && read[static_cast<size_t>(best)].text == g.text) ++s.exact;
    else s.misreads.emplace_back(g.text, best >= 0 ? read[static_cast<size_t>(best)].text : "<not found>");
  }
  if (!truth.empty())
    for (bool u : used) s.unmatched += u ? 0 : 1;
  return s;
}

Result<ProcessorFactory> make_processor(const StageConfig& stage, const BuildContext& ctx) {
  const nlohmann::json& p = stage.params;
  const std::string& name = stage.name;
  auto threads = [&](int def) -> Result<int> {
    const int64_t t = param<int64_t>(p, "threads", def);
    if (t < 1 || t > 256) return invalid_argument("stage '", name, "': threads ", t, " out of 1..256");
    return static_cast<int>(t);
  };
  auto precision = [&]() -> Result<std::string> {
    const std::string v = param<std::string>(p, "precision", "fp32");
    if (v != "fp32" && v != "bf16") return invalid_argument("stage '", name, "': precision '", v, "' is not fp32 or bf16");
    return v;
  };
  if (stage.kind == "text_detect") {
    TextDetectorOptions o;
    o.model_path = resolve_model_path(param<std::string>(p, "model", "models/ch_PP-OCRv4_det_infer.onnx"), ctx);
    EP_ASSIGN_OR_RETURN(o.remote, remote_of(p, name, ctx));
    EP_RETURN_IF_ERROR(check_model(name, "model", o.model_path, o.remote));
    EP_ASSIGN_OR_RETURN(o.threads, threads(1));
    EP_ASSIGN_OR_RETURN(o.precision, precision());
    o.limit_side_len = static_cast<int>(param<int64_t>(p, "limit_side_len", 960));
    if (o.limit_side_len < 32 || o.limit_side_len > 8192) return invalid_argument("stage '", name, "': limit_side_len ", o.limit_side_len, " out of 32..8192");
    const std::string lt = param<std::string>(p, "limit_type", "max");
    if (lt != "max" && lt != "min") return invalid_argument("stage '", name, "': limit_type '", lt, "' is not max or min");
    o.limit_type = lt == "max" ? LimitType::max : LimitType::min;
    o.boxes.thresh = static_cast<float>(param<double>(p, "thresh", o.boxes.thresh));
    o.boxes.box_thresh = static_cast<float>(param<double>(p, "box_thresh", o.boxes.box_thresh));
    o.boxes.unclip_ratio = static_cast<float>(param<double>(p, "unclip_ratio", o.boxes.unclip_ratio));
    std::optional<TextDetectorOptions> fb;
    FallbackOptions sw;
    if (p.contains("fallback")) {
      const nlohmann::json& f = p["fallback"];
      fb = o;
      fb->remote.reset();  // the fallback runs here: it is what answers when the node cannot
      fb->model_path = resolve_model_path(param<std::string>(f, "model", o.model_path), ctx);
      EP_RETURN_IF_ERROR(check_model(name, "fallback model", fb->model_path));
      fb->limit_side_len = static_cast<int>(param<int64_t>(f, "limit_side_len", o.limit_side_len / 2));
      if (fb->limit_side_len < 32 || fb->limit_side_len > 8192) return invalid_argument("stage '", name, "': fallback limit_side_len out of 32..8192");
      sw.budget = static_cast<TimeNs>(param<double>(f, "budget_ms", 0) * 1e6);
      sw.misses_to_switch = static_cast<int>(param<int64_t>(f, "misses", 3));
      sw.probe_every = static_cast<int>(param<int64_t>(f, "probe_every", 30));
      if (sw.misses_to_switch < 1) return invalid_argument("stage '", name, "': fallback misses must be >= 1");
    }
    const cv::Size warm = ctx.source.spec == "synthetic" ? cv::Size(ctx.source.width, ctx.source.height) : cv::Size();
    return factory_of<TextDetectProcessor>(o, fb, sw, warm, ctx.tally);
  }
  if (stage.kind == "text_crops") {
    const int64_t m = param<int64_t>(p, "max_boxes", 256);
    if (m < 1 || m > 100000) return invalid_argument("stage '", name, "': max_boxes ", m, " out of 1..100000");
    return factory_of<TextCropsProcessor>(static_cast<int>(m));
  }
  if (stage.kind == "text_recognize") {
    TextRecognizerOptions o;
    o.model_path = resolve_model_path(param<std::string>(p, "model", "models/ch_PP-OCRv4_rec_infer.onnx"), ctx);
    o.dict_path = resolve_model_path(param<std::string>(p, "dict", "models/ppocr_keys_v1.txt"), ctx);
    EP_ASSIGN_OR_RETURN(o.remote, remote_of(p, name, ctx));
    EP_RETURN_IF_ERROR(check_model(name, "model", o.model_path, o.remote));
    EP_RETURN_IF_ERROR(check_model(name, "dict", o.dict_path));
    EP_ASSIGN_OR_RETURN(o.threads, threads(1));
    EP_ASSIGN_OR_RETURN(o.precision, precision());
    o.min_width = static_cast<int>(param<int64_t>(p, "min_width", o.min_width));
    o.width_step = static_cast<int>(param<int64_t>(p, "width_step", o.width_step));
    o.max_width = static_cast<int>(param<int64_t>(p, "max_width", o.max_width));
    if (o.min_width < 16 || o.min_width > 8192) return invalid_argument("stage '", name, "': min_width out of 16..8192");
    if (o.width_step < 8 || o.width_step > 8192) return invalid_argument("stage '", name, "': width_step out of 8..8192");
    if (o.max_width < o.min_width || o.max_width > 8192) return invalid_argument("stage '", name, "': max_width out of ", o.min_width, "..8192");
    // The stage's micro-batch is recognized one crop per run: sessions are cached per input
    // shape, and batching crops multiplies the shapes (batch x width), so a batched run
    // would create sessions at run time instead of reusing them.
    o.batch = 1;
    return factory_of<TextRecognizeProcessor>(o, static_cast<float>(param<double>(p, "drop_score", 0.5)));
  }
  if (stage.kind == "join") return factory_of<JoinProcessor>();
  if (stage.kind == "yolo" || stage.kind == "classify") {
    const std::string model = resolve_model_path(param<std::string>(p, "model", ""), ctx);
    EP_ASSIGN_OR_RETURN(std::optional<RemoteModelOptions> remote, remote_of(p, name, ctx));
    EP_RETURN_IF_ERROR(check_model(name, "model", model, remote));
    const int64_t size = param<int64_t>(p, "size", stage.kind == "yolo" ? 640 : 224);
    if (size < 32 || size > 4096) return invalid_argument("stage '", name, "': size ", size, " out of 32..4096");
    EP_ASSIGN_OR_RETURN(int t, threads(1));
    EP_ASSIGN_OR_RETURN(std::string prec, precision());
    if (stage.kind == "classify") {
      const int64_t k = param<int64_t>(p, "top_k", 5);
      if (k < 1 || k > 1000) return invalid_argument("stage '", name, "': top_k out of 1..1000");
      return factory_of<ImageModelProcessor>(ImageModelProcessor::Kind::classify, model, remote, static_cast<int>(size), t,
                                             DetectionOptions{}, static_cast<int>(k), param<bool>(p, "softmax", true), prec);
    }
    const std::string v = param<std::string>(p, "version", "v5");
    if (v != "v5" && v != "v8") return invalid_argument("stage '", name, "': version '", v, "' is not v5 or v8");
    DetectionOptions d;
    d.conf_threshold = static_cast<float>(param<double>(p, "conf", d.conf_threshold));
    d.iou_threshold = static_cast<float>(param<double>(p, "iou", d.iou_threshold));
    return factory_of<ImageModelProcessor>(v == "v5" ? ImageModelProcessor::Kind::yolo_v5 : ImageModelProcessor::Kind::yolo_v8, model,
                                           remote, static_cast<int>(size), t, d, 0, false, prec);
  }
  if (stage.kind == "sink") {
    std::string jsonl = ctx.jsonl_override.empty() ? param<std::string>(p, "jsonl", "") : ctx.jsonl_override;
    return factory_of<SinkProcessor>(jsonl, param<std::string>(p, "annotate", ""), param<bool>(p, "print", false), ctx.stage_names, ctx.tally);
  }
  return invalid_argument("stage '", name, "': unknown kind '", stage.kind, "'");
}

}  // namespace ep::pipeline
