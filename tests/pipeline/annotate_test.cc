#include "pipeline/annotate.h"

#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <opencv2/imgcodecs.hpp>

#include "pipeline/source.h"

#include "pipeline/temp_dir.h"

namespace ep::pipeline {
namespace {
namespace fs = std::filesystem;

using testing::TempDir;

Annotator make_annotator() {
  auto a = Annotator::create();
  EXPECT_TRUE(a.is_ok()) << a.status().to_string();
  return std::move(a).value();
}

TextResult text_box(float x0, float y0, float x1, float y1, std::string text) {
  TextResult r;
  r.text = std::move(text);
  r.box = {cv::Point2f(x0, y0), {x1, y0}, {x1, y1}, {x0, y1}};
  return r;
}

cv::Mat changed_mask(const cv::Mat& a, const cv::Mat& b) {
  cv::Mat diff;
  cv::absdiff(a, b, diff);
  std::vector<cv::Mat> ch;
  cv::split(diff, ch);
  return (ch[0] > 0) | (ch[1] > 0) | (ch[2] > 0);
}

TEST(Annotate, DrawingChangesOnlyTheBoxOutlinesAndTheirCaptions) {
  Annotator annotator = make_annotator();
  const cv::Mat blank(240, 320, CV_8UC3, cv::Scalar(90, 90, 90));
  cv::Mat image = blank.clone();
  const std::vector<TextResult> texts = {text_box(100, 100, 200, 140, "Hello"), text_box(20, 3, 90, 30, "top")};
  Detection det;
  det.class_id = 3, det.score = 0.87f, det.box = {210, 150, 80, 60};
  ASSERT_TRUE(annotator.draw(image, texts, {det}).is_ok());
  cv::Mat changed = changed_mask(image, blank);
  ASSERT_GT(cv::countNonZero(changed), 0);

  const int t = 2;  // default thickness: a stroke reaches 1 px beyond the outline
  auto allow = [&](const cv::Rect& outline, int caption_width) {
    const cv::Rect stroked(outline.x - t / 2, outline.y - t / 2, outline.width + t, outline.height + t);
    const cv::Rect caption = annotator.caption_rect(stroked, caption_width, image.size());
    // The outline's pixels must be drawn.
    EXPECT_GT(changed.at<uint8_t>(outline.y + outline.height / 2, outline.x), 0);
    // The inside of the box stays untouched (text stays readable for a person checking it).
    const cv::Rect inner(outline.x + t, outline.y + t, outline.width - 2 * t, outline.height - 2 * t);
    EXPECT_EQ(cv::countNonZero(changed(inner & cv::Rect(0, 0, image.cols, image.rows))), 0);
    for (const cv::Rect& r : {stroked, caption}) changed(r & cv::Rect(0, 0, image.cols, image.rows)).setTo(0);
    return caption;
  };
  const cv::Rect c0 = allow({100, 100, 101, 41}, 200);
  EXPECT_LT(c0.y, 100) << "caption above the box";
  const cv::Rect c1 = allow({20, 3, 71, 28}, 200);
  EXPECT_GT(c1.y, 30) << "no room above: caption below the box";
  allow({210, 150, 81, 61}, 200);
  EXPECT_EQ(cv::countNonZero(changed), 0) << "pixels changed outside every box and caption";
}

TEST(Annotate, NothingToDrawLeavesTheImageAlone) {
  Annotator annotator = make_annotator();
  const cv::Mat blank(50, 60, CV_8UC3, cv::Scalar(1, 2, 3));
  cv::Mat image = blank.clone();
  ASSERT_TRUE(annotator.draw(image, {}, {}).is_ok());
  EXPECT_EQ(cv::norm(image, blank, cv::NORM_INF), 0);
  // Non-finite boxes are skipped; boxes past the border and odd text are clipped, not fatal.
  TextResult nan_box = text_box(0, 0, NAN, 10, "x");
  ASSERT_TRUE(annotator.draw(image, {nan_box}, {}).is_ok());
  EXPECT_EQ(cv::norm(image, blank, cv::NORM_INF), 0);
  Detection huge;
  huge.box = {-1e9f, -1e9f, 3e9f, 3e9f};
  ASSERT_TRUE(annotator.draw(image, {text_box(40, 40, 200, 90, "\xE4\xBD\xA0\xFF")}, {huge}).is_ok());
  cv::Mat gray(10, 10, CV_8UC1);
  EXPECT_EQ(annotator.draw(gray, {}, {}).code(), StatusCode::invalid_argument);
}

TEST(Annotate, FileNames) {
  SourceImage f;
  f.name = "cat.JPG", f.index = 4;
  EXPECT_EQ(annotated_file_name(f), "cat.png");
  f.name = "synthetic", f.index = 42;
  EXPECT_EQ(annotated_file_name(f), "synthetic_000042.png");
  f.name = "/data/clips/street cam.mp4", f.index = 7;
  EXPECT_EQ(annotated_file_name(f), "street_cam_000007.png");
  f.name = "/dev/video0";
  EXPECT_EQ(annotated_file_name(f), "video0_000007.png");
  f.name = "";
  EXPECT_EQ(annotated_file_name(f), "frame_000007.png");
  f.name = "../../etc/passwd";
  EXPECT_EQ(annotated_file_name(f), "passwd_000007.png");
}

std::vector<SourceImage> synthetic_frames(int n, cv::Size size) {
  SourceOptions o;
  o.width = size.width, o.height = size.height, o.max_frames = n;
  auto src = open_source("synthetic", o);
  EXPECT_TRUE(src.is_ok()) << src.status().to_string();
  std::vector<SourceImage> frames;
  SourceImage f;
  while (src.is_ok() && *(*src)->read(f)) frames.push_back(f);
  return frames;
}

std::vector<TextResult> truth_as_results(const SourceImage& f) {
  std::vector<TextResult> out;
  for (const GroundTruthLabel& l : f.truth) out.push_back({l.text, 1.0f, 1.0f, l.box});
  return out;
}

TEST(AnnotatedWriter, WritesOnePngPerFrameIntoANewFolder) {
  TempDir dir("images");
  const std::string out = dir.str("nested/out");
  auto writer = AnnotatedWriter::open("images:" + out);
  ASSERT_TRUE(writer.is_ok()) << writer.status().to_string();
  const auto frames = synthetic_frames(3, {320, 240});
  ASSERT_EQ(frames.size(), 3u);
  for (const SourceImage& f : frames) ASSERT_TRUE(writer->write(f, truth_as_results(f), {}).is_ok());
  EXPECT_EQ(writer->frames_written(), 3);
  ASSERT_TRUE(writer->close().is_ok());
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(fs::exists(out + "/synthetic_00000" + std::to_string(i) + ".png"));
  const cv::Mat back = cv::imread(out + "/synthetic_000001.png");
  ASSERT_EQ(back.size(), cv::Size(320, 240));
  EXPECT_GT(cv::norm(back, frames[1].image, cv::NORM_L1), 0) << "annotations were drawn";
  EXPECT_EQ(writer->write(frames[0], {}, {}).code(), StatusCode::invalid_argument) << "write after close";
}

void write_and_read_back_video(const std::string& path) {
  auto writer = AnnotatedWriter::open("video:" + path);
  ASSERT_TRUE(writer.is_ok()) << writer.status().to_string();
  const auto frames = synthetic_frames(12, {320, 240});
  ASSERT_EQ(frames.size(), 12u);
  for (const SourceImage& f : frames) {
    Status s = writer->write(f, truth_as_results(f), {});
    ASSERT_TRUE(s.is_ok()) << s.to_string();
  }
  SourceImage other = frames[0];
  other.image = cv::Mat(100, 100, CV_8UC3, cv::Scalar(0));
  Status mismatch = writer->write(other, {}, {});
  EXPECT_EQ(mismatch.code(), StatusCode::invalid_argument);
  EXPECT_NE(mismatch.message().find("100x100"), std::string::npos) << mismatch.to_string();
  ASSERT_TRUE(writer->close().is_ok());

  auto src = open_source("video:" + path, {});
  ASSERT_TRUE(src.is_ok()) << src.status().to_string();
  EXPECT_NEAR((*src)->native_fps(), 25, 0.01);
  SourceImage f;
  int n = 0;
  while (true) {
    auto got = (*src)->read(f);
    ASSERT_TRUE(got.is_ok()) << got.status().to_string();
    if (!*got) break;
    EXPECT_EQ(f.image.size(), cv::Size(320, 240));
    // Lossy codecs: the frame is close to what was written, not equal.
    cv::Mat expected = frames[n].image.clone();
    ASSERT_TRUE(make_annotator().draw(expected, truth_as_results(frames[n]), {}).is_ok());
    EXPECT_LT(cv::norm(f.image, expected, cv::NORM_L1) / expected.total() / 3, 12) << "frame " << n;
    ++n;
  }
  EXPECT_EQ(n, 12);
}

TEST(AnnotatedWriter, AviVideoReadsBackWithTheVideoSource) {
  TempDir dir("avi");
  write_and_read_back_video(dir.str("out.avi"));
}

TEST(AnnotatedWriter, Mp4VideoReadsBackWithTheVideoSource) {
  TempDir dir("mp4");
  write_and_read_back_video(dir.str("out.MP4"));
}

TEST(AnnotatedWriter, OpenErrors) {
  TempDir dir("errors");
  EXPECT_EQ(AnnotatedWriter::open("video:" + dir.str("x.mkv")).status().code(), StatusCode::invalid_argument);
  auto no_dir = AnnotatedWriter::open("video:" + dir.str("missing/x.avi"));
  ASSERT_FALSE(no_dir.is_ok());
  EXPECT_NE(no_dir.status().message().find(dir.str("missing")), std::string::npos) << no_dir.status().to_string();
  EXPECT_EQ(AnnotatedWriter::open("screen:x").status().code(), StatusCode::invalid_argument);
  EXPECT_EQ(AnnotatedWriter::open("images:").status().code(), StatusCode::invalid_argument);
  std::ofstream(dir.str("file")) << "x";
  EXPECT_EQ(AnnotatedWriter::open("images:" + dir.str("file") + "/sub").status().code(), StatusCode::io_error);
  AnnotateOptions bad_font;
  bad_font.font_path = "/nonexistent/font.ttf";
  auto no_font = AnnotatedWriter::open("images:" + dir.str("ok"), bad_font);
  ASSERT_FALSE(no_font.is_ok());
  EXPECT_NE(no_font.status().message().find("/nonexistent/font.ttf"), std::string::npos);
}

}  // namespace
}  // namespace ep::pipeline
