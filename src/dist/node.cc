#include "dist/node.h"

#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <cstring>
#include <future>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include "dist/checkpoint.h"
#include "dist/clock_offset.h"
#include "dist/model_host.h"
#include "dist/shm.h"
#include "dist/transport.h"

namespace ep::dist {

int64_t steady_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

void malloc_keep_large_buffers() {
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
}

namespace {

constexpr const char* kZapEndpoint = "inproc://zeromq.zap.01";
constexpr const char* kMonitorEndpoint = "inproc://edgepipe.node.monitor";
constexpr const char* kDoneEndpoint = "inproc://edgepipe.node.done";
constexpr int kPollMs = 50;
constexpr size_t kPingWindow = 16;
constexpr int64_t kPingRefreshNs = 10'000'000'000;  // clocks drift: one more sample every 10 s

std::string peer_address(const zmq::message_t& m) {
  const char* a = zmq_msg_gets(const_cast<zmq_msg_t*>(m.handle()), "Peer-Address");
  return a ? a : "?";
}

std::string handshake_reason(uint16_t event, uint32_t value) {
  if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) return "authentication refused (status " + std::to_string(value) + ")";
  if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) {
    if (value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH) return "mechanism mismatch (the client did not use CURVE)";
    return "protocol error 0x" + [&] { char b[16]; std::snprintf(b, sizeof b, "%x", value); return std::string(b); }();
  }
  return "handshake failed: " + std::string(zmq_strerror(static_cast<int>(value))) + " (the peer hung up: no or another mechanism?)";
}

}  // namespace

struct Node::Impl {
  // An INFER on its way through a model's worker: the request's frames (its tensor views
  // point into them) go to the worker and come back with the run's outputs.
  struct Job {
    Frames frames;  // [0] is the caller's routing id
    Decoded d;
    std::vector<Tensor> realigned;
    Result<ModelRun> run = internal_error("not run");
    int64_t t0 = 0, t1 = 0;  // around the worker's run, for a failed run's stamps
  };
  // One thread per model: runs of one model are in order, different models run at once.
  struct Worker {
    std::thread thread;
    std::mutex mu;
    std::condition_variable cv;
    std::deque<std::unique_ptr<Job>> queue;
    bool running = false;
    bool stop = false;
  };
  struct Pending {
    zmq::message_t routing_id;
    uint64_t frame_id = 0, tag = 0;
    int hop_index = 0;  // where the next hop's stamp lands in the reply
    std::string next;
    int64_t deadline_ns = 0;
  };
  struct Peer {
    std::string address;
    std::unique_ptr<zmq::socket_t> socket;
    std::vector<PingSample> samples;  // the latest kPingWindow
    std::optional<ClockOffset> offset;
    int64_t last_ping_ns = 0;
  };

  NodeOptions opt;
  ModelHost host;
  zmq::context_t ctx;
  std::unique_ptr<zmq::socket_t> router, zap, monitor, done_pull;
  std::map<std::string, std::unique_ptr<Worker>> workers;  // key: model name
  std::mutex done_mu;
  std::deque<std::unique_ptr<Job>> done;  // runs finished by workers, for the loop thread
  std::map<std::string, Peer> peers;  // key: address + server key
  std::map<uint64_t, Pending> pending;
  uint64_t next_tag = 1;
  std::optional<KeyPair> keys;
  std::set<std::string> allow, admins;
  std::string endpoint, public_key;
  std::thread thread, watchdog;
  std::atomic<bool> stopping{false};
  std::atomic<int64_t> beat_ns{0};  // the loop's last iteration (steady clock)
  std::optional<Checkpoint> checkpoint;
  int64_t started_ns = 0, busy_ns = 0;
  uint64_t requests = 0, errors = 0;
  std::unique_ptr<Gossip> gossip;  // model updates; null with refuse_load
  std::unique_ptr<ShmMapper> shm;  // same-host senders' segments; null unless accepted

  explicit Impl(NodeOptions o) : opt(std::move(o)), host(opt.threads, opt.memory_limit_bytes, opt.clock) {}

  void log(const std::string& line) { opt.log(line); }
  int64_t now() { return opt.clock(); }
  Status setup();
  void loop();
  void close_sockets();
  void on_zap();
  void on_monitor();
  void on_request();
  void on_peer(Peer& peer);
  void expire_pending();
  void handle_infer(Frames& f, Decoded& d);
  void finish_infer(Job& job);
  void on_done();
  Worker& worker_for(const std::string& model);
  void worker_loop(Worker& w);
  void stop_workers();
  void reply(zmq::message_t& rid, const wire::Header& h, std::vector<Tensor> tensors = {});
  Result<Peer*> peer_for(const wire::Hop& hop);
  void send_ping(Peer& peer);
  void fill_status(wire::NodeStatus* s);
  // Model updates by gossip (the logic is in gossip.cc).
  Status may_change_models(const zmq::message_t& frame, wire::Kind kind);
  void on_gossip_request(Frames& f, Decoded& d, const std::string& from);
  void on_gossip_reply(Peer& peer, Frames& f, Decoded& d);
  void gossip_tick();
  Status send_deltas(zmq::socket_t& s, const zmq::message_t* rid, const wire::Header& request, const wire::GossipDigest& theirs,
                     const std::string& where);
  int poll_ms();
};

