#include "kernels/onednn/context.h"

#include <atomic>

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

namespace {
std::atomic<int> g_executing{0};
}  // namespace

bool executing() { return g_executing.load(std::memory_order_relaxed) > 0; }

void execute(const dnnl::primitive& prim, const ExecArgs& args) {
  dnnl::stream& stream = thread_stream();
  g_executing.fetch_add(1, std::memory_order_relaxed);
  const dnnl_status_t st = dnnl_primitive_execute(prim.get(), stream.get(), static_cast<int>(args.size()), args.data());
  g_executing.fetch_sub(1, std::memory_order_relaxed);
  dnnl::error::wrap_c_api(st, "could not execute a primitive");
}

}  // namespace ep::kernels::onednn
