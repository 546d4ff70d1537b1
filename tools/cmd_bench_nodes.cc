// edgepipe bench PLAN_DIR --nodes A,B,...: the plan's shards placed on running nodes (behind
// in-process link emulators with --emulate-link), one frame at a time. Prints the end-to-end
// latency and each stage, cut and the way back against the partitioner's prediction, and
// compares the outputs with the whole model run in this process.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "dist/client.h"
#include "dist/link_emulator.h"
#include "dist/placement.h"
#include "partition/analysis.h"

namespace ep::tools {
namespace {

using partition::median;

struct Frame {
  double e2e = 0, first_hop = 0, back = 0;
  std::vector<double> run, cut, overhead;  // per stage; per cut; per node: receive->run + run->send
};

Result<double> max_abs_diff(const dist::Reply& r, const std::vector<Tensor>& ref, const std::vector<std::string>& names) {
  double worst = 0;
  for (size_t i = 0; i < names.size(); ++i) {
    auto it = std::find_if(r.tensors.begin(), r.tensors.end(), [&](const dist::NamedView& v) { return v.name == names[i]; });
    if (it == r.tensors.end()) return invalid_argument("the nodes' result has no output '", names[i], "'");
    if (it->view.dtype != DType::f32 || it->view.shape != ref[i].shape())
      return invalid_argument("output '", names[i], "': the nodes returned ", it->view.shape.to_string(), ", the whole model ",
                              ref[i].shape().to_string());
    const float* a = static_cast<const float*>(it->view.data);
    const float* b = ref[i].as<float>();
    for (int64_t k = 0; k < ref[i].numel(); ++k) worst = std::max(worst, static_cast<double>(std::fabs(a[k] - b[k])));
  }
  return worst;
}

}  // namespace

int bench_plan_nodes(const BenchNodesArgs& a) {
  auto plan = partition::read_plan(a.dir);
  if (!plan) return report(plan.status());
  const size_t k = plan->stages.size();
  if (a.nodes.size() != k) return report(invalid_argument("--nodes: the plan has ", k, " stages, ", a.nodes.size(), " nodes given"));
  partition::Link link;
  if (!a.emulate_link.empty()) {
    auto l = parse_link(a.emulate_link);
    if (!l) return report(l.status().with_context("--emulate-link"));
    link = *l;
  }
  // One emulator in front of every node after the first: the previous node sends through it,
  // and the reply comes back through it.
  std::vector<std::unique_ptr<dist::LinkEmulator>> emulators;
  std::vector<dist::PlacementTarget> targets(k);
  for (size_t s = 0; s < k; ++s) {
    targets[s].node.address = a.nodes[s];
    targets[s].node.timeout_ms = a.timeout_ms;
    if (s == 0 || a.emulate_link.empty()) continue;
    dist::LinkParams p;
    p.delay_ns = static_cast<int64_t>(link.latency_s * 1e9);
    p.bandwidth_bytes_per_s = link.bytes_per_s;
    auto e = dist::LinkEmulator::start("tcp://127.0.0.1:*", a.nodes[s], p, p);
    if (!e) return report(e.status());
    targets[s].via = (*e)->endpoint();
    emulators.push_back(std::move(*e));
  }
  auto placed = dist::place_plan(*plan, a.dir, targets, a.prefix);
  if (!placed) return report(placed.status());

  // The whole model here, on the same inputs: the oracle for the nodes' outputs.
  const std::vector<Tensor> inputs = random_inputs(plan->graph_inputs);
  const std::string whole_file = a.whole.empty() ? plan->source_model : a.whole;
  auto whole = Model::load(whole_file);
  if (!whole) return report(whole.status().with_context("the whole model (--whole)"));
  SessionOptions o;
  o.input_shapes = plan->input_shapes;
  auto session = Session::create(*whole, o);
  if (!session) return report(session.status());
  std::vector<Tensor> ref;
  std::vector<TensorView> in_v, out_v;
  std::vector<std::string> out_names;
  for (const Tensor& t : inputs) in_v.push_back(t.view());
  for (const IoInfo& io : session->outputs()) {
    ref.emplace_back(io.dtype, io.shape);
    out_v.push_back(ref.back().view());
    out_names.push_back(io.name);
  }
  if (Status st = session->run(in_v, out_v); !st.is_ok()) return report(st);

  auto client = dist::Client::connect(targets[0].node);
  if (!client) return report(client.status());
  auto offset = client->clock_offset(8);
  if (!offset) return report(offset.status());
  std::vector<dist::NamedView> request;
  for (size_t i = 0; i < inputs.size(); ++i) request.push_back({plan->graph_inputs[i].name, inputs[i].view()});

  double diff = 0;
  std::vector<Frame> frames;
  for (int f = 0; f < a.warmup + a.frames; ++f) {
    auto r = client->infer(placed->models[0], request, placed->route);
    if (!r) return report(r.status());
    if (f == 0) {
      auto d = max_abs_diff(*r, ref, out_names);
      if (!d) return report(d.status());
      diff = *d;
    }
    if (f < a.warmup) continue;
    const std::vector<dist::HopTimes> hops = dist::hop_times(r->header, *offset);
    if (hops.size() != k) return report(internal_error("the reply has ", hops.size(), " hop stamps, expected ", k));
    Frame m;
    m.e2e = static_cast<double>(r->recv_ns - r->send_ns) / 1e6;
    m.first_hop = static_cast<double>(hops[0].recv_ns - r->send_ns) / 1e6;
    m.back = static_cast<double>(r->recv_ns - hops[k - 1].send_ns) / 1e6;
    for (size_t s = 0; s < k; ++s) {
      m.run.push_back(static_cast<double>(hops[s].run_end_ns - hops[s].run_start_ns) / 1e6);
      m.overhead.push_back(static_cast<double>((hops[s].run_start_ns - hops[s].recv_ns) + (hops[s].send_ns - hops[s].run_end_ns)) / 1e6);
      if (s + 1 < k) m.cut.push_back(static_cast<double>(hops[s + 1].recv_ns - hops[s].send_ns) / 1e6);
    }
    frames.push_back(std::move(m));
  }
  auto med = [&](auto get) {
    std::vector<double> v;
    for (const Frame& f : frames) v.push_back(get(f));
    return median(v);
  };
  const dist::RemotePrediction pred = dist::predict_remote(*plan);
  const double e2e = med([](const Frame& f) { return f.e2e; });
  const double error = (e2e - pred.total_ms()) / pred.total_ms();
  if (a.json) {
    nlohmann::json j = {{"plan", a.dir}, {"nodes", a.nodes}, {"emulated_link", a.emulate_link}, {"frames", a.frames},
                        {"e2e_p50_ms", e2e}, {"predicted_ms", pred.total_ms()}, {"error", error},
                        {"first_hop_p50_ms", med([](const Frame& f) { return f.first_hop; })},
                        {"back_p50_ms", med([](const Frame& f) { return f.back; })}, {"predicted_back_ms", pred.return_ms},
                        {"max_abs_diff_vs_whole", diff}, {"load_average", load_average()}};
    for (size_t s = 0; s < k; ++s) {
      j["stages"].push_back({{"node", a.nodes[s]}, {"model", placed->models[s]},
                             {"run_p50_ms", med([&](const Frame& f) { return f.run[s]; })},
                             {"node_overhead_p50_ms", med([&](const Frame& f) { return f.overhead[s]; })},
                             {"predicted_ms", plan->stages[s].predicted_ms}});
      if (s + 1 < k)
        j["cuts"].push_back({{"bytes", plan->cuts[s].bytes}, {"p50_ms", med([&](const Frame& f) { return f.cut[s]; })},
                             {"predicted_ms", plan->cuts[s].predicted_link_ms}});
    }
    std::cout << j.dump() << "\n";
    return 0;
  }
  std::printf("plan %s on %zu nodes%s; %d frames one at a time, medians; load average %s\n", a.dir.c_str(), k,
              a.emulate_link.empty() ? "" : (", links emulated at " + a.emulate_link).c_str(), a.frames, load_average().c_str());
  std::printf("%-34s %12s %12s\n", "", "measured ms", "predicted ms");
  std::printf("%-34s %12.3f %12s\n", "caller -> first node (loopback)", med([](const Frame& f) { return f.first_hop; }), "-");
  for (size_t s = 0; s < k; ++s) {
    std::printf("%-34s %12.3f %12.3f\n", ("stage " + std::to_string(s) + " run on " + a.nodes[s]).c_str(),
                med([&](const Frame& f) { return f.run[s]; }), plan->stages[s].predicted_ms);
    std::printf("%-34s %12.3f %12s\n", "  node overhead (decode, send)", med([&](const Frame& f) { return f.overhead[s]; }), "-");
    if (s + 1 < k)
      std::printf("%-34s %12.3f %12.3f\n", ("cut " + std::to_string(s) + " (" + std::to_string(plan->cuts[s].bytes) + " bytes)").c_str(),
                  med([&](const Frame& f) { return f.cut[s]; }), plan->cuts[s].predicted_link_ms);
  }
  std::printf("%-34s %12.3f %12.3f\n", "outputs back to the caller", med([](const Frame& f) { return f.back; }), pred.return_ms);
  std::printf("%-34s %12.3f %12.3f  (%+.1f%%)\n", "end to end", e2e, pred.total_ms(), 100 * error);
  std::printf("outputs vs the whole model in this process: max abs difference %g%s\n", diff, diff == 0 ? " (identical)" : "");
  return 0;
}

}  // namespace ep::tools
