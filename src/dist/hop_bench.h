// The cost of one hop for one tensor: from handing the header and the tensor frame to the
// socket until the receiver has the whole message decoded and validated, with a TensorView
// into the received frame (what a node gives its session). Sender and receiver are two
// threads of this process, so both stamps come from one clock. The sender waits for a small
// acknowledgement before the next frame, so hops never queue behind each other (and, with
// shared memory, before it writes the next tensor over the last one).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "edgepipe/status.h"
#include "edgepipe/tensor.h"

namespace ep::dist {

struct HopBenchOptions {
  Shape shape{1, 3, 640, 640};  // f32
  int warmup = 20;
  int iterations = 200;
  std::string address = "tcp://127.0.0.1:*";
  bool curve = false;            // encrypt (an allow-listed keypair, a ZAP handler as a node has)
  int socket_buffer_bytes = 0;  // SO_SNDBUF / SO_RCVBUF; 0: the kernel's default
  // The tensor in the sender's shared memory segment (dist/shm.h), only its reference in the
  // header: the same-host path. The receiver still decodes and validates, and maps the
  // segment on the first hop (kept mapped after).
  bool shm = false;
};

struct HopBenchResult {
  size_t bytes = 0;
  std::vector<int64_t> hop_ns;  // one per iteration, in order
  int64_t min_ns = 0, p50_ns = 0, p90_ns = 0, p99_ns = 0, max_ns = 0;
  int misaligned = 0;  // received frames that would need a copy before a session could use them
  std::string endpoint;
};

Result<HopBenchResult> hop_bench(const HopBenchOptions& options);

}  // namespace ep::dist
