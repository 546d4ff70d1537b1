// `edgepipe stream`: a paced stream of frames to redundant nodes through the balancer
// (src/dist/balancer.h), optionally with a local fallback model when no node is alive. It
// reports every frame (answered by which node or the fallback, after how many attempts, or
// lost with its reason) and every node death and return: the measuring end of
// bench/chaos.sh, which kills, stalls and restarts the nodes meanwhile.
#include <chrono>
#include <csignal>
#include <deque>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <thread>

#include "commands.h"
#include "dist/balancer.h"
#include "dist/link_emulator.h"
#include "dist/node.h"

namespace ep::tools {
namespace {

volatile std::sig_atomic_t g_toggle_cut = 0;
void on_usr1(int) { g_toggle_cut = 1; }

struct StreamArgs {
  int link_node = -1;  // index of the node reached through an in-process link emulator (cut by SIGUSR1)
  dist::BalancerOptions opt;
  std::vector<std::string> inputs;  // NAME=DIMS
  std::string fallback, frames_log;
  double fps = 30, duration = 10;
  bool json = false;
};

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

struct Record {
  uint64_t id = 0;
  double submit_unix = 0, done_unix = 0;
  std::string by;  // node address, "fallback", or "" when lost
  int attempts = 0;
  bool retried = false;
  std::string error;
};

Status stream(StreamArgs& a) {
  EP_ASSIGN_OR_RETURN(auto shapes, parse_shape_args(a.inputs));
  if (shapes.empty()) return invalid_argument("--input NAME=DIMS is required (the model's input)");
  std::vector<Tensor> inputs;
  std::vector<dist::NamedView> views;
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  for (const auto& [name, shape] : shapes) {
    inputs.emplace_back(DType::f32, shape);
    for (int64_t i = 0; i < inputs.back().numel(); ++i) inputs.back().as<float>()[i] = u(rng);
  }
  size_t k = 0;
  for (const auto& [name, shape] : shapes) views.push_back({name, inputs[k++].view()});

  // The local fallback: runs on this thread when no node is alive.
  std::optional<Session> fallback;
  if (!a.fallback.empty()) {
    EP_ASSIGN_OR_RETURN(Model m, Model::load(a.fallback));
    SessionOptions so;
    so.input_shapes = shapes;
    EP_ASSIGN_OR_RETURN(Session s, Session::create(m, so));
    fallback.emplace(std::move(s));
  }
  // One node behind a link emulator: SIGUSR1 cuts the link and restores it (bench/chaos.sh).
  std::unique_ptr<dist::LinkEmulator> link;
  std::map<std::string, std::string> real;  // the emulator's endpoint -> the node behind it
  auto named = [&](const std::string& address) { return real.count(address) ? real.at(address) : address; };
  if (a.link_node >= 0) {
    if (a.link_node >= static_cast<int>(a.opt.addresses.size()))
      return invalid_argument("--link-node ", a.link_node, ": there are ", a.opt.addresses.size(), " nodes");
    EP_ASSIGN_OR_RETURN(link, dist::LinkEmulator::start("tcp://127.0.0.1:*", a.opt.addresses[a.link_node], {}, {}));
    real[link->endpoint()] = a.opt.addresses[a.link_node];
    a.opt.addresses[a.link_node] = link->endpoint();
    std::signal(SIGUSR1, on_usr1);
  }
  bool cut = false;
  auto toggle_cut = [&] {
    if (!link || !g_toggle_cut) return;
    g_toggle_cut = 0;
    cut = !cut;
    link->set_cut(cut);
    std::fprintf(stderr, "[stream] link to node %d %s\n", a.link_node, cut ? "cut" : "restored");
  };
  std::mutex mu;
  std::map<uint64_t, Record> records;
  int64_t fallback_frames = 0;
  std::deque<uint64_t> to_fallback;  // frames the nodes could not answer, for the local model
  const double t_unix0 = unix_now();
  const int64_t t_steady0 = dist::steady_now_ns();
  auto to_unix = [&](int64_t steady) { return t_unix0 + static_cast<double>(steady - t_steady0) / 1e9; };
  EP_ASSIGN_OR_RETURN(auto balancer, dist::Balancer::start(a.opt, [&](dist::FrameOutcome&& o) {
    std::lock_guard<std::mutex> lock(mu);
    Record& r = records[o.id];
    r.attempts = o.attempts;
    r.retried = o.retried;
    if (!o.status.is_ok() && fallback && o.status.code() == StatusCode::io_error) {
      r.error = o.status.to_string();
      to_fallback.push_back(o.id);  // answered here by the stream's thread
      return;
    }
    r.done_unix = to_unix(o.done_ns);
    if (o.status.is_ok()) r.by = o.node;
    else r.error = o.status.to_string();
  }));
  auto run_fallback = [&](uint64_t id) {
    std::vector<Tensor> in;
    for (const Tensor& t : inputs) in.push_back(t.clone());
    auto out = fallback->run(in);
    std::lock_guard<std::mutex> lock(mu);
    Record& r = records[id];
    r.done_unix = unix_now();
    r.attempts += 1;
    if (out.is_ok()) r.by = "fallback", ++fallback_frames;
    else r.error = out.status().to_string();
  };
  auto drain_fallback = [&] {
    for (;;) {
      uint64_t id;
      {
        std::lock_guard<std::mutex> lock(mu);
        if (to_fallback.empty()) return;
        id = to_fallback.front();
        to_fallback.pop_front();
      }
      run_fallback(id);
    }
  };
  // The nodes answer a PING within a heartbeat or two: start once one is alive (or give up
  // waiting after a heartbeat timeout and let the balancer queue).
  for (int i = 0; i < a.opt.heartbeat_timeout_ms && balancer->alive() == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const int64_t frames = static_cast<int64_t>(a.fps * a.duration);
  const auto start = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < frames; ++i) {
    std::this_thread::sleep_until(start + std::chrono::duration<double>(static_cast<double>(i) / a.fps));
    {
      std::lock_guard<std::mutex> lock(mu);
      records[i].id = i;
      records[i].submit_unix = unix_now();
    }
    toggle_cut();
    if (fallback) drain_fallback();
    if (fallback && balancer->alive() == 0) {
      run_fallback(static_cast<uint64_t>(i));
      continue;
    }
    balancer->submit(static_cast<uint64_t>(i), views);
  }
  // Every frame gets its outcome by its deadline.
  const auto wait_until = std::chrono::steady_clock::now() + std::chrono::milliseconds(a.opt.deadline_ms + 500);
  for (;;) {
    size_t open = 0;
    {
      std::lock_guard<std::mutex> lock(mu);
      for (const auto& [id, r] : records) open += r.done_unix == 0;
    }
    if (open == 0 || std::chrono::steady_clock::now() > wait_until) break;
    if (fallback) drain_fallback();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  balancer->stop();
  if (fallback) drain_fallback();

  std::map<std::string, int64_t> by_node;
  int64_t answered = 0, retried = 0, lost = 0;
  std::vector<uint64_t> lost_ids;
  std::vector<double> latency;
  std::unique_ptr<std::ofstream> log;
  if (!a.frames_log.empty()) {
    log = std::make_unique<std::ofstream>(a.frames_log);
    if (!*log) return io_error("--frames-log '", a.frames_log, "': cannot write");
  }
  for (const auto& [id, r] : records) {
    if (!r.by.empty()) {
      ++answered;
      ++by_node[named(r.by)];
      retried += r.retried;
      latency.push_back((r.done_unix - r.submit_unix) * 1e3);
    } else {
      ++lost;
      lost_ids.push_back(id);
    }
    if (log)
      *log << nlohmann::json{{"id", id}, {"submit", r.submit_unix}, {"done", r.done_unix}, {"by", named(r.by)},
                             {"attempts", r.attempts}, {"retried", r.retried}, {"error", r.error}}
                  .dump()
           << "\n";
  }
  std::sort(latency.begin(), latency.end());
  auto pct = [&](double q) { return latency.empty() ? 0.0 : latency[std::min(latency.size() - 1, static_cast<size_t>(q * latency.size()))]; };
  nlohmann::json events = nlohmann::json::array();
  for (const dist::NodeEvent& e : balancer->events())
    events.push_back({{"t", to_unix(e.t_ns)}, {"node", named(e.node)}, {"alive", e.alive}, {"silent_ms", e.silent_ns / 1e6},
                      {"frames_moved", e.frames_moved}});
  nlohmann::json j = {{"frames", frames}, {"answered", answered}, {"by", by_node}, {"fallback", fallback_frames},
                      {"retried", retried}, {"lost", lost}, {"lost_ids", lost_ids}, {"latency_p50_ms", pct(0.5)},
                      {"latency_p99_ms", pct(0.99)}, {"events", events}, {"heartbeat_ms", a.opt.heartbeat_ms},
                      {"heartbeat_timeout_ms", a.opt.heartbeat_timeout_ms}};
  if (a.json) {
    std::cout << j.dump() << "\n";
  } else {
    std::printf("%lld frames at %.1f fps: %lld answered (%lld after a retry, %lld by the fallback), %lld lost\n",
                static_cast<long long>(frames), a.fps, static_cast<long long>(answered), static_cast<long long>(retried),
                static_cast<long long>(fallback_frames), static_cast<long long>(lost));
    for (const auto& [node, n] : by_node) std::printf("  %-28s %lld\n", node.c_str(), static_cast<long long>(n));
    if (!lost_ids.empty()) {
      std::printf("lost ids:");
      for (uint64_t id : lost_ids) std::printf(" %llu", static_cast<unsigned long long>(id));
      std::printf("\n");
    }
    std::printf("latency p50 %.2f ms, p99 %.2f ms\n", pct(0.5), pct(0.99));
    for (const dist::NodeEvent& e : balancer->events())
      std::printf("  %+9.3f s  %-28s %s\n", static_cast<double>(e.t_ns - t_steady0) / 1e9, named(e.node).c_str(),
                  e.alive ? "alive" : ("dead after " + std::to_string(e.silent_ns / 1'000'000) + " ms of silence, " +
                                       std::to_string(e.frames_moved) + " frames moved").c_str());
  }
  return Status::ok();
}

}  // namespace

Runner add_stream(CLI::App& app) {
  auto a = std::make_shared<StreamArgs>();
  app.add_option("--nodes", a->opt.addresses, "Redundant nodes serving the model (tcp://HOST:PORT,...)")->required()->delimiter(',');
  app.add_option("--model", a->opt.model, "The model's name on the nodes")->required();
  app.add_option("--input", a->inputs, "NAME=DIMS of the model's input (random data)")->required();
  app.add_option("--fps", a->fps, "Frames per second")->check(CLI::Range(0.1, 10000.0));
  app.add_option("--duration", a->duration, "Seconds")->check(CLI::Range(0.1, 86400.0));
  app.add_option("--heartbeat-ms", a->opt.heartbeat_ms, "PING every this often")->check(CLI::Range(1, 60000));
  app.add_option("--timeout-ms", a->opt.heartbeat_timeout_ms, "A node silent this long is dead")->check(CLI::Range(2, 600000));
  app.add_option("--deadline-ms", a->opt.deadline_ms, "A frame unanswered this long is lost")->check(CLI::Range(1, 600000));
  app.add_option("--attempts", a->opt.max_attempts, "Sends per frame")->check(CLI::Range(1, 100));
  app.add_option("--window", a->opt.max_in_flight_per_node, "Frames in flight per node")->check(CLI::Range(1, 1024));
  app.add_option("--server-key", a->opt.server_key, "The nodes' public key (Z85) with CURVE");
  app.add_option("--keys", a->opt.keys_dir, "This client's keypair folder with CURVE");
  app.add_option("--fallback", a->fallback, "Local model answering while no node is alive");
  app.add_option("--link-node", a->link_node, "Reach node K (0-based) through an in-process link emulator; SIGUSR1 "
                 "cuts the link and restores it")->check(CLI::Range(0, 1024));
  app.add_option("--frames-log", a->frames_log, "One JSON line per frame: id, submit, done, by, attempts, error");
  app.add_flag("--json", a->json, "Print one JSON object");
  return [a]() {
    Status st = stream(*a);
    return st.is_ok() ? 0 : report(st);
  };
}

}  // namespace ep::tools
