// Factories of the oneDNN kernels (FusedConv's is in kernels/fused_conv.h).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "kernels/kernel.h"

namespace ep::kernels {

std::unique_ptr<Kernel> make_onednn_matmul();
std::unique_ptr<Kernel> make_onednn_gemm();

// Whether this CPU runs bf16 convolutions natively (AVX512_BF16 or AMX in oneDNN's
// effective ISA); `isa` receives the ISA's name for messages. Tests force an answer with
// the override (nullopt: ask oneDNN).
bool onednn_has_bf16(std::string* isa = nullptr);
void onednn_override_bf16(std::optional<bool> has);

}  // namespace ep::kernels
