#include "pipeline/source.h"

#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/videoio.hpp>

#include "pipeline/temp_dir.h"

namespace ep::pipeline {
namespace {
namespace fs = std::filesystem;

using testing::TempDir;

cv::Mat solid(int w, int h, int value) { return cv::Mat(h, w, CV_8UC3, cv::Scalar(value, 255 - value, value / 2)); }

std::unique_ptr<FrameSource> open_ok(const std::string& spec, const SourceOptions& o = {}) {
  auto s = open_source(spec, o);
  EXPECT_TRUE(s.is_ok()) << s.status().to_string();
  return s.is_ok() ? std::move(s).value() : nullptr;
}

TEST(Source, SyntheticProducesLabelledFramesUpToMaxFrames) {
  SourceOptions o;
  o.max_frames = 3;
  o.width = 320, o.height = 240;
  auto src = open_ok("synthetic", o);
  ASSERT_TRUE(src);
  EXPECT_NE(src->describe().find("synthetic"), std::string::npos);
  SourceImage f;
  for (int i = 0; i < 3; ++i) {
    auto got = src->read(f);
    ASSERT_TRUE(got.is_ok() && *got) << got.status().to_string();
    EXPECT_EQ(f.index, i);
    EXPECT_EQ(f.name, "synthetic");
    EXPECT_EQ(f.image.size(), cv::Size(320, 240));
    EXPECT_FALSE(f.truth.empty());
  }
  auto end = src->read(f);
  ASSERT_TRUE(end.is_ok());
  EXPECT_FALSE(*end);
  EXPECT_EQ(open_source("synthetic:x", {}).status().code(), StatusCode::invalid_argument);
}

TEST(Source, ImagesAreReadSortedByNameAndOtherFilesIgnored) {
  TempDir dir("sorted");
  ASSERT_TRUE(cv::imwrite(dir.str("b.png"), solid(40, 30, 10)));
  ASSERT_TRUE(cv::imwrite(dir.str("a.JPG"), solid(50, 30, 20)));
  ASSERT_TRUE(cv::imwrite(dir.str("d.bmp"), solid(60, 30, 30)));
  cv::Mat gray(30, 70, CV_8UC1, cv::Scalar(99));
  ASSERT_TRUE(cv::imwrite(dir.str("e.tiff"), gray));  // gray files come out as BGR
  std::ofstream(dir.str("c.txt")) << "not an image";
  fs::create_directories(dir.path / "f.png");  // a directory with an image name is not a file
  auto src = open_ok("images:" + dir.str());
  ASSERT_TRUE(src);
  EXPECT_NE(src->describe().find("(4 files)"), std::string::npos) << src->describe();
  SourceImage f;
  const std::vector<std::pair<std::string, int>> expected = {{"a.JPG", 50}, {"b.png", 40}, {"d.bmp", 60}, {"e.tiff", 70}};
  for (size_t i = 0; i < expected.size(); ++i) {
    auto got = src->read(f);
    ASSERT_TRUE(got.is_ok() && *got) << got.status().to_string();
    EXPECT_EQ(f.name, expected[i].first);
    EXPECT_EQ(f.image.cols, expected[i].second);
    EXPECT_EQ(f.image.type(), CV_8UC3);
    EXPECT_EQ(f.index, static_cast<int64_t>(i));
    EXPECT_TRUE(f.truth.empty());
  }
  auto end = src->read(f);
  ASSERT_TRUE(end.is_ok());
  EXPECT_FALSE(*end);
}

TEST(Source, ImagesLoopAndStopAtMaxFrames) {
  TempDir dir("loop");
  ASSERT_TRUE(cv::imwrite(dir.str("1.png"), solid(8, 8, 1)));
  ASSERT_TRUE(cv::imwrite(dir.str("2.png"), solid(8, 8, 2)));
  SourceOptions o;
  o.loop = true;
  o.max_frames = 5;
  auto src = open_ok("images:" + dir.str(), o);
  ASSERT_TRUE(src);
  SourceImage f;
  std::vector<std::string> names;
  while (true) {
    auto got = src->read(f);
    ASSERT_TRUE(got.is_ok());
    if (!*got) break;
    EXPECT_EQ(f.index, static_cast<int64_t>(names.size())) << "index keeps counting across loops";
    names.push_back(f.name);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"1.png", "2.png", "1.png", "2.png", "1.png"}));
}

