#include "dist/balancer.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "dist/node.h"
#include "dist/transport.h"

namespace ep::dist {

namespace {
constexpr const char* kWakeEndpoint = "inproc://edgepipe.balancer.wake";
}  // namespace

struct Balancer::Impl {
  struct Frame {
    uint64_t id = 0;
    std::vector<std::string> names;
    std::vector<Tensor> inputs;
    int64_t submit_ns = 0, deadline_ns = 0;
    int attempts = 0;
    bool retried = false;
    std::string last_node;
  };
  struct Node {
    std::string address;
    std::unique_ptr<zmq::socket_t> socket;
    bool alive = false;
    int64_t last_seen_ns = 0;   // any message from it
    int64_t last_ping_ns = 0;
    int64_t connected_ns = 0;   // this socket's creation: silence counts from here when never seen
    std::map<uint64_t, std::unique_ptr<Frame>> in_flight;  // key: tag
    uint64_t answered = 0, deaths = 0;
  };

  BalancerOptions opt;
  Done done;
  zmq::context_t ctx{1};
  std::unique_ptr<zmq::socket_t> wake_pull;
  std::vector<Node> nodes;
  std::deque<std::unique_ptr<Frame>> queued;
  uint64_t next_tag = 1;
  size_t rotate = 0;
  std::thread thread;
  std::atomic<bool> stopping{false};
  int64_t last_loop_ns = 0;  // the loop's previous pass

  mutable std::mutex mu;  // guards submitted, events and the health snapshot
  std::deque<std::unique_ptr<Frame>> submitted;
  std::vector<NodeEvent> event_log;
  std::vector<NodeHealth> snapshot;

  std::mutex wake_mu;  // the wake PUSH socket, used by submitting threads
  std::unique_ptr<zmq::socket_t> wake_push;

  Status connect(Node& n);
  void loop();
  void take_submitted();
  void on_message(Node& n);
  void heartbeat(int64_t now);
  void declare_dead(Node& n, int64_t now);
  void dispatch(int64_t now);
  void expire(int64_t now);
  void requeue(std::unique_ptr<Frame> f, int64_t now, const Status& why);
  void finish(std::unique_ptr<Frame> f, Status st, const std::string& node, Reply reply = {});
  void publish();
  void send_ping(Node& n, int64_t now);
  size_t alive_count() const {
    size_t k = 0;
    for (const Node& n : nodes) k += n.alive;
    return k;
  }
};

Status Balancer::Impl::connect(Node& n) {
  n.socket.reset();
  KeyPair own;
  const KeyPair* keys = nullptr;
  if (!opt.keys_dir.empty()) {
    EP_ASSIGN_OR_RETURN(own, keypair_read(opt.keys_dir));
    keys = &own;
  }
  try {
    n.socket = std::make_unique<zmq::socket_t>(ctx, zmq::socket_type::dealer);
    n.socket->set(zmq::sockopt::linger, 0);
    n.socket->set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(opt.limits.max_tensor_bytes));
    // libzmq's own heartbeat closes a connection whose peer stopped answering ZMTP PINGs.
    n.socket->set(zmq::sockopt::heartbeat_ivl, opt.heartbeat_ms);
    n.socket->set(zmq::sockopt::heartbeat_timeout, opt.heartbeat_timeout_ms);
    n.socket->set(zmq::sockopt::heartbeat_ttl, opt.heartbeat_timeout_ms);
    n.socket->set(zmq::sockopt::reconnect_ivl, std::max(10, opt.heartbeat_ms / 2));
    EP_RETURN_IF_ERROR(secure_client(*n.socket, opt.server_key, keys, "balancer: node " + n.address));
    n.socket->connect(n.address);
  } catch (const zmq::error_t& e) {
    return io_error("balancer: node ", n.address, ": ", e.what());
  }
  n.connected_ns = steady_now_ns();
  n.last_ping_ns = 0;
  return Status::ok();
}

