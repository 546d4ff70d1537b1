// The wire decoder validates every field and size; tensors in a same-host sender's shared
// memory; clock offsets; the link model's schedule.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "dist/client.h"
#include "dist/clock_offset.h"
#include "dist/link_emulator.h"
#include "dist/shm.h"
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

// A message whose tensor "x" (f32 [2, 3]) is a reference into `ref`'s segment.
struct ShmMessage {
  wire::Header header = make_header(wire::INFER, 9);
  std::string head;
  explicit ShmMessage(const wire::ShmRef& ref, std::vector<int64_t> dims = {2, 3}) {
    header.set_model("m");
    auto* t = header.add_tensors();
    t->set_name("x");
    t->set_dtype(wire::F32);
    for (int64_t d : dims) t->add_dims(d);
    *t->mutable_shm() = ref;
  }
  Result<Decoded> decode_with(ShmMapper* mapper, std::string frame = "") {
    head = header.SerializeAsString();
    std::vector<Frame> frames{Frame(reinterpret_cast<const uint8_t*>(head.data()), head.size()),
                              Frame(reinterpret_cast<const uint8_t*>(frame.data()), frame.size())};
    return decode(frames, {}, "from test", mapper);
  }
};

void expect_shm_error(const wire::ShmRef& ref, const std::string& fragment, std::vector<int64_t> dims = {2, 3}) {
  ShmMapper mapper;
  ShmMessage m(ref, dims);
  auto d = m.decode_with(&mapper);
  ASSERT_FALSE(d.is_ok()) << "accepted, expected an error with '" << fragment << "'";
  EXPECT_NE(d.status().message().find(fragment), std::string::npos) << d.status().to_string();
}

TEST(Shm, TensorsDecodeInPlaceFromTheSendersSegment) {
  auto seg = ShmSegment::create(1000);
  ASSERT_TRUE(seg.is_ok()) << seg.status().to_string();
  auto v = (*seg)->allocate(DType::f32, Shape{2, 3});
  ASSERT_TRUE(v.is_ok());
  auto w = (*seg)->allocate(DType::f32, Shape{2, 3});  // a second one: a nonzero offset
  ASSERT_TRUE(w.is_ok());
  for (int i = 0; i < 6; ++i) static_cast<float*>(w->data)[i] = 1.5f * static_cast<float>(i);
  wire::ShmRef ref;
  (*seg)->describe(w->data, &ref);
  EXPECT_EQ(ref.offset() % 64, 0u);
  EXPECT_GT(ref.offset(), 0u);
  ShmMapper mapper;
  ShmMessage m(ref);
  auto d = m.decode_with(&mapper);
  ASSERT_TRUE(d.is_ok()) << d.status().to_string();
  ASSERT_EQ(d->tensors.size(), 1u);
  EXPECT_EQ(d->tensors[0].shape, (Shape{2, 3}));
  const float* got = static_cast<const float*>(d->tensors[0].data);
  EXPECT_NE(got, static_cast<const float*>(w->data));  // the receiver's own read-only mapping
  for (int i = 0; i < 6; ++i) EXPECT_EQ(got[i], 1.5f * static_cast<float>(i));
  static_cast<float*>(w->data)[5] = -7.f;  // shared, not copied
  EXPECT_EQ(got[5], -7.f);
  EXPECT_EQ(d->keep.size(), 1u);
  // The mapping is kept for the next message, and outlives the mapper while a message holds it.
  auto d2 = m.decode_with(&mapper);
  ASSERT_TRUE(d2.is_ok());
  EXPECT_EQ(d2->tensors[0].data, d->tensors[0].data);
  EXPECT_EQ(mapper.mapped(), 1u);
}

TEST(Shm, ASegmentOfAnotherProcessIsReadInPlace) {
  int to_child[2], to_parent[2];
  ASSERT_EQ(pipe(to_child), 0);
  ASSERT_EQ(pipe(to_parent), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // The sender: a segment with 0..11, its reference to the parent, then wait to be told to go.
    auto seg = ShmSegment::create(4096);
    if (!seg.is_ok()) _exit(2);
    auto v = (*seg)->allocate(DType::f32, Shape{3, 4});
    for (int i = 0; i < 12; ++i) static_cast<float*>(v->data)[i] = static_cast<float>(i) + 0.25f;
    wire::ShmRef ref;
    (*seg)->describe(v->data, &ref);
    const std::string bytes = ref.SerializeAsString();
    const uint32_t n = static_cast<uint32_t>(bytes.size());
    if (write(to_parent[1], &n, 4) != 4 || write(to_parent[1], bytes.data(), n) != static_cast<ssize_t>(n)) _exit(3);
    char go;
    if (read(to_child[0], &go, 1) != 1) _exit(4);
    _exit(0);
  }
  uint32_t n = 0;
  ASSERT_EQ(read(to_parent[0], &n, 4), 4);
  std::string bytes(n, '\0');
  ASSERT_EQ(read(to_parent[0], bytes.data(), n), static_cast<ssize_t>(n));
  wire::ShmRef ref;
  ASSERT_TRUE(ref.ParseFromString(bytes));
  EXPECT_EQ(ref.pid(), child);
  ShmMapper mapper;
  ShmMessage m(ref, {3, 4});
  auto d = m.decode_with(&mapper);
  ASSERT_TRUE(d.is_ok()) << d.status().to_string();
  const float* got = static_cast<const float*>(d->tensors[0].data);
  for (int i = 0; i < 12; ++i) EXPECT_EQ(got[i], static_cast<float>(i) + 0.25f);
  ASSERT_EQ(write(to_child[1], "g", 1), 1);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  // The sender is gone; the mapping the message holds still reads.
  EXPECT_EQ(got[11], 11.25f);
  for (int fd : {to_child[0], to_child[1], to_parent[0], to_parent[1]}) close(fd);
}

