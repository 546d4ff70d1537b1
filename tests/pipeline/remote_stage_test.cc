// Stages whose model runs on an edgepipe node (`node:` in the YAML): the OCR pipeline with its
// detector and recognizer on a node answers exactly as with both in this process; a node that
// does not answer is an error naming it; with a local fallback, the frames a dead node cannot
// answer are answered here, the switch logged and counted.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "dist/client.h"
#include "dist/node.h"
#include "pipeline/app.h"
#include "temp_dir.h"

namespace ep::pipeline {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

const std::string kRoot = EP_SOURCE_DIR;

// Sanitizer builds run the models several times slower (the node here is in this process):
// timeouts and heartbeats stretch with them.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr int kSlow = 10;
#else
constexpr int kSlow = 1;
#endif

bool have_ocr_models() {
  return fs::exists(kRoot + "/models/ch_PP-OCRv4_det_infer.onnx") && fs::exists(kRoot + "/models/ch_PP-OCRv4_rec_infer.onnx");
}

std::unique_ptr<dist::Node> start_node() {
  dist::NodeOptions o;
  o.log = [](const std::string&) {};
  auto n = dist::Node::start(o);
  EP_CHECK_MSG(n.is_ok(), n.status().to_string().c_str());
  return std::move(n).value();
}

// The built-in OCR pipeline on `frames` synthetic frames, block everywhere (deterministic),
// with `det_extra` / `rec_extra` YAML lines added to the det and rec stages. Its detector
// fallback switches on failures only: the built-in 250 ms budget also counts slow frames as
// misses, and a sanitizer build on a slow CPU (Zen 1) takes longer than that per frame, so
// frames went to the lighter local detector (fewer node requests, different texts).
std::string ocr_yaml(int frames, const std::string& det_extra, const std::string& rec_extra) {
  std::string y = std::string(kBuiltinPipeline);
  y.replace(y.find("duration_s: 10"), 14, "max_frames: " + std::to_string(frames));
  y.replace(y.find("depth: 1, policy: drop_oldest"), 29, "depth: 1, policy: block");
  y.replace(y.find("budget_ms: 250"), 14, "budget_ms: 600000");
  const std::string det = "    limit_side_len: 960\n", rec = "    width_step: 64\n";
  y.replace(y.find(det), det.size(), det + det_extra);
  y.replace(y.find(rec), rec.size(), rec + rec_extra);
  return y;
}

Result<RunResult> run(const TempDir& d, const std::string& name, const std::string& yaml, std::ostream& log) {
  std::ofstream(d.path / (name + ".yaml")) << yaml;
  RunOptions o;
  o.pipeline = d.str(name + ".yaml");
  o.live = false;
  o.model_dirs = {kRoot};
  o.fps = 0;
  o.duration_s = 0;
  o.output = d.str(name + ".jsonl");
  std::ostringstream out;
  return run_pipeline(o, out, log);
}

// Stops `node` once it has run `model` `n` times (polled by STATUS from another thread);
// join() before the node goes out of scope.
struct StopAfter {
  std::atomic<bool> done{false};
  std::atomic<int64_t> stopped_ns{0};  // steady clock; 0: never stopped
  std::thread thread;
  StopAfter(dist::Node& node, const std::string& model, uint64_t n) {
    thread = std::thread([this, &node, model, n, address = node.endpoint()] {
      dist::ClientOptions co;
      co.address = address;
      co.timeout_ms = 1000;
      auto c = dist::Client::connect(co);
      while (!done && c.is_ok()) {
        auto s = c->status();
        uint64_t runs = 0;
        if (s.is_ok())
          for (const auto& m : s->models()) runs += m.name() == model ? m.requests() : 0;
        if (runs >= n) {
          node.stop();
          stopped_ns = dist::steady_now_ns();
          return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    });
  }
  void join() {
    done = true;
    thread.join();
  }
};

// Frame id -> its texts and boxes, from a JSON lines file.
std::map<int64_t, nlohmann::json> texts_by_frame(const std::string& path) {
  std::map<int64_t, nlohmann::json> m;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line);
    m[j["frame"].get<int64_t>()] = j["texts"];
  }
  return m;
}

TEST(RemoteStage, OcrWithItsModelsOnANodeAnswersAsInProcess) {
  if (!have_ocr_models()) GTEST_SKIP() << "no PP-OCRv4 models (make models)";
  TempDir d("remote_ocr");
  auto node = start_node();
  std::ostringstream log;
  auto local = run(d, "local", ocr_yaml(5, "", ""), log);
  ASSERT_TRUE(local.is_ok()) << local.status().to_string();
  const std::string at = "    node: {address: " + node->endpoint() + "}\n";
  auto remote = run(d, "remote", ocr_yaml(5, at, at), log);
  ASSERT_TRUE(remote.is_ok()) << remote.status().to_string() << "\n" << log.str();
  EXPECT_EQ(remote->report.completed, 5);
  EXPECT_EQ(remote->report.dropped, 0);
  const auto want = texts_by_frame(d.str("local.jsonl")), got = texts_by_frame(d.str("remote.jsonl"));
  ASSERT_EQ(want.size(), 5u);
  EXPECT_EQ(got, want);
  size_t texts = 0;
  for (const auto& [id, t] : want) texts += t.size();
  EXPECT_GT(texts, 5u);
  // The same with the inputs through shared memory (the node is on this host).
  const std::string shm = "    node: {address: " + node->endpoint() + ", shm: true}\n";
  auto remote_shm = run(d, "remote_shm", ocr_yaml(5, shm, shm), log);
  ASSERT_TRUE(remote_shm.is_ok()) << remote_shm.status().to_string() << "\n" << log.str();
  EXPECT_EQ(remote_shm->report.completed, 5);
  EXPECT_EQ(texts_by_frame(d.str("remote_shm.jsonl")), want);
  {  // A node that does not accept shared memory: the stage fails to open, naming it.
    dist::NodeOptions no;
    no.log = [](const std::string&) {};
    no.accept_shm = false;
    auto closed = dist::Node::start(no);
    ASSERT_TRUE(closed.is_ok());
    const std::string at_closed = "    node: {address: " + (*closed)->endpoint() + ", shm: true}\n";
    auto refused = run(d, "refused_shm", ocr_yaml(1, at_closed, ""), log);
    ASSERT_FALSE(refused.is_ok());
    EXPECT_NE(refused.status().to_string().find("the node does not accept shared memory"), std::string::npos)
        << refused.status().to_string();
  }
  // Both models ran on the node, loaded there by the stages (each run LOADs them again, which
  // restarts their counts: these are the shared memory run's).
  dist::ClientOptions co;
  co.address = node->endpoint();
  auto client = dist::Client::connect(co);
  ASSERT_TRUE(client.is_ok());
  auto status = client->status();
  ASSERT_TRUE(status.is_ok()) << status.status().to_string();
  std::map<std::string, uint64_t> requests;
  for (const auto& m : status->models()) requests[m.name()] = m.requests();
  EXPECT_GE(requests["ch_PP-OCRv4_det_infer"], 5u);
  EXPECT_GE(requests["ch_PP-OCRv4_rec_infer"], texts);
}

TEST(RemoteStage, ANodeThatDoesNotAnswerIsAnErrorNamingIt) {
  if (!have_ocr_models()) GTEST_SKIP() << "no PP-OCRv4 models (make models)";
  TempDir d("remote_dead");
  std::ostringstream log;
  // Nothing listens there: the stage's LOAD at open times out.
  auto r = run(d, "dead", ocr_yaml(2, "    node: {address: tcp://127.0.0.1:9, timeout_ms: 300}\n", ""), log);
  ASSERT_FALSE(r.is_ok());
  const std::string e = r.status().to_string();
  EXPECT_NE(e.find("node tcp://127.0.0.1:9"), std::string::npos) << e;
  EXPECT_NE(e.find("no reply in 300 ms"), std::string::npos) << e;
  // A bad address is caught with the file's other errors, before anything starts.
  auto bad = run(d, "bad", ocr_yaml(2, "    node: {address: 10.0.0.2:5555}\n", ""), log);
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().to_string().find("node.address '10.0.0.2:5555'"), std::string::npos) << bad.status().to_string();
  // Shared memory only with a node on this host.
  auto far = run(d, "far", ocr_yaml(2, "    node: {address: tcp://10.0.0.2:5555, shm: true}\n", ""), log);
  ASSERT_FALSE(far.is_ok());
  EXPECT_NE(far.status().to_string().find("node.shm needs one node on this host"), std::string::npos) << far.status().to_string();
}

