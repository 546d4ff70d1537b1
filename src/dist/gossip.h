// Model updates spread peer to peer by anti-entropy (docs/protocol.md, "Model updates by
// gossip"). Each node keeps a version vector (origin -> highest sequence number applied, all
// before it too) and the deltas it applied, in the order it applied them. Every round it
// starts one push-pull exchange with a random peer: its digest (the version vector) goes out,
// the peer answers with the deltas this node lacks and its own digest, and this node pushes
// back the deltas the peer lacks. The node's loop thread owns the sockets and calls this
// class; nothing here touches ZeroMQ, so it is tested in one process with a fake clock.
//
// A delta is applied only as the next of its origin (seq = version vector + 1) and only on
// top of its base version; one further ahead waits (bounded) for its predecessors. A corrupt,
// malformed, conflicting or wrong-base delta is rejected: logged, counted once, never kept,
// never passed on.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "dist/delta.h"
#include "dist/model_host.h"

namespace ep::dist {

struct GossipOptions {
  std::string node_id;             // in digests, status and logs; default: the node's name
  std::vector<std::string> peers;  // "tcp://host:port" or "tcp://host:port=SERVER_KEY" (CURVE)
  int period_ms = 200;             // one round: one exchange started per node
  size_t max_kept = 256;           // applied deltas kept to pass on (the oldest go first)
  size_t max_kept_bytes = size_t{256} << 20;
  size_t max_held = 64;            // deltas waiting for an earlier one of their origin
  size_t max_per_message = 32;     // deltas in one GOSSIP_DELTAS (the rest go next round)
  size_t max_origins = 1024;       // version vector entries
  size_t max_rejected_remembered = 4096;
  uint64_t seed = 0;               // peer choice and round phase; 0: random
  DeltaLimits delta_limits;
  // The version vector is kept here (written atomically after each apply, read at start), so a
  // node restarted from its checkpoint (--state) knows which deltas its models already have.
  std::string state_file;
};

// "tcp://a:1=KEY" -> {address, server key}.
std::pair<std::string, std::string> gossip_peer_split(const std::string& spec);

class Gossip {
 public:
  using LogFn = std::function<void(const std::string&)>;
  using ClockFn = std::function<int64_t()>;
  Gossip(GossipOptions options, ModelHost& host, LogFn log, ClockFn clock);

  enum class Outcome { applied, held, duplicate, rejected };
  struct Received {
    Outcome outcome = Outcome::rejected;
    Status status;  // why, when rejected
    std::string delta;  // "origin #seq (model ...)" when it decoded
  };
  // One DeltaEnvelope from a client (UPDATE) or a peer (`from` names it in logs).
  Received receive(std::span<const uint8_t> envelope, const std::string& from);

  void fill_digest(wire::GossipDigest* digest) const;
  // Kept deltas the owner of `peer` lacks, in the order this node applied them (an order in
  // which they apply), at most max_per_message.
  std::vector<std::shared_ptr<const std::string>> missing_for(const wire::GossipDigest& peer) const;

  // The peer to start a round with, when one is due at `now_ns` (rounds are counted): a random
  // one among those not waited on. A peer that has not answered its last digest is asked again
  // only after kRetryRounds rounds: rounds go to live peers, and a dead peer's socket queues
  // few digests to answer when it returns.
  std::optional<size_t> round_due(int64_t now_ns);
  // The peer at `address` answered a digest.
  void answered(const std::string& address);
  static constexpr int kRetryRounds = 10;
  // Until the next round (for the loop's poll timeout); large without peers.
  int64_t ns_until_round(int64_t now_ns) const;

  void fill_status(wire::GossipStatus* status) const;
  const GossipOptions& options() const { return opt_; }
  // Called after each delta is applied, with the model's new bytes (the node checkpoints them
  // before the version vector is written).
  using AppliedFn = std::function<void(const std::string& model, const std::string& bytes)>;
  void set_on_applied(AppliedFn fn) { on_applied_ = std::move(fn); }
  // Reads options().state_file when it exists; an unreadable or malformed one is an error.
  Status load_state();
  uint64_t seq_of(const std::string& origin) const;

 private:
  using Key = std::pair<std::string, uint64_t>;  // origin, seq
  Received reject(const std::string& id, const Status& st, const std::string& from, const std::string& name = "");
  Status apply(const Delta& d);
  void keep(Delta d);
  void drain_held(const std::string& origin, const std::string& from);
  void save_state();

  GossipOptions opt_;
  ModelHost& host_;
  LogFn log_;
  ClockFn clock_;
  std::mt19937_64 rng_;
  std::vector<int64_t> asked_ns_;  // per peer: when a digest went unanswered so far (0: none)
  std::map<std::string, uint64_t> versions_;
  std::map<Key, Delta> kept_;
  std::deque<Key> kept_order_;  // apply order
  size_t kept_bytes_ = 0;
  std::map<Key, Delta> held_;
  std::set<std::string> rejected_;  // ids of the raw bytes, remembered so each counts once
  std::deque<std::string> rejected_order_;
  uint64_t applied_ = 0, rejected_count_ = 0, rounds_ = 0;
  int64_t last_applied_ns_ = 0, next_round_ns_ = 0, period_ns_ = 0;
  std::string last_rejection_;
  AppliedFn on_applied_;
};

}  // namespace ep::dist
