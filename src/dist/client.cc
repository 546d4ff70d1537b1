#include "dist/client.h"

#include <cstring>
#include <optional>

#include "dist/node.h"
#include "dist/shm.h"
#include "dist/transport.h"

namespace ep::dist {

struct Client::Impl {
  ClientOptions opt;
  zmq::context_t ctx{1};
  std::unique_ptr<zmq::socket_t> socket;
  std::optional<KeyPair> keys;
  uint64_t next_frame_id = 1;
  std::string where;
  std::unique_ptr<ShmSegment> segment;  // inputs by reference (ClientOptions::shm_bytes)

  // A fresh DEALER connected to the node. Called again after a timeout: closing the old one
  // (linger 0) discards what it still queued for a node that is gone, so a node that comes
  // back is not sent stale requests.
  Status open_socket();

  ~Impl() {
    socket.reset();
    ctx.close();
  }
  // Sends and waits for the reply with the same frame id (older, late replies are dropped).
  Result<Frames> call(Frames& request, uint64_t frame_id);
  Result<Reply> call_decoded(const wire::Header& h, Frames data = {});
};

Result<Frames> Client::Impl::call(Frames& request, uint64_t frame_id) {
  EP_RETURN_IF_ERROR(send_frames(*socket, request, where));
  const int64_t deadline = steady_now_ns() + int64_t{opt.timeout_ms} * 1'000'000;
  for (;;) {
    const int64_t left_ms = (deadline - steady_now_ns()) / 1'000'000;
    if (left_ms <= 0) {
      Status reopened = open_socket();
      return io_error(where, ": no reply in ", opt.timeout_ms, " ms",
                      reopened.is_ok() ? std::string() : " (and reconnecting failed: " + reopened.to_string() + ")");
    }
    zmq::pollitem_t item{socket->handle(), 0, ZMQ_POLLIN, 0};
    try {
      zmq::poll(&item, 1, std::chrono::milliseconds(left_ms));
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      return io_error(where, ": poll: ", e.what());
    }
    if (!(item.revents & ZMQ_POLLIN)) continue;
    Frames reply;
    EP_ASSIGN_OR_RETURN(bool got, recv_frames(*socket, reply, false, where));
    if (!got || reply.empty()) continue;
    wire::Header h;
    if (frame_id != 0 && h.ParseFromArray(reply[0].data(), static_cast<int>(reply[0].size())) && h.frame_id() != frame_id)
      continue;  // a late reply to an earlier request
    return reply;
  }
}

Result<Reply> Client::Impl::call_decoded(const wire::Header& h, Frames data) {
  Frames request;
  request.push_back(frame_from_header(h));
  for (auto& f : data) request.push_back(std::move(f));
  Reply r;
  r.send_ns = steady_now_ns();
  EP_ASSIGN_OR_RETURN(Frames frames, call(request, h.frame_id()));
  r.recv_ns = steady_now_ns();
  auto owned = std::make_shared<Frames>(std::move(frames));
  const std::vector<Frame> spans = frame_spans(*owned);
  EP_ASSIGN_OR_RETURN(Decoded d, decode(spans, opt.limits, "from " + opt.address));
  if (d.header.kind() == wire::ERROR) return error_status(d.header);
  r.header = std::move(d.header);
  for (size_t i = 0; i < d.tensors.size(); ++i) r.tensors.push_back(NamedView{d.names[i], d.tensors[i]});
  r.frames = owned;
  return r;
}

Status Client::Impl::open_socket() {
  socket.reset();
  try {
    socket = std::make_unique<zmq::socket_t>(ctx, zmq::socket_type::dealer);
    socket->set(zmq::sockopt::linger, 0);
    socket->set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(opt.limits.max_tensor_bytes));
    EP_RETURN_IF_ERROR(secure_client(*socket, opt.server_key, keys ? &*keys : nullptr, where));
    socket->connect(opt.address);
  } catch (const zmq::error_t& e) {
    return io_error(where, ": ", e.what());
  }
  return Status::ok();
}

Result<Client> Client::connect(const ClientOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->opt = options;
  impl->where = "node " + options.address;
  if (!options.keys_dir.empty()) {
    EP_ASSIGN_OR_RETURN(KeyPair k, keypair_read(options.keys_dir));
    impl->keys = k;
  }
  if (options.shm_bytes > 0) {
    auto segment = ShmSegment::create(options.shm_bytes);
    if (!segment.is_ok()) return segment.status().with_context(impl->where);
    impl->segment = std::move(*segment);
  }
  EP_RETURN_IF_ERROR(impl->open_socket());
  return Client(std::move(impl));
}

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Client::Client(Client&&) noexcept = default;
Client& Client::operator=(Client&&) noexcept = default;
Client::~Client() = default;

