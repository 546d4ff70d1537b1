// An in-process link emulator for tests and benchmarks: a proxy thread between clients and a
// node that delays, throttles and drops whole messages, each direction with its own model.
//   client ──► [emulator: bind] ──(up link)──► node
//   client ◄── [emulator]       ◄─(down link)── node
// Each client connection gets its own connection to the node, so the node still sees one
// peer per client. Traffic through it is plain ZeroMQ (no CURVE): loopback use only.
// A message's time on the link starts when its sender handed it to its socket (the last hop
// stamp's send_ns, for edgepipe messages that carry one), as on a real link where the bits
// flow while they are sent, not when this proxy has finished receiving it; forwarding it on
// over loopback then adds one local copy, as a receiving kernel does.
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <string>

#include "edgepipe/status.h"

namespace ep::dist {

struct LinkParams {
  int64_t delay_ns = 0;               // propagation delay, added after the last byte left
  double bandwidth_bytes_per_s = 0;   // 0: unlimited
  double loss = 0;                    // probability a message is dropped
  uint64_t seed = 1;                  // for the loss draws
};

// One direction of a link; pure (the caller passes the time), so it is tested with a fake clock.
class LinkModel {
 public:
  explicit LinkModel(const LinkParams& p) : p_(p), rng_(p.seed) {}
  // When a message of `bytes` offered at `now_ns` arrives, or -1 if it is lost. Messages
  // leave in order: one waits while the link sends the ones before it.
  int64_t admit(int64_t now_ns, size_t bytes);

 private:
  LinkParams p_;
  std::mt19937_64 rng_;
  int64_t busy_until_ns_ = 0;
};

struct LinkCounters {
  uint64_t forwarded = 0;
  uint64_t dropped = 0;
};

class LinkEmulator {
 public:
  // Binds `bind` (e.g. "tcp://127.0.0.1:*") and forwards to `target`.
  static Result<std::unique_ptr<LinkEmulator>> start(const std::string& bind, const std::string& target,
                                                     const LinkParams& up, const LinkParams& down);
  ~LinkEmulator();
  const std::string& endpoint() const;
  LinkCounters counters() const;
  // A cut link drops every message both ways (counted as dropped) until restored.
  void set_cut(bool cut);
  void stop();

  struct Impl;

 private:
  explicit LinkEmulator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ep::dist
