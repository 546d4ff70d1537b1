#include "dist/keys.h"

#include <sys/stat.h>
#include <zmq.h>

#include <filesystem>
#include <fstream>

namespace ep::dist {

namespace fs = std::filesystem;

bool key_is_z85(const std::string& key) {
  if (key.size() != 40) return false;
  uint8_t bin[32];
  return zmq_z85_decode(bin, key.c_str()) != nullptr;
}

bool address_is_local(const std::string& a) {
  if (a.rfind("ipc://", 0) == 0 || a.rfind("inproc://", 0) == 0) return true;
  if (a.rfind("tcp://", 0) != 0) return false;
  const std::string host = a.substr(6);
  return host.rfind("127.", 0) == 0 || host.rfind("localhost:", 0) == 0 || host.rfind("[::1]:", 0) == 0;
}

Result<KeyPair> keypair_generate() {
  char pub[41], sec[41];
  if (zmq_curve_keypair(pub, sec) != 0) return internal_error("zmq_curve_keypair: ", zmq_strerror(zmq_errno()));
  return KeyPair{pub, sec};
}

Result<std::string> key_read(const std::string& path) {
  std::ifstream f(path);
  if (!f) return io_error("key file '", path, "': cannot open");
  std::string key;
  std::getline(f, key);
  while (!key.empty() && (key.back() == '\r' || key.back() == ' ')) key.pop_back();
  if (!key_is_z85(key)) return invalid_argument("key file '", path, "': expected one 40-character Z85 key");
  return key;
}

Status keypair_write(const std::string& dir, const KeyPair& keys) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return io_error("keys directory '", dir, "': ", ec.message());
  const fs::path sec = fs::path(dir) / "secret.key";
  if (fs::exists(sec, ec)) return invalid_argument("'", sec.string(), "' exists: refusing to overwrite a secret key");
  {
    // Created 0600 from the start: the secret is never readable by others, not even briefly.
    const mode_t old = ::umask(077);
    std::ofstream f(sec);
    ::umask(old);
    if (!(f << keys.secret_key << "\n")) return io_error("cannot write '", sec.string(), "'");
  }
  fs::permissions(sec, fs::perms::owner_read | fs::perms::owner_write, ec);
  if (ec) return io_error("chmod 0600 '", sec.string(), "': ", ec.message());
  std::ofstream pub(fs::path(dir) / "public.key");
  if (!(pub << keys.public_key << "\n")) return io_error("cannot write '", (fs::path(dir) / "public.key").string(), "'");
  return Status::ok();
}

Result<KeyPair> keypair_read(const std::string& dir) {
  KeyPair k;
  EP_ASSIGN_OR_RETURN(k.public_key, key_read((fs::path(dir) / "public.key").string()));
  EP_ASSIGN_OR_RETURN(k.secret_key, key_read((fs::path(dir) / "secret.key").string()));
  char derived[41];
  if (zmq_curve_public(derived, k.secret_key.c_str()) != 0 || k.public_key != derived)
    return invalid_argument("keys directory '", dir, "': public.key does not match secret.key");
  return k;
}

Result<std::set<std::string>> allow_list_read(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return io_error("allow-list '", dir, "' is not a directory");
  std::set<std::string> keys;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (!e.is_regular_file() || e.path().extension() != ".key" || e.path().filename() == "secret.key") continue;
    EP_ASSIGN_OR_RETURN(std::string k, key_read(e.path().string()));
    keys.insert(k);
  }
  if (ec) return io_error("allow-list '", dir, "': ", ec.message());
  return keys;
}

}  // namespace ep::dist
