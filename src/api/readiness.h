// GET /readyz: whether this server can do its work now. Each dependency (the engine, the store,
// the router's nginx) is checked with its own deadline; 200 when all pass, 503 naming each
// failing part and its error. /healthz (liveness) only says the process answers.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "berth/result.h"
#include "net/http_server.h"

namespace berth::api {

struct ReadinessCheck {
  std::string name;               // "engine", "store", "router"
  std::function<Status()> check;  // bounded by its own deadline
};

// Runs every check. `with_errors` false leaves the error texts out (an unauthenticated TCP
// caller learns which part fails, not the paths and addresses in the messages).
net::ServerResponse ReadinessResponse(const std::vector<ReadinessCheck>& checks, bool with_errors);

}  // namespace berth::api
