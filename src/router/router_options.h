// What the router needs to know, built from Config (berth serve) or from flags (berth router).
#pragma once

#include <chrono>
#include <string>

#include "berth/config.h"
#include "berth/result.h"

namespace berth::router {

struct RouterOptions {
  std::string mode = "lua";            // "lua" (route table in shared memory) | "classic"
  std::string nginx_binary = "nginx";  // path or name in $PATH
  std::string prefix;                  // nginx prefix: conf, logs, temp, run live here
  std::string http_listen = "127.0.0.1:8880";
  std::string https_listen;  // used only with tls_cert and tls_key
  std::string tls_cert;
  std::string tls_key;
  std::string upstream_scheme = "http";  // the TLS listener proxies to the "http" or "https" port
  std::string route_prefix = "/devnginx/";
  std::string module_dir = "/usr/lib/nginx/modules";  // ndk_http_module.so, ngx_http_lua_module.so
  std::string http_snippet_file;  // operator's extra nginx text inlined into the http block
  int worker_processes = 1;
  // Stop nginx when the router stops. Off for `berth serve`/`berth router` (the next start
  // adopts the running nginx; config router.stop_nginx_on_exit); on for embedded uses.
  bool stop_nginx_on_exit = true;
  // Classic mode coalescing: apply when no change came for min_wait, or max_wait after the first.
  std::chrono::milliseconds min_wait{20};
  std::chrono::milliseconds max_wait{1000};
  // Bounds, not delays: nginx parses ~10,000 server blocks in seconds on a busy host.
  std::chrono::milliseconds check_timeout{120000};   // nginx -t
  std::chrono::milliseconds reload_timeout{120000};  // HUP until the new generation answers
  std::chrono::milliseconds retry_interval{30000};   // re-apply after a failure with no new change
  std::chrono::milliseconds health_interval{1000};   // master alive? template/certs changed?
};

// Router settings from the [router] section. The prefix defaults to <state_dir>/nginx.
RouterOptions RouterOptionsFromConfig(const Config& c);
// Checks everything that is written into nginx.conf: listeners, cert paths, mode, scheme.
Status ValidateRouterOptions(const RouterOptions& o);
// "127.0.0.1:8080", "[::1]:8080" or "8080" -> validated; nginx's listen syntax.
Status ValidateListen(const std::string& listen);

}  // namespace berth::router
