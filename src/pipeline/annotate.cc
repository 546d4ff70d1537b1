#include "pipeline/annotate.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>
#include <opencv2/videoio/registry.hpp>

#include "pipeline/source.h"

namespace ep::pipeline {
namespace fs = std::filesystem;
namespace {

const cv::Scalar kTextBoxColor(0, 200, 0);

// Distinct, saturated colours for detection classes (BGR), cycled by class id.
cv::Scalar class_color(int class_id) {
  static const cv::Scalar kPalette[] = {{56, 56, 255},  {151, 157, 255}, {31, 112, 255}, {29, 178, 255},
                                        {49, 210, 207}, {10, 249, 72},   {23, 204, 146}, {134, 219, 61},
                                        {52, 147, 26},  {187, 212, 0},   {168, 153, 44}, {255, 194, 0},
                                        {147, 69, 52},  {255, 115, 100}, {236, 24, 0},   {255, 56, 132}};
  const size_t n = sizeof(kPalette) / sizeof(kPalette[0]);
  return kPalette[static_cast<size_t>(class_id < 0 ? -class_id : class_id) % n];
}

// Black or white, whichever reads better on `bg`.
cv::Scalar ink_on(const cv::Scalar& bg) {
  const double luma = 0.114 * bg[0] + 0.587 * bg[1] + 0.299 * bg[2];
  return luma > 140 ? cv::Scalar(0, 0, 0) : cv::Scalar(255, 255, 255);
}

bool finite_quad(const Quad& q) {
  return std::all_of(q.begin(), q.end(), [](const cv::Point2f& p) { return std::isfinite(p.x) && std::isfinite(p.y); });
}

// Coordinates far outside the image would overflow OpenCV's fixed-point drawing.
int clamp_coord(float v) { return static_cast<int>(std::lround(std::clamp(v, -1e6f, 1e6f))); }

}  // namespace

Result<Annotator> Annotator::create(const AnnotateOptions& options) {
  if (options.thickness < 1 || options.thickness > 64)
    return invalid_argument("annotator: thickness ", options.thickness, " outside 1..64");
  EP_ASSIGN_OR_RETURN(Font font, Font::load(options.font_path));
  EP_RETURN_IF_ERROR(font.set_pixel_size(options.font_px));
  return Annotator(options, std::move(font));
}

cv::Rect Annotator::caption_rect(const cv::Rect& box, int text_width, const cv::Size& image) const {
  const int pad = 2;
  const int h = font_.ascender() - font_.descender() + 2 * pad;
  const int w = text_width + 2 * pad;
  int y = box.y - h;  // above the outline
  if (y < 0) y = box.br().y;  // no room above: below it
  return {box.x, y, w, h};
}

Status Annotator::draw_caption(cv::Mat& image, const cv::Rect& box, const std::string& text, const cv::Scalar& color) {
  if (text.empty()) return Status::ok();
  EP_ASSIGN_OR_RETURN(TextRun run, font_.render(text));
  const cv::Rect rect = caption_rect(box, run.advance, image.size());
  const cv::Rect visible = rect & cv::Rect(0, 0, image.cols, image.rows);
  if (visible.empty()) return Status::ok();
  image(visible).setTo(color);
  blend_text(image, run, {rect.x + 2, rect.y + 2 + font_.ascender()}, ink_on(color));
  return Status::ok();
}

Status Annotator::draw(cv::Mat& image, const std::vector<TextResult>& texts, const std::vector<Detection>& detections) {
  if (image.type() != CV_8UC3 || image.empty())
    return invalid_argument("annotator: image must be non-empty CV_8UC3, got type ", image.type());
  const int t = options_.thickness;
  for (const TextResult& r : texts) {
    if (!finite_quad(r.box)) continue;  // nothing sensible to draw; the recognizer's text is still reported elsewhere
    std::vector<cv::Point> pts;
    for (const cv::Point2f& p : r.box) pts.emplace_back(clamp_coord(p.x), clamp_coord(p.y));
    cv::polylines(image, pts, true, kTextBoxColor, t, cv::LINE_8);
    const cv::Rect outline = cv::boundingRect(pts);
    // The caption clears the outline's stroke, which extends t/2 beyond the corners.
    const cv::Rect stroked(outline.x - t / 2, outline.y - t / 2, outline.width + t, outline.height + t);
    EP_RETURN_IF_ERROR(draw_caption(image, stroked, r.text, kTextBoxColor));
  }
  for (const Detection& d : detections) {
    const cv::Rect2f& b = d.box;
    if (!std::isfinite(b.x) || !std::isfinite(b.y) || !std::isfinite(b.width) || !std::isfinite(b.height)) continue;
    const cv::Point p0(clamp_coord(b.x), clamp_coord(b.y));
    const cv::Point p1(clamp_coord(b.x + b.width), clamp_coord(b.y + b.height));
    const cv::Scalar color = class_color(d.class_id);
    cv::rectangle(image, p0, p1, color, t, cv::LINE_8);
    char caption[48];
    std::snprintf(caption, sizeof caption, "%d %.2f", d.class_id, static_cast<double>(d.score));
    const cv::Rect outline(p0, p1);
    const cv::Rect stroked(outline.x - t / 2, outline.y - t / 2, outline.width + t, outline.height + t);
    EP_RETURN_IF_ERROR(draw_caption(image, stroked, caption, color));
  }
  return Status::ok();
}

std::string annotated_file_name(const SourceImage& frame) {
  const std::string base = fs::path(frame.name).filename().string();
  std::string stem = fs::path(base).stem().string();
  // Only the file name part survives, with characters that are safe everywhere.
  for (char& c : stem)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') c = '_';
  if (stem.empty() || stem[0] == '.') stem = "frame" + stem;
  if (has_image_extension(base)) return stem + ".png";
  char index[32];
  std::snprintf(index, sizeof index, "_%06lld.png", static_cast<long long>(frame.index));
  return stem + index;
}

AnnotatedWriter::AnnotatedWriter(Annotator annotator, std::string kind, std::string path,
                                 const AnnotateOptions& options)
    : annotator_(std::move(annotator)), kind_(std::move(kind)), path_(std::move(path)), fps_(options.fps) {}
AnnotatedWriter::AnnotatedWriter(AnnotatedWriter&&) noexcept = default;
AnnotatedWriter& AnnotatedWriter::operator=(AnnotatedWriter&&) noexcept = default;
AnnotatedWriter::~AnnotatedWriter() { (void)close(); }

std::string AnnotatedWriter::describe() const { return kind_ + ":" + path_; }

Result<AnnotatedWriter> AnnotatedWriter::open(std::string_view spec, const AnnotateOptions& options) {
  const size_t colon = spec.find(':');
  const std::string kind(spec.substr(0, colon));
  const std::string path(colon == std::string_view::npos ? std::string_view() : spec.substr(colon + 1));
  if (kind != "images" && kind != "video")
    return invalid_argument("output '", spec, "': unknown kind, expected images:DIR or video:FILE");
  if (path.empty()) return invalid_argument("output '", spec, "': ", kind, " needs a path after the colon");
  if (!(options.fps > 0 && options.fps <= 1000)) return invalid_argument("output '", spec, "': fps ", options.fps);
  auto annotator = Annotator::create(options);
  if (!annotator) return annotator.status().with_context(detail::str_cat("output '", spec, "'"));
  AnnotatedWriter writer(std::move(annotator).value(), kind, path, options);

  if (kind == "images") {
    std::error_code ec;
    fs::create_directories(path, ec);
    if (ec || !fs::is_directory(path))
      return io_error("output images '", path, "': cannot create the directory", ec ? " (" + ec.message() + ")" : "");
    return writer;
  }
  std::string ext = fs::path(path).extension().string();
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (ext == ".avi") writer.fourcc_ = cv::VideoWriter::fourcc('M', 'J', 'P', 'G');
  else if (ext == ".mp4") writer.fourcc_ = cv::VideoWriter::fourcc('m', 'p', '4', 'v');
  else return invalid_argument("output video '", path, "': extension must be .avi (MJPG) or .mp4 (mp4v)");
  const fs::path parent = fs::path(path).parent_path();
  std::error_code ec;
  if (!parent.empty() && !fs::is_directory(parent, ec))
    return io_error("output video '", path, "': directory '", parent.string(), "' does not exist");
  if (!cv::videoio_registry::hasBackend(cv::CAP_FFMPEG))
    return unsupported("output video '", path, "': this OpenCV has no FFMPEG backend");
  return writer;
}

Status AnnotatedWriter::write_video(const cv::Mat& image) {
  if (!video_) {
    // The size is only known now; the file is created at the first frame.
    video_ = std::make_unique<cv::VideoWriter>();
    try {
      video_->open(path_, cv::CAP_FFMPEG, fourcc_, fps_, image.size(), true);
    } catch (const cv::Exception& e) {
      return io_error("output video '", path_, "': cannot open (", e.what(), ")");
    }
    if (!video_->isOpened())
      return io_error("output video '", path_, "': FFMPEG cannot write this file with codec ",
                      fourcc_ == cv::VideoWriter::fourcc('M', 'J', 'P', 'G') ? "MJPG" : "mp4v");
    video_size_ = image.size();
  }
  if (image.size() != video_size_)
    return invalid_argument("output video '", path_, "': frame ", frames_, " is ", image.cols, "x", image.rows,
                            ", the video is ", video_size_.width, "x", video_size_.height);
  try {
    video_->write(image);
  } catch (const cv::Exception& e) {
    return io_error("output video '", path_, "': write failed (", e.what(), ")");
  }
  return Status::ok();
}

Status AnnotatedWriter::write(const SourceImage& frame, const std::vector<TextResult>& texts,
                              const std::vector<Detection>& detections) {
  if (closed_) return invalid_argument("output '", describe(), "': write after close");
  if (frame.image.empty() || frame.image.type() != CV_8UC3)
    return invalid_argument("output '", describe(), "': frame ", frame.index, " is not a CV_8UC3 image");
  cv::Mat image = frame.image.clone();  // frames are shared and immutable downstream
  EP_RETURN_IF_ERROR(annotator_.draw(image, texts, detections));
  if (kind_ == "video") {
    EP_RETURN_IF_ERROR(write_video(image));
  } else {
    const std::string file = (fs::path(path_) / annotated_file_name(frame)).string();
    bool ok = false;
    try {
      ok = cv::imwrite(file, image);
    } catch (const cv::Exception& e) {
      return io_error("output images '", path_, "': cannot write '", file, "' (", e.what(), ")");
    }
    if (!ok) return io_error("output images '", path_, "': cannot write '", file, "'");
  }
  ++frames_;
  return Status::ok();
}

Status AnnotatedWriter::close() {
  if (closed_) return Status::ok();
  closed_ = true;
  if (video_) {
    try {
      video_->release();
    } catch (const cv::Exception& e) {
      return io_error("output video '", path_, "': close failed (", e.what(), ")");
    }
    video_.reset();
  }
  return Status::ok();
}

}  // namespace ep::pipeline
