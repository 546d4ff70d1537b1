#include "partition/analysis.h"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <random>
#include <set>
#include <thread>
#include <unordered_map>

#include "ir/graph.h"
#include "passes/passes.h"

namespace ep::partition {
namespace {

// Other processes only ever add time to a run: the lower quartile is the typical undisturbed
// time, steadier than the median when a burst of load hits part of the profiling.
double lower_quartile(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[(v.size() - 1) / 4];
}

std::vector<Tensor> random_inputs(const Session& s) {
  std::vector<Tensor> in;
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> d(-1.f, 1.f);
  for (const IoInfo& io : s.inputs()) {
    in.emplace_back(io.dtype, io.shape);
    if (io.dtype == DType::f32)
      for (int64_t i = 0; i < in.back().numel(); ++i) in.back().as<float>()[i] = d(rng);
  }
  return in;
}

// Runs `body` on a new thread pinned to `cores` and waits for it.
Status on_pinned_thread(const std::vector<int>& cores, const std::function<Status()>& body) {
  Status result = Status::ok();
  std::thread t([&] {
    result = pin_thread(cores);
    if (result.is_ok()) result = body();
  });
  t.join();
  return result;
}

struct Runnable {
  Session session;
  std::vector<Tensor> in, out;
  std::vector<TensorView> in_v, out_v;
  static Result<Runnable> create(const Model& m, const SessionOptions& o) {
    EP_ASSIGN_OR_RETURN(Session s, Session::create(m, o));
    Runnable r{std::move(s), {}, {}, {}, {}};
    r.in = random_inputs(r.session);
    for (const Tensor& t : r.in) r.in_v.push_back(t.view());
    for (const IoInfo& io : r.session.outputs()) r.out.emplace_back(io.dtype, io.shape);
    for (const Tensor& t : r.out) r.out_v.push_back(t.view());
    return r;
  }
  Status run() { return session.run(in_v, out_v); }
};

// A topological order that follows chains depth first (Kahn's algorithm with a stack): a
// Conv is followed by the BatchNorm and activation fused into it, so cuts between fused
// groups exist, and a branch runs to its end before the next starts.
std::vector<const ir::Node*> chain_order(const ir::Graph& g) {
  std::unordered_map<const ir::Node*, size_t> waiting, position;
  for (size_t i = 0; i < g.nodes().size(); ++i) position[g.nodes()[i].get()] = i;
  std::vector<const ir::Node*> stack, order;
  for (const auto& n : g.nodes()) {
    std::set<const ir::Node*> producers;
    for (const ir::Value* v : n->inputs)
      if (v && v->producer) producers.insert(v->producer);
    waiting[n.get()] = producers.size();
  }
  for (auto it = g.nodes().rbegin(); it != g.nodes().rend(); ++it)
    if (waiting[it->get()] == 0) stack.push_back(it->get());
  while (!stack.empty()) {
    const ir::Node* n = stack.back();
    stack.pop_back();
    order.push_back(n);
    std::set<const ir::Node*> consumers;
    for (const ir::Value* v : n->outputs)
      if (v) consumers.insert(v->consumers.begin(), v->consumers.end());
    std::vector<const ir::Node*> ready;
    for (const ir::Node* c : consumers)
      if (--waiting[c] == 0) ready.push_back(c);
    // Push in reverse model order, so the consumer the model lists first runs first.
    std::sort(ready.begin(), ready.end(), [&](const ir::Node* x, const ir::Node* y) { return position[x] > position[y]; });
    stack.insert(stack.end(), ready.begin(), ready.end());
  }
  return order;
}

}  // namespace

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

Status pin_thread(const std::vector<int>& cores) {
  if (cores.empty()) return Status::ok();
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int c : cores) {
    if (c < 0 || c >= CPU_SETSIZE) return invalid_argument("core ", c, " is out of range");
    CPU_SET(c, &set);
  }
  if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set) != 0)
    return invalid_argument("cannot pin a thread to cores starting at ", cores[0], " (not available on this machine?)");
  return Status::ok();
}