Result<Reply> Client::infer(const std::string& model, const std::vector<NamedView>& inputs, const std::vector<wire::Hop>& route) {
  wire::Header h = make_header(wire::INFER, impl_->next_frame_id++);
  h.set_model(model);
  for (const wire::Hop& hop : route) *h.add_route() = hop;
  Frames data;
  for (const NamedView& in : inputs) {
    wire::TensorMeta* meta = h.add_tensors();
    set_meta(meta, in.name, in.view);
    if (impl_->segment && impl_->segment->contains(in.view.data, in.view.nbytes())) {
      impl_->segment->describe(in.view.data, meta->mutable_shm());  // the node reads it in place
      data.emplace_back();
      continue;
    }
    // Borrowed: the caller's buffer must outlive the send, so it is copied once here.
    // (The node's own sends hand libzmq ownership instead.)
    data.emplace_back(in.view.data, in.view.nbytes());
  }
  return impl_->call_decoded(h, std::move(data));
}

void Client::shm_release() {
  if (impl_->segment) impl_->segment->release_to(0);
}

Result<TensorView> Client::shm_tensor(DType dtype, const Shape& shape) {
  if (!impl_->segment) return invalid_argument(impl_->where, ": no shared memory segment (ClientOptions::shm_bytes is 0)");
  auto v = impl_->segment->allocate(dtype, shape);
  if (!v.is_ok()) return v.status().with_context(impl_->where);
  return v;
}

Result<wire::NodeStatus> Client::status() {
  EP_ASSIGN_OR_RETURN(Reply r, impl_->call_decoded(make_header(wire::STATUS, impl_->next_frame_id++)));
  return r.header.status();
}

Result<PingSample> Client::ping() {
  wire::Header h = make_header(wire::PING, impl_->next_frame_id++);
  h.mutable_ping()->set_t0(steady_now_ns());
  EP_ASSIGN_OR_RETURN(Reply r, impl_->call_decoded(h));
  return PingSample{r.header.ping().t0(), r.header.ping().t1(), r.header.ping().t2(), r.recv_ns};
}

Result<ClockOffset> Client::clock_offset(int samples) {
  std::vector<PingSample> s;
  for (int i = 0; i < samples; ++i) {
    EP_ASSIGN_OR_RETURN(PingSample p, ping());
    s.push_back(p);
  }
  return clock_offset_estimate(s);
}

Result<wire::ModelInfo> Client::load(const std::string& name, const std::string& onnx_bytes,
                                     const std::vector<std::string>& nhwc_io) {
  wire::Header h = make_header(wire::LOAD, impl_->next_frame_id++);
  h.set_model(name);
  for (const std::string& n : nhwc_io) h.add_nhwc_io(n);
  Frames data;
  data.emplace_back(onnx_bytes.data(), onnx_bytes.size());
  EP_ASSIGN_OR_RETURN(Reply r, impl_->call_decoded(h, std::move(data)));
  if (r.header.status().models_size() != 1) return internal_error(impl_->where, ": LOADED without the model's info");
  return r.header.status().models(0);
}

Result<wire::NodeStatus> Client::update(const std::string& envelope) {
  wire::Header h = make_header(wire::UPDATE, impl_->next_frame_id++);
  Frames data;
  data.emplace_back(envelope.data(), envelope.size());
  EP_ASSIGN_OR_RETURN(Reply r, impl_->call_decoded(h, std::move(data)));
  if (r.header.kind() != wire::UPDATED) return internal_error(impl_->where, ": UPDATE answered with ", wire::Kind_Name(r.header.kind()));
  return r.header.status();
}

std::vector<HopTimes> hop_times(const wire::Header& reply, const ClockOffset& first) {
  std::vector<HopTimes> out;
  int64_t offset = first.offset_ns;  // this hop's clock minus the client's
  bool known = first.samples > 0;
  for (int i = 0; i < reply.hops_size(); ++i) {
    const wire::HopStamp& s = reply.hops(i);
    if (i > 0) {
      if (s.clock_offset_known()) offset += s.clock_offset_ns();
      else known = false;
    }
    out.push_back(HopTimes{s.node(), s.model(), s.recv_ns() - offset, s.run_start_ns() - offset, s.run_end_ns() - offset,
                           s.send_ns() - offset, known});
  }
  return out;
}

Result<std::vector<std::string>> Client::send_raw(const std::vector<std::string>& frames) {
  Frames request;
  for (const std::string& f : frames) request.emplace_back(f.data(), f.size());
  EP_ASSIGN_OR_RETURN(Frames reply, impl_->call(request, 0));
  std::vector<std::string> out;
  for (const auto& f : reply) out.push_back(f.to_string());
  return out;
}

}  // namespace ep::dist
