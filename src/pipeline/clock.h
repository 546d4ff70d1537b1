// Time for the pipeline. Stages read time only through a Clock so tests can inject a
// fake one and stay fast and deterministic.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace ep::pipeline {

// Nanoseconds since an arbitrary epoch (steady, never goes back).
using TimeNs = int64_t;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimeNs now() const = 0;
  // Blocks the caller until now() >= deadline (or returns at once when it is past).
  virtual void sleep_until(TimeNs deadline) = 0;
};

// std::chrono::steady_clock.
class SteadyClock final : public Clock {
 public:
  TimeNs now() const override;
  void sleep_until(TimeNs deadline) override;
  static SteadyClock& instance();
};

// A clock that moves only when a test advances it. sleep_until blocks until another
// thread advances time past the deadline.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(TimeNs start = 0) : now_(start) {}
  TimeNs now() const override { return now_.load(); }
  void sleep_until(TimeNs deadline) override;
  void advance(TimeNs delta);
  void set(TimeNs t);
  // Number of threads blocked in sleep_until right now (lets a test wait for a stage to park).
  int sleepers() const;

 private:
  std::atomic<TimeNs> now_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  int sleepers_ = 0;
};

inline constexpr TimeNs kMs = 1'000'000;
inline constexpr TimeNs kSec = 1'000'000'000;

}  // namespace ep::pipeline
