// When to leave the primary model for a lighter one and when to come back. The primary
// misses its budget (or fails) N times in a row -> the stage switches to the fallback.
// While on the fallback it probes the primary every `probe_every` frames; a probe within
// budget switches back. Probing is the only way to learn that the primary recovered
// (the load that slowed it may have gone), and it costs one slow frame per probe.
#pragma once

#include <cstdint>
#include <string>

#include "pipeline/clock.h"

namespace ep::pipeline {

struct FallbackOptions {
  TimeNs budget = 0;          // per-frame compute budget of the primary; 0 disables switching on time
  int misses_to_switch = 3;   // consecutive misses or failures before switching to the fallback
  int probe_every = 30;       // frames on the fallback between probes of the primary
};

class FallbackSwitch {
 public:
  enum class Model { primary, fallback };
  explicit FallbackSwitch(FallbackOptions o) : o_(o) {}

  // Which model the next frame should run on.
  Model choose();
  // The outcome of that frame. Returns a line describing a switch, or "" when none happened.
  std::string record(Model used, TimeNs compute, bool failed);

  bool on_fallback() const { return on_fallback_; }
  int64_t switches_to_fallback() const { return to_fallback_; }
  int64_t switches_to_primary() const { return to_primary_; }

 private:
  FallbackOptions o_;
  bool on_fallback_ = false;
  int misses_ = 0;
  int since_probe_ = 0;
  int64_t to_fallback_ = 0, to_primary_ = 0;
};

}  // namespace ep::pipeline
