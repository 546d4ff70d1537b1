#include "pipeline/model_runner.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <list>

#include "dist/balancer.h"
#include "dist/client.h"
#include "dist/keys.h"

namespace ep::pipeline {
namespace {

class LocalRunner final : public ModelRunner {
 public:
  LocalRunner(Model model, const SessionOptions& base, size_t capacity, std::string where)
      : ModelRunner(std::move(where)), model_(std::move(model)), base_(base), capacity_(capacity < 1 ? 1 : capacity),
        input_name_(model_.inputs().empty() ? "" : model_.inputs()[0].name) {}

  Status run(const TensorView& input, std::vector<float>& output, Shape* output_shape, bool* created) override {
    EP_ASSIGN_OR_RETURN(Session * session, get(input.shape, created));
    const IoInfo& out = session->outputs()[0];
    EP_ASSIGN_OR_RETURN(int64_t n, checked_numel(out.shape));
    output.resize(static_cast<size_t>(n));
    const TensorView out_view{DType::f32, out.shape, output.data()};
    EP_RETURN_IF_ERROR(session->run({&input, 1}, {&out_view, 1}));
    *output_shape = out.shape;
    return Status::ok();
  }

 private:
  Result<Session*> get(const Shape& shape, bool* created) {
    *created = false;
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      if (it->first == shape) {
        entries_.splice(entries_.begin(), entries_, it);
        return &entries_.front().second;
      }
    }
    SessionOptions options = base_;
    options.input_shapes[input_name_] = shape;
    auto session = Session::create(model_, options);
    if (!session.is_ok()) return session.status().with_context("session for input shape " + shape.to_string());
    if (entries_.size() >= capacity_) entries_.pop_back();
    entries_.emplace_front(shape, std::move(session).value());
    *created = true;
    return &entries_.front().second;
  }

  Model model_;
  SessionOptions base_;
  size_t capacity_;
  std::string input_name_;
  std::list<std::pair<Shape, Session>> entries_;  // most recent first
};

// A node's reply: its one f32 output copied out (the reply's frames go with it).
Status single_output(const Result<dist::Reply>& reply, const std::string& where, std::vector<float>& output, Shape* shape) {
  if (!reply.is_ok()) return reply.status().with_context(where);
  if (reply->tensors.size() != 1) return invalid_model(where, ": ", reply->tensors.size(), " outputs came back, expected 1");
  const TensorView& v = reply->tensors[0].view;
  if (v.dtype != DType::f32) return invalid_model(where, ": output is ", dtype_name(v.dtype), ", expected f32");
  output.resize(static_cast<size_t>(v.shape.numel()));
  std::memcpy(output.data(), v.data, v.nbytes());
  *shape = v.shape;
  return Status::ok();
}

class RemoteRunner final : public ModelRunner {
 public:
  RemoteRunner(dist::Client client, std::string model, std::string where, bool shm)
      : ModelRunner(std::move(where)), client_(std::move(client)), model_(std::move(model)), shm_(shm) {}

  Status run(const TensorView& input, std::vector<float>& output, Shape* output_shape, bool* created) override {
    *created = false;
    TensorView send = input;
    if (shm_) {
      // The previous call has its reply: its bytes in the segment may be written over.
      client_.shm_release();
      auto in = client_.shm_tensor(input.dtype, input.shape);
      if (in.is_ok()) {
        std::memcpy(in->data, input.data, input.nbytes());
        send = *in;
      }  // larger than the segment: in a frame
    }
    // One input, matched by position on the node: the name is informational.
    return single_output(client_.infer(model_, {{"input", send}}), where(), output, output_shape);
  }

 private:
  dist::Client client_;
  std::string model_;
  bool shm_;
};

// The same model on several redundant nodes: each call goes to a healthy one (dist::Balancer).
class BalancedRunner final : public ModelRunner {
 public:
  BalancedRunner(std::unique_ptr<dist::BalancedClient> client, std::string where)
      : ModelRunner(std::move(where)), client_(std::move(client)) {}

