#include "pipeline/queue.h"

namespace ep::pipeline {

std::string_view to_string(OverflowPolicy p) {
  switch (p) {
    case OverflowPolicy::block: return "block";
    case OverflowPolicy::drop_oldest: return "drop_oldest";
    case OverflowPolicy::drop_newest: return "drop_newest";
  }
  return "?";
}

std::optional<OverflowPolicy> parse_overflow_policy(std::string_view s) {
  if (s == "block") return OverflowPolicy::block;
  if (s == "drop_oldest") return OverflowPolicy::drop_oldest;
  if (s == "drop_newest") return OverflowPolicy::drop_newest;
  return std::nullopt;
}

}  // namespace ep::pipeline
