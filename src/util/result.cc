#include "berth/result.h"

namespace berth {

const char* ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return "InvalidArgument";
    case ErrorCode::kNotFound:
      return "NotFound";
    case ErrorCode::kAlreadyExists:
      return "AlreadyExists";
    case ErrorCode::kConflict:
      return "Conflict";
    case ErrorCode::kPermissionDenied:
      return "PermissionDenied";
    case ErrorCode::kUnavailable:
      return "Unavailable";
    case ErrorCode::kTimeout:
      return "Timeout";
    case ErrorCode::kFailed:
      return "Failed";
    case ErrorCode::kGone:
      return "Gone";
    case ErrorCode::kInternal:
      return "Internal";
  }
  return "Internal";
}

ErrorCode ErrorCodeFromName(const std::string& name) {
  for (auto c : {ErrorCode::kInvalidArgument, ErrorCode::kNotFound, ErrorCode::kAlreadyExists,
                 ErrorCode::kConflict, ErrorCode::kPermissionDenied, ErrorCode::kUnavailable,
                 ErrorCode::kTimeout, ErrorCode::kFailed, ErrorCode::kGone}) {
    if (name == ErrorCodeName(c)) return c;
  }
  return ErrorCode::kInternal;
}

int ExitCodeFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return 2;
    case ErrorCode::kNotFound:
      return 3;
    case ErrorCode::kAlreadyExists:
    case ErrorCode::kConflict:
      return 4;
    case ErrorCode::kPermissionDenied:
      return 5;
    case ErrorCode::kUnavailable:
      return 6;
    case ErrorCode::kTimeout:
      return 7;
    case ErrorCode::kFailed:
      return 8;
    default:
      return 1;
  }
}

int HttpStatusFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return 400;
    case ErrorCode::kNotFound:
      return 404;
    case ErrorCode::kAlreadyExists:
    case ErrorCode::kConflict:
      return 409;
    case ErrorCode::kPermissionDenied:
      return 403;
    case ErrorCode::kUnavailable:
      return 503;
    case ErrorCode::kTimeout:
      return 504;
    case ErrorCode::kFailed:
      return 422;
    case ErrorCode::kGone:
      return 410;
    default:
      return 500;
  }
}

}  // namespace berth
