#include "pipeline/clock.h"

#include <gtest/gtest.h>

#include <thread>

namespace ep::pipeline {
namespace {

TEST(FakeClock, SleepReturnsOnlyAfterAdvance) {
  FakeClock clock(100);
  std::atomic<bool> woke{false};
  std::thread t([&] {
    clock.sleep_until(150);
    woke = true;
  });
  while (clock.sleepers() == 0) std::this_thread::yield();
  clock.advance(20);
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_FALSE(woke.load());
  clock.advance(30);
  t.join();
  EXPECT_TRUE(woke.load());
  EXPECT_EQ(clock.now(), 150);
}

TEST(SteadyClock, Monotonic) {
  SteadyClock& c = SteadyClock::instance();
  const TimeNs a = c.now();
  c.sleep_until(a + kMs);
  EXPECT_GE(c.now() - a, kMs);
}

}  // namespace
}  // namespace ep::pipeline
