#include "pipeline/ocr.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <opencv2/imgproc.hpp>

#include "pipeline/crop.h"

namespace ep::pipeline {
namespace {

const std::string kModels = std::string(EP_SOURCE_DIR) + "/models/";

bool have_models() {
  for (const char* f : {"ch_PP-OCRv4_det_infer.onnx", "ch_PP-OCRv4_rec_infer.onnx", "ppocr_keys_v1.txt"})
    if (!std::filesystem::exists(kModels + f)) return false;
  return true;
}

struct Line {
  std::string text;
  cv::Rect where;  // ink extent as cv::putText reports it
};

// Black Hershey text on white, one line per entry. Words are drawn one by one with a gap
// of a third of the cap height: Hershey's own space is wider than a typeset one and the
// detector (rightly) splits the line there.
cv::Mat render(const std::vector<std::string>& texts, std::vector<Line>* lines) {
  cv::Mat img(360, 640, CV_8UC3, cv::Scalar(255, 255, 255));
  const int font = cv::FONT_HERSHEY_SIMPLEX, thickness = 4;
  const double scale = 2.0;
  int y = 100;
  for (const std::string& t : texts) {
    int x = 60;
    size_t start = 0;
    while (start <= t.size()) {
      size_t end = t.find(' ', start);
      if (end == std::string::npos) end = t.size();
      const std::string word = t.substr(start, end - start);
      int base = 0;
      const cv::Size s = cv::getTextSize(word, font, scale, thickness, &base);
      cv::putText(img, word, {x, y}, font, scale, cv::Scalar(0, 0, 0), thickness, cv::LINE_AA);
      x += s.width + s.height / 3;
      start = end + 1;
    }
    // The ink's true extent: dark pixels in this line's band.
    cv::Mat band, dark;
    cv::cvtColor(img(cv::Range(y - 90, y + 40), cv::Range::all()), band, cv::COLOR_BGR2GRAY);
    cv::findNonZero(band < 128, dark);
    lines->push_back({t, cv::boundingRect(dark) + cv::Point(0, y - 90)});
    y += 140;
  }
  return img;
}

TextDetectorOptions det_options() {
  TextDetectorOptions o;
  o.model_path = kModels + "ch_PP-OCRv4_det_infer.onnx";
  o.threads = 2;
  return o;
}

TextRecognizerOptions rec_options() {
  TextRecognizerOptions o;
  o.model_path = kModels + "ch_PP-OCRv4_rec_infer.onnx";
  o.dict_path = kModels + "ppocr_keys_v1.txt";
  o.threads = 2;
  return o;
}

TEST(Ocr, ReadsRenderedText) {
  if (!have_models()) GTEST_SKIP() << "models/ missing";
  auto det = TextDetector::create(det_options());
  ASSERT_TRUE(det.is_ok()) << det.status().to_string();
  auto rec = TextRecognizer::create(rec_options());
  ASSERT_TRUE(rec.is_ok()) << rec.status().to_string();
  std::vector<Line> lines;
  const cv::Mat img = render({"HELLO 2024", "edgepipe"}, &lines);
  auto r = read_text(*det, *rec, img);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  ASSERT_EQ(r->size(), lines.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    const TextResult& t = (*r)[i];
    EXPECT_EQ(t.text, lines[i].text);
    EXPECT_GT(t.score, 0.8f);
    EXPECT_GT(t.box_score, 0.6f);
    // The box surrounds the ink: every edge within 5 px of the ink's extent (DBNet's
    // shrink + unclip lands close to the glyph edges, either side).
    const cv::Rect box = cv::boundingRect(std::vector<cv::Point2f>(t.box.begin(), t.box.end()));
    const cv::Rect& ink = lines[i].where;
    EXPECT_NEAR(box.x, ink.x, 5) << "box " << box << " ink " << ink;
    EXPECT_NEAR(box.y, ink.y, 5) << "box " << box << " ink " << ink;
    EXPECT_NEAR(box.br().x, ink.br().x, 5) << "box " << box << " ink " << ink;
    EXPECT_NEAR(box.br().y, ink.br().y, 5) << "box " << box << " ink " << ink;
  }
  EXPECT_EQ(det->last_timings().runs, 1);
  EXPECT_GT(det->last_timings().infer_ms, 0);
  EXPECT_EQ(rec->last_timings().runs, 2);  // batch 1 by default
}

TEST(Ocr, DetectorInputSizeFollowsPaddle) {
  if (!have_models()) GTEST_SKIP() << "models/ missing";
  auto det = TextDetector::create(det_options());
  ASSERT_TRUE(det.is_ok());
  EXPECT_EQ(det->input_size({640, 360}), cv::Size(640, 352));    // 360/32 = 11.25 -> 11
  EXPECT_EQ(det->input_size({1920, 1080}), cv::Size(960, 544));  // 540/32 = 16.875 -> 17
  EXPECT_EQ(det->input_size({10, 10}), cv::Size(32, 32));
  TextDetectorOptions o = det_options();
  o.limit_type = LimitType::min;
  o.limit_side_len = 736;
  auto det_min = TextDetector::create(o);
  ASSERT_TRUE(det_min.is_ok());
  EXPECT_EQ(det_min->input_size({640, 360}), cv::Size(1312, 736));  // 1308.4 -> 1312
}

TEST(Ocr, BatchedRecognitionMatchesSingle) {
  if (!have_models()) GTEST_SKIP() << "models/ missing";
  std::vector<Line> lines;
  const cv::Mat img = render({"HELLO 2024", "edgepipe"}, &lines);
  std::vector<cv::Mat> crops;
  for (const Line& l : lines) crops.push_back(img(l.where + cv::Size(20, 20) - cv::Point(10, 10)).clone());
  crops.push_back(crops[0]);
  TextRecognizerOptions o = rec_options();
  o.batch = 4;
  auto rec = TextRecognizer::create(o);
  ASSERT_TRUE(rec.is_ok());
  auto r = rec->recognize(crops);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].text, "HELLO 2024");
  EXPECT_EQ((*r)[1].text, "edgepipe");
  EXPECT_EQ((*r)[2].text, "HELLO 2024");
  EXPECT_EQ(rec->last_timings().runs, 1);
  auto empty = rec->recognize({});
  ASSERT_TRUE(empty.is_ok());
  EXPECT_TRUE(empty->empty());
}

