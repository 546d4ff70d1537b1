// Places intermediate tensors in one arena by lifetime: two buffers share bytes only when
// their live step ranges do not overlap.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

namespace ep::runtime {

struct BufferRequest {
  size_t bytes = 0;
  int first_step = 0;  // step that writes it
  int last_step = 0;   // last step that reads it (inclusive)
};

struct MemoryPlan {
  std::vector<size_t> offsets;  // one per request, 64-byte aligned
  size_t total_bytes = 0;
};

// Greedy by size: largest buffers first, each at the lowest offset that fits beside the
// already-placed buffers whose lifetimes overlap it.
MemoryPlan plan_memory(std::span<const BufferRequest> requests);
// The oracle: every buffer gets its own bytes.
MemoryPlan plan_memory_without_reuse(std::span<const BufferRequest> requests);
// True when no two lifetime-overlapping buffers overlap in memory and all fit in total_bytes.
bool memory_plan_is_valid(std::span<const BufferRequest> requests, const MemoryPlan& plan);

}  // namespace ep::runtime
