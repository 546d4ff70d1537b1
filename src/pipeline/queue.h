// A bounded queue between two stages with an explicit overflow policy. Nothing leaves
// it unaccounted: push() hands back the frame it displaced or refused so the caller
// counts it with its reason.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string_view>

#include "pipeline/clock.h"

namespace ep::pipeline {

enum class OverflowPolicy {
  block,        // the producer waits for room (back-pressure)
  drop_oldest,  // the oldest queued item is dropped to make room (live streams)
  drop_newest,  // the arriving item is dropped
};

std::string_view to_string(OverflowPolicy p);
std::optional<OverflowPolicy> parse_overflow_policy(std::string_view s);

template <typename T>
class BoundedQueue {
 public:
  struct Entry {
    T item;
    TimeNs enqueued = 0;
  };
  enum class PushOutcome { accepted, displaced_oldest, refused, closed };
  struct PushResult {
    PushOutcome outcome = PushOutcome::accepted;
    std::optional<T> dropped;  // the displaced or refused item
  };

  BoundedQueue(size_t capacity, OverflowPolicy policy) : capacity_(capacity < 1 ? 1 : capacity), policy_(policy) {}

  size_t capacity() const { return capacity_; }
  OverflowPolicy policy() const { return policy_; }

  PushResult push(T item, TimeNs now) {
    std::unique_lock lock(mu_);
    if (closed_) return {PushOutcome::closed, std::move(item)};
    PushResult r;
    if (q_.size() >= capacity_) {
      switch (policy_) {
        case OverflowPolicy::block:
          ++producers_waiting_;
          not_full_.wait(lock, [&] { return q_.size() < capacity_ || closed_; });
          --producers_waiting_;
          if (closed_) return {PushOutcome::closed, std::move(item)};
          break;
        case OverflowPolicy::drop_oldest:
          r.outcome = PushOutcome::displaced_oldest;
          r.dropped = std::move(q_.front().item);
          q_.pop_front();
          break;
        case OverflowPolicy::drop_newest:
          return {PushOutcome::refused, std::move(item)};
      }
    }
    q_.push_back({std::move(item), now});
    ++pushed_;
    if (q_.size() > high_water_) high_water_ = q_.size();
    not_empty_.notify_one();
    return r;
  }

  // Blocks until an entry is available; nullopt once the queue is closed and empty.
  std::optional<Entry> pop() {
    std::unique_lock lock(mu_);
    not_empty_.wait(lock, [&] { return !q_.empty() || closed_; });
    return take(lock);
  }

  // Non-blocking: an entry if one is queued now.
  std::optional<Entry> try_pop() {
    std::unique_lock lock(mu_);
    return take(lock);
  }

  // Waits until an entry arrives, the queue closes, or `clock` reaches `deadline`. The
  // wait polls the clock every `poll` of real time so an injected clock can drive it.
  std::optional<Entry> pop_until(Clock& clock, TimeNs deadline, std::chrono::microseconds poll = std::chrono::microseconds(200)) {
    std::unique_lock lock(mu_);
    while (q_.empty() && !closed_ && clock.now() < deadline) not_empty_.wait_for(lock, poll);
    return take(lock);
  }

  // After close() pushes are refused, blocked producers wake, and pop() drains what is left.
  void close() {
    std::lock_guard lock(mu_);
    closed_ = true;
    not_empty_.notify_all();
    not_full_.notify_all();
  }

  bool closed() const {
    std::lock_guard lock(mu_);
    return closed_;
  }
  size_t size() const {
    std::lock_guard lock(mu_);
    return q_.size();
  }
  size_t high_water() const {
    std::lock_guard lock(mu_);
    return high_water_;
  }
  int producers_waiting() const {
    std::lock_guard lock(mu_);
    return producers_waiting_;
  }

 private:
  std::optional<Entry> take(std::unique_lock<std::mutex>&) {
    if (q_.empty()) return std::nullopt;
    Entry e = std::move(q_.front());
    q_.pop_front();
    not_full_.notify_one();
    return e;
  }

  const size_t capacity_;
  const OverflowPolicy policy_;
  mutable std::mutex mu_;
  std::condition_variable not_empty_, not_full_;
  std::deque<Entry> q_;
  bool closed_ = false;
  size_t high_water_ = 0;
  int64_t pushed_ = 0;
  int producers_waiting_ = 0;
};

}  // namespace ep::pipeline
