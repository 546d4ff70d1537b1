// The wire format (docs/protocol.md, wire.proto): a protobuf Header frame, then one raw frame
// per tensor. Decoding validates every field and every size against the header and the
// limits before anything is used; tensor views point into the received frames (no copy).
// No ZeroMQ here: frames are byte spans, so the decoder is fuzzed on its own.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "dist/wire.pb.h"
#include "edgepipe/status.h"
#include "edgepipe/tensor.h"

namespace ep::dist {

namespace wire = ::edgepipe::wire::v1;

inline constexpr uint32_t kProtocolVersion = 1;

struct WireLimits {
  size_t max_header_bytes = size_t{64} << 10;
  size_t max_tensor_bytes = size_t{1} << 30;  // also the socket's ZMQ_MAXMSGSIZE
  size_t max_total_bytes = size_t{2} << 30;
  size_t max_tensors = 64;
  size_t max_rank = 8;
  size_t max_name = 256;   // tensor, model and node names
  size_t max_route = 16;
  size_t max_hops = 32;
  size_t max_model_bytes = size_t{1} << 30;  // LOAD
  // Model updates by gossip
  size_t max_delta_bytes = size_t{64} << 20;  // one DeltaEnvelope frame (UPDATE, GOSSIP_DELTAS)
  size_t max_deltas = 32;                      // frames of one GOSSIP_DELTAS (<= max_tensors)
  size_t max_versions = 1024;                  // version vector entries in a digest
};

using Frame = std::span<const uint8_t>;

struct Decoded {
  wire::Header header;
  std::vector<TensorView> tensors;  // one per header.tensors, pointing into the frames
  std::vector<std::string> names;
  std::vector<std::shared_ptr<const void>> keep;  // the shared memory mappings the views point into
};

class ShmMapper;

// Parses frame 0 and checks the header against the frames that follow. `where` names the
// sender in errors ("from tcp://..."). Tensors in a sender's shared memory (TensorMeta.shm)
// are resolved through `shm`; without one they are refused.
Result<Decoded> decode(std::span<const Frame> frames, const WireLimits& limits, const std::string& where = "",
                       ShmMapper* shm = nullptr);
// Field checks alone (kind, names, dtypes, shapes, route, stamps), without frames.
Status validate_header(const wire::Header& h, const WireLimits& limits);

Result<DType> dtype_from_wire(int value);
wire::DType dtype_to_wire(DType t);
void set_meta(wire::TensorMeta* meta, const std::string& name, const TensorView& v);

// A header with version and kind set.
wire::Header make_header(wire::Kind kind, uint64_t frame_id = 0);
// An ERROR reply to `request` carrying `st`.
wire::Header make_error(const wire::Header& request, const Status& st);
// The Status an ERROR header carries.
Status error_status(const wire::Header& h);

}  // namespace ep::dist
