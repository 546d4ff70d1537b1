#include "edgepipe/status.h"

namespace ep {

const char* status_code_name(StatusCode code) {
  switch (code) {
    case StatusCode::ok: return "ok";
    case StatusCode::invalid_argument: return "invalid_argument";
    case StatusCode::invalid_model: return "invalid_model";
    case StatusCode::unsupported: return "unsupported";
    case StatusCode::out_of_range: return "out_of_range";
    case StatusCode::io_error: return "io_error";
    case StatusCode::resource_exhausted: return "resource_exhausted";
    case StatusCode::internal: return "internal";
  }
  return "unknown";
}

std::string Status::to_string() const {
  if (is_ok()) return "ok";
  return std::string(status_code_name(code_)) + ": " + message_;
}

Status Status::with_context(const std::string& where) const {
  if (is_ok()) return *this;
  return Status(code_, where + ": " + message_);
}

void check_failed(const char* file, int line, const char* expr, const char* msg) {
  std::fprintf(stderr, "%s:%d: check failed: %s %s\n", file, line, expr, msg);
  std::abort();
}

}  // namespace ep
