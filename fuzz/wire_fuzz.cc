// libFuzzer target: untrusted bytes as one multipart message through the wire decoder
// (src/dist/wire.h). Any crash, sanitizer report or hang is a bug; errors are fine. A
// decoded message's tensor views are read end to end, so a view past its frame (or its
// shared memory segment) shows up.
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "dist/shm.h"
#include "dist/wire.h"
#include "wire_frames.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<std::string> frames = ep::fuzz::wire_frames_split(data, size);
  std::vector<ep::dist::Frame> spans;
  for (const auto& f : frames) spans.emplace_back(reinterpret_cast<const uint8_t*>(f.data()), f.size());
  ep::dist::WireLimits limits;
  limits.max_tensor_bytes = 1 << 16;
  // References to shared memory go through a mapper: only a sealed memfd named by its token
  // is ever opened, which random bytes do not name.
  static ep::dist::ShmMapper mapper;
  auto d = ep::dist::decode(spans, limits, "fuzz", &mapper);
  if (!d.is_ok()) return 0;
  unsigned sum = 0;
  for (size_t i = 0; i < d->tensors.size(); ++i) {
    const ep::TensorView& v = d->tensors[i];
    const bool in_shm = d->header.tensors(static_cast<int>(i)).has_shm();
    if (in_shm ? !spans[i + 1].empty() : v.nbytes() != spans[i + 1].size()) std::abort();  // the decoder promised this
    for (size_t b = 0; b < v.nbytes(); ++b) sum += static_cast<const uint8_t*>(v.data)[b];
  }
  return static_cast<int>(sum & 0);
}
