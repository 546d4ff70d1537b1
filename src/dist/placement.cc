#include "dist/placement.h"

#include <filesystem>
#include <fstream>
#include <iterator>

namespace ep::dist {

Result<Placement> place_plan(const partition::Plan& plan, const std::string& dir,
                             const std::vector<PlacementTarget>& targets, const std::string& prefix) {
  if (targets.size() != plan.stages.size())
    return invalid_argument("plan ", dir, " has ", plan.stages.size(), " stages, ", targets.size(), " nodes were given");
  Placement p;
  for (size_t k = 0; k < plan.stages.size(); ++k) {
    const partition::PlanStage& st = plan.stages[k];
    const PlacementTarget& t = targets[k];
    const std::string where = "stage " + std::to_string(k) + " (" + st.shard + ") on node " + t.node.address;
    const std::string path = (std::filesystem::path(dir) / st.shard).string();
    std::ifstream f(path, std::ios::binary);
    if (!f) return io_error(where, ": cannot read ", path);
    const std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    const std::set<std::string> nhwc = partition::stage_nhwc_io(plan, k);
    const std::string name = prefix + "." + std::filesystem::path(st.shard).stem().string();
    auto client = Client::connect(t.node);
    if (!client.is_ok()) return client.status().with_context(where);
    auto info = client->load(name, bytes, std::vector<std::string>(nhwc.begin(), nhwc.end()));
    if (!info.is_ok()) return info.status().with_context(where);
    p.models.push_back(name);
    p.info.push_back(*info);
    if (k > 0) {
      wire::Hop hop;
      hop.set_address(t.via.empty() ? t.node.address : t.via);
      hop.set_model(name);
      hop.set_server_key(t.node.server_key);
      p.route.push_back(hop);
    }
  }
  return p;
}

RemotePrediction predict_remote(const partition::Plan& plan) {
  RemotePrediction r;
  for (const partition::PlanStage& s : plan.stages) r.stages_ms += s.predicted_ms;
  for (const partition::PlanCut& c : plan.cuts) r.cuts_ms += c.predicted_link_ms;
  double out_bytes = 0;
  for (const partition::PlanTensor& t : plan.graph_outputs) out_bytes += static_cast<double>(t.bytes);
  const size_t links = plan.stages.empty() ? 0 : plan.stages.size() - 1;
  r.return_ms = static_cast<double>(links) * plan.link.seconds(out_bytes) * 1e3;
  return r;
}

}  // namespace ep::dist
