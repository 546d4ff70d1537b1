// Nodes in this process on loopback with free ports: serving, status, load, refusals under
// CURVE, malformed input, forwarding between two nodes, the link emulator, shutdown.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <fstream>
#include <mutex>
#include <thread>

#include "dist/client.h"
#include "dist/link_emulator.h"
#include "dist/node.h"
#include "dist_models.h"
#include "wire_frames.h"

namespace ep::dist {
namespace {

using testing::TempDir;

// Collects a node's log lines (the node thread writes, the test reads).
struct Log {
  std::mutex mu;
  std::vector<std::string> lines;
  LogFn fn() {
    return [this](const std::string& l) {
      std::lock_guard<std::mutex> g(mu);
      lines.push_back(l);
    };
  }
  bool has(const std::string& fragment) {
    std::lock_guard<std::mutex> g(mu);
    for (const auto& l : lines)
      if (l.find(fragment) != std::string::npos) return true;
    return false;
  }
  std::string all() {
    std::lock_guard<std::mutex> g(mu);
    std::string s;
    for (const auto& l : lines) s += l + "\n";
    return s;
  }
  // The refusal is logged by the node thread shortly after the client gave up.
  bool wait_for(const std::string& fragment) {
    for (int i = 0; i < 200 && !has(fragment); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return has(fragment);
  }
};

std::unique_ptr<Node> start_node(NodeOptions o) {
  auto n = Node::start(std::move(o));
  EP_CHECK_MSG(n.is_ok(), n.status().to_string().c_str());
  return std::move(n).value();
}

Client connect(const std::string& address, const std::string& server_key = "", const std::string& keys = "",
               int timeout_ms = 5000) {
  ClientOptions o;
  o.address = address;
  o.server_key = server_key;
  o.keys_dir = keys;
  o.timeout_ms = timeout_ms;
  auto c = Client::connect(o);
  EP_CHECK_MSG(c.is_ok(), c.status().to_string().c_str());
  return std::move(c).value();
}

void expect_same(const NamedView& got, const Tensor& want) {
  ASSERT_EQ(got.view.dtype, want.dtype());
  ASSERT_EQ(got.view.shape, want.shape());
  EXPECT_EQ(std::memcmp(got.view.data, want.data(), want.nbytes()), 0) << got.name;
}

void keygen(const std::string& dir) {
  auto k = keypair_generate();
  ASSERT_TRUE(k.is_ok());
  ASSERT_TRUE(keypair_write(dir, *k).is_ok());
}

struct Fixture : ::testing::Test {
  TempDir tmp{::testing::UnitTest::GetInstance()->current_test_info()->name()};
  Log log;
  Tensor x = testing::input_x();
  void SetUp() override { testing::write_models(tmp.path / "models"); }
  NodeOptions options() {
    NodeOptions o;
    o.models_dir = tmp.str("models");
    o.log = log.fn();
    return o;
  }
};

TEST_F(Fixture, ServesAModelLikeALocalSession) {
  auto node = start_node(options());
  Client c = connect(node->endpoint());
  auto r = c.infer("stage1", {{"X", x.view()}});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  const auto want = testing::run_local(tmp.path / "models", {"stage1"}, x.clone());
  ASSERT_EQ(r->tensors.size(), 1u);
  EXPECT_EQ(r->tensors[0].name, "Y");
  expect_same(r->tensors[0], want[0]);
  ASSERT_EQ(r->header.hops_size(), 1);
  const auto& hop = r->header.hops(0);
  EXPECT_EQ(hop.node(), node->endpoint());
  EXPECT_LE(hop.recv_ns(), hop.run_start_ns());
  EXPECT_LE(hop.run_start_ns(), hop.run_end_ns());
  EXPECT_LE(hop.run_end_ns(), hop.send_ns());
}

TEST_F(Fixture, ReadsInputsFromAClientsSharedMemoryLikeFrames) {
  auto node = start_node(options());
  ClientOptions o;
  o.address = node->endpoint();
  o.shm_bytes = x.nbytes() + 64;
  auto c = Client::connect(o);
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  auto in = c->shm_tensor(x.dtype(), x.shape());
  ASSERT_TRUE(in.is_ok()) << in.status().to_string();
  std::memcpy(in->data, x.data(), x.nbytes());
  const auto want = testing::run_local(tmp.path / "models", {"stage1"}, x.clone());
  auto r = c->infer("stage1", {{"X", *in}});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  expect_same(r->tensors[0], want[0]);
  // The node reads the segment as it is now: a second input written in place is the one run.
  Tensor x2 = x.clone();
  for (int64_t i = 0; i < x2.numel(); ++i) x2.as<float>()[i] = 0.5f - x2.as<float>()[i];
  std::memcpy(in->data, x2.data(), x2.nbytes());
  auto r2 = c->infer("stage1", {{"X", *in}});
  ASSERT_TRUE(r2.is_ok()) << r2.status().to_string();
  expect_same(r2->tensors[0], testing::run_local(tmp.path / "models", {"stage1"}, x2.clone())[0]);
  // More than the segment holds: a clear error, nothing sent.
  auto full = c->shm_tensor(DType::f32, Shape{1 << 20});
  ASSERT_FALSE(full.is_ok());
  EXPECT_NE(full.status().message().find("shared memory segment"), std::string::npos) << full.status().to_string();

  // A node told not to accept them answers with an error naming the tensor.
  NodeOptions no = options();
  no.accept_shm = false;
  auto closed = start_node(no);
  o.address = closed->endpoint();
  o.shm_bytes = x.nbytes();
  auto c2 = Client::connect(o);
  ASSERT_TRUE(c2.is_ok());
  auto in2 = c2->shm_tensor(x.dtype(), x.shape());
  ASSERT_TRUE(in2.is_ok());
  EXPECT_FALSE(c2->status()->accepts_shm());
  EXPECT_TRUE(c->status()->accepts_shm());
  auto refused = c2->infer("stage1", {{"X", *in2}});
  ASSERT_FALSE(refused.is_ok());
  EXPECT_NE(refused.status().message().find("tensor 'X' is in the sender's shared memory"), std::string::npos)
      << refused.status().to_string();
  EXPECT_TRUE(log.wait_for("does not accept")) << log.all();
}

TEST_F(Fixture, ReportsStatusLoadsModelsAndAnswersPings) {
  auto node = start_node(options());
  Client c = connect(node->endpoint());
  ASSERT_TRUE(c.infer("stage1", {{"X", x.view()}}).is_ok());
  auto s = c.status();
  ASSERT_TRUE(s.is_ok()) << s.status().to_string();
  EXPECT_EQ(s->protocol_version(), kProtocolVersion);
  ASSERT_EQ(s->models_size(), 3);
  EXPECT_EQ(s->models(1).name(), "stage1");
  EXPECT_EQ(s->models(1).requests(), 1u);
  EXPECT_EQ(s->models(1).version().size(), 16u);
  EXPECT_EQ(s->models(1).inputs(0).name(), "X");

  auto loaded = c.load("extra", test_models::serialize(testing::head_model()));
  ASSERT_TRUE(loaded.is_ok()) << loaded.status().to_string();
  EXPECT_EQ(loaded->name(), "extra");
  auto bad = c.load("broken", "not onnx");
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("model 'broken'"), std::string::npos) << bad.status().to_string();

