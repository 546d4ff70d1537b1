#include "dist/clock_offset.h"

namespace ep::dist {

ClockOffset clock_offset_of(const PingSample& s) {
  ClockOffset c;
  c.offset_ns = ((s.t1 - s.t0) + (s.t2 - s.t3)) / 2;
  c.delay_ns = (s.t3 - s.t0) - (s.t2 - s.t1);
  c.samples = 1;
  return c;
}

ClockOffset clock_offset_estimate(std::span<const PingSample> samples) {
  ClockOffset best;
  for (const PingSample& s : samples) {
    const ClockOffset c = clock_offset_of(s);
    if (best.samples == 0 || c.delay_ns < best.delay_ns) best = c;
  }
  best.samples = static_cast<int>(samples.size());
  return best;
}

}  // namespace ep::dist
