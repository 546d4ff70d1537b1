// One 64-byte-aligned block of memory, sized once by the memory planner and carved
// into tensors by offset. No allocation after creation.
#pragma once

#include <cstddef>
#include <memory>

namespace ep {

class Arena {
 public:
  Arena() = default;
  explicit Arena(size_t bytes);
  size_t size() const { return size_; }
  void* at(size_t offset) const { return static_cast<char*>(data_.get()) + offset; }
  void* data() const { return data_.get(); }

 private:
  struct FreeDeleter {
    void operator()(void* p) const;
  };
  std::unique_ptr<void, FreeDeleter> data_;
  size_t size_ = 0;
};

// Rounds up to the arena alignment.
constexpr size_t arena_align(size_t bytes) { return (bytes + 63) & ~size_t{63}; }

}  // namespace ep
