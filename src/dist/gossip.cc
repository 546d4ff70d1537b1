#include "dist/gossip.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "dist/checkpoint.h"

namespace ep::dist {

std::pair<std::string, std::string> gossip_peer_split(const std::string& spec) {
  // An address has no '=' (tcp://host:port), a Z85 key may: split at the first one.
  const size_t eq = spec.find('=');
  if (eq == std::string::npos) return {spec, ""};
  return {spec.substr(0, eq), spec.substr(eq + 1)};
}

Gossip::Gossip(GossipOptions options, ModelHost& host, LogFn log, ClockFn clock)
    : opt_(std::move(options)), host_(host), log_(std::move(log)), clock_(std::move(clock)) {
  rng_.seed(opt_.seed ? opt_.seed : (static_cast<uint64_t>(std::random_device{}()) << 32) ^ std::random_device{}());
  period_ns_ = int64_t{std::max(opt_.period_ms, 1)} * 1'000'000;
  asked_ns_.assign(opt_.peers.size(), 0);
  // A random phase: nodes started together do not all gossip at the same instant.
  next_round_ns_ = clock_() + static_cast<int64_t>(rng_() % static_cast<uint64_t>(period_ns_));
}

uint64_t Gossip::seq_of(const std::string& origin) const {
  auto it = versions_.find(origin);
  return it == versions_.end() ? 0 : it->second;
}

Gossip::Received Gossip::reject(const std::string& id, const Status& why, const std::string& from, const std::string& name) {
  // Errors go back to the sender of an UPDATE: they name this node.
  const Status st = why.message().rfind("node ", 0) == 0 ? why : why.with_context("node " + opt_.node_id);
  Received r;
  r.outcome = Outcome::rejected;
  r.status = st;
  r.delta = name;
  if (!rejected_.insert(id).second) return r;  // counted and logged the first time
  rejected_order_.push_back(id);
  if (rejected_order_.size() > opt_.max_rejected_remembered) {
    rejected_.erase(rejected_order_.front());
    rejected_order_.pop_front();
  }
  ++rejected_count_;
  last_rejection_ = st.message();
  log_("gossip " + opt_.node_id + ": rejected a delta " + from + ": " + st.to_string());
  return r;
}

Gossip::Received Gossip::receive(std::span<const uint8_t> envelope, const std::string& from) {
  // Rejections are remembered by the bytes' hash: a peer sending the same bad bytes every
  // round is counted once.
  const std::string raw_id = model_version(envelope.data(), envelope.size());
  auto decoded = delta_decode(envelope, opt_.delta_limits);
  if (!decoded.is_ok()) return reject(raw_id, decoded.status(), from);
  Delta& d = *decoded;
  const std::string name = delta_name(d.body);
  if (rejected_.count(raw_id)) return reject(raw_id, invalid_argument("delta ", name, " was rejected before"), from, name);
  const Key key{d.body.origin(), d.body.seq()};
  const uint64_t have = seq_of(key.first);
  if (!versions_.count(key.first) && versions_.size() >= opt_.max_origins)
    return reject(raw_id, resource_exhausted("delta ", name, ": already ", opt_.max_origins, " origins"), from, name);
  auto same_or_conflict = [&](const std::map<Key, Delta>& m, Outcome if_same) -> std::optional<Received> {
    auto it = m.find(key);
    if (it == m.end()) return std::nullopt;
    if (it->second.id != d.id)
      return reject(raw_id, invalid_argument("delta ", name, ": conflicts with the delta ", it->second.id, " of the same origin and seq"),
                    from, name);
    return Received{if_same, Status::ok(), name};
  };
  if (key.second <= have) {
    if (auto r = same_or_conflict(kept_, Outcome::duplicate)) return *r;
    return Received{Outcome::duplicate, Status::ok(), name};  // applied long ago (no longer kept)
  }
  if (key.second > have + 1) {
    if (auto r = same_or_conflict(held_, Outcome::held)) return *r;
    if (held_.size() >= opt_.max_held)
      return reject(raw_id, resource_exhausted("delta ", name, ": waits for ", key.first, " #", have + 1, ", and ", opt_.max_held,
                                               " deltas already wait"), from, name);
    log_("gossip " + opt_.node_id + ": holding delta " + name + " " + from + " until " + key.first + " #" +
         std::to_string(have + 1) + " arrives");
    held_.emplace(key, std::move(d));
    return Received{Outcome::held, Status::ok(), name};
  }
  Status st = apply(d);
  if (!st.is_ok()) return reject(raw_id, st, from, name);
  keep(std::move(d));
  drain_held(key.first, from);
  return Received{Outcome::applied, Status::ok(), name};
}

Status Gossip::apply(const Delta& d) {
  const std::string where = "node " + opt_.node_id + ": delta " + delta_name(d.body);
  auto served = host_.served(d.body.model());
  if (!served.is_ok()) return served.status().with_context(where);
  if (!served->bytes) return unsupported(where, ": this node keeps no model bytes to patch (updates are off)");
  if (served->version == d.body.result_version() && served->version != d.body.base_version()) {
    // The model already is what this delta makes: a node restarted from its checkpoint whose
    // version vector was not yet written. Taken as applied; nothing to patch.
    versions_[d.body.origin()] = d.body.seq();
    log_("gossip " + opt_.node_id + ": delta " + delta_name(d.body) + ": the model already has its result version");
    save_state();
    return Status::ok();
  }
  if (served->version != d.body.base_version())
    return invalid_argument(where, ": wrong base: the model is at version ", served->version);
  auto patched = delta_apply(*served->bytes, d.body);
  if (!patched.is_ok()) return patched.status().with_context("node " + opt_.node_id);
  // Compare and swap: a LOAD in between would make the base stale (the node's loop thread
  // handles both, so it cannot happen there, but ModelHost is shared with other threads).
  EP_RETURN_IF_ERROR(host_.update(d.body.model(), d.body.base_version(), std::move(patched).value()));
  versions_[d.body.origin()] = d.body.seq();
  ++applied_;
  last_applied_ns_ = clock_();
  log_("gossip " + opt_.node_id + ": applied delta " + delta_name(d.body));
  if (on_applied_) {
    auto now_served = host_.served(d.body.model());
    if (now_served.is_ok() && now_served->bytes) on_applied_(d.body.model(), *now_served->bytes);
  }
  save_state();
  return Status::ok();
}

void Gossip::save_state() {
  if (opt_.state_file.empty()) return;
  wire::GossipDigest state;
  fill_digest(&state);
  const std::string bytes = state.SerializeAsString();
  Status st = write_file_atomically(opt_.state_file, bytes.data(), bytes.size());
  if (!st.is_ok()) log_("gossip " + opt_.node_id + ": version vector not kept: " + st.to_string());
}

Status Gossip::load_state() {
  if (opt_.state_file.empty()) return Status::ok();
  std::error_code ec;
  if (!std::filesystem::exists(opt_.state_file, ec)) return Status::ok();
  const std::string where = "gossip state '" + opt_.state_file + "'";
  const auto size = std::filesystem::file_size(opt_.state_file, ec);
  if (ec) return io_error(where, ": ", ec.message());
  if (size > (size_t{1} << 20)) return invalid_argument(where, ": ", size, " bytes, limit 1 MiB");
  std::ifstream f(opt_.state_file, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  wire::GossipDigest state;
  if (!state.ParseFromString(bytes)) return invalid_argument(where, ": not a version vector");
  if (static_cast<size_t>(state.versions_size()) > opt_.max_origins)
    return invalid_argument(where, ": ", state.versions_size(), " origins, limit ", opt_.max_origins);
  for (const wire::VersionEntry& e : state.versions()) {
    if (e.origin().empty() || e.origin().size() > opt_.delta_limits.max_name)
      return invalid_argument(where, ": an origin name is empty or longer than ", opt_.delta_limits.max_name, " bytes");
    versions_[e.origin()] = e.seq();
  }
  return Status::ok();
}

void Gossip::keep(Delta d) {
  const Key key{d.body.origin(), d.body.seq()};
  kept_bytes_ += d.envelope->size();
  kept_order_.push_back(key);
  kept_.emplace(key, std::move(d));
  while (!kept_order_.empty() && (kept_order_.size() > opt_.max_kept || kept_bytes_ > opt_.max_kept_bytes)) {
    auto it = kept_.find(kept_order_.front());
    kept_bytes_ -= it->second.envelope->size();
    kept_.erase(it);
    kept_order_.pop_front();
  }
}

void Gossip::drain_held(const std::string& origin, const std::string& from) {
  for (;;) {
    auto it = held_.find(Key{origin, seq_of(origin) + 1});
    if (it == held_.end()) return;
    Delta d = std::move(it->second);
    held_.erase(it);
    Status st = apply(d);
    if (!st.is_ok()) {
      const std::string raw_id = model_version(d.envelope->data(), d.envelope->size());
      (void)reject(raw_id, st, "(held, " + from + ")", delta_name(d.body));
      return;
    }
    keep(std::move(d));
  }
}

void Gossip::fill_digest(wire::GossipDigest* digest) const {
  digest->set_node_id(opt_.node_id);
  for (const auto& [origin, seq] : versions_) {
    wire::VersionEntry* e = digest->add_versions();
    e->set_origin(origin);
    e->set_seq(seq);
  }
}

std::vector<std::shared_ptr<const std::string>> Gossip::missing_for(const wire::GossipDigest& peer) const {
  std::map<std::string, uint64_t> theirs;
  for (const wire::VersionEntry& e : peer.versions()) theirs[e.origin()] = std::max(theirs[e.origin()], e.seq());
  std::vector<std::shared_ptr<const std::string>> out;
  for (const Key& k : kept_order_) {
    if (out.size() >= opt_.max_per_message) break;
    auto t = theirs.find(k.first);
    if (t != theirs.end() && t->second >= k.second) continue;
    out.push_back(kept_.at(k).envelope);
  }
  return out;
}

std::optional<size_t> Gossip::round_due(int64_t now_ns) {
  if (opt_.peers.empty() || now_ns < next_round_ns_) return std::nullopt;
  next_round_ns_ += period_ns_;
  if (next_round_ns_ <= now_ns) next_round_ns_ = now_ns + period_ns_;  // fell behind: no burst of rounds
  std::vector<size_t> ready;
  for (size_t i = 0; i < asked_ns_.size(); ++i)
    if (asked_ns_[i] == 0 || now_ns - asked_ns_[i] >= kRetryRounds * period_ns_) ready.push_back(i);
  if (ready.empty()) return std::nullopt;  // every peer silent: wait for one to answer or to retry
  const size_t peer = ready[static_cast<size_t>(rng_() % ready.size())];
  asked_ns_[peer] = now_ns;
  ++rounds_;
  return peer;
}

void Gossip::answered(const std::string& address) {
  for (size_t i = 0; i < opt_.peers.size(); ++i)
    if (gossip_peer_split(opt_.peers[i]).first == address) asked_ns_[i] = 0;
}

int64_t Gossip::ns_until_round(int64_t now_ns) const {
  if (opt_.peers.empty()) return INT64_MAX;
  return std::max<int64_t>(0, next_round_ns_ - now_ns);
}

void Gossip::fill_status(wire::GossipStatus* s) const {
  s->set_node_id(opt_.node_id);
  for (const auto& [origin, seq] : versions_) {
    wire::VersionEntry* e = s->add_versions();
    e->set_origin(origin);
    e->set_seq(seq);
  }
  s->set_deltas_applied(applied_);
  s->set_deltas_rejected(rejected_count_);
  s->set_deltas_held(held_.size());
  s->set_deltas_kept(kept_.size());
  s->set_rounds(rounds_);
  s->set_last_applied_ns(last_applied_ns_);
  s->set_last_rejection(last_rejection_);
  s->set_peers(static_cast<uint32_t>(opt_.peers.size()));
  s->set_period_ns(period_ns_);
}

}  // namespace ep::dist
