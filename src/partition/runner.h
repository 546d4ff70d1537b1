// Runs a plan as a pipeline: one thread per stage, pinned to its cores, each with its own
// Session and OpenMP thread count. Frames are preallocated and carry every tensor a stage
// reads or writes; a stage reads the previous stages' outputs in place (no copies) and
// hands the frame on through a queue. `frames` frames circulate, so every stage can work
// on a different frame at once.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "edgepipe/tensor.h"
#include "partition/plan.h"

namespace ep::partition {

struct RunStats {
  size_t frames = 0;
  double wall_s = 0;
  // Steady state, (frames - 1) / (last exit - first exit), when frames > 2x those in flight;
  // else frames / wall time.
  double throughput_fps = 0;
  std::vector<double> latency_ms;               // per frame, from entering stage 0's queue to leaving the last stage
  std::vector<std::vector<double>> stage_ms;    // [stage][frame]: Session::run time
  std::vector<std::vector<double>> stage_cpu_ms;  // [stage][frame]: the stage thread's CPU time in it
};

class PlanRunner {
 public:
  // Starts the stage threads; each loads its shard and creates its session on its own
  // pinned thread, and reports back before create returns (the start handshake).
  static Result<std::unique_ptr<PlanRunner>> create(const Plan& plan, const std::string& dir, bool pin = true,
                                                    size_t frames_in_flight = 0);
  ~PlanRunner();  // stops and joins the stage threads
  PlanRunner(const PlanRunner&) = delete;
  PlanRunner& operator=(const PlanRunner&) = delete;

  // Copies `inputs` (in the plan's graph_inputs order) into every frame, then runs `count`
  // frames through the pipeline, keeping all frames in flight.
  Result<RunStats> run(const std::vector<Tensor>& inputs, size_t count);
  // One frame; returns the graph outputs in the plan's order.
  Result<std::vector<Tensor>> run_once(const std::vector<Tensor>& inputs);

  struct Impl;

 private:
  explicit PlanRunner(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ep::partition
