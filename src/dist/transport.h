// ZeroMQ plumbing shared by the node, the client, the link emulator and the hop benchmark.
// Internal to src/dist (the only code that includes zmq.hpp). Tensor frames are sent
// without copies: a frame owns its buffer and libzmq frees it when the kernel has it.
#pragma once

#include <memory>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "dist/keys.h"
#include "dist/wire.h"

namespace ep::dist {

using Frames = std::vector<zmq::message_t>;

// A frame that owns `t`'s buffer (no copy); the tensor is freed when libzmq is done.
zmq::message_t frame_from_tensor(Tensor&& t);
zmq::message_t frame_from_header(const wire::Header& h);
std::vector<Frame> frame_spans(const Frames& frames, size_t first = 0);

// Sends all frames as one multipart message (moved out). Errors name `where`.
Status send_frames(zmq::socket_t& s, Frames& frames, const std::string& where);
// Receives one whole multipart message; false if none arrived (EAGAIN / timeout). A message
// of more than `max_frames` parts is read to its end, kept nowhere, and is an error.
Result<bool> recv_frames(zmq::socket_t& s, Frames& frames, bool wait, const std::string& where, size_t max_frames = 256);

// Security of one connecting socket: CURVE client when `server_key` is set.
Status secure_client(zmq::socket_t& s, const std::string& server_key, const KeyPair* own, const std::string& where);

}  // namespace ep::dist
