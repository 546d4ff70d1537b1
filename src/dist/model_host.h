// The models a node serves: loaded from a folder or received in a LOAD message, with one
// session per input-shape binding, and per-model request counts and run-time percentiles.
// No ZeroMQ here. Thread-safe across models: run() of one model may be called by one thread
// while other threads run other models, load them or read the status; the runs of one model
// must come from one thread at a time (a node gives each model its own worker). A model
// replaced by LOAD while it runs lives until that run ends.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "dist/wire.h"
#include "edgepipe/session.h"

namespace ep::dist {

struct ModelRun {
  std::vector<std::string> names;  // the model's output names
  std::vector<Tensor> outputs;
  int64_t start_ns = 0, end_ns = 0;  // Session::run alone (not the session's creation)
};

class ModelHost {
 public:
  ModelHost(int threads, size_t memory_limit_bytes, std::function<int64_t()> clock)
      : threads_(threads), memory_limit_(memory_limit_bytes), clock_(std::move(clock)) {}

  // Every *.onnx file in `dir`, served under its file name without the extension.
  Status load_dir(const std::string& dir);
  Status load_file(const std::string& name, const std::string& path);
  // Replaces a model of the same name (its sessions are dropped). Rank-4 inputs and outputs
  // named in `nhwc_io` are exchanged in NHWC order (SessionOptions::nhwc_io); each must be one.
  Status load_bytes(const std::string& name, const void* data, size_t size, const std::set<std::string>& nhwc_io = {});
  bool has(const std::string& name) const;
  size_t size() const;

  // Inputs are matched to the model's by name when every model input is named, else by
  // position when the counts agree (a shard's outputs feeding the next model's inputs).
  Result<ModelRun> run(const std::string& model, const std::vector<std::string>& names,
                       const std::vector<TensorView>& inputs);
  // Records a run's duration (the node measures it with its own clock).
  void record(const std::string& model, int64_t run_ns, bool ok);
  void fill_status(wire::NodeStatus* status) const;
  void fill_info(const std::string& model, wire::ModelInfo* info) const;

 private:
  struct Hosted {
    std::string version;
    std::unique_ptr<Model> model;
    std::set<std::string> nhwc_io;
    std::map<std::string, Session> sessions;  // key: input shapes
    uint64_t requests = 0, errors = 0;
    std::vector<int64_t> run_ns;  // ring of the last kRing runs
    size_t ring_next = 0;
  };
  Status add(const std::string& name, Model model, const std::string& version, const std::set<std::string>& nhwc_io = {});
  void fill_info_locked(const std::string& model, const Hosted& h, wire::ModelInfo* info) const;
  Result<Session*> session_for(Hosted& h, const std::string& model, const std::vector<TensorView>& inputs);

  int threads_;
  size_t memory_limit_;
  std::function<int64_t()> clock_;
  mutable std::mutex mu_;  // guards models_ and every Hosted's counters (not its sessions)
  std::map<std::string, std::shared_ptr<Hosted>> models_;
};

// "1a2b..." : the first 16 hex digits of the sha256 of the bytes.
std::string model_version(const void* data, size_t size);

}  // namespace ep::dist