  Status run(const TensorView& input, std::vector<float>& output, Shape* output_shape, bool* created) override {
    *created = false;
    return single_output(client_->infer({{"input", input}}), where(), output, output_shape);
  }

 private:
  std::unique_ptr<dist::BalancedClient> client_;
};

std::vector<std::string> split_addresses(const std::string& list) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= list.size()) {
    const size_t comma = list.find(',', start);
    const std::string a = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!a.empty()) out.push_back(a);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

}  // namespace

std::unique_ptr<ModelRunner> local_runner(Model model, const SessionOptions& base, size_t max_sessions, std::string where) {
  return std::make_unique<LocalRunner>(std::move(model), base, max_sessions, std::move(where));
}

Result<std::unique_ptr<ModelRunner>> remote_runner(const RemoteModelOptions& o, const std::string& model_path) {
  const std::string name = o.model.empty() ? std::filesystem::path(model_path).stem().string() : o.model;
  const std::string where = "node " + o.address + " model '" + name + "'";
  dist::ClientOptions co;
  co.address = o.address;
  co.keys_dir = o.keys_dir;
  co.timeout_ms = o.timeout_ms;
  co.server_key = o.server_key;
  if (o.shm) co.shm_bytes = o.shm_bytes;
  if (!o.server_key.empty() && !dist::key_is_z85(o.server_key)) {
    auto k = dist::key_read(o.server_key);
    if (!k.is_ok()) return k.status().with_context(where + ": server_key");
    co.server_key = *k;
  }
  const std::vector<std::string> addresses = split_addresses(o.address);
  if (addresses.size() > 1) {
    // Redundant nodes: load (or check) the model on each, then balance over them.
    for (const std::string& a : addresses) {
      RemoteModelOptions one = o;
      one.address = a;
      one.server_key = co.server_key;
      EP_RETURN_IF_ERROR(remote_runner(one, model_path).status());
    }
    dist::BalancerOptions bo;
    bo.addresses = addresses;
    bo.model = name;
    bo.server_key = co.server_key;
    bo.keys_dir = o.keys_dir;
    bo.deadline_ms = o.timeout_ms;
    bo.heartbeat_ms = o.heartbeat_ms;
    bo.heartbeat_timeout_ms = o.heartbeat_timeout_ms;
    auto balanced = dist::BalancedClient::start(bo);
    if (!balanced.is_ok()) return balanced.status().with_context(where);
    return std::unique_ptr<ModelRunner>(new BalancedRunner(std::move(balanced).value(), "nodes " + o.address + " model '" + name + "'"));
  }
  auto client = dist::Client::connect(co);
  if (!client.is_ok()) return client.status().with_context(where);
  if (o.shm) {
    // Refused at open rather than on the first frame.
    auto status = client->status();
    if (!status.is_ok()) return status.status().with_context(where);
    if (!status->accepts_shm())
      return invalid_argument(where, ": node.shm is set, but the node does not accept shared memory (started with --no-shm, or ",
                              "bound to an address off the machine)");
  }
  if (o.load) {
    std::ifstream f(model_path, std::ios::binary);
    if (!f) return io_error(where, ": cannot read the model file '", model_path, "' to load it");
    const std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    auto info = client->load(name, bytes);
    if (!info.is_ok()) return info.status().with_context(where + ": LOAD");
  } else {
    auto status = client->status();
    if (!status.is_ok()) return status.status().with_context(where);
    bool served = false;
    for (const auto& m : status->models()) served = served || m.name() == name;
    if (!served) return invalid_argument(where, ": the node does not serve this model (set load: true to send it)");
  }
  return std::unique_ptr<ModelRunner>(new RemoteRunner(std::move(client).value(), name, where, o.shm));
}

}  // namespace ep::pipeline
