#include "pipeline/source.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <vector>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>
#include <opencv2/videoio/registry.hpp>

#include "pipeline/synthetic.h"

namespace ep::pipeline {
namespace fs = std::filesystem;

bool has_image_extension(std::string_view file_name) {
  const size_t dot = file_name.rfind('.');
  if (dot == std::string_view::npos) return false;
  std::string ext(file_name.substr(dot + 1));
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  static constexpr const char* kExts[] = {"png", "jpg", "jpeg", "bmp", "webp", "tif", "tiff"};
  return std::any_of(std::begin(kExts), std::end(kExts), [&](const char* e) { return ext == e; });
}

namespace {

// Frames decoded by OpenCV may be gray or BGRA (PNG with alpha, some cameras); the
// pipeline promises CV_8UC3 BGR.
Status to_bgr8(cv::Mat& image, const std::string& where) {
  if (image.depth() != CV_8U) return unsupported(where, ": pixel depth ", image.depth(), " is not 8-bit");
  if (image.channels() == 1) cv::cvtColor(image, image, cv::COLOR_GRAY2BGR);
  else if (image.channels() == 4) cv::cvtColor(image, image, cv::COLOR_BGRA2BGR);
  else if (image.channels() != 3) return unsupported(where, ": ", image.channels(), " channels");
  return Status::ok();
}

// Shared frame counting: max_frames, loop and SourceImage.index live here once.
class CountedSource : public FrameSource {
 public:
  explicit CountedSource(const SourceOptions& options) : max_frames_(options.max_frames), loop_(options.loop) {}
  Result<bool> read(SourceImage& out) final {
    if (max_frames_ >= 0 && produced_ >= max_frames_) return false;
    out.truth.clear();
    EP_ASSIGN_OR_RETURN(bool got, read_next(out));
    if (!got && loop_ && produced_ > 0) {
      EP_RETURN_IF_ERROR(rewind());
      EP_ASSIGN_OR_RETURN(got, read_next(out));
    }
    if (!got) return false;
    out.index = produced_++;
    return true;
  }

 protected:
  // Next frame in the source's own order; false at its end.
  virtual Result<bool> read_next(SourceImage& out) = 0;
  virtual Status rewind() { return unsupported(describe(), ": cannot loop"); }

 private:
  int64_t max_frames_;
  bool loop_;
  int64_t produced_ = 0;
};

class SyntheticSource final : public CountedSource {
 public:
  SyntheticSource(const SourceOptions& options, SyntheticScene scene)
      : CountedSource(options), scene_(std::move(scene)) {}
  std::string describe() const override {
    const auto& o = scene_.options();
    return detail::str_cat("synthetic (", o.width, "x", o.height, ", seed ", o.seed, o.moving ? ", moving" : "", ")");
  }

 protected:
  Result<bool> read_next(SourceImage& out) override {
    EP_RETURN_IF_ERROR(scene_.render(next_, out));
    ++next_;
    return true;
  }
  Status rewind() override {
    next_ = 0;
    return Status::ok();
  }

 private:
  SyntheticScene scene_;
  int64_t next_ = 0;
};

class ImageFolderSource final : public CountedSource {
 public:
  ImageFolderSource(const SourceOptions& options, std::string dir, std::vector<fs::path> files)
      : CountedSource(options), dir_(std::move(dir)), files_(std::move(files)) {}
  std::string describe() const override {
    return detail::str_cat("images:", dir_, " (", files_.size(), files_.size() == 1 ? " file)" : " files)");
  }

