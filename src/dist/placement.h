// A partition plan placed on edgepipe nodes (docs/partition.md, "On nodes"): shard k is sent
// to node k with LOAD, naming the tensors the plan hands over in NHWC, and the route that runs
// the shards in order is returned for Client::infer. The reply comes back along the chain.
#pragma once

#include <string>
#include <vector>

#include "dist/client.h"
#include "partition/plan.h"

namespace ep::dist {

struct PlacementTarget {
  ClientOptions node;  // where shard k is loaded: address, the node's server key, client keys
  std::string via;     // the address the previous node sends to (a link emulator in front of
                       // this node, a NAT's address); "" means node.address
};

struct Placement {
  std::vector<std::string> models;    // the name shard k is served under on node k
  std::vector<wire::ModelInfo> info;  // as each node reported it after loading
  std::vector<wire::Hop> route;       // the hops after the first node, for Client::infer
};

// Loads every shard of the plan in `dir` onto its node (one target per stage, in order) as
// "<prefix>.<shard file stem>". Errors name the stage and the node.
Result<Placement> place_plan(const partition::Plan& plan, const std::string& dir,
                             const std::vector<PlacementTarget>& targets, const std::string& prefix);

// The partitioner's prediction for one frame through a placed plan, in milliseconds: the
// stages and cuts of plan.predicted latency, plus the graph outputs' way back to the first
// node over each of the K-1 links (replies return along the chain).
struct RemotePrediction {
  double stages_ms = 0, cuts_ms = 0, return_ms = 0;
  double total_ms() const { return stages_ms + cuts_ms + return_ms; }
};
RemotePrediction predict_remote(const partition::Plan& plan);

}  // namespace ep::dist
