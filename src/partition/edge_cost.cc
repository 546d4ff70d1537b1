// Times the layout conversions at the cut candidates (see analysis.h, EdgeCosts).
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <thread>

#include "kernels/kernel.h"
#include "partition/analysis.h"

namespace ep::partition {
namespace {

// Seconds for one Transpose of a `shape` tensor by `perm`, with the first backend that takes
// it in the session's order; the best of a few runs (the conversion is memory-bound and
// short, so the minimum is the least disturbed figure).
Result<double> time_transpose(DType dtype, const Shape& shape, const std::vector<int64_t>& perm, int threads) {
  ir::Graph g;
  ir::Value* x = g.add_value("x");
  ir::Value* y = g.add_value("y");
  x->dtype = dtype;
  x->shape = shape;
  ir::Node* n = g.add_node("probe_transpose", "Transpose", {x}, {y});
  n->opset = 13;
  n->attrs["perm"] = perm;
  for (std::string_view backend : {"onednn", "cpu", "ref"}) {
    const kernels::KernelDef* def = kernels::find_kernel("Transpose", "", 13, backend);
    if (!def) continue;
    kernels::PrepareContext ctx(*n, {kernels::TensorInfo{dtype, shape, nullptr}}, threads);
    auto k = def->create();
    if (!k->prepare(ctx).is_ok() || !ctx.check_outputs().is_ok()) continue;
    EP_ASSIGN_OR_RETURN(Tensor in, Tensor::create(dtype, shape));
    EP_ASSIGN_OR_RETURN(Tensor out, Tensor::create(ctx.output(0).dtype, ctx.output(0).shape));
    EP_ASSIGN_OR_RETURN(Tensor scratch, Tensor::create(DType::u8, Shape{static_cast<int64_t>(ctx.scratch_bytes())}));
    std::vector<TensorView> ins{in.view()}, outs{out.view()};
    kernels::RunContext run{ins, outs, scratch.data()};
    double best = 1e30;
    for (int i = 0; i < 4; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      EP_RETURN_IF_ERROR(k->run(run));
      if (i > 0) best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    return best;
  }
  return unsupported("no Transpose kernel takes ", shape.to_string());
}

}  // namespace

Result<EdgeCosts> measure_edge_costs(const ModelAnalysis& a, const Device& device) {
  const size_t n = a.nodes.size();
  EdgeCosts e;
  e.in_s.assign(n + 1, 0.0);
  e.out_s.assign(n + 1, 0.0);
  Status st = Status::ok();
  std::thread t([&] {
    st = pin_thread(device.cores);
    if (!st.is_ok()) return;
    omp_set_num_threads(device.threads);
    std::map<std::pair<int, std::vector<int64_t>>, double> to_nhwc, to_nchw;  // by dtype and NCHW shape
    auto cost = [&](std::map<std::pair<int, std::vector<int64_t>>, double>& cache, const TensorSite& ts, bool forward) -> Result<double> {
      const auto key = std::make_pair(static_cast<int>(ts.dtype), ts.shape.dims());
      if (auto it = cache.find(key); it != cache.end()) return it->second;
      const Shape& s = ts.shape;
      EP_ASSIGN_OR_RETURN(double v, forward ? time_transpose(ts.dtype, s, {0, 2, 3, 1}, device.threads)
                                            : time_transpose(ts.dtype, Shape{s[0], s[2], s[3], s[1]}, {0, 3, 1, 2},
                                                             device.threads));
      cache[key] = v;
      return v;
    };
    for (size_t p = 1; p < n && st.is_ok(); ++p) {
      if (!a.cut_allowed[p]) continue;
      for (size_t i : a.crossing[p]) {
        const TensorSite& ts = a.tensors[i];
        if (ts.shape.rank() != 4) continue;
        auto in = cost(to_nhwc, ts, true);
        auto out = cost(to_nchw, ts, false);
        if (!in.is_ok() || !out.is_ok()) {
          st = in.is_ok() ? out.status() : in.status();
          break;
        }
        e.in_s[p] += *in;
        e.out_s[p] += *out;
      }
    }
  });
  t.join();
  EP_RETURN_IF_ERROR(st);
  return e;
}

}  // namespace ep::partition
