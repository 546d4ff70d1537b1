// libFuzzer target: untrusted bytes as a weight delta (src/dist/delta.h), as a node receives
// one in UPDATE or GOSSIP_DELTAS. A delta that decodes is applied to a small model whose
// version the corpus's deltas name, so the ONNX patcher sees fuzzed patches too. Any crash,
// sanitizer report or hang is a bug; errors are fine.
#include <cstdint>
#include <cstdlib>

#include "delta_base_model.h"
#include "dist/delta.h"
#include "dist/model_host.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string base = ep::fuzz::delta_base_model();
  ep::dist::DeltaLimits limits;
  limits.max_bytes = 1 << 20;
  auto d = ep::dist::delta_decode({data, size}, limits);
  if (!d.is_ok()) return 0;
  for (const auto& p : d->body.patches()) {  // what the decoder promised
    if (p.indices_size() != p.values_size()) std::abort();
    for (int k = 0; k < p.indices_size(); ++k)
      if (p.indices(k) >= p.elements() || (k > 0 && p.indices(k) <= p.indices(k - 1))) std::abort();
  }
  auto out = ep::dist::delta_apply(base, d->body);
  if (out.is_ok() && ep::dist::model_version(out->data(), out->size()) != d->body.result_version()) std::abort();
  return 0;
}
