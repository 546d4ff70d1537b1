#include "dist/shm.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>

namespace ep::dist {

namespace {

constexpr size_t kAlign = 64;
constexpr size_t kTokenChars = 32;

std::string random_token() {
  static const char kHex[] = "0123456789abcdef";
  std::random_device rd;  // getrandom(2) on Linux
  std::string t;
  for (size_t i = 0; i < kTokenChars / 8; ++i) {
    uint32_t v = rd();
    for (int k = 0; k < 8; ++k, v >>= 4) t.push_back(kHex[v & 15u]);
  }
  return t;
}

std::string memfd_name(const std::string& token) { return "edgepipe-" + token; }

// What readlink() shows for a memfd that nobody can open by a path.
std::string memfd_link(const std::string& token) { return "/memfd:" + memfd_name(token) + " (deleted)"; }

std::string read_link(const std::string& path) {
  char buf[256];
  const ssize_t n = ::readlink(path.c_str(), buf, sizeof(buf));
  return n > 0 && static_cast<size_t>(n) < sizeof(buf) ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

}  // namespace

Status validate_shm_ref(const wire::ShmRef& ref) {
  if (ref.pid() <= 0 || ref.pid() > (int64_t{1} << 22)) return invalid_argument("shm.pid ", ref.pid(), " is not a process id");
  if (ref.fd() < 0 || ref.fd() > (1 << 20)) return invalid_argument("shm.fd ", ref.fd(), " is not a file descriptor");
  if (ref.token().size() != kTokenChars) return invalid_argument("shm.token has ", ref.token().size(), " characters, expected ", kTokenChars);
  for (char c : ref.token())
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return invalid_argument("shm.token is not lowercase hex");
  return Status::ok();
}

// ---- the sender's segment ----

Result<std::unique_ptr<ShmSegment>> ShmSegment::create(size_t bytes) {
  if (bytes == 0) return invalid_argument("shared memory segment of 0 bytes");
  std::unique_ptr<ShmSegment> s(new ShmSegment());
  s->token_ = random_token();
  s->size_ = (bytes + 4095) & ~size_t{4095};
  s->fd_ = ::memfd_create(memfd_name(s->token_).c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (s->fd_ < 0) return io_error("memfd_create: ", std::strerror(errno));
  if (::ftruncate(s->fd_, static_cast<off_t>(s->size_)) != 0)
    return resource_exhausted("shared memory segment of ", s->size_, " bytes: ", std::strerror(errno));
  // Sealed: neither side can change its size, so no mapping of it can fault past the end.
  if (::fcntl(s->fd_, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0)
    return io_error("sealing the shared memory segment: ", std::strerror(errno));
  void* p = ::mmap(nullptr, s->size_, PROT_READ | PROT_WRITE, MAP_SHARED, s->fd_, 0);
  if (p == MAP_FAILED) return resource_exhausted("mapping a shared memory segment of ", s->size_, " bytes: ", std::strerror(errno));
  s->base_ = static_cast<uint8_t*>(p);
  return s;
}

ShmSegment::~ShmSegment() {
  if (base_) ::munmap(base_, size_);
  if (fd_ >= 0) ::close(fd_);
}

Result<TensorView> ShmSegment::allocate(DType dtype, const Shape& shape) {
  EP_ASSIGN_OR_RETURN(int64_t numel, checked_numel(shape));
  const size_t bytes = static_cast<size_t>(numel) * dtype_size(dtype);
  const size_t start = (used_ + kAlign - 1) & ~(kAlign - 1);
  if (start > size_ || bytes > size_ - start)
    return resource_exhausted("shared memory segment: ", bytes, " bytes asked, ", size_ - std::min(start, size_), " of ", size_,
                              " free");
  used_ = start + bytes;
  TensorView v;
  v.dtype = dtype;
  v.shape = shape;
  v.data = base_ + start;
  return v;
}

bool ShmSegment::contains(const void* p, size_t n) const {
  const auto a = reinterpret_cast<uintptr_t>(p), b = reinterpret_cast<uintptr_t>(base_);
  return a >= b && a - b <= size_ && n <= size_ - (a - b);
}

void ShmSegment::describe(const void* p, wire::ShmRef* ref) const {
  ref->set_pid(::getpid());
  ref->set_fd(fd_);
  ref->set_token(token_);
  ref->set_offset(static_cast<uint64_t>(static_cast<const uint8_t*>(p) - base_));
}

// ---- the receiver's mappings ----

struct ShmMapper::Mapping {
  const uint8_t* base = nullptr;
  size_t size = 0;
  ~Mapping() {
    if (base) ::munmap(const_cast<uint8_t*>(base), size);
  }
};

ShmMapper::~ShmMapper() = default;

Result<std::span<const uint8_t>> ShmMapper::resolve(const wire::ShmRef& ref, size_t nbytes, std::shared_ptr<const void>* keep) {
  EP_RETURN_IF_ERROR(validate_shm_ref(ref));
  auto it = segments_.find(ref.token());
  if (it == segments_.end()) {
    const std::string path = "/proc/" + std::to_string(ref.pid()) + "/fd/" + std::to_string(ref.fd());
    const std::string expected = memfd_link(ref.token());
    // The link first: nothing that is not the named memfd is opened.
    if (read_link(path) != expected)
      return invalid_argument("shm: ", path, " is not the segment edgepipe-", ref.token(), " (a sender on another host, or gone)");
    const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return io_error("shm: opening ", path, ": ", std::strerror(errno));
    struct stat st {};
    const bool same = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == ::geteuid() &&
                      read_link("/proc/self/fd/" + std::to_string(fd)) == expected;
    const int seals = ::fcntl(fd, F_GET_SEALS);
    if (!same || seals < 0 || !(seals & F_SEAL_SHRINK) || st.st_size <= 0) {
      ::close(fd);
      return invalid_argument("shm: ", path, " is not a sealed edgepipe segment of this user (seals ", seals, ")");
    }
    auto m = std::make_shared<Mapping>();
    void* p = ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_SHARED, fd, 0);
    ::close(fd);
    if (p == MAP_FAILED) return resource_exhausted("shm: mapping ", st.st_size, " bytes of ", path, ": ", std::strerror(errno));
    m->base = static_cast<const uint8_t*>(p);
    m->size = static_cast<size_t>(st.st_size);
    if (segments_.size() >= max_segments_) {
      auto oldest = segments_.begin();
      for (auto i = segments_.begin(); i != segments_.end(); ++i)
        if (i->second.second < oldest->second.second) oldest = i;
      segments_.erase(oldest);
    }
    it = segments_.emplace(ref.token(), std::make_pair(std::move(m), uint64_t{0})).first;
  }
  it->second.second = ++tick_;
  const Mapping& m = *it->second.first;
  if (ref.offset() > m.size || nbytes > m.size - ref.offset())
    return out_of_range("shm: ", nbytes, " bytes at offset ", ref.offset(), " run past the segment's ", m.size, " bytes");
  *keep = it->second.first;
  return std::span<const uint8_t>(m.base + ref.offset(), nbytes);
}

}  // namespace ep::dist