Status Node::Impl::setup() {
  const bool local = address_is_local(opt.bind);
  if (!opt.keys_dir.empty()) {
    EP_ASSIGN_OR_RETURN(KeyPair k, keypair_read(opt.keys_dir));
    keys = k;
  }
  const bool curve = keys.has_value();
  if (!curve && !local && !opt.allow_plaintext)
    return invalid_argument("node ", opt.bind, ": the address leaves the machine, so CURVE is required: pass --keys DIR and ",
                            "--allow DIR (or --allow-plaintext on a trusted network)");
  if (curve && opt.allow_dir.empty())
    return invalid_argument("node ", opt.bind, ": --keys needs --allow DIR (the client public keys to admit)");
  if (!curve && !opt.allow_dir.empty()) return invalid_argument("node ", opt.bind, ": --allow needs --keys DIR");
  if (!curve && !opt.admin_dir.empty()) return invalid_argument("node ", opt.bind, ": --admin needs --keys DIR (CURVE)");
  if (curve) {
    EP_ASSIGN_OR_RETURN(allow, allow_list_read(opt.allow_dir));
    if (!opt.admin_dir.empty()) {
      EP_ASSIGN_OR_RETURN(admins, allow_list_read(opt.admin_dir));
      allow.insert(admins.begin(), admins.end());
    }
    public_key = keys->public_key;
  }
  if (opt.accept_shm && local) shm = std::make_unique<ShmMapper>();
  if (opt.refuse_load && !opt.gossip.peers.empty())
    return invalid_argument("node ", opt.bind, ": --peers (model updates by gossip) and --no-load contradict each other");
  host.set_keep_bytes(!opt.refuse_load);
  if (!opt.models_dir.empty()) EP_RETURN_IF_ERROR(host.load_dir(opt.models_dir));
  if (!opt.state_dir.empty()) {
    // LOADed models are newer than the folder's: the checkpoint's replace them.
    EP_ASSIGN_OR_RETURN(Checkpoint c, Checkpoint::open(opt.state_dir));
    for (const CheckpointEntry& e : c.entries()) {
      EP_ASSIGN_OR_RETURN(std::string bytes, c.bytes_of(e));
      Status st = host.load_bytes(e.name, bytes.data(), bytes.size(), e.nhwc_io);
      if (!st.is_ok()) return st.with_context("checkpoint '" + opt.state_dir + "'");
      log("restored model '" + e.name + "' version " + e.version + " from " + opt.state_dir);
    }
    checkpoint.emplace(std::move(c));
  }
  try {
    if (curve) {
      // The ZAP handler is bound before the socket: without one, libzmq admits any keypair.
      zap = std::make_unique<zmq::socket_t>(ctx, zmq::socket_type::rep);
      zap->set(zmq::sockopt::linger, 0);
      zap->bind(kZapEndpoint);
    }
    router = std::make_unique<zmq::socket_t>(ctx, zmq::socket_type::router);
    router->set(zmq::sockopt::linger, 0);
    router->set(zmq::sockopt::maxmsgsize,
                static_cast<int64_t>(std::max({opt.limits.max_tensor_bytes, opt.limits.max_model_bytes, opt.limits.max_header_bytes})));
    router->set(zmq::sockopt::router_mandatory, 1);  // a reply to a vanished client fails instead of vanishing
    if (curve) {
      router->set(zmq::sockopt::curve_server, 1);
      router->set(zmq::sockopt::curve_secretkey, keys->secret_key);
      router->set(zmq::sockopt::zap_domain, "edgepipe");
    }
    const int events = ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;
    if (zmq_socket_monitor(router->handle(), kMonitorEndpoint, events) != 0)
      return internal_error("node ", opt.bind, ": socket monitor: ", zmq_strerror(zmq_errno()));
    monitor = std::make_unique<zmq::socket_t>(ctx, zmq::socket_type::pair);
    monitor->set(zmq::sockopt::linger, 0);
    monitor->connect(kMonitorEndpoint);
    done_pull = std::make_unique<zmq::socket_t>(ctx, zmq::socket_type::pull);
    done_pull->set(zmq::sockopt::linger, 0);
    done_pull->bind(kDoneEndpoint);
    router->bind(opt.bind);
    endpoint = router->get(zmq::sockopt::last_endpoint);
  } catch (const zmq::error_t& e) {
    return io_error("node ", opt.bind, ": ", e.what());
  }
  if (opt.name.empty()) opt.name = endpoint;
  if (!opt.refuse_load) {
    if (opt.gossip.node_id.empty()) opt.gossip.node_id = opt.name;
    if (checkpoint && opt.gossip.state_file.empty()) opt.gossip.state_file = checkpoint->dir() + "/gossip_versions.pb";
    gossip = std::make_unique<Gossip>(opt.gossip, host, opt.log, opt.clock);
    EP_RETURN_IF_ERROR(gossip->load_state());
    if (checkpoint)  // updated models survive a restart like LOADed ones
      gossip->set_on_applied([this](const std::string& model, const std::string& bytes) {
        auto served = host.served(model);
        Status kept = checkpoint->save(model, bytes.data(), bytes.size(), served.is_ok() ? served->nhwc_io : std::set<std::string>{});
        if (!kept.is_ok()) log("checkpoint of '" + model + "' failed: " + kept.to_string());
      });
  }
  started_ns = now();
  return Status::ok();
}

