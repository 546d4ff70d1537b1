// edgepipe bench PLAN_DIR: the plan's pipeline against the whole model on one core with one
// thread, alternated round by round in the same process, medians reported.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <thread>

#include "commands.h"
#include "partition/analysis.h"
#include "partition/runner.h"

namespace ep::tools {
namespace {

using partition::median;

// The whole model on one thread pinned to `core`, reading the plan's inputs.
struct Whole {
  std::string file;
  std::optional<Session> session;
  std::vector<Tensor> out;
  std::vector<TensorView> in_v, out_v;
  int core = 0;

  Status create(const partition::Plan& plan, const std::vector<Tensor>& inputs) {
    EP_ASSIGN_OR_RETURN(Model model, Model::load(file));
    SessionOptions o;
    o.threads = 1;
    o.input_shapes = plan.input_shapes;
    EP_ASSIGN_OR_RETURN(Session s, Session::create(model, o));
    session.emplace(std::move(s));
    for (const IoInfo& io : session->inputs()) {
      auto it = std::find_if(plan.graph_inputs.begin(), plan.graph_inputs.end(),
                             [&](const partition::PlanTensor& t) { return t.name == io.name; });
      if (it == plan.graph_inputs.end() || it->shape != io.shape)
        return invalid_argument("the whole model's input '", io.name, "' does not match the plan's inputs");
      in_v.push_back(inputs[static_cast<size_t>(it - plan.graph_inputs.begin())].view());
    }
    for (const IoInfo& io : session->outputs()) out.emplace_back(io.dtype, io.shape);
    for (const Tensor& t : out) out_v.push_back(t.view());
    core = plan.stages[0].device.cores.empty() ? 0 : plan.stages[0].device.cores[0];
    return Status::ok();
  }