void Balancer::Impl::send_ping(Node& n, int64_t now) {
  wire::Header h = make_header(wire::PING);
  h.mutable_ping()->set_t0(now);
  Frames f;
  f.push_back(frame_from_header(h));
  (void)send_frames(*n.socket, f, "balancer: ping " + n.address);  // a full queue to a dead node is not news
  n.last_ping_ns = now;
}

void Balancer::Impl::take_submitted() {
  std::lock_guard<std::mutex> lock(mu);
  while (!submitted.empty()) {
    queued.push_back(std::move(submitted.front()));
    submitted.pop_front();
  }
}

void Balancer::Impl::finish(std::unique_ptr<Frame> f, Status st, const std::string& node, Reply reply) {
  FrameOutcome o;
  o.id = f->id;
  o.status = std::move(st);
  o.node = node;
  o.attempts = f->attempts;
  o.retried = f->retried;
  o.submit_ns = f->submit_ns;
  o.done_ns = steady_now_ns();
  o.reply = std::move(reply);
  done(std::move(o));
}

void Balancer::Impl::requeue(std::unique_ptr<Frame> f, int64_t now, const Status& why) {
  const std::string last = f->last_node;
  if (now >= f->deadline_ns) return finish(std::move(f), io_error("frame lost: its deadline passed (", why.message(), ")"), last);
  if (f->attempts >= opt.max_attempts) {
    const int attempts = f->attempts;
    return finish(std::move(f), io_error("frame lost after ", attempts, " attempts (", why.message(), ")"), last);
  }
  // With no node alive there is nobody to retry on: say so now, so the caller's fallback can
  // answer it, rather than at the deadline.
  if (alive_count() == 0) return finish(std::move(f), io_error("frame not answered: no node alive (", why.message(), ")"), last);
  f->retried = true;
  queued.push_front(std::move(f));  // retries go first: they are the oldest
}

void Balancer::Impl::on_message(Node& n) {
  Frames raw;
  auto got = recv_frames(*n.socket, raw, false, "balancer: node " + n.address);
  if (!got.is_ok() || !*got) return;
  const int64_t now = steady_now_ns();
  n.last_seen_ns = now;
  if (!n.alive) {
    n.alive = true;
    std::lock_guard<std::mutex> lock(mu);
    event_log.push_back(NodeEvent{now, n.address, true, 0, 0});
  }
  auto owned = std::make_shared<Frames>(std::move(raw));
  const std::vector<ep::dist::Frame> spans = frame_spans(*owned);
  auto d = decode(spans, opt.limits, "from " + n.address);
  if (!d.is_ok()) return;  // a reply we cannot read: the frame times out or is retried
  if (d->header.kind() == wire::PONG) return;
  auto it = n.in_flight.find(d->header.tag());
  if (it == n.in_flight.end()) return;  // late: the frame was already moved or lost
  std::unique_ptr<Frame> f = std::move(it->second);
  n.in_flight.erase(it);
  if (d->header.kind() == wire::ERROR) {
    const Status st = error_status(d->header);
    // A busy or stopping node: another may answer. Anything else is the frame's own error.
    if (st.code() == StatusCode::resource_exhausted || st.code() == StatusCode::io_error) return requeue(std::move(f), now, st);
    return finish(std::move(f), st, n.address);
  }
  Reply r;
  r.header = std::move(d->header);
  for (size_t i = 0; i < d->tensors.size(); ++i) r.tensors.push_back(NamedView{d->names[i], d->tensors[i]});
  r.frames = owned;
  r.recv_ns = now;
  ++n.answered;
  finish(std::move(f), Status::ok(), n.address, std::move(r));
}

