// Frames to a set of redundant nodes that serve the same model (docs/protocol.md,
// "Redundancy"). Each frame goes to a healthy node with the fewest requests in flight. Nodes
// are watched two ways: libzmq's ZMQ_HEARTBEAT_* on every connection, and a PING every
// heartbeat interval whose PONG (or any other reply) keeps the node alive; a node silent for
// the heartbeat timeout is declared dead, its connection replaced (nothing queued for it is
// sent later), and the frames it held go to another node while their deadline allows. A dead
// node that answers a PING again takes frames again. Every frame submitted ends in exactly one
// outcome: answered (by whom, after how many attempts) or lost, with its id and the reason.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "dist/client.h"
#include "dist/wire.h"

namespace ep::dist {

struct BalancerOptions {
  std::vector<std::string> addresses;  // the redundant nodes
  std::string model;                   // served by every one of them
  std::string server_key;              // CURVE: one key for all (a replicated service), or "" (loopback)
  std::string keys_dir;                // this client's keypair with CURVE
  int heartbeat_ms = 100;
  int heartbeat_timeout_ms = 300;      // silent this long: dead
  int deadline_ms = 1000;              // a frame not answered this long after submit is lost
  int max_attempts = 3;                // sends of one frame (first try and retries)
  size_t max_in_flight_per_node = 4;   // more wait in the balancer's queue
  WireLimits limits;
};

struct FrameOutcome {
  uint64_t id = 0;
  Status status;            // ok: answered; else why it is lost (deadline, attempts, a node's error)
  std::string node;         // the node that answered (or the last one tried)
  int attempts = 0;
  bool retried = false;     // sent again after a node died or refused it
  int64_t submit_ns = 0, done_ns = 0;  // steady clock
  Reply reply;              // the outputs when answered
};

struct NodeEvent {
  int64_t t_ns = 0;         // steady clock
  std::string node;
  bool alive = false;       // false: declared dead; true: back (or first seen)
  int64_t silent_ns = 0;    // for a death: how long it had been silent
  size_t frames_moved = 0;  // for a death: frames in flight on it, sent elsewhere or lost
};

struct NodeHealth {
  std::string address;
  bool alive = false;
  size_t in_flight = 0;
  uint64_t answered = 0, deaths = 0;
};

class Balancer {
 public:
  using Done = std::function<void(FrameOutcome&&)>;
  // Connects to every node and starts the balancer's thread; `done` is called from it.
  static Result<std::unique_ptr<Balancer>> start(BalancerOptions options, Done done);
  ~Balancer();  // stop()
  Balancer(const Balancer&) = delete;
  Balancer& operator=(const Balancer&) = delete;

  // Copies the inputs and queues the frame; its outcome reaches `done` exactly once.
  void submit(uint64_t id, const std::vector<NamedView>& inputs);
  // Frames still queued or in flight are reported lost ("balancer stopped"). Idempotent.
  void stop();

  std::vector<NodeHealth> health() const;
  size_t alive() const;
  std::vector<NodeEvent> events() const;

  struct Impl;

 private:
  explicit Balancer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// One frame through a balancer, waited for: for a pipeline stage that calls synchronously.
class BalancedClient {
 public:
  static Result<std::unique_ptr<BalancedClient>> start(BalancerOptions options);
  Result<Reply> infer(const std::vector<NamedView>& inputs);
  Balancer& balancer() { return *balancer_; }

 private:
  struct Waiter;
  std::shared_ptr<Waiter> waiter_;
  std::unique_ptr<Balancer> balancer_;
  uint64_t next_id_ = 1;
};

}  // namespace ep::dist