  auto off = c.clock_offset(4);
  ASSERT_TRUE(off.is_ok());
  EXPECT_EQ(off->samples, 4);
  EXPECT_GE(off->delay_ns, 0);
}

TEST_F(Fixture, NamesTheModelAndTensorInErrors) {
  auto node = start_node(options());
  Client c = connect(node->endpoint());
  auto r = c.infer("nope", {{"X", x.view()}});
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("model 'nope' is not served"), std::string::npos) << r.status().to_string();
  Tensor wrong(DType::f32, {1, 2, 5, 6});
  r = c.infer("stage1", {{"X", wrong.view()}});
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("input 'X': got shape 1x2x5x6"), std::string::npos) << r.status().to_string();
}

TEST_F(Fixture, SurvivesMalformedMessagesAndKeepsServing) {
  auto node = start_node(options());
  Client c = connect(node->endpoint());
  wire::Header h = make_header(wire::INFER, 9);
  h.set_model("stage1");
  auto* t = h.add_tensors();
  t->set_name("X");
  t->set_dtype(wire::F32);
  for (int64_t d : {1, 2, 5, 5}) t->add_dims(d);
  const std::vector<std::vector<std::string>> bad = {
      {"garbage"},
      {h.SerializeAsString()},                                  // a tensor frame missing
      {h.SerializeAsString(), std::string(199, '\0')},          // one byte short
      {h.SerializeAsString(), std::string(200, '\0'), "more"},  // a frame too many
  };
  // More frames than any message may have: read to the end and dropped, never stored.
  Client flood = connect(node->endpoint(), "", "", 300);
  EXPECT_FALSE(flood.send_raw(std::vector<std::string>(5000, "x")).is_ok());
  EXPECT_TRUE(log.wait_for("message of 5001 frames dropped, limit 66"));
  for (const auto& frames : bad) {
    auto reply = c.send_raw(frames);
    ASSERT_TRUE(reply.is_ok()) << reply.status().to_string();
    wire::Header e;
    ASSERT_TRUE(e.ParseFromString(reply->at(0)));
    EXPECT_EQ(e.kind(), wire::ERROR);
  }
  EXPECT_TRUE(log.has("refused a message"));
  EXPECT_TRUE(c.infer("stage1", {{"X", x.view()}}).is_ok());
}

