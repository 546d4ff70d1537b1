// `edgepipe node`, `edgepipe keygen`, `edgepipe node-bench`: the distribution layer's commands.
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include <google/protobuf/util/json_util.h>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "edgepipe/npy.h"
#include "dist/client.h"
#include "dist/hop_bench.h"
#include "dist/keys.h"
#include "dist/node.h"

namespace ep::tools {

namespace {

volatile std::sig_atomic_t g_node_stop = 0;
void on_node_signal(int) { g_node_stop = 1; }

struct NodeArgs {
  dist::NodeOptions opt;
  std::string ready_file;
  size_t max_message_mb = 1024;
  bool no_shm = false;
};

Status node(NodeArgs& a) {
  a.opt.limits.max_tensor_bytes = a.max_message_mb << 20;
  a.opt.limits.max_model_bytes = a.max_message_mb << 20;
  a.opt.accept_shm = !a.no_shm;
  dist::malloc_keep_large_buffers();
  std::signal(SIGINT, on_node_signal);
  std::signal(SIGTERM, on_node_signal);
  EP_ASSIGN_OR_RETURN(std::unique_ptr<dist::Node> node, dist::Node::start(a.opt));
  std::cerr << "[edgepipe node] serving on " << node->endpoint()
            << (node->public_key().empty() ? " (plain, local only)" : " (CURVE, server key " + node->public_key() + ")")
            << std::endl;
  if (!a.ready_file.empty()) {
    // Written whole, then renamed: a reader never sees half a file.
    const std::string tmp = a.ready_file + ".tmp";
    std::ofstream(tmp) << node->endpoint() << "\n" << node->public_key() << "\n";
    if (std::rename(tmp.c_str(), a.ready_file.c_str()) != 0) return io_error("--ready-file '", a.ready_file, "': cannot write");
  }
  while (!g_node_stop) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  node->stop();
  std::cerr << "[edgepipe node] stopped" << std::endl;
  return Status::ok();
}

Status keygen(const std::string& dir) {
  EP_ASSIGN_OR_RETURN(dist::KeyPair k, dist::keypair_generate());
  EP_RETURN_IF_ERROR(dist::keypair_write(dir, k));
  std::cout << dir << "/public.key " << k.public_key << "\n" << dir << "/secret.key (mode 0600)\n";
  return Status::ok();
}

struct NodeBenchArgs {
  std::string shape = "1x3x640x640";
  dist::HopBenchOptions opt;
  bool json = false;
};

Status node_bench(NodeBenchArgs& a) {
  EP_ASSIGN_OR_RETURN(a.opt.shape, parse_shape(a.shape));
  dist::malloc_keep_large_buffers();
  EP_ASSIGN_OR_RETURN(dist::HopBenchResult r, dist::hop_bench(a.opt));
  auto ms = [](int64_t ns) { return static_cast<double>(ns) / 1e6; };
  if (a.json) {
    nlohmann::json j = {{"shape", a.shape}, {"dtype", "f32"}, {"bytes", r.bytes}, {"endpoint", r.endpoint},
                        {"curve", a.opt.curve}, {"shm", a.opt.shm}, {"iterations", r.hop_ns.size()}, {"min_ms", ms(r.min_ns)},
                        {"p50_ms", ms(r.p50_ns)}, {"p90_ms", ms(r.p90_ns)}, {"p99_ms", ms(r.p99_ns)},
                        {"max_ms", ms(r.max_ns)}, {"misaligned", r.misaligned}};
    std::cout << j.dump() << "\n";
    return Status::ok();
  }
  std::printf("hop: %s f32 (%zu bytes) over %s%s%s, %zu iterations\n", a.shape.c_str(), r.bytes, r.endpoint.c_str(),
              a.opt.curve ? " with CURVE" : "", a.opt.shm ? ", tensor in shared memory" : "", r.hop_ns.size());
  std::printf("send -> received and validated: min %.3f  p50 %.3f  p90 %.3f  p99 %.3f  max %.3f ms", ms(r.min_ns),
              ms(r.p50_ns), ms(r.p90_ns), ms(r.p99_ns), ms(r.max_ns));
  if (a.opt.shm) std::printf("  (the tensor stays in place)\n");
  else std::printf("  (%.2f GB/s at p50)\n", static_cast<double>(r.bytes) / static_cast<double>(r.p50_ns));
  if (r.misaligned) std::printf("%d frames arrived misaligned for f32 (a node copies those)\n", r.misaligned);
  return Status::ok();
}

struct CallArgs {
  dist::ClientOptions opt;
  std::string server_key_file, model, output_dir;
  std::vector<std::string> inputs, route;
  bool status = false, json = false, shm = false;
  int pings = 8;
};

Result<std::vector<dist::wire::Hop>> parse_route(const std::vector<std::string>& specs) {
  std::vector<dist::wire::Hop> route;
  for (const std::string& spec : specs) {
    // ADDRESS=MODEL[=SERVER_KEY]; the address itself has no '=' (tcp://host:port).
    const size_t eq = spec.find('=');
    if (eq == std::string::npos || eq == 0) return invalid_argument("--route '", spec, "': expected ADDRESS=MODEL[=KEY]");
    dist::wire::Hop hop;
    hop.set_address(spec.substr(0, eq));
    const std::string rest = spec.substr(eq + 1);
    const size_t eq2 = rest.find('=');
    hop.set_model(rest.substr(0, eq2));
    if (eq2 != std::string::npos) hop.set_server_key(rest.substr(eq2 + 1));
    route.push_back(hop);
  }
  return route;
}

void print_hops(const dist::Reply& r, const dist::ClockOffset& offset) {
  auto ms = [](int64_t ns) { return static_cast<double>(ns) / 1e6; };
  const std::vector<dist::HopTimes> hops = dist::hop_times(r.header, offset);
  std::printf("%-28s %-20s %9s %9s %9s %9s\n", "hop (client clock, ms)", "model", "arrive", "run", "leave", "wait+wire");
  int64_t prev = r.send_ns;
  for (const dist::HopTimes& h : hops) {
    std::printf("%-28s %-20s %9.3f %9.3f %9.3f %9.3f%s\n", h.node.c_str(), h.model.c_str(), ms(h.recv_ns - r.send_ns),
                ms(h.run_end_ns - h.run_start_ns), ms(h.send_ns - r.send_ns), ms(h.recv_ns - prev),
                h.offset_known ? "" : "  (clock offset unknown)");
    prev = h.send_ns;
  }
  std::printf("%-28s %-20s %9.3f %9s %9s %9.3f\n", "back at the client", "", ms(r.recv_ns - r.send_ns), "", "",
              ms(r.recv_ns - prev));
  std::printf("clock offset to the first node %.3f ms (+- %.3f ms)\n", ms(offset.offset_ns), ms(offset.delay_ns) / 2);
}

Status call(CallArgs& a) {
  if (!a.server_key_file.empty()) {
    EP_ASSIGN_OR_RETURN(a.opt.server_key, dist::key_read(a.server_key_file));
  }
  if (a.shm) {
    // A segment the size of the inputs (each 64-byte aligned).
    for (const std::string& arg : a.inputs) {
      std::error_code ec;
      const size_t eq = arg.find('=');
      const auto bytes = eq == std::string::npos ? 0 : std::filesystem::file_size(arg.substr(eq + 1), ec);
      a.opt.shm_bytes += (ec ? 0 : static_cast<size_t>(bytes)) + 64;
    }
    if (a.opt.shm_bytes == 0) a.opt.shm_bytes = 4096;
  }
  EP_ASSIGN_OR_RETURN(dist::Client client, dist::Client::connect(a.opt));
  if (a.status && a.json) {
    EP_ASSIGN_OR_RETURN(dist::wire::NodeStatus s, client.status());
    std::string text;
    google::protobuf::util::JsonPrintOptions o;
    o.preserve_proto_field_names = true;
    if (!google::protobuf::util::MessageToJsonString(s, &text, o).ok()) return internal_error("status: no JSON");
    std::printf("%s\n", text.c_str());
  } else if (a.status) {
    EP_ASSIGN_OR_RETURN(dist::wire::NodeStatus s, client.status());
    std::printf("node %s (protocol %u): %llu requests, %llu errors, %llu in flight, busy %.1f%%%s\n", s.node().c_str(),
                s.protocol_version(), static_cast<unsigned long long>(s.requests()),
                static_cast<unsigned long long>(s.errors()), static_cast<unsigned long long>(s.in_flight()),
                100 * s.busy_fraction(), s.accepts_shm() ? ", takes shared memory" : "");
    for (const auto& m : s.models())
      std::printf("  %-32s %s  %llu requests  run p50 %.3f ms  p99 %.3f ms\n", m.name().c_str(), m.version().c_str(),
                  static_cast<unsigned long long>(m.requests()), m.run_p50_ns() / 1e6, m.run_p99_ns() / 1e6);
  }
  if (a.model.empty()) return Status::ok();
  std::vector<Tensor> tensors;
  std::vector<dist::NamedView> inputs;
  for (const std::string& arg : a.inputs) {
    const size_t eq = arg.find('=');
    if (eq == std::string::npos || eq == 0) return invalid_argument("--input '", arg, "': expected NAME=FILE.npy");
    EP_ASSIGN_OR_RETURN(Tensor t, npy_read(arg.substr(eq + 1)));
    tensors.push_back(std::move(t));
    TensorView v = tensors.back().view();
    if (a.opt.shm_bytes > 0) {
      // Into the shared segment: the node reads it there instead of from a frame.
      EP_ASSIGN_OR_RETURN(TensorView s, client.shm_tensor(v.dtype, v.shape));
      std::memcpy(s.data, v.data, v.nbytes());
      v = s;
    }
    inputs.push_back({arg.substr(0, eq), v});
  }
  EP_ASSIGN_OR_RETURN(std::vector<dist::wire::Hop> route, parse_route(a.route));
  EP_ASSIGN_OR_RETURN(dist::ClockOffset offset, client.clock_offset(a.pings));
  EP_ASSIGN_OR_RETURN(dist::Reply r, client.infer(a.model, inputs, route));
  for (const dist::NamedView& out : r.tensors) {
    std::printf("%s %s %s", out.name.c_str(), std::string(dtype_name(out.view.dtype)).c_str(), out.view.shape.to_string().c_str());
    if (!a.output_dir.empty()) {
      std::string file = out.name;
      for (char& c : file)
        if (c == '/' || c == '\\') c = '_';
      const std::string path = a.output_dir + "/" + file + ".npy";
      EP_RETURN_IF_ERROR(npy_write(path, out.view));
      std::printf(" -> %s", path.c_str());
    }
    std::printf("\n");
  }
  print_hops(r, offset);
  return Status::ok();
}

}  // namespace

Runner add_node_call(CLI::App& app) {
  auto a = std::make_shared<CallArgs>();
  app.add_option("address", a->opt.address, "The first node, e.g. tcp://10.0.0.2:5555")->required();
  app.add_option("--model", a->model, "Model to run on the first node");
  app.add_option("--input", a->inputs, "NAME=FILE.npy");
  app.add_option("--route", a->route, "Next hops in order: ADDRESS=MODEL[=SERVER_KEY]");
  app.add_option("--output-dir", a->output_dir, "Write the result tensors as OUT/<name>.npy");
  app.add_option("--server-key", a->opt.server_key, "The first node's public key (Z85): CURVE");
  app.add_option("--server-key-file", a->server_key_file, "... read from a file (public.key)");
  app.add_option("--keys", a->opt.keys_dir, "This client's keypair folder");
  app.add_flag("--shm", a->shm, "Send the inputs through shared memory (a node on this host)");
  app.add_option("--timeout-ms", a->opt.timeout_ms, "Wait this long for the reply")->check(CLI::Range(1, 3600000));
  app.add_flag("--status", a->status, "Print the node's status");
  app.add_flag("--json", a->json, "With --status: print it as one JSON object (wire.proto's field names)");
  return [a]() {
    Status st = call(*a);
    return st.is_ok() ? 0 : report(st);
  };
}

Runner add_node(CLI::App& app) {
  auto a = std::make_shared<NodeArgs>();
  app.add_option("--bind", a->opt.bind, "Address to serve, e.g. tcp://0.0.0.0:5555 (port * picks a free one)")->required();
  app.add_option("--keys", a->opt.keys_dir, "This node's keypair (edgepipe keygen): CURVE on");
  app.add_option("--allow", a->opt.allow_dir, "Folder of client public keys (*.key) admitted");
  app.add_option("--admin", a->opt.admin_dir, "Folder of client public keys that may LOAD models (admitted too); "
                 "with it, the --allow keys may only run models");
  app.add_flag("--no-load", a->opt.refuse_load, "Refuse LOAD from everyone: serve the --models folder only");
  app.add_option("--state", a->opt.state_dir, "Keep LOADed and updated models (and the gossip version vector) here; serve them again after a restart (verified)");
  app.add_option("--watchdog-ms", a->opt.watchdog_ms, "Exit with status 70 when the node's loop stalls this long "
                 "(for a supervisor to restart it)")->check(CLI::Range(0, 3600000));
  app.add_option("--models", a->opt.models_dir, "Serve every *.onnx here, named by file stem");
  app.add_option("--name", a->opt.name, "Name in hop stamps and status (default: the endpoint)");
  app.add_option("--threads", a->opt.threads, "Threads per session")->check(CLI::Range(1, 1024));
  app.add_flag("--allow-plaintext", a->opt.allow_plaintext, "Serve a non-local address without CURVE");
  app.add_flag("--no-shm", a->no_shm, "Refuse tensors in a same-host client's shared memory (accepted on ipc:// and loopback binds)");
  app.add_option("--max-message-mb", a->max_message_mb, "Largest tensor or model frame accepted")->check(CLI::Range(1, 16384));
  app.add_option("--forward-timeout-ms", a->opt.forward_timeout_ms, "Wait for a next hop's reply")->check(CLI::Range(1, 3600000));
  app.add_option("--ready-file", a->ready_file, "Once serving, write the endpoint and public key here");
  app.add_option("--peers", a->opt.gossip.peers, "Nodes to gossip model updates with: ADDRESS[=SERVER_KEY],...")->delimiter(',');
  app.add_option("--gossip-ms", a->opt.gossip.period_ms, "One gossip round: an exchange with a random peer")->check(CLI::Range(1, 3600000));
  app.add_option("--node-id", a->opt.gossip.node_id, "This node's id in gossip (default: its name)");
  return [a]() {
    Status st = node(*a);
    return st.is_ok() ? 0 : report(st);
  };
}

Runner add_keygen(CLI::App& app) {
  auto dir = std::make_shared<std::string>();
  app.add_option("-o,--output", *dir, "Folder for public.key and secret.key")->required();
  return [dir]() {
    Status st = keygen(*dir);
    return st.is_ok() ? 0 : report(st);
  };
}

Runner add_node_bench(CLI::App& app) {
  auto a = std::make_shared<NodeBenchArgs>();
  app.add_option("--shape", a->shape, "f32 tensor shape (default 1x3x640x640)");
  app.add_option("--iterations", a->opt.iterations, "Timed hops")->check(CLI::Range(1, 1000000));
  app.add_option("--warmup", a->opt.warmup, "Untimed hops first")->check(CLI::Range(0, 1000000));
  app.add_option("--address", a->opt.address, "Receiver address (default tcp://127.0.0.1:*)");
  app.add_flag("--curve", a->opt.curve, "Encrypt with CURVE");
  app.add_option("--socket-buffer", a->opt.socket_buffer_bytes, "SO_SNDBUF/SO_RCVBUF bytes (default: the kernel's)");
  app.add_flag("--shm", a->opt.shm, "Send the tensor through a shared memory segment (same host), only its reference over the socket");
  app.add_flag("--json", a->json, "Print one JSON object");
  return [a]() {
    Status st = node_bench(*a);
    return st.is_ok() ? 0 : report(st);
  };
}

}  // namespace ep::tools
