#include "pipeline/detections.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "edgepipe/session.h"

namespace ep::pipeline {
namespace {

constexpr int kClasses = 3;

// YOLOv5 row: cx, cy, w, h, objectness, class probabilities.
std::vector<float> v5_row(float cx, float cy, float w, float h, float obj, int cls, float p) {
  std::vector<float> r = {cx, cy, w, h, obj};
  for (int c = 0; c < kClasses; ++c) r.push_back(c == cls ? p : 0.01f);
  return r;
}

struct Built {
  std::vector<float> data;
  Shape shape;
  TensorView view() { return {DType::f32, shape, data.data()}; }
};

Built v5(const std::vector<std::vector<float>>& rows) {
  Built b;
  for (const auto& r : rows) b.data.insert(b.data.end(), r.begin(), r.end());
  b.shape = Shape{1, static_cast<int64_t>(rows.size()), 5 + kClasses};
  return b;
}

// The same anchors as YOLOv8's [1, 4 + C, N]: class score = obj * p, transposed.
Built v8_from(const std::vector<std::vector<float>>& rows) {
  const int64_t n = static_cast<int64_t>(rows.size());
  Built b;
  b.shape = Shape{1, 4 + kClasses, n};
  b.data.assign(static_cast<size_t>((4 + kClasses) * n), 0.f);
  for (int64_t i = 0; i < n; ++i) {
    for (int k = 0; k < 4; ++k) b.data[k * n + i] = rows[i][k];
    for (int c = 0; c < kClasses; ++c) b.data[(4 + c) * n + i] = rows[i][4] * rows[i][5 + c];
  }
  return b;
}

const std::vector<std::vector<float>> kRows = {
    v5_row(100, 100, 50, 50, 0.9f, 0, 0.9f),   // A: class 0, best
    v5_row(105, 102, 50, 50, 0.9f, 0, 0.8f),   // overlaps A, same class: suppressed
    v5_row(102, 101, 50, 50, 0.95f, 1, 0.7f),  // overlaps A, class 1: survives
    v5_row(300, 300, 40, 80, 0.8f, 2, 0.9f),   // alone
    v5_row(400, 400, 40, 40, 0.2f, 2, 1.0f),   // objectness below threshold
    v5_row(500, 100, 40, 40, 0.5f, 2, 0.4f),   // obj * cls = 0.2 below threshold
};

TEST(Detections, YoloV5ClassAwareNms) {
  Built b = v5(kRows);
  auto r = decode_yolov5(b.view(), Geometry{}, {640, 640});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].class_id, 0);
  EXPECT_NEAR((*r)[0].score, 0.81f, 1e-6);
  EXPECT_EQ((*r)[1].class_id, 2);
  EXPECT_EQ((*r)[2].class_id, 1);  // overlapping, other class: kept
  EXPECT_NEAR((*r)[0].box.x, 75, 1e-4);
  EXPECT_NEAR((*r)[0].box.width, 50, 1e-4);

  DetectionOptions agnostic;
  agnostic.class_agnostic = true;
  r = decode_yolov5(b.view(), Geometry{}, {640, 640}, agnostic);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->size(), 2u);

  DetectionOptions one;
  one.max_detections = 1;
  r = decode_yolov5(b.view(), Geometry{}, {640, 640}, one);
  ASSERT_TRUE(r.is_ok());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].class_id, 0);
}

TEST(Detections, YoloV8MatchesV5OnTheSameAnchors) {
  Built a = v5(kRows), b = v8_from(kRows);
  auto r5 = decode_yolov5(a.view(), Geometry{}, {640, 640});
  auto r8 = decode_yolov8(b.view(), Geometry{}, {640, 640});
  ASSERT_TRUE(r5.is_ok() && r8.is_ok()) << r8.status().to_string();
  ASSERT_EQ(r5->size(), r8->size());
  for (size_t i = 0; i < r5->size(); ++i) {
    EXPECT_EQ((*r5)[i].class_id, (*r8)[i].class_id);
    EXPECT_NEAR((*r5)[i].score, (*r8)[i].score, 1e-6);
    EXPECT_EQ((*r5)[i].box, (*r8)[i].box);
  }
}

TEST(Detections, LetterboxGeometryMapsToSourceAndClips) {
  // 1280x720 letterboxed into 640x640: scale 0.5, 140 px bars top and bottom.
  PreprocessSpec spec;
  spec.width = spec.height = 640;
  spec.resize = ResizeMode::letterbox;
  auto g = preprocess_geometry({1280, 720}, spec);
  ASSERT_TRUE(g.is_ok());
  Built b = v5({v5_row(320, 320, 100, 60, 0.9f, 0, 0.9f), v5_row(630, 160, 40, 60, 0.9f, 1, 0.9f)});
  auto r = decode_yolov5(b.view(), *g, {1280, 720});
  ASSERT_TRUE(r.is_ok());
  ASSERT_EQ(r->size(), 2u);
  const cv::Rect2f& centre = (*r)[0].box;
  EXPECT_NEAR(centre.x, (270 - 0) / 0.5, 1e-3);
  EXPECT_NEAR(centre.y, (290 - 140) / 0.5, 1e-3);
  EXPECT_NEAR(centre.width, 200, 1e-3);
  EXPECT_NEAR(centre.height, 120, 1e-3);
  const cv::Rect2f& edge = (*r)[1].box;  // spills over the right and top edges
  EXPECT_NEAR(edge.x + edge.width, 1280, 1e-3);
  EXPECT_NEAR(edge.y, 0, 1e-3);
}

