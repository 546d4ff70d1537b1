#include "dist/transport.h"

namespace ep::dist {

namespace {
void free_tensor(void* /*data*/, void* hint) { delete static_cast<Tensor*>(hint); }
}  // namespace

zmq::message_t frame_from_tensor(Tensor&& t) {
  if (t.nbytes() == 0) return zmq::message_t();
  auto* owned = new Tensor(std::move(t));
  return zmq::message_t(owned->data(), owned->nbytes(), free_tensor, owned);
}

zmq::message_t frame_from_header(const wire::Header& h) {
  zmq::message_t m(h.ByteSizeLong());
  h.SerializeToArray(m.data(), static_cast<int>(m.size()));
  return m;
}

std::vector<Frame> frame_spans(const Frames& frames, size_t first) {
  std::vector<Frame> spans;
  for (size_t i = first; i < frames.size(); ++i) spans.emplace_back(static_cast<const uint8_t*>(frames[i].data()), frames[i].size());
  return spans;
}

Status send_frames(zmq::socket_t& s, Frames& frames, const std::string& where) {
  try {
    for (size_t i = 0; i < frames.size(); ++i) {
      const auto flags = i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none;
      if (!s.send(frames[i], flags)) return io_error(where, ": send would block (peer gone or queue full)");
    }
  } catch (const zmq::error_t& e) {
    return io_error(where, ": send: ", e.what());
  }
  frames.clear();
  return Status::ok();
}

Result<bool> recv_frames(zmq::socket_t& s, Frames& frames, bool wait, const std::string& where, size_t max_frames) {
  frames.clear();
  size_t parts = 0;
  try {
    for (bool more = true; more;) {
      zmq::message_t m;
      const auto flags = parts == 0 && !wait ? zmq::recv_flags::dontwait : zmq::recv_flags::none;
      if (!s.recv(m, flags)) {
        if (parts == 0) return false;
        return io_error(where, ": multipart message cut short");
      }
      more = m.more();
      if (++parts <= max_frames) frames.push_back(std::move(m));
    }
    if (parts > max_frames) {
      frames.clear();
      return invalid_argument(where, ": message of ", parts, " frames dropped, limit ", max_frames);
    }
  } catch (const zmq::error_t& e) {
    return io_error(where, ": recv: ", e.what());
  }
  return true;
}

Status secure_client(zmq::socket_t& s, const std::string& server_key, const KeyPair* own, const std::string& where) {
  if (server_key.empty()) return Status::ok();
  if (!key_is_z85(server_key)) return invalid_argument(where, ": server key is not a 40-character Z85 key");
  KeyPair ephemeral;
  if (!own) {
    // No keys of our own: an ephemeral pair encrypts, but no allow-list will admit it.
    EP_ASSIGN_OR_RETURN(ephemeral, keypair_generate());
    own = &ephemeral;
  }
  try {
    s.set(zmq::sockopt::curve_serverkey, server_key);
    s.set(zmq::sockopt::curve_publickey, own->public_key);
    s.set(zmq::sockopt::curve_secretkey, own->secret_key);
  } catch (const zmq::error_t& e) {
    return internal_error(where, ": CURVE setup: ", e.what());
  }
  return Status::ok();
}

}  // namespace ep::dist
