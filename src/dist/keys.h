// CURVE keys on disk: `edgepipe keygen -o DIR` writes DIR/public.key and DIR/secret.key
// (Z85 text, one line; the secret key mode 0600). An allow-list is a folder of public keys:
// every *.key file in it except secret.key holds one.
#pragma once

#include <set>
#include <string>

#include "edgepipe/status.h"

namespace ep::dist {

struct KeyPair {
  std::string public_key;  // Z85, 40 characters
  std::string secret_key;
};

Result<KeyPair> keypair_generate();
// Writes DIR/public.key and DIR/secret.key (0600); refuses to overwrite a secret key.
Status keypair_write(const std::string& dir, const KeyPair& keys);
Result<KeyPair> keypair_read(const std::string& dir);
// One Z85 public key from a file (public.key or an allow-list entry).
Result<std::string> key_read(const std::string& path);
Result<std::set<std::string>> allow_list_read(const std::string& dir);

bool key_is_z85(const std::string& key);
// tcp://127.x.x.x, tcp://localhost, tcp://[::1], ipc:// and inproc:// never leave the machine.
bool address_is_local(const std::string& address);

}  // namespace ep::dist
