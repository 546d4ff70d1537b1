// The process-wide oneDNN CPU engine and a stream per calling thread.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>
#include <unordered_map>
#include <vector>

namespace ep::kernels::onednn {

dnnl::engine& cpu_engine();
dnnl::stream& thread_stream();

// Arguments in the C API's form, built once in prepare: the C++ execute() converts its map
// into a fresh vector on every call, which would allocate in run().
using ExecArgs = std::vector<dnnl_exec_arg_t>;
ExecArgs exec_args(const std::unordered_map<int, dnnl::memory>& args);
// A primitive's memories whose data handles are set per run (src, dst, and the scratchpad
// where it has one: null otherwise) and its arguments with the fixed ones (weights, bias),
// built once: one per worker thread that runs the primitive on its own.
struct RunMemories {
  dnnl::memory src, dst, pad;
  ExecArgs args;
};
RunMemories run_memories(const dnnl::memory::desc& src, const dnnl::memory::desc& dst,
                         const dnnl::memory::desc& scratchpad, std::unordered_map<int, dnnl::memory> fixed);
// One of several convolution primitives over the same weights (the band shapes of
// BandedConv and PointwiseDepthwise): the first to come creates `weights` and `bias` in the
// layout it picked, later ones must pick the same. Returns the primitive and one
// RunMemories per worker bound to those weights; throws dnnl::error when the layouts differ
// or oneDNN would run its reference kernel.
struct SharedWeightsConv {
  dnnl::convolution_forward prim;
  std::vector<RunMemories> workers;
};
SharedWeightsConv shared_weights_conv(const dnnl::convolution_forward::primitive_desc& pd, dnnl::memory& weights,
                                      dnnl::memory& bias, int64_t workers);

// Executes on this thread's stream; throws dnnl::error like the C++ API.
void execute(const dnnl::primitive& prim, const ExecArgs& args);

// Whether oneDNN's effective ISA on this CPU includes `want` (avx512_core, avx2_vnni, ...).
bool isa_has(dnnl::cpu_isa want);

// True for oneDNN's reference implementations ("ref:any", "ref_int8:any", ...): portable
// loops, tens of times slower than its JIT kernels, that it falls back to for attributes
// no JIT kernel of this CPU takes.
inline bool is_reference_impl(const char* impl_info) {
  return impl_info != nullptr && impl_info[0] == 'r' && impl_info[1] == 'e' && impl_info[2] == 'f';
}

// True while a primitive executes. oneDNN 2.6's dnnl_primitive_execute builds its argument
// map on the heap on every call (8 allocations for a convolution); the allocation test
// counts everything else, which must be zero.
bool executing();

}  // namespace ep::kernels::onednn
