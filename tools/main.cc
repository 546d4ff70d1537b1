// edgepipe: low-latency inference pipelines. This file only dispatches to subcommands.
#include <iostream>

#include "commands.h"

namespace ep::tools {

Result<std::map<std::string, Shape>> parse_shape_args(const std::vector<std::string>& args) {
  std::map<std::string, Shape> shapes;
  for (const std::string& a : args) {
    const size_t eq = a.rfind('=');
    if (eq == std::string::npos || eq == 0) return invalid_argument("--shape '", a, "': expected NAME=DIMS, e.g. x=1x3x640x640");
    EP_ASSIGN_OR_RETURN(Shape s, parse_shape(a.substr(eq + 1)));
    shapes[a.substr(0, eq)] = s;
  }
  return shapes;
}

int report(const Status& st) {
  std::cerr << "error: " << st.to_string() << "\n";
  switch (st.code()) {
    case StatusCode::invalid_argument: return 2;
    case StatusCode::io_error: return 3;
    case StatusCode::invalid_model: return 4;
    case StatusCode::unsupported: return 5;
    default: return 1;
  }
}

}  // namespace ep::tools

int main(int argc, char** argv) {
  CLI::App app{"edgepipe: low-latency neural network inference pipelines for edge devices"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "edgepipe 0.1.0");
  std::vector<std::pair<CLI::App*, ep::tools::Runner>> commands;
  auto add = [&](const char* name, const char* help, ep::tools::Runner (*setup)(CLI::App&)) {
    CLI::App* sub = app.add_subcommand(name, help);
    commands.emplace_back(sub, setup(*sub));
  };
  add("inspect", "Show a model's inputs, outputs, operators, parameters and FLOPs", ep::tools::add_inspect);
  add("infer", "Run a model on .npy inputs and write .npy outputs", ep::tools::add_infer);
  add("bench", "Measure a model's latency and throughput", ep::tools::add_bench);
  add("run", "Run a pipeline (default: OCR on the synthetic source) with a latency breakdown", ep::tools::add_run);
  add("node", "Serve models to other nodes and clients over ZeroMQ (CURVE off the machine)", ep::tools::add_node);
  add("node-call", "Send .npy inputs to a node (and along a route); print the result and per-hop times", ep::tools::add_node_call);
  add("keygen", "Write a CURVE keypair (public.key, secret.key) for a node or client", ep::tools::add_keygen);
  add("node-bench", "Measure one hop's overhead for a tensor (send, receive, validate)", ep::tools::add_node_bench);
  add("stream", "Stream frames to redundant nodes (failover, local fallback); report every frame", ep::tools::add_stream);
  add("partition", "Split a model into pipeline stages from measured costs; write shards and a plan", ep::tools::add_partition);
  add("delta", "Write a weight delta (top-k sparse) between two versions of a model", ep::tools::add_delta);
  add("delta-apply", "Apply a weight delta to a model file", ep::tools::add_delta_apply);
  add("update", "Give a node a weight delta to apply and spread to its peers by gossip", ep::tools::add_update);
  add("det-iou", "Compare a detector's binarized maps with FP32's (IoU) on synthetic text scenes", ep::tools::add_det_iou);
  add("quantize", "Calibrate and write a QDQ (INT8/INT4) model with a per-layer sensitivity report", ep::tools::add_quantize);
  add("ops", "List the supported operators and kernels", ep::tools::add_ops);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  for (auto& [sub, run] : commands)
    if (sub->parsed()) return run();
  return 1;
}
