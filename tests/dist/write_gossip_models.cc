// Writes the gossip benchmark's models (gossip_models.h) and input: bench/gossip.sh.
#include <cstdio>
#include <cstdlib>

#include "edgepipe/npy.h"
#include "gossip_models.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s DIR VERSIONS\n", argv[0]);
    return 2;
  }
  ep::dist::testing::write_gossip_models(argv[1], std::atoi(argv[2]));
  ep::Tensor x = ep::dist::testing::input_x();
  ep::Status st = ep::npy_write(std::string(argv[1]) + "/x.npy", x.view());
  if (!st.is_ok()) {
    std::fprintf(stderr, "%s\n", st.to_string().c_str());
    return 1;
  }
  return 0;
}