void Node::Impl::close_sockets() {
  stop_workers();
  if (router) zmq_socket_monitor(router->handle(), nullptr, 0);
  peers.clear();
  done_pull.reset();
  monitor.reset();
  router.reset();
  zap.reset();
  ctx.close();
}

void Node::Impl::loop() {
  while (!stopping.load(std::memory_order_acquire)) {
    beat_ns.store(steady_now_ns(), std::memory_order_relaxed);
    std::vector<zmq::pollitem_t> items = {{router->handle(), 0, ZMQ_POLLIN, 0}, {monitor->handle(), 0, ZMQ_POLLIN, 0},
                                          {done_pull->handle(), 0, ZMQ_POLLIN, 0}};
    if (zap) items.push_back({zap->handle(), 0, ZMQ_POLLIN, 0});
    std::vector<Peer*> polled;
    for (auto& [key, p] : peers) {
      items.push_back({p.socket->handle(), 0, ZMQ_POLLIN, 0});
      polled.push_back(&p);
    }
    try {
      zmq::poll(items, std::chrono::milliseconds(poll_ms()));
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      log(std::string("poll: ") + e.what());
      break;
    }
    size_t i = 3;
    if (zap && (items[i++].revents & ZMQ_POLLIN)) on_zap();
    if (items[1].revents & ZMQ_POLLIN) on_monitor();
    if (items[2].revents & ZMQ_POLLIN) on_done();
    for (Peer* p : polled)
      if (items[i++].revents & ZMQ_POLLIN) on_peer(*p);
    if (items[0].revents & ZMQ_POLLIN) on_request();
    expire_pending();
    gossip_tick();
  }
  // Callers waiting on a run or a forward get an answer rather than a timeout.
  stop_workers();
  for (auto& job : done) {
    wire::Header req = make_header(wire::INFER, job->d.header.frame_id());
    req.set_tag(job->d.header.tag());
    reply(job->frames[0], make_error(req, io_error("node ", opt.name, " stopped while running model '", job->d.header.model(), "'")));
  }
  done.clear();
  for (auto& [tag, p] : pending) {
    wire::Header req = make_header(wire::INFER, p.frame_id);
    req.set_tag(p.tag);
    reply(p.routing_id, make_error(req, io_error("node ", opt.name, " stopped while waiting for ", p.next)));
  }
  pending.clear();
}

void Node::Impl::on_zap() {
  Frames f;
  auto got = recv_frames(*zap, f, false, "ZAP");
  if (!got.is_ok() || !*got) return;
  // RFC 27: version, request id, domain, address, identity, mechanism, credentials...
  if (f.size() < 6) return;
  const std::string address = f[3].to_string();
  const std::string mechanism = f[5].to_string();
  std::string status = "400", text = "not in the allow-list", key;
  if (mechanism == "CURVE" && f.size() >= 7 && f[6].size() == 32) {
    char z85[41];
    zmq_z85_encode(z85, static_cast<const uint8_t*>(f[6].data()), 32);
    key = z85;
    if (allow.count(key)) status = "200", text = "OK";
  } else {
    text = "mechanism " + mechanism + " refused";
  }
  if (status != "200")
    log("refused client " + (key.empty() ? std::string("(no key)") : "key " + key) + " from " + address + ": " + text);
  Frames r;
  r.emplace_back(f[0].data(), f[0].size());
  r.emplace_back(f[1].data(), f[1].size());
  r.emplace_back(status.data(), status.size());
  r.emplace_back(text.data(), text.size());
  r.emplace_back(key.data(), key.size());
  r.emplace_back();
  (void)send_frames(*zap, r, "ZAP reply");
}

void Node::Impl::on_monitor() {
  Frames f;
  auto got = recv_frames(*monitor, f, false, "monitor");
  if (!got.is_ok() || !*got || f.size() < 2 || f[0].size() < 6) return;
  uint16_t event;
  uint32_t value;
  std::memcpy(&event, f[0].data(), 2);
  std::memcpy(&value, static_cast<const char*>(f[0].data()) + 2, 4);
  log("refused a connection on " + f[1].to_string() + ": " + handshake_reason(event, value));
}

