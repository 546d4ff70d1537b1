#include "pipeline/font.h"

#include <algorithm>
#include <cmath>

#include <opencv2/imgproc.hpp>

#include <ft2build.h>
#include FT_FREETYPE_H

namespace ep::pipeline {

std::vector<char32_t> decode_utf8(std::string_view text) {
  std::vector<char32_t> out;
  out.reserve(text.size());
  constexpr char32_t kReplacement = 0xFFFD;
  size_t i = 0;
  while (i < text.size()) {
    const auto b0 = static_cast<unsigned char>(text[i]);
    int extra = 0;
    char32_t cp = 0;
    if (b0 < 0x80) {
      cp = b0;
    } else if ((b0 & 0xE0) == 0xC0) {
      extra = 1, cp = b0 & 0x1F;
    } else if ((b0 & 0xF0) == 0xE0) {
      extra = 2, cp = b0 & 0x0F;
    } else if ((b0 & 0xF8) == 0xF0) {
      extra = 3, cp = b0 & 0x07;
    } else {
      out.push_back(kReplacement);  // stray continuation byte or 0xF8..0xFF
      ++i;
      continue;
    }
    size_t j = 1;
    for (; j <= static_cast<size_t>(extra); ++j) {
      if (i + j >= text.size()) break;
      const auto b = static_cast<unsigned char>(text[i + j]);
      if ((b & 0xC0) != 0x80) break;
      cp = (cp << 6) | (b & 0x3F);
    }
    if (j <= static_cast<size_t>(extra)) {  // truncated: resynchronize at the byte that broke it
      out.push_back(kReplacement);
      i += j;
      continue;
    }
    // Overlong forms, surrogates and values past U+10FFFF are not valid UTF-8.
    static constexpr char32_t kMinForLength[4] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMinForLength[extra] || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) cp = kReplacement;
    out.push_back(cp);
    i += extra + 1;
  }
  return out;
}

struct Font::Impl {
  FT_Library library = nullptr;
  FT_Face face = nullptr;
  ~Impl() {
    if (face) FT_Done_Face(face);
    if (library) FT_Done_FreeType(library);
  }
};

Font::Font(std::unique_ptr<Impl> impl, std::string path) : impl_(std::move(impl)), path_(std::move(path)) {}
Font::Font(Font&&) noexcept = default;
Font& Font::operator=(Font&&) noexcept = default;
Font::~Font() = default;

Result<Font> Font::load(const std::string& path) {
  auto impl = std::make_unique<Impl>();
  // One FT_Library per Font: FreeType libraries are not thread-safe, and fonts live in
  // different pipeline stages (threads).
  if (FT_Error err = FT_Init_FreeType(&impl->library)) return internal_error("FreeType init failed (error ", err, ")");
  if (FT_Error err = FT_New_Face(impl->library, path.c_str(), 0, &impl->face)) {
    if (err == FT_Err_Cannot_Open_Resource) return io_error("font '", path, "': cannot open the file");
    return io_error("font '", path, "': not a font FreeType can read (error ", err, ")");
  }
  if (!FT_IS_SCALABLE(impl->face)) return unsupported("font '", path, "': not a scalable (outline) font");
  Font font(std::move(impl), path);
  // Measure the cap height once so set_cap_height can size fonts of different designs alike.
  constexpr int kProbe = 200;
  if (FT_Set_Pixel_Sizes(font.impl_->face, 0, kProbe) == 0 &&
      FT_Load_Char(font.impl_->face, 'H', FT_LOAD_NO_BITMAP | FT_LOAD_NO_HINTING) == 0) {
    const double h = font.impl_->face->glyph->metrics.height / 64.0;
    if (h > 0) font.cap_ratio_ = h / kProbe;
  }
  EP_RETURN_IF_ERROR(font.set_pixel_size(16));
  return font;
}

Status Font::set_pixel_size(int px) {
  if (px < 4 || px > 1024) return invalid_argument("font '", path_, "': pixel size ", px, " outside 4..1024");
  if (px == pixel_size_) return Status::ok();
  if (FT_Error err = FT_Set_Pixel_Sizes(impl_->face, 0, static_cast<FT_UInt>(px)))
    return internal_error("font '", path_, "': cannot set pixel size ", px, " (error ", err, ")");
  pixel_size_ = px;
  return Status::ok();
}

Status Font::set_cap_height(int cap_px) {
  if (cap_px < 3) return invalid_argument("font '", path_, "': cap height ", cap_px, " px is too small");
  return set_pixel_size(static_cast<int>(std::lround(cap_px / cap_ratio_)));
}

