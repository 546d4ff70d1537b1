// The model the delta fuzz target applies deltas to, and that its seed corpus is made for:
// tests/dist/gossip_models.h's base model, serialized.
#pragma once

#include <string>

#include "dist/gossip_models.h"

namespace ep::fuzz {
inline std::string delta_base_model() { return ep::test_models::serialize(ep::dist::testing::gossip_base_model()); }
}  // namespace ep::fuzz
