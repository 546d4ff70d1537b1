#include "dist/wire.h"

#include <set>

#include "dist/shm.h"

namespace ep::dist {

namespace {

bool is_z85_key(const std::string& k) {
  static const std::string kZ85 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
  if (k.size() != 40) return false;
  for (char c : k)
    if (kZ85.find(c) == std::string::npos) return false;
  return true;
}

bool is_address(const std::string& a) {
  return a.size() <= 256 && (a.rfind("tcp://", 0) == 0 || a.rfind("ipc://", 0) == 0 || a.rfind("inproc://", 0) == 0);
}

Status check_name(const std::string& what, const std::string& name, size_t max, bool required) {
  if (required && name.empty()) return invalid_argument(what, " is empty");
  if (name.size() > max) return invalid_argument(what, " has ", name.size(), " bytes, limit ", max);
  return Status::ok();
}

Result<size_t> tensor_bytes(const wire::TensorMeta& m, size_t index, const WireLimits& limits) {
  const std::string where = "header.tensors[" + std::to_string(index) + "]";
  EP_RETURN_IF_ERROR(check_name(where + ".name", m.name(), limits.max_name, true));
  auto dt = dtype_from_wire(m.dtype());
  if (!dt.is_ok()) return dt.status().with_context(where + " '" + m.name() + "'");
  if (static_cast<size_t>(m.dims_size()) > limits.max_rank)
    return invalid_argument(where, " '", m.name(), "': rank ", m.dims_size(), ", limit ", limits.max_rank);
  const size_t esize = dtype_size(*dt);
  size_t bytes = esize;
  for (int d = 0; d < m.dims_size(); ++d) {
    const int64_t dim = m.dims(d);
    if (dim < 0) return invalid_argument(where, " '", m.name(), "': dims[", d, "] = ", dim, " is negative");
    if (dim > 0 && bytes > limits.max_tensor_bytes / static_cast<size_t>(dim))
      return resource_exhausted(where, " '", m.name(), "': more than ", limits.max_tensor_bytes, " bytes");
    bytes *= static_cast<size_t>(dim);
  }
  if (bytes > limits.max_tensor_bytes)
    return resource_exhausted(where, " '", m.name(), "': ", bytes, " bytes, limit ", limits.max_tensor_bytes);
  if (m.has_shm()) {
    Status st = validate_shm_ref(m.shm());
    if (!st.is_ok()) return st.with_context(where + " '" + m.name() + "'");
    if (m.shm().offset() % esize != 0)
      return invalid_argument(where, " '", m.name(), "': shm.offset ", m.shm().offset(), " is not a multiple of the element size ", esize);
  }
  return bytes;
}

// Model updates by gossip: the digest only on GOSSIP_DIGEST and GOSSIP_DELTAS, bounded.
Status validate_gossip(const wire::Header& h, const WireLimits& limits) {
  const bool gossip = h.kind() == wire::GOSSIP_DIGEST || h.kind() == wire::GOSSIP_DELTAS;
  if (!gossip) {
    if (h.has_gossip()) return invalid_argument("header.gossip: only GOSSIP_DIGEST and GOSSIP_DELTAS carry it");
    return Status::ok();
  }
  const wire::GossipDigest& g = h.gossip();
  EP_RETURN_IF_ERROR(check_name("header.gossip.node_id", g.node_id(), limits.max_name, false));
  if (static_cast<size_t>(g.versions_size()) > limits.max_versions)
    return invalid_argument("header.gossip.versions has ", g.versions_size(), " entries, limit ", limits.max_versions);
  for (int i = 0; i < g.versions_size(); ++i)
    EP_RETURN_IF_ERROR(check_name("header.gossip.versions[" + std::to_string(i) + "].origin", g.versions(i).origin(), limits.max_name, true));
  if (h.kind() == wire::GOSSIP_DIGEST && g.deltas() != 0) return invalid_argument("header.gossip.deltas: a GOSSIP_DIGEST carries no deltas");
  if (g.deltas() > limits.max_deltas) return invalid_argument("header.gossip.deltas is ", g.deltas(), ", limit ", limits.max_deltas);
  return Status::ok();
}

// Data frames a message of this kind has besides its tensors (LOAD: the model, UPDATE: a delta).
size_t extra_frames(const wire::Header& h) {
  if (h.kind() == wire::LOAD || h.kind() == wire::UPDATE) return 1;
  if (h.kind() == wire::GOSSIP_DELTAS) return h.gossip().deltas();
  return 0;
}

}  // namespace

Result<DType> dtype_from_wire(int value) {
  if (value <= static_cast<int>(wire::DTYPE_UNSPECIFIED) || value > static_cast<int>(wire::BOOL))
    return invalid_argument("dtype ", value, " is not a wire dtype (1..13)");
  return static_cast<DType>(value);  // wire values mirror DType's order (wire.proto)
}

wire::DType dtype_to_wire(DType t) { return static_cast<wire::DType>(static_cast<int>(t)); }

void set_meta(wire::TensorMeta* meta, const std::string& name, const TensorView& v) {
  meta->set_name(name);
  meta->set_dtype(dtype_to_wire(v.dtype));
  meta->clear_dims();
  for (int64_t d : v.shape.dims()) meta->add_dims(d);
}

Status validate_header(const wire::Header& h, const WireLimits& limits) {
  if (h.version() != kProtocolVersion)
    return unsupported("header.version ", h.version(), ": this node speaks protocol version ", kProtocolVersion);
  if (!wire::Kind_IsValid(h.kind()) || h.kind() == wire::KIND_UNSPECIFIED)
    return invalid_argument("header.kind ", static_cast<int>(h.kind()), " is not a message kind");
  const bool needs_model = h.kind() == wire::INFER || h.kind() == wire::LOAD;
  EP_RETURN_IF_ERROR(check_name("header.model", h.model(), limits.max_name, needs_model));
  if (static_cast<size_t>(h.route_size()) > limits.max_route)
    return invalid_argument("header.route has ", h.route_size(), " hops, limit ", limits.max_route);
  for (int i = 0; i < h.route_size(); ++i) {
    const wire::Hop& hop = h.route(i);
    const std::string where = "header.route[" + std::to_string(i) + "]";
    if (!is_address(hop.address()))
      return invalid_argument(where, ".address '", hop.address().substr(0, 64), "' is not a tcp://, ipc:// or inproc:// address");
    EP_RETURN_IF_ERROR(check_name(where + ".model", hop.model(), limits.max_name, true));
    if (!hop.server_key().empty() && !is_z85_key(hop.server_key()))
      return invalid_argument(where, ".server_key is not a 40-character Z85 key");
  }
  if (static_cast<size_t>(h.hops_size()) > limits.max_hops)
    return invalid_argument("header.hops has ", h.hops_size(), " stamps, limit ", limits.max_hops);
  for (int i = 0; i < h.hops_size(); ++i) {
    EP_RETURN_IF_ERROR(check_name("header.hops[" + std::to_string(i) + "].node", h.hops(i).node(), limits.max_name, false));
    EP_RETURN_IF_ERROR(check_name("header.hops[" + std::to_string(i) + "].model", h.hops(i).model(), limits.max_name, false));
  }
  if (h.nhwc_io_size() > 0 && h.kind() != wire::LOAD)
    return invalid_argument("header.nhwc_io: only a LOAD message names NHWC inputs and outputs");
  if (static_cast<size_t>(h.nhwc_io_size()) > limits.max_tensors)
    return invalid_argument("header.nhwc_io has ", h.nhwc_io_size(), " names, limit ", limits.max_tensors);
  for (int i = 0; i < h.nhwc_io_size(); ++i)
    EP_RETURN_IF_ERROR(check_name("header.nhwc_io[" + std::to_string(i) + "]", h.nhwc_io(i), limits.max_name, true));
  EP_RETURN_IF_ERROR(validate_gossip(h, limits));
  const bool carries_tensors = h.kind() == wire::INFER || h.kind() == wire::RESULT;
  if (!carries_tensors && h.tensors_size() > 0)
    return invalid_argument("header.tensors: a ", wire::Kind_Name(h.kind()), " message carries no tensors");
  if (static_cast<size_t>(h.tensors_size()) > limits.max_tensors)
    return invalid_argument("header.tensors has ", h.tensors_size(), " entries, limit ", limits.max_tensors);
  std::set<std::string> names;
  for (int i = 0; i < h.tensors_size(); ++i) {
    EP_ASSIGN_OR_RETURN(size_t bytes, tensor_bytes(h.tensors(i), static_cast<size_t>(i), limits));
    (void)bytes;
    if (!names.insert(h.tensors(i).name()).second)
      return invalid_argument("header.tensors[", i, "]: name '", h.tensors(i).name(), "' appears twice");
  }
  return Status::ok();
}

Result<Decoded> decode(std::span<const Frame> frames, const WireLimits& limits, const std::string& where, ShmMapper* shm) {
  auto fail = [&](const Status& st) { return where.empty() ? st : st.with_context("message " + where); };
  if (frames.empty()) return fail(invalid_argument("no frames"));
  if (frames[0].size() > limits.max_header_bytes)
    return fail(resource_exhausted("header frame has ", frames[0].size(), " bytes, limit ", limits.max_header_bytes));
  Decoded d;
  if (!d.header.ParseFromArray(frames[0].data(), static_cast<int>(frames[0].size())))
    return fail(invalid_argument("header frame (", frames[0].size(), " bytes) is not a wire.v1.Header"));
  Status st = validate_header(d.header, limits);
  if (!st.is_ok()) return fail(st);
  const wire::Header& h = d.header;
  const size_t expected = 1 + extra_frames(h) + static_cast<size_t>(h.tensors_size());
  if (frames.size() != expected)
    return fail(invalid_argument(wire::Kind_Name(h.kind()), " with ", h.tensors_size(), " tensors has ", frames.size() - 1,
                                 " data frames, expected ", expected - 1));
  if (h.kind() == wire::LOAD && frames[1].size() > limits.max_model_bytes)
    return fail(resource_exhausted("LOAD model frame has ", frames[1].size(), " bytes, limit ", limits.max_model_bytes));
  if (h.kind() == wire::UPDATE || h.kind() == wire::GOSSIP_DELTAS)
    for (size_t i = 1; i < frames.size(); ++i)
      if (frames[i].size() > limits.max_delta_bytes)
        return fail(resource_exhausted(wire::Kind_Name(h.kind()), " delta frame ", i, " has ", frames[i].size(), " bytes, limit ",
                                       limits.max_delta_bytes));
  size_t total = 0;
  for (int i = 0; i < h.tensors_size(); ++i) {
    const wire::TensorMeta& m = h.tensors(i);
    auto bytes = tensor_bytes(m, static_cast<size_t>(i), limits);
    if (!bytes.is_ok()) return fail(bytes.status());
    Frame f = frames[static_cast<size_t>(i) + 1];
    total += *bytes;
    if (total > limits.max_total_bytes)
      return fail(resource_exhausted("tensors total more than ", limits.max_total_bytes, " bytes"));
    if (m.has_shm()) {
      // The bytes are in the sender's segment; its frame carries nothing.
      if (!f.empty())
        return fail(invalid_argument("tensor '", m.name(), "': frame ", i + 1, " has ", f.size(), " bytes, but the tensor is in shared memory"));
      if (!shm)
        return fail(unsupported("tensor '", m.name(), "' is in the sender's shared memory, which this receiver does not accept"));
      std::shared_ptr<const void> keep;
      auto span = shm->resolve(m.shm(), *bytes, &keep);
      if (!span.is_ok()) return fail(span.status().with_context("tensor '" + m.name() + "'"));
      f = *span;
      d.keep.push_back(std::move(keep));
    } else if (f.size() != *bytes) {
      return fail(invalid_argument("tensor '", m.name(), "': frame ", i + 1, " has ", f.size(), " bytes, header says ", *bytes));
    }
    TensorView v;
    v.dtype = static_cast<DType>(static_cast<int>(m.dtype()));
    v.shape = Shape(std::vector<int64_t>(m.dims().begin(), m.dims().end()));
    v.data = const_cast<uint8_t*>(f.data());
    d.tensors.push_back(std::move(v));
    d.names.push_back(m.name());
  }
  return d;
}

wire::Header make_header(wire::Kind kind, uint64_t frame_id) {
  wire::Header h;
  h.set_version(kProtocolVersion);
  h.set_kind(kind);
  h.set_frame_id(frame_id);
  return h;
}

wire::Header make_error(const wire::Header& request, const Status& st) {
  wire::Header h = make_header(wire::ERROR, request.frame_id());
  h.set_tag(request.tag());
  h.set_model(request.model());
  *h.mutable_hops() = request.hops();
  h.mutable_error()->set_code(status_code_name(st.code()));
  h.mutable_error()->set_message(st.message());
  return h;
}

Status error_status(const wire::Header& h) {
  static const StatusCode kCodes[] = {StatusCode::invalid_argument, StatusCode::invalid_model, StatusCode::unsupported,
                                      StatusCode::out_of_range, StatusCode::io_error, StatusCode::resource_exhausted};
  for (StatusCode c : kCodes)
    if (h.error().code() == status_code_name(c)) return Status(c, h.error().message());
  return Status(StatusCode::internal, h.error().message());
}

}  // namespace ep::dist
