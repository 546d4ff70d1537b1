// libFuzzer target: untrusted bytes through Model::load_from_memory, Session::create and
// one run on zero inputs. Any crash, sanitizer report or hang is a bug; errors are fine.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "edgepipe/session.h"

namespace {

constexpr int64_t kMaxInputElements = 1'000'000;
constexpr size_t kMemoryLimit = size_t{64} << 20;   // per tensor and for the arena
constexpr size_t kMaxOutputBytes = size_t{256} << 20;

// Open dims get 1..4; a symbolic name maps to one size so inputs sharing it agree.
int64_t size_for(const std::string& param, size_t dim) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (char c : param) h = (h ^ static_cast<uint8_t>(c)) * 1099511628211ull;
  return 1 + static_cast<int64_t>((param.empty() ? dim : h) % 4);
}

void bind_open_dims(const ep::Model& model, ep::SessionOptions& opt) {
  for (const ep::IoInfo& in : model.inputs()) {
    if (in.shape.is_static()) continue;
    std::vector<int64_t> dims;
    for (size_t d = 0; d < in.shape.rank(); ++d) {
      const std::string param = d < in.dim_params.size() ? in.dim_params[d] : "";
      dims.push_back(in.shape[d] >= 0 ? in.shape[d] : size_for(param, d));
    }
    opt.input_shapes[in.name] = ep::Shape(dims);
  }
}

void exercise(const uint8_t* data, size_t size) {
  auto model = ep::Model::load_from_memory(data, size);
  if (!model.is_ok()) return;
  ep::SessionOptions opt;
  opt.memory_limit_bytes = kMemoryLimit;
  bind_open_dims(*model, opt);
  auto session = ep::Session::create(*model, opt);
  if (!session.is_ok()) return;
  int64_t elements = 0;
  for (const ep::IoInfo& in : session->inputs()) {
    elements += in.shape.numel();
    if (elements > kMaxInputElements) return;
  }
  size_t out_bytes = 0;
  for (const ep::IoInfo& out : session->outputs()) {
    out_bytes += static_cast<size_t>(out.shape.numel()) * ep::dtype_size(out.dtype);
    if (out_bytes > kMaxOutputBytes) return;
  }
  std::vector<ep::Tensor> inputs;
  for (const ep::IoInfo& in : session->inputs()) {
    auto t = ep::Tensor::create(in.dtype, in.shape);
    if (!t.is_ok()) return;
    inputs.push_back(std::move(t).value());
  }
  (void)session->run(inputs);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  exercise(data, size);
  return 0;
}