// The wire fuzz target's seed corpus, sent to a live node: it answers or ignores each one.
TEST_F(Fixture, SurvivesTheFuzzCorpus) {
  auto node = start_node(options());
  Client c = connect(node->endpoint(), "", "", 2000);
  int sent = 0;
  for (const auto& e : std::filesystem::directory_iterator(std::string(EP_SOURCE_DIR) + "/fuzz/corpus/wire")) {
    std::ifstream f(e.path(), std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    const auto frames = fuzz::wire_frames_split(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    if (frames.empty()) continue;
    auto reply = c.send_raw(frames);
    EXPECT_TRUE(reply.is_ok()) << e.path() << ": " << reply.status().to_string();
    ++sent;
  }
  EXPECT_GT(sent, 10);
  EXPECT_TRUE(c.infer("stage1", {{"X", x.view()}}).is_ok());
}

TEST_F(Fixture, CurveAdmitsOnlyTheAllowList) {
  keygen(tmp.str("server"));
  keygen(tmp.str("client"));
  keygen(tmp.str("stranger"));
  std::filesystem::create_directories(tmp.path / "allow");
  std::filesystem::copy_file(tmp.path / "client" / "public.key", tmp.path / "allow" / "client.key");
  NodeOptions o = options();
  o.keys_dir = tmp.str("server");
  o.allow_dir = tmp.str("allow");
  auto node = start_node(o);
  ASSERT_FALSE(node->public_key().empty());

  Client ok = connect(node->endpoint(), node->public_key(), tmp.str("client"));
  auto r = ok.infer("stage1", {{"X", x.view()}});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();

  Client stranger = connect(node->endpoint(), node->public_key(), tmp.str("stranger"), 500);
  EXPECT_FALSE(stranger.infer("stage1", {{"X", x.view()}}).is_ok());
  auto stranger_key = key_read(tmp.str("stranger/public.key"));
  EXPECT_TRUE(log.wait_for("refused client key " + *stranger_key)) << "no refusal logged";

  EXPECT_TRUE(ok.infer("stage1", {{"X", x.view()}}).is_ok());  // still serving the allowed client
}

// Per-key permissions: an --allow key runs models, only an --admin key replaces them.
TEST_F(Fixture, OnlyAdminKeysMayLoadModels) {
  keygen(tmp.str("server"));
  keygen(tmp.str("client"));
  keygen(tmp.str("admin"));
  std::filesystem::create_directories(tmp.path / "allow");
  std::filesystem::create_directories(tmp.path / "admins");
  std::filesystem::copy_file(tmp.path / "client" / "public.key", tmp.path / "allow" / "client.key");
  std::filesystem::copy_file(tmp.path / "admin" / "public.key", tmp.path / "admins" / "admin.key");
  NodeOptions o = options();
  o.keys_dir = tmp.str("server");
  o.allow_dir = tmp.str("allow");
  o.admin_dir = tmp.str("admins");
  auto node = start_node(o);
  const std::string bytes = test_models::serialize(testing::stage2_model());
  Client client = connect(node->endpoint(), node->public_key(), tmp.str("client"));
  ASSERT_TRUE(client.infer("stage1", {{"X", x.view()}}).is_ok());
  auto refused = client.load("stage1", bytes);
  ASSERT_FALSE(refused.is_ok());
  auto client_key = key_read(tmp.str("client/public.key"));
  EXPECT_NE(refused.status().message().find("key " + *client_key + " may not LOAD"), std::string::npos)
      << refused.status().to_string();
  EXPECT_TRUE(log.wait_for("refused LOAD of 'stage1'")) << log.all();
  // The model was not replaced: stage1 still takes X 1x2x5x5.
  ASSERT_TRUE(client.infer("stage1", {{"X", x.view()}}).is_ok());
  Client admin = connect(node->endpoint(), node->public_key(), tmp.str("admin"));
  auto loaded = admin.load("extra", bytes);
  ASSERT_TRUE(loaded.is_ok()) << loaded.status().to_string();
  EXPECT_EQ(loaded->name(), "extra");

  NodeOptions closed = options();
  closed.refuse_load = true;
  auto node2 = start_node(closed);
  Client c2 = connect(node2->endpoint());
  auto no = c2.load("extra", bytes);
  ASSERT_FALSE(no.is_ok());
  EXPECT_NE(no.status().message().find("LOAD is disabled"), std::string::npos) << no.status().to_string();
}

// Checkpoint: a LOADed model is served again after a restart, verified against its version;
// a changed file stops the start with an error naming it.
TEST_F(Fixture, RestartedNodeServesItsLoadedModelsFromTheCheckpoint) {
  NodeOptions o = options();
  o.state_dir = tmp.str("state");
  const std::string bytes = test_models::serialize(testing::stage2_model());
  std::string version;
  {
    auto node = start_node(o);
    Client c = connect(node->endpoint());
    auto info = c.load("extra", bytes);
    ASSERT_TRUE(info.is_ok()) << info.status().to_string();
    version = info->version();
  }
  auto node = start_node(o);
  Client c = connect(node->endpoint());
  auto st = c.status();
  ASSERT_TRUE(st.is_ok());
  std::string restored;
  for (const auto& m : st->models())
    if (m.name() == "extra") restored = m.version();
  EXPECT_EQ(restored, version);
  EXPECT_TRUE(log.has("restored model 'extra' version " + version)) << log.all();
  const Tensor y = testing::run_local(tmp.path / "models", {"stage1"}, x.clone())[0].clone();
  const std::vector<Tensor> want = testing::run_local(tmp.path / "models", {"stage2"}, y.clone());
  auto r = c.infer("extra", {{"Y", y.view()}});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  expect_same(r->tensors[0], want[0]);
  node->stop();
  // One byte changed on disk: refused before anything is served.
  std::filesystem::path file;
  for (const auto& e : std::filesystem::directory_iterator(tmp.path / "state" / "models")) file = e.path();
  {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(10);
    f.put('\x7f');
  }
  auto bad = Node::start(o);
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("corrupt or changed on disk"), std::string::npos) << bad.status().to_string();
  EXPECT_NE(bad.status().message().find(file.string()), std::string::npos) << bad.status().to_string();
  std::ofstream(tmp.path / "state" / "manifest.json") << "{\"models\": 3}";
  auto garbage = Node::start(o);
  ASSERT_FALSE(garbage.is_ok());
  EXPECT_NE(garbage.status().message().find("not a checkpoint manifest"), std::string::npos) << garbage.status().to_string();
}

// Watchdog: the loop stalls (here in a log callback) longer than the limit: on_stall runs.
TEST_F(Fixture, WatchdogReportsAStalledLoop) {
  NodeOptions o = options();
  o.watchdog_ms = 100;
  std::atomic<int64_t> stalled{0};
  o.on_stall = [&](int64_t ms) { stalled = ms; };
  o.log = [&](const std::string& line) {
    if (line.find("refused a message") != std::string::npos) std::this_thread::sleep_for(std::chrono::milliseconds(400));
  };
  auto node = start_node(o);
  Client c = connect(node->endpoint(), "", "", 3000);
  EXPECT_EQ(stalled.load(), 0);
  auto r = c.send_raw({"not a header"});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();  // answered, after the stall
  EXPECT_GT(stalled.load(), 100);
  ASSERT_TRUE(c.infer("stage1", {{"X", x.view()}}).is_ok());  // and serving again
}

// The default on a stall: exit with status 70 for the supervisor.
// A plain TEST: the child process exits from inside, so it must own no temporary folder.
TEST(NodeWatchdog, ExitsWithStatus70ByDefault) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        NodeOptions o;
        o.watchdog_ms = 50;
        o.log = [](const std::string& line) {
          if (line.find("refused a message") != std::string::npos) std::this_thread::sleep_for(std::chrono::milliseconds(2000));
          else std::fprintf(stderr, "%s\n", line.c_str());
        };
        auto node = Node::start(o);
        if (!node.is_ok()) std::exit(1);
        ClientOptions co;
        co.address = (*node)->endpoint();
        co.timeout_ms = 3000;
        auto c = Client::connect(co);
        (void)c->send_raw({"not a header"});
        std::exit(0);
      },
      ::testing::ExitedWithCode(70), "watchdog: the loop has not run for");
}