void Balancer::Impl::declare_dead(Node& n, int64_t now) {
  const int64_t since = n.last_seen_ns > 0 ? n.last_seen_ns : n.connected_ns;
  NodeEvent e{now, n.address, false, now - since, n.in_flight.size()};
  n.alive = false;
  ++n.deaths;
  // Frames it held go elsewhere; what its old connection still queued is discarded with it.
  std::vector<std::unique_ptr<Frame>> moved;
  for (auto& [tag, f] : n.in_flight) moved.push_back(std::move(f));
  n.in_flight.clear();
  (void)connect(n);
  {
    std::lock_guard<std::mutex> lock(mu);
    event_log.push_back(e);
  }
  // Oldest first at the front of the queue.
  std::sort(moved.begin(), moved.end(), [](const auto& a, const auto& b) { return a->submit_ns > b->submit_ns; });
  for (auto& f : moved) requeue(std::move(f), now, io_error("node ", n.address, " went silent"));
}

void Balancer::Impl::heartbeat(int64_t now) {
  const int64_t period = int64_t{opt.heartbeat_ms} * 1'000'000, timeout = int64_t{opt.heartbeat_timeout_ms} * 1'000'000;
  // This thread itself stalled (an overloaded or paused machine): the silence may be ours, so
  // nobody is declared dead on this pass; the PINGs sent now decide on the next ones.
  const bool we_stalled = last_loop_ns > 0 && now - last_loop_ns > timeout / 2;
  last_loop_ns = now;
  for (Node& n : nodes) {
    if (we_stalled) {
      send_ping(n, now);
      n.last_seen_ns = std::max(n.last_seen_ns, now - timeout / 2);
      continue;
    }
    if (now - n.last_ping_ns >= period) send_ping(n, now);
    const int64_t since = n.last_seen_ns > n.connected_ns ? n.last_seen_ns : n.connected_ns;
    // A live node silent too long is dead; a dead one gets a fresh connection now and then
    // (a node restarted on the same address is found by the PINGs on it).
    if (n.alive && now - since > timeout) declare_dead(n, now);
  }
}

void Balancer::Impl::dispatch(int64_t now) {
  while (!queued.empty()) {
    Node* best = nullptr;
    for (size_t k = 0; k < nodes.size(); ++k) {
      Node& n = nodes[(rotate + k) % nodes.size()];
      if (!n.alive || n.in_flight.size() >= opt.max_in_flight_per_node) continue;
      if (!best || n.in_flight.size() < best->in_flight.size()) best = &n;
    }
    if (!best) return;
    rotate = (rotate + 1) % nodes.size();
    std::unique_ptr<Frame> f = std::move(queued.front());
    queued.pop_front();
    const uint64_t tag = next_tag++;
    wire::Header h = make_header(wire::INFER, f->id);
    h.set_tag(tag);
    h.set_model(opt.model);
    Frames out;
    out.push_back(zmq::message_t());
    for (size_t i = 0; i < f->inputs.size(); ++i) {
      set_meta(h.add_tensors(), f->names[i], f->inputs[i].view());
      out.emplace_back(f->inputs[i].data(), f->inputs[i].nbytes());  // a copy: the frame may be sent again
    }
    out[0] = frame_from_header(h);
    ++f->attempts;
    f->last_node = best->address;
    Status st = send_frames(*best->socket, out, "balancer: node " + best->address);
    if (!st.is_ok()) {
      requeue(std::move(f), now, st);
      declare_dead(*best, now);
      continue;
    }
    best->in_flight.emplace(tag, std::move(f));
  }
}

void Balancer::Impl::expire(int64_t now) {
  for (auto it = queued.begin(); it != queued.end();) {
    if ((*it)->deadline_ns > now) {
      ++it;
      continue;
    }
    std::unique_ptr<Frame> f = std::move(*it);
    it = queued.erase(it);
    const std::string why = alive_count() == 0 ? "no node alive" : "every node busy";
    finish(std::move(f), io_error("frame lost: its deadline passed while queued (", why, ")"), "");
  }
  for (Node& n : nodes)
    for (auto it = n.in_flight.begin(); it != n.in_flight.end();) {
      if (it->second->deadline_ns > now) {
        ++it;
        continue;
      }
      std::unique_ptr<Frame> f = std::move(it->second);
      it = n.in_flight.erase(it);
      finish(std::move(f), io_error("frame lost: no answer from node ", n.address, " before its deadline"), n.address);
    }
}

