// Tensors between processes on one host through shared memory (docs/protocol.md, "Shared
// memory on one host"). Over tcp:// or ipc:// a tensor is copied twice by the kernel (into
// the socket, out of it): for a 1x3x640x640 f32 frame that is most of a hop (a 4.9 MB memcpy
// takes 0.7-0.9 ms on a Zen 1 core). A sender on the same host can instead write the tensor
// into a segment of its own and send only a reference in the header; the receiver maps the
// segment read-only and reads the tensor in place. The header still travels over ZeroMQ, so
// ordering, CURVE and the node's protocol are unchanged.
//
// The segment is a memfd named "edgepipe-<token>" (token: 128 random bits as hex), sealed
// against shrinking and growing, so a mapping of it can never fault past its end (SIGBUS).
// A receiver finds it as /proc/<pid>/fd/<fd>: it reads the link first (no open of anything
// that is not that memfd, so no FIFO or device of some process is ever opened), opens it
// non-blocking and read-only, and checks the name, the seals, the owner and the size again
// on the open descriptor before it maps. The token is the capability: a reference that
// does not name a live segment by its token is refused.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>

#include "dist/wire.h"
#include "edgepipe/status.h"
#include "edgepipe/tensor.h"

namespace ep::dist {

// A sender's segment: tensors are allocated in it (64-byte aligned) and referenced from
// headers. The writer decides when the receiver is done with an allocation (the reply).
class ShmSegment {
 public:
  static Result<std::unique_ptr<ShmSegment>> create(size_t bytes);
  ~ShmSegment();
  ShmSegment(const ShmSegment&) = delete;
  ShmSegment& operator=(const ShmSegment&) = delete;

  // A writable tensor in the segment; resource_exhausted when it does not fit.
  Result<TensorView> allocate(DType dtype, const Shape& shape);
  // Releases every allocation after the first `mark` bytes (see used()).
  void release_to(size_t mark) { used_ = mark < used_ ? mark : used_; }
  size_t used() const { return used_; }
  size_t size() const { return size_; }

  // Whether [p, p + n) lies inside the segment.
  bool contains(const void* p, size_t n) const;
  // The reference to the tensor at `p` (inside the segment).
  void describe(const void* p, wire::ShmRef* ref) const;
  const std::string& token() const { return token_; }

 private:
  ShmSegment() = default;
  int fd_ = -1;
  uint8_t* base_ = nullptr;
  size_t size_ = 0, used_ = 0;
  std::string token_;
};

// A receiver's view of senders' segments: each is validated and mapped read-only once, then
// kept (up to `max_segments`, the least recently used unmapped first; a mapping stays alive
// while a decoded message holds it). One thread at a time.
class ShmMapper {
 public:
  explicit ShmMapper(size_t max_segments = 16) : max_segments_(max_segments) {}
  ~ShmMapper();
  ShmMapper(const ShmMapper&) = delete;
  ShmMapper& operator=(const ShmMapper&) = delete;

  // The `nbytes` bytes at ref.offset of the segment `ref` names. `keep` receives a handle
  // that keeps the mapping alive. Errors name the field that is wrong.
  Result<std::span<const uint8_t>> resolve(const wire::ShmRef& ref, size_t nbytes, std::shared_ptr<const void>* keep);

  size_t mapped() const { return segments_.size(); }

 private:
  struct Mapping;
  size_t max_segments_;
  uint64_t tick_ = 0;
  std::map<std::string, std::pair<std::shared_ptr<Mapping>, uint64_t>> segments_;  // token -> mapping, last use
};

// The field checks a reference must pass before anything is opened (also run by decode()).
Status validate_shm_ref(const wire::ShmRef& ref);

}  // namespace ep::dist
