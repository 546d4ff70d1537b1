// Times pipeline::preprocess_into against OpenCV's cv::resize + cv::dnn::blobFromImage on
// the same inputs, alternating the two so load bursts hit both; prints medians and ratio.
// Usage: preprocess_bench [rounds=200]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include <opencv2/dnn.hpp>
#include <opencv2/imgproc.hpp>

#include "pipeline/preprocess.h"

namespace {

using Clock = std::chrono::steady_clock;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

struct Case {
  const char* name;
  int src_w, src_h, dst_w, dst_h;
  bool letterbox;
};

void run(const Case& k, int rounds) {
  cv::Mat img(k.src_h, k.src_w, CV_8UC3);
  cv::randu(img, 0, 256);
  ep::pipeline::PreprocessSpec spec;
  spec.width = k.dst_w;
  spec.height = k.dst_h;
  spec.resize = k.letterbox ? ep::pipeline::ResizeMode::letterbox : ep::pipeline::ResizeMode::stretch;
  spec.color = ep::pipeline::ColorOrder::rgb;
  spec.scale = 1.0f / 255.0f;
  std::vector<float> out(static_cast<size_t>(3) * k.dst_w * k.dst_h);
  auto geometry = ep::pipeline::preprocess_geometry(img.size(), spec);
  if (!geometry.is_ok()) std::abort();

  // OpenCV's usual path: resize the uint8 image (into a padded canvas for letterbox),
  // then blobFromImage for scale, BGR->RGB and the planar float layout.
  cv::Mat canvas(k.dst_h, k.dst_w, CV_8UC3, cv::Scalar::all(114)), blob;
  const cv::Rect content(static_cast<int>(geometry->offset_x), static_cast<int>(geometry->offset_y),
                         geometry->content_width, geometry->content_height);
  std::vector<double> ours, theirs;
  for (int i = 0; i < rounds; ++i) {
    for (int side = 0; side < 2; ++side) {
      const bool ours_first = (i % 2 == 0);
      const auto t0 = Clock::now();
      if ((side == 0) == ours_first) {
        if (!ep::pipeline::preprocess_into(img, spec, out.data(), k.dst_w, int64_t{k.dst_w} * k.dst_h).is_ok())
          std::abort();
        ours.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
      } else {
        cv::Mat roi = canvas(content);
        cv::resize(img, roi, content.size(), 0, 0, cv::INTER_LINEAR);
        blob = cv::dnn::blobFromImage(canvas, 1.0 / 255.0, cv::Size(), cv::Scalar(), /*swapRB=*/true, false);
        theirs.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
      }
    }
  }
  const double a = median(ours), b = median(theirs);
  std::printf("%-34s ours %8.1f us   cv::resize+blobFromImage %8.1f us   ratio (opencv/ours) %.2fx\n", k.name, a, b,
              b / a);
}

}  // namespace

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? std::atoi(argv[1]) : 200;
  cv::setNumThreads(1);  // single-threaded on both sides, as a pipeline stage runs
  const Case cases[] = {
      {"1280x720 -> 1x3x640x640 letterbox", 1280, 720, 640, 640, true},
      {"1920x1080 -> 1x3x48x320 stretch", 1920, 1080, 320, 48, false},
      {"1920x1080 -> 1x3x640x640 stretch", 1920, 1080, 640, 640, false},
  };
  for (const Case& k : cases) run(k, rounds);
  return 0;
}
