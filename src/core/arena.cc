#include "edgepipe/arena.h"

#include <sys/mman.h>

#include <cstdlib>
#include <new>

namespace ep {

void* alloc_buffer(size_t bytes) {
  constexpr size_t kHugePage = size_t{2} << 20;
  const size_t size = bytes == 0 ? 64 : arena_align(bytes);
  if (size >= kHugePage) {
    void* p = nullptr;
    if (posix_memalign(&p, kHugePage, size) == 0) {
      // The whole 2 MiB pages only: the tail stays on 4 KiB pages, so the resident size does
      // not grow (where THP is off this is a no-op).
      madvise(p, size & ~(kHugePage - 1), MADV_HUGEPAGE);
      return p;
    }
  }
  return std::aligned_alloc(64, size);
}

void BufferFree::operator()(void* p) const { std::free(p); }

Arena::Arena(size_t bytes) : size_(arena_align(bytes)) {
  void* p = alloc_buffer(size_);
  if (!p) throw std::bad_alloc();
  data_.reset(p);
}

}  // namespace ep
