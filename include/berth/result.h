// Errors as values: every fallible Berth call returns Result<T>.
#pragma once

#include <string>
#include <utility>

#include <tl/expected.hpp>

namespace berth {

// Codes map 1:1 onto CLI exit codes and HTTP statuses (see docs/cli.md, docs/api.md).
enum class ErrorCode {
  kInvalidArgument,   // bad user input: exit 2, HTTP 400
  kNotFound,          // exit 3, HTTP 404
  kAlreadyExists,     // exit 4, HTTP 409
  kConflict,          // revision mismatch: exit 4, HTTP 409
  kPermissionDenied,  // exit 5, HTTP 403
  kUnavailable,       // a backend or the daemon is unreachable: exit 6, HTTP 503
  kTimeout,           // exit 7, HTTP 504
  kFailed,            // the environment failed (image missing, crash): exit 8, HTTP 422
  kGone,              // a watch revision was compacted away: relist (HTTP 410)
  kInternal,          // exit 1, HTTP 500
};

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;

  Error() = default;
  Error(ErrorCode c, std::string m) : code(c), message(std::move(m)) {}
};

template <typename T>
using Result = tl::expected<T, Error>;

using Status = Result<void>;

inline tl::unexpected<Error> Fail(ErrorCode code, std::string message) {
  return tl::unexpected<Error>(Error{code, std::move(message)});
}
inline tl::unexpected<Error> Fail(Error e) {
  return tl::unexpected<Error>(std::move(e));
}

// Adds context in front of an error message: "creating volume: mkdir ...: EACCES".
inline Error Wrap(const Error& e, const std::string& context) {
  return Error{e.code, context + ": " + e.message};
}

const char* ErrorCodeName(ErrorCode code);
int ExitCodeFor(ErrorCode code);
int HttpStatusFor(ErrorCode code);
ErrorCode ErrorCodeFromName(const std::string& name);

}  // namespace berth
