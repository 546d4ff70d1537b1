// Drawing pipeline results onto frames and writing the annotated frames out, as a
// folder of PNGs or a video file. Synchronous: the pipeline's sink stage calls it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <opencv2/core.hpp>

#include "edgepipe/status.h"
#include "pipeline/font.h"
#include "pipeline/types.h"

namespace cv {
class VideoWriter;
}

namespace ep::pipeline {

struct AnnotateOptions {
  std::string font_path = std::string(kDefaultFontDir) + "/DejaVuSans.ttf";
  int font_px = 16;    // em size of the labels drawn above boxes
  int thickness = 2;   // box outline width in pixels
  double fps = 25;     // frame rate written into a video file's header
};

// Draws text boxes (polylines, recognized text above each box) and detections
// (rectangles with class id and score). Owns a Font, so one per thread. Move-only.
class Annotator {
 public:
  static Result<Annotator> create(const AnnotateOptions& options = {});
  // `image` must be CV_8UC3. Results may lie partly outside it; drawing is clipped.
  Status draw(cv::Mat& image, const std::vector<TextResult>& texts, const std::vector<Detection>& detections);
  // Where the caption for a box whose outline has bounding rect `box` goes: above the
  // box, or below it when there is no room above. Exposed so tests know what may change.
  cv::Rect caption_rect(const cv::Rect& box, int text_width, const cv::Size& image) const;

 private:
  Annotator(AnnotateOptions options, Font font) : options_(std::move(options)), font_(std::move(font)) {}
  Status draw_caption(cv::Mat& image, const cv::Rect& box, const std::string& text, const cv::Scalar& color);

  AnnotateOptions options_;
  Font font_;
};

// The file name the images: writer uses for a frame: "NAME.png" for frames from a
// folder (NAME = the source file's stem), "STEM_000042.png" (stem of the source name
// plus the frame index) otherwise, since video and synthetic frames share one name.
std::string annotated_file_name(const SourceImage& frame);

// Writes annotated frames to "images:DIR" (one PNG per frame; the folder is created)
// or "video:FILE" (.avi: MJPG, .mp4: MPEG-4 part 2 'mp4v', both through FFMPEG; the
// frame size is fixed by the first frame). Move-only; the destructor closes the file.
class AnnotatedWriter {
 public:
  static Result<AnnotatedWriter> open(std::string_view spec, const AnnotateOptions& options = {});
  AnnotatedWriter(AnnotatedWriter&&) noexcept;
  AnnotatedWriter& operator=(AnnotatedWriter&&) noexcept;
  ~AnnotatedWriter();

  Status write(const SourceImage& frame, const std::vector<TextResult>& texts,
               const std::vector<Detection>& detections);
  // Flushes and closes a video (its index is written on close); later writes fail.
  Status close();
  int64_t frames_written() const { return frames_; }
  std::string describe() const;

 private:
  AnnotatedWriter(Annotator annotator, std::string kind, std::string path, const AnnotateOptions& options);
  Status write_video(const cv::Mat& image);

  Annotator annotator_;
  std::string kind_, path_;
  int fourcc_ = 0;
  double fps_ = 25;
  std::unique_ptr<cv::VideoWriter> video_;
  cv::Size video_size_;
  bool closed_ = false;
  int64_t frames_ = 0;
};

}  // namespace ep::pipeline
