#include "router/router_options.h"

#include "berth/validate.h"

namespace berth::router {

namespace {

Status Invalid(const std::string& m) {
  return Fail(ErrorCode::kInvalidArgument, m);
}

// Paths are written into nginx.conf verbatim: nothing that could end or open a directive.
Status ValidateConfPath(const std::string& what, const std::string& p) {
  if (p.empty() || p.front() != '/') return Invalid(what + " must be an absolute path: " + p);
  for (char ch : p) {
    if (ch <= ' ' || ch == ';' || ch == '{' || ch == '}' || ch == '"' || ch == '\'' || ch == '$' ||
        ch == '\\' || ch == '#' || ch == 0x7f) {
      return Invalid(what + " contains a character nginx would misread: " + p);
    }
  }
  return {};
}

}  // namespace

RouterOptions RouterOptionsFromConfig(const Config& c) {
  RouterOptions o;
  o.mode = c.router_mode;
  o.nginx_binary = c.nginx_binary;
  o.prefix = c.nginx_prefix.empty() ? c.state_dir + "/nginx" : c.nginx_prefix;
  o.http_listen = c.http_listen;
  o.https_listen = c.https_listen;
  o.tls_cert = c.tls_cert;
  o.tls_key = c.tls_key;
  o.upstream_scheme = c.upstream_scheme;
  o.stop_nginx_on_exit = c.stop_nginx_on_exit;
  return o;
}

Status ValidateListen(const std::string& listen) {
  if (listen.empty()) return Invalid("listen address is empty");
  std::string host, port = listen;
  if (listen.front() == '[') {
    auto close = listen.find("]:");
    if (close == std::string::npos)
      return Invalid("listen address " + listen + " is not [ip]:port");
    host = listen.substr(1, close - 1);
    port = listen.substr(close + 2);
  } else if (auto colon = listen.rfind(':'); colon != std::string::npos) {
    host = listen.substr(0, colon);
    port = listen.substr(colon + 1);
  }
  if (!host.empty() && host != "*") {
    if (auto s = ValidateHostIp(host); !s)
      return Invalid("listen address " + listen + ": " + s.error().message);
  }
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos)
    return Invalid("listen address " + listen + ": port is not a number");
  if (auto s = ValidatePort(std::stoi(port)); !s)
    return Invalid("listen address " + listen + ": " + s.error().message);
  return {};
}

Status ValidateRouterOptions(const RouterOptions& o) {
  if (o.mode != "lua" && o.mode != "classic")
    return Invalid("router mode must be \"lua\" or \"classic\", not \"" + o.mode + "\"");
  if (o.upstream_scheme != "http" && o.upstream_scheme != "https")
    return Invalid("upstream_scheme must be \"http\" or \"https\"");
  if (auto s = ValidateConfPath("nginx prefix", o.prefix); !s) return s;
  // unix socket paths are limited to 108 bytes; run/control.sock is added to the prefix.
  if (o.prefix.size() > 80)
    return Invalid("nginx prefix is longer than 80 characters: " + o.prefix);
  if (auto s = ValidateListen(o.http_listen); !s) return s;
  if (o.tls_cert.empty() != o.tls_key.empty())
    return Invalid("tls_cert and tls_key must be set together");
  if (!o.tls_cert.empty()) {
    if (auto s = ValidateListen(o.https_listen); !s) return s;
    if (auto s = ValidateConfPath("tls_cert", o.tls_cert); !s) return s;
    if (auto s = ValidateConfPath("tls_key", o.tls_key); !s) return s;
  }
  if (o.mode == "lua") {
    if (auto s = ValidateConfPath("nginx module dir", o.module_dir); !s) return s;
  }
  if (o.worker_processes < 1 || o.worker_processes > 64)
    return Invalid("worker_processes out of range 1..64");
  if (o.min_wait > o.max_wait) return Invalid("min_wait is longer than max_wait");
  return {};
}

}  // namespace berth::router
