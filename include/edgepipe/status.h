// Status and Result<T>: the error type of every fallible edgepipe call.
// No exception crosses a public header; messages name the place of the error.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <utility>
#include <variant>

namespace ep {

enum class StatusCode {
  ok = 0,
  invalid_argument,   // a caller passed something wrong (shape, name, option)
  invalid_model,      // the model file is malformed or inconsistent
  unsupported,        // valid, but edgepipe does not implement it
  out_of_range,       // an index or size past its bound (often data-dependent)
  io_error,           // a file could not be read or written
  resource_exhausted, // a size limit was hit
  internal,           // a bug in edgepipe
};

const char* status_code_name(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return Status(); }
  bool is_ok() const { return code_ == StatusCode::ok; }
  explicit operator bool() const { return is_ok(); }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "invalid_model: node 'conv_3' (Conv): weight rank 3, expected 4"
  std::string to_string() const;
  // Prefixes the message with a location: "while loading 'x.onnx': ..."
  Status with_context(const std::string& where) const;

 private:
  StatusCode code_ = StatusCode::ok;
  std::string message_;
};

namespace detail {
template <typename... Args>
std::string str_cat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}
}  // namespace detail

template <typename... Args>
Status make_status(StatusCode code, const Args&... args) {
  return Status(code, detail::str_cat(args...));
}
template <typename... Args> Status invalid_argument(const Args&... a) { return make_status(StatusCode::invalid_argument, a...); }
template <typename... Args> Status invalid_model(const Args&... a) { return make_status(StatusCode::invalid_model, a...); }
template <typename... Args> Status unsupported(const Args&... a) { return make_status(StatusCode::unsupported, a...); }
template <typename... Args> Status out_of_range(const Args&... a) { return make_status(StatusCode::out_of_range, a...); }
template <typename... Args> Status io_error(const Args&... a) { return make_status(StatusCode::io_error, a...); }
template <typename... Args> Status resource_exhausted(const Args&... a) { return make_status(StatusCode::resource_exhausted, a...); }
template <typename... Args> Status internal_error(const Args&... a) { return make_status(StatusCode::internal, a...); }

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(Status status) : v_(std::move(status)) {
    if (std::get<Status>(v_).is_ok()) v_ = Status(StatusCode::internal, "Result built from an ok Status");
  }
  bool is_ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return is_ok(); }
  const Status& status() const {
    static const Status kOk;
    return is_ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

[[noreturn]] void check_failed(const char* file, int line, const char* expr, const char* msg);

}  // namespace ep

// Programmer errors (broken invariants): abort with file:line.
#define EP_CHECK(cond)                                               \
  do {                                                               \
    if (!(cond)) ::ep::check_failed(__FILE__, __LINE__, #cond, ""); \
  } while (0)
#define EP_CHECK_MSG(cond, msg)                                       \
  do {                                                                \
    if (!(cond)) ::ep::check_failed(__FILE__, __LINE__, #cond, msg); \
  } while (0)

#define EP_CONCAT_INNER(a, b) a##b
#define EP_CONCAT(a, b) EP_CONCAT_INNER(a, b)

#define EP_RETURN_IF_ERROR(expr)             \
  do {                                       \
    ::ep::Status ep_status_ = (expr);        \
    if (!ep_status_.is_ok()) return ep_status_; \
  } while (0)

#define EP_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                             \
  if (!tmp.is_ok()) return tmp.status();         \
  lhs = std::move(tmp).value()

#define EP_ASSIGN_OR_RETURN(lhs, expr) EP_ASSIGN_OR_RETURN_IMPL(EP_CONCAT(ep_result_, __LINE__), lhs, expr)
