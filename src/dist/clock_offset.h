// NTP-style clock offset between two nodes from PING/PONG exchanges: the sender stamps t0,
// the peer t1 (received) and t2 (replied), the sender t3 (reply received).
//   offset = ((t1 - t0) + (t2 - t3)) / 2   (peer clock minus local clock)
//   delay  = (t3 - t0) - (t2 - t1)          (round trip spent on the wire)
// The sample with the smallest delay bounds the error best (|error| <= delay / 2).
#pragma once

#include <cstdint>
#include <span>

namespace ep::dist {

struct PingSample {
  int64_t t0 = 0, t1 = 0, t2 = 0, t3 = 0;
};

struct ClockOffset {
  int64_t offset_ns = 0;  // peer minus local
  int64_t delay_ns = 0;   // of the sample used; the error is at most delay_ns / 2
  int samples = 0;
};

ClockOffset clock_offset_of(const PingSample& s);
// The minimum-delay sample; samples == 0 when `samples` is empty.
ClockOffset clock_offset_estimate(std::span<const PingSample> samples);

}  // namespace ep::dist