void Node::Impl::reply(zmq::message_t& rid, const wire::Header& h, std::vector<Tensor> tensors) {
  Frames out;
  out.emplace_back(rid.data(), rid.size());
  out.push_back(frame_from_header(h));
  for (Tensor& t : tensors) out.push_back(frame_from_tensor(std::move(t)));
  Status st = send_frames(*router, out, "node " + opt.name + ": reply to frame " + std::to_string(h.frame_id()));
  if (!st.is_ok()) log(st.to_string());
}

void Node::Impl::fill_status(wire::NodeStatus* s) {
  s->set_node(opt.name);
  s->set_edgepipe_version("0.1.0");
  s->set_protocol_version(kProtocolVersion);
  s->set_accepts_shm(shm != nullptr);
  host.fill_status(s);
  if (gossip) gossip->fill_status(s->mutable_gossip());
  for (auto& m : *s->mutable_models()) {
    auto it = workers.find(m.name());
    if (it == workers.end()) continue;
    std::lock_guard<std::mutex> lock(it->second->mu);
    m.set_in_progress(static_cast<uint32_t>(it->second->queue.size() + (it->second->running ? 1 : 0)));
  }
  s->set_requests(requests);
  s->set_errors(errors);
  s->set_in_flight(pending.size());
  const int64_t up = opt.clock() - started_ns;
  s->set_uptime_ns(up);
  s->set_busy_fraction(up > 0 ? static_cast<double>(busy_ns) / static_cast<double>(up) : 0.0);
}

void Node::Impl::on_request() {
  Frames f;
  // Routing id, header, tensors: a message with more frames than that is read and dropped.
  auto got = recv_frames(*router, f, false, "node " + opt.name, opt.limits.max_tensors + 2);
  if (!got.is_ok()) return log(got.status().to_string());
  if (!*got || f.size() < 2) return;  // a routing id alone: nothing to answer
  const int64_t recv_ns = now();
  zmq::message_t& rid = f[0];
  const std::string from = "from " + peer_address(f[1]);
  const std::vector<Frame> spans = frame_spans(f, 1);
  auto decoded = decode(spans, opt.limits, from, shm.get());
  ++requests;
  if (!decoded.is_ok()) {
    ++errors;
    log("refused a message: " + decoded.status().to_string());
    wire::Header partial;  // echo the frame id when the header at least parses
    if (!partial.ParseFromArray(spans[0].data(), static_cast<int>(spans[0].size()))) partial.Clear();
    return reply(rid, make_error(partial, decoded.status()));
  }
  Decoded& d = *decoded;
  switch (d.header.kind()) {
    case wire::INFER: {
      auto* stamp = d.header.add_hops();
      stamp->set_recv_ns(recv_ns);
      return handle_infer(f, d);
    }
    case wire::STATUS: {
      wire::Header h = make_header(wire::STATUS_REPLY, d.header.frame_id());
      h.set_tag(d.header.tag());
      fill_status(h.mutable_status());
      return reply(rid, h);
    }
    case wire::PING: {
      wire::Header h = make_header(wire::PONG, d.header.frame_id());
      h.set_tag(d.header.tag());
      h.mutable_ping()->set_t0(d.header.ping().t0());
      h.mutable_ping()->set_t1(recv_ns);
      h.mutable_ping()->set_t2(now());
      return reply(rid, h);
    }
    case wire::LOAD: {
      Status allowed = may_change_models(f[1], wire::LOAD);
      if (!allowed.is_ok()) {
        ++errors;
        log("refused LOAD of '" + d.header.model() + "' " + from + ": " + allowed.message());
        return reply(rid, make_error(d.header, allowed));
      }
      const std::set<std::string> nhwc_io(d.header.nhwc_io().begin(), d.header.nhwc_io().end());
      Status st = host.load_bytes(d.header.model(), f[2].data(), f[2].size(), nhwc_io);
      if (!st.is_ok()) {
        ++errors;
        log("LOAD " + from + ": " + st.to_string());
        return reply(rid, make_error(d.header, st));
      }
      log("loaded model '" + d.header.model() + "' (" + std::to_string(f[2].size()) + " bytes) " + from);
      if (checkpoint) {
        // Kept for a restart; a failure to keep it is reported but the model is served.
        Status kept = checkpoint->save(d.header.model(), f[2].data(), f[2].size(), nhwc_io);
        if (!kept.is_ok()) log("checkpoint of '" + d.header.model() + "' failed: " + kept.to_string());
      }
      wire::Header h = make_header(wire::LOADED, d.header.frame_id());
      h.set_tag(d.header.tag());
      h.set_model(d.header.model());
      host.fill_info(d.header.model(), h.mutable_status()->add_models());
      return reply(rid, h);
    }
    case wire::UPDATE:
    case wire::GOSSIP_DIGEST:
    case wire::GOSSIP_DELTAS:
      return on_gossip_request(f, d, from);
    default:
      ++errors;
      return reply(rid, make_error(d.header, invalid_argument("node ", opt.name, ": a ", wire::Kind_Name(d.header.kind()),
                                                             " message is a reply, not a request")));
  }
}

