// Models for the weight-delta and gossip tests: a small served model and versions of it with
// some weights changed (seeded), and the file set the 16-node benchmark serves.
#pragma once

#include <cstring>
#include <random>
#include <string>

#include "dist_models.h"

namespace ep::dist::testing {

// conv_relu_model (X 1x2x5x5 -> Relu(Conv) -> Y 1x4x5x5) with W (4x2x3x3) in raw_data, as
// exporters write it, and B (4) in float_data: both encodings get patched.
inline onnx::ModelProto gossip_base_model() {
  onnx::ModelProto m = tm::conv_relu_model();
  for (auto& t : *m.mutable_graph()->mutable_initializer()) {
    if (t.name() != "W") continue;
    std::string raw(static_cast<size_t>(t.float_data_size()) * 4, '\0');
    std::memcpy(raw.data(), t.float_data().data(), raw.size());
    t.clear_float_data();
    t.set_raw_data(raw);
  }
  return m;
}

// `m` with `count` (seeded) elements of its f32 initializers set to new values.
inline onnx::ModelProto changed_weights(onnx::ModelProto m, uint64_t seed, int count) {
  std::mt19937_64 rng(seed);
  auto* inits = m.mutable_graph()->mutable_initializer();
  for (int c = 0; c < count; ++c) {
    auto& t = (*inits)[static_cast<int>(rng() % static_cast<uint64_t>(inits->size()))];
    const float v = static_cast<float>(static_cast<int>(rng() % 2001) - 1000) / 997.0f;
    if (t.has_raw_data()) {
      const size_t i = rng() % (t.raw_data().size() / 4);
      std::memcpy(t.mutable_raw_data()->data() + i * 4, &v, 4);
    } else {
      t.set_float_data(static_cast<int>(rng() % static_cast<uint64_t>(t.float_data_size())), v);
    }
  }
  return m;
}

// DIR/models/m.onnx (served), DIR/v1.onnx .. DIR/vN.onnx (each v(k) = v(k-1) with 12
// weights changed), DIR/x.npy (an input).
inline void write_gossip_models(const std::filesystem::path& dir, int versions) {
  std::filesystem::create_directories(dir / "models");
  onnx::ModelProto m = gossip_base_model();
  write_model(dir / "models" / "m.onnx", m);
  for (int k = 1; k <= versions; ++k) {
    m = changed_weights(m, static_cast<uint64_t>(k), 12);
    write_model(dir / ("v" + std::to_string(k) + ".onnx"), m);
  }
}

}  // namespace ep::dist::testing
