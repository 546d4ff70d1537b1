#include "pipeline/synthetic.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>

#include <opencv2/imgproc.hpp>

namespace ep::pipeline {
namespace {

uint64_t mix64(uint64_t x) {  // splitmix64's finalizer: a bijective, well-mixed hash
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// Counter-based generator: same (seed, stream) gives the same sequence everywhere.
class Rng {
 public:
  Rng(uint64_t seed, uint64_t stream) : state_(mix64(seed ^ mix64(stream))) {}
  uint64_t next() { return mix64(state_++); }
  int uniform(int lo, int hi) {  // inclusive; modulo bias is below 2^-40 for our ranges
    if (hi <= lo) return lo;
    return lo + static_cast<int>(next() % static_cast<uint64_t>(hi - lo + 1));
  }
  double unit() { return static_cast<double>(next() >> 11) * 0x1p-53; }
  double real(double lo, double hi) { return lo + (hi - lo) * unit(); }
  bool chance(double p) { return unit() < p; }

 private:
  uint64_t state_;
};

// Streams: what each generator is for, so adding a draw to one leaves the others unchanged.
enum : uint64_t { kStreamBackground = 1, kStreamLayout = 2, kStreamNoise = 3 };

double luma(const cv::Scalar& bgr) { return 0.114 * bgr[0] + 0.587 * bgr[1] + 0.299 * bgr[2]; }

// A random colour whose luma lies in [lo, hi]; rejection keeps hue and saturation varied.
cv::Scalar color_with_luma(Rng& rng, double lo, double hi) {
  for (int i = 0; i < 256; ++i) {
    cv::Scalar c(rng.uniform(0, 255), rng.uniform(0, 255), rng.uniform(0, 255));
    const double l = luma(c);
    if (l >= lo && l <= hi) return c;
  }
  const double g = std::clamp((lo + hi) / 2, 0.0, 255.0);
  return {g, g, g};
}

// Light noise must not eat into the text contrast: the margins below account for it.
constexpr int kMaxNoise = 12;
constexpr double kMinContrast = 110;  // luma difference text vs. every background pixel under it

struct BackgroundStyle {
  bool light = true;
};

BackgroundStyle draw_background(Rng& rng, uint64_t scene_seed, cv::Mat& bg) {
  BackgroundStyle style;
  style.light = rng.chance(0.6);
  // Light backgrounds stay above 175 and dark ones below 75, so after noise there is
  // always room for a text colour at least kMinContrast away.
  const double lo = style.light ? 175 : 8, hi = style.light ? 250 : 75;
  const cv::Scalar c0 = color_with_luma(rng, lo, hi);
  const int kind = rng.uniform(0, 2);  // 0 solid, 1 linear gradient, 2 radial gradient
  const cv::Scalar c1 = kind == 0 ? c0 : color_with_luma(rng, lo, hi);
  const double angle = rng.real(0.0, 2 * CV_PI);
  const double ca = std::cos(angle), sa = std::sin(angle);
  const double cx = bg.cols / 2.0, cy = bg.rows / 2.0;
  const double half = std::hypot(cx, cy);
  const cv::Point2d center(rng.real(0.0, bg.cols), rng.real(0.0, bg.rows));
  const int noise = rng.chance(0.4) ? rng.uniform(3, kMaxNoise) : 0;
  for (int y = 0; y < bg.rows; ++y) {
    auto* row = bg.ptr<cv::Vec3b>(y);
    for (int x = 0; x < bg.cols; ++x) {
      double t = 0;
      if (kind == 1) t = 0.5 + 0.5 * ((x - cx) * ca + (y - cy) * sa) / half;
      if (kind == 2) t = std::min(1.0, std::hypot(x - center.x, y - center.y) / (2 * half) * 1.5);
      int n = 0;
      if (noise) {
        const uint64_t h = mix64(scene_seed ^ mix64(kStreamNoise + (static_cast<uint64_t>(y) << 32 | x)));
        n = static_cast<int>(h % static_cast<uint64_t>(2 * noise + 1)) - noise;
      }
      for (int c = 0; c < 3; ++c)
        row[x][c] = cv::saturate_cast<uint8_t>(c0[c] + (c1[c] - c0[c]) * t + n);
    }
  }
  return style;
}

std::string random_code(Rng& rng) {
  // No I or O: next to digits they read as 1 and 0 even to people.
  static constexpr char kLetters[] = "ABCDEFGHJKLMNPQRSTUVWXYZ";
  std::string s;
  const int letters = rng.uniform(1, 3);
  for (int i = 0; i < letters; ++i) s += kLetters[rng.uniform(0, sizeof(kLetters) - 2)];
  s += '-';
  const int digits = rng.uniform(2, 5);
  for (int i = 0; i < digits; ++i) s += static_cast<char>('0' + rng.uniform(0, 9));
  return s;
}

std::string random_number(Rng& rng) {
  std::string s(1, static_cast<char>('1' + rng.uniform(0, 8)));  // no leading zero
  const int digits = rng.uniform(3, 6);
  for (int i = 1; i < digits; ++i) s += static_cast<char>('0' + rng.uniform(0, 9));
  return s;
}

std::string random_price(Rng& rng) {
  std::string s = std::to_string(rng.uniform(1, 999));
  const int cents = rng.uniform(0, 99);
  s += '.';
  s += static_cast<char>('0' + cents / 10);
  s += static_cast<char>('0' + cents % 10);
  return s;
}

std::string random_label_text(Rng& rng) {
  const double kind = rng.unit();
  if (kind < 0.12) return random_number(rng);
  if (kind < 0.22) return random_price(rng);
  if (kind < 0.36) return random_code(rng);
  const auto& words = synthetic_words();
  std::string w = words[rng.uniform(0, static_cast<int>(words.size()) - 1)];
  const int casing = rng.uniform(0, 2);  // lower, UPPER, Capitalized
  if (casing == 1) for (char& c : w) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (casing == 2) w[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(w[0])));
  return w;
}

// Position along a bounce between 0 and `extent`: a triangle wave, so any frame can be
// computed directly without stepping through the ones before it.
int bounce(double u, int extent) {
  if (extent <= 0) return 0;
  const double period = 2.0 * extent;
  double m = std::fmod(u, period);
  if (m < 0) m += period;
  return static_cast<int>(std::lround(m <= extent ? m : period - m));
}

struct LabelPlacement {
  int width, height;
  int cap_lo, cap_hi;  // cap height range in pixels
  double scale;        // image size relative to 640x480
  bool moving;
  bool light;                // light background: dark text, and the other way round
  const cv::Mat* bg_luma;    // CV_8UC1 luma of the background
};

// Adds one label that keeps its distance from `keep_out` (and extends it), or returns
// false when none fits after kLabelTries random tries.
Result<bool> place_label(Rng& rng, std::vector<Font>& fonts, const LabelPlacement& p, std::vector<cv::Rect>& keep_out,
                         std::vector<SyntheticLabel>& labels) {
  constexpr int kLabelTries = 60;
  for (int t = 0; t < kLabelTries; ++t) {
    SyntheticLabel label;
    label.text = random_label_text(rng);
    Font& font = fonts[rng.uniform(0, static_cast<int>(fonts.size()) - 1)];
    // Later tries shrink the largest allowed size, so crowded scenes still fill up.
    const int hi = p.cap_lo + (p.cap_hi - p.cap_lo) * (kLabelTries - t) / kLabelTries;
    const int cap = rng.uniform(p.cap_lo, hi);
    EP_RETURN_IF_ERROR(font.set_cap_height(cap));
    EP_ASSIGN_OR_RETURN(label.run, font.render(label.text));
    if (!label.run.has_ink()) continue;
    const cv::Size ink = label.run.coverage.size();
    int drift_x = 0, drift_y = 0;
    if (p.moving) {
      drift_x = rng.uniform(0, static_cast<int>(160 * p.scale));
      drift_y = rng.uniform(0, static_cast<int>(40 * p.scale));
    }
    // Margin to the image border and padding to other labels; the padding of about
    // one cap height keeps a text detector from merging neighbours into one line.
    const int margin = std::max(8, cap / 2);
    const int pad = 4 + cap * 3 / 4;
    const int free_x = p.width - 2 * margin - ink.width - drift_x;
    const int free_y = p.height - 2 * margin - ink.height - drift_y;
    if (free_x < 0 || free_y < 0) continue;
    label.track = cv::Rect(margin + rng.uniform(0, free_x), margin + rng.uniform(0, free_y), ink.width + drift_x,
                           ink.height + drift_y);
    const cv::Rect padded(label.track.x - pad, label.track.y - pad, label.track.width + 2 * pad,
                          label.track.height + 2 * pad);
    if (std::any_of(keep_out.begin(), keep_out.end(), [&](const cv::Rect& r) { return !(r & padded).empty(); }))
      continue;
    label.start = {rng.uniform(0, drift_x), rng.uniform(0, drift_y)};
    const double speed = std::max(0.5, 2.0 * p.scale);
    label.velocity = {rng.real(0.3, speed) * (rng.chance(0.5) ? 1 : -1),
                      rng.real(0.1, speed / 3) * (rng.chance(0.5) ? 1 : -1)};
    // Text colour against the darkest/lightest background pixel the label can cover.
    double bg_min = 0, bg_max = 0;
    cv::minMaxLoc((*p.bg_luma)(label.track), &bg_min, &bg_max);
    label.color = p.light ? color_with_luma(rng, 0, std::max(0.0, bg_min - kMinContrast))
                          : color_with_luma(rng, std::min(255.0, bg_max + kMinContrast), 255);
    keep_out.push_back(padded);
    labels.push_back(std::move(label));
    return true;
  }
  return false;
}

}  // namespace

const std::vector<std::string>& synthetic_words() {
  // Common English words of 3-10 letters that a general OCR model knows; no spaces.
  static const std::vector<std::string> kWords = {
      "apple", "market", "street", "garden", "window", "coffee", "bread", "water", "ticket", "station",
      "north", "south", "east", "west", "river", "bridge", "house", "office", "school", "museum",
      "hotel", "bakery", "pharmacy", "library", "parking", "exit", "entrance", "open", "closed", "sale",
      "price", "total", "number", "order", "invoice", "receipt", "customer", "service", "delivery", "express",
      "platform", "airport", "terminal", "gate", "flight", "train", "metro", "taxi", "center", "central",
      "city", "village", "harbor", "beach", "mountain", "forest", "valley", "island", "lake", "park",
      "danger", "caution", "warning", "notice", "private", "public", "toilet", "kitchen", "dinner", "lunch",
      "breakfast", "menu", "pizza", "pasta", "salad", "soup", "cheese", "butter", "sugar", "honey",
      "orange", "lemon", "banana", "cherry", "grape", "melon", "tomato", "potato", "carrot", "pepper",
      "chicken", "fish", "steak", "burger", "sandwich", "cookie", "cake", "dessert", "juice", "milk",
      "monday", "tuesday", "friday", "sunday", "january", "march", "october", "december", "summer", "winter",
      "spring", "autumn", "morning", "evening", "today", "tomorrow", "weekend", "holiday", "birthday", "party",
      "music", "concert", "theater", "cinema", "gallery", "studio", "camera", "picture", "printer", "computer",
      "keyboard", "monitor", "network", "server", "storage", "battery", "charger", "power", "energy", "engine",
      "motor", "vehicle", "bicycle", "scooter", "truck", "garage", "repair", "tools", "hammer", "ladder",
      "paint", "yellow", "green", "purple", "silver", "golden", "black", "white", "brown", "blue",
      "doctor", "hospital", "clinic", "dentist", "police", "fire", "rescue", "safety", "health", "medicine",
      "student", "teacher", "lesson", "exam", "answer", "question", "letter", "paper", "pencil", "notebook",
      "shop", "store", "mall", "bank", "money", "credit", "account", "balance", "deposit", "payment",
      "welcome", "thanks", "hello", "goodbye", "please", "friend", "family", "people", "world", "planet",
      "rocket", "galaxy", "science", "compass", "weather", "cloud", "storm", "sunny", "rain", "snow",
  };
  return kWords;
}

Result<SyntheticScene> SyntheticScene::create(const SyntheticOptions& options) {
  if (options.width < 64 || options.height < 64 || options.width > 8192 || options.height > 8192)
    return invalid_argument("synthetic source: size ", options.width, "x", options.height, " outside 64..8192");
  if (options.labels_min < 0 || options.labels_max < options.labels_min || options.labels_max > 32)
    return invalid_argument("synthetic source: labels ", options.labels_min, "..", options.labels_max,
                            " must satisfy 0 <= min <= max <= 32");
  std::error_code ec;
  if (!std::filesystem::is_directory(options.font_dir, ec))
    return io_error("synthetic source: font directory '", options.font_dir,
                    "' does not exist (install fonts-dejavu-core)");
  std::vector<Font> fonts;
  for (const char* name : kSyntheticFonts) {
    auto font = Font::load((std::filesystem::path(options.font_dir) / name).string());
    if (!font) return font.status().with_context("synthetic source");
    fonts.push_back(std::move(font).value());
  }
  return SyntheticScene(options, std::move(fonts));
}

Status SyntheticScene::build_scene(int64_t scene_id) {
  const int w = options_.width, h = options_.height;
  const uint64_t scene_seed = mix64(options_.seed ^ mix64(static_cast<uint64_t>(scene_id) + 0x5CE7E));
  Scene scene;
  scene.id = scene_id;
  scene.background.create(h, w, CV_8UC3);
  Rng bg_rng(scene_seed, kStreamBackground);
  const BackgroundStyle style = draw_background(bg_rng, scene_seed, scene.background);
  cv::Mat bg_luma;
  cv::cvtColor(scene.background, bg_luma, cv::COLOR_BGR2GRAY);

  // Cap heights 18..48 px at 640x480, scaled with the image but never below 12 px,
  // which is about where a generic recognizer starts to miss characters.
  const double scale = std::min(w / 640.0, h / 480.0);
  const int cap_lo = std::max(12, static_cast<int>(std::lround(18 * scale)));
  const int cap_hi = std::max(cap_lo, static_cast<int>(std::lround(48 * scale)));

  LabelPlacement place{w, h, cap_lo, cap_hi, scale, options_.moving, style.light, &bg_luma};
  Rng rng(scene_seed, kStreamLayout);
  constexpr int kSceneTries = 8;
  for (int scene_try = 0; scene_try < kSceneTries; ++scene_try) {
    scene.labels.clear();
    std::vector<cv::Rect> keep_out;  // placed tracks, inflated by their padding
    const int wanted = rng.uniform(options_.labels_min, options_.labels_max);
    for (int n = 0; n < wanted; ++n) {
      EP_ASSIGN_OR_RETURN(bool placed, place_label(rng, fonts_, place, keep_out, scene.labels));
      if (!placed) break;
    }
    if (static_cast<int>(scene.labels.size()) >= options_.labels_min) {
      scene_ = std::move(scene);
      return Status::ok();
    }
  }
  return resource_exhausted("synthetic source: cannot place ", options_.labels_min, " labels in a ", w, "x", h,
                            " image (scene ", scene_id, ")");
}

Status SyntheticScene::ensure_scene(int64_t index) {
  if (index < 0) return invalid_argument("synthetic source: frame index ", index, " is negative");
  const int64_t scene_id = options_.moving ? index / kSyntheticShotFrames : index;
  if (scene_.id == scene_id) return Status::ok();
  return build_scene(scene_id);
}

cv::Point SyntheticScene::label_position(const Label& label, int64_t frame_in_shot) const {
  const cv::Size ink = label.run.coverage.size();
  const double f = static_cast<double>(frame_in_shot);
  const int x = bounce(label.start.x + label.velocity.x * f, label.track.width - ink.width);
  const int y = bounce(label.start.y + label.velocity.y * f, label.track.height - ink.height);
  return label.track.tl() + cv::Point(x, y);
}

Status SyntheticScene::render(int64_t index, SourceImage& out) {
  EP_RETURN_IF_ERROR(ensure_scene(index));
  const int64_t frame_in_shot = options_.moving ? index % kSyntheticShotFrames : 0;
  out.image = scene_.background.clone();
  out.name = "synthetic";
  out.index = index;
  out.truth.clear();
  for (const Label& label : scene_.labels) {
    const cv::Point ink_tl = label_position(label, frame_in_shot);
    blend_text(out.image, label.run, ink_tl - label.run.ink_offset, label.color);
    const float x0 = static_cast<float>(ink_tl.x), y0 = static_cast<float>(ink_tl.y);
    const float x1 = x0 + static_cast<float>(label.run.coverage.cols);
    const float y1 = y0 + static_cast<float>(label.run.coverage.rows);
    out.truth.push_back({label.text, Quad{cv::Point2f(x0, y0), {x1, y0}, {x1, y1}, {x0, y1}}});
  }
  return Status::ok();
}

Status SyntheticScene::render_background(int64_t index, cv::Mat& out) {
  EP_RETURN_IF_ERROR(ensure_scene(index));
  out = scene_.background.clone();
  return Status::ok();
}

}  // namespace ep::pipeline