void Node::Impl::handle_infer(Frames& f, Decoded& d) {
  zmq::message_t& rid = f[0];
  wire::HopStamp* stamp = d.header.mutable_hops(d.header.hops_size() - 1);
  stamp->set_node(opt.name);
  stamp->set_model(d.header.model());
  const std::string& model = d.header.model();
  if (!host.has(model)) {
    ++errors;
    stamp->set_run_start_ns(now());
    stamp->set_run_end_ns(stamp->run_start_ns());
    return reply(rid, make_error(d.header, invalid_argument("node ", opt.name, ": model '", model, "' is not served by this node")));
  }
  auto job = std::make_unique<Job>();
  // Views point into the received frames. A frame that is not aligned for its element type
  // (the sender controls the layout of a multipart message) is copied once.
  for (TensorView& v : d.tensors) {
    const size_t esize = dtype_size(v.dtype);
    if (reinterpret_cast<uintptr_t>(v.data) % esize == 0) continue;
    Tensor t(v.dtype, v.shape);
    std::memcpy(t.data(), v.data, v.nbytes());
    v.data = t.data();
    job->realigned.push_back(std::move(t));
  }
  Worker& w = worker_for(model);
  std::unique_lock<std::mutex> lock(w.mu);
  if (w.queue.size() >= opt.max_queued_per_model) {
    lock.unlock();
    ++errors;
    log("refused frame " + std::to_string(d.header.frame_id()) + " for model '" + model + "': " +
        std::to_string(opt.max_queued_per_model) + " requests already queued");
    return reply(rid, make_error(d.header, resource_exhausted("node ", opt.name, ": model '", model, "' has ",
                                                             opt.max_queued_per_model, " requests queued; try later")));
  }
  // The vector of frames moves whole, so the messages (and the views into them) stay put.
  job->frames = std::move(f);
  job->d = std::move(d);
  w.queue.push_back(std::move(job));
  lock.unlock();
  w.cv.notify_one();
}

Node::Impl::Worker& Node::Impl::worker_for(const std::string& model) {
  auto& w = workers[model];
  if (!w) {
    w = std::make_unique<Worker>();
    Worker* self = w.get();
    w->thread = std::thread([this, self] { worker_loop(*self); });
  }
  return *w;
}

void Node::Impl::worker_loop(Worker& w) {
  zmq::socket_t signal(ctx, zmq::socket_type::push);
  signal.set(zmq::sockopt::linger, 0);
  signal.connect(kDoneEndpoint);
  for (;;) {
    std::unique_ptr<Job> job;
    {
      std::unique_lock<std::mutex> lock(w.mu);
      w.cv.wait(lock, [&] { return w.stop || !w.queue.empty(); });
      if (w.stop) return;
      job = std::move(w.queue.front());
      w.queue.pop_front();
      w.running = true;
    }
    job->t0 = now();
    job->run = host.run(job->d.header.model(), job->d.names, job->d.tensors);
    job->t1 = now();
    {
      std::lock_guard<std::mutex> lock(done_mu);
      done.push_back(std::move(job));
    }
    {
      std::lock_guard<std::mutex> lock(w.mu);
      w.running = false;
    }
    try {
      signal.send(zmq::message_t(), zmq::send_flags::dontwait);  // wakes the loop; the queue holds the job
    } catch (const zmq::error_t&) {
    }
  }
}

void Node::Impl::stop_workers() {
  for (auto& [model, w] : workers) {
    {
      std::lock_guard<std::mutex> lock(w->mu);
      w->stop = true;
    }
    w->cv.notify_all();
  }
  for (auto& [model, w] : workers)
    if (w->thread.joinable()) w->thread.join();
  // Requests still queued were never run: their callers get an answer.
  for (auto& [model, w] : workers)
    for (auto& job : w->queue) {
      job->run = io_error("node ", opt.name, " stopped before running model '", model, "'");
      done.push_back(std::move(job));
    }
  workers.clear();
}

void Node::Impl::on_done() {
  while (true) {
    zmq::message_t m;
    auto got = done_pull->recv(m, zmq::recv_flags::dontwait);
    if (!got) break;
  }
  std::deque<std::unique_ptr<Job>> finished;
  {
    std::lock_guard<std::mutex> lock(done_mu);
    finished.swap(done);
  }
  for (auto& job : finished) finish_infer(*job);
}

