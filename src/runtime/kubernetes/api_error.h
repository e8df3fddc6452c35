// Maps Kubernetes API responses to berth errors with messages a person can act on.
#pragma once

#include <string>

#include "berth/result.h"

namespace berth::kube {

// What a request was about, parsed from its method and path, for error messages and RBAC.
struct RequestInfo {
  std::string verb;      // get list watch create update patch delete deletecollection
  std::string group;     // "" for the core group
  std::string resource;  // "deployments"
  std::string subresource;
  std::string ns;
  std::string name;
  // "deployments.apps \"web\" in namespace \"x\"" style description.
  std::string Describe() const;
};

RequestInfo ParseRequest(const std::string& method, const std::string& path_and_query);

// status >= 400: builds the error from the status code and the API's Status object (if any).
// 401 -> kPermissionDenied (credentials), 403 -> kPermissionDenied naming verb and resource,
// 404 -> kNotFound, 409 -> kAlreadyExists or kConflict by reason, 410 -> kGone,
// 422 -> kInvalidArgument with every field cause, 429/5xx -> kUnavailable, 504 -> kTimeout.
Error MapApiError(const RequestInfo& req, long status, const std::string& body);

}  // namespace berth::kube
