#include "partition/runner.h"

#include <time.h>

#include <chrono>
#include <cstring>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <future>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <unordered_map>

#include "edgepipe/session.h"

namespace ep::partition {
namespace {

using Clock = std::chrono::steady_clock;

// Frame ids between two stages; close() wakes and ends every waiter.
class IdQueue {
 public:
  void push(size_t id) {
    {
      std::lock_guard<std::mutex> l(m_);
      q_.push_back(id);
    }
    cv_.notify_one();
  }
  bool pop(size_t& id) {
    std::unique_lock<std::mutex> l(m_);
    cv_.wait(l, [&] { return closed_ || !q_.empty(); });
    if (q_.empty()) return false;
    id = q_.front();
    q_.pop_front();
    return true;
  }
  void close() {
    {
      std::lock_guard<std::mutex> l(m_);
      closed_ = true;
    }
    cv_.notify_all();
  }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  std::deque<size_t> q_;
  bool closed_ = false;
};

struct Frame {
  std::unordered_map<std::string, Tensor> tensors;
  Clock::time_point entered;
};

// CPU time of the calling thread: with other processes on the cores, wall time counts their
// share too, CPU time only the stage's own work (one OpenMP thread per stage).
double thread_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) * 1e-6;
}

}  // namespace

struct PlanRunner::Impl {
  Plan plan;
  std::vector<Frame> frames;
  std::vector<std::unique_ptr<IdQueue>> queues;  // queues[k] feeds stage k; queues[K] is the exit
  std::vector<std::thread> threads;
  std::vector<std::vector<double>> stage_ms;     // written by stage k's thread only, read after a run
  std::vector<std::vector<double>> stage_cpu_ms;
  std::vector<Status> stage_status;

  Status stage_prepare(size_t k, const std::string& dir, std::optional<Session>& session,
                       std::vector<std::vector<TensorView>>& in_views, std::vector<std::vector<TensorView>>& out_views);
  void stage_loop(size_t k, Session& session, const std::vector<std::vector<TensorView>>& in_views,
                  const std::vector<std::vector<TensorView>>& out_views);
};

Status PlanRunner::Impl::stage_prepare(size_t k, const std::string& dir, std::optional<Session>& session,
                                            std::vector<std::vector<TensorView>>& in_views,
                                            std::vector<std::vector<TensorView>>& out_views) {
  const PlanStage& st = plan.stages[k];
  EP_RETURN_IF_ERROR(pin_thread(st.device.cores));
  EP_ASSIGN_OR_RETURN(Model m, Model::load((std::filesystem::path(dir) / st.shard).string()));
  SessionOptions o;
  o.threads = st.device.threads;
  o.nhwc_io = stage_nhwc_io(plan, k);
  EP_ASSIGN_OR_RETURN(Session created, Session::create(m, o));
  session.emplace(std::move(created));
  // The session's inputs and outputs by name, against the plan's declaration.
  auto views = [&](const std::vector<IoInfo>& ios, std::vector<std::vector<TensorView>>& out, const char* what) -> Status {
    out.assign(frames.size(), {});
    for (const IoInfo& io : ios) {
      for (size_t f = 0; f < frames.size(); ++f) {
        auto it = frames[f].tensors.find(io.name);
        if (it == frames[f].tensors.end())
          return invalid_argument("stage ", k, " (", st.shard, "): ", what, " '", io.name, "' is not in the plan");
        if (it->second.dtype() != io.dtype || it->second.shape() != io.shape)
          return invalid_argument("stage ", k, " (", st.shard, "): ", what, " '", io.name, "' is ",
                                  dtype_name(io.dtype), " ", io.shape.to_string(), " in the shard, the plan says ",
                                  dtype_name(it->second.dtype()), " ", it->second.shape().to_string());
        out[f].push_back(it->second.view());
      }
    }
    return Status::ok();
  };
  EP_RETURN_IF_ERROR(views(session->inputs(), in_views, "input"));
  EP_RETURN_IF_ERROR(views(session->outputs(), out_views, "output"));
  return Status::ok();
}

void PlanRunner::Impl::stage_loop(size_t k, Session& session, const std::vector<std::vector<TensorView>>& in_views,
                                  const std::vector<std::vector<TensorView>>& out_views) {
  size_t id = 0;
  while (queues[k]->pop(id)) {
    const auto t0 = Clock::now();
    const double c0 = thread_cpu_ms();
    Status st = session.run(in_views[id], out_views[id]);
    stage_ms[k].push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    stage_cpu_ms[k].push_back(thread_cpu_ms() - c0);
    if (!st.is_ok() && stage_status[k].is_ok()) stage_status[k] = st;
    queues[k + 1]->push(id);
  }
}

