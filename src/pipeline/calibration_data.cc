#include "pipeline/calibration_data.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include <opencv2/imgcodecs.hpp>

#include "edgepipe/npy.h"
#include "pipeline/crop.h"
#include "pipeline/preprocess.h"
#include "pipeline/synthetic.h"

namespace ep::pipeline {
namespace {
namespace fs = std::filesystem;

PreprocessSpec spec_for(const CalibrationDataOptions& o) {
  PreprocessSpec s;
  s.height = static_cast<int>(o.shape[2]);
  s.width = static_cast<int>(o.shape[3]);
  s.scale = 1.0f / 255.0f;
  if (o.preprocess == CalibrationPreprocess::det) {  // as TextDetector::detect
    s.mean = {0.485f, 0.456f, 0.406f};
    s.std = {0.229f, 0.224f, 0.225f};
  } else {  // as TextRecognizer::recognize
    s.mean = {0.5f, 0.5f, 0.5f};
    s.std = {0.5f, 0.5f, 0.5f};
  }
  return s;
}

// One image into a 1x3xHxW tensor: stretched (det) or a proportional, zero-padded line (rec).
Result<Tensor> to_tensor(const cv::Mat& bgr, const CalibrationDataOptions& o) {
  Tensor t(DType::f32, o.shape);
  PreprocessSpec s = spec_for(o);
  if (o.preprocess == CalibrationPreprocess::rec) {
    const double w = std::ceil(s.height * static_cast<double>(bgr.cols) / std::max(1, bgr.rows));
    s.width = static_cast<int>(std::clamp(w, 1.0, static_cast<double>(o.shape[3])));
  }
  const int64_t row = o.shape[3], plane = o.shape[2] * o.shape[3];
  auto g = preprocess_into(bgr, s, t.as<float>(), row, plane);
  if (!g.is_ok()) return g.status();
  return t;
}

bool is_image(const fs::path& p) {
  std::string e = p.extension().string();
  std::transform(e.begin(), e.end(), e.begin(), [](unsigned char c) { return std::tolower(c); });
  return e == ".png" || e == ".jpg" || e == ".jpeg" || e == ".bmp";
}

}  // namespace

Result<std::vector<Tensor>> calibration_inputs(const CalibrationDataOptions& o) {
  if (o.shape.rank() != 4 || o.shape[0] != 1 || o.shape[1] != 3 || o.shape[2] < 1 || o.shape[3] < 1 ||
      o.shape[2] > 8192 || o.shape[3] > 8192)
    return invalid_argument("calibration input shape ", o.shape.to_string(), ": expected 1x3xHxW (H, W up to 8192)");
  if (o.samples < 1 || o.samples > 100000) return invalid_argument("--samples ", o.samples, ": expected 1..100000");
  std::vector<Tensor> out;
  if (o.source == "synthetic") {
    SyntheticOptions so;
    so.seed = o.seed;
    EP_ASSIGN_OR_RETURN(SyntheticScene scene, SyntheticScene::create(so));
    for (int64_t f = o.first_frame; static_cast<int>(out.size()) < o.samples; ++f) {
      SourceImage img;
      EP_RETURN_IF_ERROR(scene.render(f, img));
      if (o.preprocess == CalibrationPreprocess::det) {
        EP_ASSIGN_OR_RETURN(Tensor t, to_tensor(img.image, o));
        out.push_back(std::move(t));
        continue;
      }
      for (const GroundTruthLabel& l : img.truth) {
        if (static_cast<int>(out.size()) >= o.samples) break;
        Quad q = l.box;  // a few pixels of margin, as a detector's unclipped box leaves
        const cv::Point2f d[4] = {{-3, -3}, {3, -3}, {3, 3}, {-3, 3}};
        for (int k = 0; k < 4; ++k) q[k] += d[k];
        EP_ASSIGN_OR_RETURN(cv::Mat crop, crop_text_region(img.image, q));
        EP_ASSIGN_OR_RETURN(Tensor t, to_tensor(crop, o));
        out.push_back(std::move(t));
      }
    }
    return out;
  }
  std::error_code ec;
  if (!fs::is_directory(o.source, ec))
    return io_error("--calibration '", o.source, "': not a folder (and not 'synthetic')");
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(o.source, ec))
    if (e.is_regular_file() && (e.path().extension() == ".npy" || is_image(e.path()))) files.push_back(e.path());
  if (ec) return io_error("--calibration '", o.source, "': ", ec.message());
  std::sort(files.begin(), files.end());
  if (files.empty()) return io_error("--calibration '", o.source, "': no .npy, .png, .jpg or .bmp files");
  for (const fs::path& p : files) {
    if (static_cast<int>(out.size()) >= o.samples) break;
    const std::string where = "--calibration file '" + p.string() + "'";
    if (p.extension() == ".npy") {
      auto t = npy_read(p.string());
      if (!t.is_ok()) return t.status().with_context(where);
      if (t->dtype() != DType::f32 || t->shape() != o.shape)
        return invalid_argument(where, ": ", dtype_name(t->dtype()), " ", t->shape().to_string(), ", the model input is f32 ",
                                o.shape.to_string());
      out.push_back(std::move(t).value());
      continue;
    }
    cv::Mat img = cv::imread(p.string(), cv::IMREAD_COLOR);
    if (img.empty()) return io_error(where, ": cannot read the image");
    auto t = to_tensor(img, o);
    if (!t.is_ok()) return t.status().with_context(where);
    out.push_back(std::move(t).value());
  }
  return out;
}

}  // namespace ep::pipeline
