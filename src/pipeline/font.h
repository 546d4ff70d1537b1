// Text rendering with FreeType into cv::Mat images: the synthetic source draws its
// labels with it and the annotator draws recognized text. We rasterize glyphs
// ourselves (instead of OpenCV's optional freetype module, absent from Debian's
// build) so we know the exact inked pixels, which become the ground-truth boxes.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <opencv2/core.hpp>

#include "edgepipe/status.h"

namespace ep::pipeline {

// Where the DejaVu fonts live on Debian (fonts-dejavu-core / fonts-dejavu-extra).
inline constexpr const char* kDefaultFontDir = "/usr/share/fonts/truetype/dejavu";

// A rendered string: its coverage (0..255 per pixel, cropped to the inked pixels)
// and where that crop sits relative to the pen origin on the baseline.
struct TextRun {
  cv::Mat coverage;        // CV_8UC1, every row and column holds some ink; empty if no ink
  cv::Point ink_offset;    // top-left of `coverage` relative to the pen origin (y < 0 above the baseline)
  int advance = 0;         // pen advance of the whole string in pixels
  bool has_ink() const { return !coverage.empty(); }
};

// Decodes UTF-8 into code points. Invalid or truncated sequences become U+FFFD, so
// text from a recognizer (untrusted) always renders.
std::vector<char32_t> decode_utf8(std::string_view text);

// One font face at one pixel size. Not thread-safe (FreeType faces are not): each
// stage owns its own Font. Move-only.
class Font {
 public:
  static Result<Font> load(const std::string& path);
  Font(Font&&) noexcept;
  Font& operator=(Font&&) noexcept;
  ~Font();

  // Sets the size so that a capital 'H' is about `cap_px` pixels tall.
  Status set_cap_height(int cap_px);
  // Sets the em size in pixels (FreeType's pixel size).
  Status set_pixel_size(int px);
  int pixel_size() const { return pixel_size_; }
  // Line metrics at the current size, in pixels.
  int ascender() const;
  int descender() const;  // negative: below the baseline
  const std::string& path() const { return path_; }

  // Rasterizes a UTF-8 string (a single line; control characters are skipped).
  Result<TextRun> render(std::string_view utf8);

 private:
  struct Impl;
  explicit Font(std::unique_ptr<Impl> impl, std::string path);
  std::unique_ptr<Impl> impl_;
  std::string path_;
  int pixel_size_ = 0;
  double cap_ratio_ = 0.73;  // cap height / pixel size, measured at load
};

// Alpha-blends `run` onto a CV_8UC3 image with its pen origin at `origin`, clipping
// at the image border. Only pixels with non-zero coverage change.
void blend_text(cv::Mat& image, const TextRun& run, cv::Point origin, const cv::Scalar& bgr);

// The rectangle `run` covers when drawn at `origin` (before clipping).
inline cv::Rect text_ink_rect(const TextRun& run, cv::Point origin) {
  return {origin.x + run.ink_offset.x, origin.y + run.ink_offset.y, run.coverage.cols, run.coverage.rows};
}

}  // namespace ep::pipeline
