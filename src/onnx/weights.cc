#include "onnx/weights.h"

#include <cstring>
#include <map>
#include <set>

#include "onnx/onnx_pb.h"

namespace ep::onnx_weights {
namespace {

using TP = onnx::TensorProto;

Status parse(std::string_view bytes, onnx::ModelProto& m, const std::string& where) {
  if (bytes.size() > static_cast<size_t>(INT32_MAX)) return unsupported(where, ": ", bytes.size(), " bytes, more than protobuf parses");
  if (!m.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return invalid_model(where, ": not a valid ONNX protobuf");
  return Status::ok();
}

// Element count from the dims, or an error for a negative or overflowing shape.
Result<uint64_t> element_count(const TP& t, const std::string& where) {
  uint64_t n = 1;
  for (int i = 0; i < t.dims_size(); ++i) {
    const int64_t d = t.dims(i);
    if (d < 0) return invalid_model(where, ": dims[", i, "] = ", d, " is negative");
    if (d > 0 && n > (uint64_t{1} << 40) / static_cast<uint64_t>(d)) return invalid_model(where, ": more than 2^40 elements");
    n *= static_cast<uint64_t>(d);
  }
  return n;
}

// The initializer holds its values inline and as many as its dims say.
Result<uint64_t> checked_f32(const TP& t, const std::string& where) {
  if (t.data_location() == TP::EXTERNAL) return unsupported(where, ": external data; only inline initializers are patched");
  if (t.has_segment()) return unsupported(where, ": segmented tensor");
  EP_ASSIGN_OR_RETURN(uint64_t n, element_count(t, where));
  if (t.has_raw_data()) {
    if (t.raw_data().size() != n * 4) return invalid_model(where, ": raw_data has ", t.raw_data().size(), " bytes, expected ", n * 4);
  } else if (static_cast<uint64_t>(t.float_data_size()) != n) {
    return invalid_model(where, ": float_data has ", t.float_data_size(), " values, expected ", n);
  }
  return n;
}

std::string init_where(const std::string& where, const std::string& name) { return where + " initializer '" + name + "'"; }

}  // namespace

Result<std::vector<F32Initializer>> read_f32(std::string_view onnx_bytes, const std::string& where) {
  onnx::ModelProto m;
  EP_RETURN_IF_ERROR(parse(onnx_bytes, m, where));
  std::vector<F32Initializer> out;
  for (const TP& t : m.graph().initializer()) {
    if (t.data_type() != TP::FLOAT) continue;
    const std::string w = init_where(where, t.name());
    EP_ASSIGN_OR_RETURN(uint64_t n, checked_f32(t, w));
    F32Initializer f;
    f.name = t.name();
    f.dims.assign(t.dims().begin(), t.dims().end());
    f.values.resize(n);
    if (t.has_raw_data()) std::memcpy(f.values.data(), t.raw_data().data(), n * 4);  // little-endian host
    else std::copy(t.float_data().begin(), t.float_data().end(), f.values.begin());
    out.push_back(std::move(f));
  }
  return out;
}

Status check_same_but_f32_values(std::string_view a, std::string_view b, const std::string& where) {
  onnx::ModelProto ma, mb;
  EP_RETURN_IF_ERROR(parse(a, ma, where + " (old)"));
  EP_RETURN_IF_ERROR(parse(b, mb, where + " (new)"));
  if (ma.graph().initializer_size() != mb.graph().initializer_size())
    return invalid_argument(where, ": the models have ", ma.graph().initializer_size(), " and ", mb.graph().initializer_size(),
                            " initializers; a delta changes values only");
  for (int i = 0; i < ma.graph().initializer_size(); ++i) {
    TP* ta = ma.mutable_graph()->mutable_initializer(i);
    TP* tb = mb.mutable_graph()->mutable_initializer(i);
    if (ta->name() != tb->name() || ta->data_type() != tb->data_type())
      return invalid_argument(where, ": initializer ", i, " is '", ta->name(), "' (type ", ta->data_type(), ") in the old model, '",
                              tb->name(), "' (type ", tb->data_type(), ") in the new one");
    if (ta->data_type() != TP::FLOAT) continue;
    for (TP* t : {ta, tb}) {
      t->clear_raw_data();
      t->clear_float_data();
    }
  }
  if (ma.graph().SerializeAsString() != mb.graph().SerializeAsString())
    return invalid_argument(where, ": the graphs differ in more than f32 initializer values (nodes, inputs, shapes or types)");
  return Status::ok();
}

Result<std::string> patch_f32(std::string_view onnx_bytes, const std::vector<F32Patch>& patches, const std::string& where) {
  onnx::ModelProto m;
  EP_RETURN_IF_ERROR(parse(onnx_bytes, m, where));
  std::map<std::string, int> index_of;
  for (int i = 0; i < m.graph().initializer_size(); ++i) index_of.emplace(m.graph().initializer(i).name(), i);
  // Everything is checked first, so a bad patch leaves nothing half written (the copy is
  // discarded anyway, but errors should name the first bad place, not a later symptom).
  std::set<std::string> seen;
  for (const F32Patch& p : patches) {
    const std::string w = init_where(where, p.initializer);
    auto it = index_of.find(p.initializer);
    if (it == index_of.end()) return invalid_argument(w, ": the model has no such initializer");
    if (!seen.insert(p.initializer).second) return invalid_argument(w, ": patched twice");
    const TP& t = m.graph().initializer(it->second);
    if (t.data_type() != TP::FLOAT) return invalid_argument(w, ": ONNX type ", t.data_type(), "; only f32 (1) is patched");
    EP_ASSIGN_OR_RETURN(uint64_t n, checked_f32(t, w));
    if (n != p.elements) return invalid_argument(w, ": has ", n, " elements, the delta says ", p.elements);
    if (p.indices.size() != p.values.size())
      return invalid_argument(w, ": ", p.indices.size(), " indices but ", p.values.size(), " values");
    for (size_t k = 0; k < p.indices.size(); ++k)
      if (p.indices[k] >= n) return invalid_argument(w, ": index ", p.indices[k], " (entry ", k, ") is out of range (", n, " elements)");
  }
  for (const F32Patch& p : patches) {
    TP* t = m.mutable_graph()->mutable_initializer(index_of.at(p.initializer));
    if (t->has_raw_data()) {
      std::string* raw = t->mutable_raw_data();
      for (size_t k = 0; k < p.indices.size(); ++k) std::memcpy(raw->data() + p.indices[k] * 4, &p.values[k], 4);
    } else {
      for (size_t k = 0; k < p.indices.size(); ++k) t->set_float_data(static_cast<int>(p.indices[k]), p.values[k]);
    }
  }
  std::string out;
  if (!m.SerializeToString(&out)) return internal_error(where, ": the patched model does not serialize");
  return out;
}

}  // namespace ep::onnx_weights
