#include "pipeline/text_boxes.h"

#include <gtest/gtest.h>

#include <cmath>

#include <opencv2/imgproc.hpp>

namespace ep::pipeline {
namespace {

// Rounded offset distance PaddleOCR uses for a w x h rectangle (sides measured between
// pixel centres, as findContours + minAreaRect see a filled block of (w+1) x (h+1) pixels).
double unclip_distance(double w, double h, double ratio = 1.5) { return w * h * ratio / (2 * (w + h)); }

TEST(TextBoxes, AxisAlignedRectangle) {
  cv::Mat prob = cv::Mat::zeros(100, 200, CV_32FC1);
  prob(cv::Rect(40, 30, 80, 20)).setTo(0.9f);  // pixels x 40..119, y 30..49
  auto r = text_boxes_from_map(prob, Geometry{}, {200, 100});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  ASSERT_EQ(r->size(), 1u);
  const TextResult& t = (*r)[0];
  EXPECT_TRUE(t.text.empty());
  EXPECT_NEAR(t.box_score, 0.9f, 1e-5);
  const double d = unclip_distance(79, 19);
  const cv::Point2f expect[4] = {{float(40 - d), float(30 - d)}, {float(119 + d), float(30 - d)},
                                 {float(119 + d), float(49 + d)}, {float(40 - d), float(49 + d)}};
  for (int k = 0; k < 4; ++k) {
    EXPECT_NEAR(t.box[k].x, expect[k].x, 1.0) << "corner " << k;
    EXPECT_NEAR(t.box[k].y, expect[k].y, 1.0) << "corner " << k;
    EXPECT_EQ(t.box[k].x, std::round(t.box[k].x));  // whole source pixels
  }
}

TEST(TextBoxes, RotatedRectangle) {
  cv::Mat prob = cv::Mat::zeros(300, 400, CV_32FC1);
  const cv::RotatedRect drawn({200, 150}, {160, 30}, 20);
  cv::Point2f c[4];
  drawn.points(c);
  std::vector<cv::Point> poly(c, c + 4);
  cv::fillConvexPoly(prob, poly, cv::Scalar(0.8));
  auto r = text_boxes_from_map(prob, Geometry{}, {400, 300});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  ASSERT_EQ(r->size(), 1u);
  const Quad& q = (*r)[0].box;
  EXPECT_GT((*r)[0].box_score, 0.75f);
  // Order: top-left, top-right, bottom-right, bottom-left.
  EXPECT_LT(q[0].x, q[1].x);
  EXPECT_LT(q[3].x, q[2].x);
  EXPECT_LT(q[0].y, q[3].y);
  EXPECT_LT(q[1].y, q[2].y);
  const cv::RotatedRect got = cv::minAreaRect(std::vector<cv::Point2f>(q.begin(), q.end()));
  const float long_side = std::max(got.size.width, got.size.height);
  const float short_side = std::min(got.size.width, got.size.height);
  const double d = unclip_distance(160, 30);
  EXPECT_NEAR(got.center.x, 200, 1.5);
  EXPECT_NEAR(got.center.y, 150, 1.5);
  EXPECT_NEAR(long_side, 160 + 2 * d, 3.0);
  EXPECT_NEAR(short_side, 30 + 2 * d, 3.0);
  const double angle = std::atan2(q[1].y - q[0].y, q[1].x - q[0].x) * 180 / CV_PI;
  EXPECT_NEAR(angle, 20, 1.0);
}

TEST(TextBoxes, ScoreFilterAndMinSize) {
  cv::Mat prob = cv::Mat::zeros(100, 200, CV_32FC1);
  prob(cv::Rect(20, 20, 60, 15)).setTo(0.5f);   // text pixels, but a weak box
  prob(cv::Rect(120, 20, 60, 15)).setTo(0.95f);  // strong box
  prob(cv::Rect(150, 80, 2, 2)).setTo(1.0f);     // too small (side 1 < 3)
  auto r = text_boxes_from_map(prob, Geometry{}, {200, 100});
  ASSERT_TRUE(r.is_ok());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_NEAR((*r)[0].box_score, 0.95f, 1e-5);
  TextBoxOptions lenient;
  lenient.box_thresh = 0.4f;
  r = text_boxes_from_map(prob, Geometry{}, {200, 100}, lenient);
  ASSERT_TRUE(r.is_ok());
  ASSERT_EQ(r->size(), 2u);
  EXPECT_NEAR((*r)[0].box_score, 0.5f, 1e-5);  // left box first
  lenient.thresh = 0.6f;  // the weak block is no longer text at all
  r = text_boxes_from_map(prob, Geometry{}, {200, 100}, lenient);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->size(), 1u);
}

TEST(TextBoxes, EmptyMapAndErrors) {
  cv::Mat prob = cv::Mat::zeros(64, 64, CV_32FC1);
  auto r = text_boxes_from_map(prob, Geometry{}, {64, 64});
  ASSERT_TRUE(r.is_ok());
  EXPECT_TRUE(r->empty());
  EXPECT_FALSE(text_boxes_from_map(cv::Mat(), Geometry{}, {64, 64}).is_ok());
  EXPECT_FALSE(text_boxes_from_map(cv::Mat::zeros(8, 8, CV_8UC1), Geometry{}, {64, 64}).is_ok());
  EXPECT_FALSE(text_boxes_from_map(prob, Geometry{}, {0, 64}).is_ok());
  Tensor wrong(DType::f32, Shape{1, 2, 8, 8});
  auto e = text_boxes_from_tensor(wrong.view(), Geometry{}, {8, 8});
  ASSERT_FALSE(e.is_ok());
  EXPECT_NE(e.status().message().find("1x2x8x8"), std::string::npos);
}

TEST(TextBoxes, UnclipGrowsByAreaTimesRatioOverPerimeter) {
  const Quad box{cv::Point2f(10, 10), {110, 10}, {110, 30}, {10, 30}};
  const double d = 100.0 * 20 * 1.5 / 240;  // 12.5
  const std::vector<cv::Point2f> grown = text_boxes_unclip(box, 1.5f);
  ASSERT_GE(grown.size(), 8u);  // rounded corners
  // Extent of the vertices (cv::boundingRect would count pixels, one more than the extent).
  auto extent = [](const std::vector<cv::Point2f>& pts) {
    float x0 = pts[0].x, x1 = pts[0].x, y0 = pts[0].y, y1 = pts[0].y;
    for (const cv::Point2f& p : pts) x0 = std::min(x0, p.x), x1 = std::max(x1, p.x), y0 = std::min(y0, p.y), y1 = std::max(y1, p.y);
    return cv::Rect2f(x0, y0, x1 - x0, y1 - y0);
  };
  const cv::Rect2f bb = extent(grown);
  EXPECT_NEAR(bb.x, 10 - d, 1.0);
  EXPECT_NEAR(bb.y, 10 - d, 1.0);
  EXPECT_NEAR(bb.x + bb.width, 110 + d, 1.0);
  EXPECT_NEAR(bb.y + bb.height, 30 + d, 1.0);
  // Every vertex lies about d from the original rectangle.
  for (const cv::Point2f& p : grown) {
    const double dx = std::max({10.0 - p.x, 0.0, p.x - 110.0});
    const double dy = std::max({10.0 - p.y, 0.0, p.y - 30.0});
    EXPECT_NEAR(std::hypot(dx, dy), d, 1.0) << p;
  }
  const std::vector<cv::Point2f> wider = text_boxes_unclip(box, 3.0f);
  EXPECT_NEAR(extent(wider).width, 100 + 4 * d, 1.0);
}

TEST(TextBoxes, GeometryMapsToSourcePixelsAndClips) {
  // Map at half the source resolution; a block touching the right edge must clip to it.
  cv::Mat prob = cv::Mat::zeros(50, 100, CV_32FC1);
  prob(cv::Rect(10, 10, 40, 10)).setTo(0.9f);
  prob(cv::Rect(80, 30, 20, 10)).setTo(0.9f);
  Geometry g;
  g.scale_x = g.scale_y = 0.5f;
  auto r = text_boxes_from_map(prob, g, {200, 100});
  ASSERT_TRUE(r.is_ok());
  ASSERT_EQ(r->size(), 2u);
  const double d = unclip_distance(39, 9);
  EXPECT_NEAR((*r)[0].box[0].x, 2 * (10 - d), 2.0);
  EXPECT_NEAR((*r)[0].box[2].x, 2 * (49 + d), 2.0);
  EXPECT_EQ((*r)[1].box[1].x, 199.f);
}

TEST(TextBoxes, SortsTopToBottomThenLeftToRight) {
  auto make = [](float x, float y) {
    TextResult t;
    t.box = {cv::Point2f(x, y), {x + 10, y}, {x + 10, y + 5}, {x, y + 5}};
    return t;
  };
  // Same line with tops 4 px apart (right one higher), and a second line.
  std::vector<TextResult> boxes = {make(100, 50), make(5, 54), make(200, 10), make(50, 12)};
  text_boxes_sort(boxes);
  EXPECT_EQ(boxes[0].box[0], cv::Point2f(50, 12));
  EXPECT_EQ(boxes[1].box[0], cv::Point2f(200, 10));
  EXPECT_EQ(boxes[2].box[0], cv::Point2f(5, 54));
  EXPECT_EQ(boxes[3].box[0], cv::Point2f(100, 50));
}

}  // namespace
}  // namespace ep::pipeline