TEST(Detections, NmsAndIou) {
  EXPECT_NEAR(detection_iou({0, 0, 10, 10}, {5, 0, 10, 10}), 50.f / 150.f, 1e-6);
  EXPECT_EQ(detection_iou({0, 0, 10, 10}, {20, 20, 5, 5}), 0.f);
  std::vector<Detection> d = {{0, 0.5f, {0, 0, 10, 10}}, {0, 0.9f, {1, 0, 10, 10}}, {0, 0.7f, {30, 0, 10, 10}}};
  const auto keep = detection_nms(d, 0.5f, false, 10);
  ASSERT_EQ(keep.size(), 2u);
  EXPECT_EQ(keep[0], 1u);
  EXPECT_EQ(keep[1], 2u);
  EXPECT_EQ(detection_nms(d, 0.5f, false, 1).size(), 1u);
  EXPECT_EQ(detection_nms(d, 0.95f, false, 10).size(), 3u);  // IoU 0.82 is not above 0.95
}

TEST(Detections, TopK) {
  std::vector<float> logits = {1.0f, 3.0f, 2.0f, 3.0f};
  TensorView v{DType::f32, Shape{1, 4}, logits.data()};
  auto r = top_k_classes(v, 3, false);
  ASSERT_TRUE(r.is_ok());
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].class_id, 1);  // tie: lower index first
  EXPECT_EQ((*r)[1].class_id, 3);
  EXPECT_EQ((*r)[2].class_id, 2);
  r = top_k_classes(v, 10, true);
  ASSERT_TRUE(r.is_ok());
  ASSERT_EQ(r->size(), 4u);
  float sum = 0;
  for (const ClassScore& c : *r) sum += c.score;
  EXPECT_NEAR(sum, 1.f, 1e-6);
  EXPECT_NEAR((*r)[0].score, std::exp(3.f) / (std::exp(1.f) + 2 * std::exp(3.f) + std::exp(2.f)), 1e-6);
}

TEST(Detections, Errors) {
  std::vector<float> d(64);
  EXPECT_FALSE(decode_yolov5({DType::f32, Shape{1, 4, 5}, d.data()}, Geometry{}, {8, 8}).is_ok());
  EXPECT_FALSE(decode_yolov5({DType::f32, Shape{4, 6}, d.data()}, Geometry{}, {8, 8}).is_ok());
  auto e = decode_yolov8({DType::f64, Shape{1, 8, 4}, d.data()}, Geometry{}, {8, 8});
  ASSERT_FALSE(e.is_ok());
  EXPECT_NE(e.status().message().find("YOLOv8"), std::string::npos);
  EXPECT_FALSE(decode_yolov8({DType::f32, Shape{1, 8, 4}, d.data()}, Geometry{}, {0, 8}).is_ok());
  DetectionOptions bad;
  bad.iou_threshold = 2;
  EXPECT_FALSE(decode_yolov8({DType::f32, Shape{1, 8, 4}, d.data()}, Geometry{}, {8, 8}, bad).is_ok());
  EXPECT_FALSE(top_k_classes({DType::f32, Shape{2, 4}, d.data()}, 1, false).is_ok());
  EXPECT_FALSE(top_k_classes({DType::f32, Shape{4}, d.data()}, -1, false).is_ok());
}

// Real exported heads (random weights): the decoder must take their output shapes.
void run_real(const std::string& file, bool v8) {
  const std::string path = std::string(EP_SOURCE_DIR) + "/models/" + file;
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " missing";
  auto model = Model::load(path);
  ASSERT_TRUE(model.is_ok()) << model.status().to_string();
  SessionOptions so;
  so.threads = 2;
  auto session = Session::create(*model, so);
  ASSERT_TRUE(session.is_ok()) << session.status().to_string();
  cv::Mat img(720, 1280, CV_8UC3);
  cv::randu(img, 0, 256);
  PreprocessSpec spec;
  spec.width = spec.height = 640;
  spec.resize = ResizeMode::letterbox;
  spec.color = ColorOrder::rgb;
  Tensor input(DType::f32, Shape{1, 3, 640, 640});
  auto g = preprocess_into(img, spec, input.view());
  ASSERT_TRUE(g.is_ok());
  std::vector<Tensor> inputs;
  inputs.push_back(std::move(input));
  auto out = session->run(inputs);
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  DetectionOptions o;
  o.conf_threshold = 0.0f;  // random weights: let everything through to exercise NMS
  auto r = v8 ? decode_yolov8((*out)[0].view(), *g, img.size(), o) : decode_yolov5((*out)[0].view(), *g, img.size(), o);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_LE(r->size(), 300u);
  for (const Detection& d : *r) {
    EXPECT_GE(d.box.x, 0);
    EXPECT_GE(d.box.y, 0);
    EXPECT_LE(d.box.x + d.box.width, 1280.001f);
    EXPECT_LE(d.box.y + d.box.height, 720.001f);
  }
  for (size_t i = 1; i < r->size(); ++i) EXPECT_GE((*r)[i - 1].score, (*r)[i].score);
}

TEST(Detections, RealYoloV5Output) { run_real("yolov5s.onnx", false); }
TEST(Detections, RealYoloV8Output) { run_real("yolov8n.onnx", true); }

}  // namespace
}  // namespace ep::pipeline
