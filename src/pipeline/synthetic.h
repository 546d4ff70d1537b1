// A deterministic synthetic scene generator: frames of text labels on varied
// backgrounds with exact ground truth, for measuring OCR pipelines without data sets.
//
// Frame i of seed s is always the same image, on any machine: every random choice
// comes from a counter-based hash of (seed, scene, purpose), never from a
// std:: distribution (whose output differs between standard libraries).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "edgepipe/status.h"
#include "pipeline/font.h"
#include "pipeline/types.h"

namespace ep::pipeline {

struct SyntheticOptions {
  int width = 640, height = 480;
  uint64_t seed = 1;
  int labels_min = 2, labels_max = 5;
  // Moving: a scene lasts kSyntheticShotFrames frames and its labels drift, bouncing
  // inside private tracks. Still: every frame is a new scene.
  bool moving = false;
  std::string font_dir = kDefaultFontDir;
};

inline constexpr int64_t kSyntheticShotFrames = 120;

// The font files the generator draws with (all in fonts-dejavu-core).
inline constexpr std::array<const char*, 6> kSyntheticFonts = {
    "DejaVuSans.ttf",      "DejaVuSans-Bold.ttf",     "DejaVuSerif.ttf",
    "DejaVuSerif-Bold.ttf", "DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf"};

// The label texts the generator draws from: ~200 English words (drawn lower, upper or
// capitalized), plus generated numbers, prices and codes. Exposed for tests and docs.
const std::vector<std::string>& synthetic_words();

// One label of a scene as the generator keeps it between frames (internal to
// SyntheticScene; in the header only because the scene cache holds it).
struct SyntheticLabel {
  std::string text;
  TextRun run;
  cv::Scalar color;
  cv::Rect track;        // the label's ink box moves only inside this rectangle
  cv::Point start;       // ink offset inside the track at the shot's first frame
  cv::Point2d velocity;  // pixels per frame
};

// Not thread-safe (it owns FreeType faces and caches the current scene); a pipeline
// source stage owns one. Move-only.
class SyntheticScene {
 public:
  static Result<SyntheticScene> create(const SyntheticOptions& options);

  // Renders frame `index` (>= 0): image (CV_8UC3 BGR), name "synthetic", index and truth
  // (one label per drawn word: text and its tight ink box, clockwise from top-left,
  // corners on pixel edges, so the box covers [x0, x1) x [y0, y1)).
  Status render(int64_t index, SourceImage& out);
  // The same frame without its labels (tests compare it with the full frame).
  Status render_background(int64_t index, cv::Mat& out);

  const SyntheticOptions& options() const { return options_; }

 private:
  using Label = SyntheticLabel;
  struct Scene {
    int64_t id = -1;
    cv::Mat background;
    std::vector<Label> labels;
  };

  SyntheticScene(SyntheticOptions options, std::vector<Font> fonts)
      : options_(std::move(options)), fonts_(std::move(fonts)) {}
  Status build_scene(int64_t scene_id);
  Status ensure_scene(int64_t index);
  cv::Point label_position(const Label& label, int64_t frame_in_shot) const;

  SyntheticOptions options_;
  std::vector<Font> fonts_;
  Scene scene_;
};

}  // namespace ep::pipeline
