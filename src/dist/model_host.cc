#include "dist/model_host.h"

#include <sodium.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace ep::dist {

namespace {
constexpr size_t kRing = 1024;
constexpr size_t kMaxSessionsPerModel = 8;
constexpr size_t kMaxModels = 64;

int64_t percentile(std::vector<int64_t> v, double q) {
  if (v.empty()) return 0;
  const size_t k = std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

void fill_meta(const std::vector<IoInfo>& io, google::protobuf::RepeatedPtrField<wire::TensorMeta>* out) {
  for (const IoInfo& i : io) {
    wire::TensorMeta* m = out->Add();
    m->set_name(i.name);
    m->set_dtype(dtype_to_wire(i.dtype));
    for (int64_t d : i.shape.dims()) m->add_dims(d);
  }
}
}  // namespace

std::string model_version(const void* data, size_t size) {
  unsigned char hash[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(hash, static_cast<const unsigned char*>(data), size);
  static const char kHex[] = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < 8; ++i) {
    s += kHex[hash[i] >> 4];
    s += kHex[hash[i] & 15];
  }
  return s;
}

Status ModelHost::add(const std::string& name, Model model, const std::string& version, const std::set<std::string>& nhwc_io) {
  // Names are checked here; ranks where the model declares them (inputs), the rest when the
  // session is created (outputs' shapes are known only then).
  const std::vector<IoInfo> ins = model.inputs(), outs = model.outputs();
  auto named = [&](const std::vector<IoInfo>& l, const std::string& n) {
    return std::find_if(l.begin(), l.end(), [&](const IoInfo& i) { return i.name == n; });
  };
  for (const std::string& io : nhwc_io) {
    auto in = named(ins, io);
    if (in == ins.end() && named(outs, io) == outs.end())
      return invalid_argument("model '", name, "': nhwc_io '", io, "' is not an input or output of the model");
    if (in != ins.end() && in->shape.rank() != 4)
      return invalid_argument("model '", name, "': nhwc_io '", io, "' has rank ", in->shape.rank(), ", not 4");
  }
  auto h = std::make_shared<Hosted>();
  h->version = version;
  h->nhwc_io = nhwc_io;
  h->model = std::make_unique<Model>(std::move(model));
  std::lock_guard<std::mutex> lock(mu_);
  if (!models_.count(name) && models_.size() >= kMaxModels)
    return resource_exhausted("model '", name, "': this node already serves ", kMaxModels, " models");
  models_[name] = std::move(h);
  return Status::ok();
}

bool ModelHost::has(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  return models_.count(name) > 0;
}

size_t ModelHost::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return models_.size();
}

Status ModelHost::load_bytes(const std::string& name, const void* data, size_t size, const std::set<std::string>& nhwc_io) {
  auto model = Model::load_from_memory(data, size);
  if (!model.is_ok()) return model.status().with_context("model '" + name + "'");
  return add(name, std::move(model).value(), model_version(data, size), nhwc_io);
}

Status ModelHost::load_file(const std::string& name, const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return io_error("model '", path, "': cannot open");
  const std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  // Model::load resolves external data next to the file.
  EP_ASSIGN_OR_RETURN(Model model, Model::load(path));
  return add(name, std::move(model), model_version(bytes.data(), bytes.size()));
}

Status ModelHost::load_dir(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return io_error("models directory '", dir, "' is not a directory");
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.is_regular_file() && e.path().extension() == ".onnx") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const fs::path& p : files) EP_RETURN_IF_ERROR(load_file(p.stem().string(), p.string()));
  return Status::ok();
}

