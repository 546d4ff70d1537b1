// Where pipeline frames come from: a folder of images, a video file, a V4L2 camera
// or the synthetic scene generator, behind one synchronous interface. Pacing at a
// frame rate and threading belong to the pipeline's source stage, not to sources.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "edgepipe/status.h"
#include "pipeline/font.h"
#include "pipeline/types.h"

namespace ep::pipeline {

struct SourceOptions {
  int width = 640, height = 480;  // synthetic frame size; requested camera size
  uint64_t seed = 1;              // synthetic only
  int labels_min = 2, labels_max = 5;  // synthetic only
  bool moving = false;                 // synthetic only
  // Frames to produce: -1 is unlimited for synthetic and camera, the whole folder or
  // video otherwise. With loop, a finite source starts over at its end.
  int64_t max_frames = -1;
  bool loop = false;
  std::string font_dir = kDefaultFontDir;  // synthetic only
};

class FrameSource {
 public:
  virtual ~FrameSource() = default;
  // Fills `out` with the next frame and returns true, or returns false at the end of a
  // finite source. SourceImage.index counts the frames this source produced (it keeps
  // increasing across loops, so it identifies a frame in traces).
  // An error is about one frame (e.g. a corrupt file in a folder): the source has moved
  // past it, so the caller may count it as a drop and read again, or stop.
  virtual Result<bool> read(SourceImage& out) = 0;
  virtual std::string describe() const = 0;        // e.g. "images:/data/imgs (12 files)"
  virtual double native_fps() const { return 0; }  // video/camera frame rate, 0 if unknown
};

// spec: "synthetic", "images:DIR", "video:FILE", "camera:/dev/video0" or "camera:0".
// Opening checks what it can up front (the folder has images, the video decodes a
// first frame, the camera node exists), so a wrong spec fails here, not mid-run.
Result<std::unique_ptr<FrameSource>> open_source(std::string_view spec, const SourceOptions& options);

// True for the file extensions the images: source reads (case-insensitive).
bool has_image_extension(std::string_view file_name);

}  // namespace ep::pipeline
