#include "api/readiness.h"

#include <nlohmann/json.hpp>

namespace berth::api {

net::ServerResponse ReadinessResponse(const std::vector<ReadinessCheck>& checks, bool with_errors) {
  nlohmann::json parts = nlohmann::json::object();
  nlohmann::json failing = nlohmann::json::array();
  for (const auto& c : checks) {
    Status s = c.check ? c.check() : Status{};
    nlohmann::json part = {{"ok", s.has_value()}};
    if (!s) {
      failing.push_back(c.name);
      part["code"] = ErrorCodeName(s.error().code);
      if (with_errors) part["error"] = s.error().message;
    }
    parts[c.name] = std::move(part);
  }
  const bool ok = failing.empty();
  nlohmann::json body = {{"ok", ok}, {"checks", parts}};
  if (!ok) body["failing"] = failing;
  return net::ServerResponse::Json(ok ? 200 : 503, body.dump());
}

}  // namespace berth::api
