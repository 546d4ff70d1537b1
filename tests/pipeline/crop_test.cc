#include "pipeline/crop.h"

#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>

namespace ep::pipeline {
namespace {

// A 120x40 rectangle rotated by 25 degrees: grey fill with a black bar on its left third,
// so the crop must come out upright with the bar on the left.
TEST(Crop, RotatedRectangleComesOutUpright) {
  cv::Mat img(300, 300, CV_8UC3, cv::Scalar(255, 255, 255));
  const cv::RotatedRect rect({150, 150}, {120, 40}, 25);
  cv::Point2f c[4];
  rect.points(c);  // bottom-left, top-left, top-right, bottom-right for this angle
  const Quad quad{c[1], c[2], c[3], c[0]};
  std::vector<cv::Point> poly(c, c + 4);
  cv::fillConvexPoly(img, poly, cv::Scalar(128, 128, 128), cv::LINE_AA);
  // The bar: the first third of the box along its top edge.
  const cv::Point2f along = (quad[1] - quad[0]) * (1.f / 3);
  std::vector<cv::Point> bar = {quad[0], quad[0] + along, quad[3] + along, quad[3]};
  cv::fillConvexPoly(img, bar, cv::Scalar(0, 0, 0), cv::LINE_AA);

  auto crop = crop_text_region(img, quad);
  ASSERT_TRUE(crop.is_ok()) << crop.status().to_string();
  EXPECT_NEAR(crop->cols, 120, 1);
  EXPECT_NEAR(crop->rows, 40, 1);
  ASSERT_EQ(crop->type(), CV_8UC3);
  cv::Mat grey;
  cv::cvtColor(*crop, grey, cv::COLOR_BGR2GRAY);
  // Away from the antialiased edges: bar on the left, grey fill on the right.
  EXPECT_LT(cv::mean(grey(cv::Rect(5, 5, 30, 30)))[0], 10);
  EXPECT_NEAR(cv::mean(grey(cv::Rect(50, 5, 60, 30)))[0], 128, 3);
}

TEST(Crop, TallBoxIsRotatedCounterClockwise) {
  cv::Mat img(200, 200, CV_8UC3, cv::Scalar(255, 255, 255));
  cv::rectangle(img, cv::Rect(50, 20, 30, 100), cv::Scalar(128, 128, 128), cv::FILLED);
  cv::rectangle(img, cv::Rect(50, 20, 30, 20), cv::Scalar(0, 0, 0), cv::FILLED);  // top end black
  const Quad quad{cv::Point2f(50, 20), {80, 20}, {80, 120}, {50, 120}};
  auto crop = crop_text_region(img, quad);
  ASSERT_TRUE(crop.is_ok());
  EXPECT_EQ(crop->cols, 100);
  EXPECT_EQ(crop->rows, 30);
  // Counter-clockwise: the top end lands on the left.
  cv::Mat grey;
  cv::cvtColor(*crop, grey, cv::COLOR_BGR2GRAY);
  EXPECT_LT(cv::mean(grey(cv::Rect(2, 5, 15, 20)))[0], 10);
  EXPECT_NEAR(cv::mean(grey(cv::Rect(40, 5, 50, 20)))[0], 128, 2);
}

TEST(Crop, Errors) {
  const Quad quad{cv::Point2f(0, 0), {10, 0}, {10, 10}, {0, 10}};
  EXPECT_FALSE(crop_text_region(cv::Mat(), quad).is_ok());
  const Quad flat{cv::Point2f(5, 5), {5.2f, 5}, {5.2f, 5}, {5, 5}};
  EXPECT_FALSE(crop_text_region(cv::Mat(20, 20, CV_8UC3), flat).is_ok());
}

}  // namespace
}  // namespace ep::pipeline
