// Writes the node tests' models (dist_models.h) into a folder: for tests outside C++
// (python_client_test.py).
#include <cstdio>

#include "dist_models.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  ep::dist::testing::write_models(argv[1]);
  return 0;
}
