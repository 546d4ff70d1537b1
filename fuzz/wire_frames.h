// How the wire fuzz target cuts its input into the frames of one multipart message: each
// frame is a little-endian u16 length then that many bytes (fewer if the input ends).
// make_wire_corpus writes seeds this way and dist_test replays them into a live node.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace ep::fuzz {

inline constexpr size_t kMaxFuzzFrames = 80;

inline std::vector<std::string> wire_frames_split(const uint8_t* data, size_t size) {
  std::vector<std::string> frames;
  size_t i = 0;
  while (i < size && frames.size() < kMaxFuzzFrames) {
    size_t len = data[i];
    if (i + 1 < size) len |= static_cast<size_t>(data[i + 1]) << 8;
    i += 2;
    const size_t n = i < size ? std::min(len, size - i) : 0;
    frames.emplace_back(reinterpret_cast<const char*>(data) + std::min(i, size), n);
    i += n;
  }
  return frames;
}

inline std::string wire_frames_join(const std::vector<std::string>& frames) {
  std::string out;
  for (const std::string& f : frames) {
    const size_t n = std::min<size_t>(f.size(), 0xffff);
    out += static_cast<char>(n & 0xff);
    out += static_cast<char>(n >> 8);
    out += f.substr(0, n);
  }
  return out;
}

}  // namespace ep::fuzz
