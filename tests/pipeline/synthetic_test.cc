#include "pipeline/synthetic.h"

#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>

#include "pipeline/font.h"

namespace ep::pipeline {
namespace {

SyntheticScene make_scene(SyntheticOptions o = {}) {
  auto scene = SyntheticScene::create(o);
  EXPECT_TRUE(scene.is_ok()) << scene.status().to_string();
  return std::move(scene).value();
}

cv::Rect box_rect(const Quad& q) {
  return {cv::Point(static_cast<int>(q[0].x), static_cast<int>(q[0].y)),
          cv::Point(static_cast<int>(q[2].x), static_cast<int>(q[2].y))};
}

// Checks every property a frame must have; `where` names the frame in failures.
void check_frame(SyntheticScene& scene, int64_t index, const std::string& where) {
  SourceImage frame;
  ASSERT_TRUE(scene.render(index, frame).is_ok()) << where;
  cv::Mat bg;
  ASSERT_TRUE(scene.render_background(index, bg).is_ok()) << where;
  const SyntheticOptions& o = scene.options();
  ASSERT_EQ(frame.image.type(), CV_8UC3);
  ASSERT_EQ(frame.image.size(), cv::Size(o.width, o.height));
  EXPECT_EQ(frame.index, index);
  EXPECT_GE(static_cast<int>(frame.truth.size()), o.labels_min) << where;
  EXPECT_LE(static_cast<int>(frame.truth.size()), o.labels_max) << where;

  cv::Mat diff;
  cv::absdiff(frame.image, bg, diff);
  std::vector<cv::Mat> ch;
  cv::split(diff, ch);
  const cv::Mat changed = (ch[0] > 0) | (ch[1] > 0) | (ch[2] > 0);  // any channel, not only luma

  cv::Mat outside = changed.clone();
  cv::Mat frame_luma, bg_luma;
  cv::cvtColor(frame.image, frame_luma, cv::COLOR_BGR2GRAY);
  cv::cvtColor(bg, bg_luma, cv::COLOR_BGR2GRAY);
  std::vector<cv::Rect> boxes;
  for (const GroundTruthLabel& label : frame.truth) {
    const std::string w = where + " label '" + label.text + "'";
    EXPECT_GE(label.text.size(), 3u) << w;
    EXPECT_LE(label.text.size(), 10u) << w;
    EXPECT_EQ(label.text.find(' '), std::string::npos) << w;
    // Clockwise from the top-left, axis-aligned.
    EXPECT_EQ(label.box[0].y, label.box[1].y) << w;
    EXPECT_EQ(label.box[1].x, label.box[2].x) << w;
    EXPECT_EQ(label.box[2].y, label.box[3].y) << w;
    EXPECT_EQ(label.box[3].x, label.box[0].x) << w;
    EXPECT_LT(label.box[0].x, label.box[1].x) << w;
    EXPECT_LT(label.box[1].y, label.box[2].y) << w;
    const cv::Rect r = box_rect(label.box);
    // Inside with a margin of at least 8 px.
    EXPECT_GE(r.x, 8) << w;
    EXPECT_GE(r.y, 8) << w;
    EXPECT_LE(r.br().x, o.width - 8) << w;
    EXPECT_LE(r.br().y, o.height - 8) << w;
    // Legible size: cap height 12+ px means the ink box is at least that tall.
    EXPECT_GE(r.height, 12) << w;
    for (const cv::Rect& other : boxes) EXPECT_TRUE((other & r).empty()) << w << " overlaps another label";
    boxes.push_back(r);
    if (r.x < 0 || r.y < 0 || r.br().x > o.width || r.br().y > o.height) continue;
    // Ink fills the box tightly (edge rows may be faint enough to round to no change).
    const cv::Rect ink = cv::boundingRect(changed(r));
    EXPECT_LE(ink.x, 1) << w;
    EXPECT_LE(ink.y, 1) << w;
    EXPECT_GE(ink.br().x, r.width - 1) << w;
    EXPECT_GE(ink.br().y, r.height - 1) << w;
    // Contrast: fully inked pixels differ from the background by >= 100 luma.
    cv::Mat luma_diff;
    cv::absdiff(frame_luma(r), bg_luma(r), luma_diff);
    double max_diff = 0;
    cv::minMaxLoc(luma_diff, nullptr, &max_diff);
    EXPECT_GE(max_diff, 100) << w;
    outside(r).setTo(0);
  }
  EXPECT_EQ(cv::countNonZero(outside), 0) << where << ": pixels outside every label box differ from the background";
}

TEST(Synthetic, SameSeedAndIndexGiveIdenticalFrames) {
  SyntheticScene a = make_scene(), b = make_scene();
  SourceImage fa, fb, fc;
  ASSERT_TRUE(a.render(3, fa).is_ok());
  ASSERT_TRUE(b.render(7, fb).is_ok());  // b visits another frame first: frames are random-access
  ASSERT_TRUE(b.render(3, fb).is_ok());
  EXPECT_EQ(cv::norm(fa.image, fb.image, cv::NORM_INF), 0);
  ASSERT_EQ(fa.truth.size(), fb.truth.size());
  for (size_t i = 0; i < fa.truth.size(); ++i) {
    EXPECT_EQ(fa.truth[i].text, fb.truth[i].text);
    EXPECT_EQ(fa.truth[i].box, fb.truth[i].box);
  }
  ASSERT_TRUE(a.render(4, fc).is_ok());
  EXPECT_GT(cv::norm(fa.image, fc.image, cv::NORM_L1), 0) << "consecutive still frames are different scenes";
}

TEST(Synthetic, DifferentSeedsGiveDifferentFrames) {
  SyntheticOptions o;
  o.seed = 2;
  SyntheticScene a = make_scene(), b = make_scene(o);
  SourceImage fa, fb;
  ASSERT_TRUE(a.render(0, fa).is_ok());
  ASSERT_TRUE(b.render(0, fb).is_ok());
  EXPECT_GT(cv::norm(fa.image, fb.image, cv::NORM_L1), 0);
}

TEST(Synthetic, StillFramesKeepLabelsInsideApartInkedAndOnBackground) {
  for (uint64_t seed : {1, 2, 3, 99}) {
    SyntheticOptions o;
    o.seed = seed;
    SyntheticScene scene = make_scene(o);
    for (int64_t i = 0; i < 25; ++i) check_frame(scene, i, "seed " + std::to_string(seed) + " frame " + std::to_string(i));
  }
}

TEST(Synthetic, OtherSizesAndLabelCounts) {
  SyntheticOptions o;
  o.width = 1280, o.height = 720, o.labels_min = 5, o.labels_max = 8;
  SyntheticScene big = make_scene(o);
  for (int64_t i = 0; i < 5; ++i) check_frame(big, i, "1280x720 frame " + std::to_string(i));
  o.width = 320, o.height = 240, o.labels_min = 1, o.labels_max = 3;
  SyntheticScene small = make_scene(o);
  for (int64_t i = 0; i < 5; ++i) check_frame(small, i, "320x240 frame " + std::to_string(i));
}

TEST(Synthetic, MovingLabelsDriftWithinOneShotAndStayValid) {
  SyntheticOptions o;
  o.moving = true;
  o.seed = 5;
  SyntheticScene scene = make_scene(o);
  SourceImage f0, f30;
  ASSERT_TRUE(scene.render(0, f0).is_ok());
  ASSERT_TRUE(scene.render(30, f30).is_ok());
  ASSERT_EQ(f0.truth.size(), f30.truth.size());
  bool moved = false;
  for (size_t i = 0; i < f0.truth.size(); ++i) {
    EXPECT_EQ(f0.truth[i].text, f30.truth[i].text);
    moved |= f0.truth[i].box != f30.truth[i].box;
  }
  EXPECT_TRUE(moved);
  for (int64_t i = 0; i < kSyntheticShotFrames + 10; i += 7) check_frame(scene, i, "moving frame " + std::to_string(i));
}

TEST(Synthetic, VocabularyIsSingleTokensOfThreeToTenLetters) {
  EXPECT_GE(synthetic_words().size(), 200u);
  for (const std::string& w : synthetic_words()) {
    EXPECT_GE(w.size(), 3u) << w;
    EXPECT_LE(w.size(), 10u) << w;
    EXPECT_EQ(w.find(' '), std::string::npos) << w;
  }
}

TEST(Synthetic, MissingFontsGiveAClearError) {
  SyntheticOptions o;
  o.font_dir = "/nonexistent/ep_fonts";
  auto scene = SyntheticScene::create(o);
  ASSERT_FALSE(scene.is_ok());
  EXPECT_EQ(scene.status().code(), StatusCode::io_error);
  EXPECT_NE(scene.status().message().find("/nonexistent/ep_fonts"), std::string::npos) << scene.status().to_string();
  o.font_dir = EP_SOURCE_DIR "/tests";  // a directory without the fonts
  scene = SyntheticScene::create(o);
  ASSERT_FALSE(scene.is_ok());
  EXPECT_NE(scene.status().message().find("DejaVuSans.ttf"), std::string::npos) << scene.status().to_string();
}

TEST(Synthetic, RejectsBadOptions) {
  SyntheticOptions o;
  o.labels_min = 4, o.labels_max = 2;
  EXPECT_EQ(SyntheticScene::create(o).status().code(), StatusCode::invalid_argument);
  o = {};
  o.width = 10;
  EXPECT_EQ(SyntheticScene::create(o).status().code(), StatusCode::invalid_argument);
  SyntheticScene scene = make_scene();
  SourceImage f;
  EXPECT_EQ(scene.render(-1, f).code(), StatusCode::invalid_argument);
}

TEST(Font, DecodesUtf8AndReplacesInvalidBytes) {
  EXPECT_EQ(decode_utf8("a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"), (std::vector<char32_t>{'a', 0xE9, 0x20AC, 0x1F600}));
  EXPECT_EQ(decode_utf8("\xFF" "b"), (std::vector<char32_t>{0xFFFD, 'b'}));
  EXPECT_EQ(decode_utf8("\xC3"), (std::vector<char32_t>{0xFFFD}));            // truncated
  EXPECT_EQ(decode_utf8("\xC0\xAF"), (std::vector<char32_t>{0xFFFD}));        // overlong '/'
  EXPECT_EQ(decode_utf8("\xED\xA0\x80"), (std::vector<char32_t>{0xFFFD}));    // surrogate
  EXPECT_EQ(decode_utf8("\xE2\x82" "c"), (std::vector<char32_t>{0xFFFD, 'c'}));  // resynchronizes
}

TEST(Font, RendersTightInkAndScalesWithCapHeight) {
  auto font = Font::load(std::string(kDefaultFontDir) + "/DejaVuSans.ttf");
  ASSERT_TRUE(font.is_ok()) << font.status().to_string();
  ASSERT_TRUE(font->set_cap_height(30).is_ok());
  auto h = font->render("H");
  ASSERT_TRUE(h.is_ok());
  EXPECT_NEAR(h->coverage.rows, 30, 1);
  EXPECT_EQ(h->ink_offset.y, -h->coverage.rows) << "a capital H sits on the baseline";
  auto word = font->render("Caf\xC3\xA9");
  ASSERT_TRUE(word.is_ok());
  EXPECT_GT(word->coverage.rows, 30) << "the accent rises above the cap height";
  // Tight: first/last rows and columns hold ink.
  const cv::Mat& c = word->coverage;
  EXPECT_GT(cv::countNonZero(c.row(0)), 0);
  EXPECT_GT(cv::countNonZero(c.row(c.rows - 1)), 0);
  EXPECT_GT(cv::countNonZero(c.col(0)), 0);
  EXPECT_GT(cv::countNonZero(c.col(c.cols - 1)), 0);
  auto space = font->render(" ");
  ASSERT_TRUE(space.is_ok());
  EXPECT_FALSE(space->has_ink());
  EXPECT_GT(space->advance, 0);
  EXPECT_EQ(Font::load("/nonexistent/x.ttf").status().code(), StatusCode::io_error);
}

}  // namespace
}  // namespace ep::pipeline
