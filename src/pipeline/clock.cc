#include "pipeline/clock.h"

#include <thread>

namespace ep::pipeline {

TimeNs SteadyClock::now() const {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

void SteadyClock::sleep_until(TimeNs deadline) {
  const TimeNs d = deadline - now();
  if (d > 0) std::this_thread::sleep_for(std::chrono::nanoseconds(d));
}

SteadyClock& SteadyClock::instance() {
  static SteadyClock clock;
  return clock;
}

void FakeClock::sleep_until(TimeNs deadline) {
  std::unique_lock lock(mu_);
  ++sleepers_;
  cv_.notify_all();
  cv_.wait(lock, [&] { return now_.load() >= deadline; });
  --sleepers_;
}

void FakeClock::advance(TimeNs delta) {
  std::lock_guard lock(mu_);
  now_ += delta;
  cv_.notify_all();
}

void FakeClock::set(TimeNs t) {
  std::lock_guard lock(mu_);
  now_ = t;
  cv_.notify_all();
}

int FakeClock::sleepers() const {
  std::lock_guard lock(mu_);
  return sleepers_;
}

}  // namespace ep::pipeline
