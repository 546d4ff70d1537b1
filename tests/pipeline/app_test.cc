// Pipeline files, the stage kinds and `edgepipe run`'s engine: errors name their place,
// and the OCR pipeline reads the synthetic source's labels (real PP-OCRv4 models).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <opencv2/imgcodecs.hpp>

#include "pipeline/app.h"
#include "pipeline/synthetic.h"

namespace ep::pipeline {
namespace {

namespace fs = std::filesystem;

const std::string kRoot = EP_SOURCE_DIR;

bool have_ocr_models() {
  return fs::exists(kRoot + "/models/ch_PP-OCRv4_det_infer.onnx") && fs::exists(kRoot + "/models/ch_PP-OCRv4_rec_infer.onnx");
}

std::string read_file(const std::string& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

fs::path temp_dir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("ep_app_test_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

std::string error_of(const std::string& yaml) {
  auto r = parse_pipeline_config(yaml, "p.yaml", "");
  return r.is_ok() ? "" : r.status().to_string();
}

const char* kMinimal = R"(source: synthetic
stages:
  - name: det
    kind: text_detect
    input: {from: source, depth: 1, policy: drop_oldest}
)";

TEST(PipelineConfig, BuiltinPipelineIsTheExampleFile) {
  EXPECT_EQ(read_file(kRoot + "/examples/ocr_synthetic.yaml"), std::string(kBuiltinPipeline));
  auto cfg = parse_pipeline_config(kBuiltinPipeline, "built-in", "");
  ASSERT_TRUE(cfg.is_ok()) << cfg.status().to_string();
  EXPECT_EQ(cfg->stages.size(), 5u);
  EXPECT_EQ(cfg->stages[0].input.policy, OverflowPolicy::drop_oldest);
  EXPECT_EQ(cfg->stages[0].input.depth, 1u);
  EXPECT_EQ(cfg->source.duration_s, 10);
}

TEST(PipelineConfig, EveryExampleParses) {
  int n = 0;
  for (auto& e : fs::directory_iterator(kRoot + "/examples")) {
    if (e.path().extension() != ".yaml") continue;
    auto cfg = load_pipeline_config(e.path().string());
    EXPECT_TRUE(cfg.is_ok()) << e.path() << ": " << cfg.status().to_string();
    ++n;
  }
  EXPECT_GE(n, 4);
}

TEST(PipelineConfig, UnknownKeysNameFileLineAndKey) {
  std::string e = error_of(std::string(kMinimal) + "    modle: x.onnx\n");
  EXPECT_NE(e.find("p.yaml:6"), std::string::npos) << e;
  EXPECT_NE(e.find("unknown key 'modle'"), std::string::npos) << e;
  EXPECT_NE(e.find("model"), std::string::npos) << e;  // lists the known keys
  e = error_of("sorce: synthetic\nstages: []\n");
  EXPECT_NE(e.find("p.yaml:1: unknown key 'sorce'"), std::string::npos) << e;
  e = error_of("source: {type: synthetic, fsp: 3}\nstages: []\n");
  EXPECT_NE(e.find("unknown key 'fsp'"), std::string::npos) << e;
  e = error_of(std::string(kMinimal) + "    fallback: {budget: 3}\n");
  EXPECT_NE(e.find("unknown key 'budget'"), std::string::npos) << e;
}

TEST(PipelineConfig, WrongValuesAreRejectedWithTheirPlace) {
  std::string e = error_of(std::string(kMinimal) + "    threads: two\n");
  EXPECT_NE(e.find("p.yaml:6"), std::string::npos) << e;
  EXPECT_NE(e.find("expected an integer, got 'two'"), std::string::npos) << e;
  e = error_of("source: synthetic\nstages:\n  - {name: a, kind: join, input: {from: source, policy: drop_some}}\n");
  EXPECT_NE(e.find("'drop_some' is not one of block, drop_oldest, drop_newest"), std::string::npos) << e;
  e = error_of("source: synthetic\nstages:\n  - {name: a, kind: join, input: {from: nowhere}}\n");
  EXPECT_NE(e.find("input from 'nowhere'"), std::string::npos) << e;
  e = error_of("source: synthetic\nstages:\n  - {name: a, kind: teleport, input: source}\n");
  EXPECT_NE(e.find("unknown kind 'teleport'"), std::string::npos) << e;
  e = error_of("source: synthetic\nstages:\n  - {name: a, kind: join, input: source}\n  - {name: a, kind: join, input: source}\n");
  EXPECT_NE(e.find("defined twice"), std::string::npos) << e;
  e = error_of("source: synthetic\nstages:\n  - {name: a, kind: join}\n");
  EXPECT_NE(e.find("no input"), std::string::npos) << e;
  e = error_of("source: {type: synthetic, width: 8}\nstages: []\n");
  EXPECT_NE(e.find("size 8x480 out of"), std::string::npos) << e;
  e = error_of("stages: [\n");
  EXPECT_NE(e.find("not valid YAML"), std::string::npos) << e;
}

RunOptions quiet(const std::string& pipeline) {
  RunOptions o;
  o.pipeline = pipeline;
  o.live = false;
  o.model_dirs = {kRoot};
  return o;
}

TEST(RunPipeline, MissingPipelineFile) {
  std::ostringstream out, log;
  auto r = run_pipeline(quiet("/nonexistent/p.yaml"), out, log);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().to_string().find("pipeline '/nonexistent/p.yaml': no such file"), std::string::npos) << r.status().to_string();
}

TEST(RunPipeline, MissingModelNamesTheStageAndFile) {
  fs::path d = temp_dir("missing_model");
  std::ofstream(d / "p.yaml") << "source: {type: synthetic, max_frames: 1}\nstages:\n"
                                 "  - {name: det, kind: text_detect, input: source, model: nope/det.onnx}\n";
  std::ostringstream out, log;
  auto r = run_pipeline(quiet((d / "p.yaml").string()), out, log);
  ASSERT_FALSE(r.is_ok());
  const std::string e = r.status().to_string();
  EXPECT_NE(e.find("stage 'det'"), std::string::npos) << e;
  EXPECT_NE(e.find("nope/det.onnx': no such file"), std::string::npos) << e;
  EXPECT_NE(e.find("p.yaml:3"), std::string::npos) << e;
  fs::remove_all(d);
}

TEST(RunPipeline, MissingCamera) {
  std::ostringstream out, log;
  RunOptions o = quiet("");
  o.source = "camera:/dev/video_missing_ep";
  auto r = run_pipeline(o, out, log);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().to_string().find("camera '/dev/video_missing_ep': no such device"), std::string::npos) << r.status().to_string();
}

TEST(RunPipeline, WrongModelInputSizeIsAnErrorNamingTheModel) {
  const std::string model = kRoot + "/models/mobilenet_v2.onnx";
  if (!fs::exists(model)) GTEST_SKIP() << "no " << model << " (make torch-models)";
  fs::path d = temp_dir("wrong_size");
  std::ofstream(d / "p.yaml") << "source: {type: synthetic, max_frames: 1}\nstages:\n"
                                 "  - {name: cls, kind: classify, input: source, size: 100, model: " << model << "}\n";
  std::ostringstream out, log;
  auto r = run_pipeline(quiet((d / "p.yaml").string()), out, log);
  ASSERT_FALSE(r.is_ok());
  const std::string e = r.status().to_string();
  EXPECT_NE(e.find("stage 'cls'"), std::string::npos) << e;
  EXPECT_NE(e.find("100"), std::string::npos) << e;
  fs::remove_all(d);
}

// A block-policy OCR pipeline over rendered frames and one corrupt file: every readable
// frame is answered, the corrupt one is counted with its reason and named in the log,
// the JSON lines carry what the issue asks, and the labels are read.
TEST(RunPipeline, OcrOnAFolderReadsTheLabelsAndCountsTheCorruptImage) {
  if (!have_ocr_models()) GTEST_SKIP() << "no PP-OCRv4 models (make models)";
  fs::path d = temp_dir("ocr_folder");
  fs::create_directories(d / "imgs");
  auto scene = SyntheticScene::create({.width = 640, .height = 480, .seed = 11});
  ASSERT_TRUE(scene.is_ok()) << scene.status().to_string();
  std::map<std::string, std::vector<GroundTruthLabel>> truth;
  for (int i = 0; i < 6; ++i) {
    SourceImage img;
    ASSERT_TRUE(scene->render(i, img).is_ok());
    const std::string name = "frame" + std::to_string(i) + ".png";
    ASSERT_TRUE(cv::imwrite((d / "imgs" / name).string(), img.image));
    truth[name] = img.truth;
  }
  std::ofstream(d / "imgs" / "frame3b.png") << "not a png";
  std::string yaml = read_file(kRoot + "/examples/ocr_images.yaml");
  const std::string annotate = "annotate: images:ocr_images_annotated";
  ASSERT_NE(yaml.find(annotate), std::string::npos);
  yaml.replace(yaml.find(annotate), annotate.size(), "annotate: images:" + (d / "annotated").string());
  std::ofstream(d / "p.yaml") << yaml;
  RunOptions o = quiet((d / "p.yaml").string());
  o.source = "images:" + (d / "imgs").string();
  o.output = (d / "out.jsonl").string();
  o.trace = (d / "trace.json").string();
  std::ostringstream out, log;
  auto r = run_pipeline(o, out, log);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r->report.completed, 6);
  EXPECT_EQ(r->report.dropped, 1);
  EXPECT_EQ((r->report.drops[{r->source, "read_error"}]), 1);
  EXPECT_NE(log.str().find("frame3b.png"), std::string::npos) << log.str();
  // Every line: frame, source, texts with text/score/4-point box, latency per stage and end to end.
  std::ifstream in(o.output);
  std::string line;
  int lines = 0, labels = 0, exact = 0;
  while (std::getline(in, line)) {
    ++lines;
    auto j = nlohmann::json::parse(line);
    ASSERT_TRUE(j.contains("frame") && j.contains("source") && j.contains("texts") && j.contains("latency_ms")) << line;
    for (const char* stage : {"det", "crops", "rec", "join", "queue_wait", "end_to_end"}) EXPECT_TRUE(j["latency_ms"].contains(stage)) << line;
    const auto& gt = truth.at(j["source"].get<std::string>());
    std::vector<TextResult> read;
    for (auto& t : j["texts"]) {
      ASSERT_EQ(t["box"].size(), 4u);
      TextResult tr;
      tr.text = t["text"];
      for (int k = 0; k < 4; ++k) tr.box[k] = {t["box"][k][0].get<float>(), t["box"][k][1].get<float>()};
      read.push_back(tr);
    }
    FrameScore s = score_frame(gt, read);
    labels += s.labels;
    exact += s.exact;
  }
  EXPECT_EQ(lines, 6);
  EXPECT_GT(labels, 10);
  EXPECT_GE(exact * 100, labels * 95) << exact << " of " << labels;
  EXPECT_EQ(r->tally->labels, 0);  // images from a folder carry no ground truth
  int annotated = 0;
  for (auto& e : fs::directory_iterator(d / "annotated")) annotated += e.path().extension() == ".png";
  EXPECT_EQ(annotated, 6);
  auto trace = nlohmann::json::parse(read_file(o.trace));
  EXPECT_GT(trace["traceEvents"].size(), 6u * 5u);
  fs::remove_all(d);
}

