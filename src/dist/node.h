// An edgepipe node: a daemon thread serving models over ZeroMQ (docs/protocol.md). It binds a
// ROUTER socket, runs INFER requests on its models, forwards the outputs to the next hop of
// the request's route or replies to the caller, answers STATUS, PING and LOAD.
// Security: CURVE is required for any address that leaves the machine; a ZAP handler is
// bound before the socket and admits only the allow-list's public keys. Refusals are logged.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "dist/gossip.h"
#include "dist/wire.h"
#include "edgepipe/status.h"

namespace ep::dist {

using LogFn = std::function<void(const std::string& line)>;
using ClockFn = std::function<int64_t()>;  // nanoseconds, monotonic

int64_t steady_now_ns();

// libzmq mallocs every large received frame (a 1x3x640x640 f32 tensor is 4.9 MB). glibc would
// hand such blocks back to the kernel on free, so each frame would page-fault fresh memory;
// this keeps blocks up to 32 MB in the heap for reuse. Process-wide: the node and node-bench
// commands call it once at start.
void malloc_keep_large_buffers();

struct NodeOptions {
  std::string bind = "tcp://127.0.0.1:*";  // '*' port: a free one (see Node::endpoint)
  std::string name;            // in hop stamps and status; default: the bound endpoint
  std::string keys_dir;        // this node's keypair: CURVE server, and client to next hops
  std::string allow_dir;       // public keys admitted (required with CURVE)
  // Public keys that may LOAD (replace the node's models); they are admitted too. With CURVE
  // and an admin folder, the other admitted keys may only INFER, STATUS and PING. Empty:
  // every admitted client may LOAD.
  std::string admin_dir;
  bool refuse_load = false;    // no LOAD from anyone: the node serves its models folder only
  // Models received by LOAD are kept here (dist/checkpoint.h) and served again after a
  // restart, each verified against its recorded version first. "": not kept.
  std::string state_dir;
  // The loop thread (all sockets, LOADs, replies) beats at least every 50 ms; when it has not
  // for this long, `on_stall` runs (default: log and exit the process with status 70, so a
  // supervisor such as systemd's Restart=on-failure starts it again). 0: no watchdog. Runs of
  // models are on their workers and do not count; a LOAD does (size this above a LOAD's parse).
  int watchdog_ms = 0;
  std::function<void(int64_t stalled_ms)> on_stall;
  std::string models_dir;      // *.onnx loaded at start
  bool allow_plaintext = false;  // serve a non-local address without CURVE (not recommended)
  // INFER tensors in a same-host sender's shared memory (docs/protocol.md, "Shared memory on
  // one host"): accepted when this is on and the bind address is local (ipc://, loopback).
  bool accept_shm = true;
  int threads = 1;             // per session
  size_t memory_limit_bytes = size_t{4} << 30;
  WireLimits limits;
  int forward_timeout_ms = 10000;  // a next hop that does not answer by then: ERROR to the caller
  // Each model runs on a worker thread of its own (runs of one model in order, different
  // models at once); a request finding this many already waiting for its model is refused.
  size_t max_queued_per_model = 64;
  int pings_per_peer = 8;          // clock offset samples taken when a next hop is first used
  LogFn log;      // default: stderr
  ClockFn clock;  // default: steady_now_ns
  // Model updates (UPDATE, gossip with gossip.peers): on unless refuse_load. The node then
  // keeps each model's ONNX bytes to patch (docs/protocol.md, "Model updates by gossip").
  GossipOptions gossip;
};

class Node {
 public:
  // Loads the models, binds (ZAP handler first), starts the thread; returns once it serves.
  static Result<std::unique_ptr<Node>> start(NodeOptions options);
  ~Node();  // stop()
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  const std::string& endpoint() const;    // "tcp://127.0.0.1:41234"
  const std::string& public_key() const;  // "" without CURVE
  // Ends the thread: callers of in-flight forwards get an ERROR, sockets close. Idempotent.
  void stop();

  struct Impl;

 private:
  explicit Node(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ep::dist
