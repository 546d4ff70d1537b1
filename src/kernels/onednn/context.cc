#include "kernels/onednn/context.h"

#include <algorithm>
#include <atomic>
#include <optional>
#include <string>

#include "kernels/onednn/onednn_kernels.h"

namespace ep::kernels::onednn {

dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dnnl::stream& thread_stream() {
  thread_local dnnl::stream stream(cpu_engine());
  return stream;
}

ExecArgs exec_args(const std::unordered_map<int, dnnl::memory>& args) {
  ExecArgs r;
  for (const auto& [arg, mem] : args) r.push_back(dnnl_exec_arg_t{arg, mem.get()});
  return r;
}

RunMemories run_memories(const dnnl::memory::desc& src, const dnnl::memory::desc& dst,
                         const dnnl::memory::desc& scratchpad, std::unordered_map<int, dnnl::memory> fixed) {
  RunMemories m{dnnl::memory(src, cpu_engine(), DNNL_MEMORY_NONE), dnnl::memory(dst, cpu_engine(), DNNL_MEMORY_NONE),
                dnnl::memory(), {}};
  fixed[DNNL_ARG_SRC] = m.src;
  fixed[DNNL_ARG_DST] = m.dst;
  if (scratchpad.get_size()) {
    m.pad = dnnl::memory(scratchpad, cpu_engine(), DNNL_MEMORY_NONE);
    fixed[DNNL_ARG_SCRATCHPAD] = m.pad;
  }
  m.args = exec_args(fixed);
  return m;
}

SharedWeightsConv shared_weights_conv(const dnnl::convolution_forward::primitive_desc& pd, dnnl::memory& weights,
                                      dnnl::memory& bias, int64_t workers) {
  if (is_reference_impl(pd.impl_info_str())) throw dnnl::error(dnnl_unimplemented, "reference convolution");
  if (!weights) {
    weights = dnnl::memory(pd.weights_desc(), cpu_engine());
    bias = dnnl::memory(pd.bias_desc(), cpu_engine());
  } else if (pd.weights_desc() != weights.get_desc()) {
    throw dnnl::error(dnnl_unimplemented, "weights layout differs between the shapes");
  }
  SharedWeightsConv conv{dnnl::convolution_forward(pd), {}};
  for (int64_t k = 0; k < workers; ++k)
    conv.workers.push_back(run_memories(pd.src_desc(), pd.dst_desc(), pd.scratchpad_desc(),
                                        {{DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_BIAS, bias}}));
  return conv;
}

namespace {
std::atomic<int> g_executing{0};
}  // namespace

bool isa_has(dnnl::cpu_isa want) {
  // ISA values are bit sets: a newer ISA holds every bit of the ones it extends.
  const auto bits = static_cast<unsigned>(dnnl::get_effective_cpu_isa()), need = static_cast<unsigned>(want);
  return (bits & need) == need;
}

bool executing() { return g_executing.load(std::memory_order_relaxed) > 0; }

void execute(const dnnl::primitive& prim, const ExecArgs& args) {
  dnnl::stream& stream = thread_stream();
  g_executing.fetch_add(1, std::memory_order_relaxed);
  const dnnl_status_t st = dnnl_primitive_execute(prim.get(), stream.get(), static_cast<int>(args.size()), args.data());
  g_executing.fetch_sub(1, std::memory_order_relaxed);
  dnnl::error::wrap_c_api(st, "could not execute a primitive");
}

}  // namespace ep::kernels::onednn

namespace ep::kernels {
namespace {
std::optional<bool> g_bf16_override, g_vnni_override, g_avx512_override, g_amx_override;

const char* isa_name(dnnl::cpu_isa isa) {
  switch (isa) {
    case dnnl::cpu_isa::sse41: return "sse41";
    case dnnl::cpu_isa::avx: return "avx";
    case dnnl::cpu_isa::avx2: return "avx2";
    case dnnl::cpu_isa::avx2_vnni: return "avx2_vnni";
    case dnnl::cpu_isa::avx512_core: return "avx512_core";
    case dnnl::cpu_isa::avx512_core_vnni: return "avx512_core_vnni";
    case dnnl::cpu_isa::avx512_core_bf16: return "avx512_core_bf16";
    case dnnl::cpu_isa::avx512_core_amx: return "avx512_core_amx";
    default: return "other";
  }
}
}  // namespace

bool onednn_has_bf16(std::string* isa) {
  if (isa) *isa = g_bf16_override ? "overridden" : isa_name(dnnl::get_effective_cpu_isa());
  if (g_bf16_override) return *g_bf16_override;
  return onednn::isa_has(dnnl::cpu_isa::avx512_core_bf16);
}

void onednn_override_bf16(std::optional<bool> has) { g_bf16_override = has; }

bool onednn_has_vnni(std::string* isa) {
  if (isa) *isa = g_vnni_override ? "overridden" : isa_name(dnnl::get_effective_cpu_isa());
  if (g_vnni_override) return *g_vnni_override;
  return onednn::isa_has(dnnl::cpu_isa::avx512_core_vnni) || onednn::isa_has(dnnl::cpu_isa::avx2_vnni);
}

void onednn_override_vnni(std::optional<bool> has) { g_vnni_override = has; }

bool onednn_without_avx512() {
  if (g_avx512_override) return *g_avx512_override;
  return !onednn::isa_has(dnnl::cpu_isa::avx512_core);
}

void onednn_override_without_avx512(std::optional<bool> without) { g_avx512_override = without; }

bool onednn_has_amx() {
  if (g_amx_override) return *g_amx_override;
  return onednn::isa_has(dnnl::cpu_isa::avx512_core_amx);
}

void onednn_override_amx(std::optional<bool> has) { g_amx_override = has; }

bool onednn_int8_conv_exact(DType x, const int8_t* w, int64_t count) {
  if (onednn_has_vnni()) return true;
  return x == DType::u8 && std::all_of(w, w + count, [](int8_t v) { return v >= -64 && v <= 63; });
}

}  // namespace ep::kernels
