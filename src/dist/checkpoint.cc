#include "dist/checkpoint.h"

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "dist/model_host.h"

namespace ep::dist {

namespace fs = std::filesystem;

namespace {
constexpr size_t kMaxManifestBytes = size_t{1} << 20;
constexpr size_t kMaxEntries = 64;

// A file name for a model name of any characters: "m_" + 16 hex digits of its sha256.
std::string file_for(const std::string& name) { return "m_" + model_version(name.data(), name.size()) + ".onnx"; }

Result<std::string> read_all(const fs::path& p, size_t limit, const std::string& what) {
  std::error_code ec;
  const auto size = fs::file_size(p, ec);
  if (ec) return io_error(what, " '", p.string(), "': ", ec.message());
  if (size > limit) return resource_exhausted(what, " '", p.string(), "': ", size, " bytes, limit ", limit);
  std::ifstream f(p, std::ios::binary);
  if (!f) return io_error(what, " '", p.string(), "': cannot open");
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}
}  // namespace

Status write_file_atomically(const std::string& path, const void* data, size_t size) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return io_error("'", tmp, "': ", std::strerror(errno));
  const char* p = static_cast<const char*>(data);
  size_t left = size;
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int e = errno;
      ::close(fd);
      return io_error("'", tmp, "': write: ", std::strerror(e));
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) return io_error("'", tmp, "': fsync: ", std::strerror(errno));
  if (std::rename(tmp.c_str(), path.c_str()) != 0) return io_error("'", path, "': rename: ", std::strerror(errno));
  const std::string parent = fs::path(path).parent_path().string();
  const int dfd = ::open(parent.empty() ? "." : parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)::fsync(dfd);  // the rename itself reaches the disk
    ::close(dfd);
  }
  return Status::ok();
}

Result<Checkpoint> Checkpoint::open(const std::string& dir) {
  Checkpoint c;
  c.dir_ = dir;
  std::error_code ec;
  fs::create_directories(fs::path(dir) / "models", ec);
  if (ec) return io_error("checkpoint '", dir, "': ", ec.message());
  const fs::path manifest = fs::path(dir) / "manifest.json";
  if (!fs::exists(manifest, ec)) return c;
  const std::string where = "checkpoint '" + manifest.string() + "'";
  EP_ASSIGN_OR_RETURN(std::string text, read_all(manifest, kMaxManifestBytes, "checkpoint manifest"));
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object() || !j.contains("models") || !j["models"].is_array())
    return invalid_argument(where, ": not a checkpoint manifest (expected {\"models\": [...]})");
  if (j["models"].size() > kMaxEntries) return invalid_argument(where, ": ", j["models"].size(), " models, limit ", kMaxEntries);
  for (const auto& m : j["models"]) {
    if (!m.is_object() || !m.contains("name") || !m["name"].is_string() || !m.contains("version") || !m["version"].is_string() ||
        !m.contains("nhwc_io") || !m["nhwc_io"].is_array())
      return invalid_argument(where, ": an entry lacks name, version or nhwc_io");
    CheckpointEntry e;
    e.name = m["name"].get<std::string>();
    e.version = m["version"].get<std::string>();
    e.file = file_for(e.name);  // derived, never read from the file: no path leaves models/
    for (const auto& n : m["nhwc_io"]) {
      if (!n.is_string()) return invalid_argument(where, ": model '", e.name, "': nhwc_io holds a non-string");
      e.nhwc_io.insert(n.get<std::string>());
    }
    c.entries_.push_back(std::move(e));
  }
  for (const CheckpointEntry& e : c.entries_) EP_RETURN_IF_ERROR(c.bytes_of(e).status());  // verified before serving
  return c;
}

Result<std::string> Checkpoint::bytes_of(const CheckpointEntry& e) const {
  const fs::path p = fs::path(dir_) / "models" / e.file;
  EP_ASSIGN_OR_RETURN(std::string bytes, read_all(p, size_t{4} << 30, "checkpoint of model '" + e.name + "'"));
  const std::string v = model_version(bytes.data(), bytes.size());
  if (v != e.version)
    return invalid_model("checkpoint of model '", e.name, "' ('", p.string(), "'): its bytes have version ", v,
                         ", the manifest says ", e.version, " (corrupt or changed on disk)");
  return bytes;
}

Status Checkpoint::write_manifest() const {
  nlohmann::json models = nlohmann::json::array();
  for (const CheckpointEntry& e : entries_)
    models.push_back({{"name", e.name}, {"version", e.version}, {"file", e.file}, {"nhwc_io", e.nhwc_io}});
  const std::string text = nlohmann::json{{"format", "edgepipe-node-checkpoint"}, {"version", 1}, {"models", models}}.dump(2);
  return write_file_atomically((fs::path(dir_) / "manifest.json").string(), text.data(), text.size());
}

Status Checkpoint::save(const std::string& name, const void* data, size_t size, const std::set<std::string>& nhwc_io) {
  CheckpointEntry e{name, file_for(name), model_version(data, size), nhwc_io};
  auto it = std::find_if(entries_.begin(), entries_.end(), [&](const CheckpointEntry& x) { return x.name == name; });
  if (it == entries_.end() && entries_.size() >= kMaxEntries)
    return resource_exhausted("checkpoint '", dir_, "': ", kMaxEntries, " models already");
  // The bytes first: a manifest never names a file that is not whole on disk.
  EP_RETURN_IF_ERROR(write_file_atomically((fs::path(dir_) / "models" / e.file).string(), data, size));
  if (it == entries_.end()) entries_.push_back(std::move(e));
  else *it = std::move(e);
  return write_manifest();
}

}  // namespace ep::dist