int Font::ascender() const { return static_cast<int>((impl_->face->size->metrics.ascender + 63) >> 6); }
int Font::descender() const { return static_cast<int>(impl_->face->size->metrics.descender >> 6); }

Result<TextRun> Font::render(std::string_view utf8) {
  struct Placed {
    cv::Mat bitmap;  // copy: FreeType reuses the glyph slot for the next glyph
    cv::Point top_left;
  };
  std::vector<Placed> glyphs;
  FT_Face face = impl_->face;
  const bool kerning = FT_HAS_KERNING(face);
  int pen_x = 0;
  FT_UInt prev = 0;
  for (char32_t cp : decode_utf8(utf8)) {
    if (cp < 0x20 || cp == 0x7F) continue;  // control characters: a single line has no use for them
    const FT_UInt index = FT_Get_Char_Index(face, cp);  // 0 (.notdef box) for glyphs the font lacks
    if (kerning && prev && index) {
      FT_Vector delta;
      if (FT_Get_Kerning(face, prev, index, FT_KERNING_DEFAULT, &delta) == 0) pen_x += static_cast<int>(delta.x >> 6);
    }
    // NO_BITMAP: always the antialiased outline, never an embedded 1-bit strike.
    if (FT_Error err = FT_Load_Glyph(face, index, FT_LOAD_RENDER | FT_LOAD_NO_BITMAP | FT_LOAD_TARGET_NORMAL))
      return internal_error("font '", path_, "': cannot render U+", std::hex, static_cast<uint32_t>(cp), " (error ",
                            std::dec, err, ")");
    const FT_GlyphSlot slot = face->glyph;
    const FT_Bitmap& bm = slot->bitmap;
    if (bm.rows > 0 && bm.width > 0) {
      if (bm.pixel_mode != FT_PIXEL_MODE_GRAY)
        return unsupported("font '", path_, "': glyph U+", std::hex, static_cast<uint32_t>(cp), " is not a gray bitmap");
      cv::Mat copy(static_cast<int>(bm.rows), static_cast<int>(bm.width), CV_8UC1);
      for (int r = 0; r < copy.rows; ++r) {
        const unsigned char* src = bm.buffer + static_cast<ptrdiff_t>(r) * bm.pitch;
        std::copy(src, src + copy.cols, copy.ptr<uint8_t>(r));
      }
      glyphs.push_back({std::move(copy), {pen_x + slot->bitmap_left, -slot->bitmap_top}});
    }
    pen_x += static_cast<int>((slot->advance.x + 32) >> 6);
    prev = index;
  }
  TextRun run;
  run.advance = pen_x;
  if (glyphs.empty()) return run;
  cv::Rect bounds(glyphs[0].top_left, glyphs[0].bitmap.size());
  for (const Placed& g : glyphs) bounds |= cv::Rect(g.top_left, g.bitmap.size());
  cv::Mat canvas = cv::Mat::zeros(bounds.size(), CV_8UC1);
  for (const Placed& g : glyphs) {
    cv::Mat dst = canvas(cv::Rect(g.top_left - bounds.tl(), g.bitmap.size()));
    cv::max(dst, g.bitmap, dst);  // overlapping glyphs (kerned pairs) keep the stronger coverage
  }
  // FreeType bitmaps carry empty rows/columns; crop to the inked pixels so the box is tight.
  const cv::Rect ink = cv::boundingRect(canvas);
  if (ink.empty()) return run;
  run.coverage = canvas(ink).clone();
  run.ink_offset = bounds.tl() + ink.tl();
  return run;
}

void blend_text(cv::Mat& image, const TextRun& run, cv::Point origin, const cv::Scalar& bgr) {
  EP_CHECK(image.type() == CV_8UC3);
  if (!run.has_ink()) return;
  const cv::Rect placed = text_ink_rect(run, origin);
  const cv::Rect visible = placed & cv::Rect(0, 0, image.cols, image.rows);
  if (visible.empty()) return;
  const int color[3] = {static_cast<int>(bgr[0]), static_cast<int>(bgr[1]), static_cast<int>(bgr[2])};
  for (int y = visible.y; y < visible.br().y; ++y) {
    const uint8_t* a_row = run.coverage.ptr<uint8_t>(y - placed.y);
    auto* px = image.ptr<cv::Vec3b>(y);
    for (int x = visible.x; x < visible.br().x; ++x) {
      const int a = a_row[x - placed.x];
      if (a == 0) continue;
      for (int c = 0; c < 3; ++c) px[x][c] = static_cast<uint8_t>((px[x][c] * (255 - a) + color[c] * a + 127) / 255);
    }
  }
}

}  // namespace ep::pipeline
