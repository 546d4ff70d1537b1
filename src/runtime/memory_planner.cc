#include "runtime/memory_planner.h"

#include <algorithm>
#include <numeric>

#include "edgepipe/arena.h"

namespace ep::runtime {
namespace {
bool lifetimes_overlap(const BufferRequest& a, const BufferRequest& b) {
  return a.first_step <= b.last_step && b.first_step <= a.last_step;
}
}  // namespace

MemoryPlan plan_memory(std::span<const BufferRequest> requests) {
  MemoryPlan plan;
  plan.offsets.assign(requests.size(), 0);
  std::vector<size_t> order(requests.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return requests[a].bytes > requests[b].bytes; });
  std::vector<size_t> placed;
  struct Range {
    size_t begin, end;
  };
  std::vector<Range> busy;
  for (size_t i : order) {
    const size_t need = arena_align(requests[i].bytes);
    busy.clear();
    for (size_t j : placed)
      if (lifetimes_overlap(requests[i], requests[j]))
        busy.push_back({plan.offsets[j], plan.offsets[j] + arena_align(requests[j].bytes)});
    std::sort(busy.begin(), busy.end(), [](const Range& a, const Range& b) { return a.begin < b.begin; });
    size_t offset = 0;
    for (const Range& r : busy) {
      if (r.begin >= offset + need) break;  // fits in the gap before r
      offset = std::max(offset, r.end);
    }
    plan.offsets[i] = offset;
    plan.total_bytes = std::max(plan.total_bytes, offset + need);
    placed.push_back(i);
  }
  return plan;
}

MemoryPlan plan_memory_without_reuse(std::span<const BufferRequest> requests) {
  MemoryPlan plan;
  for (const BufferRequest& r : requests) {
    plan.offsets.push_back(plan.total_bytes);
    plan.total_bytes += arena_align(r.bytes);
  }
  return plan;
}

bool memory_plan_is_valid(std::span<const BufferRequest> requests, const MemoryPlan& plan) {
  if (plan.offsets.size() != requests.size()) return false;
  for (size_t i = 0; i < requests.size(); ++i) {
    if (plan.offsets[i] % 64 != 0 || plan.offsets[i] + requests[i].bytes > plan.total_bytes) return false;
    for (size_t j = i + 1; j < requests.size(); ++j) {
      if (!lifetimes_overlap(requests[i], requests[j]) || requests[i].bytes == 0 || requests[j].bytes == 0) continue;
      const size_t a0 = plan.offsets[i], a1 = a0 + requests[i].bytes;
      const size_t b0 = plan.offsets[j], b1 = b0 + requests[j].bytes;
      if (a0 < b1 && b0 < a1) return false;
    }
  }
  return true;
}

}  // namespace ep::runtime
