#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <filesystem>
#include <random>

#include "commands.h"
#include "ir/graph.h"

namespace ep::tools {

namespace {

// A step's mean time per call in milliseconds.
double mean_ms(const OpProfile& p) {
  return p.calls ? static_cast<double>(p.total_ns) / 1e6 / static_cast<double>(p.calls) : 0.0;
}

// The steps as they ran, after the rewrites: what each consumed and produced.
void print_steps(const std::vector<OpProfile>& prof) {
  std::printf("%4s %-36s %-20s %-7s %8s  %s\n", "#", "node", "op", "kernel", "mean ms", "inputs -> outputs [shape]");
  for (size_t i = 0; i < prof.size(); ++i) {
    const OpProfile& p = prof[i];
    std::string io;
    for (const std::string& in : p.inputs) io += (io.empty() ? "" : ", ") + (in.empty() ? std::string("-") : in);
    io += " ->";
    for (size_t k = 0; k < p.outputs.size(); ++k) {
      io += " " + p.outputs[k] + " [";
      for (size_t d = 0; d < p.output_shapes[k].rank(); ++d) io += (d ? "x" : "") + std::to_string(p.output_shapes[k][d]);
      io += " " + std::string(dtype_name(p.output_dtypes[k])) + "]";
    }
    if (!p.implementation.empty()) io += "  (" + p.implementation + ")";
    const double m = mean_ms(p);
    std::printf("%4zu %-36.36s %-20.20s %-7s %8.3f  %s\n", i, p.node.c_str(), p.op.c_str(), p.kernel.c_str(), m, io.c_str());
  }
  std::printf("\n");
}

struct BenchArgs {
  std::string model;
  std::vector<std::string> shapes;
  int threads = 1, warmup = 5, iterations = 0;
  double duration = 0;
  bool profile = false, json = false, steps = false;
  std::string conv_algorithm = "auto";
  std::string blocked_layout = "off";
  std::string backend = "auto";
  std::string precision = "fp32";
  std::string whole;  // PLAN_DIR only
  int rounds = 5;
  BenchNodesArgs nodes;  // PLAN_DIR --nodes
};

void fill_random(Tensor& t, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-1.f, 1.f);
  if (t.dtype() == DType::f32)
    for (int64_t i = 0; i < t.numel(); ++i) t.as<float>()[i] = d(rng);
  // other dtypes stay zero: valid indices for gathers, neutral for masks
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  const double pos = p / 100.0 * static_cast<double>(v.size() - 1);
  const size_t lo = static_cast<size_t>(pos);
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}

int bench(const BenchArgs& a) {
  if (std::error_code ec; !a.nodes.nodes.empty()) {
    if (!std::filesystem::is_directory(a.model, ec)) return report(invalid_argument("--nodes needs a plan folder, not ", a.model));
    BenchNodesArgs n = a.nodes;
    n.dir = a.model;
    n.whole = a.whole;
    n.json = a.json;
    n.warmup = std::min(a.warmup, 2);
    if (a.iterations > 0) n.frames = a.iterations;
    return bench_plan_nodes(n);
  }
  if (std::error_code ec; std::filesystem::is_directory(a.model, ec))
    return bench_plan(a.model, a.whole, a.rounds, a.iterations > 0 ? a.iterations : 20, a.warmup, a.json);
  auto model = Model::load(a.model);
  if (!model) return report(model.status());
  auto shapes = parse_shape_args(a.shapes);
  if (!shapes) return report(shapes.status());
  SessionOptions opt;
  opt.threads = a.threads;
  opt.input_shapes = *shapes;
  opt.profile = a.profile || a.steps;
  opt.conv_algorithm = a.conv_algorithm;
  opt.blocked_layout = a.blocked_layout;
  opt.backend = a.backend;
  opt.precision = a.precision;
  auto session = Session::create(*model, opt);
  if (!session) return report(session.status());
  std::vector<Tensor> inputs, outputs;
  std::vector<TensorView> in_views, out_views;
  for (const IoInfo& io : session->inputs()) {
    inputs.emplace_back(io.dtype, io.shape);
    fill_random(inputs.back(), static_cast<uint32_t>(inputs.size()));
    in_views.push_back(inputs.back().view());
  }
  for (const IoInfo& io : session->outputs()) {
    outputs.emplace_back(io.dtype, io.shape);
    out_views.push_back(outputs.back().view());
  }
  using clock = std::chrono::steady_clock;
  for (int i = 0; i < a.warmup; ++i)
    if (Status st = session->run(in_views, out_views); !st.is_ok()) return report(st);
  session->reset_profile();
  const int iterations = a.iterations > 0 ? a.iterations : (a.duration > 0 ? 1 << 30 : 20);
  std::vector<double> ms;
  const auto start = clock::now();
  for (int i = 0; i < iterations; ++i) {
    const auto t0 = clock::now();
    if (Status st = session->run(in_views, out_views); !st.is_ok()) return report(st);
    const auto t1 = clock::now();
    ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    if (a.duration > 0 && std::chrono::duration<double>(t1 - start).count() >= a.duration) break;
  }
  const double wall = std::chrono::duration<double>(clock::now() - start).count();
  double mean = 0;
  for (double m : ms) mean += m;
  mean /= static_cast<double>(ms.size());
  const double throughput = static_cast<double>(ms.size()) / wall;
  std::vector<OpProfile> prof = session->profile();
  nlohmann::json step_list = nlohmann::json::array();
  if (a.steps && a.json) {
    for (const OpProfile& p : prof) {
      nlohmann::json shapes = nlohmann::json::array(), dtypes = nlohmann::json::array();
      for (DType t : p.output_dtypes) dtypes.push_back(std::string(dtype_name(t)));
      for (const Shape& s : p.output_shapes) {
        std::vector<int64_t> dims;
        for (size_t d = 0; d < s.rank(); ++d) dims.push_back(s[d]);
        shapes.push_back(dims);
      }
      step_list.push_back({{"node", p.node}, {"op", p.op}, {"kernel", p.kernel},
                           {"implementation", p.implementation}, {"mean_ms", mean_ms(p)},
                           {"inputs", p.inputs}, {"outputs", p.outputs}, {"output_shapes", shapes},
                           {"output_dtypes", dtypes}});
    }
  } else if (a.steps) {
    print_steps(prof);
  }
  std::sort(prof.begin(), prof.end(), [](const OpProfile& x, const OpProfile& y) { return x.total_ns > y.total_ns; });
  if (a.json) {
    nlohmann::json j = {{"model", a.model}, {"threads", a.threads}, {"precision", a.precision}, {"iterations", ms.size()},
                        {"min_ms", *std::min_element(ms.begin(), ms.end())}, {"p50_ms", percentile(ms, 50)},
                        {"p90_ms", percentile(ms, 90)}, {"p99_ms", percentile(ms, 99)},
                        {"max_ms", *std::max_element(ms.begin(), ms.end())}, {"mean_ms", mean},
                        {"throughput_fps", throughput}, {"arena_bytes", session->arena_bytes()},
                        {"steps", session->num_steps()}};
    if (a.profile) {
      nlohmann::json ops = nlohmann::json::array();
      for (const OpProfile& p : prof)
        ops.push_back({{"node", p.node}, {"op", p.op}, {"kernel", p.kernel},
                       {"mean_ms", mean_ms(p)}});
      j["profile"] = ops;
    }
    if (a.steps) {
      j["step_list"] = step_list;  // execution order
      // The model's own nodes as imported, before the rewrites: what a step was made from
      // (bench/compare_ort_layers.sh maps ONNX Runtime's nodes onto the steps through them).
      nlohmann::json source = nlohmann::json::array();
      for (const auto& n : model->graph().nodes()) {
        std::vector<std::string> ins, outs;
        for (const ir::Value* v : n->inputs) ins.push_back(v ? v->name : "");
        for (const ir::Value* v : n->outputs) outs.push_back(v ? v->name : "");
        source.push_back({{"name", n->name}, {"op", n->op_type}, {"inputs", ins}, {"outputs", outs}});
      }
      j["source_nodes"] = source;
    }
    std::cout << j.dump() << "\n";
    return 0;
  }
  std::printf("model %s, %d thread(s), %zu iterations, %zu steps, arena %.1f MiB\n", a.model.c_str(), a.threads,
              ms.size(), session->num_steps(), static_cast<double>(session->arena_bytes()) / (1 << 20));
  std::printf("latency ms: min %.3f  p50 %.3f  p90 %.3f  p99 %.3f  max %.3f  mean %.3f\n",
              *std::min_element(ms.begin(), ms.end()), percentile(ms, 50), percentile(ms, 90), percentile(ms, 99),
              *std::max_element(ms.begin(), ms.end()), mean);
  std::printf("throughput: %.2f inferences/s\n", throughput);
  if (a.profile) {
    int64_t total = 0;
    for (const OpProfile& p : prof) total += p.total_ns;
    std::printf("\n%-40s %-20s %-8s %10s %7s\n", "node", "op", "kernel", "mean ms", "share");
    for (const OpProfile& p : prof) {
      const double m = mean_ms(p);
      std::printf("%-40.40s %-20.20s %-8s %10.3f %6.1f%%\n", p.node.c_str(), p.op.c_str(), p.kernel.c_str(), m,
                  total ? 100.0 * static_cast<double>(p.total_ns) / static_cast<double>(total) : 0.0);
    }
  }
  return 0;
}
}  // namespace

