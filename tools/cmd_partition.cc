// edgepipe partition MODEL --stages K: profiles the model on each device, splits it into K
// pipeline stages by dynamic programming and writes the shards and plan.json.
#include <cctype>
#include <cmath>
#include <cstdio>
#include <set>
#include <thread>

#include "commands.h"
#include "partition/analysis.h"
#include "partition/plan.h"
#include "partition/splitter.h"

namespace ep::tools {
namespace {

Result<double> parse_number_unit(const std::string& text, const std::vector<std::pair<std::string, double>>& units,
                                 const std::string& what) {
  size_t end = 0;
  double v = 0;
  try {
    v = std::stod(text, &end);
  } catch (...) {
    return invalid_argument(what, " '", text, "': expected a number with a unit");
  }
  std::string unit = text.substr(end);
  for (char& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const auto& [name, scale] : units)
    if (unit == name && std::isfinite(v) && v >= 0) return v * scale;
  return invalid_argument(what, " '", text, "': unknown unit or negative value");
}


struct PartitionArgs {
  std::string model, out_dir, devices, link, objective = "throughput", handover = "nhwc";
  std::vector<std::string> shapes;
  int stages = 2, iterations = 15;
  double min_fps = 0;
  bool no_contention = false, explain = false;
};

// "cpu:1@0,cpu:1@1": per stage, a thread count and the first of its cores (default: the
// stages take consecutive cores, one thread each).
Result<std::vector<partition::Device>> parse_devices(const std::string& text, int stages) {
  std::vector<partition::Device> r;
  const int hw = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (text.empty()) {
    // The cost model gives every stage a device of its own: stages never share a core here.
    if (stages > hw)
      return invalid_argument(stages, " stages need ", stages, " cores, this machine has ", hw,
                              "; name the devices with --devices (stages sharing a core are then predicted as if alone)");
    for (int s = 0; s < stages; ++s) r.push_back({1, {s}});
    return r;
  }
  size_t start = 0;
  int next_core = 0;
  while (start <= text.size()) {
    const size_t comma = std::min(text.find(',', start), text.size());
    const std::string item = text.substr(start, comma - start);
    start = comma + 1;
    int threads = 1, core = next_core;
    char tail = 0;
    if (std::sscanf(item.c_str(), "cpu:%d@%d%c", &threads, &core, &tail) == 2 ||
        (std::sscanf(item.c_str(), "cpu:%d%c", &threads, &tail) == 1 && item.find('@') == std::string::npos) ||
        item == "cpu") {
      if (threads < 1 || threads > 1024 || core < 0 || core + threads > hw)
        return invalid_argument("--devices '", item, "': threads 1..", hw, " on cores that exist (0..", hw - 1, ")");
      partition::Device d{threads, {}};
      for (int c = 0; c < threads; ++c) d.cores.push_back(core + c);
      r.push_back(d);
      next_core = core + threads;
    } else {
      return invalid_argument("--devices '", item, "': expected cpu[:THREADS][@FIRST_CORE]");
    }
    if (comma == text.size()) break;
  }
  if (static_cast<int>(r.size()) != stages)
    return invalid_argument("--devices names ", r.size(), " devices for ", stages, " stages");
  return r;
}

int run_partition(const PartitionArgs& a) {
  auto shapes = parse_shape_args(a.shapes);
  if (!shapes) return report(shapes.status());
  auto link = parse_link(a.link);
  if (!link) return report(link.status());
  auto devices = parse_devices(a.devices, a.stages);
  if (!devices) return report(devices.status());
  auto model = Model::load(a.model);
  if (!model) return report(model.status());
  auto an = partition::analyze_model(*model, *shapes);
  if (!an) return report(an.status());
  size_t allowed = 0;
  for (size_t p = 1; p < an->nodes.size(); ++p) allowed += an->cut_allowed[p];
  std::printf("model %s: %zu nodes, %zu of %zu cut positions keep shards identical to the whole model\n",
              a.model.c_str(), an->nodes.size(), allowed, an->nodes.size() ? an->nodes.size() - 1 : 0);
  if (a.explain) {
    std::map<std::string, int> reasons;
    for (size_t p = 1; p < an->nodes.size(); ++p)
      if (!an->cut_allowed[p]) ++reasons[an->cut_reason[p]];
    for (const auto& [why, count] : reasons) std::printf("  %4d cut(s) excluded: %s\n", count, why.c_str());
  }

  partition::CostTable costs;
  costs.link = *link;
  std::map<int, partition::NodeTimes> by_threads;  // one profile per device class
  std::map<int, partition::EdgeCosts> edges;
  for (const partition::Device& d : *devices) {
    if (!by_threads.count(d.threads)) {
      auto t = partition::profile_nodes(*model, *an, *shapes, d, a.iterations);
      if (!t) return report(t.status());
      auto edge = a.handover == "nchw" ? partition::measure_edge_costs(*an, d)
                                       : Result<partition::EdgeCosts>(partition::EdgeCosts{});
      if (!edge) return report(edge.status());
      double worst = 0;
      for (size_t p = 0; p < edge->in_s.size(); ++p) worst = std::max(worst, edge->in_s[p] + edge->out_s[p]);
      std::printf("profiled on %d thread(s): whole model %.2f ms; layout conversion at a cut up to %.2f ms\n", d.threads,
                  t->whole_s * 1e3, worst * 1e3);
      if (edge->in_s.empty()) edge->in_s.assign(an->nodes.size() + 1, 0.0), edge->out_s = edge->in_s;
      edges[d.threads] = std::move(*edge);
      by_threads[d.threads] = std::move(*t);
    }
    costs.node_s.push_back(by_threads[d.threads].node_s);
    costs.edge_in_s.push_back(edges[d.threads].in_s);
    costs.edge_out_s.push_back(edges[d.threads].out_s);
  }
  costs.cut_bytes.assign(an->cut_bytes.begin(), an->cut_bytes.end());
  costs.cut_allowed = an->cut_allowed;
  if (a.stages > 1 && !a.no_contention) {
    auto c = partition::measure_contention(*model, *shapes, *devices, a.iterations);
    if (!c) return report(c.status());
    costs.contention = *c;
    std::printf("contention: stages running together take %.3fx their time alone\n", costs.contention);
  }
  const auto objective = a.objective == "latency" ? partition::Objective::latency : partition::Objective::throughput;
  const double max_period = a.min_fps > 0 ? 1.0 / a.min_fps : std::numeric_limits<double>::infinity();
  auto split = partition::split(costs, static_cast<size_t>(a.stages), objective, max_period);
  if (!split) return report(split.status());
  partition::Plan header;
  header.source_model = a.model;
  header.input_shapes = *shapes;
  header.objective = a.objective;
  header.handover_layout = a.handover;
  header.whole_ms = by_threads[(*devices)[0].threads].whole_s * 1e3;
  header.cut_rule = "cuts only cross tensors that the optimized whole model materializes: none between a Conv and "
                    "the BatchNorm, activation, residual Add or per-channel affine fused into it, none through a "
                    "tensor computed at load time";
  auto plan = partition::write_plan(a.model, *an, *split, *devices, costs, header, a.out_dir);
  if (!plan) return report(plan.status());
  for (size_t s = 0; s < plan->stages.size(); ++s) {
    const partition::PlanStage& st = plan->stages[s];
    std::printf("stage %zu: %-14s %4zu nodes  %s .. %s  %d thread(s) on core %d  predicted %.2f ms\n", s,
                st.shard.c_str(), st.num_nodes, st.first_node.c_str(), st.last_node.c_str(), st.device.threads,
                st.device.cores.empty() ? -1 : st.device.cores[0], st.predicted_ms);
    if (s + 1 < plan->stages.size()) {
      const partition::PlanCut& c = plan->cuts[s];
      std::printf("  cut after %s: %zu tensor(s), %.1f KiB, link %.3f ms\n", c.after_node.c_str(), c.tensors.size(),
                  static_cast<double>(c.bytes) / 1024, c.predicted_link_ms);
    }
  }
  std::printf("predicted: %.2f ms per frame at the slowest stage (%.1f frames/s), latency %.2f ms; whole model %.2f ms\n",
              plan->predicted_bottleneck_ms, 1e3 / plan->predicted_bottleneck_ms, plan->predicted_latency_ms,
              plan->whole_ms);
  std::printf("wrote %s/plan.json\n", a.out_dir.c_str());
  return 0;
}

}  // namespace

Result<partition::Link> parse_link(const std::string& text) {
  partition::Link l;
  if (text.empty() || text == "shm") return l;
  const size_t colon = text.find(':');
  EP_ASSIGN_OR_RETURN(double bits, parse_number_unit(text.substr(0, colon),
                                                     {{"bps", 1}, {"kbps", 1e3}, {"mbps", 1e6}, {"gbps", 1e9}}, "--link bandwidth"));
  if (bits <= 0) return invalid_argument("--link '", text, "': bandwidth must be > 0");
  l.bytes_per_s = bits / 8;
  if (colon != std::string::npos) {
    EP_ASSIGN_OR_RETURN(l.latency_s, parse_number_unit(text.substr(colon + 1), {{"s", 1}, {"ms", 1e-3}, {"us", 1e-6}},
                                                       "--link latency"));
  }
  return l;
}


Runner add_partition(CLI::App& app) {
  auto a = std::make_shared<PartitionArgs>();
  app.add_option("model", a->model, "ONNX model file")->required();
  app.add_option("--stages", a->stages, "Pipeline stages")->check(CLI::Range(1, 64));
  app.add_option("--shape", a->shapes, "NAME=DIMS for inputs with open dimensions");
  app.add_option("--devices", a->devices, "Per stage: cpu[:THREADS][@FIRST_CORE], comma-separated (default cpu:1@k)");
  app.add_option("--link", a->link, "Hop between stages: BANDWIDTH[:LATENCY], e.g. 1gbps:0.2ms (default shm: free)");
  app.add_option("--objective", a->objective, "throughput or latency")->check(CLI::IsMember({"throughput", "latency"}));
  app.add_option("--min-fps", a->min_fps, "With --objective latency: the throughput floor")->check(CLI::NonNegativeNumber);
  app.add_option("--iterations", a->iterations, "Profiling runs per device")->check(CLI::Range(1, 10000));
  app.add_option("--handover", a->handover,
                 "Layout of rank-4 tensors between stages: nhwc (the kernels' own, free) or nchw (as the shards "
                 "declare them; each side converts, and the cost model charges it)")
      ->check(CLI::IsMember({"nhwc", "nchw"}));
  app.add_flag("--explain", a->explain, "List why cut positions are excluded");
  app.add_flag("--no-contention", a->no_contention, "Skip measuring how concurrent stages slow each other");
  app.add_option("-o,--output", a->out_dir, "Plan folder (shards and plan.json)")->required();
  return [a]() { return run_partition(*a); };
}

}  // namespace ep::tools
