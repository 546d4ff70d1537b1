// Writes the wire fuzz target's seed corpus (committed in fuzz/corpus/wire): one valid
// message of each kind (but a GOSSIP_DELTAS push, which has no reply) and malformed variants
// of each, framed as wire_frames.h says.
//   build/fuzz/make_wire_corpus fuzz/corpus/wire
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "dist/wire.h"
#include "wire_frames.h"

namespace {

using ep::dist::wire::Header;
namespace wire = ep::dist::wire;

Header infer(const std::vector<int64_t>& dims, wire::DType dt = wire::F32) {
  Header h = ep::dist::make_header(wire::INFER, 1);
  h.set_model("stage1");
  auto* t = h.add_tensors();
  t->set_name("X");
  t->set_dtype(dt);
  for (int64_t d : dims) t->add_dims(d);
  return h;
}

void write(const std::string& dir, const std::string& name, const std::vector<std::string>& frames) {
  std::ofstream(dir + "/" + name, std::ios::binary) << ep::fuzz::wire_frames_join(frames);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  const Header ok = infer({1, 2, 5, 5});
  write(dir, "infer_ok", {ok.SerializeAsString(), std::string(200, '\1')});
  Header routed = ok;
  auto* hop = routed.add_route();
  hop->set_address("tcp://127.0.0.1:5555");
  hop->set_model("stage2");
  hop->set_server_key(std::string(40, 'a'));
  write(dir, "infer_routed", {routed.SerializeAsString(), std::string(200, '\1')});
  Header two = ok;
  auto* t = two.add_tensors();
  t->set_name("mask");
  t->set_dtype(wire::U8);
  t->add_dims(3);
  write(dir, "infer_two_tensors", {two.SerializeAsString(), std::string(200, '\1'), "abc"});
  write(dir, "infer_scalar_i64", {infer({}, wire::I64).SerializeAsString(), std::string(8, '\7')});
  write(dir, "infer_empty_dim", {infer({0, 3}).SerializeAsString(), ""});
  write(dir, "status", {ep::dist::make_header(wire::STATUS, 2).SerializeAsString()});
  Header ping = ep::dist::make_header(wire::PING, 3);
  ping.mutable_ping()->set_t0(123456789);
  write(dir, "ping", {ping.SerializeAsString()});
  Header load = ep::dist::make_header(wire::LOAD, 4);
  load.set_model("extra");
  write(dir, "load_not_onnx", {load.SerializeAsString(), "not an onnx model"});
  Header err = ep::dist::make_error(ok, ep::invalid_argument("model 'x': bad"));
  write(dir, "error_reply", {err.SerializeAsString()});
  // Model updates by gossip: a digest, deltas (any bytes: the delta decoder checks them), an UPDATE.
  Header digest = ep::dist::make_header(wire::GOSSIP_DIGEST, 5);
  auto* v = digest.mutable_gossip()->add_versions();
  v->set_origin("trainer");
  v->set_seq(3);
  write(dir, "gossip_digest", {digest.SerializeAsString()});
  Header deltas = ep::dist::make_header(wire::GOSSIP_DELTAS, 6);
  *deltas.mutable_gossip() = digest.gossip();
  deltas.mutable_gossip()->set_deltas(2);
  // (A well-formed GOSSIP_DELTAS is a push with no reply: dist_test sends this corpus to a live
  // node and expects an answer to each, so only the malformed one is here.)
  write(dir, "update_not_a_delta", {ep::dist::make_header(wire::UPDATE, 7).SerializeAsString(), "a delta"});
  write(dir, "bad_gossip_deltas_count", {deltas.SerializeAsString(), "only one"});
  Header digest_with_deltas = digest;
  digest_with_deltas.mutable_gossip()->set_deltas(1);
  write(dir, "bad_gossip_digest_with_deltas", {digest_with_deltas.SerializeAsString(), "x"});
  Header status_with_gossip = ep::dist::make_header(wire::STATUS, 8);
  *status_with_gossip.mutable_gossip() = digest.gossip();
  write(dir, "bad_status_with_gossip", {status_with_gossip.SerializeAsString()});
  // Malformed: sizes that disagree, shapes that overflow, fields out of range.
  write(dir, "bad_short_frame", {ok.SerializeAsString(), std::string(199, '\1')});
  write(dir, "bad_missing_frame", {ok.SerializeAsString()});
  write(dir, "bad_extra_frame", {ok.SerializeAsString(), std::string(200, '\1'), "x"});
  write(dir, "bad_overflow_dims", {infer({1ll << 40, 1ll << 40, 1ll << 40}).SerializeAsString(), ""});
  write(dir, "bad_negative_dim", {infer({-1, 4}).SerializeAsString(), ""});
  write(dir, "bad_dtype", {infer({2}, static_cast<wire::DType>(99)).SerializeAsString(), "12345678"});
  Header v2 = ok;
  v2.set_version(2);
  write(dir, "bad_version", {v2.SerializeAsString(), std::string(200, '\1')});
  // Tensors in a sender's shared memory: a well-formed reference to no segment, bad fields.
  Header shm = infer({1, 2, 5, 5});
  auto* ref = shm.mutable_tensors(0)->mutable_shm();
  ref->set_pid(1);
  ref->set_fd(3);
  ref->set_token(std::string(32, 'c'));
  ref->set_offset(64);
  write(dir, "infer_shm_no_segment", {shm.SerializeAsString(), ""});
  write(dir, "bad_shm_with_bytes", {shm.SerializeAsString(), std::string(200, '\1')});
  Header shm_bad = shm;
  shm_bad.mutable_tensors(0)->mutable_shm()->set_token("../../etc/passwd");
  shm_bad.mutable_tensors(0)->mutable_shm()->set_offset(3);
  write(dir, "bad_shm_token", {shm_bad.SerializeAsString(), ""});
  write(dir, "bad_header_bytes", {"\x0a\xff\xff\xff\xff\x0f garbage", "x"});
  write(dir, "bad_empty", {});
  std::printf("wrote the wire corpus to %s\n", dir.c_str());
  return 0;
}
