#include "runtime/kubernetes/api_error.h"

#include <gtest/gtest.h>

namespace berth::kube {
namespace {

std::string Status(const std::string& reason, const std::string& message, int code,
                   const std::string& details = "") {
  return R"({"kind":"Status","apiVersion":"v1","status":"Failure","message":")" + message +
         R"(","reason":")" + reason + R"(","code":)" + std::to_string(code) +
         (details.empty() ? "" : ",\"details\":" + details) + "}";
}

TEST(ParseRequestTest, VerbsAndResources) {
  auto r =
      ParseRequest("PATCH", "/apis/apps/v1/namespaces/team/deployments/web?fieldManager=berth");
  EXPECT_EQ(r.verb, "patch");
  EXPECT_EQ(r.group, "apps");
  EXPECT_EQ(r.resource, "deployments");
  EXPECT_EQ(r.ns, "team");
  EXPECT_EQ(r.name, "web");
  EXPECT_EQ(ParseRequest("GET", "/api/v1/namespaces/x/pods").verb, "list");
  EXPECT_EQ(ParseRequest("GET", "/api/v1/namespaces/x/pods?watch=1&labelSelector=a").verb, "watch");
  EXPECT_EQ(ParseRequest("DELETE", "/api/v1/namespaces/x/pods?labelSelector=a").verb,
            "deletecollection");
  auto ns = ParseRequest("GET", "/api/v1/namespaces/team");
  EXPECT_EQ(ns.resource, "namespaces");
  EXPECT_EQ(ns.name, "team");
  EXPECT_EQ(ns.verb, "get");
  auto log = ParseRequest("GET", "/api/v1/namespaces/x/pods/p/log?follow=true");
  EXPECT_EQ(log.subresource, "log");
}

TEST(MapApiErrorTest, ForbiddenNamesVerbAndResource) {
  auto req = ParseRequest("POST", "/apis/apps/v1/namespaces/team/deployments");
  auto e = MapApiError(req, 403,
                       Status("Forbidden",
                              "deployments.apps is forbidden: User \\\"bob\\\" cannot create "
                              "resource \\\"deployments\\\"",
                              403));
  EXPECT_EQ(e.code, ErrorCode::kPermissionDenied);
  EXPECT_NE(e.message.find("may not create deployments.apps in namespace \"team\""),
            std::string::npos)
      << e.message;
  EXPECT_NE(e.message.find("User \"bob\""), std::string::npos) << e.message;
}

TEST(MapApiErrorTest, NotFoundAlreadyExistsConflictGone) {
  auto req = ParseRequest("GET", "/api/v1/namespaces/x/services/web");
  auto nf = MapApiError(req, 404, Status("NotFound", "services \\\"web\\\" not found", 404));
  EXPECT_EQ(nf.code, ErrorCode::kNotFound);
  EXPECT_EQ(nf.message, "services \"web\" in namespace \"x\" not found");

  auto post = ParseRequest("POST", "/api/v1/namespaces");
  EXPECT_EQ(MapApiError(post, 409, Status("AlreadyExists", "exists", 409)).code,
            ErrorCode::kAlreadyExists);
  auto put = ParseRequest("PUT", "/api/v1/namespaces/kube-system/configmaps/coredns");
  auto c = MapApiError(put, 409, Status("Conflict", "the object has been modified", 409));
  EXPECT_EQ(c.code, ErrorCode::kConflict);
  EXPECT_NE(c.message.find("has been modified"), std::string::npos);

  auto w = ParseRequest("GET", "/api/v1/namespaces/x/pods?watch=1&resourceVersion=1");
  EXPECT_EQ(MapApiError(w, 410, Status("Expired", "too old resource version", 410)).code,
            ErrorCode::kGone);
}

TEST(MapApiErrorTest, InvalidListsFieldCauses) {
  auto req = ParseRequest("PATCH", "/api/v1/namespaces/x/services/web");
  auto e = MapApiError(
      req, 422,
      Status(
          "Invalid", "Service \\\"web\\\" is invalid", 422,
          R"({"name":"web","kind":"Service","causes":[{"reason":"FieldValueInvalid","message":"Invalid value: 99999: provided port is not in the valid range","field":"spec.ports[0].nodePort"},{"reason":"FieldValueRequired","message":"Required value","field":"spec.selector"}]})"));
  EXPECT_EQ(e.code, ErrorCode::kInvalidArgument);
  EXPECT_NE(e.message.find("spec.ports[0].nodePort: Invalid value: 99999"), std::string::npos)
      << e.message;
  EXPECT_NE(e.message.find("spec.selector: Required value"), std::string::npos) << e.message;
}

TEST(MapApiErrorTest, ServerErrorsAndNonStatusBodies) {
  auto req = ParseRequest("GET", "/api/v1/nodes");
  EXPECT_EQ(MapApiError(req, 503, "service unavailable").code, ErrorCode::kUnavailable);
  EXPECT_EQ(MapApiError(req, 429, "").code, ErrorCode::kUnavailable);
  EXPECT_EQ(MapApiError(req, 504, "").code, ErrorCode::kTimeout);
  auto u = MapApiError(req, 401, Status("Unauthorized", "Unauthorized", 401));
  EXPECT_EQ(u.code, ErrorCode::kPermissionDenied);
  EXPECT_NE(u.message.find("credentials"), std::string::npos);
}

}  // namespace
}  // namespace berth::kube