 protected:
  Result<bool> read_next(SourceImage& out) override {
    if (next_ >= files_.size()) return false;
    const fs::path& path = files_[next_++];  // advance first: a bad file is skipped on the next read
    const std::string where = detail::str_cat("images:", dir_, ": '", path.filename().string(), "'");
    // Read the bytes ourselves so "cannot read" (permissions, I/O) and "cannot decode"
    // (corrupt or not an image) are told apart.
    std::ifstream in(path, std::ios::binary);
    if (!in) return io_error(where, ": cannot open the file");
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) return io_error(where, ": read failed");
    if (bytes.empty()) return io_error(where, ": empty file");
    cv::Mat image;
    try {
      image = cv::imdecode(bytes, cv::IMREAD_COLOR);
    } catch (const cv::Exception& e) {  // no exception leaves this layer
      return io_error(where, ": cannot decode (", e.what(), ")");
    }
    if (image.empty()) return io_error(where, ": cannot decode the image (corrupt or unsupported)");
    EP_RETURN_IF_ERROR(to_bgr8(image, where));
    out.image = std::move(image);
    out.name = path.filename().string();
    return true;
  }
  Status rewind() override {
    next_ = 0;
    return Status::ok();
  }

 private:
  std::string dir_;
  std::vector<fs::path> files_;
  size_t next_ = 0;
};

// Video files and cameras both read through cv::VideoCapture.
class CaptureSource final : public CountedSource {
 public:
  CaptureSource(const SourceOptions& options, std::string kind, std::string path, int api)
      : CountedSource(options), kind_(std::move(kind)), path_(std::move(path)), api_(api) {}

  Status open(const SourceOptions& options) {
    try {
      capture_ = std::make_unique<cv::VideoCapture>();
      if (kind_ == "camera") {
        capture_->open(path_, api_, {cv::CAP_PROP_FRAME_WIDTH, options.width, cv::CAP_PROP_FRAME_HEIGHT,
                                     options.height});
      } else {
        capture_->open(path_, api_);
      }
    } catch (const cv::Exception& e) {
      return io_error(where(), ": cannot open (", e.what(), ")");
    }
    if (!capture_->isOpened())
      return io_error(where(), kind_ == "camera" ? ": cannot open the device (busy, or not a V4L2 capture device?)"
                                                 : ": cannot open (not a video FFMPEG can decode?)");
    const double fps = capture_->get(cv::CAP_PROP_FPS);
    fps_ = std::isfinite(fps) && fps > 0 && fps <= 1000 ? fps : 0;
    // Decode one frame now, so an unreadable stream fails at open and not mid-pipeline.
    cv::Mat first;
    EP_RETURN_IF_ERROR(grab(first));
    if (first.empty()) return io_error(where(), ": no frame could be decoded");
    pending_ = std::move(first);
    return Status::ok();
  }

  std::string describe() const override {
    return fps_ > 0 ? detail::str_cat(kind_, ":", path_, " (", fps_, " fps)") : kind_ + ":" + path_;
  }
  double native_fps() const override { return fps_; }

 protected:
  Result<bool> read_next(SourceImage& out) override {
    cv::Mat frame;
    if (!pending_.empty()) {
      frame = std::move(pending_);
      pending_ = cv::Mat();
    } else {
      EP_RETURN_IF_ERROR(grab(frame));
      // A video ends when no frame comes; a camera that stops delivering is an error.
      if (frame.empty()) {
        if (kind_ == "camera") return io_error(where(), ": the device stopped delivering frames");
        return false;
      }
    }
    EP_RETURN_IF_ERROR(to_bgr8(frame, where()));
    out.image = std::move(frame);
    out.name = path_;
    return true;
  }
  Status rewind() override {
    if (kind_ == "camera") return Status::ok();
    // Reopening is more reliable than seeking to frame 0 across codecs and containers.
    capture_.reset();
    SourceOptions unused;
    return open(unused);
  }

 private:
  std::string where() const { return detail::str_cat(kind_, " '", path_, "'"); }
  Status grab(cv::Mat& frame) {
    try {
      capture_->read(frame);
    } catch (const cv::Exception& e) {
      return io_error(where(), ": read failed (", e.what(), ")");
    }
    return Status::ok();
  }

