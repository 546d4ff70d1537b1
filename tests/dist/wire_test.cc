// The wire decoder validates every field and size; clock offsets; the link model's schedule.
#include <gtest/gtest.h>

#include <cstring>

#include "dist/client.h"
#include "dist/clock_offset.h"
#include "dist/link_emulator.h"
#include "dist/wire.h"

namespace ep::dist {
namespace {

struct Message {
  wire::Header header = make_header(wire::INFER, 7);
  std::vector<std::string> data;

  Message() {
    header.set_model("m");
    add("x", wire::F32, {2, 3});
  }
  void add(const std::string& name, wire::DType dt, const std::vector<int64_t>& dims, size_t bytes = SIZE_MAX) {
    auto* t = header.add_tensors();
    t->set_name(name);
    t->set_dtype(dt);
    size_t n = 4;
    for (int64_t d : dims) t->add_dims(d), n *= static_cast<size_t>(std::max<int64_t>(d, 0));
    data.push_back(std::string(bytes == SIZE_MAX ? n : bytes, '\1'));
  }
  Result<Decoded> decode_with(const WireLimits& limits = {}) {
    head = header.SerializeAsString();
    std::vector<Frame> frames{Frame(reinterpret_cast<const uint8_t*>(head.data()), head.size())};
    for (const auto& d : data) frames.emplace_back(reinterpret_cast<const uint8_t*>(d.data()), d.size());
    return decode(frames, limits, "from test");
  }
  std::string head;
};

void expect_error(Message& m, const std::string& fragment, const WireLimits& limits = {}) {
  auto d = m.decode_with(limits);
  ASSERT_FALSE(d.is_ok()) << "accepted, expected an error with '" << fragment << "'";
  EXPECT_NE(d.status().message().find(fragment), std::string::npos) << d.status().to_string();
}

TEST(Wire, DecodesAValidMessageWithViewsIntoTheFrames) {
  Message m;
  auto d = m.decode_with();
  ASSERT_TRUE(d.is_ok()) << d.status().to_string();
  ASSERT_EQ(d->tensors.size(), 1u);
  EXPECT_EQ(d->names[0], "x");
  EXPECT_EQ(d->tensors[0].dtype, DType::f32);
  EXPECT_EQ(d->tensors[0].shape, (Shape{2, 3}));
  EXPECT_EQ(d->tensors[0].data, static_cast<const void*>(m.data[0].data()));  // no copy
}

TEST(Wire, RejectsEveryBadField) {
  { Message m; m.header.set_version(2); expect_error(m, "version 2"); }
  { Message m; m.header.set_kind(static_cast<wire::Kind>(77)); expect_error(m, "header.kind 77"); }
  { Message m; m.header.set_kind(wire::KIND_UNSPECIFIED); expect_error(m, "header.kind 0"); }
  { Message m; m.header.set_model(""); expect_error(m, "header.model is empty"); }
  { Message m; m.header.set_model(std::string(300, 'a')); expect_error(m, "header.model has 300 bytes"); }
  { Message m; m.header.mutable_tensors(0)->set_dtype(static_cast<wire::DType>(14)); expect_error(m, "dtype 14"); }
  { Message m; m.header.mutable_tensors(0)->set_dtype(wire::DTYPE_UNSPECIFIED); expect_error(m, "dtype 0"); }
  { Message m; m.header.mutable_tensors(0)->set_dims(0, -2); expect_error(m, "dims[0] = -2 is negative"); }
  { Message m; m.header.mutable_tensors(0)->set_name(""); expect_error(m, "header.tensors[0].name is empty"); }
  { Message m; m.add("x", wire::F32, {1}); expect_error(m, "name 'x' appears twice"); }
  { Message m; m.data[0].pop_back(); expect_error(m, "frame 1 has 23 bytes, header says 24"); }
  { Message m; m.data.push_back("extra"); expect_error(m, "has 2 data frames, expected 1"); }
  { Message m; m.data.clear(); expect_error(m, "has 0 data frames, expected 1"); }
  { Message m; m.header.mutable_tensors(0)->add_dims(1), m.header.mutable_tensors(0)->add_dims(1);
    for (int i = 0; i < 7; ++i) m.header.mutable_tensors(0)->add_dims(1);
    expect_error(m, "rank 11, limit 8"); }
  {
    Message m;  // the product overflows: caught before multiplying past the limit
    m.header.mutable_tensors(0)->set_dims(0, int64_t{1} << 40);
    m.header.mutable_tensors(0)->set_dims(1, int64_t{1} << 40);
    expect_error(m, "more than");
  }
  { Message m; WireLimits l; l.max_tensor_bytes = 16; expect_error(m, "more than 16 bytes", l); }
  { Message m; WireLimits l; l.max_header_bytes = 4; expect_error(m, "header frame has", l); }
  { Message m; WireLimits l; l.max_tensors = 0; expect_error(m, "1 entries, limit 0", l); }
  { Message m; m.header.set_kind(wire::STATUS); expect_error(m, "a STATUS message carries no tensors"); }
  {
    Message m;
    auto* hop = m.header.add_route();
    hop->set_address("http://evil");
    hop->set_model("b");
    expect_error(m, "route[0].address 'http://evil'");
  }
  {
    Message m;
    auto* hop = m.header.add_route();
    hop->set_address("tcp://127.0.0.1:1");
    hop->set_model("b");
    hop->set_server_key("short");
    expect_error(m, "route[0].server_key");
  }
  {
    Message m;
    m.head = "\xff\xff\xff garbage";
    std::vector<Frame> frames{Frame(reinterpret_cast<const uint8_t*>(m.head.data()), m.head.size())};
    auto d = decode(frames, {}, "from test");
    ASSERT_FALSE(d.is_ok());
    EXPECT_NE(d.status().message().find("is not a wire.v1.Header"), std::string::npos) << d.status().to_string();
  }
  EXPECT_FALSE(decode({}, {}).is_ok());
}

TEST(Wire, ErrorsCarryTheirStatusCode) {
  wire::Header req = make_header(wire::INFER, 3);
  const wire::Header e = make_error(req, invalid_argument("model 'm': bad"));
  EXPECT_EQ(e.frame_id(), 3u);
  const Status st = error_status(e);
  EXPECT_EQ(st.code(), StatusCode::invalid_argument);
  EXPECT_EQ(st.message(), "model 'm': bad");
}

TEST(ClockOffset, RecoversAKnownOffsetFromTheFastestExchange) {
  // Peer clock = local + 1000. One-way delays: 10/10 (fast) and 500/20 (slow, asymmetric).
  const PingSample fast{0, 10 + 1000, 15 + 1000, 25};
  const PingSample slow{100, 100 + 500 + 1000, 100 + 505 + 1000, 100 + 525};
  const std::vector<PingSample> samples{slow, fast};
  const ClockOffset c = clock_offset_estimate(samples);
  EXPECT_EQ(c.offset_ns, 1000);
  EXPECT_EQ(c.delay_ns, 20);
  EXPECT_EQ(c.samples, 2);
  EXPECT_EQ(clock_offset_estimate({}).samples, 0);
}

TEST(ClockOffset, PutsEveryHopStampIntoTheClientsClock) {
  // Client clock t; node A = t + 1000; node B = A + 50 = t + 1050. Events at client times 10..80.
  wire::Header r;
  auto* a = r.add_hops();
  a->set_recv_ns(10 + 1000), a->set_run_start_ns(20 + 1000), a->set_run_end_ns(30 + 1000), a->set_send_ns(40 + 1000);
  auto* b = r.add_hops();
  b->set_recv_ns(50 + 1050), b->set_run_start_ns(60 + 1050), b->set_run_end_ns(70 + 1050), b->set_send_ns(80 + 1050);
  b->set_clock_offset_ns(50), b->set_clock_offset_known(true);
  ClockOffset first;
  first.offset_ns = 1000;
  first.samples = 8;
  const auto t = hop_times(r, first);
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0].recv_ns, 10);
  EXPECT_EQ(t[0].send_ns, 40);
  EXPECT_EQ(t[1].recv_ns, 50);
  EXPECT_EQ(t[1].send_ns, 80);
  EXPECT_TRUE(t[1].offset_known);
  r.mutable_hops(1)->set_clock_offset_known(false);
  EXPECT_FALSE(hop_times(r, first)[1].offset_known);
}

TEST(LinkModel, DelaysThrottlesAndDropsOnAFakeClock) {
  LinkParams p;
  p.delay_ns = 5'000'000;             // 5 ms
  p.bandwidth_bytes_per_s = 1e6;      // 1 MB/s: 1000 bytes take 1 ms
  LinkModel link(p);
  EXPECT_EQ(link.admit(0, 1000), 1'000'000 + 5'000'000);
  // Offered while the first is still on the wire: it waits, then takes its own 2 ms.
  EXPECT_EQ(link.admit(500'000, 2000), 3'000'000 + 5'000'000);
  // After the link went idle: only its own time.
  EXPECT_EQ(link.admit(10'000'000, 0), 10'000'000 + 5'000'000);

  LinkParams lossy;
  lossy.loss = 0.5;
  lossy.seed = 42;
  LinkModel l(lossy);
  int lost = 0;
  for (int i = 0; i < 1000; ++i) lost += l.admit(i, 10) < 0;
  EXPECT_GT(lost, 400);
  EXPECT_LT(lost, 600);
  LinkParams all;
  all.loss = 1.0;
  EXPECT_EQ(LinkModel(all).admit(0, 1), -1);
}

}  // namespace
}  // namespace ep::dist
