#include "dist/hop_bench.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <thread>

#include "dist/node.h"
#include "dist/shm.h"
#include "dist/transport.h"

namespace ep::dist {

namespace {

// Admits every CURVE client: the benchmark measures the cipher, not the allow-list.
void zap_admit_all(zmq::socket_t& zap, const std::atomic<bool>& stop) {
  while (!stop.load()) {
    zmq::pollitem_t item{zap.handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, std::chrono::milliseconds(20));
    if (!(item.revents & ZMQ_POLLIN)) continue;
    Frames f;
    auto got = recv_frames(zap, f, false, "ZAP");
    if (!got.is_ok() || !*got || f.size() < 2) continue;
    Frames r;
    r.emplace_back(f[0].data(), f[0].size());
    r.emplace_back(f[1].data(), f[1].size());
    r.emplace_back("200", 3);
    r.emplace_back("OK", 2);
    r.emplace_back();
    r.emplace_back();
    (void)send_frames(zap, r, "ZAP");
  }
}

int64_t pct(std::vector<int64_t> v, double q) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())))];
}

}  // namespace

Result<HopBenchResult> hop_bench(const HopBenchOptions& o) {
  EP_ASSIGN_OR_RETURN(int64_t numel, checked_numel(o.shape));
  if (o.iterations < 1 || o.warmup < 0) return invalid_argument("hop bench: iterations must be >= 1, warmup >= 0");
  if (numel < 1) return invalid_argument("hop bench: the shape ", o.shape.to_string(), " has no elements");
  HopBenchResult r;
  r.bytes = static_cast<size_t>(numel) * 4;
  WireLimits limits;
  // Two contexts, so sender and receiver each have their own I/O thread, as two processes do.
  zmq::context_t ctx(1), tx_ctx(1);
  std::atomic<bool> stop{false};
  std::unique_ptr<zmq::socket_t> zap;
  std::thread zap_thread;
  zmq::socket_t rx(ctx, zmq::socket_type::router), tx(tx_ctx, zmq::socket_type::dealer);
  std::atomic<int> misaligned{0};
  std::vector<int64_t> done_ns(static_cast<size_t>(o.warmup + o.iterations));
  try {
    rx.set(zmq::sockopt::linger, 0);
    tx.set(zmq::sockopt::linger, 0);
    if (o.socket_buffer_bytes > 0) {
      tx.set(zmq::sockopt::sndbuf, o.socket_buffer_bytes);
      rx.set(zmq::sockopt::rcvbuf, o.socket_buffer_bytes);
    }
    rx.set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(limits.max_tensor_bytes));
    if (o.curve) {
      zap = std::make_unique<zmq::socket_t>(ctx, zmq::socket_type::rep);
      zap->set(zmq::sockopt::linger, 0);
      zap->bind("inproc://zeromq.zap.01");
      zap_thread = std::thread([&] { zap_admit_all(*zap, stop); });
      EP_ASSIGN_OR_RETURN(KeyPair server, keypair_generate());
      rx.set(zmq::sockopt::curve_server, 1);
      rx.set(zmq::sockopt::curve_secretkey, server.secret_key);
      EP_RETURN_IF_ERROR(secure_client(tx, server.public_key, nullptr, "hop bench"));
    }
    rx.bind(o.address);
    r.endpoint = rx.get(zmq::sockopt::last_endpoint);
    tx.connect(r.endpoint);
  } catch (const zmq::error_t& e) {
    stop = true;
    if (zap_thread.joinable()) zap_thread.join();
    return io_error("hop bench ", o.address, ": ", e.what());
  }
  std::unique_ptr<ShmSegment> segment;
  if (o.shm) {
    auto created = ShmSegment::create(r.bytes);
    if (!created.is_ok()) {
      stop = true;
      if (zap_thread.joinable()) zap_thread.join();
      return created.status();
    }
    segment = std::move(*created);
  }
  Status rx_status;
  std::thread receiver([&] {
    ShmMapper mapper;
    for (size_t i = 0; i < done_ns.size(); ++i) {
      Frames f;
      auto got = recv_frames(rx, f, true, "hop bench receiver");
      if (!got.is_ok() || !*got) {
        rx_status = got.is_ok() ? io_error("hop bench: receive interrupted") : got.status();
        return;
      }
      auto d = decode(frame_spans(f, 1), limits, "hop bench", &mapper);
      if (!d.is_ok()) {
        rx_status = d.status();
        return;
      }
      if (reinterpret_cast<uintptr_t>(d->tensors[0].data) % 4 != 0) ++misaligned;
      // The tensor this hop carried, not an earlier one: its first and last values.
      float first = 0, last = 0;
      const auto* bytes = static_cast<const uint8_t*>(d->tensors[0].data);
      std::memcpy(&first, bytes, 4);
      std::memcpy(&last, bytes + r.bytes - 4, 4);
      if (first != static_cast<float>(i) || last != static_cast<float>(i)) {
        rx_status = internal_error("hop bench: hop ", i, " received values ", first, " .. ", last);
        return;
      }
      done_ns[i] = steady_now_ns();
      Frames ack;
      ack.push_back(std::move(f[0]));
      ack.emplace_back("ok", 2);
      (void)send_frames(rx, ack, "hop bench ack");
    }
  });
  Status tx_status;
  std::vector<int64_t> sent_ns(done_ns.size());
  for (size_t i = 0; i < done_ns.size() && tx_status.is_ok(); ++i) {
    wire::Header h = make_header(wire::RESULT, i + 1);
    Frames frames;
    if (segment) {
      // The previous hop was acknowledged: its bytes may be written over.
      segment->release_to(0);
      auto v = segment->allocate(DType::f32, o.shape);
      if (!v.is_ok()) {
        tx_status = v.status();
        break;
      }
      std::fill_n(static_cast<float*>(v->data), numel, static_cast<float>(i));
      wire::TensorMeta* meta = h.add_tensors();
      set_meta(meta, "x", *v);
      segment->describe(v->data, meta->mutable_shm());
      sent_ns[i] = steady_now_ns();
      frames.push_back(frame_from_header(h));
      frames.emplace_back();
    } else {
      Tensor t(DType::f32, o.shape);  // the node's outputs: a fresh buffer handed to libzmq
      std::fill_n(t.as<float>(), numel, static_cast<float>(i));
      set_meta(h.add_tensors(), "x", t.view());
      sent_ns[i] = steady_now_ns();
      frames.push_back(frame_from_header(h));
      frames.push_back(frame_from_tensor(std::move(t)));
    }
    tx_status = send_frames(tx, frames, "hop bench sender");
    Frames ack;
    if (tx_status.is_ok()) {
      auto got = recv_frames(tx, ack, true, "hop bench sender");
      if (!got.is_ok()) tx_status = got.status();
    }
  }
  receiver.join();
  stop = true;
  if (zap_thread.joinable()) zap_thread.join();
  EP_RETURN_IF_ERROR(tx_status);
  EP_RETURN_IF_ERROR(rx_status);
  for (size_t i = static_cast<size_t>(o.warmup); i < done_ns.size(); ++i) r.hop_ns.push_back(done_ns[i] - sent_ns[i]);
  r.min_ns = *std::min_element(r.hop_ns.begin(), r.hop_ns.end());
  r.max_ns = *std::max_element(r.hop_ns.begin(), r.hop_ns.end());
  r.p50_ns = pct(r.hop_ns, 0.5);
  r.p90_ns = pct(r.hop_ns, 0.9);
  r.p99_ns = pct(r.hop_ns, 0.99);
  r.misaligned = misaligned.load();
  return r;
}

}  // namespace ep::dist
