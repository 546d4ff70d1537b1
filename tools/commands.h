// Subcommands of the `edgepipe` tool. Each registers its options on the parser and
// returns the process exit code when run.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "edgepipe/session.h"
#include "partition/plan.h"

namespace ep::tools {

using Runner = std::function<int()>;

Runner add_inspect(CLI::App& app);
Runner add_infer(CLI::App& app);
Runner add_bench(CLI::App& app);
Runner add_ops(CLI::App& app);
Runner add_run(CLI::App& app);
Runner add_node(CLI::App& app);
Runner add_keygen(CLI::App& app);
Runner add_node_bench(CLI::App& app);
Runner add_node_call(CLI::App& app);
Runner add_partition(CLI::App& app);
Runner add_delta(CLI::App& app);
Runner add_delta_apply(CLI::App& app);
Runner add_update(CLI::App& app);
Runner add_det_iou(CLI::App& app);
Runner add_stream(CLI::App& app);
Runner add_quantize(CLI::App& app);

// `edgepipe bench PLAN_DIR`: the plan against the whole model, alternated (cmd_bench_plan.cc).
int bench_plan(const std::string& dir, const std::string& whole, int rounds, int frames, int warmup, bool json);

// `edgepipe bench PLAN_DIR --nodes A,B`: the plan's shards on running nodes (cmd_bench_nodes.cc).
struct BenchNodesArgs {
  std::string dir, whole, emulate_link, prefix = "plan";
  std::vector<std::string> nodes;
  int frames = 20, warmup = 2, timeout_ms = 30000;
  bool json = false;
};
int bench_plan_nodes(const BenchNodesArgs& a);

// Uniform [-1, 1) f32 inputs (seeded), zeros for other dtypes, in the plan's graph_inputs order.
std::vector<Tensor> random_inputs(const std::vector<partition::PlanTensor>& ts);
// The 1-minute load average, printed beside timings.
std::string load_average();
// "1gbps:0.2ms" (bits per second and per-hop latency); "shm" (shared memory: free).
Result<partition::Link> parse_link(const std::string& text);

// "NAME=1x3x640x640" pairs -> map; errors name the argument.
Result<std::map<std::string, Shape>> parse_shape_args(const std::vector<std::string>& args);
// Prints "error: <message>" to stderr and returns the exit code for a failed status.
int report(const Status& st);

}  // namespace ep::tools