TEST(Ocr, Errors) {
  if (!have_models()) GTEST_SKIP() << "models/ missing";
  auto det = TextDetector::create(det_options());
  ASSERT_TRUE(det.is_ok());
  EXPECT_FALSE(det->detect(cv::Mat()).is_ok());
  EXPECT_FALSE(det->detect(cv::Mat(10, 10, CV_8UC1)).is_ok());
  auto rec = TextRecognizer::create(rec_options());
  ASSERT_TRUE(rec.is_ok());
  auto r = rec->recognize({cv::Mat(48, 100, CV_8UC3, cv::Scalar::all(255)), cv::Mat()});
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("crop 1"), std::string::npos);
  // A dictionary that does not fit the model's 6625 classes.
  TextRecognizerOptions o = rec_options();
  const auto keys = std::filesystem::temp_directory_path() / "ep_ocr_short_keys.txt";
  { std::ofstream(keys) << "a\nb\n"; }
  o.dict_path = keys.string();
  auto bad = TextRecognizer::create(o);
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("ep_ocr_short_keys.txt"), std::string::npos) << bad.status().message();
  std::filesystem::remove(keys);
  TextDetectorOptions d = det_options();
  d.model_path = kModels + "missing.onnx";
  EXPECT_FALSE(TextDetector::create(d).is_ok());
}

}  // namespace
}  // namespace ep::pipeline
