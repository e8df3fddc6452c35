#include "runtime/kubernetes/api_error.h"

#include <nlohmann/json.hpp>

#include "util/strings.h"

namespace berth::kube {

std::string RequestInfo::Describe() const {
  std::string r = resource.empty() ? "resource" : resource;
  if (!group.empty()) r += "." + group;
  if (!subresource.empty()) r += "/" + subresource;
  std::string out = r;
  if (!name.empty()) out += " \"" + name + "\"";
  if (!ns.empty()) out += " in namespace \"" + ns + "\"";
  return out;
}

RequestInfo ParseRequest(const std::string& method, const std::string& path_and_query) {
  RequestInfo info;
  std::string path = path_and_query, query;
  if (auto q = path.find('?'); q != std::string::npos) {
    query = path.substr(q + 1);
    path = path.substr(0, q);
  }
  auto parts = util::Split(path, '/');
  size_t i = 0;
  if (i < parts.size() && parts[i] == "api") {
    i += 2;  // api/v1
  } else if (i < parts.size() && parts[i] == "apis") {
    if (i + 1 < parts.size()) info.group = parts[i + 1];
    i += 3;  // apis/<group>/<version>
  }
  if (i + 1 < parts.size() && parts[i] == "namespaces" && i + 2 < parts.size()) {
    info.ns = parts[i + 1];
    i += 2;
  }
  if (i < parts.size()) info.resource = parts[i++];
  if (i < parts.size()) info.name = parts[i++];
  if (i < parts.size()) info.subresource = parts[i++];
  // A bare /api/v1/namespaces/<ns> names a namespace object.
  if (info.resource.empty() && !info.ns.empty()) {
    info.resource = "namespaces";
    info.name = info.ns;
    info.ns.clear();
  }
  bool watch =
      query.find("watch=1") != std::string::npos || query.find("watch=true") != std::string::npos;
  if (method == "GET")
    info.verb = watch ? "watch" : (info.name.empty() ? "list" : "get");
  else if (method == "POST")
    info.verb = "create";
  else if (method == "PUT")
    info.verb = "update";
  else if (method == "PATCH")
    info.verb = "patch";
  else if (method == "DELETE")
    info.verb = info.name.empty() ? "deletecollection" : "delete";
  else
    info.verb = util::ToLower(method);
  return info;
}

Error MapApiError(const RequestInfo& req, long status, const std::string& body) {
  std::string message, reason;
  nlohmann::json details;
  try {
    auto j = nlohmann::json::parse(body);
    if (j.is_object() && j.value("kind", "") == "Status") {
      message = j.value("message", "");
      reason = j.value("reason", "");
      if (j.contains("details") && j["details"].is_object()) details = j["details"];
    }
  } catch (const nlohmann::json::exception&) {
  }
  if (message.empty()) {
    message = util::Trim(body.substr(0, 300));
  }
  std::string what = req.verb + " " + req.Describe();
  switch (status) {
    case 400:
      return Error(ErrorCode::kInvalidArgument, what + ": bad request: " + message);
    case 401:
      return Error(
          ErrorCode::kPermissionDenied,
          what + ": unauthorized: the API server did not accept the credentials (" + message + ")");
    case 403: {
      std::string r = req.resource + (req.group.empty() ? "" : "." + req.group);
      std::string where = req.ns.empty() ? "at cluster scope" : "in namespace \"" + req.ns + "\"";
      return Error(
          ErrorCode::kPermissionDenied,
          "permission denied: the Kubernetes user may not " + req.verb + " " + r + " " + where +
              " (grant the rules in deploy/kubernetes/serve/rbac.yaml); API server: " + message);
    }
    case 404:
      return Error(ErrorCode::kNotFound, req.Describe() + " not found");
    case 409:
      if (reason == "AlreadyExists")
        return Error(ErrorCode::kAlreadyExists, req.Describe() + " already exists");
      return Error(ErrorCode::kConflict, what + ": conflict: " + message);
    case 410:
      return Error(ErrorCode::kGone,
                   what + ": resource version too old (" + message + "); relist needed");
    case 422: {
      std::vector<std::string> causes;
      if (details.contains("causes") && details["causes"].is_array())
        for (const auto& c : details["causes"]) {
          std::string field = c.value("field", "");
          std::string m = c.value("message", "");
          causes.push_back(field.empty() ? m : field + ": " + m);
        }
      std::string text = what + ": invalid";
      if (!causes.empty())
        text += ": " + util::Join(causes, "; ");
      else
        text += ": " + message;
      return Error(ErrorCode::kInvalidArgument, text);
    }
    case 429:
      return Error(ErrorCode::kUnavailable, what + ": API server is throttling (" + message + ")");
    case 504:
      return Error(ErrorCode::kTimeout, what + ": " + message);
    default:
      break;
  }
  if (status >= 500)
    return Error(ErrorCode::kUnavailable,
                 what + ": API server error " + std::to_string(status) + ": " + message);
  return Error(ErrorCode::kInternal,
               what + ": unexpected status " + std::to_string(status) + ": " + message);
}

}  // namespace berth::kube