TEST_F(Fixture, CurveRefusesAClientWithoutAKeyAndLogsIt) {
  keygen(tmp.str("server"));
  std::filesystem::create_directories(tmp.path / "allow");
  NodeOptions o = options();
  o.keys_dir = tmp.str("server");
  o.allow_dir = tmp.str("allow");
  auto node = start_node(o);
  Client plain = connect(node->endpoint(), "", "", 500);  // no CURVE at all
  EXPECT_FALSE(plain.infer("stage1", {{"X", x.view()}}).is_ok());
  // Which side notices the mechanism mismatch first is a race: the node logs either the
  // mismatch or the client hanging up mid-handshake, both as a refused connection.
  EXPECT_TRUE(log.wait_for("refused a connection on " + node->endpoint())) << "no refusal logged: " << log.all();
}

TEST_F(Fixture, RefusesPlaintextOffTheMachineAndKeysWithoutAnAllowList) {
  NodeOptions o = options();
  o.bind = "tcp://0.0.0.0:*";
  auto n = Node::start(o);
  ASSERT_FALSE(n.is_ok());
  EXPECT_NE(n.status().message().find("CURVE is required"), std::string::npos) << n.status().to_string();
  keygen(tmp.str("server"));
  o.keys_dir = tmp.str("server");
  n = Node::start(o);
  ASSERT_FALSE(n.is_ok());
  EXPECT_NE(n.status().message().find("--allow"), std::string::npos) << n.status().to_string();
}

