// One 64-byte-aligned block of memory (on huge pages from 2 MiB: alloc_buffer), sized once
// by the memory planner and carved into tensors by offset. No allocation after creation.
#pragma once

#include <cstddef>
#include <memory>
#include <new>
#include <vector>

namespace ep {

// Memory for a large long-lived buffer (weights, a session's arena), freed with std::free.
// From 2 MiB up it is 2 MiB-aligned and its whole 2 MiB pages are marked for transparent huge
// pages (madvise MADV_HUGEPAGE, before anything touches them): a model's weights are streamed
// through once per inference, and on 4 KiB pages every page of them costs a TLB miss
// (ResNet-50's 100 MB: 25k pages). Smaller buffers are 64-byte aligned. Null when out of memory.
void* alloc_buffer(size_t bytes);

struct BufferFree {
  void operator()(void* p) const;
};
using Buffer = std::unique_ptr<void, BufferFree>;

// A std::vector allocator on alloc_buffer, for kernels' large weight arrays.
template <typename T>
struct BufferAllocator {
  using value_type = T;
  BufferAllocator() = default;
  template <typename U>
  BufferAllocator(const BufferAllocator<U>&) {}
  T* allocate(size_t n) {
    void* p = alloc_buffer(n * sizeof(T));
    if (!p) throw std::bad_alloc();
    return static_cast<T*>(p);
  }
  void deallocate(T* p, size_t) { BufferFree()(p); }
  template <typename U>
  bool operator==(const BufferAllocator<U>&) const { return true; }
};
template <typename T>
using BufferVector = std::vector<T, BufferAllocator<T>>;

class Arena {
 public:
  Arena() = default;
  explicit Arena(size_t bytes);
  size_t size() const { return size_; }
  void* at(size_t offset) const { return static_cast<char*>(data_.get()) + offset; }
  void* data() const { return data_.get(); }

 private:
  Buffer data_;
  size_t size_ = 0;
};

// Rounds up to the arena alignment.
constexpr size_t arena_align(size_t bytes) { return (bytes + 63) & ~size_t{63}; }

}  // namespace ep