  // `frames` runs on a thread pinned to `core`; frames per second.
  Result<double> round(int frames) {
    Status st = Status::ok();
    double fps = 0;
    std::thread t([&] {
      st = partition::pin_thread({core});
      if (!st.is_ok()) return;
      const auto t0 = std::chrono::steady_clock::now();
      for (int i = 0; i < frames && st.is_ok(); ++i) st = session->run(in_v, out_v);
      fps = frames / std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    });
    t.join();
    EP_RETURN_IF_ERROR(st);
    return fps;
  }
};

struct Figures {
  std::vector<double> whole_fps, plan_fps, latency, single;
  std::vector<std::vector<double>> stage_ms, stage_cpu;
};

Result<Figures> measure(Whole& whole, partition::PlanRunner& runner, const std::vector<Tensor>& inputs, size_t stages,
                        int rounds, int frames, int warmup) {
  if (warmup > 0) {
    EP_RETURN_IF_ERROR(whole.round(warmup).status());
    EP_RETURN_IF_ERROR(runner.run(inputs, static_cast<size_t>(warmup)).status());
  }
  Figures f;
  f.stage_ms.resize(stages);
  f.stage_cpu.resize(stages);
  for (int r = 0; r < rounds; ++r) {
    EP_ASSIGN_OR_RETURN(double w, whole.round(frames));
    f.whole_fps.push_back(w);
    EP_ASSIGN_OR_RETURN(partition::RunStats p, runner.run(inputs, static_cast<size_t>(frames)));
    f.plan_fps.push_back(p.throughput_fps);
    f.latency.insert(f.latency.end(), p.latency_ms.begin(), p.latency_ms.end());
    for (size_t s = 0; s < stages; ++s) {
      f.stage_ms[s].insert(f.stage_ms[s].end(), p.stage_ms[s].begin(), p.stage_ms[s].end());
      f.stage_cpu[s].insert(f.stage_cpu[s].end(), p.stage_cpu_ms[s].begin(), p.stage_cpu_ms[s].end());
    }
  }
  // Latency with one frame in flight: the stages' sum plus the hand-overs, no queueing.
  for (int i = 0; i < std::max(3, rounds); ++i) {
    EP_ASSIGN_OR_RETURN(partition::RunStats p, runner.run(inputs, 1));
    f.single.push_back(p.latency_ms[0]);
  }
  return f;
}

void print_json(const std::string& dir, const partition::Plan& plan, const std::string& whole_file, int rounds,
                int frames, const Figures& f) {
  const double wf = median(f.whole_fps), pf = median(f.plan_fps);
  nlohmann::json j = {{"plan", dir}, {"whole_model", whole_file}, {"rounds", rounds}, {"frames_per_round", frames},
                      {"whole_fps", wf}, {"plan_fps", pf}, {"speedup", pf / wf},
                      {"predicted_fps", 1e3 / plan.predicted_bottleneck_ms}, {"latency_p50_ms", median(f.latency)},
                      {"latency_one_frame_ms", median(f.single)}, {"predicted_latency_ms", plan.predicted_latency_ms},
                      {"whole_fps_rounds", f.whole_fps}, {"plan_fps_rounds", f.plan_fps},
                      {"load_average", load_average()}};
  nlohmann::json st = nlohmann::json::array();
  for (size_t s = 0; s < plan.stages.size(); ++s)
    st.push_back({{"shard", plan.stages[s].shard}, {"measured_ms", median(f.stage_ms[s])},
                  {"cpu_ms", median(f.stage_cpu[s])}, {"predicted_ms", plan.stages[s].predicted_ms}});
  j["stages"] = st;
  std::cout << j.dump() << "\n";
}

void print_text(const std::string& dir, const partition::Plan& plan, const Whole& whole, int rounds, int frames,
                const Figures& f) {
  const double wf = median(f.whole_fps), pf = median(f.plan_fps);
  std::printf("plan %s: %zu stages; whole model %s; %d rounds of %d frames, alternated, medians; load average %s\n",
              dir.c_str(), plan.stages.size(), whole.file.c_str(), rounds, frames, load_average().c_str());
  std::printf("whole model, 1 thread on core %d: %.2f frames/s (%.2f ms)\n", whole.core, wf, 1e3 / wf);
  std::printf("plan pipeline: %.2f frames/s in steady state (predicted %.2f), %.2fx the whole model\n", pf,
              1e3 / plan.predicted_bottleneck_ms, pf / wf);
  std::printf("latency p50: %.2f ms with one frame in flight (predicted %.2f), %.2f ms with %zu in flight (queued)\n",
              median(f.single), plan.predicted_latency_ms, median(f.latency), plan.stages.size() + 1);
  std::printf("%-6s %-14s %-9s %-8s %12s %12s %8s %8s\n", "stage", "shard", "threads", "cores", "measured ms",
              "predicted ms", "error", "cpu ms");
  for (size_t s = 0; s < plan.stages.size(); ++s) {
    const partition::PlanStage& st = plan.stages[s];
    const double m = median(f.stage_ms[s]);
    std::string cores;
    for (int c : st.device.cores) cores += (cores.empty() ? "" : ",") + std::to_string(c);
    std::printf("%-6zu %-14s %-9d %-8s %12.3f %12.3f %+7.1f%% %8.3f\n", s, st.shard.c_str(), st.device.threads,
                cores.c_str(), m, st.predicted_ms, 100.0 * (st.predicted_ms - m) / m, median(f.stage_cpu[s]));
  }
  std::printf("rounds (frames/s): whole");
  for (double v : f.whole_fps) std::printf(" %.2f", v);
  std::printf(" | plan");
  for (double v : f.plan_fps) std::printf(" %.2f", v);
  std::printf("\n");
}

}  // namespace

std::vector<Tensor> random_inputs(const std::vector<partition::PlanTensor>& ts) {
  std::vector<Tensor> r;
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> d(-1.f, 1.f);
  for (const partition::PlanTensor& t : ts) {
    r.emplace_back(t.dtype, t.shape);
    if (t.dtype == DType::f32)
      for (int64_t i = 0; i < r.back().numel(); ++i) r.back().as<float>()[i] = d(rng);
  }
  return r;
}

// Other processes on the same cores skew every figure: printed beside them.
std::string load_average() {
  std::ifstream f("/proc/loadavg");
  std::string one;
  return (f >> one) ? one : "unknown";
}

int bench_plan(const std::string& dir, const std::string& whole_path, int rounds, int frames, int warmup, bool json) {
  auto plan = partition::read_plan(dir);
  if (!plan) return report(plan.status());
  const std::vector<Tensor> inputs = random_inputs(plan->graph_inputs);
  Whole whole;
  whole.file = whole_path.empty() ? plan->source_model : whole_path;
  if (Status st = whole.create(*plan, inputs); !st.is_ok()) return report(st.with_context("the whole model (--whole)"));
  auto runner = partition::PlanRunner::create(*plan, dir);
  if (!runner) return report(runner.status());
  auto f = measure(whole, **runner, inputs, plan->stages.size(), rounds, frames, warmup);
  if (!f) return report(f.status());
  if (json) print_json(dir, *plan, whole.file, rounds, frames, *f);
  else print_text(dir, *plan, whole, rounds, frames, *f);
  return 0;
}

}  // namespace ep::tools