  std::string kind_, path_;
  int api_;
  std::unique_ptr<cv::VideoCapture> capture_;
  cv::Mat pending_;
  double fps_ = 0;
};

Result<std::unique_ptr<FrameSource>> open_images(const std::string& dir, const SourceOptions& options) {
  std::error_code ec;
  const fs::file_status st = fs::status(dir, ec);
  if (!fs::exists(st)) return io_error("images '", dir, "': no such directory");
  if (!fs::is_directory(st)) return invalid_argument("images '", dir, "': not a directory");
  std::vector<fs::path> files;
  fs::directory_iterator it(dir, ec), end;
  if (ec) return io_error("images '", dir, "': cannot list (", ec.message(), ")");
  for (; it != end; it.increment(ec)) {
    if (ec) return io_error("images '", dir, "': cannot list (", ec.message(), ")");
    std::error_code type_ec;
    if (it->is_regular_file(type_ec) && has_image_extension(it->path().filename().string())) files.push_back(it->path());
  }
  if (files.empty())
    return invalid_argument("images '", dir, "': no image files (png, jpg, jpeg, bmp, webp, tif, tiff)");
  std::sort(files.begin(), files.end(), [](const fs::path& a, const fs::path& b) { return a.filename() < b.filename(); });
  return std::unique_ptr<FrameSource>(std::make_unique<ImageFolderSource>(options, dir, std::move(files)));
}

Result<std::unique_ptr<FrameSource>> open_video(const std::string& path, const SourceOptions& options) {
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (!fs::exists(st)) return io_error("video '", path, "': no such file");
  if (!fs::is_regular_file(st)) return invalid_argument("video '", path, "': not a regular file");
  if (!cv::videoio_registry::hasBackend(cv::CAP_FFMPEG))
    return unsupported("video '", path, "': this OpenCV has no FFMPEG backend");
  auto source = std::make_unique<CaptureSource>(options, "video", path, cv::CAP_FFMPEG);
  EP_RETURN_IF_ERROR(source->open(options));
  return std::unique_ptr<FrameSource>(std::move(source));
}

Result<std::unique_ptr<FrameSource>> open_camera(std::string device, const SourceOptions& options) {
  if (!device.empty() && std::all_of(device.begin(), device.end(), [](unsigned char c) { return std::isdigit(c); }))
    device = "/dev/video" + device;
  // Check the node first: OpenCV would otherwise print backend warnings and take a
  // while before reporting a camera that is simply not there.
  struct stat st {};
  if (::stat(device.c_str(), &st) != 0) return io_error("camera '", device, "': no such device");
  if (!S_ISCHR(st.st_mode)) return invalid_argument("camera '", device, "': not a character device");
  if (options.width <= 0 || options.height <= 0)
    return invalid_argument("camera '", device, "': size ", options.width, "x", options.height);
  auto source = std::make_unique<CaptureSource>(options, "camera", device, cv::CAP_V4L2);
  EP_RETURN_IF_ERROR(source->open(options));
  return std::unique_ptr<FrameSource>(std::move(source));
}

}  // namespace

Result<std::unique_ptr<FrameSource>> open_source(std::string_view spec, const SourceOptions& options) {
  if (options.max_frames < -1) return invalid_argument("source '", spec, "': max_frames ", options.max_frames);
  const size_t colon = spec.find(':');
  const std::string kind(spec.substr(0, colon));
  const std::string arg(colon == std::string_view::npos ? std::string_view() : spec.substr(colon + 1));
  if (kind == "synthetic") {
    if (!arg.empty()) return invalid_argument("source '", spec, "': synthetic takes no argument");
    SyntheticOptions so;
    so.width = options.width, so.height = options.height, so.seed = options.seed;
    so.labels_min = options.labels_min, so.labels_max = options.labels_max;
    so.moving = options.moving, so.font_dir = options.font_dir;
    EP_ASSIGN_OR_RETURN(SyntheticScene scene, SyntheticScene::create(so));
    return std::unique_ptr<FrameSource>(std::make_unique<SyntheticSource>(options, std::move(scene)));
  }
  if (kind != "images" && kind != "video" && kind != "camera")
    return invalid_argument("source '", spec, "': unknown kind, expected synthetic, images:DIR, video:FILE or camera:DEV");
  if (arg.empty()) return invalid_argument("source '", spec, "': ", kind, " needs a path after the colon");
  if (kind == "images") return open_images(arg, options);
  if (kind == "video") return open_video(arg, options);
  return open_camera(arg, options);
}

}  // namespace ep::pipeline