TEST_F(Fixture, ForwardsAlongTheRouteAndMatchesOneProcess) {
  auto b = start_node(options());
  auto a = start_node(options());
  Client c = connect(a->endpoint());
  wire::Hop hop;
  hop.set_address(b->endpoint());
  hop.set_model("stage2");
  auto r = c.infer("stage1", {{"X", x.view()}}, {hop});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  const auto want = testing::run_local(tmp.path / "models", {"stage1", "stage2"}, x.clone());
  ASSERT_EQ(r->tensors.size(), 1u);
  EXPECT_EQ(r->tensors[0].name, "Z");
  expect_same(r->tensors[0], want[0]);
  ASSERT_EQ(r->header.hops_size(), 2);
  EXPECT_EQ(r->header.hops(0).node(), a->endpoint());
  EXPECT_EQ(r->header.hops(1).node(), b->endpoint());
  EXPECT_EQ(r->header.hops(1).model(), "stage2");

  // Feature extractor on A, a head whose input has another name on B (matched by position).
  hop.set_model("head");
  r = c.infer("stage1", {{"X", x.view()}}, {hop});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  expect_same(r->tensors[0], testing::run_local(tmp.path / "models", {"stage1", "head"}, x.clone())[0]);
  // A's pings to B came back before B's reply, so B's stamp carries its clock offset.
  EXPECT_TRUE(r->header.hops(1).clock_offset_known());
}

