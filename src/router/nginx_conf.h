// Renders complete nginx.conf files for the router's own nginx: the Lua mode's fixed config
// (routes live in shared memory) and the classic mode's config with a server block per route.
#pragma once

#include <string>
#include <vector>

#include "berth/result.h"
#include "berth/route.h"
#include "router/router_options.h"

namespace berth::router {

// Replaced by the config generation number when a config is staged; the control endpoint
// answers it so a reload can be confirmed.
inline constexpr const char* kGenerationToken = "@BERTH_GENERATION@";
// Lua mode: how long a GET to a sleeping environment is held while it wakes, at most.
inline constexpr int kWakeHoldSeconds = 30;

// Where things live inside the prefix.
struct NginxPaths {
  explicit NginxPaths(std::string prefix);
  std::string prefix;
  std::string conf_link;       // <prefix>/conf -> confs/gen-N (swapped atomically)
  std::string confs;           // <prefix>/confs
  std::string conf_file;       // <prefix>/conf/nginx.conf, what the master reads
  std::string logs;            // <prefix>/logs
  std::string error_log;       // <prefix>/logs/error.log
  std::string pid_file;        // <prefix>/logs/nginx.pid
  std::string temp;            // <prefix>/temp
  std::string run;             // <prefix>/run
  std::string control_socket;  // <prefix>/run/control.sock (loopback-only by construction)
};

// "ip:port", with brackets for IPv6.
std::string HostPort(const std::string& ip, int port);

// Lua mode: the config changes only with listeners, certificates, snippet or this template.
Result<std::string> RenderLuaConf(const RouterOptions& o);
// Classic mode: one upstream and server block (per listener) per route. `routes` are valid
// (ParseRoute) and each domain appears in one route only.
Result<std::string> RenderClassicConf(const RouterOptions& o, const std::vector<Route>& routes);

}  // namespace berth::router
