#include "runtime/memory_planner.h"

#include <gtest/gtest.h>

#include <random>

namespace ep::runtime {

TEST(MemoryPlanner, ChainReusesMemory) {
  // a -> b -> c -> d: each buffer lives two steps, so two slots suffice.
  const std::vector<BufferRequest> r = {{1000, 0, 1}, {1000, 1, 2}, {1000, 2, 3}, {1000, 3, 3}};
  const MemoryPlan p = plan_memory(r);
  EXPECT_TRUE(memory_plan_is_valid(r, p));
  EXPECT_EQ(p.total_bytes, 2 * 1024u);
}

TEST(MemoryPlanner, ValidatorCatchesOverlap) {
  const std::vector<BufferRequest> r = {{100, 0, 2}, {100, 1, 3}};
  MemoryPlan bad{{0, 0}, 128};
  EXPECT_FALSE(memory_plan_is_valid(r, bad));
}

// Property: on random lifetimes the plan never overlaps live buffers and never needs more
// than giving every buffer its own bytes.
TEST(MemoryPlanner, RandomLifetimesNeverOverlap) {
  for (uint32_t seed = 0; seed < 200; ++seed) {
    std::mt19937 rng(seed);
    const int steps = 1 + static_cast<int>(rng() % 40);
    std::vector<BufferRequest> r(1 + rng() % 60);
    for (BufferRequest& b : r) {
      b.first_step = static_cast<int>(rng() % steps);
      b.last_step = b.first_step + static_cast<int>(rng() % 6);
      b.bytes = rng() % 5 == 0 ? 0 : 1 + rng() % 100000;
    }
    const MemoryPlan p = plan_memory(r);
    ASSERT_TRUE(memory_plan_is_valid(r, p)) << "seed " << seed;
    ASSERT_LE(p.total_bytes, plan_memory_without_reuse(r).total_bytes) << "seed " << seed;
  }
}

}  // namespace ep::runtime