TEST_F(Fixture, ForwardsOverCurveWhenTheNextNodeAllowsThisOne) {
  keygen(tmp.str("a"));
  keygen(tmp.str("b"));
  keygen(tmp.str("client"));
  std::filesystem::create_directories(tmp.path / "allow_a");
  std::filesystem::create_directories(tmp.path / "allow_b");
  std::filesystem::copy_file(tmp.path / "client/public.key", tmp.path / "allow_a/client.key");
  std::filesystem::copy_file(tmp.path / "a/public.key", tmp.path / "allow_b/a.key");
  NodeOptions ob = options(), oa = options();
  ob.keys_dir = tmp.str("b"), ob.allow_dir = tmp.str("allow_b");
  oa.keys_dir = tmp.str("a"), oa.allow_dir = tmp.str("allow_a");
  auto b = start_node(ob);
  auto a = start_node(oa);
  Client c = connect(a->endpoint(), a->public_key(), tmp.str("client"));
  wire::Hop hop;
  hop.set_address(b->endpoint());
  hop.set_model("stage2");
  hop.set_server_key(b->public_key());
  auto r = c.infer("stage1", {{"X", x.view()}}, {hop});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  expect_same(r->tensors[0], testing::run_local(tmp.path / "models", {"stage1", "stage2"}, x.clone())[0]);
}

TEST_F(Fixture, AnswersWithAnErrorWhenTheNextHopIsSilent) {
  NodeOptions o = options();
  o.forward_timeout_ms = 200;
  auto a = start_node(o);
  auto gone = start_node(options());
  const std::string dead = gone->endpoint();
  gone->stop();
  Client c = connect(a->endpoint());
  wire::Hop hop;
  hop.set_address(dead);
  hop.set_model("stage2");
  auto r = c.infer("stage1", {{"X", x.view()}}, {hop});
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("did not answer in 200 ms"), std::string::npos) << r.status().to_string();
  hop.set_address("tcp://192.0.2.1:5555");  // off the machine, and no server key
  r = c.infer("stage1", {{"X", x.view()}}, {hop});
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("server_key"), std::string::npos) << r.status().to_string();
}

TEST_F(Fixture, LinkEmulatorDelaysAndDrops) {
  auto node = start_node(options());
  LinkParams up, down;
  up.delay_ns = down.delay_ns = 20'000'000;
  auto link = LinkEmulator::start("tcp://127.0.0.1:*", node->endpoint(), up, down);
  ASSERT_TRUE(link.is_ok()) << link.status().to_string();
  Client c = connect((*link)->endpoint());
  auto r = c.infer("stage1", {{"X", x.view()}});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  expect_same(r->tensors[0], testing::run_local(tmp.path / "models", {"stage1"}, x.clone())[0]);
  // A lower bound only (a slow machine can be slower, never faster): both directions' delay.
  EXPECT_GE(r->recv_ns - r->send_ns, 40'000'000);
  EXPECT_EQ((*link)->counters().forwarded, 2u);

  LinkParams lossy;
  lossy.loss = 1.0;
  auto dropper = LinkEmulator::start("tcp://127.0.0.1:*", node->endpoint(), lossy, {});
  ASSERT_TRUE(dropper.is_ok());
  Client lost = connect((*dropper)->endpoint(), "", "", 300);
  EXPECT_FALSE(lost.infer("stage1", {{"X", x.view()}}).is_ok());
  EXPECT_EQ((*dropper)->counters().dropped, 1u);
}

TEST_F(Fixture, StopsCleanlyAndAnswersCallersOfPendingForwards) {
  auto a = start_node(options());
  auto b = start_node(options());
  const std::string b_endpoint = b->endpoint();
  b->stop();  // A's forwards to B now wait for their deadline (10 s)
  Client c = connect(a->endpoint(), "", "", 5000);
  wire::Hop hop;
  hop.set_address(b_endpoint);
  hop.set_model("stage2");
  Result<Reply> r = internal_error("not run");
  std::thread caller([&] { r = c.infer("stage1", {{"X", x.view()}}, {hop}); });
  Client watcher = connect(a->endpoint());
  for (int i = 0; i < 500; ++i) {  // until A holds the forward
    auto s = watcher.status();
    if (s.is_ok() && s->in_flight() == 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  a->stop();
  caller.join();
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("stopped while waiting for " + b_endpoint), std::string::npos) << r.status().to_string();
  a->stop();  // idempotent
}

}  // namespace
}  // namespace ep::dist