Result<ModelAnalysis> analyze_model(const Model& model, const std::map<std::string, Shape>& shapes) {
  const ir::Graph& g0 = model.graph();
  auto gs = g0.clone();
  EP_RETURN_IF_ERROR(passes::bind_input_shapes(*gs, shapes));
  EP_RETURN_IF_ERROR(passes::infer_shapes_and_fold(*gs));
  auto gf = gs->clone();
  EP_RETURN_IF_ERROR(passes::eliminate_dead_code(*gf));
  EP_RETURN_IF_ERROR(passes::fuse_conv(*gf));

  ModelAnalysis a;
  std::unordered_map<const ir::Node*, long> index;
  for (const ir::Node* n : chain_order(g0)) {
    index[n] = static_cast<long>(a.nodes.size());
    a.nodes.push_back(n->name);
    a.ops.push_back(n->op_type);
  }
  std::set<std::string> seen;
  for (const std::string& n : a.nodes)
    if (!seen.insert(n).second) return unsupported("node name '", n, "' is used twice; shards name nodes uniquely");
  for (const ir::Value* v : g0.inputs()) a.graph_inputs.push_back(v->name);
  for (const ir::Value* v : g0.outputs()) a.graph_outputs.push_back(v->name);

  const size_t n = a.nodes.size();
  std::vector<std::string> why;
  for (const auto& vp : g0.values()) {
    const ir::Value* v = vp.get();
    if (v->is_constant() || (!v->producer && !v->is_graph_input)) continue;
    const ir::Value* s = gs->find_value(v->name);
    TensorSite t;
    t.name = v->name;
    t.producer = v->producer ? index.at(v->producer) : -1;
    for (const ir::Node* c : v->consumers) t.consumers.push_back(index.at(c));
    std::sort(t.consumers.begin(), t.consumers.end());
    if (!t.consumers.empty()) t.last_use = t.consumers.back();
    t.graph_output = v->is_graph_output;
    std::string reason;
    if (!s) {
      reason = "tensor '" + v->name + "' is removed by shape inference";
    } else {
      t.dtype = s->dtype;
      t.shape = s->shape;
      if (!t.shape.is_static()) return internal_error("tensor '", v->name, "' has no static shape after binding");
      t.bytes = t.shape.numel() * static_cast<int64_t>(dtype_size(t.dtype));
      if (s->is_constant()) reason = "tensor '" + v->name + "' is computed at load time (constant folding)";
      const ir::Value* f = gf->find_value(v->name);
      if (reason.empty() && !v->is_graph_input && (!f || !f->producer))
        reason = "tensor '" + v->name + "' is folded into its consumer by fusion";
    }
    a.tensors.push_back(std::move(t));
    why.push_back(std::move(reason));
  }
  a.crossing.assign(n + 1, {});
  a.cut_bytes.assign(n + 1, 0);
  a.cut_allowed.assign(n + 1, true);
  a.cut_reason.assign(n + 1, "");
  // Tensor i crosses every position p with producer < p <= last consumer.
  for (size_t i = 0; i < a.tensors.size(); ++i) {
    const TensorSite& t = a.tensors[i];
    for (long p = std::max(1L, t.producer + 1); p <= t.last_use && p < static_cast<long>(n); ++p) {
      a.crossing[p].push_back(i);
      a.cut_bytes[p] += t.bytes;
      if (!why[i].empty() && a.cut_allowed[p]) {
        a.cut_allowed[p] = false;
        a.cut_reason[p] = why[i];
      }
    }
  }
  return a;
}

std::vector<size_t> shard_inputs(const ModelAnalysis& a, size_t q, size_t p) {
  std::vector<size_t> r;
  for (size_t i = 0; i < a.tensors.size(); ++i) {
    const TensorSite& t = a.tensors[i];
    if (t.producer >= static_cast<long>(q)) continue;
    auto c = std::lower_bound(t.consumers.begin(), t.consumers.end(), static_cast<long>(q));
    if (c != t.consumers.end() && *c < static_cast<long>(p)) r.push_back(i);
  }
  return r;
}

std::vector<size_t> shard_outputs(const ModelAnalysis& a, size_t q, size_t p) {
  std::vector<size_t> r;
  for (size_t i = 0; i < a.tensors.size(); ++i) {
    const TensorSite& t = a.tensors[i];
    if (t.producer < static_cast<long>(q) || t.producer >= static_cast<long>(p)) continue;
    if (t.graph_output || t.last_use >= static_cast<long>(p)) r.push_back(i);
  }
  return r;
}