void Node::Impl::finish_infer(Job& job) {
  zmq::message_t& rid = job.frames[0];
  Decoded& d = job.d;
  auto& run = job.run;
  wire::HopStamp* stamp = d.header.mutable_hops(d.header.hops_size() - 1);
  const int64_t t0 = job.t0;
  // A failed or first request also spends time checking inputs and creating the session.
  stamp->set_run_start_ns(run.is_ok() ? run->start_ns : t0);
  stamp->set_run_end_ns(run.is_ok() ? run->end_ns : job.t1);
  const int64_t run_ns = stamp->run_end_ns() - stamp->run_start_ns();
  busy_ns += run_ns;
  host.record(d.header.model(), run_ns, run.is_ok());
  if (!run.is_ok()) {
    ++errors;
    return reply(rid, make_error(d.header, run.status().with_context("node " + opt.name)));
  }
  wire::Header out = make_header(d.header.route_size() > 0 ? wire::INFER : wire::RESULT, d.header.frame_id());
  *out.mutable_hops() = d.header.hops();
  for (size_t i = 0; i < run->outputs.size(); ++i) set_meta(out.add_tensors(), run->names[i], run->outputs[i].view());
  if (d.header.route_size() == 0) {
    out.set_tag(d.header.tag());
    out.mutable_hops(out.hops_size() - 1)->set_send_ns(now());
    return reply(rid, out, std::move(run->outputs));
  }
  const wire::Hop next = d.header.route(0);
  auto peer = peer_for(next);
  if (!peer.is_ok()) {
    ++errors;
    return reply(rid, make_error(d.header, peer.status().with_context("node " + opt.name)));
  }
  out.set_model(next.model());
  out.mutable_route()->CopyFrom(d.header.route());
  out.mutable_route()->erase(out.mutable_route()->begin());
  const uint64_t tag = next_tag++;
  out.set_tag(tag);
  Pending p;
  p.routing_id.copy(rid);
  p.frame_id = d.header.frame_id();
  p.tag = d.header.tag();
  p.hop_index = out.hops_size();
  p.next = next.address() + " (model '" + next.model() + "')";
  p.deadline_ns = now() + int64_t{opt.forward_timeout_ms} * 1'000'000;
  out.mutable_hops(out.hops_size() - 1)->set_send_ns(now());
  Frames frames;
  frames.push_back(frame_from_header(out));
  for (Tensor& t : run->outputs) frames.push_back(frame_from_tensor(std::move(t)));
  Status st = send_frames(*(*peer)->socket, frames, "node " + opt.name + ": forward to " + p.next);
  if (!st.is_ok()) {
    ++errors;
    return reply(rid, make_error(d.header, st));
  }
  pending.emplace(tag, std::move(p));
}

Result<Node::Impl::Peer*> Node::Impl::peer_for(const wire::Hop& hop) {
  const std::string key = hop.address() + "|" + hop.server_key();
  auto it = peers.find(key);
  if (it != peers.end()) return &it->second;
  const std::string where = "next hop " + hop.address();
  if (hop.server_key().empty() && !address_is_local(hop.address()))
    return invalid_argument(where, " leaves the machine: the route must give its server_key (CURVE)");
  if (!hop.server_key().empty() && !keys) return invalid_argument(where, " uses CURVE, but this node has no keys (--keys)");
  Peer p;
  p.address = hop.address();
  try {
    p.socket = std::make_unique<zmq::socket_t>(ctx, zmq::socket_type::dealer);
    p.socket->set(zmq::sockopt::linger, 0);
    p.socket->set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(opt.limits.max_tensor_bytes));
    EP_RETURN_IF_ERROR(secure_client(*p.socket, hop.server_key(), keys ? &*keys : nullptr, where));
    p.socket->connect(hop.address());
  } catch (const zmq::error_t& e) {
    return io_error(where, ": ", e.what());
  }
  // Clock offset: one PING now, the next when its PONG is back (pings sent back to back while
  // the connection is still being set up would all carry its delay).
  send_ping(p);
  return &peers.emplace(key, std::move(p)).first->second;
}

void Node::Impl::send_ping(Peer& peer) {
  wire::Header ping = make_header(wire::PING);
  peer.last_ping_ns = now();
  ping.mutable_ping()->set_t0(peer.last_ping_ns);
  Frames f;
  f.push_back(frame_from_header(ping));
  Status st = send_frames(*peer.socket, f, "next hop " + peer.address + ": ping");
  if (!st.is_ok()) log(st.to_string());
}

