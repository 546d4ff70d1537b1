// The dynamic program against brute force over every placement of the cuts.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "partition/splitter.h"

namespace ep::partition {
namespace {

struct Best {
  double bottleneck = INFINITY, latency = INFINITY;  // latency: the best among the smallest bottleneck
  double latency_under_floor = INFINITY;
};

// Enumerates every choice of K-1 allowed cut positions.
Best brute_force(const CostTable& t, size_t k, double max_period) {
  const size_t n = t.num_nodes();
  Best b;
  std::vector<size_t> bounds(k + 1, 0);
  bounds[k] = n;
  std::vector<Split> all;
  auto rec = [&](auto&& self, size_t s, size_t from) -> void {
    if (s == k) {
      all.push_back(evaluate_split(t, bounds));
      return;
    }
    for (size_t p = from; p + (k - s) <= n; ++p) {
      if (!t.cut_allowed[p]) continue;
      bounds[s] = p;
      self(self, s + 1, p + 1);
    }
  };
  if (k == 1) all.push_back(evaluate_split(t, bounds));
  else rec(rec, 1, 1);
  for (const Split& s : all) b.bottleneck = std::min(b.bottleneck, s.bottleneck_s);
  for (const Split& s : all) {
    if (s.bottleneck_s <= b.bottleneck * (1 + 1e-9)) b.latency = std::min(b.latency, s.latency_s);
    if (s.bottleneck_s <= max_period) b.latency_under_floor = std::min(b.latency_under_floor, s.latency_s);
  }
  return b;
}

CostTable random_table(std::mt19937& rng, size_t n, size_t devices) {
  std::uniform_real_distribution<double> cost(0.0, 10.0);
  std::uniform_int_distribution<int> coin(0, 3);
  CostTable t;
  for (size_t d = 0; d < devices; ++d) {
    std::vector<double> row(n);
    const double speed = 0.5 + d;  // devices of different speeds
    for (double& c : row) c = coin(rng) == 0 ? 0.0 : cost(rng) * speed;  // fused-away nodes cost 0
    t.node_s.push_back(row);
  }
  t.cut_bytes.assign(n + 1, 0);
  t.cut_allowed.assign(n + 1, true);
  // Tensors with random producers and last users: a cut is crossed by every tensor that spans it.
  std::uniform_int_distribution<size_t> pos(0, n);
  for (int i = 0; i < static_cast<int>(n); ++i) {
    size_t a = pos(rng), b = pos(rng);
    if (a > b) std::swap(a, b);
    const double bytes = static_cast<double>(1 + coin(rng)) * 100;
    for (size_t p = a + 1; p <= b && p < n; ++p) t.cut_bytes[p] += bytes;
  }
  for (size_t p = 1; p < n; ++p) t.cut_allowed[p] = coin(rng) != 0;
  // Layout conversion at a stage's edges: proportional to the bytes, per device.
  for (size_t d = 0; d < devices; ++d) {
    const double rate = coin(rng) == 0 ? 0.0 : 0.01 * static_cast<double>(d + 1);
    std::vector<double> in(n + 1), out(n + 1);
    for (size_t p = 0; p <= n; ++p) in[p] = rate * t.cut_bytes[p], out[p] = 0.5 * rate * t.cut_bytes[p];
    t.edge_in_s.push_back(in);
    t.edge_out_s.push_back(out);
  }
  t.contention = coin(rng) == 0 ? 1.0 : 1.15;
  if (coin(rng) == 0) t.link = Link{1000.0, 0.5};
  return t;
}

TEST(Splitter, MatchesBruteForceOnRandomTables) {
  std::mt19937 rng(7);
  int checked = 0, multi_tensor_cuts = 0;
  for (int trial = 0; trial < 400; ++trial) {
    const size_t n = 1 + rng() % 10, k = 1 + rng() % 4;
    CostTable t = random_table(rng, n, k);
    for (size_t p = 1; p < n; ++p) multi_tensor_cuts += t.cut_bytes[p] > 400;
    const Best b = brute_force(t, k, INFINITY);
    auto s = split(t, k, Objective::throughput);
    if (b.bottleneck == INFINITY) {
      EXPECT_FALSE(s.is_ok()) << "trial " << trial;
      continue;
    }
    ASSERT_TRUE(s.is_ok()) << "trial " << trial << ": " << s.status().to_string();
    EXPECT_NEAR(s->bottleneck_s, b.bottleneck, 1e-9) << "trial " << trial;
    EXPECT_NEAR(s->latency_s, b.latency, 1e-9) << "trial " << trial;
    ASSERT_EQ(s->bounds.size(), k + 1);
    const Split again = evaluate_split(t, s->bounds);
    EXPECT_DOUBLE_EQ(again.bottleneck_s, s->bottleneck_s);
    // Latency under a throughput floor between the best bottleneck and twice it.
    const double floor_period = b.bottleneck * (1.0 + static_cast<double>(rng() % 100) / 100.0);
    const Best bf = brute_force(t, k, floor_period);
    auto l = split(t, k, Objective::latency, floor_period);
    ASSERT_TRUE(l.is_ok()) << "trial " << trial;
    EXPECT_NEAR(l->latency_s, bf.latency_under_floor, 1e-9) << "trial " << trial;
    EXPECT_LE(l->bottleneck_s, floor_period * (1 + 1e-12));
    ++checked;
  }
  EXPECT_GT(checked, 200);
  EXPECT_GT(multi_tensor_cuts, 100);  // many cuts were crossed by several tensors
}

TEST(Splitter, UnreachableFloorIsAnError) {
  std::mt19937 rng(3);
  CostTable t = random_table(rng, 6, 2);
  auto best = split(t, 2, Objective::throughput);
  ASSERT_TRUE(best.is_ok());
  EXPECT_FALSE(split(t, 2, Objective::latency, best->bottleneck_s * 0.5).is_ok());
}

TEST(Splitter, ValidatesTheTable) {
  CostTable t;
  t.node_s = {{1, 2, 3}};
  t.cut_bytes = {0, 0, 0, 0};
  t.cut_allowed = {true, false, false, true};
  EXPECT_FALSE(split(t, 2, Objective::throughput).is_ok());  // no allowed cut
  t.cut_allowed[1] = true;
  EXPECT_FALSE(split(t, 2, Objective::throughput).is_ok());  // one device for two stages
  t.node_s.push_back({1, 2, 3});
  auto s = split(t, 2, Objective::throughput);
  ASSERT_TRUE(s.is_ok());
  EXPECT_EQ(s->bounds, (std::vector<size_t>{0, 1, 3}));
  t.node_s[0][0] = NAN;
  EXPECT_FALSE(split(t, 2, Objective::throughput).is_ok());
}

}  // namespace
}  // namespace ep::partition
