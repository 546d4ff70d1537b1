// Splits a topologically ordered list of nodes into K contiguous stages, one per device,
// by dynamic programming over the allowed cut positions. Pure: costs come in a table, so
// the tests compare it with brute force on random tables.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "edgepipe/status.h"

namespace ep::partition {

// A hop between consecutive stages: bytes / bandwidth + latency. bandwidth 0: shared
// memory, where a hand-over costs nothing (tensors are passed without a copy).
struct Link {
  double bytes_per_s = 0;
  double latency_s = 0;
  double seconds(double bytes) const { return bytes_per_s > 0 ? bytes / bytes_per_s + latency_s : latency_s; }
};

// Position p (0..N) is the boundary before node p: a stage is a range [q, p) of nodes.
struct CostTable {
  std::vector<std::vector<double>> node_s;  // [device][node]: measured seconds
  std::vector<double> cut_bytes;            // [position]: bytes of every tensor crossing it
  std::vector<bool> cut_allowed;            // [position]; 0 and N are always allowed
  // [device][position]: seconds a stage starting (in) or ending (out) at a position spends
  // converting the tensors crossing it between the kernels' layout and the shard's NCHW.
  // Empty: free.
  std::vector<std::vector<double>> edge_in_s, edge_out_s;
  double contention = 1.0;  // stages running together slow each other by this factor (K > 1)
  Link link;

  size_t num_nodes() const { return cut_bytes.empty() ? 0 : cut_bytes.size() - 1; }
};

enum class Objective { throughput, latency };

struct Split {
  std::vector<size_t> bounds;   // K+1 positions: 0, cuts..., N
  std::vector<double> stage_s;  // predicted per stage (contention included)
  std::vector<double> link_s;   // per cut (K-1)
  double bottleneck_s = 0;      // slowest stage or link: 1 / throughput
  double latency_s = 0;         // sum of stages and links
};

// Validates the table's dimensions (devices >= K, every node cost finite and >= 0).
Status validate_costs(const CostTable& t, size_t stages);
// Seconds of stage [q, p) on `device` (contention applied when stages > 1).
double stage_seconds(const CostTable& t, size_t device, size_t q, size_t p, size_t stages);
// Fills stage_s, link_s, bottleneck_s and latency_s for the given bounds.
Split evaluate_split(const CostTable& t, std::vector<size_t> bounds);

// throughput: the smallest bottleneck, and among those the smallest latency.
// latency: the smallest latency with every stage and link <= max_period_s (a throughput
// floor of 1 / max_period_s); error when no split meets it.
Result<Split> split(const CostTable& t, size_t stages, Objective objective,
                    double max_period_s = std::numeric_limits<double>::infinity());

}  // namespace ep::partition
