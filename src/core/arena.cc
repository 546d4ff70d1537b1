#include "edgepipe/arena.h"

#include <cstdlib>
#include <new>

namespace ep {

void Arena::FreeDeleter::operator()(void* p) const { std::free(p); }

Arena::Arena(size_t bytes) : size_(arena_align(bytes)) {
  void* p = std::aligned_alloc(64, size_ == 0 ? 64 : size_);
  if (!p) throw std::bad_alloc();
  data_.reset(p);
}

}  // namespace ep
