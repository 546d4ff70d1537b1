// Reading a session's profile in tests: how many steps run an op, and the steps as one string.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "edgepipe/session.h"

namespace ep {

// How many steps of a profile run `op`.
inline int count_ops(const std::vector<OpProfile>& profile, const std::string& op) {
  return static_cast<int>(std::count_if(profile.begin(), profile.end(), [&](const OpProfile& p) { return p.op == op; }));
}

// The steps' ops in order, each followed by a space; FusedConv as FusedConv/<backend>.
inline std::string step_ops(const std::vector<OpProfile>& profile) {
  std::string ops;
  for (const OpProfile& p : profile) ops += p.op + (p.op == "FusedConv" ? "/" + p.kernel : "") + " ";
  return ops;
}

}  // namespace ep
