// A node's checkpoint: the models it received by LOAD, so that a restarted node serves them
// again. STATE_DIR/manifest.json lists each model's name, file, version (the first 16 hex
// digits of the bytes' sha256, as STATUS reports it) and NHWC inputs/outputs; the bytes are
// in STATE_DIR/models/. Every file is written whole to a temporary name, flushed to disk and
// renamed over the old one, so a crash leaves the old checkpoint or the new one, never half.
// Reading verifies each file against the manifest's version before anything is served.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "edgepipe/status.h"

namespace ep::dist {

struct CheckpointEntry {
  std::string name, file, version;  // file: relative to STATE_DIR/models
  std::set<std::string> nhwc_io;
};

class Checkpoint {
 public:
  // Creates STATE_DIR (and models/) if missing; reads and verifies the manifest when present.
  static Result<Checkpoint> open(const std::string& dir);
  // The verified entries; `bytes_of` reads one entry's model bytes (verified again).
  const std::vector<CheckpointEntry>& entries() const { return entries_; }
  Result<std::string> bytes_of(const CheckpointEntry& e) const;
  // Records a model (replacing one of the same name): its bytes, then the manifest.
  Status save(const std::string& name, const void* data, size_t size, const std::set<std::string>& nhwc_io);
  const std::string& dir() const { return dir_; }

 private:
  Status write_manifest() const;
  std::string dir_;
  std::vector<CheckpointEntry> entries_;
};

// Writes `data` to `path` atomically: PATH.tmp, fsync, rename, fsync of the folder.
Status write_file_atomically(const std::string& path, const void* data, size_t size);

}  // namespace ep::dist