TEST(Source, CorruptImageIsAnErrorNamingItAndTheSourceMovesOn) {
  TempDir dir("corrupt");
  ASSERT_TRUE(cv::imwrite(dir.str("a.png"), solid(8, 8, 1)));
  std::ofstream(dir.str("b.png"), std::ios::binary) << "\x89PNG garbage that is not an image";
  std::ofstream(dir.str("c.jpg"), std::ios::binary);  // empty
  ASSERT_TRUE(cv::imwrite(dir.str("d.png"), solid(8, 8, 2)));
  auto src = open_ok("images:" + dir.str());
  ASSERT_TRUE(src);
  SourceImage f;
  auto a = src->read(f);
  ASSERT_TRUE(a.is_ok() && *a);
  EXPECT_EQ(f.name, "a.png");
  auto b = src->read(f);
  ASSERT_FALSE(b.is_ok());
  EXPECT_EQ(b.status().code(), StatusCode::io_error);
  EXPECT_NE(b.status().message().find("b.png"), std::string::npos) << b.status().to_string();
  EXPECT_NE(b.status().message().find(dir.str()), std::string::npos) << b.status().to_string();
  auto c = src->read(f);
  ASSERT_FALSE(c.is_ok());
  EXPECT_NE(c.status().message().find("c.jpg"), std::string::npos) << c.status().to_string();
  auto d = src->read(f);
  ASSERT_TRUE(d.is_ok() && *d) << d.status().to_string();
  EXPECT_EQ(f.name, "d.png");
  EXPECT_EQ(f.index, 1) << "index counts produced frames";
}

TEST(Source, ImagesFolderErrorsNameThePath) {
  TempDir dir("errors");
  auto missing = open_source("images:" + dir.str("nope"), {});
  ASSERT_FALSE(missing.is_ok());
  EXPECT_EQ(missing.status().code(), StatusCode::io_error);
  EXPECT_NE(missing.status().message().find(dir.str("nope")), std::string::npos);
  EXPECT_NE(missing.status().message().find("no such directory"), std::string::npos);

  auto empty = open_source("images:" + dir.str(), {});
  ASSERT_FALSE(empty.is_ok());
  EXPECT_NE(empty.status().message().find("no image files"), std::string::npos) << empty.status().to_string();

  std::ofstream(dir.str("x.png")) << "x";
  auto file = open_source("images:" + dir.str("x.png"), {});
  ASSERT_FALSE(file.is_ok());
  EXPECT_NE(file.status().message().find("not a directory"), std::string::npos) << file.status().to_string();
}

TEST(Source, SpecErrors) {
  EXPECT_EQ(open_source("webcam:0", {}).status().code(), StatusCode::invalid_argument);
  EXPECT_EQ(open_source("images:", {}).status().code(), StatusCode::invalid_argument);
  EXPECT_EQ(open_source("video", {}).status().code(), StatusCode::invalid_argument);
  EXPECT_EQ(open_source("", {}).status().code(), StatusCode::invalid_argument);
  SourceOptions o;
  o.max_frames = -2;
  EXPECT_EQ(open_source("synthetic", o).status().code(), StatusCode::invalid_argument);
  EXPECT_TRUE(has_image_extension("x.TIF"));
  EXPECT_TRUE(has_image_extension("a.b.webp"));
  EXPECT_FALSE(has_image_extension("png"));
  EXPECT_FALSE(has_image_extension("x.gif"));
}

// Writes `n` frames whose colour encodes the frame number.
void write_test_video(const std::string& path, int n, cv::Size size, double fps) {
  cv::VideoWriter w(path, cv::CAP_FFMPEG, cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), fps, size);
  ASSERT_TRUE(w.isOpened()) << path;
  for (int i = 0; i < n; ++i) w.write(cv::Mat(size, CV_8UC3, cv::Scalar(i * 20, 128, 255 - i * 20)));
}