Result<Session*> ModelHost::session_for(Hosted& h, const std::string& model, const std::vector<TensorView>& inputs) {
  const std::vector<IoInfo> declared = h.model->inputs();
  std::string key;
  SessionOptions opt;
  opt.threads = threads_;
  opt.memory_limit_bytes = memory_limit_;
  opt.nhwc_io = h.nhwc_io;
  for (size_t i = 0; i < declared.size(); ++i) {
    const IoInfo& d = declared[i];
    const TensorView& v = inputs[i];
    const bool nhwc = h.nhwc_io.count(d.name) > 0;
    const std::string where = "model '" + model + "' input '" + d.name + "'" + (nhwc ? " (NHWC)" : "");
    if (v.dtype != d.dtype)
      return invalid_argument(where, ": got ", dtype_name(v.dtype), ", expected ", dtype_name(d.dtype));
    // An NHWC input is checked and bound in the model's own N,C,H,W order.
    const Shape got = nhwc && v.shape.rank() == 4 ? Shape{v.shape[0], v.shape[3], v.shape[1], v.shape[2]} : v.shape;
    bool ok = got.rank() == d.shape.rank();
    for (size_t k = 0; ok && k < d.shape.rank(); ++k) ok = d.shape[k] < 0 || d.shape[k] == got[k];
    if (!ok) return invalid_argument(where, ": got shape ", v.shape.to_string(), ", expected ", d.shape.to_string(), nhwc ? " in NCHW" : "");
    opt.input_shapes[d.name] = got;
    key += v.shape.to_string() + ";";
  }
  auto it = h.sessions.find(key);
  if (it != h.sessions.end()) return &it->second;
  if (h.sessions.size() >= kMaxSessionsPerModel) h.sessions.clear();
  auto session = Session::create(*h.model, opt);
  if (!session.is_ok()) return session.status().with_context("model '" + model + "'");
  return &h.sessions.emplace(key, std::move(session).value()).first->second;
}

Result<ModelRun> ModelHost::run(const std::string& model, const std::vector<std::string>& names,
                                const std::vector<TensorView>& given) {
  std::shared_ptr<Hosted> hosted;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = models_.find(model);
    if (it == models_.end()) return invalid_argument("model '", model, "' is not served by this node");
    hosted = it->second;  // kept alive through the run, even if LOAD replaces it meanwhile
  }
  Hosted& h = *hosted;
  const std::vector<IoInfo> declared = h.model->inputs();
  std::vector<TensorView> inputs(declared.size());
  bool by_name = true;
  for (size_t i = 0; i < declared.size() && by_name; ++i) {
    auto n = std::find(names.begin(), names.end(), declared[i].name);
    if (n == names.end()) by_name = false;
    else inputs[i] = given[static_cast<size_t>(n - names.begin())];
  }
  if (!by_name) {
    if (given.size() != declared.size()) {
      std::string want;
      for (const IoInfo& d : declared) want += (want.empty() ? "" : ", ") + d.name;
      return invalid_argument("model '", model, "': got ", given.size(), " tensors, expected ", declared.size(), " (", want, ")");
    }
    inputs = given;
  }
  EP_ASSIGN_OR_RETURN(Session* session, session_for(h, model, inputs));
  ModelRun r;
  std::vector<TensorView> outs;
  for (const IoInfo& o : session->outputs()) {
    EP_ASSIGN_OR_RETURN(Tensor t, Tensor::create(o.dtype, o.shape));
    outs.push_back(t.view());
    r.outputs.push_back(std::move(t));
    r.names.push_back(o.name);
  }
  r.start_ns = clock_();
  Status st = session->run(inputs, outs);
  r.end_ns = clock_();
  if (!st.is_ok()) return st.with_context("model '" + model + "'");
  return r;
}

void ModelHost::record(const std::string& model, int64_t run_ns, bool ok) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = models_.find(model);
  if (it == models_.end()) return;
  Hosted& h = *it->second;
  ++h.requests;
  if (!ok) {
    ++h.errors;
    return;
  }
  if (h.run_ns.size() < kRing) h.run_ns.push_back(run_ns);
  else h.run_ns[h.ring_next] = run_ns;
  h.ring_next = (h.ring_next + 1) % kRing;
}

void ModelHost::fill_info(const std::string& model, wire::ModelInfo* info) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = models_.find(model);
  if (it != models_.end()) fill_info_locked(model, *it->second, info);
}

void ModelHost::fill_info_locked(const std::string& model, const Hosted& h, wire::ModelInfo* info) const {
  info->set_name(model);
  info->set_version(h.version);
  fill_meta(h.model->inputs(), info->mutable_inputs());
  fill_meta(h.model->outputs(), info->mutable_outputs());
  info->set_requests(h.requests);
  info->set_errors(h.errors);
  info->set_run_p50_ns(percentile(h.run_ns, 0.5));
  info->set_run_p99_ns(percentile(h.run_ns, 0.99));
}

void ModelHost::fill_status(wire::NodeStatus* status) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [name, h] : models_) fill_info_locked(name, *h, status->add_models());
}

}  // namespace ep::dist
