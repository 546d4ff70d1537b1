#include "dist/link_emulator.h"

#include <algorithm>
#include <atomic>
#include <deque>
#include <future>
#include <map>
#include <thread>

#include "dist/node.h"
#include "dist/transport.h"
#include "dist/wire.h"

namespace ep::dist {

int64_t LinkModel::admit(int64_t now_ns, size_t bytes) {
  if (p_.loss > 0 && std::bernoulli_distribution(std::min(p_.loss, 1.0))(rng_)) return -1;
  const int64_t start = std::max(now_ns, busy_until_ns_);
  const int64_t send_ns =
      p_.bandwidth_bytes_per_s > 0 ? static_cast<int64_t>(static_cast<double>(bytes) * 1e9 / p_.bandwidth_bytes_per_s) : 0;
  busy_until_ns_ = start + send_ns;
  return busy_until_ns_ + p_.delay_ns;
}

struct LinkEmulator::Impl {
  struct InFlight {
    int64_t arrive_ns;
    std::string client;  // routing id on the front socket
    Frames frames;
  };
  std::string bind, target, endpoint;
  LinkModel up, down;
  zmq::context_t ctx{1};
  std::unique_ptr<zmq::socket_t> front;
  std::map<std::string, std::unique_ptr<zmq::socket_t>> backs;  // one per client
  std::deque<InFlight> to_node, to_client;
  std::thread thread;
  std::atomic<bool> stopping{false};
  std::atomic<uint64_t> forwarded{0}, dropped{0};
  std::atomic<bool> cut{false};

  Impl(const LinkParams& u, const LinkParams& d) : up(u), down(d) {}
  Status setup();
  void loop();
  void offer(LinkModel& link, std::deque<InFlight>& queue, std::string client, Frames frames);
  void deliver(int64_t now);
  zmq::socket_t& back_for(const std::string& client);
};

Status LinkEmulator::Impl::setup() {
  try {
    front = std::make_unique<zmq::socket_t>(ctx, zmq::socket_type::router);
    front->set(zmq::sockopt::linger, 0);
    front->bind(bind);
    endpoint = front->get(zmq::sockopt::last_endpoint);
  } catch (const zmq::error_t& e) {
    return io_error("link emulator ", bind, ": ", e.what());
  }
  return Status::ok();
}

zmq::socket_t& LinkEmulator::Impl::back_for(const std::string& client) {
  auto& s = backs[client];
  if (!s) {
    s = std::make_unique<zmq::socket_t>(ctx, zmq::socket_type::dealer);
    s->set(zmq::sockopt::linger, 0);
    s->connect(target);
  }
  return *s;
}

// When the sender handed the message to its socket: the last hop stamp's send_ns of an edgepipe
// message (same machine, same monotonic clock), if it is recent; else now. A store-and-forward
// proxy only sees a message once it has received all of it, which over loopback takes as long
// as a copy of its bytes; starting the link's clock then would add that to every message.
namespace {
int64_t offered_at(const Frames& frames, int64_t now) {
  wire::Header h;
  if (frames.empty() || frames[0].size() > (size_t{64} << 10) ||
      !h.ParseFromArray(frames[0].data(), static_cast<int>(frames[0].size())) || h.hops_size() == 0)
    return now;
  const int64_t sent = h.hops(h.hops_size() - 1).send_ns();
  return sent > 0 && sent <= now && now - sent < 1'000'000'000 ? sent : now;
}
}  // namespace

void LinkEmulator::Impl::offer(LinkModel& link, std::deque<InFlight>& queue, std::string client, Frames frames) {
  if (cut.load(std::memory_order_relaxed)) {
    ++dropped;
    return;
  }
  size_t bytes = 0;
  for (const auto& f : frames) bytes += f.size();
  const int64_t arrive = link.admit(offered_at(frames, steady_now_ns()), bytes);
  if (arrive < 0) {
    ++dropped;  // counted when offered, so a client that timed out sees the drop
    return;
  }
  queue.push_back(InFlight{arrive, std::move(client), std::move(frames)});
}

void LinkEmulator::Impl::deliver(int64_t now) {
  while (!to_node.empty() && to_node.front().arrive_ns <= now) {
    InFlight& m = to_node.front();
    ++forwarded;  // before the send, so a peer that has the message sees it counted
    (void)send_frames(back_for(m.client), m.frames, "link emulator: to " + target);
    to_node.pop_front();
  }
  while (!to_client.empty() && to_client.front().arrive_ns <= now) {
    InFlight& m = to_client.front();
    Frames out;
    out.emplace_back(m.client.data(), m.client.size());
    for (auto& f : m.frames) out.push_back(std::move(f));
    ++forwarded;
    (void)send_frames(*front, out, "link emulator: to client");
    to_client.pop_front();
  }
}

void LinkEmulator::Impl::loop() {
  while (!stopping.load(std::memory_order_acquire)) {
    std::vector<zmq::pollitem_t> items = {{front->handle(), 0, ZMQ_POLLIN, 0}};
    std::vector<std::string> clients;
    for (auto& [client, s] : backs) {
      items.push_back({s->handle(), 0, ZMQ_POLLIN, 0});
      clients.push_back(client);
    }
    int64_t wait_ns = 10'000'000;
    const int64_t now = steady_now_ns();
    for (const auto* q : {&to_node, &to_client})
      if (!q->empty()) wait_ns = std::clamp<int64_t>(q->front().arrive_ns - now, 0, wait_ns);
    try {
      zmq::poll(items.data(), items.size(), std::chrono::milliseconds(wait_ns / 1'000'000));
    } catch (const zmq::error_t&) {
      continue;
    }
    if (items[0].revents & ZMQ_POLLIN) {
      Frames f;
      auto got = recv_frames(*front, f, false, "link emulator");
      if (got.is_ok() && *got && f.size() >= 2) {
        std::string client = f[0].to_string();
        f.erase(f.begin());
        offer(up, to_node, std::move(client), std::move(f));
      }
    }
    for (size_t i = 0; i < clients.size(); ++i) {
      if (!(items[i + 1].revents & ZMQ_POLLIN)) continue;
      Frames f;
      auto got = recv_frames(*backs[clients[i]], f, false, "link emulator");
      if (got.is_ok() && *got) offer(down, to_client, clients[i], std::move(f));
    }
    deliver(steady_now_ns());
  }
  backs.clear();
  front.reset();
  ctx.close();
}

Result<std::unique_ptr<LinkEmulator>> LinkEmulator::start(const std::string& bind, const std::string& target,
                                                          const LinkParams& up, const LinkParams& down) {
  auto impl = std::make_unique<Impl>(up, down);
  impl->bind = bind;
  impl->target = target;
  EP_RETURN_IF_ERROR(impl->setup());
  Impl* self = impl.get();
  impl->thread = std::thread([self] { self->loop(); });
  return std::unique_ptr<LinkEmulator>(new LinkEmulator(std::move(impl)));
}

LinkEmulator::LinkEmulator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LinkEmulator::~LinkEmulator() { stop(); }
const std::string& LinkEmulator::endpoint() const { return impl_->endpoint; }
void LinkEmulator::set_cut(bool c) { impl_->cut.store(c, std::memory_order_relaxed); }
LinkCounters LinkEmulator::counters() const { return LinkCounters{impl_->forwarded.load(), impl_->dropped.load()}; }

void LinkEmulator::stop() {
  if (!impl_->thread.joinable()) return;
  impl_->stopping.store(true, std::memory_order_release);
  impl_->thread.join();
}

}  // namespace ep::dist
