// Calibration inputs from a folder (.npy and images) and from the synthetic source.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include <opencv2/imgcodecs.hpp>

#include "edgepipe/npy.h"
#include "pipeline/calibration_data.h"

namespace ep::pipeline {
namespace {

namespace fs = std::filesystem;

fs::path fresh_dir(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / ("edgepipe_calib_" + std::to_string(getpid())) / name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

TEST(QuantCalibrationData, FolderOfNpyAndImages) {
  const fs::path d = fresh_dir("mixed");
  Tensor t(DType::f32, Shape{1, 3, 8, 8});
  for (int64_t i = 0; i < t.numel(); ++i) t.as<float>()[i] = static_cast<float>(i);
  ASSERT_TRUE(npy_write((d / "a.npy").string(), t.view()).is_ok());
  cv::Mat img(8, 8, CV_8UC3, cv::Scalar(255, 0, 51));  // B, G, R
  ASSERT_TRUE(cv::imwrite((d / "b.png").string(), img));
  CalibrationDataOptions o;
  o.source = d.string();
  o.shape = Shape{1, 3, 8, 8};
  o.samples = 10;
  auto r = calibration_inputs(o);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  ASSERT_EQ(r->size(), 2u);  // sorted: a.npy, then b.png
  EXPECT_EQ((*r)[0].as<float>()[100], 100.0f);
  // det pre-processing: channel 0 is blue, (255/255 - 0.485) / 0.229; channel 2 red, (51/255 - 0.406) / 0.225.
  const float* x = (*r)[1].as<float>();
  EXPECT_NEAR(x[0], (1.0f - 0.485f) / 0.229f, 1e-4);
  EXPECT_NEAR(x[64], (0.0f - 0.456f) / 0.224f, 1e-4);
  EXPECT_NEAR(x[128], (0.2f - 0.406f) / 0.225f, 1e-4);
  o.samples = 1;
  auto one = calibration_inputs(o);
  ASSERT_TRUE(one.is_ok());
  EXPECT_EQ(one->size(), 1u);
}

TEST(QuantCalibrationData, ErrorsNameTheFile) {
  const fs::path d = fresh_dir("bad");
  Tensor t(DType::f32, Shape{1, 3, 4, 4});
  ASSERT_TRUE(npy_write((d / "small.npy").string(), t.view()).is_ok());
  CalibrationDataOptions o;
  o.source = d.string();
  o.shape = Shape{1, 3, 8, 8};
  auto r = calibration_inputs(o);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("small.npy"), std::string::npos) << r.status().to_string();
  EXPECT_NE(r.status().message().find("1x3x8x8"), std::string::npos);
  o.source = fresh_dir("empty").string();
  auto empty = calibration_inputs(o);
  ASSERT_FALSE(empty.is_ok());
  EXPECT_NE(empty.status().message().find("no .npy"), std::string::npos);
  o.shape = Shape{1, 8, 8};
  EXPECT_FALSE(calibration_inputs(o).is_ok());
}

TEST(QuantCalibrationData, SyntheticRecLinesAndDetFrames) {
  CalibrationDataOptions o;
  o.source = "synthetic";
  o.shape = Shape{1, 3, 48, 320};
  o.samples = 5;
  o.preprocess = CalibrationPreprocess::rec;
  auto r = calibration_inputs(o);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  ASSERT_EQ(r->size(), 5u);
  for (const Tensor& t : *r) {
    float lo = 0, hi = 0;
    for (int64_t i = 0; i < t.numel(); ++i) lo = std::min(lo, t.as<float>()[i]), hi = std::max(hi, t.as<float>()[i]);
    EXPECT_GE(lo, -1.0f);  // mean/std 0.5: values in [-1, 1]
    EXPECT_LE(hi, 1.0f);
    EXPECT_LT(lo, hi);
  }
  o.preprocess = CalibrationPreprocess::det;
  o.shape = Shape{1, 3, 64, 96};
  o.samples = 2;
  auto det = calibration_inputs(o);
  ASSERT_TRUE(det.is_ok()) << det.status().to_string();
  ASSERT_EQ(det->size(), 2u);
  bool differ = false;
  for (int64_t i = 0; i < (*det)[0].numel(); ++i) differ |= (*det)[0].as<float>()[i] != (*det)[1].as<float>()[i];
  EXPECT_TRUE(differ) << "two frames, two scenes";
}

}  // namespace
}  // namespace ep::pipeline
