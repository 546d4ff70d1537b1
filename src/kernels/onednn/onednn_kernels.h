// Factories of the oneDNN kernels (FusedConv's is in kernels/fused_conv.h).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "edgepipe/tensor.h"
#include "kernels/kernel.h"

namespace ep::kernels {

std::unique_ptr<Kernel> make_onednn_matmul();
std::unique_ptr<Kernel> make_onednn_gemm();

// Whether this CPU runs bf16 convolutions natively (AVX512_BF16 or AMX in oneDNN's
// effective ISA); `isa` receives the ISA's name for messages. Tests force an answer with
// the override (nullopt: ask oneDNN).
bool onednn_has_bf16(std::string* isa = nullptr);
void onednn_override_bf16(std::optional<bool> has);

// Whether oneDNN's int8 convolutions on this CPU sum u8*s8 products exactly: with VNNI
// (vpdpbusd, AVX512_VNNI or AVX_VNNI) they do; without it (AVX2, AVX-512 before Cascade Lake)
// the kernels use vpmaddubsw, which adds two u8*s8 products in a saturating 16-bit lane, so
// |w| > 64 with large activations overflows, and s8 activations get weights halved. The
// override is for tests.
bool onednn_has_vnni(std::string* isa = nullptr);
void onednn_override_vnni(std::optional<bool> has);

// Whether an int8 convolution with `x` activations and these weights gives exact sums on this
// CPU: always with VNNI; without it only for u8 activations and weights in [-64, 63], whose
// pair sums stay within 255 * 64 * 2 < 32768.
bool onednn_int8_conv_exact(DType x, const int8_t* w, int64_t count);

// Whether oneDNN runs without AVX-512 here (its AVX2 kernels): f32 convolutions then take
// edgepipe's AVX2 paths, its Winograd F(4x4,3x3) (oneDNN's is AVX-512 only, see
// onednn/winograd.h) and nChw8c copies for direct spatial kernels. The override is for tests
// (nullopt: ask oneDNN).
bool onednn_without_avx512();
void onednn_override_without_avx512(std::optional<bool> without);

// Whether oneDNN runs int8 and bf16 convolutions on AMX tiles here (Sapphire Rapids and
// later, with the kernel's permission to use them; oneDNN asks for it). Its AMX direct
// kernels then beat edgepipe's AVX-512 int8 3x3 kernels (WinogradInt16, NarrowInt8Conv), which
// step aside. The override is for tests (nullopt: ask oneDNN).
bool onednn_has_amx();
void onednn_override_amx(std::optional<bool> has);

// onednn_override_amx for a scope.
class ScopedAmxOverride {
 public:
  explicit ScopedAmxOverride(std::optional<bool> has) { onednn_override_amx(has); }
  ~ScopedAmxOverride() { onednn_override_amx(std::nullopt); }
  ScopedAmxOverride(const ScopedAmxOverride&) = delete;
  ScopedAmxOverride& operator=(const ScopedAmxOverride&) = delete;
};

}  // namespace ep::kernels