// The live source: synthetic frames with ground truth, scored by the sink.
TEST(RunPipeline, BuiltinPipelineScoresTheSyntheticGroundTruth) {
  if (!have_ocr_models()) GTEST_SKIP() << "no PP-OCRv4 models (make models)";
  RunOptions o = quiet("");
  o.fps = 0;
  o.duration_s = 0;
  fs::path d = temp_dir("builtin");
  std::string yaml = std::string(kBuiltinPipeline);
  // Frames as fast as the queues take them, a fixed number, nothing dropped: deterministic.
  yaml.replace(yaml.find("duration_s: 10"), 14, "max_frames: 8");
  yaml.replace(yaml.find("depth: 1, policy: drop_oldest"), 29, "depth: 1, policy: block");
  std::ofstream(d / "p.yaml") << yaml;
  o.pipeline = (d / "p.yaml").string();
  std::ostringstream out, log;
  auto r = run_pipeline(o, out, log);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r->report.completed, 8);
  EXPECT_EQ(r->report.dropped, 0);
  EXPECT_GT(r->tally->labels, 15);
  EXPECT_GE(r->tally->labels_exact * 100, r->tally->labels * 95) << r->tally->labels_exact << " of " << r->tally->labels;
  std::ostringstream summary;
  print_summary(*r, summary);
  EXPECT_NE(summary.str().find("labels read exactly"), std::string::npos) << summary.str();
  fs::remove_all(d);
}

}  // namespace
}  // namespace ep::pipeline