TEST(RemoteStage, WhenTheNodeDiesTheLocalFallbackAnswers) {
  if (!have_ocr_models()) GTEST_SKIP() << "no PP-OCRv4 models (make models)";
  TempDir d("remote_fallback");
  auto node = start_node();
  const std::string address = node->endpoint();
  StopAfter killer(*node, "ch_PP-OCRv4_det_infer", 3);  // after three detections
  std::ostringstream log;
  const std::string det = "    node: {address: " + address + ", timeout_ms: " + std::to_string(400 * kSlow) + "}\n";
  std::string yaml = ocr_yaml(10, det, "");
  // The built-in fallback: the same model here at a smaller size; switch after 2 failures.
  yaml.replace(yaml.find("misses: 3, probe_every: 20"), 26, "misses: 2, probe_every: 4");
  auto r = run(d, "fallback", yaml, log);
  killer.join();
  ASSERT_TRUE(r.is_ok()) << r.status().to_string() << "\n" << log.str();
  // Every frame answered: by the node, or here once it was gone.
  EXPECT_EQ(r->report.completed, 10);
  EXPECT_EQ(r->report.dropped, 0);
  const StageReport& s = r->report.stages[0];
  EXPECT_GE(s.switches_to_fallback, 1);
  EXPECT_GE(s.fallback_frames, 4);
  EXPECT_NE(log.str().find("switched to the fallback"), std::string::npos) << log.str();
  EXPECT_EQ(texts_by_frame(d.str("fallback.jsonl")).size(), 10u);
}