void Balancer::Impl::publish() {
  std::vector<NodeHealth> h;
  for (const Node& n : nodes) h.push_back(NodeHealth{n.address, n.alive, n.in_flight.size(), n.answered, n.deaths});
  std::lock_guard<std::mutex> lock(mu);
  snapshot = std::move(h);
}

void Balancer::Impl::loop() {
  while (!stopping.load(std::memory_order_acquire)) {
    std::vector<zmq::pollitem_t> items = {{wake_pull->handle(), 0, ZMQ_POLLIN, 0}};
    for (Node& n : nodes) items.push_back({n.socket->handle(), 0, ZMQ_POLLIN, 0});
    const int wait_ms = std::max(1, std::min(opt.heartbeat_ms / 4, 20));
    try {
      zmq::poll(items, std::chrono::milliseconds(wait_ms));
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      break;
    }
    if (items[0].revents & ZMQ_POLLIN) {
      zmq::message_t m;
      while (wake_pull->recv(m, zmq::recv_flags::dontwait)) {
      }
    }
    take_submitted();
    for (size_t i = 0; i < nodes.size(); ++i)
      if (items[i + 1].revents & ZMQ_POLLIN)
        for (int k = 0; k < 64 && (nodes[i].socket->get(zmq::sockopt::events) & ZMQ_POLLIN); ++k) on_message(nodes[i]);
    const int64_t now = steady_now_ns();
    heartbeat(now);
    dispatch(now);
    expire(now);
    publish();
  }
  // Whatever is left is reported, never dropped silently.
  take_submitted();
  for (auto& f : queued) finish(std::move(f), io_error("frame lost: the balancer stopped"), "");
  queued.clear();
  for (Node& n : nodes) {
    for (auto& [tag, f] : n.in_flight) finish(std::move(f), io_error("frame lost: the balancer stopped"), n.address);
    n.in_flight.clear();
    n.socket.reset();
  }
  wake_pull.reset();
}

Result<std::unique_ptr<Balancer>> Balancer::start(BalancerOptions options, Done done) {
  if (options.addresses.empty()) return invalid_argument("balancer: no node addresses");
  if (options.model.empty()) return invalid_argument("balancer: no model name");
  if (options.heartbeat_ms < 1 || options.heartbeat_timeout_ms <= options.heartbeat_ms)
    return invalid_argument("balancer: heartbeat timeout (", options.heartbeat_timeout_ms, " ms) must exceed the interval (",
                            options.heartbeat_ms, " ms)");
  if (options.max_attempts < 1 || options.max_in_flight_per_node < 1 || options.deadline_ms < 1)
    return invalid_argument("balancer: attempts, in-flight window and deadline must be >= 1");
  auto impl = std::make_unique<Impl>();
  impl->opt = std::move(options);
  impl->done = std::move(done);
  try {
    impl->wake_pull = std::make_unique<zmq::socket_t>(impl->ctx, zmq::socket_type::pull);
    impl->wake_pull->set(zmq::sockopt::linger, 0);
    impl->wake_pull->bind(kWakeEndpoint);
    impl->wake_push = std::make_unique<zmq::socket_t>(impl->ctx, zmq::socket_type::push);
    impl->wake_push->set(zmq::sockopt::linger, 0);
    impl->wake_push->connect(kWakeEndpoint);
  } catch (const zmq::error_t& e) {
    return internal_error("balancer: ", e.what());
  }
  impl->nodes.resize(impl->opt.addresses.size());
  for (size_t i = 0; i < impl->nodes.size(); ++i) {
    impl->nodes[i].address = impl->opt.addresses[i];
    EP_RETURN_IF_ERROR(impl->connect(impl->nodes[i]));
  }
  impl->publish();
  Impl* self = impl.get();
  impl->thread = std::thread([self] { self->loop(); });
  return std::unique_ptr<Balancer>(new Balancer(std::move(impl)));
}