Runner add_bench(CLI::App& app) {
  auto a = std::make_shared<BenchArgs>();
  app.add_option("model", a->model, "ONNX model file, or a plan folder written by `edgepipe partition`")->required();
  app.add_option("--shape", a->shapes, "NAME=DIMS for inputs with open dimensions, e.g. x=1x3x640x640");
  app.add_option("--threads", a->threads, "Threads")->check(CLI::Range(1, 1024));
  app.add_option("--warmup", a->warmup, "Untimed runs first")->check(CLI::Range(0, 1000000));
  auto* it = app.add_option("--iterations", a->iterations, "Timed runs (default 20)")->check(CLI::Range(1, 100000000));
  app.add_option("--duration", a->duration, "Run for S seconds instead")->excludes(it)->check(CLI::PositiveNumber);
  app.add_flag("--profile", a->profile, "Per-node time table, sorted by time");
  app.add_flag("--json", a->json, "Print one JSON object");
  app.add_flag("--steps", a->steps, "List the steps in execution order after the rewrites (node, op, kernel, time, inputs -> outputs, and which implementation where a kernel has several); with --json as step_list");
  app.add_option("--conv-algorithm", a->conv_algorithm, "auto (Winograd for fp32 3x3 stride-1 convolutions, and on CPUs without AVX-512 the wider stride-2 ones) or direct")
      ->check(CLI::IsMember({"auto", "direct"}));
  app.add_option("--blocked-layout", a->blocked_layout, "off (NHWC activations, the default) or on (oneDNN's nChw8c blocks)")
      ->check(CLI::IsMember({"off", "on"}));
  app.add_option("--backend", a->backend, "auto or ref")->check(CLI::IsMember({"auto", "ref"}));
  app.add_option("--precision", a->precision, "fp32 or bf16 (QDQ models run int8 either way)")
      ->check(CLI::IsMember({"fp32", "bf16"}));
  app.add_option("--whole", a->whole, "PLAN_DIR: the whole model to compare with (default: the plan's source_model)");
  app.add_option("--rounds", a->rounds, "PLAN_DIR: alternated rounds of whole model and plan")->check(CLI::Range(1, 10000));
  app.add_option("--nodes", a->nodes.nodes, "PLAN_DIR: running nodes, one per stage (tcp://HOST:PORT ...): shard k is loaded "
                 "onto node k and frames go along the chain one at a time")->delimiter(',');
  app.add_option("--emulate-link", a->nodes.emulate_link, "PLAN_DIR --nodes: put a link emulator (BANDWIDTH[:LATENCY], e.g. "
                 "1gbps:0.2ms) in front of every node after the first");
  app.add_option("--prefix", a->nodes.prefix, "PLAN_DIR --nodes: shard k is served as PREFIX.shard_k");
  return [a]() { return bench(*a); };
}

}  // namespace ep::tools