// The detector on two redundant nodes: one stops mid-run, the other answers the rest; no
// frame is lost and no fallback is needed.
TEST(RemoteStage, RedundantNodesKeepAnsweringWhenOneStops) {
  if (!have_ocr_models()) GTEST_SKIP() << "no PP-OCRv4 models (make models)";
  TempDir d("remote_redundant");
  auto a = start_node(), b = start_node();
  const std::string address_a = a->endpoint();
  StopAfter killer(*a, "ch_PP-OCRv4_det_infer", 3);
  std::ostringstream log;
  const std::string det = "    node: {address: \"" + address_a + "," + b->endpoint() + "\", timeout_ms: " +
                          std::to_string(3000 * kSlow) + ", heartbeat_ms: " + std::to_string(50 * kSlow) +
                          ", heartbeat_timeout_ms: " + std::to_string(200 * kSlow) + "}\n";
  auto r = run(d, "redundant", ocr_yaml(10, det, ""), log);
  const int64_t end_ns = dist::steady_now_ns();
  killer.join();
  ASSERT_TRUE(r.is_ok()) << r.status().to_string() << "\n" << log.str();
  EXPECT_EQ(r->report.completed, 10);
  EXPECT_EQ(r->report.dropped, 0);
  EXPECT_EQ(r->report.stages[0].errors, 0);
  dist::ClientOptions co;
  co.address = b->endpoint();
  auto client = dist::Client::connect(co);
  ASSERT_TRUE(client.is_ok());
  auto status = client->status();
  ASSERT_TRUE(status.is_ok());
  uint64_t on_b = 0;
  for (const auto& m : status->models()) on_b += m.name() == "ch_PP-OCRv4_det_infer" ? m.requests() : 0;
  // A stopped while frames were still coming, and none was lost: B answered the rest.
  ASSERT_GT(killer.stopped_ns.load(), 0);
  EXPECT_LT(killer.stopped_ns.load(), end_ns);
  EXPECT_GT(on_b, 0u);
}

}  // namespace
}  // namespace ep::pipeline
