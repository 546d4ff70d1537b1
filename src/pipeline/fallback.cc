#include "pipeline/fallback.h"

namespace ep::pipeline {

FallbackSwitch::Model FallbackSwitch::choose() {
  if (!on_fallback_) return Model::primary;
  if (o_.probe_every > 0 && ++since_probe_ >= o_.probe_every) {
    since_probe_ = 0;
    return Model::primary;
  }
  return Model::fallback;
}

std::string FallbackSwitch::record(Model used, TimeNs compute, bool failed) {
  const bool missed = failed || (o_.budget > 0 && compute > o_.budget);
  if (!on_fallback_) {
    misses_ = missed ? misses_ + 1 : 0;
    if (misses_ < o_.misses_to_switch) return "";
    on_fallback_ = true;
    misses_ = 0;
    since_probe_ = 0;
    ++to_fallback_;
    return "switched to the fallback model after " + std::to_string(o_.misses_to_switch) + " consecutive " +
           (failed ? "failures" : "budget misses");
  }
  if (used == Model::primary && !missed) {
    on_fallback_ = false;
    ++to_primary_;
    return "switched back to the primary model (probe within budget: " + std::to_string(compute / 1000) + " us)";
  }
  return "";
}

}  // namespace ep::pipeline