namespace ep::pipeline {
namespace {

// A budget the detector cannot meet: after 3 misses in a row the stage switches to the
// lighter fallback, probes the primary every 2 frames, and every switch is logged and counted.
TEST(RunPipeline, DetectorFallsBackWhenItMissesItsBudget) {
  if (!have_ocr_models()) GTEST_SKIP() << "no PP-OCRv4 models (make models)";
  fs::path d = temp_dir("fallback");
  std::ofstream(d / "p.yaml") << "source: {type: synthetic, max_frames: 9}\nstages:\n"
                                 "  - name: det\n    kind: text_detect\n    input: {from: source, depth: 1, policy: block}\n"
                                 "    fallback: {limit_side_len: 160, budget_ms: 0.001, misses: 3, probe_every: 2}\n"
                                 "  - {name: sink, kind: sink, input: det}\n";
  RunOptions o = quiet((d / "p.yaml").string());
  o.output = (d / "out.jsonl").string();
  std::ostringstream out, log;
  auto r = run_pipeline(o, out, log);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  const StageReport& det = r->report.stages[0];
  // Frames 0-2 primary (misses), 3 fallback, 4 probe (miss), 5 fallback, 6 probe, 7 fallback, 8 probe.
  EXPECT_EQ(det.switches_to_fallback, 1);
  EXPECT_EQ(det.switches_to_primary, 0);
  EXPECT_EQ(det.fallback_frames, 3);
  EXPECT_NE(log.str().find("stage 'det': frame 2: switched to the fallback model after 3 consecutive budget misses"), std::string::npos)
      << log.str();
  std::ifstream in(o.output);
  std::string line;
  std::vector<std::string> models;
  while (std::getline(in, line)) models.push_back(nlohmann::json::parse(line)["model"]);
  EXPECT_EQ(models, (std::vector<std::string>{"primary", "primary", "primary", "fallback", "primary", "fallback", "primary", "fallback",
                                              "primary"}));
  fs::remove_all(d);
}

}  // namespace
}  // namespace ep::pipeline