Result<NodeTimes> profile_nodes(const Model& model, const ModelAnalysis& a, const std::map<std::string, Shape>& shapes,
                                const Device& device, int iterations) {
  std::vector<OpProfile> prof;
  std::vector<double> whole;
  EP_RETURN_IF_ERROR(on_pinned_thread(device.cores, [&]() -> Status {
    SessionOptions o;
    o.threads = device.threads;
    o.input_shapes = shapes;
    o.profile = true;
    EP_ASSIGN_OR_RETURN(Runnable r, Runnable::create(model, o));
    for (int i = 0; i < 2; ++i) EP_RETURN_IF_ERROR(r.run());
    // Per-step lower quartiles over the runs: a burst of load during some runs moves a mean.
    std::vector<std::vector<double>> samples;
    for (int i = 0; i < iterations; ++i) {
      r.session.reset_profile();
      const auto t0 = std::chrono::steady_clock::now();
      EP_RETURN_IF_ERROR(r.run());
      whole.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      prof = r.session.profile();
      samples.resize(prof.size());
      for (size_t k = 0; k < prof.size(); ++k) samples[k].push_back(static_cast<double>(prof[k].total_ns));
    }
    for (size_t k = 0; k < prof.size(); ++k) {
      prof[k].calls = 1;
      prof[k].total_ns = static_cast<int64_t>(lower_quartile(samples[k]));
    }
    return Status::ok();
  }));
  std::unordered_map<std::string, size_t> node_index;
  for (size_t i = 0; i < a.nodes.size(); ++i) node_index[a.nodes[i]] = i;
  NodeTimes t;
  t.node_s.assign(a.nodes.size(), 0.0);
  t.whole_s = lower_quartile(whole);
  double total = 0;
  long last = -1;
  std::vector<double> pending;  // unmatched steps before the first matched one
  for (const OpProfile& p : prof) {
    const double s = p.calls ? static_cast<double>(p.total_ns) * 1e-9 / static_cast<double>(p.calls) : 0.0;
    total += s;
    auto it = node_index.find(p.node);
    if (it != node_index.end()) {
      last = static_cast<long>(it->second);
      t.node_s[it->second] += s;
      for (double x : pending) t.node_s[it->second] += x;
      pending.clear();
      continue;
    }
    if (last >= 0) t.node_s[static_cast<size_t>(last)] += s;
    else pending.push_back(s);
  }
  if (!pending.empty() && !t.node_s.empty())
    for (double x : pending) t.node_s.back() += x;
  // The profile's sum runs a little under the timed whole (the clock reads between steps):
  // scale so the node times add up to the measured whole model.
  if (total > 0 && t.whole_s > 0)
    for (double& x : t.node_s) x *= t.whole_s / total;
  return t;
}

Result<double> measure_contention(const Model& model, const std::map<std::string, Shape>& shapes,
                                  const std::vector<Device>& devices, int iterations) {
  if (devices.size() < 2) return 1.0;
  const size_t k = devices.size();
  std::vector<std::vector<double>> alone(k), together(k);
  std::vector<Status> status(k, Status::ok());
  // Phase 0: each device alone, in turn; phase 1: all at once.
  for (int phase = 0; phase < 2; ++phase) {
    std::vector<std::thread> threads;
    auto body = [&](size_t d) {
      status[d] = pin_thread(devices[d].cores);
      if (!status[d].is_ok()) return;
      SessionOptions o;
      o.threads = devices[d].threads;
      o.input_shapes = shapes;
      auto r = Runnable::create(model, o);
      if (!r) { status[d] = r.status(); return; }
      for (int i = 0; i < 2 + iterations; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        if (Status st = r->run(); !st.is_ok()) { status[d] = st; return; }
        if (i >= 2)
          (phase ? together : alone)[d].push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      }
    };
    for (size_t d = 0; d < k; ++d) {
      threads.emplace_back(body, d);
      if (phase == 0) threads.back().join();
    }
    if (phase == 1)
      for (auto& t : threads) t.join();
    for (const Status& st : status) EP_RETURN_IF_ERROR(st);
  }
  double sum = 0;
  for (size_t d = 0; d < k; ++d) sum += median(together[d]) / median(alone[d]);
  return std::max(1.0, sum / static_cast<double>(k));
}

}  // namespace ep::partition