TEST(Source, VideoReadsEveryFrameWithItsRate) {
  TempDir dir("video");
  const std::string path = dir.str("clip.avi");
  write_test_video(path, 10, {160, 120}, 10);
  auto src = open_ok("video:" + path);
  ASSERT_TRUE(src);
  EXPECT_NEAR(src->native_fps(), 10, 0.01);
  EXPECT_NE(src->describe().find(path), std::string::npos);
  SourceImage f;
  int n = 0;
  while (true) {
    auto got = src->read(f);
    ASSERT_TRUE(got.is_ok()) << got.status().to_string();
    if (!*got) break;
    EXPECT_EQ(f.image.size(), cv::Size(160, 120));
    EXPECT_EQ(f.image.type(), CV_8UC3);
    EXPECT_EQ(f.name, path);
    EXPECT_NEAR(f.image.at<cv::Vec3b>(60, 80)[0], n * 20, 6) << "frame " << n << " out of order";
    ++n;
  }
  EXPECT_EQ(n, 10);

  SourceOptions o;
  o.max_frames = 4;
  src = open_ok("video:" + path, o);
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(*src->read(f));
  EXPECT_FALSE(*src->read(f));

  o.max_frames = 25;
  o.loop = true;
  src = open_ok("video:" + path, o);
  for (int i = 0; i < 25; ++i) {
    auto got = src->read(f);
    ASSERT_TRUE(got.is_ok() && *got) << "frame " << i << ": " << got.status().to_string();
    EXPECT_NEAR(f.image.at<cv::Vec3b>(60, 80)[0], (i % 10) * 20, 6) << "frame " << i;
  }
  EXPECT_FALSE(*src->read(f));
}

TEST(Source, VideoErrorsNameTheFile) {
  TempDir dir("video_errors");
  auto missing = open_source("video:" + dir.str("missing.mp4"), {});
  ASSERT_FALSE(missing.is_ok());
  EXPECT_EQ(missing.status().code(), StatusCode::io_error);
  EXPECT_NE(missing.status().message().find(dir.str("missing.mp4")), std::string::npos);
  EXPECT_NE(missing.status().message().find("no such file"), std::string::npos);

  std::ofstream(dir.str("bad.avi"), std::ios::binary) << std::string(4096, 'x');
  auto bad = open_source("video:" + dir.str("bad.avi"), {});
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find(dir.str("bad.avi")), std::string::npos) << bad.status().to_string();
}

TEST(Source, MissingCameraFailsFastWithANamedError) {
  const auto t0 = std::chrono::steady_clock::now();
  auto cam = open_source("camera:/dev/video_missing_ep", {});
  const auto elapsed = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(cam.is_ok());
  EXPECT_EQ(cam.status().code(), StatusCode::io_error);
  EXPECT_EQ(cam.status().message(), "camera '/dev/video_missing_ep': no such device");
  EXPECT_LT(elapsed, std::chrono::milliseconds(100));

  auto not_device = open_source("camera:" EP_SOURCE_DIR "/CMakeLists.txt", {});
  ASSERT_FALSE(not_device.is_ok());
  EXPECT_NE(not_device.status().message().find("not a character device"), std::string::npos);

  // A character device that is not a V4L2 camera: opening fails with an error, not a crash.
  auto dev_null = open_source("camera:/dev/null", {});
  ASSERT_FALSE(dev_null.is_ok());
  EXPECT_NE(dev_null.status().message().find("/dev/null"), std::string::npos) << dev_null.status().to_string();

  // "camera:N" means /dev/videoN.
  if (!fs::exists("/dev/video987")) {
    auto numbered = open_source("camera:987", {});
    ASSERT_FALSE(numbered.is_ok());
    EXPECT_EQ(numbered.status().message(), "camera '/dev/video987': no such device");
  }
}

}  // namespace
}  // namespace ep::pipeline
