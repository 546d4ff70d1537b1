// The balancer over redundant nodes in this process: frames spread over the nodes and equal
// the local model's outputs; a node stopped mid-stream is declared dead within the heartbeat
// timeout and its frames are answered by another; with every node gone a frame is reported
// lost with its id, and a node started again on the same address serves again.
#include <gtest/gtest.h>

#include <condition_variable>
#include <cstring>
#include <mutex>
#include <set>
#include <thread>

#include "dist/balancer.h"
#include "dist/node.h"
#include "dist_models.h"

namespace ep::dist {
namespace {

using testing::TempDir;

struct Outcomes {
  std::mutex mu;
  std::condition_variable cv;
  std::map<uint64_t, FrameOutcome> by_id;
  Balancer::Done fn() {
    return [this](FrameOutcome&& o) {
      std::lock_guard<std::mutex> lock(mu);
      EXPECT_EQ(by_id.count(o.id), 0u) << "frame " << o.id << " reported twice";
      by_id.emplace(o.id, std::move(o));
      cv.notify_all();
    };
  }
  bool wait_for(size_t n, int ms = 10000) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, std::chrono::milliseconds(ms), [&] { return by_id.size() >= n; });
  }
};

std::unique_ptr<Node> start_node(const std::string& models, const std::string& bind = "tcp://127.0.0.1:*") {
  NodeOptions o;
  o.bind = bind;
  o.models_dir = models;
  o.log = [](const std::string&) {};
  auto n = Node::start(o);
  EP_CHECK_MSG(n.is_ok(), n.status().to_string().c_str());
  return std::move(n).value();
}

// Sanitizer builds run everything several times slower: heartbeats stretch with them.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr int kSlow = 10;
#else
constexpr int kSlow = 1;
#endif

BalancerOptions options(const std::vector<std::string>& addresses) {
  BalancerOptions o;
  o.addresses = addresses;
  o.model = "stage1";
  o.heartbeat_ms = 20 * kSlow;
  o.heartbeat_timeout_ms = 100 * kSlow;
  o.deadline_ms = 2000 * kSlow;
  return o;
}

bool wait_alive(const Balancer& b, size_t n) {
  for (int i = 0; i < 500 * kSlow && b.alive() < n; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  return b.alive() >= n;
}

TEST(Balancer, SpreadsFramesAndMovesThoseOfAStoppedNode) {
  TempDir tmp("balancer_spread");
  testing::write_models(tmp.path);
  const Tensor x = testing::input_x();
  const std::vector<Tensor> want = testing::run_local(tmp.path, {"stage1"}, x.clone());
  std::vector<std::unique_ptr<Node>> nodes;
  std::vector<std::string> addresses;
  for (int i = 0; i < 3; ++i) {
    nodes.push_back(start_node(tmp.str()));
    addresses.push_back(nodes.back()->endpoint());
  }
  Outcomes out;
  auto b = Balancer::start(options(addresses), out.fn());
  ASSERT_TRUE(b.is_ok()) << b.status().to_string();
  ASSERT_TRUE(wait_alive(**b, 3));
  const int frames = 90;
  for (int i = 0; i < frames; ++i) {
    if (i == 30) nodes[1]->stop();  // silent from now on
    (*b)->submit(static_cast<uint64_t>(i), {{"X", x.view()}});
    std::this_thread::sleep_for(std::chrono::milliseconds(3));
  }
  ASSERT_TRUE(out.wait_for(frames, 10000 * kSlow));
  std::set<std::string> answered_by;
  for (auto& [id, o] : out.by_id) {
    ASSERT_TRUE(o.status.is_ok()) << "frame " << id << ": " << o.status.to_string();
    answered_by.insert(o.node);
    ASSERT_EQ(o.reply.tensors.size(), 1u);
    ASSERT_EQ(o.reply.tensors[0].view.shape, want[0].shape());
    EXPECT_EQ(std::memcmp(o.reply.tensors[0].view.data, want[0].data(), want[0].nbytes()), 0) << "frame " << id;
  }
  EXPECT_EQ(answered_by.size(), 3u);  // every node served some, the stopped one before it stopped
  bool death = false;
  for (const NodeEvent& e : (*b)->events())
    if (!e.alive && e.node == addresses[1]) {
      death = true;
      EXPECT_GE(e.silent_ns, int64_t{100'000'000} * kSlow);  // not before the timeout
      EXPECT_LT(e.silent_ns, int64_t{400'000'000} * kSlow);  // and soon after it
    }
  EXPECT_TRUE(death) << "the stopped node was never declared dead";
  EXPECT_EQ((*b)->alive(), 2u);
}

TEST(Balancer, WithEveryNodeGoneFramesAreReportedLostAndANodeComingBackServes) {
  TempDir tmp("balancer_gone");
  testing::write_models(tmp.path);
  const Tensor x = testing::input_x();
  auto node = start_node(tmp.str());
  const std::string address = node->endpoint();
  Outcomes out;
  BalancerOptions o = options({address});
  o.deadline_ms = 1500 * kSlow;
  auto b = Balancer::start(o, out.fn());
  ASSERT_TRUE(b.is_ok());
  ASSERT_TRUE(wait_alive(**b, 1));
  (*b)->submit(0, {{"X", x.view()}});
  ASSERT_TRUE(out.wait_for(1));
  EXPECT_TRUE(out.by_id.at(0).status.is_ok());
  node->stop();
  for (int i = 0; i < 200 * kSlow && (*b)->alive() > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  ASSERT_EQ((*b)->alive(), 0u);
  // Queued with no node: lost at the deadline, reported with its id.
  const auto t0 = std::chrono::steady_clock::now();
  (*b)->submit(1, {{"X", x.view()}});
  ASSERT_TRUE(out.wait_for(2, 5000 * kSlow));
  const FrameOutcome& lost = out.by_id.at(1);
  EXPECT_FALSE(lost.status.is_ok());
  EXPECT_NE(lost.status.message().find("no node alive"), std::string::npos) << lost.status.to_string();
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(1400 * kSlow));
  // The node back on the same address: found by the heartbeat, serving again.
  auto again = start_node(tmp.str(), address);
  ASSERT_TRUE(wait_alive(**b, 1));
  (*b)->submit(2, {{"X", x.view()}});
  ASSERT_TRUE(out.wait_for(3));
  EXPECT_TRUE(out.by_id.at(2).status.is_ok()) << out.by_id.at(2).status.to_string();
  // Stopping the balancer reports what it still held.
  (*b)->submit(3, {{"X", x.view()}});
  again->stop();
  (*b)->stop();
  ASSERT_TRUE(out.wait_for(4, 100));
}

TEST(Balancer, RefusesBadOptions) {
  Outcomes out;
  BalancerOptions o = options({});
  EXPECT_FALSE(Balancer::start(o, out.fn()).is_ok());
  o = options({"tcp://127.0.0.1:9"});
  o.heartbeat_timeout_ms = o.heartbeat_ms;
  auto b = Balancer::start(o, out.fn());
  ASSERT_FALSE(b.is_ok());
  EXPECT_NE(b.status().message().find("must exceed the interval"), std::string::npos);
}

}  // namespace
}  // namespace ep::dist
