#include "partition/splitter.h"

#include <algorithm>
#include <cmath>

namespace ep::partition {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

struct Prefix {
  std::vector<std::vector<double>> sum;  // [device][position]
};

Prefix prefix_sums(const CostTable& t) {
  Prefix p;
  for (const auto& row : t.node_s) {
    std::vector<double> s(row.size() + 1, 0.0);
    for (size_t i = 0; i < row.size(); ++i) s[i + 1] = s[i] + row[i];
    p.sum.push_back(std::move(s));
  }
  return p;
}

double stage_from_prefix(const CostTable& t, const Prefix& pre, size_t d, size_t q, size_t p, size_t stages) {
  const size_t n = t.num_nodes();
  double s = pre.sum[d][p] - pre.sum[d][q];
  if (q > 0 && d < t.edge_in_s.size()) s += t.edge_in_s[d][q];
  if (p < n && d < t.edge_out_s.size()) s += t.edge_out_s[d][p];
  return stages > 1 ? s * t.contention : s;
}

double link_at(const CostTable& t, size_t p) { return t.link.seconds(t.cut_bytes[p]); }

// Smallest sum of stage and link seconds over K stages with each <= bound; fills bounds.
double min_latency(const CostTable& t, const Prefix& pre, size_t stages, double bound, std::vector<size_t>* bounds) {
  const size_t n = t.num_nodes();
  std::vector<size_t> pos;
  for (size_t p = 0; p <= n; ++p)
    if (p == 0 || p == n || t.cut_allowed[p]) pos.push_back(p);
  const size_t m = pos.size();
  // best[s][j]: stages 0..s-1 cover [0, pos[j]) ending with a cut at pos[j].
  std::vector<std::vector<double>> best(stages + 1, std::vector<double>(m, kInf));
  std::vector<std::vector<size_t>> from(stages + 1, std::vector<size_t>(m, 0));
  best[0][0] = 0;
  for (size_t s = 1; s <= stages; ++s)
    for (size_t j = 1; j < m; ++j)
      for (size_t i = 0; i < j; ++i) {
        if (best[s - 1][i] == kInf) continue;
        const double link = i > 0 ? link_at(t, pos[i]) : 0.0;
        const double stage = stage_from_prefix(t, pre, s - 1, pos[i], pos[j], stages);
        if (link > bound || stage > bound) continue;
        const double v = best[s - 1][i] + link + stage;
        if (v < best[s][j]) {
          best[s][j] = v;
          from[s][j] = i;
        }
      }
  if (bounds && best[stages][m - 1] < kInf) {
    bounds->assign(stages + 1, 0);
    size_t j = m - 1;
    for (size_t s = stages; s > 0; --s) {
      (*bounds)[s] = pos[j];
      j = from[s][j];
    }
  }
  return best[stages][m - 1];
}

// Smallest bottleneck (slowest stage or link) over K stages.
double min_bottleneck(const CostTable& t, const Prefix& pre, size_t stages) {
  const size_t n = t.num_nodes();
  std::vector<size_t> pos;
  for (size_t p = 0; p <= n; ++p)
    if (p == 0 || p == n || t.cut_allowed[p]) pos.push_back(p);
  const size_t m = pos.size();
  std::vector<std::vector<double>> best(stages + 1, std::vector<double>(m, kInf));
  best[0][0] = 0;
  for (size_t s = 1; s <= stages; ++s)
    for (size_t j = 1; j < m; ++j)
      for (size_t i = 0; i < j; ++i) {
        if (best[s - 1][i] == kInf) continue;
        const double link = i > 0 ? link_at(t, pos[i]) : 0.0;
        const double v = std::max({best[s - 1][i], link, stage_from_prefix(t, pre, s - 1, pos[i], pos[j], stages)});
        best[s][j] = std::min(best[s][j], v);
      }
  return best[stages][m - 1];
}

}  // namespace

Status validate_costs(const CostTable& t, size_t stages) {
  const size_t n = t.num_nodes();
  if (stages < 1) return invalid_argument("stages must be >= 1");
  if (n == 0) return invalid_argument("the model has no nodes to split");
  if (t.node_s.size() < stages) return invalid_argument(stages, " stages need ", stages, " devices, ", t.node_s.size(), " given");
  for (const auto& row : t.node_s) {
    if (row.size() != n) return internal_error("cost table: a device row has ", row.size(), " nodes, expected ", n);
    for (double v : row)
      if (!std::isfinite(v) || v < 0) return internal_error("cost table: node cost ", v, " is not a finite time");
  }
  if (t.cut_allowed.size() != n + 1) return internal_error("cost table: cut_allowed has the wrong size");
  for (const auto* edges : {&t.edge_in_s, &t.edge_out_s})
    for (const auto& row : *edges)
      if (row.size() != n + 1) return internal_error("cost table: an edge cost row has the wrong size");
  if (!(t.contention >= 1.0) || !std::isfinite(t.contention)) return invalid_argument("contention factor ", t.contention, " must be >= 1");
  size_t allowed = 0;
  for (size_t p = 1; p < n; ++p) allowed += t.cut_allowed[p] ? 1 : 0;
  if (allowed + 1 < stages)
    return invalid_argument(stages, " stages need ", stages - 1, " cut positions; the model allows ", allowed);
  return Status::ok();
}

double stage_seconds(const CostTable& t, size_t device, size_t q, size_t p, size_t stages) {
  return stage_from_prefix(t, prefix_sums(t), device, q, p, stages);
}

Split evaluate_split(const CostTable& t, std::vector<size_t> bounds) {
  const Prefix pre = prefix_sums(t);
  Split s;
  const size_t k = bounds.size() - 1;
  for (size_t i = 0; i < k; ++i) {
    s.stage_s.push_back(stage_from_prefix(t, pre, i, bounds[i], bounds[i + 1], k));
    if (i > 0) s.link_s.push_back(link_at(t, bounds[i]));
  }
  for (double v : s.stage_s) s.bottleneck_s = std::max(s.bottleneck_s, v), s.latency_s += v;
  for (double v : s.link_s) s.bottleneck_s = std::max(s.bottleneck_s, v), s.latency_s += v;
  s.bounds = std::move(bounds);
  return s;
}

Result<Split> split(const CostTable& t, size_t stages, Objective objective, double max_period_s) {
  EP_RETURN_IF_ERROR(validate_costs(t, stages));
  const Prefix pre = prefix_sums(t);
  double bound = max_period_s;
  if (objective == Objective::throughput) {
    const double b = min_bottleneck(t, pre, stages);
    if (b == kInf) return invalid_argument("no split into ", stages, " non-empty stages exists at the allowed cuts");
    bound = std::min(bound, b * (1 + 1e-12) + 1e-300);  // then the fastest among the best
  }
  std::vector<size_t> bounds;
  if (min_latency(t, pre, stages, bound, &bounds) == kInf)
    return invalid_argument("no split into ", stages, " stages keeps every stage under ", bound * 1e3, " ms");
  return evaluate_split(t, std::move(bounds));
}

}  // namespace ep::partition
