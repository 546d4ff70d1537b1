// Weight deltas (delta.h) and gossip (gossip.h): round trips, exact application, every kind
// of bad delta refused with an error naming the place, version vectors, and 4 nodes in this
// process converging by gossip to the outputs of the new model run locally.
#include <gtest/gtest.h>
#include <sodium.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <fstream>
#include <iterator>
#include <thread>

#include "dist/client.h"
#include "dist/delta.h"
#include "dist/gossip.h"
#include "dist/node.h"
#include "gossip_models.h"
#include "onnx/weights.h"

namespace ep::dist {
namespace {

using testing::TempDir;

std::string bytes_of(const onnx::ModelProto& m) { return ep::test_models::serialize(m); }
std::span<const uint8_t> span_of(const std::string& s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

wire::ModelDelta make(const std::string& from, const std::string& to, uint64_t seq = 1, size_t top_k = 0,
                      DeltaMakeStats* stats = nullptr, const std::string& origin = "trainer") {
  DeltaMakeOptions o;
  o.model = "m";
  o.origin = origin;
  o.seq = seq;
  o.top_k = top_k;
  auto d = delta_make(from, to, o, stats);
  EP_CHECK_MSG(d.is_ok(), d.status().to_string().c_str());
  return *d;
}

std::vector<float> weights(const std::string& bytes) {
  auto inits = onnx_weights::read_f32(bytes, "test");
  EP_CHECK(inits.is_ok());
  std::vector<float> all;
  for (const auto& i : *inits) all.insert(all.end(), i.values.begin(), i.values.end());
  return all;
}

// The message of a decode or apply error, for the "names the place" checks.
template <typename T>
std::string error_of(const Result<T>& r) {
  return r.is_ok() ? std::string("(no error)") : r.status().message();
}

struct DeltaTest : ::testing::Test {
  const std::string base = bytes_of(testing::gossip_base_model());
  const std::string next = bytes_of(testing::changed_weights(testing::gossip_base_model(), 1, 12));
};

TEST_F(DeltaTest, RoundTripsThroughTheEnvelope) {
  const wire::ModelDelta d = make(base, next, 3);
  EXPECT_EQ(d.model(), "m");
  EXPECT_EQ(d.origin(), "trainer");
  EXPECT_EQ(d.seq(), 3u);
  EXPECT_EQ(d.base_version(), model_version(base.data(), base.size()));
  const std::string env = delta_encode(d);
  auto back = delta_decode(span_of(env));
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  EXPECT_EQ(back->body.SerializeAsString(), d.SerializeAsString());
  EXPECT_EQ(*back->envelope, env);
  EXPECT_EQ(back->id.size(), 16u);
}

TEST_F(DeltaTest, ExactDeltaGivesTheNewModelsWeightsAndVersion) {
  DeltaMakeStats st;
  const wire::ModelDelta d = make(base, next, 1, 0, &st);
  EXPECT_TRUE(st.exact());
  EXPECT_GT(st.changed, 0u);
  auto out = delta_apply(base, d);
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  EXPECT_EQ(weights(*out), weights(next));
  // Serialized by the same protobuf as the new model: the very same bytes.
  EXPECT_EQ(model_version(out->data(), out->size()), model_version(next.data(), next.size()));
  EXPECT_EQ(d.result_version(), model_version(next.data(), next.size()));
}

TEST_F(DeltaTest, TopKKeepsTheLargestChangesOverAllInitializers) {
  const std::vector<float> a = weights(base), b = weights(next);
  std::vector<std::pair<double, size_t>> changes;  // the oracle: every change, largest first
  for (size_t i = 0; i < a.size(); ++i)
    if (std::memcmp(&a[i], &b[i], 4) != 0) changes.push_back({std::fabs(double{b[i]} - double{a[i]}), i});
  std::stable_sort(changes.begin(), changes.end(), [](auto& x, auto& y) { return x.first > y.first; });
  ASSERT_GE(changes.size(), 4u);
  DeltaMakeStats st;
  const wire::ModelDelta d = make(base, next, 1, 3, &st);
  EXPECT_EQ(st.kept, 3u);
  EXPECT_EQ(st.changed, changes.size());
  EXPECT_FALSE(st.exact());
  EXPECT_DOUBLE_EQ(st.largest_dropped, changes[3].first);
  auto out = delta_apply(base, d);
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  std::vector<float> want = a;
  for (size_t k = 0; k < 3; ++k) want[changes[k].second] = b[changes[k].second];
  EXPECT_EQ(weights(*out), want);
  EXPECT_EQ(model_version(out->data(), out->size()), d.result_version());
}

TEST_F(DeltaTest, CorruptPayloadOrChecksumIsRejectedBeforeParsing) {
  const std::string env = delta_encode(make(base, next));
  wire::DeltaEnvelope e;
  ASSERT_TRUE(e.ParseFromString(env));
  wire::DeltaEnvelope flipped = e;
  (*flipped.mutable_payload())[flipped.payload().size() / 2] ^= 0x10;
  EXPECT_NE(error_of(delta_decode(span_of(flipped.SerializeAsString()))).find("checksum mismatch"), std::string::npos);
  wire::DeltaEnvelope bad_sum = e;
  (*bad_sum.mutable_sha256())[0] ^= 1;
  EXPECT_NE(error_of(delta_decode(span_of(bad_sum.SerializeAsString()))).find("checksum mismatch"), std::string::npos);
  wire::DeltaEnvelope short_sum = e;
  short_sum.mutable_sha256()->resize(31);
  EXPECT_NE(error_of(delta_decode(span_of(short_sum.SerializeAsString()))).find("sha256 has 31 bytes"), std::string::npos);
  // Every single flipped byte of the file is caught (by the parser or the checksum).
  for (size_t i = 0; i < env.size(); ++i) {
    std::string c = env;
    c[i] ^= 0x04;
    EXPECT_FALSE(delta_decode(span_of(c)).is_ok()) << "byte " << i;
  }
  // A valid checksum over bytes that are not a ModelDelta.
  wire::DeltaEnvelope junk;
  junk.set_payload("\xff\xff\xff");
  unsigned char h[32];
  crypto_hash_sha256(h, reinterpret_cast<const unsigned char*>(junk.payload().data()), junk.payload().size());
  junk.set_sha256(std::string(reinterpret_cast<char*>(h), 32));
  EXPECT_NE(error_of(delta_decode(span_of(junk.SerializeAsString()))).find("not a ModelDelta"), std::string::npos);
  DeltaLimits small;
  small.max_bytes = 10;
  EXPECT_NE(error_of(delta_decode(span_of(env), small)).find("limit 10"), std::string::npos);
}

TEST_F(DeltaTest, BadFieldsAreRejectedNamingTheField) {
  const wire::ModelDelta good = make(base, next);
  auto decode_with = [&](auto change) {
    wire::ModelDelta d = good;
    change(d);
    return error_of(delta_decode(span_of(delta_encode(d))));
  };
  EXPECT_NE(decode_with([](auto& d) { d.mutable_patches(0)->set_indices(0, d.patches(0).elements()); }).find(
                "patches[0] (initializer 'W').indices[0] = 72 is out of range (72 elements)"),
            std::string::npos);
  EXPECT_NE(decode_with([](auto& d) { d.mutable_patches(0)->set_values(0, NAN); }).find("initializer 'W').values[0] is not finite"),
            std::string::npos);
  EXPECT_NE(decode_with([](auto& d) { d.mutable_patches(0)->set_values(0, INFINITY); }).find("not finite"), std::string::npos);
  EXPECT_NE(decode_with([](auto& d) { d.mutable_patches(0)->add_indices(0); }).find("indices but"), std::string::npos);
  EXPECT_NE(decode_with([](auto& d) { d.set_base_version("xyz"); }).find("base_version is not 16 hex digits"), std::string::npos);
  EXPECT_NE(decode_with([](auto& d) { d.set_seq(0); }).find("seq is 0"), std::string::npos);
  EXPECT_NE(decode_with([](auto& d) { d.set_origin(""); }).find("delta origin is empty"), std::string::npos);
  EXPECT_NE(decode_with([](auto& d) { *d.add_patches() = d.patches(0); }).find("patched twice"), std::string::npos);
  EXPECT_NE(decode_with([](auto& d) {
              auto* p = d.mutable_patches(0);
              if (p->indices_size() < 2) p->add_indices(p->indices(0) + 1), p->add_values(1);
              p->set_indices(1, p->indices(0));
            }).find("does not increase"),
            std::string::npos);
}

TEST_F(DeltaTest, ApplyChecksBaseVersionModelAndResultVersion) {
  const wire::ModelDelta d = make(base, next);
  // Wrong base: the delta applied to the new model (the version it would give).
  EXPECT_NE(error_of(delta_apply(next, d)).find("is at version " + model_version(next.data(), next.size()) + ", not the delta's base"),
            std::string::npos);
  wire::ModelDelta wrong_count = d;
  wrong_count.mutable_patches(0)->set_elements(1000);
  EXPECT_NE(error_of(delta_apply(base, wrong_count)).find("initializer 'W': has 72 elements, the delta says 1000"), std::string::npos);
  wire::ModelDelta missing = d;
  missing.mutable_patches(0)->set_initializer("W_gone");
  EXPECT_NE(error_of(delta_apply(base, missing)).find("initializer 'W_gone': the model has no such initializer"), std::string::npos);
  wire::ModelDelta wrong_result = d;
  wrong_result.set_result_version("0123456789abcdef");
  EXPECT_NE(error_of(delta_apply(base, wrong_result)).find("not the delta's result version"), std::string::npos);
}

TEST(Weights, OnlyF32InitializersArePatchedAndOnlyValuesMayDiffer) {
  onnx::ModelProto m = testing::gossip_base_model();
  ep::test_models::add_init_i64(m, "shape", {1, 4});
  const std::string bytes = ep::test_models::serialize(m);
  const uint64_t idx[] = {0};
  const float val[] = {1.f};
  auto r = onnx_weights::patch_f32(bytes, {{"shape", 2, idx, val}}, "model 'm'");
  EXPECT_NE(error_of(r).find("model 'm' initializer 'shape': ONNX type 7; only f32 (1) is patched"), std::string::npos);
  onnx::ModelProto other = testing::gossip_base_model();
  other.mutable_graph()->mutable_node(1)->set_op_type("Sigmoid");
  Status st = onnx_weights::check_same_but_f32_values(ep::test_models::serialize(testing::gossip_base_model()), ep::test_models::serialize(other), "model 'm'");
  EXPECT_NE(st.message().find("the graphs differ"), std::string::npos) << st.to_string();
}

// ---- Gossip state in one process (fake clock, no sockets) ----

struct GossipState : ::testing::Test {
  std::string v[4];
  wire::ModelDelta d[4];  // d[k]: v[k-1] -> v[k], seq k
  int64_t t = 1'000'000'000;
  ModelHost host{1, size_t{1} << 30, [this] { return t; }};
  std::vector<std::string> log;
  std::unique_ptr<Gossip> g;

  void SetUp() override {
    onnx::ModelProto m = testing::gossip_base_model();
    v[0] = bytes_of(m);
    for (int k = 1; k < 4; ++k) {
      m = testing::changed_weights(m, static_cast<uint64_t>(k), 12);
      v[k] = bytes_of(m);
      d[k] = make(v[k - 1], v[k], static_cast<uint64_t>(k));
    }
    host.set_keep_bytes(true);
    ASSERT_TRUE(host.load_bytes("m", v[0].data(), v[0].size()).is_ok());
    GossipOptions o;
    o.node_id = "n0";
    o.peers = {"tcp://127.0.0.1:1", "tcp://127.0.0.1:2"};
    o.seed = 7;
    g = std::make_unique<Gossip>(o, host, [this](const std::string& l) { log.push_back(l); }, [this] { return t; });
  }
  std::string version() { return host.served("m")->version; }
  Gossip::Outcome receive(const wire::ModelDelta& delta) {
    const std::string env = delta_encode(delta);
    return g->receive(span_of(env), "test").outcome;
  }
  wire::GossipStatus status() {
    wire::GossipStatus s;
    g->fill_status(&s);
    return s;
  }
};

TEST_F(GossipState, AppliesInSequenceHoldsGapsAndMergesTheVersionVector) {
  EXPECT_EQ(receive(d[2]), Gossip::Outcome::held);  // #1 not here yet
  EXPECT_EQ(version(), model_version(v[0].data(), v[0].size()));
  EXPECT_EQ(status().deltas_held(), 1u);
  EXPECT_EQ(receive(d[1]), Gossip::Outcome::applied);  // and #2 after it
  EXPECT_EQ(version(), model_version(v[2].data(), v[2].size()));
  EXPECT_EQ(g->seq_of("trainer"), 2u);
  EXPECT_EQ(status().deltas_applied(), 2u);
  EXPECT_EQ(status().deltas_held(), 0u);
  EXPECT_EQ(receive(d[1]), Gossip::Outcome::duplicate);
  // A second origin joins the vector; a digest lacking it gets its delta, in apply order.
  wire::ModelDelta other = make(v[2], v[3], 1, 0, nullptr, "edge-7");
  EXPECT_EQ(receive(other), Gossip::Outcome::applied);
  wire::GossipDigest mine;
  g->fill_digest(&mine);
  ASSERT_EQ(mine.versions_size(), 2);
  EXPECT_EQ(mine.versions(0).origin(), "edge-7");
  EXPECT_EQ(mine.versions(1).seq(), 2u);
  wire::GossipDigest peer;
  auto* e = peer.add_versions();
  e->set_origin("trainer");
  e->set_seq(1);
  auto missing = g->missing_for(peer);
  ASSERT_EQ(missing.size(), 2u);
  EXPECT_EQ(delta_decode(span_of(*missing[0]))->body.seq(), 2u);
  EXPECT_EQ(delta_decode(span_of(*missing[1]))->body.origin(), "edge-7");
  EXPECT_TRUE(g->missing_for(mine).empty());
}

TEST_F(GossipState, RejectsWrongBaseConflictsAndCorruptionOnceEach) {
  EXPECT_EQ(receive(d[2]), Gossip::Outcome::held);
  wire::ModelDelta stale = d[2];  // #1 by sequence, but built on v1: the model is at v0
  stale.set_seq(1);
  EXPECT_EQ(receive(stale), Gossip::Outcome::rejected);
  EXPECT_NE(status().last_rejection().find("wrong base: the model is at version " + model_version(v[0].data(), v[0].size())),
            std::string::npos);
  EXPECT_EQ(receive(stale), Gossip::Outcome::rejected);  // again: refused, counted once
  EXPECT_EQ(status().deltas_rejected(), 1u);
  EXPECT_EQ(version(), model_version(v[0].data(), v[0].size()));
  EXPECT_EQ(receive(d[1]), Gossip::Outcome::applied);
  wire::ModelDelta conflict = d[1];
  conflict.mutable_patches(0)->set_values(0, 42.f);
  EXPECT_EQ(receive(conflict), Gossip::Outcome::rejected);
  EXPECT_NE(status().last_rejection().find("conflicts with the delta"), std::string::npos);
  std::string corrupt = delta_encode(d[3]);
  corrupt[corrupt.size() / 2] ^= 0x20;
  EXPECT_EQ(g->receive(span_of(corrupt), "test").outcome, Gossip::Outcome::rejected);
  EXPECT_EQ(status().deltas_rejected(), 3u);
  // Nothing rejected is passed on.
  wire::GossipDigest empty;
  for (const auto& env : g->missing_for(empty)) EXPECT_NE(delta_decode(span_of(*env))->body.patches(0).values(0), 42.f);
  EXPECT_EQ(g->missing_for(empty).size(), 2u);  // d1, d2
}

// A node restarted from its checkpoint serves the updated model: the kept version vector (or,
// when it was not written yet, the model's own version) says which deltas it already has.
TEST_F(GossipState, ARestartedNodeKnowsWhichDeltasItsModelHas) {
  TempDir tmp("gossip_state");
  GossipOptions o = g->options();
  o.state_file = tmp.str("versions.pb");
  std::vector<std::string> saved;
  {
    Gossip first(o, host, [](const std::string&) {}, [this] { return t; });
    ASSERT_TRUE(first.load_state().is_ok());
    first.set_on_applied([&](const std::string& model, const std::string& bytes) { saved.push_back(model + " " + model_version(bytes.data(), bytes.size())); });
    ASSERT_EQ(first.receive(span_of(delta_encode(d[1])), "test").outcome, Gossip::Outcome::applied);
    ASSERT_EQ(first.receive(span_of(delta_encode(d[2])), "test").outcome, Gossip::Outcome::applied);
  }
  ASSERT_EQ(saved.size(), 2u);
  EXPECT_EQ(saved[1], "m " + model_version(v[2].data(), v[2].size()));
  // Restarted: the checkpoint serves v2, the state file says trainer #2.
  ModelHost restarted(1, size_t{1} << 30, [this] { return t; });
  restarted.set_keep_bytes(true);
  ASSERT_TRUE(restarted.load_bytes("m", v[2].data(), v[2].size()).is_ok());
  Gossip second(o, restarted, [](const std::string&) {}, [this] { return t; });
  ASSERT_TRUE(second.load_state().is_ok());
  EXPECT_EQ(second.seq_of("trainer"), 2u);
  EXPECT_EQ(second.receive(span_of(delta_encode(d[2])), "peer").outcome, Gossip::Outcome::duplicate);
  EXPECT_EQ(second.receive(span_of(delta_encode(d[3])), "peer").outcome, Gossip::Outcome::applied);
  // No state file, model at v1 (crashed after the checkpoint, before the vector was written).
  ModelHost behind(1, size_t{1} << 30, [this] { return t; });
  behind.set_keep_bytes(true);
  ASSERT_TRUE(behind.load_bytes("m", v[1].data(), v[1].size()).is_ok());
  GossipOptions fresh = g->options();
  Gossip third(fresh, behind, [](const std::string&) {}, [this] { return t; });
  EXPECT_EQ(third.receive(span_of(delta_encode(d[1])), "peer").outcome, Gossip::Outcome::applied);
  EXPECT_EQ(third.receive(span_of(delta_encode(d[2])), "peer").outcome, Gossip::Outcome::applied);
  EXPECT_EQ(behind.served("m")->version, model_version(v[2].data(), v[2].size()));
  // A malformed state file is an error naming it.
  std::ofstream(tmp.path / "bad.pb") << "\xff\xff not a digest";
  GossipOptions bad = g->options();
  bad.state_file = tmp.str("bad.pb");
  Gossip fourth(bad, behind, [](const std::string&) {}, [this] { return t; });
  Status st = fourth.load_state();
  EXPECT_NE(st.message().find("bad.pb': not a version vector"), std::string::npos) << st.to_string();
}

TEST_F(GossipState, OneRoundPerPeriodToARandomPeer) {
  int rounds = 0, to_first = 0;
  for (int ms = 0; ms < 4000; ++ms) {
    t += 1'000'000;
    if (auto p = g->round_due(t)) {
      ++rounds, to_first += *p == 0;
      g->answered(*p == 0 ? "tcp://127.0.0.1:1" : "tcp://127.0.0.1:2");
    }
  }
  EXPECT_EQ(rounds, 20);  // 4 s at 200 ms
  EXPECT_GT(to_first, 0);
  EXPECT_LT(to_first, 20);
  EXPECT_LE(g->ns_until_round(t), 200'000'000);
  EXPECT_EQ(status().rounds(), 20u);
}

TEST_F(GossipState, ASilentPeerIsAskedAgainOnlyAfterTheRetryRounds) {
  std::vector<size_t> picks;
  for (int ms = 0; ms < 6000; ++ms) {  // 30 periods
    t += 1'000'000;
    if (auto p = g->round_due(t)) {
      picks.push_back(*p);
      if (*p == 1) g->answered("tcp://127.0.0.1:2");  // peer 0 never answers
    }
  }
  const auto asked_silent = std::count(picks.begin(), picks.end(), size_t{0});
  EXPECT_GE(asked_silent, 2);  // asked, then asked again after 10 rounds
  EXPECT_LE(asked_silent, 3);  // 30 periods / 10
  EXPECT_GE(picks.size(), 29u);  // every other round went to the live peer
}

// ---- Nodes in this process over ipc:// (addresses known before they start) ----

TEST(GossipNodes, FourNodesConvergeAndMatchTheNewModelRunLocally) {
  TempDir tmp("gossip4");
  testing::write_gossip_models(tmp.path, 1);
  const std::string v1 = [&] {
    std::ifstream f(tmp.path / "v1.onnx", std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  }();
  const std::string v0 = [&] {
    std::ifstream f(tmp.path / "models" / "m.onnx", std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  }();
  std::vector<std::string> addr;
  for (int i = 0; i < 4; ++i) addr.push_back("ipc://" + tmp.str("n" + std::to_string(i) + ".sock"));
  std::vector<std::unique_ptr<Node>> nodes;
  for (int i = 0; i < 4; ++i) {
    NodeOptions o;
    o.bind = addr[static_cast<size_t>(i)];
    o.name = "n" + std::to_string(i);
    o.models_dir = tmp.str("models");
    o.log = [](const std::string&) {};
    o.gossip.period_ms = 20;
    for (int j = 0; j < 4; ++j)
      if (j != i) o.gossip.peers.push_back(addr[static_cast<size_t>(j)]);
    auto n = Node::start(o);
    ASSERT_TRUE(n.is_ok()) << n.status().to_string();
    nodes.push_back(std::move(n).value());
  }
  auto client = [&](int i, int timeout_ms = 5000) {
    ClientOptions o;
    o.address = addr[static_cast<size_t>(i)];
    o.timeout_ms = timeout_ms;
    return std::move(Client::connect(o)).value();
  };
  const wire::ModelDelta d = make(v0, v1);
  auto updated = client(2).update(delta_encode(d));
  ASSERT_TRUE(updated.is_ok()) << updated.status().to_string();
  EXPECT_EQ(updated->models(0).version(), d.result_version());
  const std::string want = model_version(v1.data(), v1.size());
  for (int i = 0; i < 4; ++i) {
    Client c = client(i);
    std::string got;
    for (int k = 0; k < 300 && got != want; ++k) {
      auto s = c.status();
      ASSERT_TRUE(s.is_ok());
      got = s->models(0).version();
      if (got != want) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_EQ(got, want) << "node n" << i;
    Tensor x = testing::input_x();
    auto r = c.infer("m", {{"X", x.view()}});
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    const auto oracle = testing::run_local(tmp.path, {"v1"}, x.clone());
    ASSERT_EQ(r->tensors[0].view.nbytes(), oracle[0].nbytes());
    EXPECT_EQ(std::memcmp(r->tensors[0].view.data, oracle[0].data(), oracle[0].nbytes()), 0) << "node n" << i;
  }
  // A corrupt delta pushed by a "peer" straight into n1's gossip: rejected, never passed on.
  std::string corrupt = delta_encode(make(v1, bytes_of(testing::changed_weights(testing::gossip_base_model(), 9, 5)), 2));
  corrupt[corrupt.size() - 40] ^= 0x01;
  wire::Header push = make_header(wire::GOSSIP_DELTAS);
  push.mutable_gossip()->set_node_id("liar");
  push.mutable_gossip()->set_deltas(1);
  (void)client(1, 200).send_raw({push.SerializeAsString(), corrupt});  // a push has no reply
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // 15 rounds
  for (int i = 0; i < 4; ++i) {
    auto s = client(i).status();
    ASSERT_TRUE(s.is_ok());
    EXPECT_EQ(s->gossip().deltas_rejected(), i == 1 ? 1u : 0u) << "node n" << i;
    EXPECT_EQ(s->gossip().deltas_applied(), 1u) << "node n" << i;
    EXPECT_EQ(s->models(0).version(), want) << "node n" << i;
    EXPECT_GT(s->gossip().rounds(), 0u);
  }
  auto st = client(1).status();
  EXPECT_NE(st->gossip().last_rejection().find("checksum mismatch"), std::string::npos) << st->gossip().last_rejection();
  // The same bytes as an UPDATE: an ERROR naming the fault.
  auto refused = client(3).update(corrupt);
  ASSERT_FALSE(refused.is_ok());
  EXPECT_NE(refused.status().message().find("checksum mismatch"), std::string::npos) << refused.status().to_string();
}

// Requests running while an UPDATE lands each see one whole model, the old or the new; the
// first request after the UPDATED reply sees the new one.
TEST(GossipNodes, AnUpdateLandsBetweenTwoFrames) {
  TempDir tmp("gossip_between");
  testing::write_gossip_models(tmp.path, 1);
  std::ifstream f0(tmp.path / "models" / "m.onnx", std::ios::binary), f1(tmp.path / "v1.onnx", std::ios::binary);
  const std::string v0((std::istreambuf_iterator<char>(f0)), std::istreambuf_iterator<char>());
  const std::string v1((std::istreambuf_iterator<char>(f1)), std::istreambuf_iterator<char>());
  std::filesystem::copy_file(tmp.path / "models" / "m.onnx", tmp.path / "v0.onnx");
  const Tensor x = testing::input_x();
  const auto old_y = testing::run_local(tmp.path, {"v0"}, x.clone());
  const auto new_y = testing::run_local(tmp.path, {"v1"}, x.clone());
  ASSERT_NE(std::memcmp(old_y[0].data(), new_y[0].data(), new_y[0].nbytes()), 0);
  NodeOptions o;
  o.models_dir = tmp.str("models");
  o.log = [](const std::string&) {};
  auto node = Node::start(o);
  ASSERT_TRUE(node.is_ok()) << node.status().to_string();
  ClientOptions co;
  co.address = (*node)->endpoint();
  std::atomic<bool> done{false};
  std::atomic<int> olds{0}, news{0}, others{0};
  std::thread runner([&] {
    Client c = std::move(Client::connect(co)).value();
    while (!done.load()) {
      auto r = c.infer("m", {{"X", x.view()}});
      if (!r.is_ok() || r->tensors[0].view.nbytes() != new_y[0].nbytes()) ++others;
      else if (std::memcmp(r->tensors[0].view.data, old_y[0].data(), old_y[0].nbytes()) == 0) ++olds;
      else if (std::memcmp(r->tensors[0].view.data, new_y[0].data(), new_y[0].nbytes()) == 0) ++news;
      else ++others;
    }
  });
  Client c = std::move(Client::connect(co)).value();
  for (int i = 0; i < 5000 && olds.load() < 20; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  auto u = c.update(delta_encode(make(v0, v1)));
  ASSERT_TRUE(u.is_ok()) << u.status().to_string();
  auto r = c.infer("m", {{"X", x.view()}});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(std::memcmp(r->tensors[0].view.data, new_y[0].data(), new_y[0].nbytes()), 0);
  const int seen = news.load();
  for (int i = 0; i < 5000 && news.load() < seen + 20; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  done = true;
  runner.join();
  EXPECT_EQ(others.load(), 0);
  EXPECT_GE(olds.load(), 20);
  EXPECT_GE(news.load(), 20);
}

TEST(GossipNodes, AnUpdatedModelAndTheVersionVectorSurviveARestartWithState) {
  TempDir tmp("gossip_restart");
  testing::write_gossip_models(tmp.path, 1);
  std::ifstream f0(tmp.path / "models" / "m.onnx", std::ios::binary), f1(tmp.path / "v1.onnx", std::ios::binary);
  const std::string v0((std::istreambuf_iterator<char>(f0)), std::istreambuf_iterator<char>());
  const std::string v1((std::istreambuf_iterator<char>(f1)), std::istreambuf_iterator<char>());
  NodeOptions o;
  o.models_dir = tmp.str("models");
  o.state_dir = tmp.str("state");
  o.log = [](const std::string&) {};
  auto status_of = [](const std::string& address) {
    ClientOptions co;
    co.address = address;
    return std::move(Client::connect(co)).value().status();
  };
  {
    auto node = Node::start(o);
    ASSERT_TRUE(node.is_ok()) << node.status().to_string();
    ClientOptions co;
    co.address = (*node)->endpoint();
    auto u = std::move(Client::connect(co)).value().update(delta_encode(make(v0, v1)));
    ASSERT_TRUE(u.is_ok()) << u.status().to_string();
  }
  auto node = Node::start(o);
  ASSERT_TRUE(node.is_ok()) << node.status().to_string();
  auto s = status_of((*node)->endpoint());
  ASSERT_TRUE(s.is_ok());
  EXPECT_EQ(s->models(0).version(), model_version(v1.data(), v1.size()));
  ASSERT_EQ(s->gossip().versions_size(), 1);
  EXPECT_EQ(s->gossip().versions(0).origin(), "trainer");
  EXPECT_EQ(s->gossip().versions(0).seq(), 1u);
}

TEST(GossipNodes, UpdatesAreRefusedLikeLoadWithNoLoad) {
  TempDir tmp("gossip_noload");
  testing::write_gossip_models(tmp.path, 1);
  NodeOptions o;
  o.models_dir = tmp.str("models");
  o.refuse_load = true;
  o.log = [](const std::string&) {};
  o.gossip.peers = {"tcp://127.0.0.1:9"};
  auto contradiction = Node::start(o);
  ASSERT_FALSE(contradiction.is_ok());
  EXPECT_NE(contradiction.status().message().find("--no-load contradict"), std::string::npos);
  o.gossip.peers.clear();
  auto node = Node::start(o);
  ASSERT_TRUE(node.is_ok()) << node.status().to_string();
  ClientOptions c;
  c.address = (*node)->endpoint();
  auto client = Client::connect(c);
  ASSERT_TRUE(client.is_ok());
  std::ifstream f0(tmp.path / "models" / "m.onnx", std::ios::binary), f1(tmp.path / "v1.onnx", std::ios::binary);
  const std::string v0((std::istreambuf_iterator<char>(f0)), std::istreambuf_iterator<char>());
  const std::string v1((std::istreambuf_iterator<char>(f1)), std::istreambuf_iterator<char>());
  auto r = client->update(delta_encode(make(v0, v1)));
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("UPDATE is disabled"), std::string::npos) << r.status().to_string();
  auto s = client->status();
  ASSERT_TRUE(s.is_ok());
  EXPECT_EQ(s->models(0).version(), model_version(v0.data(), v0.size()));
  EXPECT_FALSE(s->has_gossip());
}

}  // namespace
}  // namespace ep::dist