PlanRunner::PlanRunner(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

PlanRunner::~PlanRunner() {
  for (auto& q : impl_->queues) q->close();
  for (auto& t : impl_->threads) t.join();
}

Result<std::unique_ptr<PlanRunner>> PlanRunner::create(const Plan& plan, const std::string& dir, bool pin,
                                                       size_t frames_in_flight) {
  auto impl = std::make_unique<Impl>();
  impl->plan = plan;
  if (!pin)
    for (PlanStage& s : impl->plan.stages) s.device.cores.clear();
  const size_t k = plan.stages.size();
  impl->frames.resize(frames_in_flight ? frames_in_flight : k + 1);
  for (Frame& f : impl->frames) {
    auto add = [&](const PlanTensor& t) -> Status {
      if (f.tensors.count(t.name)) return Status::ok();
      const Shape shape = handed_over_nhwc(impl->plan, t) ? Shape{t.shape[0], t.shape[2], t.shape[3], t.shape[1]} : t.shape;
      EP_ASSIGN_OR_RETURN(Tensor x, Tensor::create(t.dtype, shape));
      f.tensors.emplace(t.name, std::move(x));
      return Status::ok();
    };
    for (const PlanTensor& t : plan.graph_inputs) EP_RETURN_IF_ERROR(add(t));
    for (const PlanStage& s : plan.stages)
      for (const PlanTensor& t : s.outputs) EP_RETURN_IF_ERROR(add(t));
  }
  for (size_t i = 0; i <= k; ++i) impl->queues.push_back(std::make_unique<IdQueue>());
  impl->stage_ms.assign(k, {});
  impl->stage_cpu_ms.assign(k, {});
  impl->stage_status.assign(k, Status::ok());
  std::unique_ptr<PlanRunner> runner(new PlanRunner(std::move(impl)));
  Impl* p = runner->impl_.get();
  for (size_t s = 0; s < k; ++s) {
    std::promise<Status> ready;
    auto started = ready.get_future();
    p->threads.emplace_back([p, s, dir, &ready] {
      std::optional<Session> session;
      std::vector<std::vector<TensorView>> in_views, out_views;
      Status st = p->stage_prepare(s, dir, session, in_views, out_views);
      const bool ok = st.is_ok();
      ready.set_value(std::move(st));  // `ready` is gone after this
      if (ok) p->stage_loop(s, *session, in_views, out_views);
    });
    if (Status st = started.get(); !st.is_ok()) return st;  // the destructor stops the started ones
  }
  return runner;
}

Result<RunStats> PlanRunner::run(const std::vector<Tensor>& inputs, size_t count) {
  Impl& m = *impl_;
  if (inputs.size() != m.plan.graph_inputs.size())
    return invalid_argument("the plan has ", m.plan.graph_inputs.size(), " inputs, ", inputs.size(), " given");
  for (Frame& f : m.frames)
    for (size_t i = 0; i < inputs.size(); ++i) {
      Tensor& dst = f.tensors.at(m.plan.graph_inputs[i].name);
      if (dst.dtype() != inputs[i].dtype() || dst.shape() != inputs[i].shape())
        return invalid_argument("input '", m.plan.graph_inputs[i].name, "': expected ", dtype_name(dst.dtype()), " ",
                                dst.shape().to_string());
      std::memcpy(dst.data(), inputs[i].data(), dst.nbytes());
    }
  for (auto& v : m.stage_ms) v.clear();
  for (auto& v : m.stage_cpu_ms) v.clear();
  RunStats r;
  const size_t k = m.plan.stages.size();
  const auto start = Clock::now();
  size_t sent = 0, done = 0;
  for (; sent < std::min(count, m.frames.size()); ++sent) {
    m.frames[sent].entered = Clock::now();
    m.queues[0]->push(sent);
  }
  size_t id = 0;
  Clock::time_point first_exit, last_exit;
  while (done < count && m.queues[k]->pop(id)) {
    last_exit = Clock::now();
    if (done == 0) first_exit = last_exit;
    r.latency_ms.push_back(std::chrono::duration<double, std::milli>(last_exit - m.frames[id].entered).count());
    ++done;
    if (sent < count) {
      m.frames[id].entered = Clock::now();
      m.queues[0]->push(id);
      ++sent;
    }
  }
  r.wall_s = std::chrono::duration<double>(Clock::now() - start).count();
  r.frames = done;
  // Steady state: frames per second between the first and the last exit, so the time the
  // pipeline takes to fill (one pass through every stage) is not counted against it.
  const double steady_s = std::chrono::duration<double>(last_exit - first_exit).count();
  // Only with many more frames than are in flight: the first ones leave close together.
  r.throughput_fps = done > 2 * m.frames.size() && steady_s > 0 ? static_cast<double>(done - 1) / steady_s
                     : r.wall_s > 0               ? static_cast<double>(done) / r.wall_s
                                                  : 0;
  // Every frame has left the last stage, so the stage threads are idle: their records are stable.
  r.stage_ms = m.stage_ms;
  r.stage_cpu_ms = m.stage_cpu_ms;
  for (size_t s = 0; s < k; ++s) EP_RETURN_IF_ERROR(m.stage_status[s].with_context("stage " + std::to_string(s)));
  return r;
}

Result<std::vector<Tensor>> PlanRunner::run_once(const std::vector<Tensor>& inputs) {
  EP_RETURN_IF_ERROR(run(inputs, 1).status());
  std::vector<Tensor> out;
  // Frame 0 is the one that ran.
  for (const PlanTensor& t : impl_->plan.graph_outputs) out.push_back(impl_->frames[0].tensors.at(t.name).clone());
  return out;
}

}  // namespace ep::partition
