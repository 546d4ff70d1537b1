// libFuzzer target: untrusted bytes as a partition plan.json (partition::parse_plan). Any
// crash, sanitizer report or hang is a bug; errors are fine. The plan folder holds empty
// shard_0..3.onnx files so that valid plans get past the shard checks.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "partition/plan.h"

namespace {

const std::string& plan_dir() {
  static const std::string dir = [] {
    const auto d = std::filesystem::temp_directory_path() / ("edgepipe_plan_fuzz_" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    for (int i = 0; i < 4; ++i) std::ofstream(d / ("shard_" + std::to_string(i) + ".onnx")) << "x";
    return d.string();
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto plan = ep::partition::parse_plan(std::string(reinterpret_cast<const char*>(data), size), plan_dir());
  if (plan.is_ok()) (void)ep::partition::plan_to_json(*plan);  // a valid plan serializes again
  return 0;
}
