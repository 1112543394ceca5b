// Status and Result<T>: how every module reports an expected failure.
//
// A Status is a code plus a human message. Expected failures (bad input, a missing function, a full
// wait queue) travel as values; broken invariants use CUTOVER_CHECK and crash loudly. Library
// exceptions (yaml-cpp, Boost.JSON) are caught at the module edge and turned into a Status. The one
// place that maps a StatusCode to an HTTP status is api/errors.h.
//
// Thread-safety: values; safe to copy between threads.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace cutover {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,     // the caller's input is wrong (config, request body)
  kNotFound,            // a named thing does not exist
  kAlreadyExists,       // a create collides with an existing thing
  kFailedPrecondition,  // the system is not in a state that allows the operation
  kResourceExhausted,   // a limit is hit: concurrency, queue, size
  kTooLarge,            // a payload is over its limit
  kDeadlineExceeded,    // a deadline passed
  kUnavailable,         // a dependency (daemon, store, process) cannot be reached
  kUnauthenticated,     // the caller did not prove who it is (admin token)
  kPermissionDenied,    // the caller may not do this (a cross-site browser request)
  kInternal,            // a bug or an unexpected environment failure
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // "NotFound: function 'x' does not exist"
  std::string ToString() const;

  // Returns a copy whose message is "<prefix>: <message>".
  Status WithPrefix(std::string_view prefix) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

Status InvalidArgument(std::string message);
Status NotFound(std::string message);
Status AlreadyExists(std::string message);
Status FailedPrecondition(std::string message);
Status ResourceExhausted(std::string message);
Status TooLarge(std::string message);
Status DeadlineExceeded(std::string message);
Status Unavailable(std::string message);
Status Internal(std::string message);
Status Unauthenticated(std::string message);
Status PermissionDenied(std::string message);

// Result<T> holds either a T or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}        // NOLINT: implicit by design
  Result(Status status) : value_(std::move(status)) {  // NOLINT
    if (std::get<Status>(value_).ok()) {
      std::fprintf(stderr, "Result constructed from an OK status\n");
      std::abort();
    }
  }

  bool ok() const { return std::holds_alternative<T>(value_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(value_);
  }

  // REQUIRES: ok()
  T& value() & { return std::get<T>(value_); }
  const T& value() const& { return std::get<T>(value_); }
  T&& value() && { return std::get<T>(std::move(value_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> value_;
};

[[noreturn]] void CheckFailed(const char* file, int line, const char* expr,
                              std::string_view message);

}  // namespace cutover

// CUTOVER_CHECK(cond) << nothing: for invariants that cannot fail unless the code is wrong.
#define CUTOVER_CHECK(cond)                                             \
  do {                                                                  \
    if (!(cond)) ::cutover::CheckFailed(__FILE__, __LINE__, #cond, ""); \
  } while (0)
#define CUTOVER_CHECK_MSG(cond, msg)                                       \
  do {                                                                     \
    if (!(cond)) ::cutover::CheckFailed(__FILE__, __LINE__, #cond, (msg)); \
  } while (0)

// Propagates a non-OK Status from an expression returning Status.
#define CUTOVER_RETURN_IF_ERROR(expr) \
  do {                                \
    ::cutover::Status _st = (expr);   \
    if (!_st.ok()) return _st;        \
  } while (0)

#define CUTOVER_CONCAT_INNER(a, b) a##b
#define CUTOVER_CONCAT(a, b) CUTOVER_CONCAT_INNER(a, b)
// CUTOVER_ASSIGN_OR_RETURN(auto x, Foo()); binds the value or returns the error.
#define CUTOVER_ASSIGN_OR_RETURN(lhs, expr)                                                   \
  auto CUTOVER_CONCAT(_res_, __LINE__) = (expr);                                              \
  if (!CUTOVER_CONCAT(_res_, __LINE__).ok()) return CUTOVER_CONCAT(_res_, __LINE__).status(); \
  lhs = std::move(CUTOVER_CONCAT(_res_, __LINE__)).value()