void Node::Impl::on_peer(Peer& peer) {
  Frames f;
  auto got = recv_frames(*peer.socket, f, false, "next hop " + peer.address);
  if (!got.is_ok()) return log(got.status().to_string());
  if (!*got) return;
  const int64_t t3 = now();
  const std::vector<Frame> spans = frame_spans(f);
  auto decoded = decode(spans, opt.limits, "from next hop " + peer.address);
  if (!decoded.is_ok()) return log("dropped a reply: " + decoded.status().to_string());
  wire::Header& h = decoded->header;
  if (h.kind() == wire::PONG) {
    peer.samples.push_back(PingSample{h.ping().t0(), h.ping().t1(), h.ping().t2(), t3});
    if (peer.samples.size() > kPingWindow) peer.samples.erase(peer.samples.begin());
    peer.offset = clock_offset_estimate(peer.samples);
    if (static_cast<int>(peer.offset->samples) < opt.pings_per_peer && peer.samples.size() < kPingWindow) send_ping(peer);
    return;
  }
  if (h.kind() == wire::GOSSIP_DELTAS) return on_gossip_reply(peer, f, *decoded);
  auto it = pending.find(h.tag());
  if (it == pending.end())
    return log("dropped a " + wire::Kind_Name(h.kind()) + " from " + peer.address + ": no request with tag " + std::to_string(h.tag()));
  Pending& p = it->second;
  h.set_frame_id(p.frame_id);
  h.set_tag(p.tag);
  if (peer.offset && h.hops_size() > p.hop_index) {
    h.mutable_hops(p.hop_index)->set_clock_offset_ns(peer.offset->offset_ns);
    h.mutable_hops(p.hop_index)->set_clock_offset_known(true);
  }
  Frames out;
  out.push_back(std::move(p.routing_id));
  out.push_back(frame_from_header(h));
  for (size_t i = 1; i < f.size(); ++i) out.push_back(std::move(f[i]));  // tensor frames pass through, uncopied
  pending.erase(it);
  Status st = send_frames(*router, out, "node " + opt.name + ": reply");
  if (!st.is_ok()) log(st.to_string());
}

void Node::Impl::expire_pending() {
  const int64_t t = now();
  for (auto& [key, peer] : peers)
    if (peer.offset && t - peer.last_ping_ns > kPingRefreshNs) send_ping(peer);
  for (auto it = pending.begin(); it != pending.end();) {
    if (it->second.deadline_ns > t) {
      ++it;
      continue;
    }
    Pending& p = it->second;
    wire::Header req = make_header(wire::INFER, p.frame_id);
    req.set_tag(p.tag);
    const Status st = io_error("node ", opt.name, ": next hop ", p.next, " did not answer in ", opt.forward_timeout_ms, " ms");
    log(st.to_string());
    ++errors;
    reply(p.routing_id, make_error(req, st));
    it = pending.erase(it);
  }
}

// ---- Model updates by gossip (gossip.h): the node's sockets around Gossip ----

Status Node::Impl::may_change_models(const zmq::message_t& frame, wire::Kind kind) {
  // ZAP's user id is the client's public key (on_zap): who may replace models.
  const char* user = zmq_msg_gets(const_cast<zmq_msg_t*>(frame.handle()), "User-Id");
  const std::string key = user ? user : "";
  const std::string what = wire::Kind_Name(kind);
  if (opt.refuse_load) return invalid_argument("node ", opt.name, ": ", what, " is disabled (the node serves its models folder)");
  if (!admins.empty() && !admins.count(key))
    return invalid_argument("node ", opt.name, ": key ", key.empty() ? std::string("(none)") : key, " may not ", what,
                            " here (not in --admin)");
  return Status::ok();
}