namespace ep::pipeline {
namespace {

// The YOLO and classifier stages on their models (random weights: the shapes and the
// plumbing are checked, not what they find).
TEST(RunPipeline, YoloAndClassifyStagesRun) {
  const std::string yolo5 = kRoot + "/models/yolov5s.onnx", yolo8 = kRoot + "/models/yolov8n.onnx",
                    cls = kRoot + "/models/mobilenet_v2.onnx";
  if (!fs::exists(yolo5) || !fs::exists(yolo8) || !fs::exists(cls)) GTEST_SKIP() << "no torch exports (make torch-models)";
  fs::path d = temp_dir("yolo");
  std::ofstream(d / "p.yaml") << "source: {type: synthetic, max_frames: 2}\nstages:\n"
                                 "  - {name: v5, kind: yolo, input: source, model: " << yolo5 << ", version: v5, conf: 0.0}\n"
                                 "  - {name: v8, kind: yolo, input: v5, model: " << yolo8 << ", version: v8}\n"
                                 "  - {name: cls, kind: classify, input: v8, model: " << cls << ", top_k: 3}\n"
                                 "  - {name: sink, kind: sink, input: cls}\n";
  RunOptions o = quiet((d / "p.yaml").string());
  o.output = (d / "out.jsonl").string();
  std::ostringstream out, log;
  auto r = run_pipeline(o, out, log);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r->report.completed, 2);
  std::ifstream in(o.output);
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) {
    ++lines;
    auto j = nlohmann::json::parse(line);
    ASSERT_TRUE(j.contains("classes")) << line;
    EXPECT_EQ(j["classes"].size(), 3u);
    // conf 0 keeps candidates, so v5's NMS has work; boxes lie inside the 640x480 frame.
    ASSERT_TRUE(j.contains("detections")) << line;
    for (auto& det : j["detections"]) {
      EXPECT_GE(det["box"][0].get<float>(), -1.0f);
      EXPECT_LE(det["box"][0].get<float>() + det["box"][2].get<float>(), 641.0f);
    }
    for (const char* stage : {"v5", "v8", "cls"}) EXPECT_TRUE(j["latency_ms"].contains(stage)) << line;
  }
  EXPECT_EQ(lines, 2);
  fs::remove_all(d);
}

}  // namespace
}  // namespace ep::pipeline
