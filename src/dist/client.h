// A client of an edgepipe node (docs/protocol.md): INFER along an optional route, STATUS,
// PING (clock offset), LOAD. One DEALER socket, one request at a time; replies are matched
// by frame id and stale ones dropped. Result tensors point into the received frames. Inputs
// can be placed in a shared memory segment for a node on the same host (shm_tensor).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dist/clock_offset.h"
#include "dist/keys.h"
#include "dist/wire.h"

namespace ep::dist {

struct ClientOptions {
  std::string address;          // "tcp://127.0.0.1:5555"
  std::string server_key;       // the node's public key (Z85): CURVE; "" for plain TCP
  std::string keys_dir;         // this client's keypair; "" with a server key: an ephemeral one
  int timeout_ms = 5000;        // no reply by then: io_error
  WireLimits limits;
  // > 0: a shared memory segment of this many bytes for inputs (Client::shm_tensor), for a
  // node on the same host (docs/protocol.md, "Shared memory on one host").
  size_t shm_bytes = 0;
};

struct NamedView {
  std::string name;
  TensorView view;
};

struct Reply {
  wire::Header header;
  // Valid while this Reply lives. They point into the received frames, which need not be
  // aligned for their element type: copy (memcpy) before reading elements in place.
  std::vector<NamedView> tensors;
  std::shared_ptr<void> frames;    // owns the received frames
  int64_t send_ns = 0, recv_ns = 0;  // client clock (steady)
};

// A reply's hop stamps in the client's clock: `first` is the client's offset to the first node
// (Client::clock_offset); each later hop adds the offset its predecessor measured. A hop whose
// offset is unknown keeps its predecessor's (offset_known false from there on).
struct HopTimes {
  std::string node, model;
  int64_t recv_ns = 0, run_start_ns = 0, run_end_ns = 0, send_ns = 0;
  bool offset_known = true;
};
std::vector<HopTimes> hop_times(const wire::Header& reply, const ClockOffset& first);

class Client {
 public:
  static Result<Client> connect(const ClientOptions& options);
  Client(Client&&) noexcept;
  Client& operator=(Client&&) noexcept;
  ~Client();

  // A tensor in this client's shared memory segment (ClientOptions::shm_bytes), valid while
  // the client lives: fill it and pass it to infer(), which then sends only its reference
  // (no copy; a node on the same host reads it in place). Write it again only after infer()
  // returned: a request that timed out may still be read by the node.
  Result<TensorView> shm_tensor(DType dtype, const Shape& shape);
  // Releases every shm_tensor() at once (their views must not be used after).
  void shm_release();

  // Runs `model` on the node, then each hop of `route` in turn; the last one's outputs return.
  // Inputs in the shared memory segment go by reference, the others are copied into frames.
  Result<Reply> infer(const std::string& model, const std::vector<NamedView>& inputs,
                      const std::vector<wire::Hop>& route = {});
  Result<wire::NodeStatus> status();
  Result<PingSample> ping();
  Result<ClockOffset> clock_offset(int samples = 8);
  // Serves `onnx_bytes` as `name` on the node; `nhwc_io`: its rank-4 inputs and outputs that
  // travel in NHWC order (docs/protocol.md).
  Result<wire::ModelInfo> load(const std::string& name, const std::string& onnx_bytes,
                               const std::vector<std::string>& nhwc_io = {});
  // Sends a weight delta (a DeltaEnvelope's bytes, e.g. a .delta file) to apply and spread by
  // gossip; the node's status after it (UPDATED), or its ERROR (a rejected delta).
  Result<wire::NodeStatus> update(const std::string& envelope);
  // Sends frames as they are and returns the reply's frames: for tests of malformed input.
  Result<std::vector<std::string>> send_raw(const std::vector<std::string>& frames);

  struct Impl;

 private:
  explicit Client(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ep::dist
