// Calibration methods on generated distributions whose answers are known.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "quant/calibrate.h"

namespace ep::quant {
namespace {

std::vector<float> gaussian(size_t n, uint32_t seed, float sigma = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, sigma);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

TEST(QuantHistogram, MinMaxIsExactAcrossBatches) {
  Histogram h;
  const std::vector<float> a = {0.5f, -0.25f, 0.0f}, b = {3.0f, -7.5f};
  h.add(a.data(), 3);
  h.add(b.data(), 2);
  EXPECT_EQ(h.count(), 5);
  EXPECT_EQ(h.minmax().lo, -7.5f);
  EXPECT_EQ(h.minmax().hi, 3.0f);
  int64_t total = 0;
  for (int64_t c : h.bins()) total += c;
  EXPECT_EQ(total, 5);
}

TEST(QuantHistogram, GrowingAgreesWithOneBatch) {
  // A later batch with a 10x larger peak doubles the bound (merging bins) several times;
  // counts are kept and percentiles agree with one batch seen at once, to a bin or two.
  const std::vector<float> small = gaussian(50000, 3, 0.3f);
  std::vector<float> big = gaussian(50000, 4, 1.0f);
  big.push_back(12.0f);
  Histogram grown, once;
  grown.add(small.data(), static_cast<int64_t>(small.size()));
  const float first_bound = grown.bound();
  grown.add(big.data(), static_cast<int64_t>(big.size()));
  EXPECT_GE(grown.bound(), 12.0f);
  EXPECT_FLOAT_EQ(grown.bound() / first_bound, std::exp2(std::round(std::log2(grown.bound() / first_bound))));
  std::vector<float> all = small;
  all.insert(all.end(), big.begin(), big.end());
  once.add(all.data(), static_cast<int64_t>(all.size()));
  int64_t total = 0;
  for (int64_t c : grown.bins()) total += c;
  EXPECT_EQ(total, once.count());
  const float width = 2 * std::max(grown.bound(), once.bound()) / (Histogram::kBins / 2);
  for (double p : {90.0, 99.0, 99.9}) {
    EXPECT_NEAR(grown.percentile(p).hi, once.percentile(p).hi, width) << p;
    EXPECT_NEAR(grown.percentile(p).lo, once.percentile(p).lo, width) << p;
  }
}

TEST(QuantHistogram, PercentileOfUniform) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> d(0.0f, 1.0f);
  std::vector<float> v(200000);
  for (float& x : v) x = d(rng);
  Histogram h;
  h.add(v.data(), static_cast<int64_t>(v.size()));
  const Range r = h.percentile(99.0);
  EXPECT_NEAR(r.hi, 0.99f, 0.004f);
  EXPECT_GE(r.lo, 0.0f);  // never below the observed minimum
  EXPECT_NEAR(r.lo, 0.01f, 0.004f);
}

TEST(QuantHistogram, PercentileOfGaussianMatchesTheNormalQuantile) {
  const std::vector<float> v = gaussian(400000, 11);
  Histogram h;
  h.add(v.data(), static_cast<int64_t>(v.size()));
  const Range r = h.percentile(97.72);  // Phi(2) = 0.97725
  EXPECT_NEAR(r.hi, 2.0f, 0.03f);
  EXPECT_NEAR(r.lo, -2.0f, 0.03f);
  const Range all = h.percentile(100.0);
  EXPECT_EQ(all.hi, h.max());
  EXPECT_EQ(all.lo, h.min());
}

TEST(QuantHistogram, EntropyClipsRareOutliers) {
  std::vector<float> v = gaussian(200000, 5);
  for (int i = 0; i < 20; ++i) v.push_back(i % 2 ? 60.0f : -60.0f);  // 0.01% far outliers
  Histogram h;
  h.add(v.data(), static_cast<int64_t>(v.size()));
  EXPECT_EQ(h.minmax().hi, 60.0f);
  const float t = h.entropy_threshold();
  EXPECT_LT(t, 10.0f) << "the threshold should drop the outliers";
  EXPECT_GT(t, 2.5f) << "and keep the bulk of the Gaussian";
  const Range r = h.entropy();
  EXPECT_FLOAT_EQ(r.hi, t);
  EXPECT_FLOAT_EQ(r.lo, -t);
}

TEST(QuantHistogram, EntropyKeepsAWellBehavedUniformRange) {
  std::mt19937 rng(9);
  std::uniform_real_distribution<float> d(0.0f, 4.0f);
  std::vector<float> v(100000);
  for (float& x : v) x = d(rng);
  Histogram h;
  h.add(v.data(), static_cast<int64_t>(v.size()));
  // Nothing to clip: the best threshold is (close to) the maximum.
  EXPECT_GT(h.entropy_threshold(), 3.8f);
  EXPECT_GE(h.entropy().lo, 0.0f);
}

TEST(QuantHistogram, IgnoresNonFiniteAndAllZero) {
  Histogram h;
  const std::vector<float> z = {0, 0, NAN, INFINITY};
  h.add(z.data(), 4);
  EXPECT_EQ(h.count(), 2);
  EXPECT_EQ(h.minmax().lo, 0.0f);
  EXPECT_EQ(h.minmax().hi, 0.0f);
  const std::vector<float> later = {1.0f};
  h.add(later.data(), 1);
  EXPECT_EQ(h.bins()[Histogram::kBins / 2], 2);  // the zeros stay in the bin just above 0
}

TEST(QuantCalibration, MethodNames) {
  EXPECT_TRUE(parse_calibration_method("entropy").is_ok());
  auto bad = parse_calibration_method("kl");
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("--method 'kl'"), std::string::npos);
}

}  // namespace
}  // namespace ep::quant
