// A node runs each model on a worker of its own: a request for one model is answered while
// another model is still running, and a model with too many requests waiting refuses more.
#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "dist/client.h"
#include "dist/node.h"
#include "dist_models.h"

namespace ep::dist {
namespace {

using testing::TempDir;
namespace tm = ep::test_models;

// X 1x16x384x384 through four 3x3 convolutions, 16 -> 16 channels: ~2.7 GFLOP, a run of
// tens of milliseconds or more on one thread.
onnx::ModelProto slow_model() {
  onnx::ModelProto m = tm::new_model();
  tm::add_input(m, "X", {1, 16, 384, 384});
  std::string in = "X";
  for (int i = 0; i < 4; ++i) {
    const std::string w = "W" + std::to_string(i), out = i == 3 ? "Y" : "T" + std::to_string(i);
    tm::add_init(m, w, {16, 16, 3, 3});
    auto* c = tm::add_node(m, "Conv", {in, w}, {out}, "conv" + std::to_string(i));
    tm::attr_ints(c, "kernel_shape", {3, 3});
    tm::attr_ints(c, "pads", {1, 1, 1, 1});
    in = out;
  }
  tm::add_output(m, "Y", tm::TP::FLOAT, {1, 16, 384, 384});
  return m;
}

struct Served {
  TempDir tmp{"node_workers"};
  std::unique_ptr<Node> node;
  explicit Served(size_t max_queued) {
    testing::write_model(tmp.path / "slow.onnx", slow_model());
    testing::write_model(tmp.path / "fast.onnx", tm::conv_relu_model());
    NodeOptions o;
    o.models_dir = tmp.str();
    o.max_queued_per_model = max_queued;
    o.log = [](const std::string&) {};
    auto n = Node::start(o);
    EP_CHECK_MSG(n.is_ok(), n.status().to_string().c_str());
    node = std::move(n).value();
  }
  Client client() const {
    ClientOptions co;
    co.address = node->endpoint();
    co.timeout_ms = 60000;
    auto c = Client::connect(co);
    EP_CHECK(c.is_ok());
    return std::move(c).value();
  }
};

Tensor big_input() {
  Tensor x(DType::f32, Shape{1, 16, 384, 384});
  for (int64_t i = 0; i < x.numel(); ++i) x.as<float>()[i] = static_cast<float>(i % 13) * 0.1f;
  return x;
}

TEST(NodeWorkers, AnotherModelIsServedWhileOneRuns) {
  Served s(64);
  const Tensor x = big_input();
  // The first call creates the slow model's session; the timed one runs in a thread.
  Client warm = s.client();
  ASSERT_TRUE(warm.infer("slow", {{"X", x.view()}}).is_ok());
  auto slow = std::async(std::launch::async, [&] {
    Client c = s.client();
    return c.infer("slow", {{"X", x.view()}});
  });
  // Wait until the node has started the slow run, then ask for the fast model.
  Client c = s.client();
  const Tensor small = testing::input_x();
  for (int i = 0; i < 500; ++i) {
    auto st = c.status();
    ASSERT_TRUE(st.is_ok());
    uint32_t slow_now = 0;
    for (const auto& m : st->models()) slow_now += m.name() == "slow" ? m.in_progress() : 0;
    if (slow_now >= 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  auto fast = c.infer("fast", {{"X", small.view()}});
  ASSERT_TRUE(fast.is_ok()) << fast.status().to_string();
  auto slow_reply = slow.get();
  ASSERT_TRUE(slow_reply.is_ok()) << slow_reply.status().to_string();
  const auto& fs = fast->header.hops(0);
  const auto& ss = slow_reply->header.hops(0);
  // Both stamps are in the node's clock. The node had the slow request before the fast one
  // arrived; one worker for all models would have finished the slow run first.
  EXPECT_LT(fs.run_end_ns(), ss.run_end_ns()) << "fast run ended " << (fs.run_end_ns() - ss.run_end_ns()) / 1e6
                                              << " ms after the slow one";
}

TEST(NodeWorkers, AModelWithTooManyWaitingRefusesMore) {
  Served s(1);
  const Tensor x = big_input();
  Client warm = s.client();
  ASSERT_TRUE(warm.infer("slow", {{"X", x.view()}}).is_ok());
  std::vector<std::future<Result<Reply>>> calls;
  for (int i = 0; i < 4; ++i)
    calls.push_back(std::async(std::launch::async, [&] {
      Client c = s.client();
      return c.infer("slow", {{"X", x.view()}});
    }));
  int ok = 0, refused = 0;
  for (auto& f : calls) {
    auto r = f.get();
    if (r.is_ok()) {
      ++ok;
    } else {
      EXPECT_EQ(r.status().code(), StatusCode::resource_exhausted) << r.status().to_string();
      EXPECT_NE(r.status().message().find("model 'slow' has 1 requests queued"), std::string::npos) << r.status().to_string();
      ++refused;
    }
  }
  EXPECT_GE(ok, 1);
  EXPECT_GE(refused, 1);
  // Refusals are counted as errors in the status.
  auto st = warm.status();
  ASSERT_TRUE(st.is_ok());
  EXPECT_GE(st->errors(), static_cast<uint64_t>(refused));
}

}  // namespace
}  // namespace ep::dist