TEST(Shm, RefusesEveryBadReference) {
  auto seg = ShmSegment::create(4096);
  ASSERT_TRUE(seg.is_ok());
  auto v = (*seg)->allocate(DType::f32, Shape{2, 3});
  ASSERT_TRUE(v.is_ok());
  wire::ShmRef good;
  (*seg)->describe(v->data, &good);
  {  // No mapper: the receiver does not take them.
    ShmMessage m(good);
    auto d = m.decode_with(nullptr);
    ASSERT_FALSE(d.is_ok());
    EXPECT_NE(d.status().message().find("tensor 'x' is in the sender's shared memory, which this receiver does not accept"),
              std::string::npos) << d.status().to_string();
  }
  {  // Bytes in the frame as well as a reference.
    ShmMapper mapper;
    ShmMessage m(good);
    auto d = m.decode_with(&mapper, std::string(24, '\1'));
    ASSERT_FALSE(d.is_ok());
    EXPECT_NE(d.status().message().find("frame 1 has 24 bytes, but the tensor is in shared memory"), std::string::npos)
        << d.status().to_string();
  }
  auto with = [&](auto change) {
    wire::ShmRef r = good;
    change(r);
    return r;
  };
  expect_shm_error(with([](wire::ShmRef& r) { r.set_pid(0); }), "shm.pid 0");
  expect_shm_error(with([](wire::ShmRef& r) { r.set_pid(-5); }), "shm.pid -5");
  expect_shm_error(with([](wire::ShmRef& r) { r.set_fd(-1); }), "shm.fd -1");
  expect_shm_error(with([](wire::ShmRef& r) { r.set_token("abc"); }), "shm.token has 3 characters");
  expect_shm_error(with([](wire::ShmRef& r) { r.set_token(std::string(32, 'A')); }), "shm.token is not lowercase hex");
  expect_shm_error(with([](wire::ShmRef& r) { r.set_offset(r.offset() + 2); }), "not a multiple of the element size");
  expect_shm_error(with([](wire::ShmRef& r) { r.set_offset(4096 - 20); }), "run past the segment's 4096 bytes");
  expect_shm_error(good, "run past the segment's 4096 bytes", {1000, 2});
  // A token that is not this segment's, a descriptor that is not a segment, a process that is not there.
  expect_shm_error(with([](wire::ShmRef& r) { r.set_token(std::string(32, 'f')); }), "is not the segment edgepipe-ffff");
  expect_shm_error(with([](wire::ShmRef& r) { r.set_fd(0); }), "is not the segment");
  expect_shm_error(with([](wire::ShmRef& r) { r.set_pid((int64_t{1} << 22) - 1); }), "is not the segment");
  {  // A FIFO behind the descriptor is never opened (an open would block without a writer).
    const std::string fifo = (std::filesystem::temp_directory_path() / ("ep_shm_fifo_" + std::to_string(getpid()))).string();
    ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
    const int fd = open(fifo.c_str(), O_RDONLY | O_NONBLOCK);
    ASSERT_GE(fd, 0);
    expect_shm_error(with([&](wire::ShmRef& r) { r.set_fd(fd); }), "is not the segment");
    close(fd);
    unlink(fifo.c_str());
  }
  {  // The right name but no seals: its owner could shrink it under the mapping.
    const std::string token(32, 'a');
    const int fd = memfd_create(("edgepipe-" + token).c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(ftruncate(fd, 4096), 0);
    expect_shm_error(with([&](wire::ShmRef& r) { r.set_fd(fd), r.set_token(token), r.set_offset(0); }),
                     "is not a sealed edgepipe segment");
    close(fd);
  }
  // An allocation past the end is refused by the sender too.
  auto big = (*seg)->allocate(DType::f32, Shape{2000});
  ASSERT_FALSE(big.is_ok());
  EXPECT_NE(big.status().message().find("8000 bytes asked"), std::string::npos) << big.status().to_string();
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