Balancer::Balancer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Balancer::~Balancer() { stop(); }

void Balancer::stop() {
  if (!impl_ || !impl_->thread.joinable()) return;
  impl_->stopping.store(true, std::memory_order_release);
  impl_->thread.join();
  {
    std::lock_guard<std::mutex> lock(impl_->wake_mu);
    impl_->wake_push.reset();
  }
  // A frame submitted while the thread was finishing is reported too.
  impl_->take_submitted();
  for (auto& f : impl_->queued) impl_->finish(std::move(f), io_error("frame lost: the balancer stopped"), "");
  impl_->queued.clear();
}

void Balancer::submit(uint64_t id, const std::vector<NamedView>& inputs) {
  if (impl_->stopping.load(std::memory_order_acquire)) {
    FrameOutcome o;
    o.id = id;
    o.status = io_error("frame lost: the balancer stopped");
    o.submit_ns = o.done_ns = steady_now_ns();
    impl_->done(std::move(o));
    return;
  }
  auto f = std::make_unique<Impl::Frame>();
  f->id = id;
  f->submit_ns = steady_now_ns();
  f->deadline_ns = f->submit_ns + int64_t{impl_->opt.deadline_ms} * 1'000'000;
  for (const NamedView& v : inputs) {
    f->names.push_back(v.name);
    Tensor t(v.view.dtype, v.view.shape);
    std::memcpy(t.data(), v.view.data, v.view.nbytes());
    f->inputs.push_back(std::move(t));
  }
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->submitted.push_back(std::move(f));
  }
  std::lock_guard<std::mutex> lock(impl_->wake_mu);
  if (impl_->wake_push) {
    try {
      impl_->wake_push->send(zmq::message_t(), zmq::send_flags::dontwait);
    } catch (const zmq::error_t&) {
    }
  }
}

std::vector<NodeHealth> Balancer::health() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->snapshot;
}

size_t Balancer::alive() const {
  size_t n = 0;
  for (const NodeHealth& h : health()) n += h.alive;
  return n;
}

std::vector<NodeEvent> Balancer::events() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->event_log;
}

struct BalancedClient::Waiter {
  std::mutex mu;
  std::condition_variable cv;
  std::map<uint64_t, FrameOutcome> outcomes;
};

Result<std::unique_ptr<BalancedClient>> BalancedClient::start(BalancerOptions options) {
  auto c = std::unique_ptr<BalancedClient>(new BalancedClient());
  c->waiter_ = std::make_shared<Waiter>();
  std::weak_ptr<Waiter> w = c->waiter_;
  EP_ASSIGN_OR_RETURN(c->balancer_, Balancer::start(std::move(options), [w](FrameOutcome&& o) {
    auto waiter = w.lock();
    if (!waiter) return;
    {
      std::lock_guard<std::mutex> lock(waiter->mu);
      waiter->outcomes.emplace(o.id, std::move(o));
    }
    waiter->cv.notify_all();
  }));
  return c;
}

Result<Reply> BalancedClient::infer(const std::vector<NamedView>& inputs) {
  const uint64_t id = next_id_++;
  balancer_->submit(id, inputs);
  std::unique_lock<std::mutex> lock(waiter_->mu);
  waiter_->cv.wait(lock, [&] { return waiter_->outcomes.count(id) > 0; });
  FrameOutcome o = std::move(waiter_->outcomes.at(id));
  waiter_->outcomes.erase(id);
  if (!o.status.is_ok()) return o.status.with_context("frame " + std::to_string(id));
  return std::move(o.reply);
}

}  // namespace ep::dist
