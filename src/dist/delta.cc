#include "dist/delta.h"

#include <sodium.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>

#include "dist/model_host.h"
#include "onnx/weights.h"

namespace ep::dist {
namespace {

std::string sha256(const void* data, size_t size) {
  std::string h(crypto_hash_sha256_BYTES, '\0');
  crypto_hash_sha256(reinterpret_cast<unsigned char*>(h.data()), static_cast<const unsigned char*>(data), size);
  return h;
}

std::string hex16(const std::string& bytes) {
  static const char kHex[] = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < 8 && i < bytes.size(); ++i) {
    s += kHex[static_cast<uint8_t>(bytes[i]) >> 4];
    s += kHex[static_cast<uint8_t>(bytes[i]) & 15];
  }
  return s;
}

std::vector<onnx_weights::F32Patch> patches_of(const wire::ModelDelta& d) {
  std::vector<onnx_weights::F32Patch> patches;
  for (const wire::WeightPatch& p : d.patches())
    patches.push_back({p.initializer(), p.elements(), {p.indices().data(), static_cast<size_t>(p.indices_size())},
                       {p.values().data(), static_cast<size_t>(p.values_size())}});
  return patches;
}

bool is_version(const std::string& v) {
  return v.size() == 16 && std::all_of(v.begin(), v.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

Status check_name(const std::string& field, const std::string& v, size_t max) {
  if (v.empty()) return invalid_argument("delta ", field, " is empty");
  if (v.size() > max) return invalid_argument("delta ", field, " has ", v.size(), " bytes, limit ", max);
  return Status::ok();
}

Status check_patch(const wire::WeightPatch& p, int i, std::set<std::string>& names, const DeltaLimits& limits) {
  const std::string where = "delta patches[" + std::to_string(i) + "]";
  EP_RETURN_IF_ERROR(check_name("patches[" + std::to_string(i) + "].initializer", p.initializer(), limits.max_initializer_name));
  const std::string w = where + " (initializer '" + p.initializer() + "')";
  if (!names.insert(p.initializer()).second) return invalid_argument(w, ": the initializer is patched twice");
  if (p.elements() == 0) return invalid_argument(w, ".elements is 0");
  if (p.indices_size() == 0) return invalid_argument(w, ": no indices");
  if (p.indices_size() != p.values_size())
    return invalid_argument(w, ": ", p.indices_size(), " indices but ", p.values_size(), " values");
  if (static_cast<uint64_t>(p.indices_size()) > p.elements())
    return invalid_argument(w, ": ", p.indices_size(), " indices for ", p.elements(), " elements");
  for (int k = 0; k < p.indices_size(); ++k) {
    if (p.indices(k) >= p.elements())
      return invalid_argument(w, ".indices[", k, "] = ", p.indices(k), " is out of range (", p.elements(), " elements)");
    if (k > 0 && p.indices(k) <= p.indices(k - 1))
      return invalid_argument(w, ".indices[", k, "] = ", p.indices(k), " does not increase (previous ", p.indices(k - 1), ")");
    if (!std::isfinite(p.values(k))) return invalid_argument(w, ".values[", k, "] is not finite (", p.values(k), ")");
  }
  return Status::ok();
}

}  // namespace

std::string delta_name(const wire::ModelDelta& d) {
  return d.origin() + " #" + std::to_string(d.seq()) + " (model '" + d.model() + "' " + d.base_version() + " -> " + d.result_version() + ")";
}

Result<Delta> delta_decode(std::span<const uint8_t> bytes, const DeltaLimits& limits) {
  if (bytes.size() > limits.max_bytes) return resource_exhausted("delta: ", bytes.size(), " bytes, limit ", limits.max_bytes);
  wire::DeltaEnvelope env;
  if (!env.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    return invalid_argument("delta: ", bytes.size(), " bytes are not a DeltaEnvelope");
  if (env.sha256().size() != crypto_hash_sha256_BYTES)
    return invalid_argument("delta sha256 has ", env.sha256().size(), " bytes, expected ", crypto_hash_sha256_BYTES);
  const std::string sum = sha256(env.payload().data(), env.payload().size());
  if (sodium_memcmp(sum.data(), env.sha256().data(), sum.size()) != 0)
    return invalid_argument("delta payload (", env.payload().size(), " bytes): checksum mismatch (sha256 ", hex16(sum), "..., envelope says ",
                            hex16(env.sha256()), "...): corrupt");
  Delta d;
  if (!d.body.ParseFromString(env.payload())) return invalid_argument("delta payload is not a ModelDelta");
  const wire::ModelDelta& b = d.body;
  EP_RETURN_IF_ERROR(check_name("model", b.model(), limits.max_name));
  EP_RETURN_IF_ERROR(check_name("origin", b.origin(), limits.max_name));
  const std::string where = "delta " + b.origin() + " #" + std::to_string(b.seq()) + " for model '" + b.model() + "'";
  if (!is_version(b.base_version())) return invalid_argument(where, ": base_version is not 16 hex digits");
  if (!is_version(b.result_version())) return invalid_argument(where, ": result_version is not 16 hex digits");
  if (b.base_version() == b.result_version()) return invalid_argument(where, ": base and result version are the same");
  if (b.seq() == 0) return invalid_argument(where, ": seq is 0 (sequences start at 1)");
  if (b.patches_size() == 0) return invalid_argument(where, ": no patches");
  if (static_cast<size_t>(b.patches_size()) > limits.max_patches)
    return invalid_argument(where, ": ", b.patches_size(), " patches, limit ", limits.max_patches);
  std::set<std::string> names;
  for (int i = 0; i < b.patches_size(); ++i) {
    Status st = check_patch(b.patches(i), i, names, limits);
    if (!st.is_ok()) return st.with_context(where);
  }
  d.id = hex16(sum);
  d.envelope = std::make_shared<const std::string>(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  return d;
}

std::string delta_encode(const wire::ModelDelta& body) {
  wire::DeltaEnvelope env;
  env.set_payload(body.SerializeAsString());
  env.set_sha256(sha256(env.payload().data(), env.payload().size()));
  return env.SerializeAsString();
}

Result<std::string> delta_apply(std::string_view base_onnx, const wire::ModelDelta& d) {
  const std::string where = "delta " + delta_name(d);
  const std::string base = model_version(base_onnx.data(), base_onnx.size());
  if (base != d.base_version()) return invalid_argument(where, ": the model is at version ", base, ", not the delta's base");
  EP_ASSIGN_OR_RETURN(std::string out, onnx_weights::patch_f32(base_onnx, patches_of(d), "model '" + d.model() + "'"));
  const std::string result = model_version(out.data(), out.size());
  if (result != d.result_version())
    return invalid_argument(where, ": the patched model is version ", result, ", not the delta's result version");
  return out;
}

Result<wire::ModelDelta> delta_make(std::string_view old_onnx, std::string_view new_onnx, const DeltaMakeOptions& o,
                                    DeltaMakeStats* stats) {
  const std::string where = "model '" + o.model + "'";
  if (o.model.empty() || o.origin.empty()) return invalid_argument("delta: the model name and the origin must be given");
  if (o.seq == 0) return invalid_argument("delta: seq starts at 1");
  EP_RETURN_IF_ERROR(onnx_weights::check_same_but_f32_values(old_onnx, new_onnx, where));
  EP_ASSIGN_OR_RETURN(auto olds, onnx_weights::read_f32(old_onnx, where + " (old)"));
  EP_ASSIGN_OR_RETURN(auto news, onnx_weights::read_f32(new_onnx, where + " (new)"));
  struct Change {
    double magnitude;
    uint32_t init;
    uint64_t index;
  };
  std::vector<Change> changes;
  for (size_t i = 0; i < news.size(); ++i) {
    const auto& a = olds[i].values;
    const auto& b = news[i].values;
    if (a.size() != b.size()) return invalid_argument(where, " initializer '", news[i].name, "': sizes differ");
    for (size_t k = 0; k < b.size(); ++k) {
      if (std::memcmp(&a[k], &b[k], 4) == 0) continue;
      if (!std::isfinite(b[k])) return invalid_argument(where, " (new) initializer '", news[i].name, "'[", k, "] is not finite");
      const double m = std::fabs(static_cast<double>(b[k]) - static_cast<double>(a[k]));
      changes.push_back({std::isfinite(m) ? m : HUGE_VAL, static_cast<uint32_t>(i), k});
    }
  }
  if (changes.empty()) return invalid_argument(where, ": the models have the same weights; no delta to make");
  auto larger = [](const Change& x, const Change& y) {
    if (x.magnitude != y.magnitude) return x.magnitude > y.magnitude;
    return x.init != y.init ? x.init < y.init : x.index < y.index;
  };
  const size_t total = changes.size();
  const size_t keep = o.top_k == 0 ? changes.size() : std::min(o.top_k, changes.size());
  std::nth_element(changes.begin(), changes.begin() + static_cast<std::ptrdiff_t>(keep - 1), changes.end(), larger);
  double dropped = 0;
  for (size_t k = keep; k < changes.size(); ++k) dropped = std::max(dropped, changes[k].magnitude);
  changes.resize(keep);
  std::sort(changes.begin(), changes.end(),
            [](const Change& x, const Change& y) { return x.init != y.init ? x.init < y.init : x.index < y.index; });
  wire::ModelDelta d;
  d.set_model(o.model);
  d.set_origin(o.origin);
  d.set_seq(o.seq);
  d.set_base_version(model_version(old_onnx.data(), old_onnx.size()));
  wire::WeightPatch* p = nullptr;
  for (const Change& c : changes) {
    if (!p || p->initializer() != news[c.init].name) {
      p = d.add_patches();
      p->set_initializer(news[c.init].name);
      p->set_elements(news[c.init].values.size());
    }
    p->add_indices(c.index);
    p->add_values(news[c.init].values[c.index]);
  }
  // The result version is that of the bytes every node will produce: the old model patched.
  EP_ASSIGN_OR_RETURN(std::string patched, onnx_weights::patch_f32(old_onnx, patches_of(d), where));
  d.set_result_version(model_version(patched.data(), patched.size()));
  if (d.result_version() == d.base_version()) return internal_error(where, ": the patched model has the old version");
  if (stats) *stats = DeltaMakeStats{total, keep, dropped};
  return d;
}

}  // namespace ep::dist
