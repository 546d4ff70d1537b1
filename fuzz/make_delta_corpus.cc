// Writes the delta fuzz target's seed corpus (committed in fuzz/corpus/delta): valid deltas
// for delta_base_model.h's model (exact, top-k, one initializer) and malformed variants.
//   build/fuzz/make_delta_corpus fuzz/corpus/delta
#include <cmath>
#include <cstdio>
#include <fstream>

#include "delta_base_model.h"
#include "dist/delta.h"
#include "dist/model_host.h"

namespace {

namespace dist = ep::dist;

void write(const std::string& dir, const std::string& name, const std::string& bytes) {
  std::ofstream(dir + "/" + name, std::ios::binary) << bytes;
}

dist::wire::ModelDelta make(const std::string& base, const std::string& next, size_t k) {
  dist::DeltaMakeOptions o;
  o.model = "m";
  o.origin = "corpus";
  o.top_k = k;
  auto d = dist::delta_make(base, next, o);
  EP_CHECK_MSG(d.is_ok(), d.status().to_string().c_str());
  return *d;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  const std::string base = ep::fuzz::delta_base_model();
  const std::string next = ep::test_models::serialize(ep::dist::testing::changed_weights(ep::dist::testing::gossip_base_model(), 1, 12));
  const dist::wire::ModelDelta exact = make(base, next, 0);
  write(dir, "exact", dist::delta_encode(exact));
  write(dir, "top3", dist::delta_encode(make(base, next, 3)));
  write(dir, "top1", dist::delta_encode(make(base, next, 1)));
  std::string flipped = dist::delta_encode(exact);
  flipped[flipped.size() / 2] ^= 1;
  write(dir, "bad_flipped_byte", flipped);
  write(dir, "bad_truncated", dist::delta_encode(exact).substr(0, 40));
  write(dir, "bad_empty", "");
  auto variant = [&](const std::string& name, auto change) {
    dist::wire::ModelDelta d = exact;
    change(d);
    write(dir, name, dist::delta_encode(d));
  };
  variant("bad_index_out_of_range", [](auto& d) { d.mutable_patches(0)->set_indices(0, d.patches(0).elements()); });
  variant("bad_nan", [](auto& d) { d.mutable_patches(0)->set_values(0, NAN); });
  variant("bad_elements", [](auto& d) { d.mutable_patches(0)->set_elements(1u << 30); });
  variant("bad_initializer", [](auto& d) { d.mutable_patches(0)->set_initializer("nope"); });
  variant("bad_base", [](auto& d) { d.set_base_version("0000000000000000"); });
  variant("bad_result", [](auto& d) { d.set_result_version("0000000000000000"); });
  variant("bad_seq", [](auto& d) { d.set_seq(0); });
  variant("bad_values_count", [](auto& d) { d.mutable_patches(0)->add_values(1.f); });
  std::printf("wrote the delta corpus to %s\n", dir.c_str());
  return 0;
}