int Node::Impl::poll_ms() {
  // Rounds start on time rather than up to one poll period late.
  if (!gossip) return kPollMs;
  const int64_t ns = std::min<int64_t>(gossip->ns_until_round(now()), int64_t{kPollMs} * 1'000'000);
  return static_cast<int>((ns + 999'999) / 1'000'000);
}

Status Node::Impl::send_deltas(zmq::socket_t& s, const zmq::message_t* rid, const wire::Header& request,
                               const wire::GossipDigest& theirs, const std::string& where) {
  const std::vector<std::shared_ptr<const std::string>> deltas = gossip->missing_for(theirs);
  if (!rid && deltas.empty()) return Status::ok();  // a push with nothing to push
  wire::Header h = make_header(wire::GOSSIP_DELTAS, request.frame_id());
  h.set_tag(request.tag());
  gossip->fill_digest(h.mutable_gossip());
  h.mutable_gossip()->set_deltas(static_cast<uint32_t>(deltas.size()));
  Frames out;
  if (rid) out.emplace_back(rid->data(), rid->size());
  out.push_back(frame_from_header(h));
  for (const auto& d : deltas) out.emplace_back(d->data(), d->size());
  return send_frames(s, out, where);
}

void Node::Impl::on_gossip_request(Frames& f, Decoded& d, const std::string& from) {
  zmq::message_t& rid = f[0];
  const wire::Kind kind = d.header.kind();
  Status allowed = may_change_models(f[1], kind);
  if (!allowed.is_ok()) {
    ++errors;
    log("refused " + wire::Kind_Name(kind) + " " + from + ": " + allowed.message());
    if (kind != wire::GOSSIP_DELTAS) reply(rid, make_error(d.header, allowed));
    return;
  }
  if (kind == wire::UPDATE) {
    const Gossip::Received r = gossip->receive(frame_spans(f, 2)[0], from);
    if (r.outcome == Gossip::Outcome::rejected) {
      ++errors;
      return reply(rid, make_error(d.header, r.status));
    }
    log("UPDATE " + from + ": delta " + r.delta + (r.outcome == Gossip::Outcome::applied ? " applied"
                                                   : r.outcome == Gossip::Outcome::held ? " held" : " already here"));
    wire::Header h = make_header(wire::UPDATED, d.header.frame_id());
    h.set_tag(d.header.tag());
    fill_status(h.mutable_status());
    return reply(rid, h);
  }
  const std::vector<Frame> frames = frame_spans(f, 2);
  for (const Frame& delta : frames) {
    const Gossip::Received r = gossip->receive(delta, "from peer " + d.header.gossip().node_id() + " " + from);
    if (r.outcome == Gossip::Outcome::rejected) ++errors;
  }
  if (kind == wire::GOSSIP_DIGEST) {
    Status st = send_deltas(*router, &rid, d.header, d.header.gossip(), "node " + opt.name + ": gossip reply " + from);
    if (!st.is_ok()) log(st.to_string());
  }
}

void Node::Impl::on_gossip_reply(Peer& peer, Frames& f, Decoded& d) {
  if (!gossip) return;
  gossip->answered(peer.address);
  for (const Frame& delta : frame_spans(f, 1)) {
    const Gossip::Received r = gossip->receive(delta, "from peer " + d.header.gossip().node_id() + " " + peer.address);
    if (r.outcome == Gossip::Outcome::rejected) ++errors;
  }
  // Push: what the peer lacks, judged by the digest it just sent.
  Status st = send_deltas(*peer.socket, nullptr, d.header, d.header.gossip(), "node " + opt.name + ": gossip push to " + peer.address);
  if (!st.is_ok()) log(st.to_string());
}

void Node::Impl::gossip_tick() {
  if (!gossip) return;
  const std::optional<size_t> due = gossip->round_due(now());
  if (!due) return;
  const auto [address, key] = gossip_peer_split(gossip->options().peers[*due]);
  wire::Hop hop;
  hop.set_address(address);
  hop.set_server_key(key);
  auto peer = peer_for(hop);
  if (!peer.is_ok()) return log("gossip: " + peer.status().to_string());
  wire::Header h = make_header(wire::GOSSIP_DIGEST);
  h.set_tag(next_tag++);
  gossip->fill_digest(h.mutable_gossip());
  Frames out;
  out.push_back(frame_from_header(h));
  Status st = send_frames(*(*peer)->socket, out, "node " + opt.name + ": gossip to " + address);
  if (!st.is_ok()) log(st.to_string());
}

Result<std::unique_ptr<Node>> Node::start(NodeOptions options) {
  if (!options.log) options.log = [](const std::string& line) { std::cerr << "[edgepipe node] " << line << std::endl; };
  if (!options.clock) options.clock = steady_now_ns;
  auto impl = std::make_unique<Impl>(std::move(options));
  std::promise<Status> ready;
  std::future<Status> started = ready.get_future();
  Impl* self = impl.get();
  impl->thread = std::thread([self, &ready] {
    Status st = self->setup();
    const bool ok = st.is_ok();
    if (!ok) self->close_sockets();
    ready.set_value(std::move(st));  // `ready` is gone after this on failure; do not touch it again
    if (!ok) return;
    self->loop();
    self->close_sockets();
  });
  Status st = started.get();
  if (!st.is_ok()) {
    impl->thread.join();
    return st;
  }
  if (impl->opt.watchdog_ms > 0) {
    if (!impl->opt.on_stall)
      impl->opt.on_stall = [self](int64_t ms) {
        self->log("watchdog: the loop has not run for " + std::to_string(ms) + " ms (limit " +
                  std::to_string(self->opt.watchdog_ms) + " ms): exiting with status 70 for the supervisor to restart");
        std::_Exit(70);
      };
    impl->beat_ns.store(steady_now_ns());
    impl->watchdog = std::thread([self] {
      const auto tick = std::chrono::milliseconds(std::max(1, self->opt.watchdog_ms / 4));
      bool fired = false;
      while (!self->stopping.load(std::memory_order_acquire)) {
        std::this_thread::sleep_for(tick);
        const int64_t stalled = (steady_now_ns() - self->beat_ns.load(std::memory_order_relaxed)) / 1'000'000;
        if (stalled > self->opt.watchdog_ms && !fired) {
          fired = true;  // once per stall
          self->opt.on_stall(stalled);
        } else if (stalled <= self->opt.watchdog_ms) {
          fired = false;
        }
      }
    });
  }
  return std::unique_ptr<Node>(new Node(std::move(impl)));
}

Node::Node(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Node::~Node() { stop(); }
const std::string& Node::endpoint() const { return impl_->endpoint; }
const std::string& Node::public_key() const { return impl_->public_key; }

void Node::stop() {
  if (!impl_ || !impl_->thread.joinable()) return;
  impl_->stopping.store(true, std::memory_order_release);
  impl_->thread.join();
  if (impl_->watchdog.joinable()) impl_->watchdog.join();
}

}  // namespace ep::dist
