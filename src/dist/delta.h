// Weight deltas for served models (docs/protocol.md, "Model updates by gossip"): a sparse set
// of new values for f32 initializers, from one model version to exactly one other, made by
// one origin with a per-origin sequence number. A delta travels and is stored as a
// DeltaEnvelope (wire.proto): the serialized ModelDelta and its sha256, checked before the
// payload is parsed. Decoding validates every field before anything is allocated from it;
// applying checks the base version, each initializer and index, and the result version.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "dist/wire.h"

namespace ep::dist {

struct DeltaLimits {
  size_t max_bytes = size_t{64} << 20;  // one envelope
  size_t max_patches = 4096;            // initializers per delta
  size_t max_name = 256;                // model and origin names
  size_t max_initializer_name = 4096;
};

// A delta whose checksum and fields passed (delta_decode).
struct Delta {
  std::shared_ptr<const std::string> envelope;  // the bytes as received: passed on unchanged
  std::string id;                               // hex sha256 of the payload, first 16 digits
  wire::ModelDelta body;
};

// Checks size, envelope, checksum, then every field of the payload: names, versions (16 hex
// digits), seq >= 1, patches (unique initializer names, elements >= 1, as many values as
// indices, indices strictly increasing and < elements, values finite). Errors name the field.
Result<Delta> delta_decode(std::span<const uint8_t> bytes, const DeltaLimits& limits = {});
// The envelope bytes of `body` (payload and its sha256).
std::string delta_encode(const wire::ModelDelta& body);

// `base_onnx` with the delta applied: its version must be the delta's base version, and the
// result's the delta's result version; else an error and nothing is produced.
Result<std::string> delta_apply(std::string_view base_onnx, const wire::ModelDelta& d);

struct DeltaMakeOptions {
  std::string model;   // the served model's name
  std::string origin;
  uint64_t seq = 1;
  // Keep the k largest changes |new - old| over all f32 initializers together (ties: file
  // order); 0 keeps every changed element, so the result has exactly the new model's weights.
  size_t top_k = 0;
};
struct DeltaMakeStats {
  size_t changed = 0;        // elements whose bits differ between the models
  size_t kept = 0;           // in the delta
  double largest_dropped = 0;  // largest |new - old| left out (0 when exact)
  bool exact() const { return kept == changed; }
};
// The delta from `old_onnx` to `new_onnx`, which must differ in f32 initializer values only.
// Values are the new model's (not differences), so applying is exact for the kept elements.
Result<wire::ModelDelta> delta_make(std::string_view old_onnx, std::string_view new_onnx, const DeltaMakeOptions& options,
                                    DeltaMakeStats* stats = nullptr);

// "origin #seq (model base -> result)" for logs.
std::string delta_name(const wire::ModelDelta& d);

}  // namespace ep::dist
