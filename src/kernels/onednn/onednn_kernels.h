// Factories of the oneDNN kernels (FusedConv's is in kernels/fused_conv.h).
#pragma once

#include <memory>

#include "kernels/kernel.h"

namespace ep::kernels {

std::unique_ptr<Kernel> make_onednn_matmul();
std::unique_ptr<Kernel> make_onednn_gemm();

}  // namespace ep::kernels
