// Where a stage's model runs: in this process (one session per input shape, least recently
// used dropped first) or on an edgepipe node (`node:` in the stage's YAML, docs/pipelines.md):
// the stage pre-processes here, the input tensor goes to the node, the output comes back and
// is post-processed here. The OCR and detection stages run their models only through this.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "edgepipe/session.h"
#include "edgepipe/status.h"

namespace ep::pipeline {

struct RemoteModelOptions {
  // tcp://HOST:PORT of an `edgepipe node`; several, comma-separated: redundant nodes serving
  // the same model, each call to a healthy one (dist::Balancer: heartbeats, failover)
  std::string address;
  std::string server_key;  // the node's public key: Z85 text or a key file; "" for plain TCP (loopback only)
  std::string keys_dir;    // this pipeline's client keypair (CURVE); "" with a server key: an ephemeral one
  std::string model;       // the name the node serves the model under; default: the model file's stem
  bool load = true;        // send the stage's model file to the node when the stage opens (LOAD)
  int timeout_ms = 5000;   // no answer by then: the call fails naming the node
  int heartbeat_ms = 100;          // redundant nodes: PING period
  int heartbeat_timeout_ms = 300;  // redundant nodes: silent this long is dead
  // The input through a shared memory segment (one node on this host: ipc:// or loopback;
  // docs/protocol.md): one copy into it instead of three on the way through the socket.
  bool shm = false;
  size_t shm_bytes = size_t{64} << 20;  // inputs larger than this go in frames
};

class ModelRunner {
 public:
  virtual ~ModelRunner() = default;
  // Runs the model's single input on `input` (f32) and returns its single f32 output in
  // `output` (resized) with its shape; `created` is set when a session had to be built.
  virtual Status run(const TensorView& input, std::vector<float>& output, Shape* output_shape, bool* created) = 0;
  // "models/det.onnx" or "node tcp://10.0.0.2:5555 model 'det'": for errors and logs.
  const std::string& where() const { return where_; }

 protected:
  explicit ModelRunner(std::string where) : where_(std::move(where)) {}

 private:
  std::string where_;
};

// The model in this process; `base` gives threads and other options, the input shape is
// bound per call.
std::unique_ptr<ModelRunner> local_runner(Model model, const SessionOptions& base, size_t max_sessions, std::string where);
// The model on a node: connects, and LOADs `model_path` there when options.load (else the
// node must already serve options.model). Errors name the node and the model.
Result<std::unique_ptr<ModelRunner>> remote_runner(const RemoteModelOptions& options, const std::string& model_path);

}  // namespace ep::pipeline
