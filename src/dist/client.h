// A client of an edgepipe node (docs/protocol.md): INFER along an optional route, STATUS,
// PING (clock offset), LOAD. One DEALER socket, one request at a time; replies are matched
// by frame id and stale ones dropped. Result tensors point into the received frames.
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
};

struct NamedView {
  std::string name;
  TensorView view;
};

struct Reply {
  wire::Header header;
  std::vector<NamedView> tensors;  // valid while this Reply lives
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

  // Runs `model` on the node, then each hop of `route` in turn; the last one's outputs return.
  Result<Reply> infer(const std::string& model, const std::vector<NamedView>& inputs,
                      const std::vector<wire::Hop>& route = {});
  Result<wire::NodeStatus> status();
  Result<PingSample> ping();
  Result<ClockOffset> clock_offset(int samples = 8);
  // Serves `onnx_bytes` as `name` on the node; `nhwc_io`: its rank-4 inputs and outputs that
  // travel in NHWC order (docs/protocol.md).
  Result<wire::ModelInfo> load(const std::string& name, const std::string& onnx_bytes,
                               const std::vector<std::string>& nhwc_io = {});
  // Sends frames as they are and returns the reply's frames: for tests of malformed input.
  Result<std::vector<std::string>> send_raw(const std::vector<std::string>& frames);

  struct Impl;

 private:
  explicit Client(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ep::dist
